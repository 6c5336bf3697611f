#pragma once
#ifndef RESPOOL_DETAIL_AFFINITY_CACHE_HPP_INCLUDED
#define RESPOOL_DETAIL_AFFINITY_CACHE_HPP_INCLUDED
// The per-thread memory of the checkout fast path: for each of the last few pools this thread returned a lease to,
// the one slot it parked there, so that its next checkout of that pool takes it back with a single uncontended CAS (the
// idea of HikariCP's thread-local list). It is only a hint: the parked slot stays visible to every thread through its
// state, and any of them may steal it; the CAS on that state decides who owns it.
#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace respool::detail {

struct AffinityCache {
    static constexpr std::uint32_t none = 0xFFFF'FFFFu;

    // Which pool's slot this is: its id and its address. Ids are never reused within one shared object, and two live
    // pools never share an address; but each shared object built with hidden visibility (or loaded with
    // RTLD_LOCAL) has its own id counter and its own copy of this cache, so an entry may name a dead pool whose
    // address and id a new one repeats. The pool then also checks the slot is in range, and the CAS on the slot's
    // state keeps any such slot from two holders, as when a parked slot is stolen.
    struct Entry {
        std::uint64_t pool_id = 0;
        const void* pool = nullptr;
        std::uint32_t slot = none;
    };

    // A thread that uses several pools (a database's and a cache's, say) keeps a parked slot in each: with one entry,
    // a return to one pool would orphan the slot parked in the other, which that pool would then hand out last
    // instead of first. Four pools in turn fit; a fifth takes the place of the least recently returned to.
    static constexpr std::size_t ways = 4;
    std::array<Entry, ways> entries{}; // most recently parked in first

    // The entry of `pool`, or null. Never blocks.
    Entry* find(std::uint64_t pool_id, const void* pool) noexcept {
        for (Entry& e : entries)
            if (e.pool == pool && e.pool_id == pool_id) return &e;
        return nullptr;
    }

    // The entry of `pool`, moved first, with its slot as it was; when there is none, the last entry (the least
    // recently parked in) is taken over and emptied: its pool's slot, if still parked, is left for any checkout to
    // steal. Never blocks.
    Entry& claim(std::uint64_t pool_id, const void* pool) noexcept {
        Entry* e = find(pool_id, pool);
        if (!e) {
            e = &entries.back();
            *e = Entry{pool_id, pool, none};
        }
        const auto at = entries.begin() + (e - entries.data());
        std::rotate(entries.begin(), at, at + 1);
        return entries.front();
    }
};

inline thread_local AffinityCache affinity_cache;

// A distinct id for every pool constructed by this shared object's code.
inline std::uint64_t next_pool_id() noexcept {
    static std::atomic<std::uint64_t> next{1};
    return next.fetch_add(1, std::memory_order_relaxed); // relaxed: uniqueness only; nothing is published
}

} // namespace respool::detail
#endif // RESPOOL_DETAIL_AFFINITY_CACHE_HPP_INCLUDED
