#pragma once
#ifndef RESPOOL_DETAIL_AFFINITY_CACHE_HPP_INCLUDED
#define RESPOOL_DETAIL_AFFINITY_CACHE_HPP_INCLUDED
// The per-thread memory of the checkout fast path: the one slot this thread parked in one pool when it last returned
// a lease, so that its next checkout of that pool takes it back with a single uncontended CAS (the idea of HikariCP's
// thread-local list). It is only a hint: the parked slot stays visible to every thread through its state, and any of
// them may steal it; the CAS on that state decides who owns it.
#include <atomic>
#include <cstdint>

namespace respool::detail {

struct AffinityCache {
    static constexpr std::uint32_t none = 0xFFFF'FFFFu;
    // Which pool's slot this is: its id and its address. Ids are never reused within one shared object, and two live
    // pools never share an address; but each shared object built with hidden visibility (or loaded with
    // RTLD_LOCAL) has its own id counter and its own copy of this cache, so an entry may name a dead pool whose
    // address and id a new one repeats. The pool then also checks the slot is in range, and the CAS on the slot's
    // state keeps any such slot from two holders, as when a parked slot is stolen.
    std::uint64_t pool_id = 0;
    const void* pool = nullptr;
    std::uint32_t slot = none;
};

inline thread_local AffinityCache affinity_cache;

// A distinct id for every pool constructed by this shared object's code.
inline std::uint64_t next_pool_id() noexcept {
    static std::atomic<std::uint64_t> next{1};
    return next.fetch_add(1, std::memory_order_relaxed); // relaxed: uniqueness only; nothing is published
}

} // namespace respool::detail
#endif // RESPOOL_DETAIL_AFFINITY_CACHE_HPP_INCLUDED
