#pragma once
#ifndef RESPOOL_DETAIL_CONNECT_GATE_HPP_INCLUDED
#define RESPOOL_DETAIL_CONNECT_GATE_HPP_INCLUDED
// PoolOptions::max_connecting: at most that many create() calls at once. A turn is taken together with the room to
// create in and never waited for here: a caller that finds no turn waits in the pool's own FIFO, where a returned
// resource, a freed turn or close() reaches it like any other waiter.
#include <atomic>
#include <cstddef>

namespace respool::detail {

class ConnectGate {
public:
    explicit ConnectGate(std::size_t turns) : free_(turns) {}
    ConnectGate(const ConnectGate&) = delete;
    ConnectGate& operator=(const ConnectGate&) = delete;

    // Takes a turn if one is free. Never blocks.
    bool try_acquire() noexcept {
        std::size_t free = free_.load(std::memory_order_seq_cst);
        while (free > 0) {
            // seq_cst: a caller that finds no turn raises the pool's waiters flag and looks again; a releaser gives
            // its turn back and then reads that flag (Dekker; pairs with release() and the pool's flag raise).
            if (free_.compare_exchange_weak(free, free - 1, std::memory_order_seq_cst, std::memory_order_seq_cst))
                return true;
        }
        return false;
    }

    // Gives a turn back. The caller then wakes a waiter if the pool's waiters flag is up. Never throws.
    void release() noexcept {
        free_.fetch_add(1, std::memory_order_seq_cst); // seq_cst: see try_acquire()
    }

private:
    std::atomic<std::size_t> free_;
};

} // namespace respool::detail
#endif // RESPOOL_DETAIL_CONNECT_GATE_HPP_INCLUDED
