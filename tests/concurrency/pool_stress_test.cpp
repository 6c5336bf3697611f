// Bounded, seeded stress of respool::Pool: many threads acquiring and returning with random invalidations, failed
// validations, throwing factories, timeouts and cancellations. Checked: no resource is ever held by two threads, never
// more than pool_size + max_overflow exist, and everything created is destroyed once the pool is closed.
#define BOOST_TEST_MODULE pool_stress
#include <boost/test/unit_test.hpp>

#include <respool/respool.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <optional>
#include <random>
#include <stop_token>
#include <system_error>
#include <thread>
#include <vector>

#include "fake_resource.hpp"
#include "test_seed.hpp"

using namespace std::chrono_literals;
using respool_test::CreateFailed;
using respool_test::Fake;
using respool_test::FakeFactory;
using respool_test::FakeValidator;
using respool_test::seed_from_env;

namespace {

using StressPool = respool::Pool<Fake, FakeFactory, FakeValidator>;

struct Outcome {
    std::atomic<long> acquired{0}, timeouts{0}, create_errors{0}, cancelled{0}, closed{0};
    std::atomic<long> shared_holds{0}; // Boost.Test assertions are not thread-safe: workers count, the test checks
};

// One worker: `iterations` checkouts, each followed by a random action, or until the pool closes.
// `hold_up_to`: besides the checkout of each iteration, the worker keeps up to this many leases held across
// iterations (taken and given back at random), so that a large pool's resources spread over many slots.
void work(StressPool& pool, respool_test::Script& script, std::uint64_t seed, int iterations, Outcome& out,
          std::stop_token stop, std::size_t hold_up_to) {
    std::mt19937_64 rng(seed);
    auto chance = [&](int percent) { return int(rng() % 100) < percent; };
    std::vector<StressPool::Lease> held;
    for (int i = 0; i < iterations; ++i) {
        if (held.size() < hold_up_to && chance(30)) {
            std::error_code ec;
            if (StressPool::Lease extra = pool.try_acquire(ec)) {
                if (extra->holders->fetch_add(1) != 0) out.shared_holds.fetch_add(1);
                held.push_back(std::move(extra));
            }
        }
        if (!held.empty() && chance(30)) {
            const std::size_t k = rng() % held.size();
            if (held[k]->holders->fetch_sub(1) != 1) out.shared_holds.fetch_add(1);
            held.erase(held.begin() + static_cast<std::ptrdiff_t>(k));
        }
        if (chance(2)) script.fail_next_creates.fetch_add(1);
        if (chance(3)) script.fail_next_validates.fetch_add(1);
        if (chance(1)) script.throw_next_validates.fetch_add(1);
        if (chance(2)) script.fail_next_resets.fetch_add(1);
        StressPool::Lease lease;
        try {
            switch (rng() % 4) {
            case 0: lease = pool.try_acquire(); break;
            case 1: lease = pool.acquire_for(std::chrono::milliseconds(rng() % 3)); break;
            case 2: lease = pool.acquire(stop); break;
            default: {
                std::error_code ec;
                lease = pool.acquire_for(20ms, ec);
                if (ec == respool::errc::timeout) out.timeouts.fetch_add(1);
                if (ec == respool::errc::create_failed) out.create_errors.fetch_add(1);
                if (ec == respool::errc::pool_closed) return;
            }
            }
        } catch (const respool::TimeoutError&) {
            out.timeouts.fetch_add(1);
        } catch (const CreateFailed&) {
            out.create_errors.fetch_add(1);
        } catch (const respool::CancelledError&) {
            out.cancelled.fetch_add(1);
        } catch (const respool::PoolClosedError&) {
            out.closed.fetch_add(1);
            return;
        }
        if (!lease) continue;
        out.acquired.fetch_add(1);
        // Exclusive ownership: nobody else may hold this resource right now.
        if (lease->holders->fetch_add(1) != 0) out.shared_holds.fetch_add(1);
        for (int spin = int(rng() % 64); spin > 0; --spin) std::atomic_signal_fence(std::memory_order_seq_cst);
        if (rng() % 8 == 0) std::this_thread::yield();
        if (lease->holders->fetch_sub(1) != 1) out.shared_holds.fetch_add(1);
        switch (rng() % 16) {
        case 0: lease.invalidate(); break;
        case 1: {
            // The detached resource ends here, outside the pool. Counted off first: detach() frees its room at once.
            script.alive.fetch_sub(1);
            script.destroyed.fetch_add(1);
            Fake gone = lease.detach();
            break;
        }
        case 2: pool.invalidate_all(); break;
        default: break; // the destructor returns it
        }
    }
    for (StressPool::Lease& lease : held)
        if (lease->holders->fetch_sub(1) != 1) out.shared_holds.fetch_add(1);
}

void run(respool::PoolOptions options, int threads, int iterations, bool close_midway, std::size_t hold_up_to = 0) {
    const std::uint64_t seed = seed_from_env();
    BOOST_TEST_MESSAGE("seed " << seed << " (set RESPOOL_TEST_SEED to repeat)");
    FakeFactory factory;
    auto& script = *factory.script;
    const int capacity = int(options.pool_size + options.max_overflow);
    Outcome out;
    {
        StressPool pool(options, factory, FakeValidator{factory.script});
        std::stop_source stop;
        {
            std::vector<std::jthread> workers;
            for (int t = 0; t < threads; ++t)
                workers.emplace_back(work, std::ref(pool), std::ref(script), seed + std::uint64_t(t), iterations,
                                     std::ref(out), stop.get_token(), hold_up_to);
            if (close_midway) {
                while (out.acquired.load() < iterations) std::this_thread::yield();
                stop.request_stop();
                pool.close();
            }
        }
        const auto st = pool.stats();
        BOOST_TEST(st.in_use == 0u);
        BOOST_TEST(st.waiting == 0u);
        BOOST_TEST(st.size <= std::size_t(capacity));
        pool.close();
        BOOST_TEST(pool.stats().size == 0u);
    }
    BOOST_TEST_MESSAGE("acquired " << out.acquired << ", timeouts " << out.timeouts << ", create errors "
                                   << out.create_errors << ", cancelled " << out.cancelled << ", created "
                                   << script.created << ", peak alive " << script.max_alive);
    BOOST_TEST(out.acquired.load() > 0);
    BOOST_TEST(out.shared_holds.load() == 0);
    BOOST_TEST(script.max_alive.load() <= capacity);
    BOOST_TEST(script.alive.load() == 0);
    BOOST_TEST(script.created.load() == script.destroyed.load());
}

} // namespace

BOOST_AUTO_TEST_CASE(lifo_sixteen_threads_never_share_never_exceed_never_leak) {
    run({.pool_size = 4, .max_overflow = 4, .timeout = 50ms, .pre_ping = true}, 16, 3000, false);
}

BOOST_AUTO_TEST_CASE(a_large_lifo_pool_whose_resources_spread_over_many_slots_keeps_every_invariant) {
    // More than 64 slots: a checkout that finds nothing idle looks for parked slots group by group.
    run({.pool_size = 150, .max_overflow = 20, .timeout = 50ms, .pre_ping = true}, 16, 3000, false, 12);
}

BOOST_AUTO_TEST_CASE(fifo_sixteen_threads_never_share_never_exceed_never_leak) {
    run({.pool_size = 4, .max_overflow = 4, .timeout = 50ms, .pre_ping = true, .order = respool::CheckoutOrder::fifo},
        16, 3000, false);
}

BOOST_AUTO_TEST_CASE(starvation_handoff_under_contention_keeps_every_invariant) {
    run({.pool_size = 2, .max_overflow = 0, .timeout = 50ms, .handoff_after = 0us}, 16, 2000, false);
}

BOOST_AUTO_TEST_CASE(close_while_threads_are_waiting_and_returning) {
    run({.pool_size = 3, .max_overflow = 2, .timeout = 1s, .pre_ping = true}, 16, 2000, true);
}

BOOST_AUTO_TEST_CASE(fair_queue_keeps_every_invariant) {
    run({.pool_size = 2, .max_overflow = 1, .timeout = 50ms, .pre_ping = true, .fair_queue = true}, 16, 2000, false);
}
