#pragma once
#ifndef RESPOOL_DETAIL_INDEX_STACK_HPP_INCLUDED
#define RESPOOL_DETAIL_INDEX_STACK_HPP_INCLUDED
// A lock-free LIFO of small integer indices (Treiber stack) whose head word also carries a few flag bits.
//
// Invariants
//   - Every index in [0, capacity) is in the stack at most once; the caller owns an index it popped until it pushes
//     it back. next_[i] is meaningful only while i is in the stack.
//   - The head word packs {index:24, flags:3, tag:37}. Flags change only through set_flags()/clear_flags() and
//     survive every push and pop, so a push or pop observes the flags atomically with the link it changes: a push
//     that would race with a flag being raised fails its CAS and sees the new flag.
// ABA defence
//   - The 37-bit tag is incremented by every successful push and pop. A pop that read head A and next B can only
//     succeed if no push or pop completed in between, so B is still A's successor. Wrapping the tag needs 2^37
//     operations while one thread sits between its load and its CAS.
// Memory reclamation
//   - None is needed: next_ is an array owned by the stack and lives as long as it does. A loser of the CAS may read a
//     stale next_[i]; it is an atomic, so the read is defined, and the failed CAS discards it.
// Progress
//   - Lock-free: a CAS fails only because another thread's push, pop or flag change succeeded.
#include <atomic>
#include <cassert>
#include <cstdint>
#include <memory>

namespace respool::detail {

class IndexStack {
public:
    static constexpr std::uint32_t nil = 0xFF'FFFFu;   // the "no index" value of the 24-bit index field
    static constexpr std::uint32_t max_capacity = nil; // indices 0 .. nil-1

    enum class Push { pushed, refused };

    explicit IndexStack(std::uint32_t capacity)
        : next_(std::make_unique<std::atomic<std::uint32_t>[]>(capacity)), capacity_(capacity) {
        assert(capacity <= max_capacity && "precondition: capacity fits the 24-bit index field");
        for (std::uint32_t i = 0; i < capacity; ++i)
            next_[i].store(nil, std::memory_order_relaxed); // relaxed: construction, published by the owner's ctor
    }

    IndexStack(const IndexStack&) = delete;
    IndexStack& operator=(const IndexStack&) = delete;

    std::uint32_t capacity() const noexcept { return capacity_; }

    // Pushes `index` unless one of `refusing_flags` is set, in which case nothing changes and `refused` comes back.
    Push push(std::uint32_t index, std::uint32_t refusing_flags = 0) noexcept {
        assert(index < capacity_ && "precondition: index belongs to this stack and is owned by the caller");
        // relaxed: only a starting guess for the CAS, which re-reads on failure.
        std::uint64_t head = head_.load(std::memory_order_relaxed);
        for (;;) {
            if (flags_of(head) & refusing_flags) return Push::refused;
            // relaxed: published by the release half of the CAS below.
            next_[index].store(index_of(head), std::memory_order_relaxed);
            // seq_cst (release at least): publishes next_[index] and everything the caller wrote to the resource in
            // this slot; pairs with the acquire in pop(). seq_cst because callers follow a push with a seq_cst load
            // of another word (the waiter check in Pool's slot release), a store-load pattern acq_rel cannot order.
            if (head_.compare_exchange_weak(head, pack(index, flags_of(head), tag_of(head) + 1),
                                            std::memory_order_seq_cst, std::memory_order_relaxed))
                return Push::pushed;
        }
    }

    // Pops the top index, or returns nil when empty or when one of `refusing_flags` is set.
    std::uint32_t pop(std::uint32_t refusing_flags = 0) noexcept {
        // seq_cst (acquire at least): sees next_[top] and the resource written before the push that made it top;
        // pairs with push(). seq_cst so that a waiter's flag raise on the idle set followed by this pop of the room
        // stack is ordered against a releaser's push here followed by its flag load (Dekker; a plain load on x86).
        std::uint64_t head = head_.load(std::memory_order_seq_cst);
        for (;;) {
            const std::uint32_t top = index_of(head);
            if (top == nil || (flags_of(head) & refusing_flags)) return nil;
            // relaxed: ordered after the acquire load of head; a stale value only makes the CAS below fail.
            const std::uint32_t below = next_[top].load(std::memory_order_relaxed);
            // seq_cst (acquire at least): same pairing as the load above, on success; seq_cst so that a waiter's
            // flag raise followed by a pop of the other stack is totally ordered with releasers (Dekker pattern).
            if (head_.compare_exchange_weak(head, pack(below, flags_of(head), tag_of(head) + 1),
                                            std::memory_order_seq_cst, std::memory_order_acquire))
                return top;
        }
    }

    // Takes every index at once and raises `flags` in the same step; used to close and drain.
    template <class Fn>
    void take_all_and_set(std::uint32_t flags, Fn&& on_each) noexcept {
        std::uint64_t head = head_.load(std::memory_order_relaxed); // relaxed: the CAS below re-reads
        // seq_cst (acq_rel at least): acquires every pushed resource (pairs with push()), releases the flag to later
        // pushes and pops, and takes part in the waiters' Dekker ordering like change_flags().
        while (!head_.compare_exchange_weak(head, pack(nil, flags_of(head) | flags, tag_of(head) + 1),
                                            std::memory_order_seq_cst, std::memory_order_relaxed)) {
        }
        for (std::uint32_t i = index_of(head); i != nil;) {
            const std::uint32_t below = next_[i].load(std::memory_order_relaxed); // relaxed: we own the chain now
            on_each(i);
            i = below;
        }
    }

    void set_flags(std::uint32_t flags) noexcept { change_flags(flags, 0); }
    void clear_flags(std::uint32_t flags) noexcept { change_flags(0, flags); }

    // seq_cst: a releaser loads the flags right after pushing to another stack (store-load; see push()).
    std::uint32_t flags() const noexcept { return flags_of(head_.load(std::memory_order_seq_cst)); }
    // relaxed: a hint for fast paths that act on it only through a later CAS or under the waiter lock.
    std::uint32_t flags_hint() const noexcept { return flags_of(head_.load(std::memory_order_relaxed)); }

    // acquire: a caller that then pops sees what the pusher published; pairs with push().
    bool empty() const noexcept { return index_of(head_.load(std::memory_order_acquire)) == nil; }

private:
    static constexpr unsigned flag_shift = 24;
    static constexpr unsigned tag_shift = 27;

    static constexpr std::uint32_t index_of(std::uint64_t w) noexcept { return std::uint32_t(w & nil); }
    static constexpr std::uint32_t flags_of(std::uint64_t w) noexcept { return std::uint32_t((w >> flag_shift) & 7u); }
    static constexpr std::uint64_t tag_of(std::uint64_t w) noexcept { return w >> tag_shift; }
    static constexpr std::uint64_t pack(std::uint32_t index, std::uint32_t flags, std::uint64_t tag) noexcept {
        return std::uint64_t(index) | (std::uint64_t(flags & 7u) << flag_shift) | (tag << tag_shift);
    }

    void change_flags(std::uint32_t set, std::uint32_t clear) noexcept {
        std::uint64_t head = head_.load(std::memory_order_relaxed); // relaxed: the CAS below re-reads
        for (;;) {
            const std::uint32_t flags = (flags_of(head) | set) & ~clear;
            if (flags == flags_of(head)) return;
            // seq_cst: a waiter raises its flag, then pops the other stack; the releaser pushes there, then loads
            // these flags. Both sides seq_cst, so one of them sees the other (pairs with push()/flags()).
            if (head_.compare_exchange_weak(head, pack(index_of(head), flags, tag_of(head)),
                                            std::memory_order_seq_cst, std::memory_order_relaxed))
                return;
        }
    }

    // The head is written by every checkout and return: it sits on its own cache line, away from next_.
    alignas(64) std::atomic<std::uint64_t> head_{pack(nil, 0, 0)};
    alignas(64) std::unique_ptr<std::atomic<std::uint32_t>[]> next_;
    std::uint32_t capacity_;
};

} // namespace respool::detail
#endif // RESPOOL_DETAIL_INDEX_STACK_HPP_INCLUDED
