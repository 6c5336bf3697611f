#pragma once
// What the nginx tests share: where the load balancer set up by the nginx_lb fixture is, how to change it, how to
// read the backends' counters, a factory that counts concurrent create() calls and remembers which backend each
// connection reached, and an 8-thread load that records every operation.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <respool/mariadb.hpp>

namespace respool_test {

namespace mdb = respool::mariadb;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

inline std::string read_line(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    if (!(in >> line))
        throw std::runtime_error(path + " is missing: run the nginx_lb_start test (ctest -L nginx) first");
    return line;
}

// The URL through nginx.
inline std::string lb_url() { return read_line(std::string(RESPOOL_NGINX_LB_DIR) + "/url"); }
// The URL of backend 1 or 2, direct.
inline std::string backend_url(int n) {
    return read_line(std::string(RESPOOL_NGINX_LB_DIR) + "/backend" + std::to_string(n) + "_url");
}
inline unsigned backend_port(int n) { return mdb::ConnectOptions::from_url(backend_url(n)).port; }

// Connection options through nginx, with every wait bounded.
inline mdb::ConnectOptions lb_options() {
    auto o = mdb::ConnectOptions::from_url(lb_url());
    o.connect_timeout = 2s;
    o.read_timeout = 10s;
    o.write_timeout = 10s;
    return o;
}

// Runs `tools/nginx_lb.sh <command> DIR [arg]`; the script bounds its own waits.
inline void lb_command(const std::string& command, const std::string& arg = "") {
    const std::string line =
        std::string(RESPOOL_NGINX_LB_SCRIPT) + " " + command + " " + RESPOOL_NGINX_LB_DIR + (arg.empty() ? "" : " " + arg);
    BOOST_TEST_MESSAGE("running " << line);
    BOOST_REQUIRE_MESSAGE(std::system(line.c_str()) == 0, line << " failed");
}

// A global status counter summed over both backends, read directly (not through nginx) on a connection of its own
// to each: that connection counts in `Connections`, one per backend.
inline std::uint64_t backend_status_sum(const std::string& variable) {
    std::uint64_t sum = 0;
    for (int n : {1, 2}) {
        auto o = mdb::ConnectOptions::from_url(backend_url(n));
        o.connect_timeout = 2s;
        o.read_timeout = 5s;
        mdb::Connection c(o);
        sum += c.query("SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = ?", variable)
                   .at(0)
                   .get<std::uint64_t>(0);
    }
    return sum;
}

// Com_admin_commands (COM_PING among others) summed over both backends.
inline std::uint64_t admin_commands() { return backend_status_sum("Com_admin_commands"); }

// Connection attempts the backends have accepted since they started, summed over both; each call's own two count.
inline std::uint64_t backend_connections() { return backend_status_sum("Connections"); }

// The server port and session id of a connection: which backend it reached, and which session it is.
struct SessionId {
    unsigned port = 0;
    std::uint64_t id = 0;
    friend auto operator<=>(const SessionId&, const SessionId&) = default;
};

inline SessionId session_of(mdb::Connection& c) {
    const auto rows = c.query("SELECT @@port, CONNECTION_ID()");
    return {rows.at(0).get<unsigned>(0), rows.at(0).get<std::uint64_t>(1)};
}

// A Factory that counts the create() calls in flight (and the most ever seen at once) and remembers the session of
// every connection alive. Copies share the counts.
class CountingFactory {
public:
    explicit CountingFactory(mdb::ConnectOptions options) : inner_(std::move(options)), state_(std::make_shared<State>()) {}

    mdb::Connection create() {
        // relaxed (all counters here): statistics read after the threads are joined or as a hint while polling.
        const int now = state_->in_flight.fetch_add(1, std::memory_order_relaxed) + 1;
        int seen = state_->max_in_flight.load(std::memory_order_relaxed);
        while (now > seen && !state_->max_in_flight.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
        }
        struct Leave {
            std::atomic<int>& n;
            ~Leave() { n.fetch_sub(1, std::memory_order_relaxed); }
        } leave{state_->in_flight};
        mdb::Connection c = inner_.create();
        const SessionId s = session_of(c); // one more round trip, inside create(): counted as part of the attempt
        std::lock_guard lock(state_->mutex);
        state_->sessions[c.native_handle()] = s;
        return c;
    }

    void destroy(mdb::Connection& c) noexcept {
        std::lock_guard lock(state_->mutex);
        state_->sessions.erase(c.native_handle());
    }

    // The session of a live pooled connection (port 0 if unknown).
    SessionId session(const mdb::Connection& c) const {
        std::lock_guard lock(state_->mutex);
        const auto it = state_->sessions.find(c.native_handle());
        return it == state_->sessions.end() ? SessionId{} : it->second;
    }
    std::vector<SessionId> live_sessions() const {
        std::lock_guard lock(state_->mutex);
        std::vector<SessionId> out;
        for (const auto& [handle, s] : state_->sessions) out.push_back(s);
        return out;
    }
    std::size_t live_on(unsigned port) const {
        const auto all = live_sessions();
        return static_cast<std::size_t>(std::count_if(all.begin(), all.end(), [&](const SessionId& s) { return s.port == port; }));
    }
    int max_in_flight() const noexcept { return state_->max_in_flight.load(std::memory_order_relaxed); }
    void reset_max_in_flight() noexcept { state_->max_in_flight.store(0, std::memory_order_relaxed); }

private:
    struct State {
        std::atomic<int> in_flight{0};
        std::atomic<int> max_in_flight{0};
        mutable std::mutex mutex;
        std::map<const MYSQL*, SessionId> sessions;
    };
    mdb::Factory inner_;
    std::shared_ptr<State> state_;
};

using CountingPool = respool::Pool<mdb::Connection, CountingFactory, mdb::Validator>;

// One operation of the load: a checkout and one query.
struct Op {
    Clock::time_point start, end;
    bool ok = false;
    bool acquire_failed = false; // false: the query failed (or succeeded)
    unsigned conn_port = 0;      // the backend the connection was made to, as the factory recorded it
    unsigned served_port = 0;    // the backend that answered the query
    std::string error;
};

// `threads` threads doing checkout + `SELECT @@port, SLEEP(0.005)` back to back until stop(); every operation is
// recorded.
class Load {
public:
    Load(CountingPool& pool, const CountingFactory& factory, int threads) : pool_(pool), factory_(factory) {
        ops_.resize(static_cast<std::size_t>(threads));
        for (int t = 0; t < threads; ++t)
            threads_.emplace_back([this, t] { run(ops_[static_cast<std::size_t>(t)]); });
    }
    ~Load() { stop(); }
    Load(const Load&) = delete;
    Load& operator=(const Load&) = delete;

    void stop() {
        stop_.store(true, std::memory_order_relaxed); // relaxed: a flag; the join publishes the records
        for (auto& t : threads_)
            if (t.joinable()) t.join();
    }

    // All operations, after stop().
    std::vector<Op> ops() const {
        std::vector<Op> all;
        for (const auto& v : ops_) all.insert(all.end(), v.begin(), v.end());
        std::sort(all.begin(), all.end(), [](const Op& a, const Op& b) { return a.start < b.start; });
        return all;
    }

    // Operations completed so far (a hint while running).
    std::uint64_t done() const noexcept { return done_.load(std::memory_order_relaxed); }
    std::uint64_t failed() const noexcept { return failed_.load(std::memory_order_relaxed); }

private:
    void run(std::vector<Op>& out) {
        while (!stop_.load(std::memory_order_relaxed)) { // relaxed: see stop()
            Op op;
            op.start = Clock::now();
            try {
                auto lease = pool_.acquire();
                op.conn_port = factory_.session(*lease).port;
                try {
                    op.served_port = lease->query("SELECT @@port, SLEEP(0.005)").at(0).get<unsigned>(0);
                    op.ok = true;
                } catch (const std::exception& e) {
                    op.error = e.what();
                }
            } catch (const std::exception& e) {
                op.acquire_failed = true;
                op.error = e.what();
            }
            op.end = Clock::now();
            if (!op.ok) failed_.fetch_add(1, std::memory_order_relaxed);
            done_.fetch_add(1, std::memory_order_relaxed);
            out.push_back(std::move(op));
        }
    }

    CountingPool& pool_;
    const CountingFactory& factory_;
    std::atomic<bool> stop_{false};
    std::atomic<std::uint64_t> done_{0}, failed_{0};
    std::vector<std::vector<Op>> ops_;
    std::vector<std::thread> threads_;
};

// Waits until `condition` holds, polling every 20 ms, at most `limit`. true when it held.
template <class Condition>
bool wait_until(Condition condition, Clock::duration limit) {
    const auto deadline = Clock::now() + limit;
    while (!condition()) {
        if (Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(20ms);
    }
    return true;
}

inline double ms_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

} // namespace respool_test
