#pragma once
// What the tests of respool::detail::IndexStack and IndexQueue share: the helpers, and the seeded, bounded
// multi-threaded stress harnesses that check that no index is ever held by two threads and none is lost or
// duplicated. Each test file keeps its own test cases and calls these with its container type.
#include <boost/test/unit_test.hpp>

#include <respool/respool.hpp>

#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <random>
#include <thread>
#include <type_traits>
#include <vector>

#include "test_seed.hpp"

namespace respool_test {

// The interface IndexStack and IndexQueue have in common, which is all the shared code below uses.
template <class Set>
concept IndexSet = requires(Set set, std::uint32_t index, std::uint32_t flags, void (*on_each)(std::uint32_t)) {
    { Set::nil } -> std::convertible_to<std::uint32_t>;
    { set.push(index, flags) } -> std::same_as<typename Set::Push>;
    { set.pop(flags) } -> std::same_as<std::uint32_t>;
    { set.flags() } -> std::same_as<std::uint32_t>;
    set.set_flags(flags);
    set.take_all_and_set(flags, on_each);
};

// Whether pop() returns the index pushed last (a stack) rather than the one pushed first (a queue).
template <IndexSet Set>
inline constexpr bool pops_newest_first = std::is_same_v<Set, respool::detail::IndexStack>;

inline constexpr std::uint32_t flag_a = 1;
inline constexpr std::uint32_t flag_b = 2;
inline constexpr std::uint32_t flag_c = 4;

// Pops until the set is empty, in the order the set hands the indices out.
template <IndexSet Set>
std::vector<std::uint32_t> drain(Set& set) {
    std::vector<std::uint32_t> out;
    for (std::uint32_t i = set.pop(); i != Set::nil; i = set.pop()) out.push_back(i);
    return out;
}

// Every index of [0, n) appears exactly once in `seen`.
inline bool each_exactly_once(const std::vector<std::uint32_t>& seen, std::uint32_t n) {
    std::vector<int> count(n, 0);
    for (const std::uint32_t i : seen) {
        if (i >= n) return false;
        ++count[i];
    }
    for (const int c : count)
        if (c != 1) return false;
    return seen.size() == n;
}

// Threads pop an index, mark it owned (it must not be owned already), hold it briefly, sometimes hold two, and push
// them back. In a stack, few indices and many threads make ABA on the head as likely as it gets; in a queue with as
// many indices as cells, every cell is reused on every lap.
template <IndexSet Set>
void exclusive_ownership_stress(std::uint32_t indices, int threads, int iterations) {
    const std::uint64_t seed = seed_from_env();
    BOOST_TEST_MESSAGE("seed " << seed << " (set RESPOOL_TEST_SEED to repeat); " << indices << " indices, "
                               << threads << " threads");
    Set set(indices);
    for (std::uint32_t i = 0; i < indices; ++i) set.push(i);
    auto owner = std::make_unique<std::atomic<int>[]>(indices);
    std::atomic<long> double_holds{0}, bad_indices{0}, pops{0};

    auto worker = [&](std::uint64_t thread_seed) {
        std::mt19937_64 rng(thread_seed);
        std::uint32_t held[2];
        for (int it = 0; it < iterations; ++it) {
            const int want = rng() % 4 == 0 ? 2 : 1;
            int got = 0;
            for (int tries = 0; got < want && tries < 4; ++tries) {
                const std::uint32_t i = set.pop();
                if (i == Set::nil) {
                    std::this_thread::yield();
                    continue;
                }
                if (i >= indices) {
                    bad_indices.fetch_add(1, std::memory_order_relaxed); // relaxed: a count, read after the join
                    continue;
                }
                // acq_rel: the previous owner's release hands the index over; a second owner sees 1 here.
                if (owner[i].exchange(1, std::memory_order_acq_rel) != 0)
                    double_holds.fetch_add(1, std::memory_order_relaxed); // relaxed: a count, read after the join
                held[got++] = i;
                pops.fetch_add(1, std::memory_order_relaxed); // relaxed: a count, read after the join
            }
            if (rng() % 8 == 0) std::this_thread::yield();
            const auto give_back = [&](std::uint32_t i) {
                owner[i].store(0, std::memory_order_release); // release: pairs with the next owner's exchange
                set.push(i);
            };
            // Held indices go back so that the set keeps its order: into a stack in the reverse of their popping,
            // into a queue in the same order.
            if constexpr (pops_newest_first<Set>)
                for (int k = got; k-- > 0;) give_back(held[k]);
            else
                for (int k = 0; k < got; ++k) give_back(held[k]);
        }
    };
    {
        std::vector<std::jthread> workers;
        for (int t = 0; t < threads; ++t) workers.emplace_back(worker, seed + std::uint64_t(t));
    }
    // relaxed, here and below: the joins ordered the workers' counts before these loads.
    BOOST_TEST_MESSAGE("pops " << pops.load(std::memory_order_relaxed));
    BOOST_TEST(double_holds.load(std::memory_order_relaxed) == 0);
    BOOST_TEST(bad_indices.load(std::memory_order_relaxed) == 0);
    BOOST_TEST(pops.load(std::memory_order_relaxed) > 0);
    BOOST_TEST(each_exactly_once(drain(set), indices));
}

// A closer raises a flag and takes everything while pushers pop (with `pushers_pop_refusing` as their refusing flags)
// and push back with that flag refusing: every index ends up either taken by the closer or kept by a pusher whose
// push was refused, exactly once (the pool's close() relies on this). After each round, check_left_behind(set, round)
// checks what the set still holds, before every index is counted.
template <IndexSet Set, class CheckLeftBehind>
void take_all_racing_refusable_pushes_stress(std::uint32_t pushers_pop_refusing, CheckLeftBehind check_left_behind) {
    const std::uint64_t seed = seed_from_env();
    BOOST_TEST_MESSAGE("seed " << seed);
    constexpr std::uint32_t indices = 32;
    constexpr int threads = 6;
    constexpr int rounds = 60;
    std::mt19937_64 rng(seed);
    long refused_total = 0;
    for (int round = 0; round < rounds; ++round) {
        Set set(indices);
        for (std::uint32_t i = 0; i < indices; ++i) set.push(i);
        std::vector<std::vector<std::uint32_t>> kept(threads);
        std::vector<std::uint32_t> taken;
        std::atomic<bool> go{false};
        const int close_after = int(rng() % 16);
        {
            std::vector<std::jthread> workers;
            for (int t = 0; t < threads; ++t) {
                workers.emplace_back([&, t] {
                    // acquire: pairs with the release of `go` below; a start line, the set was filled before.
                    while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
                    for (;;) {
                        const std::uint32_t i = set.pop(pushers_pop_refusing);
                        if (i == Set::nil) {
                            if (set.flags() & flag_c) return;
                            std::this_thread::yield();
                            continue;
                        }
                        if (set.push(i, flag_c) == Set::Push::refused) {
                            kept[std::size_t(t)].push_back(i);
                            return;
                        }
                    }
                });
            }
            go.store(true, std::memory_order_release); // release: pairs with the pushers' acquire of `go`
            for (int spin = 0; spin < close_after; ++spin) std::this_thread::yield();
            set.take_all_and_set(flag_c, [&](std::uint32_t i) { taken.push_back(i); });
        }
        std::vector<std::uint32_t> all = taken;
        for (const auto& k : kept) {
            all.insert(all.end(), k.begin(), k.end());
            refused_total += long(k.size());
        }
        check_left_behind(set, round);
        BOOST_TEST_REQUIRE(each_exactly_once(all, indices), "round " << round);
    }
    BOOST_TEST_MESSAGE("pushes refused by the flag: " << refused_total);
}

// Dekker with the flag: one thread raises a flag and then calls pop_after_raise(set); another pushes with that flag
// refusing. Whatever the interleaving, a push that was not refused is found, and a refused one leaves nothing to find.
template <IndexSet Set, class PopAfterRaise>
void flag_raise_racing_a_push_stress(PopAfterRaise pop_after_raise) {
    const std::uint64_t seed = seed_from_env();
    BOOST_TEST_MESSAGE("seed " << seed);
    std::mt19937_64 rng(seed);
    long missed = 0, pushed_count = 0;
    for (int round = 0; round < 400; ++round) {
        Set set(1);
        typename Set::Push result = Set::Push::refused;
        std::uint32_t found = Set::nil;
        std::atomic<int> ready{0};
        // Both threads leave together, then each yields its own random number of times.
        const auto start_together = [&ready](int yields) {
            // relaxed: a start line only; it publishes nothing, so it adds no ordering that the set itself must
            // provide, and the joins order `result` and `found` before they are read.
            ready.fetch_add(1, std::memory_order_relaxed);
            while (ready.load(std::memory_order_relaxed) < 2) {
            }
            for (int i = 0; i < yields; ++i) std::this_thread::yield();
        };
        const int delay_push = int(rng() % 4);
        const int delay_raise = int(rng() % 4);
        {
            std::jthread pusher([&] {
                start_together(delay_push);
                result = set.push(0, flag_a);
            });
            std::jthread waiter([&] {
                start_together(delay_raise);
                set.set_flags(flag_a);
                found = pop_after_raise(set);
            });
        }
        if (result == Set::Push::pushed) {
            ++pushed_count;
            if (found != 0u) ++missed;
        } else if (found != Set::nil) {
            ++missed; // refused, yet something was found
        }
    }
    BOOST_TEST_MESSAGE("rounds where the push won: " << pushed_count);
    BOOST_TEST(missed == 0);
}

} // namespace respool_test
