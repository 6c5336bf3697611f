// respool::detail::IndexStack alone: LIFO order, flags that refuse pushes and pops, take_all_and_set, and bounded,
// seeded multi-threaded stress checking that no index is ever held by two threads and none is lost or duplicated.
// The helpers and the stress harnesses it shares with index_queue_test are in index_set_test_support.hpp.
#define BOOST_TEST_MODULE index_stack
#include <boost/test/unit_test.hpp>

#include "index_set_test_support.hpp"

#include <respool/respool.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <thread>
#include <vector>

using respool::detail::IndexStack;
using namespace respool_test;

// ---- single-threaded semantics ------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(new_stack_is_empty_and_pop_returns_nil) {
    IndexStack stack(4);
    BOOST_TEST(stack.capacity() == 4u);
    BOOST_TEST(stack.empty());
    BOOST_TEST(stack.pop() == IndexStack::nil);
    BOOST_TEST(stack.flags() == 0u);
}

BOOST_AUTO_TEST_CASE(pops_in_lifo_order) {
    IndexStack stack(5);
    for (std::uint32_t i = 0; i < 5; ++i) BOOST_TEST((stack.push(i) == IndexStack::Push::pushed));
    BOOST_TEST(!stack.empty());
    const std::vector<std::uint32_t> expected{4, 3, 2, 1, 0};
    BOOST_TEST(drain(stack) == expected, boost::test_tools::per_element());
    BOOST_TEST(stack.empty());
}

BOOST_AUTO_TEST_CASE(interleaved_pushes_and_pops_keep_lifo_order) {
    IndexStack stack(4);
    stack.push(2);
    stack.push(0);
    BOOST_TEST(stack.pop() == 0u);
    stack.push(3);
    stack.push(1);
    BOOST_TEST(stack.pop() == 1u);
    BOOST_TEST(stack.pop() == 3u);
    stack.push(1);
    BOOST_TEST(stack.pop() == 1u);
    BOOST_TEST(stack.pop() == 2u);
    BOOST_TEST(stack.pop() == IndexStack::nil);
}

BOOST_AUTO_TEST_CASE(highest_index_of_a_large_stack_round_trips) {
    IndexStack stack(1u << 16);
    stack.push((1u << 16) - 1);
    stack.push(0);
    BOOST_TEST(stack.pop() == 0u);
    BOOST_TEST(stack.pop() == (1u << 16) - 1);
}

BOOST_AUTO_TEST_CASE(a_set_flag_refuses_pushes_that_name_it_and_changes_nothing) {
    IndexStack stack(3);
    stack.push(0);
    stack.set_flags(flag_a);
    BOOST_TEST(stack.flags() == flag_a);
    BOOST_TEST((stack.push(1, flag_a) == IndexStack::Push::refused));
    BOOST_TEST((stack.push(1, flag_a | flag_c) == IndexStack::Push::refused));
    BOOST_TEST(stack.pop() == 0u); // the refused push left the stack as it was
    BOOST_TEST(stack.pop() == IndexStack::nil);
}

BOOST_AUTO_TEST_CASE(a_set_flag_does_not_refuse_pushes_that_do_not_name_it) {
    IndexStack stack(3);
    stack.set_flags(flag_a);
    BOOST_TEST((stack.push(1, flag_b) == IndexStack::Push::pushed));
    BOOST_TEST((stack.push(2) == IndexStack::Push::pushed));
    BOOST_TEST(stack.flags() == flag_a); // pushes keep the flags
    BOOST_TEST(stack.pop(flag_b) == 2u);
    BOOST_TEST(stack.flags() == flag_a); // and so do pops
    BOOST_TEST(stack.pop() == 1u);
}

BOOST_AUTO_TEST_CASE(a_set_flag_refuses_pops_that_name_it_until_cleared) {
    IndexStack stack(3);
    stack.push(0);
    stack.push(1);
    stack.set_flags(flag_b);
    BOOST_TEST(stack.pop(flag_b) == IndexStack::nil);
    BOOST_TEST(stack.pop(flag_a | flag_b) == IndexStack::nil);
    BOOST_TEST(!stack.empty()); // a refused pop leaves the stack as it was
    stack.clear_flags(flag_b);
    BOOST_TEST(stack.flags() == 0u);
    BOOST_TEST(stack.pop(flag_b) == 1u);
    BOOST_TEST(stack.pop(flag_b) == 0u);
}

BOOST_AUTO_TEST_CASE(flags_set_and_clear_independently) {
    IndexStack stack(1);
    stack.set_flags(flag_a | flag_c);
    stack.set_flags(flag_a); // already set: no change
    BOOST_TEST(stack.flags() == (flag_a | flag_c));
    BOOST_TEST(stack.flags_hint() == (flag_a | flag_c));
    stack.clear_flags(flag_a);
    BOOST_TEST(stack.flags() == flag_c);
    stack.clear_flags(flag_b); // not set: no change
    BOOST_TEST(stack.flags() == flag_c);
    stack.set_flags(flag_b);
    BOOST_TEST(stack.flags() == (flag_b | flag_c));
}

BOOST_AUTO_TEST_CASE(take_all_and_set_drains_in_lifo_order_and_raises_the_flags) {
    IndexStack stack(4);
    for (std::uint32_t i = 0; i < 4; ++i) stack.push(i);
    stack.set_flags(flag_a);
    std::vector<std::uint32_t> taken;
    stack.take_all_and_set(flag_c, [&](std::uint32_t i) { taken.push_back(i); });
    const std::vector<std::uint32_t> expected{3, 2, 1, 0};
    BOOST_TEST(taken == expected, boost::test_tools::per_element());
    BOOST_TEST(stack.empty());
    BOOST_TEST(stack.flags() == (flag_a | flag_c)); // earlier flags kept
    BOOST_TEST((stack.push(2, flag_c) == IndexStack::Push::refused));
    BOOST_TEST(stack.empty());
}

BOOST_AUTO_TEST_CASE(take_all_and_set_on_an_empty_stack_still_raises_the_flags) {
    IndexStack stack(2);
    int calls = 0;
    stack.take_all_and_set(flag_b, [&](std::uint32_t) { ++calls; });
    BOOST_TEST(calls == 0);
    BOOST_TEST(stack.flags() == flag_b);
    BOOST_TEST((stack.push(0, flag_b) == IndexStack::Push::refused));
    BOOST_TEST((stack.push(0) == IndexStack::Push::pushed)); // a push that does not name the flag still goes in
}

BOOST_AUTO_TEST_CASE(index_taken_by_take_all_can_be_pushed_again_from_the_callback) {
    // The callback owns each index; the walk must read the link before the callback reuses the index.
    IndexStack stack(3);
    for (std::uint32_t i = 0; i < 3; ++i) stack.push(i);
    std::vector<std::uint32_t> taken;
    stack.take_all_and_set(flag_a, [&](std::uint32_t i) {
        taken.push_back(i);
        stack.push(i); // not refused: names no flag
    });
    const std::vector<std::uint32_t> expected{2, 1, 0};
    BOOST_TEST(taken == expected, boost::test_tools::per_element());
    BOOST_TEST(each_exactly_once(drain(stack), 3));
}

// ---- multi-threaded stress ----------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(eight_threads_never_hold_one_index_twice_and_lose_none) {
    exclusive_ownership_stress<IndexStack>(16, 8, 20'000);
}

BOOST_AUTO_TEST_CASE(eight_threads_on_two_indices_survive_aba_on_the_head) {
    exclusive_ownership_stress<IndexStack>(2, 8, 20'000);
}

// The pushers pop with the closing flag refusing; once the closer has taken everything, nothing may be left and the
// flag stays raised.
BOOST_AUTO_TEST_CASE(take_all_and_set_racing_refusable_pushes_loses_and_duplicates_nothing) {
    const auto empty_and_closed = [](IndexStack& stack, int) {
        BOOST_TEST(stack.empty());
        BOOST_TEST(stack.flags() == flag_c);
    };
    take_all_racing_refusable_pushes_stress<IndexStack>(/*pushers_pop_refusing=*/flag_c, empty_and_closed);
}

// A plain pop after the flag raise is enough for the stack: the flags and the head share one word.
BOOST_AUTO_TEST_CASE(a_push_not_refused_is_seen_by_a_pop_after_the_flag_raise) {
    flag_raise_racing_a_push_stress<IndexStack>([](IndexStack& stack) { return stack.pop(); });
}

// Flags toggled by one thread while others push and pop with and without refusing flags: the flags never change as
// a side effect of a push or pop, and no index is lost.
BOOST_AUTO_TEST_CASE(flag_changes_racing_pushes_and_pops_keep_flags_and_indices_intact) {
    const std::uint64_t seed = seed_from_env();
    BOOST_TEST_MESSAGE("seed " << seed);
    constexpr std::uint32_t indices = 8;
    IndexStack stack(indices);
    for (std::uint32_t i = 0; i < indices; ++i) stack.push(i);
    std::atomic<bool> stop{false};
    std::atomic<long> wrong_flags{0}, double_holds{0};
    auto owner = std::make_unique<std::atomic<int>[]>(indices);
    {
        std::vector<std::jthread> workers;
        for (int t = 0; t < 4; ++t) {
            workers.emplace_back([&, t] {
                std::mt19937_64 rng(seed + std::uint64_t(t));
                while (!stop.load(std::memory_order_relaxed)) {
                    const std::uint32_t refusing = rng() % 2 ? flag_b : 0u;
                    const std::uint32_t i = stack.pop(refusing);
                    if (i == IndexStack::nil) {
                        std::this_thread::yield();
                        continue;
                    }
                    // acq_rel: the previous owner's release hands the index over; relaxed counts, read after the join.
                    if (owner[i].exchange(1, std::memory_order_acq_rel) != 0)
                        double_holds.fetch_add(1, std::memory_order_relaxed);
                    // flag_c is never set by anyone: seeing it means a push or pop corrupted the flag bits.
                    if (stack.flags_hint() & flag_c) wrong_flags.fetch_add(1, std::memory_order_relaxed);
                    owner[i].store(0, std::memory_order_release); // release: pairs with the next owner's exchange
                    while (stack.push(i, refusing) == IndexStack::Push::refused) std::this_thread::yield();
                }
            });
        }
        std::mt19937_64 rng(seed);
        for (int k = 0; k < 4'000; ++k) {
            if (rng() % 2)
                stack.set_flags(flag_b);
            else
                stack.clear_flags(flag_b);
            if (rng() % 16 == 0) std::this_thread::yield();
        }
        stack.clear_flags(flag_b);
        stop.store(true, std::memory_order_relaxed);
    }
    // relaxed: the joins ordered the workers' counts before these loads.
    BOOST_TEST(double_holds.load(std::memory_order_relaxed) == 0);
    BOOST_TEST(wrong_flags.load(std::memory_order_relaxed) == 0);
    BOOST_TEST(stack.flags() == 0u);
    BOOST_TEST(each_exactly_once(drain(stack), indices));
}
