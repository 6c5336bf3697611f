#pragma once
#ifndef RESPOOL_DETAIL_INDEX_QUEUE_HPP_INCLUDED
#define RESPOOL_DETAIL_INDEX_QUEUE_HPP_INCLUDED
// A lock-free bounded FIFO of small integer indices (a Vyukov-style MPMC ring) whose enqueue word carries flag bits.
//
// Invariants
//   - The ring has at least as many cells as there are indices that can ever be in it at once, so an enqueue never
//     finds it full. Each cell's sequence number says whose turn it is: seq == pos means free for the enqueuer of
//     pos, seq == pos + 1 means holding the value enqueued at pos, ready for its dequeuer.
//   - The enqueue word packs {position:61, flags:3}. An enqueue claims its position with a CAS on that word, so it
//     observes the flags atomically with its claim; raising a flag closes the door to later enqueues.
// ABA defence
//   - Positions only grow (2^61 of them), and each cell's sequence number ties a value to one position.
// Memory reclamation
//   - The cells live as long as the queue; nothing is freed while in use.
// Progress
//   - Claims are lock-free, but a claim is not a completed operation: a value whose enqueuer was preempted between
//     claim and publish is invisible until it resumes (pop_settled() waits, yielding, for such values so that a waiter
//     or a closer never misses one), and an enqueue that reaches a cell whose previous-lap dequeuer was preempted
//     between claim and release waits for it, yielding. Both windows are a few instructions long.
//   - The flags refuse pushes atomically with the claim. pop() only reads them as a hint: a pop may slip past a flag
//     raised at the same moment, which the pool tolerates (a checkout racing close() or a starving waiter).
#include <atomic>
#include <cassert>
#include <cstdint>
#include <memory>
#include <thread>

namespace respool::detail {

class IndexQueue {
public:
    static constexpr std::uint32_t nil = 0xFFFF'FFFFu;
    enum class Push { pushed, refused };

    explicit IndexQueue(std::uint32_t capacity) {
        std::uint64_t cells = 2;
        while (cells < capacity) cells <<= 1;
        mask_ = cells - 1;
        cells_ = std::make_unique<Cell[]>(cells);
        for (std::uint64_t i = 0; i < cells; ++i)
            cells_[i].seq.store(i, std::memory_order_relaxed); // relaxed: construction, published by the owner's ctor
    }

    IndexQueue(const IndexQueue&) = delete;
    IndexQueue& operator=(const IndexQueue&) = delete;

    Push push(std::uint32_t index, std::uint32_t refusing_flags = 0) noexcept {
        std::uint64_t word = enqueue_.load(std::memory_order_relaxed); // relaxed: the CAS below re-reads
        for (;;) {
            if (flags_of(word) & refusing_flags) return Push::refused;
            const std::uint64_t pos = position_of(word);
            Cell& cell = cells_[pos & mask_];
            // acquire: the cell was freed by the dequeuer of pos - cells; pairs with the release in pop().
            const std::uint64_t seq = cell.seq.load(std::memory_order_acquire);
            if (seq == pos) {
                // seq_cst: claims pos atomically with the flags (see the header); pairs with change_flags().
                if (enqueue_.compare_exchange_weak(word, word + 1, std::memory_order_seq_cst,
                                                   std::memory_order_relaxed)) {
                    cell.value = index;
                    // release: publishes value and the resource in its slot; pairs with the acquire in pop().
                    cell.seq.store(pos + 1, std::memory_order_release);
                    return Push::pushed;
                }
            } else if (seq < pos) {
                // The ring is big enough for every index, so this cell's value of the previous lap was dequeued; its
                // dequeuer claimed it but has not yet handed the cell back. Wait for it (it may be preempted).
                std::this_thread::yield();
                word = enqueue_.load(std::memory_order_relaxed); // relaxed: the CAS re-reads
            } else {
                word = enqueue_.load(std::memory_order_relaxed); // relaxed: another enqueuer moved on; retry
            }
        }
    }

    // Dequeues the oldest published index, or nil when none is published or a refusing flag is set.
    std::uint32_t pop(std::uint32_t refusing_flags = 0) noexcept {
        if (refusing_flags && (flags_hint() & refusing_flags)) return nil;
        std::uint64_t pos = dequeue_.load(std::memory_order_relaxed); // relaxed: the CAS below re-reads
        for (;;) {
            Cell& cell = cells_[pos & mask_];
            // acquire: sees value and the resource; pairs with the release in push().
            const std::uint64_t seq = cell.seq.load(std::memory_order_acquire);
            if (seq == pos + 1) {
                // relaxed: the claim publishes nothing; the cell's seq carries the data.
                if (dequeue_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed,
                                                   std::memory_order_relaxed)) {
                    const std::uint32_t index = cell.value;
                    // release: hands the cell back to the enqueuer of pos + cells; pairs with push()'s acquire.
                    cell.seq.store(pos + mask_ + 1, std::memory_order_release);
                    return index;
                }
            } else if (seq < pos + 1) {
                return nil; // empty, or the enqueuer of pos has claimed but not yet published
            } else {
                pos = dequeue_.load(std::memory_order_relaxed); // relaxed: another dequeuer moved on; retry
            }
        }
    }

    // Like pop(), but when an enqueue has claimed a position and not yet published it, waits for it.
    std::uint32_t pop_settled() noexcept {
        for (;;) {
            if (const std::uint32_t index = pop(); index != nil) return index;
            // seq_cst: orders this check after the caller's flag raise (Dekker with push()).
            const std::uint64_t claimed = position_of(enqueue_.load(std::memory_order_seq_cst));
            if (dequeue_.load(std::memory_order_relaxed) >= claimed) return nil; // relaxed: a bound, rechecked
            std::this_thread::yield();
        }
    }

    template <class Fn>
    void take_all_and_set(std::uint32_t flags, Fn&& on_each) noexcept {
        set_flags(flags);
        for (std::uint32_t i = pop_settled(); i != nil; i = pop_settled()) on_each(i);
    }

    // relaxed: a hint for a spinning waiter, which then looks for itself under the waiter lock.
    bool maybe_nonempty() const noexcept {
        return dequeue_.load(std::memory_order_relaxed) < position_of(enqueue_.load(std::memory_order_relaxed));
    }

    void set_flags(std::uint32_t flags) noexcept { change_flags(flags, 0); }
    void clear_flags(std::uint32_t flags) noexcept { change_flags(0, flags); }
    // seq_cst: see IndexStack::flags().
    std::uint32_t flags() const noexcept { return flags_of(enqueue_.load(std::memory_order_seq_cst)); }
    // relaxed: a hint, acted on only through a later CAS or under the waiter lock.
    std::uint32_t flags_hint() const noexcept { return flags_of(enqueue_.load(std::memory_order_relaxed)); }

private:
    static constexpr unsigned flag_shift = 61;
    static constexpr std::uint64_t position_mask = (std::uint64_t(1) << flag_shift) - 1;
    static constexpr std::uint64_t position_of(std::uint64_t w) noexcept { return w & position_mask; }
    static constexpr std::uint32_t flags_of(std::uint64_t w) noexcept { return std::uint32_t(w >> flag_shift); }

    void change_flags(std::uint32_t set, std::uint32_t clear) noexcept {
        std::uint64_t word = enqueue_.load(std::memory_order_relaxed); // relaxed: the CAS below re-reads
        for (;;) {
            const std::uint32_t flags = (flags_of(word) | set) & ~clear & 7u;
            if (flags == flags_of(word)) return;
            // seq_cst: pairs with the claim in push() and the seq_cst loads of flags() (see IndexStack).
            if (enqueue_.compare_exchange_weak(word, position_of(word) | (std::uint64_t(flags) << flag_shift),
                                               std::memory_order_seq_cst, std::memory_order_relaxed))
                return;
        }
    }

    struct Cell {
        std::atomic<std::uint64_t> seq{0};
        std::uint32_t value = 0;
    };

    // Enqueuers and dequeuers are different threads: each position word has its own cache line.
    alignas(64) std::atomic<std::uint64_t> enqueue_{0};
    alignas(64) std::atomic<std::uint64_t> dequeue_{0};
    alignas(64) std::unique_ptr<Cell[]> cells_;
    std::uint64_t mask_ = 0;
};

} // namespace respool::detail
#endif // RESPOOL_DETAIL_INDEX_QUEUE_HPP_INCLUDED
