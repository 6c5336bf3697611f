#pragma once
#ifndef RESPOOL_DETAIL_PARKED_GROUPS_HPP_INCLUDED
#define RESPOOL_DETAIL_PARKED_GROUPS_HPP_INCLUDED
// ParkedGroups: which groups of 64 slots may hold a parked slot, so that a checkout that finds nothing idle in a large
// pool looks at one bit per group instead of at every slot before it creates.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace respool::detail {

// One bit per group of `group_size` slots: set by a returner that parks a slot of the group, cleared by a looker that
// then finds none left there. A set bit may be stale (its slot taken back since); a clear bit is exact for a looker
// that clears before it looks (the protocol in PoolCore::steal_parked):
//   returner: slot state := returning (seq_cst), then load the bit (seq_cst), set it when clear;
//   looker:   clear the bit (seq_cst RMW), then load the group's slot states (seq_cst), set it again when any is
//             parked or returning.
// In the single total order of these seq_cst operations, either the returner's load follows the clear (it sets the
// bit), or its store precedes the looker's loads (the looker sees the slot and sets the bit). Looking at a clear bit
// may still miss a slot whose group another looker is clearing at that moment, so only lookers for which a miss is
// harmless (a newcomer, which then creates) use the bits; waiters and close() look at every slot.
class ParkedGroups {
public:
    static constexpr std::uint32_t group_size = 64;

    ParkedGroups() = default;
    // Bits for `capacity` slots; none when one group would cover them all (enabled() false: use nothing else then).
    explicit ParkedGroups(std::uint32_t capacity)
        : groups_(capacity > group_size ? (capacity + group_size - 1) / group_size : 0),
          words_(groups_ ? std::make_unique<std::atomic<std::uint64_t>[]>((groups_ + 63) / 64) : nullptr) {}

    bool enabled() const noexcept { return groups_ != 0; }
    std::uint32_t words() const noexcept { return (groups_ + 63) / 64; }

    // The returner's half, after its seq_cst store of `returning`. A plain load first: a bit already set costs no
    // write to the shared word on the return fast path.
    void mark(std::uint32_t slot) noexcept {
        const std::uint32_t group = slot / group_size;
        std::atomic<std::uint64_t>& word = words_[group / 64];
        const std::uint64_t bit = std::uint64_t(1) << (group % 64);
        // seq_cst: ordered after the returner's state store; see the class comment.
        if (!(word.load(std::memory_order_seq_cst) & bit)) word.fetch_or(bit, std::memory_order_seq_cst);
    }

    // The groups of word `w` that may hold a parked slot.
    std::uint64_t load(std::uint32_t w) const noexcept {
        return words_[w].load(std::memory_order_seq_cst); // seq_cst: see the class comment
    }
    // The looker's half: clear before looking at the group's slots; set again if any is left.
    void clear(std::uint32_t group) noexcept {
        words_[group / 64].fetch_and(~(std::uint64_t(1) << (group % 64)), std::memory_order_seq_cst);
    }
    void set(std::uint32_t group) noexcept {
        words_[group / 64].fetch_or(std::uint64_t(1) << (group % 64), std::memory_order_seq_cst);
    }

private:
    std::uint32_t groups_ = 0;
    std::unique_ptr<std::atomic<std::uint64_t>[]> words_;
};

} // namespace respool::detail

#endif
