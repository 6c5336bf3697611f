// MariaDB: `SELECT 1` at 1, 8 and 32 threads against a real server (RESPOOL_MARIADB_URL).
//
// Contenders, each a loop of "run SELECT 1, read the 1 back":
//   floor           one raw persistent MYSQL* per thread (mysql_real_query + mysql_store_result + fetch + free):
//                   the least any client of libmariadb can do. At 32 threads that is 32 connections: the floor is
//                   what the same threads reach with no sharing at all, which is the bar the issue sets for a pool
//                   that shares 8.
//   respool         ConnectionPool (make_pool), acquire() + Connection::query + the lease's return, default
//                   validator (no pre_ping; on return, a ROLLBACK only when the server's status flags ask for one).
//                   Pool of 1 at 1 thread, 8 at 8 threads, 8 at 32 threads; max_overflow 0; all connections created
//                   before measuring.
//   respool_pre_ping the same with pre_ping on (ValidatorOptions' default ping_after of 1 s: in this loop, a socket
//                   peek per checkout, never a COM_PING).
//   respool_fair_queue (only where threads outnumber connections) respool with PoolOptions::fair_queue: nobody
//                   overtakes a queued waiter, and a queued waiter yields once before sleeping; the tail-latency setting.
//   shared_8_mutex  (only where threads outnumber connections) 8 raw connections, each behind a std::mutex, thread t
//                   always using connection t % 8: the plainest way to share 8 connections, a reference for what
//                   sharing itself costs when 32 threads block on 8 connections.
//   adapter         one respool::mariadb::Connection per thread, no pool: what the adapter's Result costs over the
//                   floor, so that respool's gap can be split into adapter and pool.
//   connect         connect-per-query: mysql_init + mysql_real_connect + SELECT 1 + mysql_close each time (what a
//                   pool saves).
//
// Method (docs/benchmarks.md): each benchmark iteration runs every contender once, in an order that rotates between
// iterations, each on its own threads for a fixed time (respool_bench::run_threads_for). Throughput is every
// successful query of every thread over the wall time of the whole run; latencies are each query's own
// steady_clock time, checkout included, pooled over every thread and iteration, and reported as p50, p99 and p99.9.
// Connection failures are counted and reported, not hidden (a failed query counts as no query).
#include <mysql.h>

#include <respool/mariadb.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iomanip>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "bench_support.hpp"
#include "mariadb_support.hpp"
#include "query_latency.hpp"

namespace {

using namespace std::chrono_literals;
using respool_bench::timed_run;
using Totals = respool_bench::QueryTotals;
using respool_bench::RawConnection;
using respool_bench::raw_select1;
using respool_bench::run_threads_for;
using respool_bench::server_url;
namespace mdb = respool::mariadb;

constexpr auto run_length = 100ms;
constexpr auto connect_run_length = 50ms; // connect-per-query leaves a TIME_WAIT socket per query: keep it short
constexpr int iterations = 30;             // short runs, finely interleaved: load from other processes falls on all
constexpr std::size_t shared_pool_size = 8; // the pool at 32 threads


// ---- raw libmariadb, for the floor and connect-per-query --------------------------------------------------------

bool adapter_select1(mdb::Connection& c) {
    const mdb::Result r = c.query("SELECT 1");
    return r.size() == 1 && r[0].get<int>(0) == 1;
}

// ---- the benchmark -----------------------------------------------------------------------------------------------

enum Contender {
    floor_raw,
    respool_pool,
    respool_pre_ping,
    respool_fair_queue,
    shared_8_mutex,
    adapter_no_pool,
    connect_per_query,
    contender_count
};
constexpr std::array<const char*, contender_count> contender_names{"floor",   "respool", "respool_pre_ping",
                                                                   "respool_fair_queue", "shared_8_mutex", "adapter",
                                                                   "connect"};

mdb::ConnectionPool make_warm_pool(const mdb::ConnectOptions& options, std::size_t size, bool pre_ping,
                                   bool fair_queue = false) {
    mdb::ConnectionPool pool = mdb::make_pool(options, respool::PoolOptions{.pool_size = size,
                                                                            .max_overflow = 0,
                                                                            .timeout = 30s,
                                                                            .pre_ping = pre_ping,
                                                                            .fair_queue = fair_queue});
    std::vector<mdb::ConnectionPool::Lease> all;
    for (std::size_t i = 0; i < size; ++i) all.push_back(pool.acquire()); // creates every connection now
    return pool;
}

void select1(benchmark::State& state) {
    const auto threads = static_cast<std::size_t>(state.range(0));
    const std::size_t pool_size = threads <= shared_pool_size ? threads : shared_pool_size;
    mdb::ConnectOptions options;
    try {
        options = mdb::ConnectOptions::from_url(server_url());
    } catch (const std::exception& e) {
        state.SkipWithError(e.what());
        return;
    }

    std::vector<RawConnection> raw;
    std::vector<mdb::Connection> adapter;
    std::optional<mdb::ConnectionPool> pool, pinging_pool, fair_queue_pool;
    const bool shared = pool_size < threads;
    // For shared_8_mutex: each raw connection with its own lock, on its own cache line.
    struct alignas(64) LockedConnection {
        std::mutex lock;
        RawConnection connection;
    };
    std::vector<LockedConnection> locked(shared ? pool_size : 0);
    try {
        for (std::size_t t = 0; t < threads; ++t) raw.push_back(respool_bench::raw_connect(options));
        for (std::size_t t = 0; t < threads; ++t) adapter.emplace_back(options);
        pool.emplace(make_warm_pool(options, pool_size, false));
        pinging_pool.emplace(make_warm_pool(options, pool_size, true));
        if (shared) fair_queue_pool.emplace(make_warm_pool(options, pool_size, false, true));
        for (LockedConnection& l : locked) l.connection = respool_bench::raw_connect(options);
    } catch (const std::exception& e) {
        state.SkipWithError(e.what());
        return;
    }

    auto run = [&](int which, Totals& totals) {
        switch (which) {
        case floor_raw:
            return timed_run(threads, run_length, totals, [&](std::size_t t) { return raw_select1(raw[t].get()); });
        case respool_pool:
            return timed_run(threads, run_length, totals, [&](std::size_t) {
                auto lease = pool->acquire();
                return adapter_select1(*lease);
            });
        case respool_pre_ping:
            return timed_run(threads, run_length, totals, [&](std::size_t) {
                auto lease = pinging_pool->acquire();
                return adapter_select1(*lease);
            });
        case respool_fair_queue:
            return timed_run(threads, run_length, totals, [&](std::size_t) {
                auto lease = fair_queue_pool->acquire();
                return adapter_select1(*lease);
            });
        case shared_8_mutex:
            return timed_run(threads, run_length, totals, [&](std::size_t t) {
                LockedConnection& l = locked[t % locked.size()];
                std::lock_guard guard(l.lock);
                return raw_select1(l.connection.get());
            });
        case adapter_no_pool:
            return timed_run(threads, run_length, totals, [&](std::size_t t) { return adapter_select1(adapter[t]); });
        default:
            return timed_run(threads, connect_run_length, totals, [&](std::size_t) {
                RawConnection fresh = respool_bench::raw_connect(options);
                return raw_select1(fresh.get());
            });
        }
    };

    std::array<Totals, contender_count> totals{};
    int first = 0;
    for (auto _ : state) {
        double respool_wall = 0;
        for (int k = 0; k < contender_count; ++k) {
            const int which = (first + k) % contender_count;
            if ((which == respool_fair_queue || which == shared_8_mutex) && !shared) continue;
            const double wall = run(which, totals[static_cast<std::size_t>(which)]);
            if (which == respool_pool) respool_wall = wall;
        }
        first = (first + 1) % contender_count;
        state.SetIterationTime(respool_wall); // the time column is respool's run length, not the result
    }

    const double floor_qps = totals[floor_raw].queries_per_second();
    for (int c = 0; c < contender_count; ++c) {
        if ((c == respool_fair_queue || c == shared_8_mutex) && !shared) continue;
        Totals& t = totals[static_cast<std::size_t>(c)];
        const std::string name = contender_names[static_cast<std::size_t>(c)];
        state.counters[name + "_qps"] = t.queries_per_second();
        state.counters[name + "_ratio"] = floor_qps > 0 ? t.queries_per_second() / floor_qps : 0;
        state.counters[name + "_p50_us"] = t.quantile_us(0.50);
        state.counters[name + "_p99_us"] = t.quantile_us(0.99);
        state.counters[name + "_p999_us"] = t.quantile_us(0.999);
        state.counters[name + "_failures"] = double(t.failures);
        state.counters[name + "_cpu_us_per_q"] = t.per_query(t.client_cpu_seconds * 1e6);
        state.counters[name + "_switches_per_q"] = t.per_query(double(t.voluntary_switches));
    }
    state.counters["pool_size"] = double(pool_size);
    state.counters["threads"] = double(threads);
}

BENCHMARK(select1)
    ->Name("mariadb_select1")
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(8)
    ->Arg(32)
    ->Iterations(iterations)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

void summary(const respool_bench::Collected& c, std::ostream& out) {
    std::vector<std::pair<double, std::string>> by_threads;
    for (const auto& entry : c.counters) by_threads.emplace_back(c.median_counter(entry.first, "threads"), entry.first);
    std::sort(by_threads.begin(), by_threads.end());
    for (const auto& entry : by_threads) {
        const std::string& name = entry.second; // not a structured binding: Clang 14 cannot capture one
        auto get = [&](const std::string& key) { return c.median_counter(name, key); };
        out << "  " << name << " (respool pool of " << static_cast<int>(get("pool_size")) << ", "
            << c.repetitions(name) << " reps)\n";
        out << "    " << std::left << std::setw(18) << "contender" << std::right << std::setw(11) << "queries/s"
            << std::setw(10) << "/ floor" << std::setw(10) << "p50 us" << std::setw(10) << "p99 us" << std::setw(13)
            << "p99 / floor" << std::setw(11) << "p99.9 us" << std::setw(10) << "failures" << std::setw(11)
            << "cpu us/q" << std::setw(11) << "sleeps/q" << "\n";
        const double floor_p99 = get("floor_p99_us");
        for (const char* contender : contender_names) {
            const std::string k = contender;
            if (std::isnan(get(k + "_qps"))) continue;
            out << "    " << std::left << std::setw(18) << k << std::right << std::fixed << std::setprecision(0)
                << std::setw(11) << get(k + "_qps") << std::setprecision(3) << std::setw(10) << get(k + "_ratio")
                << std::setprecision(1) << std::setw(10) << get(k + "_p50_us") << std::setw(10)
                << get(k + "_p99_us") << std::setprecision(2) << std::setw(13) << get(k + "_p99_us") / floor_p99
                << std::setprecision(0) << std::setw(11) << get(k + "_p999_us") << std::setw(10)
                << get(k + "_failures") << std::setprecision(1)
                << std::setw(11) << get(k + "_cpu_us_per_q") << std::setprecision(2) << std::setw(11)
                << get(k + "_switches_per_q") << "\n";
        }
        const double ratio = get("respool_ratio");
        const bool shared = get("pool_size") < get("threads");
        out << "    target: respool >= 0.95 of the floor's throughput: " << respool_bench::verdict(ratio >= 0.95);
        if (shared) {
            out << "; respool p99 <= the floor's: " << respool_bench::verdict(get("respool_p99_us") <= floor_p99);
            const double fair_ratio = get("respool_fair_queue_ratio");
            out << "\n    with fair_queue: >= 0.95 of the floor's throughput: "
                << respool_bench::verdict(fair_ratio >= 0.95) << "; p99 <= the floor's: "
                << respool_bench::verdict(get("respool_fair_queue_p99_us") <= floor_p99);
        }
        out << "\n";
    }
}

} // namespace

int main(int argc, char** argv) {
    if (server_url().empty()) {
        std::fprintf(stderr, "bench_mariadb_select1: set RESPOOL_MARIADB_URL (tools/bench_mariadb.sh starts a "
                             "throwaway server and sets it)\n");
        return 2;
    }
    // Before any thread: libmariadb's global initialisation is not thread-safe.
    if (mysql_library_init(0, nullptr, nullptr) != 0) {
        std::fprintf(stderr, "bench_mariadb_select1: mysql_library_init failed\n");
        return 2;
    }
    const int rc = respool_bench::run_main(argc, argv, summary);
    mysql_library_end();
    return rc;
}
