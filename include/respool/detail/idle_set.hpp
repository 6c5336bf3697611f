#pragma once
#ifndef RESPOOL_DETAIL_IDLE_SET_HPP_INCLUDED
#define RESPOOL_DETAIL_IDLE_SET_HPP_INCLUDED
// The set of idle slots, in the checkout order chosen at construction: a LIFO stack or a FIFO ring. Both carry the
// pool's state flags in the word their push claims with, so a return learns atomically whether waiters exist or the
// pool closed (see IndexStack and IndexQueue).
#include <cstdint>
#include <memory>

#include "../pool_options.hpp"
#include "index_queue.hpp"
#include "index_stack.hpp"

namespace respool::detail {

// Flags kept in the idle set's head word.
inline constexpr std::uint32_t waiters_flag = 1;  // a caller sleeps in acquire: returns go through the waiter lock
inline constexpr std::uint32_t starving_flag = 2; // a waiter waited past handoff_after: newcomers queue behind it
inline constexpr std::uint32_t closed_flag = 4;   // close() ran: nothing goes in again

class IdleSet {
public:
    static constexpr std::uint32_t nil = 0xFFFF'FFFFu;

    IdleSet(CheckoutOrder order, std::uint32_t capacity) {
        if (order == CheckoutOrder::fifo)
            queue_ = std::make_unique<IndexQueue>(capacity);
        else
            stack_ = std::make_unique<IndexStack>(capacity);
    }

    // true when pushed; false when one of `refusing_flags` was set, and nothing changed.
    bool push(std::uint32_t slot, std::uint32_t refusing_flags) noexcept {
        if (stack_) return stack_->push(slot, refusing_flags) == IndexStack::Push::pushed;
        return queue_->push(slot, refusing_flags) == IndexQueue::Push::pushed;
    }

    // An idle slot, or nil when there is none or one of `refusing_flags` is set.
    std::uint32_t pop(std::uint32_t refusing_flags) noexcept {
        if (stack_) {
            const std::uint32_t slot = stack_->pop(refusing_flags);
            return slot == IndexStack::nil ? nil : slot;
        }
        return queue_->pop(refusing_flags);
    }

    // Like pop(), but never misses a slot whose push has claimed its place and is still publishing it. For callers
    // that just raised a flag and must see every push that was not refused by it.
    std::uint32_t pop_settled(std::uint32_t refusing_flags) noexcept {
        if (stack_) return pop(refusing_flags);
        if (queue_->flags() & refusing_flags) return nil;
        return queue_->pop_settled();
    }

    template <class Fn>
    void take_all_and_set(std::uint32_t flags, Fn&& on_each) noexcept {
        if (stack_)
            stack_->take_all_and_set(flags, on_each);
        else
            queue_->take_all_and_set(flags, on_each);
    }

    // Whether an idle slot may be there: a hint for a spinning waiter.
    bool maybe_nonempty() const noexcept { return stack_ ? !stack_->empty() : queue_->maybe_nonempty(); }

    void set_flags(std::uint32_t flags) noexcept { stack_ ? stack_->set_flags(flags) : queue_->set_flags(flags); }
    void clear_flags(std::uint32_t flags) noexcept {
        stack_ ? stack_->clear_flags(flags) : queue_->clear_flags(flags);
    }
    std::uint32_t flags() const noexcept { return stack_ ? stack_->flags() : queue_->flags(); }
    std::uint32_t flags_hint() const noexcept { return stack_ ? stack_->flags_hint() : queue_->flags_hint(); }

private:
    std::unique_ptr<IndexStack> stack_;
    std::unique_ptr<IndexQueue> queue_;
};

} // namespace respool::detail
#endif // RESPOOL_DETAIL_IDLE_SET_HPP_INCLUDED
