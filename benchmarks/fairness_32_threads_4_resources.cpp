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

#include <iomanip>

#include "bench_support.hpp"

namespace {

using namespace std::chrono_literals;
using respool_bench::RunTotals;
using respool_bench::run_threads_for;

constexpr std::size_t thread_count = 32;
constexpr std::size_t resource_count = 4;
constexpr auto hold_time = 200ns;
// Long enough that every thread gets several scheduler time slices (32 threads on 2 cores get ~1/16 of a core each):
// over a short run the scheduler alone makes the counts uneven, pool or not.
constexpr auto run_length = 600ms;
constexpr int iterations = 3; // x 2 contenders x 600 ms: about 4 s

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

void summary(const respool_bench::Collected& c, std::ostream& out) {
    out << std::fixed << std::setprecision(2);
    out << "  hold: " << hold_iterations << " loop iterations calibrated to " << hold_time.count() << " ns\n";
    for (const auto& [name, counters] : c.counters) {
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
