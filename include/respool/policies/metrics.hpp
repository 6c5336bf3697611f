#pragma once
#ifndef RESPOOL_POLICIES_METRICS_HPP_INCLUDED
#define RESPOOL_POLICIES_METRICS_HPP_INCLUDED
// PoolMetrics: an events policy that keeps OpenTelemetry-shaped connection-pool metrics (db.client.connection.*):
// create, wait and use time histograms, timeouts, the peak number in use, destroys by reason; and writes them, with a
// pool's stats(), in Prometheus' text format. Costs two atomic increments per checkout and return, plus a clock read.
#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

#include "../events.hpp"
#include "../pool_options.hpp"
#include "../pool_stats.hpp"

namespace respool::policies {

namespace detail {
// A number in Prometheus' text format: the shortest form that reads back exactly, whatever the stream's locale,
// precision or flags.
inline std::string prometheus_number(double value) {
    std::array<char, 32> text{};
    const auto [end, error] = std::to_chars(text.data(), text.data() + text.size(), value);
    return error == std::errc{} ? std::string(text.data(), end) : std::string("NaN");
}

// A label value with backslash, double quote and newline escaped, as the text format requires.
inline std::string prometheus_label_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (const char ch : value) {
        if (ch == '\\' || ch == '"') out += '\\';
        if (ch == '\n') {
            out += "\\n";
            continue;
        }
        out += ch;
    }
    return out;
}

// Prometheus text under construction: strings as they are, integers and doubles in a fixed format (no locale, no
// stream flags).
class PrometheusText {
public:
    PrometheusText& operator<<(std::string_view text) {
        text_ += text;
        return *this;
    }
    PrometheusText& operator<<(char ch) {
        text_ += ch;
        return *this;
    }
    template <class Integer>
        requires std::is_integral_v<Integer>
    PrometheusText& operator<<(Integer value) {
        std::array<char, 24> digits{};
        const auto result = std::to_chars(digits.data(), digits.data() + digits.size(), value);
        text_.append(digits.data(), result.ptr);
        return *this;
    }
    PrometheusText& operator<<(double value) { return *this << std::string_view(prometheus_number(value)); }
    const std::string& str() const noexcept { return text_; }

private:
    std::string text_;
};
} // namespace detail

// A histogram of durations with fixed bucket bounds (seconds), safe to record into from any thread.
class DurationHistogram {
public:
    static constexpr std::array<double, 14> bounds{0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01,
                                                   0.05,    0.1,     0.5,    1,      5,     10,    30};

    void record(std::chrono::nanoseconds d) noexcept {
        const double seconds = std::chrono::duration<double>(d).count();
        const auto bucket = std::size_t(std::lower_bound(bounds.begin(), bounds.end(), seconds) - bounds.begin());
        // relaxed: independent counters, read as a snapshot.
        counts_[bucket].fetch_add(1, std::memory_order_relaxed);
        sum_ns_.fetch_add(static_cast<std::uint64_t>(std::max<std::int64_t>(d.count(), 0)), std::memory_order_relaxed);
    }

    // Prometheus histogram lines: cumulative buckets, sum and count.
    void write(std::ostream& sink, std::string_view name, std::string_view labels) const {
        detail::PrometheusText text;
        write(text, name, labels);
        sink << text.str();
    }
    void write(detail::PrometheusText& out, std::string_view name, std::string_view labels) const {
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i <= bounds.size(); ++i) {
            cumulative += counts_[i].load(std::memory_order_relaxed); // relaxed: a snapshot
            out << name << "_bucket{" << labels << ",le=\"";
            if (i < bounds.size())
                out << bounds[i];
            else
                out << "+Inf";
            out << "\"} " << cumulative << '\n';
        }
        out << name << "_sum{" << labels << "} "
            << double(sum_ns_.load(std::memory_order_relaxed)) / 1e9 << '\n';
        out << name << "_count{" << labels << "} " << cumulative << '\n';
    }

    std::uint64_t count() const noexcept {
        std::uint64_t n = 0;
        for (const auto& c : counts_) n += c.load(std::memory_order_relaxed); // relaxed: a snapshot
        return n;
    }

private:
    std::array<std::atomic<std::uint64_t>, bounds.size() + 1> counts_{};
    std::atomic<std::uint64_t> sum_ns_{0};
};

// Copies share one set of metrics: keep a copy to read them, give one to the pool.
class PoolMetrics {
public:
    struct Data {
        DurationHistogram create_time, wait_time, use_time;
        std::atomic<std::uint64_t> create_errors{0}, timeouts{0};
        std::atomic<std::int64_t> used{0};
        std::atomic<std::int64_t> peak_used{0};
        std::array<std::atomic<std::uint64_t>, destroy_reason_count> destroyed_by_reason{};
    };

    void on_create(const CreateEvent& e) noexcept {
        data_->create_time.record(e.duration);
        if (e.error) data_->create_errors.fetch_add(1, std::memory_order_relaxed); // relaxed: a counter
    }
    void on_checkout(const CheckoutEvent& e) noexcept {
        data_->wait_time.record(e.waited);
        // relaxed: counters; the peak is a running maximum, not an ordering.
        const std::int64_t used = data_->used.fetch_add(1, std::memory_order_relaxed) + 1;
        std::int64_t peak = data_->peak_used.load(std::memory_order_relaxed);
        while (used > peak && !data_->peak_used.compare_exchange_weak(peak, used, std::memory_order_relaxed)) {
        }
    }
    void on_checkin(const CheckinEvent& e) noexcept {
        data_->use_time.record(e.held);
        data_->used.fetch_sub(1, std::memory_order_relaxed); // relaxed: a counter
    }
    void on_timeout(const TimeoutEvent&) noexcept {
        data_->timeouts.fetch_add(1, std::memory_order_relaxed); // relaxed: a counter
    }
    void on_destroy(const DestroyEvent& e) noexcept {
        data_->destroyed_by_reason[std::size_t(e.reason)].fetch_add(1, std::memory_order_relaxed); // relaxed: a counter
    }

    const Data& data() const noexcept { return *data_; }

    // Writes the OpenTelemetry connection-pool metrics (names in Prometheus form) for one pool. The text does not
    // depend on `sink`'s locale or formatting flags; `pool_name` may hold any characters (escaped).
    void write_prometheus(std::ostream& sink, const PoolStats& stats, const PoolOptions& options,
                          std::string_view pool_name) const {
        detail::PrometheusText out;
        const std::string pool = "pool_name=\"" + detail::prometheus_label_value(pool_name) + "\"";
        out << "# TYPE db_client_connection_count gauge\n"
            << "db_client_connection_count{" << pool << ",state=\"idle\"} " << stats.idle << '\n'
            << "db_client_connection_count{" << pool << ",state=\"used\"} " << stats.in_use << '\n'
            << "# TYPE db_client_connection_idle_min gauge\n"
            << "db_client_connection_idle_min{" << pool << "} " << options.min_idle << '\n'
            << "# TYPE db_client_connection_max gauge\n"
            << "db_client_connection_max{" << pool << "} " << options.pool_size + options.max_overflow << '\n'
            << "# TYPE db_client_connection_pending_requests gauge\n"
            << "db_client_connection_pending_requests{" << pool << "} " << stats.waiting << '\n'
            << "# TYPE db_client_connection_timeouts_total counter\n"
            << "db_client_connection_timeouts_total{" << pool << "} " << stats.timeouts << '\n'
            << "# TYPE db_client_connection_used_peak gauge\n"
            << "db_client_connection_used_peak{" << pool << "} "
            << data_->peak_used.load(std::memory_order_relaxed) << '\n' // relaxed: a snapshot
            << "# TYPE db_client_connection_created_total counter\n"
            << "db_client_connection_created_total{" << pool << "} " << stats.created << '\n'
            << "# TYPE db_client_connection_create_errors_total counter\n"
            << "db_client_connection_create_errors_total{" << pool << "} " << stats.create_failures << '\n'
            << "# TYPE db_client_connection_destroyed_total counter\n";
        for (std::size_t r = 0; r < data_->destroyed_by_reason.size(); ++r)
            out << "db_client_connection_destroyed_total{" << pool << ",reason=\""
                << to_string(static_cast<DestroyReason>(r)) << "\"} "
                << data_->destroyed_by_reason[r].load(std::memory_order_relaxed) << '\n'; // relaxed: a snapshot
        out << "# TYPE db_client_connection_create_time_seconds histogram\n";
        data_->create_time.write(out, "db_client_connection_create_time_seconds", pool);
        out << "# TYPE db_client_connection_wait_time_seconds histogram\n";
        data_->wait_time.write(out, "db_client_connection_wait_time_seconds", pool);
        out << "# TYPE db_client_connection_use_time_seconds histogram\n";
        data_->use_time.write(out, "db_client_connection_use_time_seconds", pool);
        sink << out.str();
    }

private:
    std::shared_ptr<Data> data_ = std::make_shared<Data>();
};

} // namespace respool::policies
#endif // RESPOOL_POLICIES_METRICS_HPP_INCLUDED
