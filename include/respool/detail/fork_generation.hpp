#pragma once
#ifndef RESPOOL_DETAIL_FORK_GENERATION_HPP_INCLUDED
#define RESPOOL_DETAIL_FORK_GENERATION_HPP_INCLUDED
// Counts the fork()s this process has been the child of, so that a pool can tell, with one load, that it now runs in
// a child that must not use (or close) what it inherited from its parent.
#include <atomic>
#include <cstdint>
#include <new>

#include <pthread.h>

#include "process_wide.hpp"

namespace respool::detail {

// Constant-initialised: reading it costs one load, with no initialisation guard. One per process: a shared object's
// code must see the fork even if that object made no pool itself.
RESPOOL_PROCESS_WIDE inline std::atomic<std::uint64_t> fork_generation_counter{0};

inline std::uint64_t fork_generation() noexcept {
    // relaxed: the child's only thread bumped it before fork() returned there; nothing else is published through it.
    return fork_generation_counter.load(std::memory_order_relaxed);
}

// Registers the child-side fork handler once per process; returns the current generation.
RESPOOL_PROCESS_WIDE inline std::uint64_t watch_forks() noexcept {
    static const bool registered = [] {
        ::pthread_atfork(nullptr, nullptr, [] {
            fork_generation_counter.fetch_add(1, std::memory_order_relaxed); // relaxed: see fork_generation()
        });
        return true;
    }();
    (void)registered;
    return fork_generation();
}

// A forked child gives up what it inherited of its parent's pools: their state is never freed there (freeing it
// would destroy the child's copies of the parent's resources). It stays reachable from this list, so that a leak
// checker in a child that exits normally (LeakSanitizer, valgrind) does not report it. Each entry is one small
// allocation; if even that fails, the entry is left out.
struct GivenUpInChild {
    const void* state;
    GivenUpInChild* next;
};
inline std::atomic<GivenUpInChild*> given_up_in_child{nullptr};

inline void keep_reachable_in_child(const void* state) noexcept {
    auto* entry = new (std::nothrow) GivenUpInChild{state, nullptr};
    if (entry == nullptr) return;
    // relaxed: nothing reads the list; it only has to hold the pointers.
    entry->next = given_up_in_child.load(std::memory_order_relaxed);
    while (!given_up_in_child.compare_exchange_weak(entry->next, entry, std::memory_order_relaxed)) {
    }
}

} // namespace respool::detail
#endif // RESPOOL_DETAIL_FORK_GENERATION_HPP_INCLUDED
