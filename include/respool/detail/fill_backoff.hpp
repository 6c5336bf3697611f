#pragma once
#ifndef RESPOOL_DETAIL_FILL_BACKOFF_HPP_INCLUDED
#define RESPOOL_DETAIL_FILL_BACKOFF_HPP_INCLUDED
// FillBackoff: when min_idle's background fill tries again after it failed to make a resource.
#include <algorithm>
#include <chrono>
#include <cstdint>

namespace respool::detail {

// After each failure in a row the next try waits twice as long as the last wait, from one maintenance period up to
// `max_delay`, so that a server refusing connections is not asked several times a second for as long as it is down.
// A success ends the backoff. Not thread-safe: its owner serialises the calls.
class FillBackoff {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::chrono::milliseconds max_delay{30'000};

    // May the fill try now?
    bool allows(Clock::time_point now) const noexcept { return delay_.count() == 0 || now >= retry_at_; }
    bool backing_off() const noexcept { return delay_.count() != 0; }

    void failed(Clock::time_point now, std::chrono::milliseconds period) noexcept {
        delay_ = delay_.count() == 0 ? period : std::min(delay_ * 2, std::max(period, max_delay));
        retry_at_ = now + delay_;
    }
    // A failure of the attempt numbered `round` (each attempt's number above the last's), where one attempt makes
    // several resources that may fail far apart: only its first failure lengthens the wait.
    void failed_in_round(std::uint64_t round, Clock::time_point now, std::chrono::milliseconds period) noexcept {
        if (round <= counted_round_) return;
        counted_round_ = round;
        failed(now, period);
    }
    void succeeded() noexcept { delay_ = std::chrono::milliseconds(0); }

private:
    Clock::time_point retry_at_{};
    std::chrono::milliseconds delay_{0}; // the wait after the last failure; 0: the last try did not fail
    std::uint64_t counted_round_ = 0;    // the last round whose failure lengthened the wait
};

} // namespace respool::detail

#endif
