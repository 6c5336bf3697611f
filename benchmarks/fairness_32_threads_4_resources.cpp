// Scenario 3: 32 threads share 4 resources and hold each for ~200 ns of work (a calibrated busy loop).
//
// Baseline: the same 32 threads doing the same work with no pool at all, which is what the pool's coordination is
// charged against. Targets: respool's throughput within 2x of the baseline (slowdown <= 2), and no thread completing
// more than twice as many operations as another (max/min <= 2).
//
// With 2 cores and 32 threads, holders are preempted while holding; the pool must then neither collapse into a
// context switch per checkout (strict handoff) nor let the threads that happen to be running take everything.
//
// Method as in scenario 2: each iteration runs both, in alternating order, for a fixed time each; throughput is all
// operations over the wall time of each whole run; fairness is the worst run's max/min of per-thread counts.
#include <respool/pool.hpp>

#include <array>
#include <cstdlib>
#include <ctime>
#include <iomanip>

#include "bench_support.hpp"

namespace {

using namespace std::chrono_literals;
using respool_bench::RunTotals;
using respool_bench::run_threads_for;

constexpr std::size_t thread_count = 32;
constexpr std::size_t resource_count = 4;
constexpr auto hold_time = 200ns;
// Long enough that every thread gets many scheduler time slices (32 threads on 2 cores get ~1/16 of a core each, so
// ~300 ms of CPU in 5 s). Over short runs the counts are uneven, a little with no pool and far more with respool,
// whose callers yield before they queue and which Linux's EEVDF books as used slices; over seconds those charges
// average out. RESPOOL_BENCH_RUN_MS changes the length, to see the counts even out as it grows (docs/benchmarks.md).
const std::chrono::milliseconds run_length = [] {
    const char* text = std::getenv("RESPOOL_BENCH_RUN_MS");
    const long ms = text ? std::strtol(text, nullptr, 10) : 0;
    return ms > 0 ? std::chrono::milliseconds(ms) : std::chrono::milliseconds(5'000);
}();
constexpr int iterations = 3; // x 2 contenders x 5 s: about 30 s

std::uint64_t hold_iterations = 0; // set by main() before any benchmark runs

struct IntFactory {
    int create() { return 0; }
};
using IntPool = respool::Pool<int, IntFactory>;

void fairness(benchmark::State& state) {
    IntPool pool(respool::PoolOptions{.pool_size = resource_count, .max_overflow = 0});
    {
        std::vector<IntPool::Lease> all;
        for (std::size_t i = 0; i < resource_count; ++i) all.push_back(pool.acquire());
    }

    auto run_respool = [&] {
        return run_threads_for(thread_count, run_length, [&](std::size_t) {
            auto lease = pool.acquire();
            respool_bench::spin(hold_iterations);
            benchmark::DoNotOptimize(++*lease);
        });
    };
    auto run_no_pool = [&] {
        return run_threads_for(thread_count, run_length, [&](std::size_t) { respool_bench::spin(hold_iterations); });
    };

    RunTotals respool_total, no_pool_total;
    bool respool_first = true;
    for (auto _ : state) {
        respool_bench::WallRun mine, reference;
        if (respool_first) {
            mine = run_respool();
            reference = run_no_pool();
        } else {
            reference = run_no_pool();
            mine = run_respool();
        }
        respool_first = !respool_first;
        respool_total.add(mine);
        no_pool_total.add(reference);
        state.SetIterationTime(mine.wall_seconds);
    }
    state.counters["respool_Mops"] = respool_total.ops_per_second() / 1e6;
    state.counters["no_pool_Mops"] = no_pool_total.ops_per_second() / 1e6;
    state.counters["slowdown"] = no_pool_total.ops_per_second() / respool_total.ops_per_second();
    state.counters["respool_max_min"] = respool_total.worst_max_over_min;
    state.counters["no_pool_max_min"] = no_pool_total.worst_max_over_min;
    const auto waits = pool.stats().waits;
    state.counters["respool_waits_per_op"] = respool_total.ops ? double(waits) / double(respool_total.ops) : 0;
}

BENCHMARK(fairness)
    ->Name("fairness_32_threads_4_resources")
    ->Iterations(iterations)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// What a sched_yield() costs the caller in the scheduler's sharing of the CPU, on the machine at hand: 8 busy threads
// for one second, 4 of which yield after every 100 us of work. Where the scheduler books a yield as the rest of a
// time slice used (Linux's EEVDF does), the yielders get a small fraction of the others' CPU time. respool's waiters
// yield before queueing, so this number explains how far scenario 3's per-thread counts can spread.
double thread_cpu_ms() {
    timespec now{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return double(now.tv_sec) * 1e3 + double(now.tv_nsec) / 1e6;
}

void scheduler_yield_share(benchmark::State& state) {
    constexpr int per_group = 4;
    constexpr double yield_every_ms = 0.1;
    double yielders_ms = 0, others_ms = 0;
    for (auto _ : state) {
        std::atomic<bool> stop{false};
        std::array<double, 2 * per_group> cpu_ms{};
        std::vector<std::thread> threads;
        for (int i = 0; i < 2 * per_group; ++i) {
            threads.emplace_back([&, i] {
                const bool yields = i >= per_group;
                double last = thread_cpu_ms();
                while (!stop.load(std::memory_order_relaxed)) { // relaxed: a flag; join publishes the results
                    if (!yields) continue;
                    if (const double now = thread_cpu_ms(); now - last >= yield_every_ms) {
                        std::this_thread::yield();
                        last = thread_cpu_ms();
                    }
                }
                cpu_ms[static_cast<std::size_t>(i)] = thread_cpu_ms();
            });
        }
        std::this_thread::sleep_for(1s);
        stop.store(true, std::memory_order_relaxed);
        for (std::thread& t : threads) t.join();
        for (int i = 0; i < 2 * per_group; ++i) (i >= per_group ? yielders_ms : others_ms) += cpu_ms[std::size_t(i)];
    }
    state.counters["yielder_share"] = others_ms > 0 ? yielders_ms / others_ms : 0;
}

BENCHMARK(scheduler_yield_share)->Iterations(1)->Unit(benchmark::kMillisecond);

void summary(const respool_bench::Collected& c, std::ostream& out) {
    out << std::fixed << std::setprecision(2);
    out << "  hold: " << hold_iterations << " loop iterations calibrated to " << hold_time.count() << " ns; runs of "
        << run_length.count() << " ms\n";
    for (const auto& [name, counters] : c.counters) {
        if (name.rfind("scheduler_yield_share", 0) == 0) {
            out << "  " << name << ": threads that yield after every 100 us of work got "
                << c.median_counter(name, "yielder_share")
                << " of the CPU time of threads that never yield (1.00: yields cost nothing in the CPU's sharing)\n";
            continue;
        }
        const double slowdown = c.median_counter(name, "slowdown");
        const double max_min = c.median_counter(name, "respool_max_min");
        out << "  " << name << " (" << c.repetitions(name) << " reps)\n"
            << "    throughput: respool " << c.median_counter(name, "respool_Mops") << " Mops/s, no pool "
            << c.median_counter(name, "no_pool_Mops") << " Mops/s, slowdown " << slowdown
            << "x (target <= 2x: " << respool_bench::verdict(slowdown <= 2) << ")\n"
            << "    fairness: respool max/min " << max_min << " (target <= 2: " << respool_bench::verdict(max_min <= 2)
            << "), no pool max/min " << c.median_counter(name, "no_pool_max_min") << "\n";
    }
}

} // namespace

int main(int argc, char** argv) {
    hold_iterations = respool_bench::calibrate_spin(hold_time);
    return respool_bench::run_main(argc, argv, summary);
}
