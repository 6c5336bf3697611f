#pragma once
// Timing every query of a many-threaded run: throughput over the wall time, each query's latency for p50 and p99,
// and the client's CPU time and sleeps per query. Shared by the MariaDB scenarios that report a tail.
#include <sys/resource.h>
#include <sys/time.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <utility>
#include <vector>

#include "bench_support.hpp"

namespace respool_bench {

// Per thread: each successful query's latency in nanoseconds, and the failures. Its own cache line: every thread
// appends to its own vector only.
struct alignas(64) ThreadSamples {
    std::vector<std::uint32_t> latency_ns;
    std::uint64_t failures = 0;
};

// The process's CPU time and voluntary context switches so far: what a contender costs the client side per query.
// Where the server shares the client's cores, every client CPU microsecond is one the server does not get.
struct ProcessUsage {
    double cpu_seconds = 0;
    std::uint64_t voluntary_switches = 0;
    static ProcessUsage now() {
        rusage u{};
        ::getrusage(RUSAGE_SELF, &u);
        auto seconds = [](const timeval& tv) { return double(tv.tv_sec) + double(tv.tv_usec) / 1e6; };
        return {seconds(u.ru_utime) + seconds(u.ru_stime), static_cast<std::uint64_t>(u.ru_nvcsw)};
    }
};

// One contender's totals over every iteration.
struct QueryTotals {
    std::uint64_t queries = 0;
    std::uint64_t failures = 0;
    double wall_seconds = 0;
    double client_cpu_seconds = 0;        // this process's CPU time (user + system, every thread) during the runs
    std::uint64_t voluntary_switches = 0; // this process's threads' sleeps (a socket read, a futex) during the runs
    std::vector<std::uint32_t> latency_ns;

    // Adds one run: its samples, its wall time and what the process used during it.
    void add(const std::vector<ThreadSamples>& samples, double wall, const ProcessUsage& before,
             const ProcessUsage& after) {
        wall_seconds += wall;
        client_cpu_seconds += after.cpu_seconds - before.cpu_seconds;
        voluntary_switches += after.voluntary_switches - before.voluntary_switches;
        for (const ThreadSamples& s : samples) {
            queries += s.latency_ns.size();
            failures += s.failures;
            latency_ns.insert(latency_ns.end(), s.latency_ns.begin(), s.latency_ns.end());
        }
    }

    double per_query(double amount) const { return queries > 0 ? amount / double(queries) : 0; }
    double queries_per_second() const { return wall_seconds > 0 ? double(queries) / wall_seconds : 0; }
    // The q-quantile (nearest rank) in microseconds; NaN with no samples.
    double quantile_us(double q) {
        if (latency_ns.empty()) return std::numeric_limits<double>::quiet_NaN();
        const auto k = static_cast<std::size_t>(q * double(latency_ns.size() - 1) + 0.5);
        std::nth_element(latency_ns.begin(), latency_ns.begin() + static_cast<std::ptrdiff_t>(k), latency_ns.end());
        return latency_ns[k] / 1e3;
    }
};

// Nanoseconds since t0, saturated to fit a latency sample.
inline std::uint32_t ns_since(Clock::time_point t0) {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
    return static_cast<std::uint32_t>(std::min<long long>(ns, std::numeric_limits<std::uint32_t>::max()));
}

// Runs `query(thread)` (true: it succeeded; a throw counts as a failure) on `threads` threads for `duration`, timing
// each call, and adds the outcome to `totals`. Returns the run's wall time in seconds.
template <class Query>
double timed_run(std::size_t threads, std::chrono::milliseconds duration, QueryTotals& totals, Query&& query) {
    std::vector<ThreadSamples> samples(threads);
    for (ThreadSamples& s : samples) s.latency_ns.reserve(1 << 15);
    const ProcessUsage before = ProcessUsage::now();
    const WallRun run = run_threads_for(threads, duration, [&](std::size_t t) {
        const Clock::time_point t0 = Clock::now();
        bool ok = false;
        try {
            ok = query(t);
        } catch (const std::exception&) {
            ok = false;
        }
        if (ok)
            samples[t].latency_ns.push_back(ns_since(t0));
        else
            ++samples[t].failures;
    });
    totals.add(samples, run.wall_seconds, before, ProcessUsage::now());
    return run.wall_seconds;
}

} // namespace respool_bench
