// Large pools: what one checkout costs as the pool grows from 1,000 to 100,000 resources.
//
// Each iteration takes every resource of a fresh pool one after another (each checkout finds nothing idle, so it
// creates) and then gives them all back; then takes them all again (each from the idle set) and gives them back.
// The time is per resource. Against:
//   vector_floor   the same number of create() calls into a std::vector, then clearing it: no pool at all.
// A checkout that looked at every slot before creating would grow with the pool's size (1,000 to 100,000: 100x
// per resource); the target is a cost per resource that does not grow with the size.
#include <respool/pool.hpp>

#include <cstddef>
#include <iomanip>
#include <memory>
#include <string>
#include <vector>

#include "bench_support.hpp"

namespace {

struct CountingFactory {
    int next = 0;
    int create() { return next++; }
};
using IntPool = respool::Pool<int, CountingFactory>;

const std::string prefix = "large_pool/";
constexpr std::size_t sizes[] = {1'000, 10'000, 100'000};

std::string name_of(const char* what, std::size_t n) { return prefix + what + "/" + std::to_string(n); }

// The pool is made and destroyed outside the timed part: its slots are allocated once per pool, not per checkout.
void respool_take_all(benchmark::State& state, std::size_t n) {
    for (auto _ : state) {
        state.PauseTiming();
        auto pool = std::make_unique<IntPool>(respool::PoolOptions{.pool_size = n, .max_overflow = 0});
        std::vector<IntPool::Lease> held;
        held.reserve(n);
        state.ResumeTiming();
        for (int round = 0; round < 2; ++round) { // creating, then from the idle set
            for (std::size_t i = 0; i < n; ++i) held.push_back(pool->acquire());
            held.clear();
        }
        state.PauseTiming();
        pool.reset();
        state.ResumeTiming();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}

void vector_floor(benchmark::State& state, std::size_t n) {
    for (auto _ : state) {
        state.PauseTiming();
        CountingFactory factory;
        std::vector<int> held;
        held.reserve(n);
        state.ResumeTiming();
        for (int round = 0; round < 2; ++round) {
            for (std::size_t i = 0; i < n; ++i) held.push_back(factory.create());
            benchmark::DoNotOptimize(held.data());
            held.clear();
        }
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}

void summary(const respool_bench::Collected& c, std::ostream& out) {
    out << std::fixed << std::setprecision(2);
    double first_per_resource = 0;
    for (const std::size_t n : sizes) {
        const double pool_ns = c.median_time(name_of("respool", n)) / double(2 * n);
        const double floor_ns = c.median_time(name_of("vector_floor", n)) / double(2 * n);
        if (pool_ns != pool_ns) continue; // filtered out
        if (first_per_resource == 0) first_per_resource = pool_ns;
        out << "  " << std::setw(7) << n << " resources: respool " << std::setw(7) << pool_ns
            << " ns per checkout + return (" << std::setw(6) << pool_ns / first_per_resource << "x the smallest pool's)";
        if (floor_ns == floor_ns) out << ", vector_floor " << floor_ns << " ns";
        out << "\n";
    }
}

} // namespace

int main(int argc, char** argv) {
    for (const std::size_t n : sizes) {
        benchmark::RegisterBenchmark(name_of("respool", n).c_str(), respool_take_all, n)
            ->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark(name_of("vector_floor", n).c_str(), vector_floor, n)
            ->Unit(benchmark::kMicrosecond);
    }
    return respool_bench::run_main(argc, argv, summary);
}
