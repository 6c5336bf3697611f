// respool::detail::IndexQueue alone: FIFO order across wrap-around, flags that refuse pushes and pops,
// take_all_and_set and pop_settled, and bounded, seeded multi-threaded stress checking that no index is ever held by
// two threads and none is lost or duplicated.
#define BOOST_TEST_MODULE index_queue
#include <boost/test/unit_test.hpp>

#include <respool/respool.hpp>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <random>
#include <thread>
#include <vector>

using respool::detail::IndexQueue;

namespace {

std::uint64_t seed_from_env() {
    if (const char* s = std::getenv("RESPOOL_TEST_SEED")) return std::strtoull(s, nullptr, 10);
    return std::random_device{}();
}

std::vector<std::uint32_t> drain(IndexQueue& queue) {
    std::vector<std::uint32_t> out;
    for (std::uint32_t i = queue.pop(); i != IndexQueue::nil; i = queue.pop()) out.push_back(i);
    return out;
}

bool each_exactly_once(const std::vector<std::uint32_t>& seen, std::uint32_t n) {
    std::vector<int> count(n, 0);
    for (const std::uint32_t i : seen) {
        if (i >= n) return false;
        ++count[i];
    }
    for (const int c : count)
        if (c != 1) return false;
    return seen.size() == n;
}

constexpr std::uint32_t flag_a = 1;
constexpr std::uint32_t flag_b = 2;
constexpr std::uint32_t flag_c = 4;

} // namespace

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

namespace {

// Threads dequeue an index, mark it owned (it must not be owned already), hold it briefly, sometimes hold two, and
// enqueue it back. With as many indices as cells, every cell is reused on every lap.
void exclusive_ownership_stress(std::uint32_t indices, int threads, int iterations) {
    const std::uint64_t seed = seed_from_env();
    BOOST_TEST_MESSAGE("seed " << seed << " (set RESPOOL_TEST_SEED to repeat); " << indices << " indices, "
                               << threads << " threads");
    IndexQueue queue(indices);
    for (std::uint32_t i = 0; i < indices; ++i) queue.push(i);
    auto owner = std::make_unique<std::atomic<int>[]>(indices);
    std::atomic<long> double_holds{0}, bad_indices{0}, pops{0};

    auto worker = [&](std::uint64_t thread_seed) {
        std::mt19937_64 rng(thread_seed);
        std::uint32_t held[2];
        for (int it = 0; it < iterations; ++it) {
            const int want = rng() % 4 == 0 ? 2 : 1;
            int got = 0;
            for (int tries = 0; got < want && tries < 4; ++tries) {
                const std::uint32_t i = queue.pop();
                if (i == IndexQueue::nil) {
                    std::this_thread::yield();
                    continue;
                }
                if (i >= indices) {
                    bad_indices.fetch_add(1, std::memory_order_relaxed);
                    continue;
                }
                // acq_rel: the previous owner's release hands the index over; a second owner sees 1 here.
                if (owner[i].exchange(1, std::memory_order_acq_rel) != 0) double_holds.fetch_add(1);
                held[got++] = i;
                pops.fetch_add(1, std::memory_order_relaxed);
            }
            if (rng() % 8 == 0) std::this_thread::yield();
            for (int k = 0; k < got; ++k) {
                owner[held[k]].store(0, std::memory_order_release); // release: pairs with the next owner's exchange
                queue.push(held[k]);
            }
        }
    };
    {
        std::vector<std::jthread> workers;
        for (int t = 0; t < threads; ++t) workers.emplace_back(worker, seed + std::uint64_t(t));
    }
    BOOST_TEST_MESSAGE("pops " << pops.load());
    BOOST_TEST(double_holds.load() == 0);
    BOOST_TEST(bad_indices.load() == 0);
    BOOST_TEST(pops.load() > 0);
    BOOST_TEST(each_exactly_once(drain(queue), indices));
}

} // namespace

BOOST_AUTO_TEST_CASE(eight_threads_on_sixteen_indices_never_hold_one_twice_and_lose_none) {
    exclusive_ownership_stress(16, 8, 20'000);
}

BOOST_AUTO_TEST_CASE(eight_threads_on_three_indices_never_hold_one_twice_and_lose_none) {
    exclusive_ownership_stress(3, 8, 20'000); // four cells for three indices
}

// An enqueue must not find the ring full while a dequeuer of the previous lap sits between its claim and its
// release: with two indices in two cells, one thread holds its claim while another cycles the other index.
BOOST_AUTO_TEST_CASE(two_indices_in_two_cells_with_two_threads_cycling) {
    exclusive_ownership_stress(2, 2, 50'000);
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
                    pops.fetch_add(1, std::memory_order_relaxed);
                    queue.push(i);
                }
            });
        }
    }
    BOOST_TEST(pops.load() > 0);
    BOOST_TEST(each_exactly_once(drain(queue), indices));
}

// A closer raises a flag and drains while pushers push with that flag refusing: every index ends up either taken by
// the closer or kept by a pusher whose push was refused, exactly once (the pool's close() relies on this).
BOOST_AUTO_TEST_CASE(take_all_and_set_racing_refusable_pushes_loses_and_duplicates_nothing) {
    const std::uint64_t seed = seed_from_env();
    BOOST_TEST_MESSAGE("seed " << seed);
    constexpr std::uint32_t indices = 32;
    constexpr int threads = 6;
    constexpr int rounds = 60;
    std::mt19937_64 rng(seed);
    long refused_total = 0;
    for (int round = 0; round < rounds; ++round) {
        IndexQueue queue(indices);
        for (std::uint32_t i = 0; i < indices; ++i) queue.push(i);
        std::vector<std::vector<std::uint32_t>> kept(threads);
        std::vector<std::uint32_t> taken;
        std::atomic<bool> go{false};
        const int close_after = int(rng() % 16);
        {
            std::vector<std::jthread> workers;
            for (int t = 0; t < threads; ++t) {
                workers.emplace_back([&, t] {
                    while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
                    for (;;) {
                        const std::uint32_t i = queue.pop();
                        if (i == IndexQueue::nil) {
                            if (queue.flags() & flag_c) return;
                            std::this_thread::yield();
                            continue;
                        }
                        if (queue.push(i, flag_c) == IndexQueue::Push::refused) {
                            kept[std::size_t(t)].push_back(i);
                            return;
                        }
                    }
                });
            }
            go.store(true, std::memory_order_release);
            for (int spin = 0; spin < close_after; ++spin) std::this_thread::yield();
            queue.take_all_and_set(flag_c, [&](std::uint32_t i) { taken.push_back(i); });
        }
        // Workers may still have popped after the drain ended and found the door shut: they kept those. Anything a
        // worker popped and could not push is in `kept`; nothing else may remain in the queue.
        std::vector<std::uint32_t> all = taken;
        for (const auto& k : kept) {
            all.insert(all.end(), k.begin(), k.end());
            refused_total += long(k.size());
        }
        const auto rest = drain(queue);
        BOOST_TEST_REQUIRE(rest.empty(), "round " << round << ": " << rest.size() << " left after the drain");
        BOOST_TEST_REQUIRE(each_exactly_once(all, indices), "round " << round);
    }
    BOOST_TEST_MESSAGE("pushes refused by the flag: " << refused_total);
}

// Dekker with the flag: one thread raises a flag and then pop_settled(); another pushes with that flag refusing. A
// push that was not refused is found, even when its publication is still in flight.
BOOST_AUTO_TEST_CASE(a_push_not_refused_is_seen_by_pop_settled_after_the_flag_raise) {
    const std::uint64_t seed = seed_from_env();
    BOOST_TEST_MESSAGE("seed " << seed);
    std::mt19937_64 rng(seed);
    long missed = 0, pushed_count = 0;
    for (int round = 0; round < 400; ++round) {
        IndexQueue queue(1);
        IndexQueue::Push result = IndexQueue::Push::refused;
        std::uint32_t found = IndexQueue::nil;
        std::atomic<int> ready{0};
        const int delay_push = int(rng() % 4);
        const int delay_raise = int(rng() % 4);
        {
            std::jthread pusher([&] {
                ready.fetch_add(1);
                while (ready.load() < 2) {
                }
                for (int i = 0; i < delay_push; ++i) std::this_thread::yield();
                result = queue.push(0, flag_a);
            });
            std::jthread waiter([&] {
                ready.fetch_add(1);
                while (ready.load() < 2) {
                }
                for (int i = 0; i < delay_raise; ++i) std::this_thread::yield();
                queue.set_flags(flag_a);
                found = queue.pop_settled();
            });
        }
        if (result == IndexQueue::Push::pushed) {
            ++pushed_count;
            if (found != 0u) ++missed;
        } else if (found != IndexQueue::nil) {
            ++missed;
        }
    }
    BOOST_TEST_MESSAGE("rounds where the push won: " << pushed_count);
    BOOST_TEST(missed == 0);
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
                    if (owner[i].exchange(1, std::memory_order_acq_rel) != 0) double_holds.fetch_add(1);
                    if (rng() % 8 == 0) std::this_thread::yield();
                    owner[i].store(0, std::memory_order_release);
                    queue.push(i);
                }
            });
        }
    }
    BOOST_TEST(double_holds.load() == 0);
    BOOST_TEST(each_exactly_once(drain(queue), indices));
}
