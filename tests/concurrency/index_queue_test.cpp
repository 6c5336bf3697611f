// respool::detail::IndexQueue alone: FIFO order across wrap-around, flags that refuse pushes and pops,
// take_all_and_set and pop_settled, and bounded, seeded multi-threaded stress checking that no index is ever held by
// two threads and none is lost or duplicated. The helpers and the stress harnesses it shares with index_stack_test
// are in index_set_test_support.hpp.
#define BOOST_TEST_MODULE index_queue
#include <boost/test/unit_test.hpp>

#include "index_set_test_support.hpp"

#include <respool/respool.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <thread>
#include <vector>

using respool::detail::IndexQueue;
using namespace respool_test;

// ---- single-threaded semantics ------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(new_queue_is_empty) {
    IndexQueue queue(4);
    BOOST_TEST(queue.pop() == IndexQueue::nil);
    BOOST_TEST(queue.pop_settled() == IndexQueue::nil);
    BOOST_TEST(queue.flags() == 0u);
}

BOOST_AUTO_TEST_CASE(pops_in_fifo_order) {
    IndexQueue queue(5);
    for (std::uint32_t i = 0; i < 5; ++i) BOOST_TEST((queue.push(4 - i) == IndexQueue::Push::pushed));
    const std::vector<std::uint32_t> expected{4, 3, 2, 1, 0};
    BOOST_TEST(drain(queue) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(holds_its_full_capacity_when_capacity_is_not_a_power_of_two) {
    IndexQueue queue(3);
    for (std::uint32_t i = 0; i < 3; ++i) queue.push(i);
    const std::vector<std::uint32_t> expected{0, 1, 2};
    BOOST_TEST(drain(queue) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(capacity_one_works) {
    IndexQueue queue(1);
    for (int k = 0; k < 10; ++k) {
        queue.push(0);
        BOOST_TEST(queue.pop() == 0u);
        BOOST_TEST(queue.pop() == IndexQueue::nil);
    }
}

BOOST_AUTO_TEST_CASE(fifo_order_survives_many_wrap_arounds) {
    constexpr std::uint32_t n = 8; // exactly the number of cells: every lap reuses every cell
    IndexQueue queue(n);
    for (std::uint32_t i = 0; i < n; ++i) queue.push(i);
    // Rotate: pop the oldest, push it back; the order must stay 0..n-1 round and round.
    for (std::uint32_t k = 0; k < 10 * n + 3; ++k) {
        const std::uint32_t i = queue.pop();
        BOOST_TEST_REQUIRE(i == k % n);
        queue.push(i);
    }
    std::vector<std::uint32_t> expected;
    for (std::uint32_t k = 10 * n + 3; k < 11 * n + 3; ++k) expected.push_back(k % n);
    BOOST_TEST(drain(queue) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_set_flag_refuses_pushes_that_name_it_and_changes_nothing) {
    IndexQueue queue(3);
    queue.push(0);
    queue.set_flags(flag_a);
    BOOST_TEST(queue.flags() == flag_a);
    BOOST_TEST((queue.push(1, flag_a) == IndexQueue::Push::refused));
    BOOST_TEST((queue.push(1, flag_a | flag_b) == IndexQueue::Push::refused));
    BOOST_TEST(queue.pop() == 0u);
    BOOST_TEST(queue.pop() == IndexQueue::nil);
}

BOOST_AUTO_TEST_CASE(a_set_flag_does_not_refuse_pushes_that_do_not_name_it_and_survives_them) {
    IndexQueue queue(3);
    queue.set_flags(flag_c);
    BOOST_TEST((queue.push(2, flag_a) == IndexQueue::Push::pushed));
    BOOST_TEST((queue.push(1) == IndexQueue::Push::pushed));
    BOOST_TEST(queue.flags() == flag_c);
    BOOST_TEST(queue.pop() == 2u);
    BOOST_TEST(queue.pop(flag_a) == 1u);
    BOOST_TEST(queue.flags() == flag_c);
}

BOOST_AUTO_TEST_CASE(a_set_flag_refuses_pops_that_name_it_until_cleared) {
    IndexQueue queue(2);
    queue.push(1);
    queue.set_flags(flag_b);
    BOOST_TEST(queue.pop(flag_b) == IndexQueue::nil);
    BOOST_TEST(queue.pop(flag_a | flag_b) == IndexQueue::nil);
    queue.clear_flags(flag_b);
    BOOST_TEST(queue.flags() == 0u);
    BOOST_TEST(queue.pop(flag_b) == 1u);
}

BOOST_AUTO_TEST_CASE(flags_set_and_clear_independently) {
    IndexQueue queue(1);
    queue.set_flags(flag_a | flag_c);
    queue.set_flags(flag_a);
    BOOST_TEST(queue.flags() == (flag_a | flag_c));
    BOOST_TEST(queue.flags_hint() == (flag_a | flag_c));
    queue.clear_flags(flag_a);
    BOOST_TEST(queue.flags() == flag_c);
    queue.clear_flags(flag_b);
    BOOST_TEST(queue.flags() == flag_c);
}

BOOST_AUTO_TEST_CASE(take_all_and_set_drains_in_fifo_order_and_raises_the_flags) {
    IndexQueue queue(4);
    for (std::uint32_t i = 0; i < 4; ++i) queue.push(i);
    queue.set_flags(flag_a);
    std::vector<std::uint32_t> taken;
    queue.take_all_and_set(flag_c, [&](std::uint32_t i) { taken.push_back(i); });
    const std::vector<std::uint32_t> expected{0, 1, 2, 3};
    BOOST_TEST(taken == expected, boost::test_tools::per_element());
    BOOST_TEST(queue.pop() == IndexQueue::nil);
    BOOST_TEST(queue.flags() == (flag_a | flag_c));
    BOOST_TEST((queue.push(0, flag_c) == IndexQueue::Push::refused));
}

BOOST_AUTO_TEST_CASE(take_all_and_set_on_an_empty_queue_still_raises_the_flags) {
    IndexQueue queue(2);
    int calls = 0;
    queue.take_all_and_set(flag_b, [&](std::uint32_t) { ++calls; });
    BOOST_TEST(calls == 0);
    BOOST_TEST(queue.flags() == flag_b);
    BOOST_TEST((queue.push(0, flag_b) == IndexQueue::Push::refused));
}

// ---- multi-threaded stress ----------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(eight_threads_on_sixteen_indices_never_hold_one_twice_and_lose_none) {
    exclusive_ownership_stress<IndexQueue>(16, 8, 20'000);
}

BOOST_AUTO_TEST_CASE(eight_threads_on_three_indices_never_hold_one_twice_and_lose_none) {
    exclusive_ownership_stress<IndexQueue>(3, 8, 20'000); // four cells for three indices
}

// An enqueue must not find the ring full while a dequeuer of the previous lap sits between its claim and its
// release: with two indices in two cells, one thread holds its claim while another cycles the other index.
BOOST_AUTO_TEST_CASE(two_indices_in_two_cells_with_two_threads_cycling) {
    exclusive_ownership_stress<IndexQueue>(2, 2, 50'000);
}

// Maximum turnover with as many indices as cells: each thread dequeues and at once enqueues again. A dequeuer that is
// preempted between claiming its position and releasing the cell leaves that cell busy while the others cycle round
// the ring; the enqueue that reaches the busy cell must wait for it, not take the ring for full.
BOOST_AUTO_TEST_CASE(an_enqueue_reaching_a_cell_its_dequeuer_has_not_released_waits_for_it) {
    const std::uint64_t seed = seed_from_env();
    BOOST_TEST_MESSAGE("seed " << seed);
    constexpr std::uint32_t indices = 8;
    IndexQueue queue(indices);
    for (std::uint32_t i = 0; i < indices; ++i) queue.push(i);
    std::atomic<long> pops{0};
    {
        std::vector<std::jthread> workers;
        for (int t = 0; t < 8; ++t) {
            workers.emplace_back([&] {
                for (int it = 0; it < 20'000; ++it) {
                    const std::uint32_t i = queue.pop();
                    if (i == IndexQueue::nil) continue;
                    pops.fetch_add(1, std::memory_order_relaxed); // relaxed: a count, read after the join
                    queue.push(i);
                }
            });
        }
    }
    BOOST_TEST(pops.load(std::memory_order_relaxed) > 0); // relaxed: the joins ordered the counts before
    BOOST_TEST(each_exactly_once(drain(queue), indices));
}

// The pushers pop without refusing. They may still have popped after the closer's drain ended and found the door
// shut: they kept those. Anything a pusher popped and could not push is in its kept list; nothing else may remain in
// the queue.
BOOST_AUTO_TEST_CASE(take_all_and_set_racing_refusable_pushes_loses_and_duplicates_nothing) {
    const auto nothing_left = [](IndexQueue& queue, int round) {
        const auto rest = drain(queue);
        BOOST_TEST_REQUIRE(rest.empty(), "round " << round << ": " << rest.size() << " left after the drain");
    };
    take_all_racing_refusable_pushes_stress<IndexQueue>(/*pushers_pop_refusing=*/0, nothing_left);
}

// The pop after the flag raise is pop_settled(): a push that was not refused is found even when its publication is
// still in flight.
BOOST_AUTO_TEST_CASE(a_push_not_refused_is_seen_by_pop_settled_after_the_flag_raise) {
    flag_raise_racing_a_push_stress<IndexQueue>([](IndexQueue& queue) { return queue.pop_settled(); });
}

// pop_settled() racing plain pops and pushes returns only indices nobody else holds.
BOOST_AUTO_TEST_CASE(pop_settled_racing_pops_and_pushes_never_double_hands_an_index) {
    const std::uint64_t seed = seed_from_env();
    BOOST_TEST_MESSAGE("seed " << seed);
    constexpr std::uint32_t indices = 8;
    IndexQueue queue(indices);
    for (std::uint32_t i = 0; i < indices; ++i) queue.push(i);
    auto owner = std::make_unique<std::atomic<int>[]>(indices);
    std::atomic<long> double_holds{0};
    {
        std::vector<std::jthread> workers;
        for (int t = 0; t < 6; ++t) {
            workers.emplace_back([&, t] {
                std::mt19937_64 rng(seed + std::uint64_t(t));
                for (int it = 0; it < 10'000; ++it) {
                    const std::uint32_t i = t % 2 ? queue.pop_settled() : queue.pop();
                    if (i == IndexQueue::nil) {
                        std::this_thread::yield();
                        continue;
                    }
                    // acq_rel: the previous owner's release hands the index over; relaxed count, read after the join.
                    if (owner[i].exchange(1, std::memory_order_acq_rel) != 0)
                        double_holds.fetch_add(1, std::memory_order_relaxed);
                    if (rng() % 8 == 0) std::this_thread::yield();
                    owner[i].store(0, std::memory_order_release); // release: pairs with the next owner's exchange
                    queue.push(i);
                }
            });
        }
    }
    BOOST_TEST(double_holds.load(std::memory_order_relaxed) == 0); // relaxed: the joins ordered the count before
    BOOST_TEST(each_exactly_once(drain(queue), indices));
}
