// Scenario 1: one thread takes a trivial resource (an int) and gives it back, over and over.
//
// What a pool costs when nobody competes with it, against:
//   floor          one CAS to take a slot and one store to give it back: no pool can do less while staying safe to
//                  use from other threads;
//   treiber_stack  a bare lock-free stack of slot indices: a CAS to pop and a CAS to push;
//   mutex_list     a lean free list, a std::vector under a std::mutex (lock + unlock on each side).
// Target: respool within 3x of the floor and faster than the mutex list.
// When CMake finds them, two other libraries' generic pools run next to these, through their public API:
//   poco_object_pool   POCO's Poco::ObjectPool<int> (borrowObject + returnObject), libpoco-dev;
//   soci_lease         SOCI's soci::connection_pool (lease + give_back of an unopened session), libsoci-dev.
#include <respool/pool.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <iomanip>
#include <mutex>
#include <vector>

#include "bench_support.hpp"
#include "other_pools.hpp"

namespace {

constexpr std::uint32_t slot_count = 8;
constexpr std::uint32_t no_slot = respool_bench::no_index;

// One flag per slot, each on its own cache line as a pool's slots would be. take() claims the first free flag with
// one CAS; give() clears it with one store.
class FlagSlots {
public:
    std::uint32_t take() noexcept {
        for (std::uint32_t i = 0; i < slot_count; ++i) {
            bool expected = false;
            // acquire: sees what the last holder wrote to the slot; pairs with the release in give().
            if (slots_[i].taken.compare_exchange_strong(expected, true, std::memory_order_acquire,
                                                        std::memory_order_relaxed))
                return i;
        }
        return no_slot;
    }
    void give(std::uint32_t i) noexcept {
        slots_[i].taken.store(false, std::memory_order_release); // release: pairs with the acquire in take()
    }
    int& resource(std::uint32_t i) noexcept { return slots_[i].value; }

private:
    struct alignas(64) Slot {
        std::atomic<bool> taken{false};
        int value = 0;
    };
    std::array<Slot, slot_count> slots_{};
};

// A bare Treiber stack of slot indices (see respool_bench::TreiberIndexStack), with a resource per slot.
class TreiberSlots {
public:
    TreiberSlots() {
        for (std::uint32_t i = slot_count; i-- > 0;) stack_.push(i);
    }
    std::uint32_t take() noexcept { return stack_.pop(); }
    void give(std::uint32_t i) noexcept { stack_.push(i); }
    int& resource(std::uint32_t i) noexcept { return values_[i].value; }

private:
    struct alignas(64) Value {
        int value = 0;
    };
    respool_bench::TreiberIndexStack<slot_count> stack_;
    std::array<Value, slot_count> values_{};
};

// The plainest thread-safe free list: what a pool written without atomics would do.
class MutexSlots {
public:
    MutexSlots() {
        free_.reserve(slot_count);
        for (std::uint32_t i = slot_count; i-- > 0;) free_.push_back(i);
    }
    std::uint32_t take() {
        std::lock_guard lock(mutex_);
        if (free_.empty()) return no_slot;
        const std::uint32_t i = free_.back();
        free_.pop_back();
        return i;
    }
    void give(std::uint32_t i) {
        std::lock_guard lock(mutex_);
        free_.push_back(i);
    }
    int& resource(std::uint32_t i) noexcept { return values_[i].value; }

private:
    std::mutex mutex_;
    std::vector<std::uint32_t> free_;
    struct alignas(64) Value {
        int value = 0;
    };
    std::array<Value, slot_count> values_{};
};

// Every contender touches the resource it holds, so none gets away with handing out nothing.
template <class Slots>
void slot_baseline(benchmark::State& state) {
    Slots slots;
    for (auto _ : state) {
        const std::uint32_t i = slots.take();
        benchmark::DoNotOptimize(++slots.resource(i));
        slots.give(i);
    }
}

struct IntFactory {
    int create() { return 42; }
};
using IntPool = respool::Pool<int, IntFactory>;

// The first checkout creates the resource; the loop then measures checkout + return of an existing one.
IntPool warmed_pool(respool::PoolOptions options) {
    IntPool pool(options);
    { auto lease = pool.acquire(); }
    return pool;
}

void respool_acquire(benchmark::State& state, respool::CheckoutOrder order) {
    IntPool pool = warmed_pool(respool::PoolOptions{.order = order});
    for (auto _ : state) {
        auto lease = pool.acquire();
        benchmark::DoNotOptimize(++*lease);
    }
}

// try_acquire() takes no deadline: the difference from acquire() is what computing the deadline costs.
void respool_try_acquire(benchmark::State& state) {
    IntPool pool = warmed_pool(respool::PoolOptions{});
    for (auto _ : state) {
        auto lease = pool.try_acquire();
        benchmark::DoNotOptimize(++*lease);
    }
}

// Not a contender: what one read of the clock costs here, to explain the gap between acquire() and try_acquire().
void reference_steady_clock_now(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(std::chrono::steady_clock::now());
}

#if RESPOOL_BENCH_HAS_POCO
void poco_object_pool(benchmark::State& state) {
    Poco::ObjectPool<int> pool(slot_count, slot_count);
    pool.returnObject(pool.borrowObject()); // created before the loop, as respool's is
    for (auto _ : state) {
        int* object = pool.borrowObject();
        benchmark::DoNotOptimize(++*object);
        pool.returnObject(object);
    }
}
#endif

#if RESPOOL_BENCH_HAS_SOCI
void soci_lease(benchmark::State& state) {
    soci::connection_pool pool(slot_count);
    for (auto _ : state) {
        const std::size_t position = pool.lease();
        benchmark::DoNotOptimize(&pool.at(position));
        pool.give_back(position);
    }
}
#endif

const std::string prefix = "checkout_return/";
const std::string floor_name = prefix + "floor_cas_store";

void register_all() {
    benchmark::RegisterBenchmark(floor_name.c_str(), slot_baseline<FlagSlots>);
    benchmark::RegisterBenchmark((prefix + "treiber_stack").c_str(), slot_baseline<TreiberSlots>);
    benchmark::RegisterBenchmark((prefix + "mutex_list").c_str(), slot_baseline<MutexSlots>);
    benchmark::RegisterBenchmark((prefix + "respool_lifo").c_str(), respool_acquire, respool::CheckoutOrder::lifo);
    benchmark::RegisterBenchmark((prefix + "respool_fifo").c_str(), respool_acquire, respool::CheckoutOrder::fifo);
    benchmark::RegisterBenchmark((prefix + "respool_lifo_try_acquire").c_str(), respool_try_acquire);
    benchmark::RegisterBenchmark((prefix + "reference_steady_clock_now").c_str(), reference_steady_clock_now);
#if RESPOOL_BENCH_HAS_POCO
    benchmark::RegisterBenchmark((prefix + "poco_object_pool").c_str(), poco_object_pool);
#endif
#if RESPOOL_BENCH_HAS_SOCI
    benchmark::RegisterBenchmark((prefix + "soci_lease").c_str(), soci_lease);
#endif
}

void summary(const respool_bench::Collected& c, std::ostream& out) {
    const double floor_ns = c.median_time(floor_name);
    const double mutex_ns = c.median_time(prefix + "mutex_list");
    out << std::fixed << std::setprecision(2);
    for (const auto& entry : c.real_ns) {
        const std::string& name = entry.first;
        const double ns = c.median_time(name);
        out << "  " << std::left << std::setw(44) << name << std::right << std::setw(8) << ns << " ns  "
            << std::setw(6) << ns / floor_ns << "x floor  " << std::setw(6) << ns / mutex_ns
            << "x mutex_list  (" << c.repetitions(name) << " reps)\n";
    }
    for (const char* variant : {"respool_lifo", "respool_fifo", "respool_lifo_try_acquire"}) {
        const double ns = c.median_time(prefix + variant);
        if (ns != ns || floor_ns != floor_ns || mutex_ns != mutex_ns) continue; // it or a baseline filtered out
        out << "  target " << variant << " <= 3x floor: " << respool_bench::verdict(ns <= 3 * floor_ns)
            << "; faster than mutex_list: " << respool_bench::verdict(ns < mutex_ns) << "\n";
    }
    const double respool_ns = c.median_time(prefix + "respool_lifo");
    for (const char* other : {"poco_object_pool", "soci_lease"}) {
        const double ns = c.median_time(prefix + other);
        if (ns != ns || respool_ns != respool_ns) continue; // not built, or filtered out
        out << "  respool_lifo against " << other << ": " << ns / respool_ns << "x faster\n";
    }
}

} // namespace

int main(int argc, char** argv) {
    register_all();
    return respool_bench::run_main(argc, argv, summary);
}
