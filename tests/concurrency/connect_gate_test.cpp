// respool::detail::ConnectGate alone (PoolOptions::max_connecting): never more holders than turns, a deadline that
// passes gives up without a turn, a released turn wakes a waiter, and bounded, seeded multi-threaded use in which
// every waiter eventually gets a turn (a lost wake-up would leave one asleep until the test's bound).
#define BOOST_TEST_MODULE connect_gate
#include <boost/test/unit_test.hpp>

#include <respool/respool.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using respool::detail::ConnectGate;
using TimePoint = std::chrono::steady_clock::time_point;

namespace {

std::uint64_t seed_from_env() {
    if (const char* s = std::getenv("RESPOOL_TEST_SEED")) return std::strtoull(s, nullptr, 10);
    return std::random_device{}();
}

} // namespace

BOOST_AUTO_TEST_CASE(turns_are_counted_and_a_passed_deadline_gives_up) {
    ConnectGate gate(2);
    BOOST_TEST(gate.acquire_until(TimePoint::max()));
    BOOST_TEST(gate.acquire_until(std::chrono::steady_clock::now()));
    BOOST_TEST(!gate.acquire_until(std::chrono::steady_clock::now())); // none free, and the deadline is now
    gate.release();
    BOOST_TEST(gate.acquire_until(std::chrono::steady_clock::now()));
    gate.release();
    gate.release();
}

BOOST_AUTO_TEST_CASE(a_released_turn_wakes_a_waiter) {
    ConnectGate gate(1);
    BOOST_REQUIRE(gate.acquire_until(TimePoint::max()));
    std::atomic<bool> got{false};
    std::thread waiter([&] {
        got = gate.acquire_until(TimePoint::max()); // waits for the release below
        gate.release();
    });
    gate.release();
    waiter.join(); // returns only if the release woke it
    BOOST_TEST(got.load());
}

BOOST_AUTO_TEST_CASE(many_threads_never_hold_more_than_the_turns_and_all_finish) {
    const std::uint64_t seed = seed_from_env();
    BOOST_TEST_MESSAGE("seed " << seed << " (set RESPOOL_TEST_SEED to repeat)");
    constexpr std::size_t turns = 2;
    constexpr int threads = 16;
    constexpr int rounds = 2000;
    ConnectGate gate(turns);
    std::atomic<int> inside{0};
    std::atomic<int> most_inside{0};
    std::atomic<int> gave_up{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
        workers.emplace_back([&, t] {
            std::mt19937_64 rng(seed + static_cast<std::uint64_t>(t));
            for (int i = 0; i < rounds; ++i) {
                // Mostly unbounded waits (where a lost wake-up would hang), some with a short deadline.
                const bool bounded = rng() % 4 == 0;
                const TimePoint deadline =
                    bounded ? std::chrono::steady_clock::now() + std::chrono::microseconds(rng() % 200) : TimePoint::max();
                if (!gate.acquire_until(deadline)) {
                    gave_up.fetch_add(1);
                    continue;
                }
                const int now_inside = inside.fetch_add(1) + 1;
                int most = most_inside.load();
                while (now_inside > most && !most_inside.compare_exchange_weak(most, now_inside)) {
                }
                if (rng() % 8 == 0) std::this_thread::yield(); // hold the turn a little
                inside.fetch_sub(1);
                gate.release();
            }
        });
    // Bounded: a worker stuck asleep would keep this join waiting; ctest's timeout ends the run then.
    for (auto& w : workers) w.join();
    BOOST_TEST_MESSAGE("most inside at once " << most_inside.load() << ", bounded waits that gave up "
                                              << gave_up.load());
    BOOST_TEST(most_inside.load() <= static_cast<int>(turns));
    BOOST_TEST(most_inside.load() >= 1);
    BOOST_TEST(gate.acquire_until(std::chrono::steady_clock::now())); // every turn came back
    BOOST_TEST(gate.acquire_until(std::chrono::steady_clock::now()));
}
