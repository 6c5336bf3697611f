// Scenario 2: 2, 8 and 32 threads share 8 resources; each checks one out, touches it and gives it back at once.
//
// Baseline: a mutex + condition-variable queue, the textbook blocking pool. Target: respool (acquire()) at least 4x
// its throughput at every thread count.
// Two references explain the result rather than judge it: respool's try_acquire() retried with a yield (acquire()
// without computing a deadline), and a bare Treiber stack (the least any pool built on one shared stack does).
// When CMake finds them, two other libraries' generic pools run as well, waiting as their own blocking calls wait:
// POCO's Poco::ObjectPool<int> (borrowObject with a timeout, returnObject) and SOCI's soci::connection_pool (lease,
// give_back; its sessions are never opened).
//
// Method: each benchmark iteration runs every contender, one after the other (the order rotates between iterations
// so that none always runs on a warmer or quieter machine), each on its own set of threads for a fixed time.
// Throughput is every operation of every thread over the wall time of the whole run (see run_threads_for).
// The counters hold the totals over all iterations; the benchmark's own time column is respool's wall time per run.
#include <respool/pool.hpp>

#include <array>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <iomanip>
#include <mutex>
#include <thread>
#include <vector>

#include "bench_support.hpp"
#include "other_pools.hpp"

namespace {

using namespace std::chrono_literals;
using respool_bench::RunTotals;
using respool_bench::run_threads_for;

constexpr std::size_t resource_count = 8;
constexpr auto run_length = 150ms;
constexpr int iterations = 4; // x 4 contenders x 150 ms: about 2.4 s per thread count

// Each resource on its own cache line, as a pool's slots are.
struct alignas(64) Value {
    int value = 0;
};

// acquire() sleeps on the condition variable while the queue is empty; release() wakes one sleeper.
class MutexCvQueue {
public:
    MutexCvQueue() {
        for (Value& v : values_) free_.push_back(&v.value);
    }
    int* acquire() {
        std::unique_lock lock(mutex_);
        available_.wait(lock, [&] { return !free_.empty(); });
        int* r = free_.front();
        free_.pop_front();
        return r;
    }
    void release(int* r) {
        {
            std::lock_guard lock(mutex_);
            free_.push_back(r);
        }
        available_.notify_one(); // outside the lock: the woken thread need not block on the mutex at once
    }

private:
    std::mutex mutex_;
    std::condition_variable available_;
    std::deque<int*> free_;
    std::array<Value, resource_count> values_{};
};

struct IntFactory {
    int create() { return 0; }
};
using IntPool = respool::Pool<int, IntFactory>;

void contended(benchmark::State& state) {
    const auto threads = static_cast<std::size_t>(state.range(0));
    IntPool pool(respool::PoolOptions{.pool_size = resource_count, .max_overflow = 0});
    {
        // Create all eight up front, so the runs measure checkout and return, not creation.
        std::vector<IntPool::Lease> all;
        for (std::size_t i = 0; i < resource_count; ++i) all.push_back(pool.acquire());
    }
    MutexCvQueue queue;
    respool_bench::TreiberIndexStack<resource_count> stack;
    std::array<Value, resource_count> stack_values{};
    for (std::uint32_t i = resource_count; i-- > 0;) stack.push(i);
#if RESPOOL_BENCH_HAS_POCO
    Poco::ObjectPool<int> poco(resource_count, resource_count);
    {
        std::vector<int*> all;
        for (std::size_t i = 0; i < resource_count; ++i) all.push_back(poco.borrowObject());
        for (int* object : all) poco.returnObject(object);
    }
#endif
#if RESPOOL_BENCH_HAS_SOCI
    soci::connection_pool soci_pool(resource_count);
#endif

    enum Contender { respool_acquire, mutex_cv, respool_try, treiber, poco_pool, soci_lease, contender_count };
    constexpr std::array<bool, contender_count> built{true, true, true, true, RESPOOL_BENCH_HAS_POCO != 0,
                                                      RESPOOL_BENCH_HAS_SOCI != 0};
    auto run = [&](int which) {
        switch (which) {
#if RESPOOL_BENCH_HAS_POCO
        case poco_pool:
            return run_threads_for(threads, run_length, [&](std::size_t) {
                int* object = poco.borrowObject(60'000); // waits (up to a minute) as respool's acquire() does
                benchmark::DoNotOptimize(++*object);
                poco.returnObject(object);
            });
#endif
#if RESPOOL_BENCH_HAS_SOCI
        case soci_lease:
            return run_threads_for(threads, run_length, [&](std::size_t) {
                const std::size_t position = soci_pool.lease();
                benchmark::DoNotOptimize(&soci_pool.at(position));
                soci_pool.give_back(position);
            });
#endif
        case respool_acquire:
            return run_threads_for(threads, run_length, [&](std::size_t) {
                auto lease = pool.acquire();
                benchmark::DoNotOptimize(++*lease);
            });
        case mutex_cv:
            return run_threads_for(threads, run_length, [&](std::size_t) {
                int* r = queue.acquire();
                benchmark::DoNotOptimize(++*r);
                queue.release(r);
            });
        case respool_try:
            return run_threads_for(threads, run_length, [&](std::size_t) {
                for (;;) {
                    if (auto lease = pool.try_acquire()) {
                        benchmark::DoNotOptimize(++*lease);
                        return;
                    }
                    std::this_thread::yield(); // all eight are held by threads that are not running
                }
            });
        default:
            return run_threads_for(threads, run_length, [&](std::size_t) {
                for (;;) {
                    if (const std::uint32_t i = stack.pop(); i != respool_bench::no_index) {
                        benchmark::DoNotOptimize(++stack_values[i].value);
                        stack.push(i);
                        return;
                    }
                    std::this_thread::yield();
                }
            });
        }
    };

    std::array<RunTotals, contender_count> totals{};
    int first = 0;
    for (auto _ : state) {
        double respool_wall = 0;
        for (int k = 0; k < contender_count; ++k) {
            const int which = (first + k) % contender_count;
            if (!built[static_cast<std::size_t>(which)]) continue;
            const respool_bench::WallRun r = run(which);
            totals[static_cast<std::size_t>(which)].add(r);
            if (which == respool_acquire) respool_wall = r.wall_seconds;
        }
        first = (first + 1) % contender_count;
        state.SetIterationTime(respool_wall);
    }
    const double baseline = totals[mutex_cv].ops_per_second();
    state.counters["respool_Mops"] = totals[respool_acquire].ops_per_second() / 1e6;
    state.counters["mutex_cv_Mops"] = baseline / 1e6;
    state.counters["speedup"] = totals[respool_acquire].ops_per_second() / baseline;
    state.counters["try_speedup"] = totals[respool_try].ops_per_second() / baseline;
    state.counters["treiber_speedup"] = totals[treiber].ops_per_second() / baseline;
    state.counters["respool_max_min"] = totals[respool_acquire].worst_max_over_min;
    state.counters["mutex_cv_max_min"] = totals[mutex_cv].worst_max_over_min;
    if (built[poco_pool])
        state.counters["over_poco"] = totals[respool_acquire].ops_per_second() / totals[poco_pool].ops_per_second();
    if (built[soci_lease])
        state.counters["over_soci"] = totals[respool_acquire].ops_per_second() / totals[soci_lease].ops_per_second();
}

BENCHMARK(contended)
    ->Name("contended_8_resources")
    ->ArgName("threads")
    ->Arg(2)
    ->Arg(8)
    ->Arg(32)
    ->Iterations(iterations)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

void summary(const respool_bench::Collected& c, std::ostream& out) {
    out << std::fixed << std::setprecision(2);
    for (const auto& [name, counters] : c.counters) {
        const double speedup = c.median_counter(name, "speedup");
        out << "  " << std::left << std::setw(48) << name << std::right << " respool " << std::setw(7)
            << c.median_counter(name, "respool_Mops") << " Mops/s, mutex+cv " << std::setw(6)
            << c.median_counter(name, "mutex_cv_Mops") << " Mops/s, speedup " << std::setw(6) << speedup
            << "x (target >= 4x: " << respool_bench::verdict(speedup >= 4) << ", " << c.repetitions(name)
            << " reps)\n    references over mutex+cv: respool try_acquire " << c.median_counter(name, "try_speedup")
            << "x, bare Treiber stack " << c.median_counter(name, "treiber_speedup") << "x\n";
        for (const auto& [counter, other] : {std::pair{"over_poco", "POCO ObjectPool"}, {"over_soci", "SOCI lease"}}) {
            const double ratio = c.median_counter(name, counter);
            if (ratio == ratio) out << "    respool over " << other << ": " << ratio << "x the throughput\n";
        }
    }
}

} // namespace

int main(int argc, char** argv) { return respool_bench::run_main(argc, argv, summary); }
