#pragma once
#ifndef RESPOOL_DETAIL_FORK_GENERATION_HPP_INCLUDED
#define RESPOOL_DETAIL_FORK_GENERATION_HPP_INCLUDED
// Counts the fork()s this process has been the child of, so that a pool can tell, with one load, that it now runs in
// a child that must not use (or close) what it inherited from its parent.
#include <atomic>
#include <cstdint>

#include <pthread.h>

namespace respool::detail {

// Constant-initialised: reading it costs one load, with no initialisation guard.
inline std::atomic<std::uint64_t> fork_generation_counter{0};

inline std::uint64_t fork_generation() noexcept {
    // relaxed: the child's only thread bumped it before fork() returned there; nothing else is published through it.
    return fork_generation_counter.load(std::memory_order_relaxed);
}

// Registers the child-side fork handler once per process; returns the current generation.
inline std::uint64_t watch_forks() noexcept {
    static const bool registered = [] {
        ::pthread_atfork(nullptr, nullptr, [] {
            fork_generation_counter.fetch_add(1, std::memory_order_relaxed); // relaxed: see fork_generation()
        });
        return true;
    }();
    (void)registered;
    return fork_generation();
}

} // namespace respool::detail
#endif // RESPOOL_DETAIL_FORK_GENERATION_HPP_INCLUDED
