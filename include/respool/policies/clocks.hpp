#pragma once
#ifndef RESPOOL_POLICIES_CLOCKS_HPP_INCLUDED
#define RESPOOL_POLICIES_CLOCKS_HPP_INCLUDED
// Clocks a Pool can read time from (the PoolClock concept).
#include <atomic>
#include <chrono>
#include <memory>

namespace respool::policies {

// Real monotonic time; the default.
struct SteadyClock {
    std::chrono::steady_clock::time_point now() const noexcept { return std::chrono::steady_clock::now(); }
};

// Time that moves only when told to: for tests of recycling, idle time and fairness without sleeping.
// Copies share one time source, so the test keeps a copy and the pool another.
class ManualClock {
public:
    ManualClock() : ticks_(std::make_shared<std::atomic<std::chrono::nanoseconds::rep>>(1)) {}

    std::chrono::steady_clock::time_point now() const noexcept {
        // acquire: sees what the advancing thread did before it moved time; pairs with advance().
        return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(ticks_->load(std::memory_order_acquire)));
    }

    void advance(std::chrono::nanoseconds by) noexcept {
        // release: pairs with the acquire in now().
        ticks_->fetch_add(by.count(), std::memory_order_release);
    }

private:
    std::shared_ptr<std::atomic<std::chrono::nanoseconds::rep>> ticks_;
};

} // namespace respool::policies
#endif // RESPOOL_POLICIES_CLOCKS_HPP_INCLUDED
