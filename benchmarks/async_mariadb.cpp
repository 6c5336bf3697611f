// MariaDB: `SELECT 1` throughput of one thread running an io_context over an async pool of 8 connections, against
// 8 threads over a blocking pool of 8 and one thread over a blocking pool of 1, in one run (RESPOOL_MARIADB_URL).
//
// Contenders, each a loop of "acquire, run SELECT 1, read the 1 back, return":
//   async_64    one thread runs an io_context; 64 coroutines share an AsyncConnectionPool of 8 (make_async_pool):
//               co_await pool.async_acquire() + co_await lease->async_query("SELECT 1") + the lease's end. 56 of
//               them wait in the pool's waiter queue at any moment, so every return hands its connection to a waiter
//               through a posted task.
//   async_64_no_timeout  the same 64 coroutines over a second async pool of 8 whose PoolOptions::timeout is
//               milliseconds::max(): acquires with no deadline, so queueing a waiter never wakes the pool's
//               housekeeper thread (which expires timed asynchronous waiters). A diagnostic for async_64's cost.
//   async_8     the same pool as async_64, 8 coroutines: as many as connections, so nobody waits in the pool (a diagnostic that
//               separates the waiter handoff from the connection's own non-blocking I/O).
//   async_1     one coroutine over an async pool of 1: the per-query cost of the async path, against blocking_1.
//   blocking_8  8 threads over a ConnectionPool of 8 (make_pool): acquire() + Connection::query + the lease's end.
//   blocking_1  one thread over a ConnectionPool of 1.
// Every pool: max_overflow 0, default validator (no pre_ping), every connection created before measuring.
//
// Method (docs/benchmarks.md): each benchmark iteration runs every contender once for `run_length`, in an order that
// rotates between iterations, so that load from other processes falls on all of them. Throughput is every successful
// query over the wall time of the whole run: for the threads, from the start flag to the last thread's last query
// (respool_bench::run_threads_for); for the coroutines, from io_context::run() to the last coroutine's last query.
// Latency is each query's own steady_clock time, acquire included, pooled over every thread or coroutine and every
// iteration (p50, p99). Client CPU is the process's CPU time over the run (getrusage, user + system) per query:
// what the client side spends, on however many cores, for one query. Failures are counted, not hidden.
#include <utility> // before Asio: Boost 1.74's Asio uses std::exchange without including it

#include <mysql.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <respool/mariadb.hpp>
#include <respool/mariadb_asio.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iomanip>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "bench_support.hpp"
#include "mariadb_support.hpp"
#include "query_latency.hpp"

namespace {

using namespace std::chrono_literals;
using respool_bench::Clock;
namespace asio = boost::asio;
namespace mdb = respool::mariadb;

constexpr auto run_length = 200ms;
constexpr int iterations = 40; // 6 contenders x 200 ms x 40: under a minute
constexpr std::size_t connections = 8;
constexpr std::size_t many_coroutines = 64;

using respool_bench::ns_since;
using respool_bench::ProcessUsage;
using respool_bench::server_url;
using Samples = respool_bench::ThreadSamples;
using Totals = respool_bench::QueryTotals;

// ---- blocking: threads over a ConnectionPool -----------------------------------------------------------------------

mdb::ConnectionPool make_warm_pool(const mdb::ConnectOptions& options, std::size_t size) {
    mdb::ConnectionPool pool =
        mdb::make_pool(options, respool::PoolOptions{.pool_size = size, .max_overflow = 0, .timeout = 30s});
    std::vector<mdb::ConnectionPool::Lease> all;
    for (std::size_t i = 0; i < size; ++i) all.push_back(pool.acquire()); // creates every connection now
    return pool;
}

double blocking_run(mdb::ConnectionPool& pool, std::size_t threads, Totals& totals) {
    std::vector<Samples> samples(threads);
    for (Samples& s : samples) s.latency_ns.reserve(1 << 14);
    const ProcessUsage before = ProcessUsage::now();
    const respool_bench::WallRun run = respool_bench::run_threads_for(threads, run_length, [&](std::size_t t) {
        const Clock::time_point t0 = Clock::now();
        bool ok = false;
        try {
            auto lease = pool.acquire();
            const mdb::Result r = lease->query("SELECT 1");
            ok = r.size() == 1 && r[0].get<int>(0) == 1;
        } catch (const std::exception&) {
        }
        if (ok) samples[t].latency_ns.push_back(ns_since(t0));
        else ++samples[t].failures;
    });
    totals.add(samples, run.wall_seconds, before, ProcessUsage::now());
    return run.wall_seconds;
}

// ---- async: coroutines over an AsyncConnectionPool on one io_context thread ---------------------------------------------

mdb::AsyncConnectionPool make_warm_async_pool(asio::io_context& io, const mdb::ConnectOptions& options,
                                              std::size_t size, std::chrono::milliseconds timeout = 30s) {
    mdb::AsyncConnectionPool pool = mdb::make_async_pool(
        io.get_executor(), options, respool::PoolOptions{.pool_size = size, .max_overflow = 0, .timeout = timeout});
    std::exception_ptr failure;
    asio::co_spawn(
        io,
        [&pool, size]() -> asio::awaitable<void> {
            std::vector<mdb::AsyncLease> all; // held together: every acquire connects a new connection
            for (std::size_t i = 0; i < size; ++i) all.push_back(co_await pool.async_acquire());
        },
        [&](std::exception_ptr e) { failure = e; });
    io.restart();
    io.run();
    if (failure) std::rethrow_exception(failure);
    return pool;
}

asio::awaitable<void> query_loop(mdb::AsyncConnectionPool& pool, const bool& stop, Samples& samples,
                                 Clock::time_point& last_finished) {
    while (!stop) {
        const Clock::time_point t0 = Clock::now();
        bool ok = false;
        try {
            mdb::AsyncLease lease = co_await pool.async_acquire();
            const mdb::Result r = co_await lease->async_query("SELECT 1");
            ok = r.size() == 1 && r[0].get<int>(0) == 1;
        } catch (const std::exception&) {
        }
        if (ok) samples.latency_ns.push_back(ns_since(t0));
        else ++samples.failures;
    }
    last_finished = std::max(last_finished, Clock::now());
}

double async_run(asio::io_context& io, mdb::AsyncConnectionPool& pool, std::size_t coroutines, Totals& totals) {
    std::vector<Samples> samples(coroutines);
    for (Samples& s : samples) s.latency_ns.reserve(1 << 12);
    bool stop = false; // one thread: the timer and the coroutines all run on it
    Clock::time_point last_finished{};
    asio::steady_timer timer(io);
    io.restart();
    for (Samples& s : samples) asio::co_spawn(io, query_loop(pool, stop, s, last_finished), asio::detached);
    const ProcessUsage before = ProcessUsage::now();
    const Clock::time_point start = Clock::now();
    timer.expires_after(run_length);
    timer.async_wait([&](const boost::system::error_code&) { stop = true; });
    io.run();
    const double wall = std::chrono::duration<double>(std::max(last_finished, start) - start).count();
    totals.add(samples, wall, before, ProcessUsage::now());
    return wall;
}

// ---- the benchmark -----------------------------------------------------------------------------------------------

enum Contender { async_64, async_64_no_timeout, async_8, async_1, blocking_8, blocking_1, contender_count };
constexpr std::array<const char*, contender_count> contender_names{
    "async_64", "async_64_no_timeout", "async_8", "async_1", "blocking_8", "blocking_1"};

void select1(benchmark::State& state) {
    mdb::ConnectOptions options;
    asio::io_context io{1}; // declared before the async pools: their connections must go first
    std::optional<mdb::AsyncConnectionPool> async_pool, async_untimed, async_single;
    std::optional<mdb::ConnectionPool> pool, single;
    try {
        options = mdb::ConnectOptions::from_url(server_url());
        async_pool.emplace(make_warm_async_pool(io, options, connections));
        async_untimed.emplace(make_warm_async_pool(io, options, connections, std::chrono::milliseconds::max()));
        async_single.emplace(make_warm_async_pool(io, options, 1));
        pool.emplace(make_warm_pool(options, connections));
        single.emplace(make_warm_pool(options, 1));
    } catch (const std::exception& e) {
        state.SkipWithError(e.what());
        return;
    }

    auto run = [&](int which, Totals& totals) {
        switch (which) {
        case async_64: return async_run(io, *async_pool, many_coroutines, totals);
        case async_64_no_timeout: return async_run(io, *async_untimed, many_coroutines, totals);
        case async_8: return async_run(io, *async_pool, connections, totals);
        case async_1: return async_run(io, *async_single, 1, totals);
        case blocking_8: return blocking_run(*pool, connections, totals);
        default: return blocking_run(*single, 1, totals);
        }
    };

    std::array<Totals, contender_count> totals{};
    int first = 0;
    for (auto _ : state) {
        double async_wall = 0;
        for (int k = 0; k < contender_count; ++k) {
            const int which = (first + k) % contender_count;
            const double wall = run(which, totals[static_cast<std::size_t>(which)]);
            if (which == async_64) async_wall = wall;
        }
        first = (first + 1) % contender_count;
        state.SetIterationTime(async_wall); // the time column is async_64's run length, not the result
    }

    const double blocking_8_qps = totals[blocking_8].queries_per_second();
    const double blocking_1_qps = totals[blocking_1].queries_per_second();
    for (int c = 0; c < contender_count; ++c) {
        Totals& t = totals[static_cast<std::size_t>(c)];
        const std::string name = contender_names[static_cast<std::size_t>(c)];
        state.counters[name + "_qps"] = t.queries_per_second();
        state.counters[name + "_per_blocking_8"] = blocking_8_qps > 0 ? t.queries_per_second() / blocking_8_qps : 0;
        state.counters[name + "_per_blocking_1"] = blocking_1_qps > 0 ? t.queries_per_second() / blocking_1_qps : 0;
        state.counters[name + "_p50_us"] = t.quantile_us(0.50);
        state.counters[name + "_p99_us"] = t.quantile_us(0.99);
        state.counters[name + "_cpu_us"] = t.per_query(t.client_cpu_seconds * 1e6);
        state.counters[name + "_failures"] = double(t.failures);
    }
}

BENCHMARK(select1)
    ->Name("async_mariadb_select1")
    ->Iterations(iterations)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

void summary(const respool_bench::Collected& c, std::ostream& out) {
    for (const auto& entry : c.counters) {
        const std::string& name = entry.first;
        auto get = [&](const std::string& key) { return c.median_counter(name, key); };
        out << "  " << name << " (" << c.repetitions(name) << " reps)\n";
        out << "    " << std::left << std::setw(21) << "contender" << std::right << std::setw(11) << "queries/s"
            << std::setw(13) << "/ blocking_8" << std::setw(13) << "/ blocking_1" << std::setw(10) << "p50 us"
            << std::setw(10) << "p99 us" << std::setw(14) << "cpu us/query" << std::setw(10) << "failures" << "\n";
        for (const char* contender : contender_names) {
            const std::string k = contender;
            out << "    " << std::left << std::setw(21) << k << std::right << std::fixed << std::setprecision(0)
                << std::setw(11) << get(k + "_qps") << std::setprecision(3) << std::setw(13)
                << get(k + "_per_blocking_8") << std::setw(13) << get(k + "_per_blocking_1") << std::setprecision(1)
                << std::setw(10) << get(k + "_p50_us") << std::setw(10) << get(k + "_p99_us") << std::setprecision(2)
                << std::setw(14) << get(k + "_cpu_us") << std::setprecision(0) << std::setw(10)
                << get(k + "_failures") << "\n";
        }
    }
}

} // namespace

int main(int argc, char** argv) {
    if (server_url().empty()) {
        std::fprintf(stderr, "bench_async_mariadb: set RESPOOL_MARIADB_URL (tools/bench_mariadb.sh starts a "
                             "throwaway server and sets it)\n");
        return 2;
    }
    // Before any thread: libmariadb's global initialisation is not thread-safe.
    if (mysql_library_init(0, nullptr, nullptr) != 0) {
        std::fprintf(stderr, "bench_async_mariadb: mysql_library_init failed\n");
        return 2;
    }
    const int rc = respool_bench::run_main(argc, argv, summary);
    mysql_library_end();
    return rc;
}
