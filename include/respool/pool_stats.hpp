#pragma once
#ifndef RESPOOL_POOL_STATS_HPP_INCLUDED
#define RESPOOL_POOL_STATS_HPP_INCLUDED
// PoolStats: a snapshot of a pool's state and running totals.
#include <cstddef>
#include <cstdint>

namespace respool {

// Counts are read one by one without stopping the pool: under concurrent use they are each accurate but may not add
// up exactly (idle + in_use == size holds for a quiet pool).
struct PoolStats {
    std::size_t size = 0;         // resources alive: idle + leased (including ones being created)
    std::size_t idle = 0;         // resources waiting in the pool
    std::size_t in_use = 0;       // resources leased out
    std::size_t waiting = 0;      // callers blocked in acquire right now
    std::uint64_t created = 0;    // resources created since the pool started
    std::uint64_t destroyed = 0;  // resources destroyed since the pool started
    std::uint64_t timeouts = 0;   // acquires that timed out
    std::uint64_t create_failures = 0;     // creations that threw (create(), or moving its result in)
    std::uint64_t validation_failures = 0; // checkouts whose validate() said false or threw
    std::uint64_t recycled = 0;            // resources destroyed for age (recycle)
    std::uint64_t waits = 0;               // acquires that had to wait for a resource
    std::uint64_t detached = 0;            // resources taken out of the pool by Lease::detach()
};

} // namespace respool
#endif // RESPOOL_POOL_STATS_HPP_INCLUDED
