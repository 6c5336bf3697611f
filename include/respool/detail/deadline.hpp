#pragma once
#ifndef RESPOOL_DETAIL_DEADLINE_HPP_INCLUDED
#define RESPOOL_DETAIL_DEADLINE_HPP_INCLUDED
// Turning a wait into a deadline on the steady clock without overflowing. Not API.
#include <chrono>

namespace respool::detail {

using TimePoint = std::chrono::steady_clock::time_point;

// A deadline `wait` from now that saturates instead of overflowing: milliseconds::max() waits forever.
inline TimePoint deadline_after(std::chrono::milliseconds wait) noexcept {
    const TimePoint now = std::chrono::steady_clock::now();
    if (wait.count() <= 0) return now;
    if (wait >= std::chrono::duration_cast<std::chrono::milliseconds>(TimePoint::max() - now)) return TimePoint::max();
    return now + wait;
}

} // namespace respool::detail
#endif // RESPOOL_DETAIL_DEADLINE_HPP_INCLUDED
