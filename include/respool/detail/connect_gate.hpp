#pragma once
#ifndef RESPOOL_DETAIL_CONNECT_GATE_HPP_INCLUDED
#define RESPOOL_DETAIL_CONNECT_GATE_HPP_INCLUDED
// PoolOptions::max_connecting: at most that many create() calls at once. A mutex and a condition variable rather than
// std::counting_semaphore: the gate is taken only around create(), far from the checkout fast path, and it must never
// lose a wake-up (libstdc++ 12's counting_semaphore can leave a waiter asleep while a turn is free, GCC PR 104928).
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>

namespace respool::detail {

class ConnectGate {
public:
    explicit ConnectGate(std::size_t turns) : free_(turns) {}
    ConnectGate(const ConnectGate&) = delete;
    ConnectGate& operator=(const ConnectGate&) = delete;

    // Takes a turn, waiting until one is free or `deadline` passes (false then). TimePoint::max() waits as long as
    // it takes.
    bool acquire_until(std::chrono::steady_clock::time_point deadline) {
        std::unique_lock lock(mutex_);
        auto turn_free = [this] { return free_ > 0; };
        if (deadline == std::chrono::steady_clock::time_point::max())
            freed_.wait(lock, turn_free);
        else if (!freed_.wait_until(lock, deadline, turn_free))
            return false;
        --free_;
        return true;
    }

    // Gives a turn back and wakes one waiter. Never throws.
    void release() noexcept {
        {
            std::lock_guard lock(mutex_);
            ++free_;
        }
        freed_.notify_one();
    }

private:
    std::mutex mutex_;
    std::condition_variable freed_;
    std::size_t free_;
};

} // namespace respool::detail
#endif // RESPOOL_DETAIL_CONNECT_GATE_HPP_INCLUDED
