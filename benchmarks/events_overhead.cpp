// Scenario: what the events policy costs on the fast path. One thread, checkout + return of an int, through a pool
// with no hooks (the default), one with a counting checkout/checkin hook, and one with PoolMetrics; all in one binary.
// The no-hooks pool must match the core's own figure: the default policy compiles to nothing.
#include <respool/respool.hpp>

#include <cstdint>
#include <iomanip>
#include <string>

#include "bench_support.hpp"

namespace {

struct IntFactory {
    int create() { return 42; }
};

// The smallest useful hook: counts checkouts and returns.
struct CountingEvents {
    std::uint64_t* checkouts;
    std::uint64_t* checkins;
    void on_checkout(const respool::CheckoutEvent&) noexcept { ++*checkouts; }
    void on_checkin(const respool::CheckinEvent&) noexcept { ++*checkins; }
};

template <class Events>
using IntPool = respool::Pool<int, IntFactory, respool::AlwaysValid, respool::policies::SteadyClock, Events>;

template <class Events>
void checkout_return(benchmark::State& state, Events events) {
    IntPool<Events> pool(respool::PoolOptions{}, IntFactory{}, respool::AlwaysValid{}, {}, events);
    { auto warm = pool.acquire(); }
    for (auto _ : state) {
        auto lease = pool.acquire();
        benchmark::DoNotOptimize(++*lease);
    }
}

// The core's own figure: Pool with its defaults, the type users get without naming an events policy.
void core_default(benchmark::State& state) {
    respool::Pool<int, IntFactory> pool;
    { auto warm = pool.acquire(); }
    for (auto _ : state) {
        auto lease = pool.acquire();
        benchmark::DoNotOptimize(++*lease);
    }
}

std::uint64_t checkouts = 0, checkins = 0;
const std::string prefix = "events_overhead/";

void register_all() {
    benchmark::RegisterBenchmark((prefix + "core_default").c_str(), core_default);
    benchmark::RegisterBenchmark((prefix + "no_hooks").c_str(), checkout_return<respool::NoEvents>,
                                 respool::NoEvents{});
    benchmark::RegisterBenchmark((prefix + "counting_hook").c_str(), checkout_return<CountingEvents>,
                                 CountingEvents{&checkouts, &checkins});
    benchmark::RegisterBenchmark((prefix + "pool_metrics").c_str(), checkout_return<respool::policies::PoolMetrics>,
                                 respool::policies::PoolMetrics{});
}

void summary(const respool_bench::Collected& c, std::ostream& out) {
    const double base = c.median_time(prefix + "no_hooks");
    out << std::fixed << std::setprecision(2);
    for (const auto& entry : c.real_ns) {
        const double ns = c.median_time(entry.first);
        out << "  " << std::left << std::setw(34) << entry.first << std::right << std::setw(8) << ns << " ns  "
            << std::setw(6) << ns / base << "x no_hooks  (" << c.repetitions(entry.first) << " reps)\n";
    }
}

} // namespace

int main(int argc, char** argv) {
    register_all();
    return respool_bench::run_main(argc, argv, summary);
}
