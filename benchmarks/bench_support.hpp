#pragma once
// Shared pieces of the benchmark scenarios: a wall-clock harness for many threads, a calibrated busy loop, and a
// console reporter that ends with a summary of ratios against each scenario's baseline.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <ostream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace respool_bench {

using Clock = std::chrono::steady_clock;

// glibc's pthread_mutex_lock skips the atomic instruction while the process has never had a second thread, which
// makes a single-threaded mutex look several times cheaper than it is in any program that uses a pool. One thread
// started and joined before measuring puts every baseline on its real, multi-threaded footing.
inline void leave_single_threaded_mode() {
    std::thread([] {}).join();
}

// ---- a reference lock-free stack ---------------------------------------------------------------------------------

inline constexpr std::uint32_t no_index = ~std::uint32_t{0};

// A bare Treiber stack of the indices 0..Capacity-1: the least a lock-free pool built on one shared stack can do
// (a CAS to pop, a CAS to push), with nothing for waiting, closing or statistics.
// The head packs {index:32, tag:32}; the tag grows on every change so that a pop which read a stale successor fails
// its CAS (the ABA defence). Nodes are array entries that live as long as the stack: nothing is ever reclaimed.
template <std::uint32_t Capacity>
class TreiberIndexStack {
public:
    std::uint32_t pop() noexcept {
        // acquire: sees next_[top] and whatever the pusher wrote to its slot; pairs with the release CAS in push().
        std::uint64_t head = head_.load(std::memory_order_acquire);
        for (;;) {
            const auto top = std::uint32_t(head);
            if (top == no_index) return no_index;
            // relaxed: a stale successor only makes the CAS fail.
            const std::uint32_t below = next_[top].load(std::memory_order_relaxed);
            if (head_.compare_exchange_weak(head, bump(head, below), std::memory_order_acquire,
                                            std::memory_order_acquire))
                return top;
        }
    }
    void push(std::uint32_t i) noexcept {
        std::uint64_t head = head_.load(std::memory_order_relaxed); // relaxed: the CAS re-reads
        for (;;) {
            next_[i].store(std::uint32_t(head), std::memory_order_relaxed); // relaxed: published by the CAS below
            // release: publishes next_[i] and the slot; pairs with the acquire in pop().
            if (head_.compare_exchange_weak(head, bump(head, i), std::memory_order_release, std::memory_order_relaxed))
                return;
        }
    }

private:
    static std::uint64_t bump(std::uint64_t old_head, std::uint32_t index) noexcept {
        return (((old_head >> 32) + 1) << 32) | index;
    }
    // Written by every take and give: its own cache line.
    alignas(64) std::atomic<std::uint64_t> head_{no_index};
    std::atomic<std::uint32_t> next_[Capacity]{};
};

// ---- many threads, timed from outside ----------------------------------------------------------------------------

// The outcome of one timed run: every operation of every thread, over the wall time of the whole run.
struct WallRun {
    std::uint64_t ops = 0;
    double wall_seconds = 0;
    std::vector<std::uint64_t> per_thread;

    double ops_per_second() const { return wall_seconds > 0 ? double(ops) / wall_seconds : 0; }

    // Most over fewest completed operations: 1 is perfectly even. A thread that completed none makes it infinite.
    double max_over_min() const {
        const auto [lo, hi] = std::minmax_element(per_thread.begin(), per_thread.end());
        if (lo == per_thread.end()) return 0;
        return *lo == 0 ? std::numeric_limits<double>::infinity() : double(*hi) / double(*lo);
    }
};

// Runs `op(thread_index)` in a loop on `threads` threads for about `duration`, and times the run from the moment
// the threads are released to the moment the last of them finishes its last operation.
//
// Google Benchmark's own ->Threads(n) reports the mean of per-thread timers, which reads optimistic when threads
// outnumber cores (a thread's timer stops while others still run), so multi-threaded scenarios use this instead.
// A fixed duration (not a fixed count per thread) bounds the run even for a baseline that starves some threads,
// and lets the per-thread counts show how evenly the work was shared.
template <class Op>
WallRun run_threads_for(std::size_t threads, std::chrono::milliseconds duration, Op&& op) {
    enum Phase : int { waiting, running, stopping };
    std::atomic<int> phase{waiting};
    std::atomic<std::size_t> ready{0};
    // One cache line per thread: the results are written once, at the end, but must not share a line with the
    // flag every thread reads in its loop.
    struct alignas(64) Result {
        std::uint64_t ops = 0;
        Clock::time_point finished{};
    };
    std::vector<Result> results(threads);
    std::vector<std::thread> pool;
    pool.reserve(threads);
    for (std::size_t t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            ready.fetch_add(1, std::memory_order_relaxed); // relaxed: only counted, the start flag publishes
            // Yield rather than sleep until the start: every thread is runnable at the start instant, so none of the
            // measured time goes into waking threads up.
            while (phase.load(std::memory_order_acquire) == waiting) std::this_thread::yield(); // pairs with go
            std::uint64_t done = 0;
            // relaxed: the flag carries no data; the join below publishes the results.
            while (phase.load(std::memory_order_relaxed) == running) {
                op(t);
                ++done;
            }
            results[t].finished = Clock::now();
            results[t].ops = done;
        });
    }
    while (ready.load(std::memory_order_relaxed) < threads) std::this_thread::yield();
    const Clock::time_point start = Clock::now();
    phase.store(running, std::memory_order_release); // release: "go"; pairs with the acquire in the workers
    std::this_thread::sleep_for(duration);
    phase.store(stopping, std::memory_order_relaxed); // relaxed: see the loop
    for (std::thread& th : pool) th.join();

    WallRun run;
    Clock::time_point end = start;
    for (const Result& r : results) {
        run.ops += r.ops;
        run.per_thread.push_back(r.ops);
        end = std::max(end, r.finished);
    }
    run.wall_seconds = std::chrono::duration<double>(end - start).count();
    return run;
}

// Sums runs of one contender within a benchmark: throughput is all operations over all wall time, and the fairness
// figure is the worst single run's.
struct RunTotals {
    std::uint64_t ops = 0;
    double wall_seconds = 0;
    double worst_max_over_min = 0;

    void add(const WallRun& run) {
        ops += run.ops;
        wall_seconds += run.wall_seconds;
        worst_max_over_min = std::max(worst_max_over_min, run.max_over_min());
    }
    double ops_per_second() const { return wall_seconds > 0 ? double(ops) / wall_seconds : 0; }
};

// ---- a calibrated busy loop --------------------------------------------------------------------------------------

// Burns `iterations` trips through a loop the optimiser must keep.
inline void spin(std::uint64_t iterations) {
    for (std::uint64_t i = 0; i < iterations; ++i) benchmark::DoNotOptimize(i);
}

// How many spin() iterations take `target`, from the fastest of several trials: on a shared machine a slow trial
// means the calibrating thread was interrupted, not that the loop got slower.
inline std::uint64_t calibrate_spin(std::chrono::nanoseconds target) {
    constexpr std::uint64_t trial_iterations = 4'000'000;
    double best_ns = std::numeric_limits<double>::max();
    for (int trial = 0; trial < 7; ++trial) {
        const Clock::time_point t0 = Clock::now();
        spin(trial_iterations);
        best_ns = std::min(best_ns, std::chrono::duration<double, std::nano>(Clock::now() - t0).count());
    }
    const double per_iteration_ns = best_ns / double(trial_iterations);
    return std::max<std::uint64_t>(1, std::uint64_t(double(target.count()) / per_iteration_ns + 0.5));
}

// ---- a console report that ends with the scenario's ratios -------------------------------------------------------

// What the runs reported, per benchmark (its full name), one entry per repetition. With
// --benchmark_report_aggregates_only the single runs never reach a reporter; the "median" aggregate then stands in
// as the one entry.
struct Collected {
    std::map<std::string, std::vector<double>> real_ns;
    std::map<std::string, std::map<std::string, std::vector<double>>> counters;
    std::map<std::string, std::vector<double>> median_real_ns;
    std::map<std::string, std::map<std::string, std::vector<double>>> median_counters;
    std::map<std::string, std::size_t> aggregated_repetitions; // how many runs each median aggregate stands for

    // Falls back to the median aggregates when no single run was reported.
    void settle() {
        if (!real_ns.empty()) {
            aggregated_repetitions.clear();
            return;
        }
        real_ns = median_real_ns;
        counters = median_counters;
    }

    static double median(std::vector<double> v) {
        if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
        std::sort(v.begin(), v.end());
        const std::size_t n = v.size();
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }
    double median_time(const std::string& bench) const {
        const auto it = real_ns.find(bench);
        return it == real_ns.end() ? std::numeric_limits<double>::quiet_NaN() : median(it->second);
    }
    double median_counter(const std::string& bench, const std::string& counter) const {
        const auto b = counters.find(bench);
        if (b == counters.end()) return std::numeric_limits<double>::quiet_NaN();
        const auto c = b->second.find(counter);
        return c == b->second.end() ? std::numeric_limits<double>::quiet_NaN() : median(c->second);
    }
    std::size_t repetitions(const std::string& bench) const {
        if (const auto agg = aggregated_repetitions.find(bench); agg != aggregated_repetitions.end()) return agg->second;
        const auto it = real_ns.find(bench);
        return it == real_ns.end() ? 0 : it->second.size();
    }
};

// The usual console table, then a summary written by the scenario from the medians over repetitions. Ratios are
// what the targets are stated in; lone times on a shared 2-core machine mean little.
class SummaryReporter : public benchmark::ConsoleReporter {
public:
    using Summary = std::function<void(const Collected&, std::ostream&)>;

    explicit SummaryReporter(Summary summary) : summary_(std::move(summary)) {}

    void ReportRuns(const std::vector<Run>& runs) override {
        ConsoleReporter::ReportRuns(runs);
        for (const Run& run : runs) {
            if (run.error_occurred) continue;
            const bool single = run.run_type == Run::RT_Iteration;
            if (!single && run.aggregate_name != "median") continue;
            const std::string name = run.run_name.str();
            auto& times = single ? collected_.real_ns : collected_.median_real_ns;
            auto& counters = single ? collected_.counters : collected_.median_counters;
            // GetAdjustedRealTime() is in the benchmark's time unit; the summary wants nanoseconds throughout.
            times[name].push_back(run.GetAdjustedRealTime() * to_ns(run.time_unit));
            for (const auto& [key, counter] : run.counters) counters[name][key].push_back(counter.value);
            if (!single) collected_.aggregated_repetitions[name] = static_cast<std::size_t>(run.repetitions);
        }
    }

    void Finalize() override {
        ConsoleReporter::Finalize();
        std::ostream& out = GetOutputStream();
        collected_.settle();
        out << "\nSummary (medians over repetitions)\n";
        summary_(collected_, out);
        out.flush();
    }

private:
    static double to_ns(benchmark::TimeUnit unit) {
        switch (unit) {
        case benchmark::kNanosecond: return 1;
        case benchmark::kMicrosecond: return 1e3;
        case benchmark::kMillisecond: return 1e6;
        case benchmark::kSecond: return 1e9;
        }
        return 1;
    }

    Summary summary_;
    Collected collected_;
};

// A main for every scenario: leaves glibc's single-threaded mode, runs the benchmarks selected on the command line
// and prints the scenario's summary.
inline int run_main(int argc, char** argv, SummaryReporter::Summary summary) {
    leave_single_threaded_mode();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    SummaryReporter reporter(std::move(summary));
    benchmark::RunSpecifiedBenchmarks(&reporter);
    benchmark::Shutdown();
    return 0;
}

// "met" or "MISSED", for the summary lines.
inline const char* verdict(bool met) { return met ? "met" : "MISSED"; }

} // namespace respool_bench
