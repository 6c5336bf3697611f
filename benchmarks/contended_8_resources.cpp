// Scenario 2: 2, 8 and 32 threads share 8 resources; each checks one out, touches it and gives it back at once.
//
// Baseline: a mutex + condition-variable queue, the textbook blocking pool. Target: respool at least 4x its
// throughput at every thread count.
//
// Method: each benchmark iteration runs both contenders, one after the other (the order alternates between
// iterations so that neither always runs on a warmer or quieter machine), each on its own set of threads for a fixed
// time. Throughput is every operation of every thread over the wall time of the whole run (see run_threads_for).
// The counters hold the totals over all iterations; the benchmark's own time column is respool's wall time per run.
#include <respool/pool.hpp>

#include <array>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <iomanip>
#include <mutex>

#include "bench_support.hpp"

namespace {

using namespace std::chrono_literals;
using respool_bench::RunTotals;
using respool_bench::run_threads_for;

constexpr std::size_t resource_count = 8;
constexpr auto run_length = 150ms;
constexpr int iterations = 4; // x 2 contenders x 150 ms: about 1.2 s per thread count

// acquire() sleeps on the condition variable while the queue is empty; release() wakes one sleeper.
class MutexCvQueue {
public:
    MutexCvQueue() {
        for (std::size_t i = 0; i < resource_count; ++i) free_.push_back(&values_[i].value);
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
    struct alignas(64) Value {
        int value = 0;
    };
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

    auto run_respool = [&] {
        return run_threads_for(threads, run_length, [&](std::size_t) {
            auto lease = pool.acquire();
            benchmark::DoNotOptimize(++*lease);
        });
    };
    auto run_mutex_cv = [&] {
        return run_threads_for(threads, run_length, [&](std::size_t) {
            int* r = queue.acquire();
            benchmark::DoNotOptimize(++*r);
            queue.release(r);
        });
    };

    RunTotals respool_total, mutex_cv_total;
    bool respool_first = true;
    for (auto _ : state) {
        respool_bench::WallRun mine, theirs;
        if (respool_first) {
            mine = run_respool();
            theirs = run_mutex_cv();
        } else {
            theirs = run_mutex_cv();
            mine = run_respool();
        }
        respool_first = !respool_first;
        respool_total.add(mine);
        mutex_cv_total.add(theirs);
        state.SetIterationTime(mine.wall_seconds);
    }
    state.counters["respool_Mops"] = respool_total.ops_per_second() / 1e6;
    state.counters["mutex_cv_Mops"] = mutex_cv_total.ops_per_second() / 1e6;
    state.counters["speedup"] = respool_total.ops_per_second() / mutex_cv_total.ops_per_second();
    state.counters["respool_max_min"] = respool_total.worst_max_over_min;
    state.counters["mutex_cv_max_min"] = mutex_cv_total.worst_max_over_min;
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
            << " reps)\n";
    }
}

} // namespace

int main(int argc, char** argv) { return respool_bench::run_main(argc, argv, summary); }
