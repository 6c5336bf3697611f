#pragma once
#ifndef RESPOOL_DETAIL_WAITER_LIST_HPP_INCLUDED
#define RESPOOL_DETAIL_WAITER_LIST_HPP_INCLUDED
// The FIFO of callers waiting for a resource. Not lock-free: every access holds the pool's waiter mutex, and only
// callers that found nothing free ever touch it.
#include <chrono>
#include <atomic>
#include <condition_variable>
#include <cstdint>

namespace respool::detail {

struct Waiter {
    enum class Outcome : std::uint8_t {
        waiting,  // asleep or about to sleep
        notified, // a resource was returned to the idle set: try to take one (others may win it)
        granted,  // `slot` is this waiter's now (a resource, or room to create one)
        closed,   // the pool closed
    };

    std::chrono::steady_clock::time_point enqueued_at{};
    Outcome status = Outcome::waiting;
    bool cancel_requested = false;
    bool enqueued = false;
    bool is_async = false; // an asynchronous acquire: it is always granted directly, and completes by a posted task
    std::uint32_t slot = 0;
    Waiter* prev = nullptr;
    Waiter* next = nullptr;
    std::condition_variable wakeup;
    // Set (release, under the pool's lock) whenever `status` changes for it; polled (acquire) without the lock by a
    // waiter that spins a little before sleeping. Pairs with the store in PoolCore::signal().
    std::atomic<bool> signalled{false};
};

class WaiterList {
public:
    bool empty() const noexcept { return head_ == nullptr; }
    Waiter* front() const noexcept { return head_; }
    std::size_t size() const noexcept { return size_; }

    void push_back(Waiter& w) noexcept {
        w.prev = tail_;
        w.next = nullptr;
        (tail_ ? tail_->next : head_) = &w;
        tail_ = &w;
        w.enqueued = true;
        ++size_;
    }

    void remove(Waiter& w) noexcept {
        if (!w.enqueued) return;
        (w.prev ? w.prev->next : head_) = w.next;
        (w.next ? w.next->prev : tail_) = w.prev;
        w.prev = w.next = nullptr;
        w.enqueued = false;
        --size_;
    }

    template <class Fn>
    void for_each(Fn&& fn) noexcept {
        for (Waiter* w = head_; w;) {
            Waiter* next = w->next; // fn may remove w
            fn(*w);
            w = next;
        }
    }

private:
    Waiter* head_ = nullptr;
    Waiter* tail_ = nullptr;
    std::size_t size_ = 0;
};

} // namespace respool::detail
#endif // RESPOOL_DETAIL_WAITER_LIST_HPP_INCLUDED
