#pragma once
#ifndef RESPOOL_ACQUIRE_AWAITABLE_HPP_INCLUDED
#define RESPOOL_ACQUIRE_AWAITABLE_HPP_INCLUDED
// AcquireAwaitable: what `co_await pool.async_acquire(executor)` waits on.
#include <atomic>
#include <coroutine>
#include <exception>
#include <memory>
#include <stop_token>
#include <utility>

#include "detail/unique_function.hpp"

namespace respool {

// Suspends the coroutine until the pool grants a lease (or fails), then resumes it on the executor given to
// async_acquire. co_await yields the Lease, or throws what acquire() would throw (TimeoutError, PoolClosedError,
// CancelledError, the factory's exception). Destroying the suspended coroutine cancels the acquire; a resource already
// on its way to it goes back to the pool.
template <class LeaseType>
class AcquireAwaitable {
public:
    using Handler = detail::UniqueFunction<void(std::exception_ptr, LeaseType)>;
    using Starter = detail::UniqueFunction<void(std::stop_token, Handler)>;

    explicit AcquireAwaitable(Starter start) : start_(std::move(start)) {}
    AcquireAwaitable(AcquireAwaitable&&) noexcept = default;
    AcquireAwaitable& operator=(AcquireAwaitable&&) = delete;

    ~AcquireAwaitable() {
        // release: the handler's acquire load sees the coroutine is gone; pairs with the load in the handler.
        if (state_ && !state_->resumed.load(std::memory_order_acquire)) {
            state_->abandoned.store(true, std::memory_order_release);
            state_->stop.request_stop();
        }
    }

    bool await_ready() const noexcept { return false; }

    void await_suspend(std::coroutine_handle<> coroutine) {
        state_ = std::make_shared<State>();
        state_->coroutine = coroutine;
        start_(state_->stop.get_token(), Handler([state = state_](std::exception_ptr error, LeaseType lease) {
                   // acquire: pairs with the release store in the destructor.
                   if (state->abandoned.load(std::memory_order_acquire)) return; // `lease` ends here: given back
                   state->error = std::move(error);
                   state->lease = std::move(lease);
                   // release: publishes error and lease to await_resume's thread if the coroutine hops threads.
                   state->resumed.store(true, std::memory_order_release);
                   state->coroutine.resume();
               }));
    }

    LeaseType await_resume() {
        if (state_->error) std::rethrow_exception(state_->error);
        return std::move(state_->lease);
    }

private:
    struct State {
        std::coroutine_handle<> coroutine;
        std::stop_source stop;
        std::atomic<bool> abandoned{false};
        std::atomic<bool> resumed{false};
        std::exception_ptr error;
        LeaseType lease;
    };
    Starter start_;
    std::shared_ptr<State> state_;
};

} // namespace respool
#endif // RESPOOL_ACQUIRE_AWAITABLE_HPP_INCLUDED
