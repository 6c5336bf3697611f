// PoolOptions::max_connecting: respool::detail::ConnectGate alone (turns counted, never blocks), then a pool whose
// callers find no connect turn: bounded, seeded threads that acquire, invalidate and time out while creates are slow
// and sometimes fail, checking that no more than max_connecting create() calls ever run at once, that nobody is left
// waiting while a turn and room are free (every acquire without a deadline completes), and that everything created
// is destroyed after close().
#define BOOST_TEST_MODULE connect_gate
#include <boost/test/unit_test.hpp>

#include <respool/respool.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "test_seed.hpp"

using namespace std::chrono_literals;
using respool::detail::ConnectGate;
using respool_test::seed_from_env;

namespace {

struct Counters {
    std::atomic<int> creating{0};
    std::atomic<int> most_creating{0};
    std::atomic<int> created{0};
    std::atomic<int> destroyed{0};
    std::atomic<std::uint64_t> rng_state{0};
};

struct Res {
    int id = 0;
    std::atomic<int>* holders = nullptr; // leased to how many callers at once: must stay 0 or 1
};

struct SlowFactory {
    Counters* counters;
    std::vector<std::atomic<int>>* holders;
    Res create() {
        const int now = counters->creating.fetch_add(1) + 1;
        int most = counters->most_creating.load();
        while (now > most && !counters->most_creating.compare_exchange_weak(most, now)) {
        }
        std::uint64_t r = counters->rng_state.fetch_add(0x9E3779B97F4A7C15ull);
        r = (r ^ (r >> 29)) * 0xBF58476D1CE4E5B9ull;
        for (std::uint64_t i = r % 16; i > 0; --i) std::this_thread::yield(); // a connect takes a while
        counters->creating.fetch_sub(1);
        if (r % 7 == 0) throw std::runtime_error("connect failed");
        const int id = counters->created.fetch_add(1);
        return Res{id, &(*holders)[static_cast<std::size_t>(id) % holders->size()]};
    }
    void destroy(Res&) noexcept { counters->destroyed.fetch_add(1); }
};

} // namespace

BOOST_AUTO_TEST_CASE(turns_are_counted_and_never_waited_for) {
    ConnectGate gate(2);
    BOOST_TEST(gate.try_acquire());
    BOOST_TEST(gate.try_acquire());
    BOOST_TEST(!gate.try_acquire());
    gate.release();
    BOOST_TEST(gate.try_acquire());
    gate.release();
    gate.release();
    BOOST_TEST(gate.try_acquire());
    BOOST_TEST(gate.try_acquire());
    BOOST_TEST(!gate.try_acquire());
}

BOOST_AUTO_TEST_CASE(many_threads_never_create_more_than_the_turns_and_all_finish) {
    const std::uint64_t seed = seed_from_env();
    BOOST_TEST_MESSAGE("seed " << seed << " (set RESPOOL_TEST_SEED to repeat)");
    constexpr std::size_t turns = 2;
    constexpr int threads = 12;
    constexpr int rounds = 400;
    Counters counters;
    counters.rng_state = seed;
    std::vector<std::atomic<int>> holders(1024);
    using SlowPool = respool::Pool<Res, SlowFactory>;
    std::atomic<int> timeouts{0}, failures{0}, double_holders{0}, completed{0};
    {
        SlowPool pool({.pool_size = 4, .max_overflow = 2, .timeout = 30s, .max_connecting = turns},
                      SlowFactory{&counters, &holders});
        std::vector<std::thread> workers;
        for (int t = 0; t < threads; ++t)
            workers.emplace_back([&, t] {
                std::mt19937_64 rng(seed + static_cast<std::uint64_t>(t));
                for (int i = 0; i < rounds; ++i) {
                    try {
                        // Mostly no effective deadline (a caller left waiting while a turn and room are free would
                        // hang there), some short ones, some try_acquire.
                        const int kind = static_cast<int>(rng() % 8);
                        SlowPool::Lease lease = kind == 0   ? pool.try_acquire()
                                                : kind == 1 ? pool.acquire_until(std::chrono::steady_clock::now() + std::chrono::microseconds(rng() % 300))
                                                            : pool.acquire();
                        if (!lease) continue;
                        if (lease->holders->fetch_add(1) != 0) double_holders.fetch_add(1);
                        if (rng() % 4 == 0) std::this_thread::yield();
                        lease->holders->fetch_sub(1);
                        if (rng() % 5 == 0) lease.invalidate(); // forces more creates
                        completed.fetch_add(1);
                    } catch (const respool::TimeoutError&) {
                        timeouts.fetch_add(1);
                    } catch (const std::runtime_error&) {
                        failures.fetch_add(1);
                    }
                }
            });
        // Bounded: a caller stuck waiting would keep this join waiting; ctest's timeout ends the run then.
        for (auto& w : workers) w.join();
        pool.close();
    }
    BOOST_TEST_MESSAGE("completed " << completed.load() << ", timed out " << timeouts.load() << ", create failures "
                                    << failures.load() << ", most creating at once " << counters.most_creating.load());
    BOOST_TEST(double_holders.load() == 0);
    BOOST_TEST(counters.most_creating.load() <= static_cast<int>(turns));
    BOOST_TEST(counters.most_creating.load() >= 1);
    BOOST_TEST(completed.load() > 0);
    BOOST_TEST(counters.created.load() == counters.destroyed.load());
}
