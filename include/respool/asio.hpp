#pragma once
#ifndef RESPOOL_ASIO_HPP_INCLUDED
#define RESPOOL_ASIO_HPP_INCLUDED
// Boost.Asio support for respool::Pool: an asynchronous acquire with completion tokens (callbacks, use_future,
// use_awaitable), completing on the caller's executor. Needs Boost 1.74 or newer; per-operation cancellation is
// supported where Boost has it (1.77 and newer).
//
// With Clang and libstdc++, Boost 1.74 needs BOOST_ASIO_HAS_CO_AWAIT=1 and BOOST_ASIO_HAS_STD_COROUTINE=1 defined before
// any Asio header for use_awaitable; the CMake target respool::asio defines them.
#include <utility> // before Asio: Boost 1.74's Asio uses std::exchange without including it

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/system_executor.hpp>
#include <boost/version.hpp>
#if BOOST_VERSION >= 107700
#include <boost/asio/associated_cancellation_slot.hpp>
#endif

#include <chrono>
#include <exception>
#include <memory>
#include <stop_token>

#include "respool.hpp"

namespace respool::asio {

namespace detail {

template <class Pool, class Executor, class Handler>
void start_acquire(Pool& pool, std::chrono::steady_clock::time_point deadline, const Executor& fallback,
                   Handler&& handler) {
    using Lease = typename Pool::Lease;
    auto executor = boost::asio::get_associated_executor(handler, fallback);
#if BOOST_VERSION >= 107700
    // Taken before the handler moves: the slot belongs to the operation, not to the handler object.
    auto slot = boost::asio::get_associated_cancellation_slot(handler);
#endif
    // Keeps the executor's context running until the completion has been delivered.
    auto post = [work = boost::asio::make_work_guard(executor)](Task task) {
        boost::asio::post(work.get_executor(), std::move(task));
    };
    // The completion already runs on `executor` (it was posted there), so the handler is invoked directly.
    auto complete = [h = std::move(handler)](std::exception_ptr error, Lease lease) mutable {
        std::move(h)(std::move(error), std::move(lease));
    };
#if BOOST_VERSION >= 107700
    // Per-operation cancellation: Asio's cancellation slot stops the wait like a std::stop_token does.
    if (slot.is_connected()) {
        std::stop_source stop;
        slot.assign([stop](boost::asio::cancellation_type) mutable { stop.request_stop(); });
        return pool.async_acquire_until(deadline, stop.get_token(), std::move(post), std::move(complete));
    }
#endif
    pool.async_acquire_until(deadline, std::move(post), std::move(complete));
}

} // namespace detail

// As async_acquire (below), waiting until `deadline`.
template <class Pool, class Executor, class CompletionToken>
auto async_acquire_until(Pool& pool, std::chrono::steady_clock::time_point deadline, const Executor& executor,
                         CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, void(std::exception_ptr, typename Pool::Lease)>(
        [&pool, deadline, executor](auto handler) {
            detail::start_acquire(pool, deadline, executor, std::move(handler));
        },
        token);
}

// Acquires from `pool` without blocking, waiting up to pool.options().timeout. Completion signature
// void(std::exception_ptr, Pool::Lease): the error is what Pool::acquire() would throw. The completion runs on the
// token's associated executor (for use_awaitable: the coroutine's; otherwise `executor`, or the system executor).
// Thread-safe like Pool::acquire; validate() and create() run on that executor.
template <class Pool, class CompletionToken>
auto async_acquire(Pool& pool, CompletionToken&& token) {
    return async_acquire_until(pool, respool::detail::deadline_after(pool.options().timeout),
                               boost::asio::system_executor(), std::forward<CompletionToken>(token));
}

template <class Pool, class Executor, class CompletionToken>
auto async_acquire(Pool& pool, const Executor& executor, CompletionToken&& token) {
    return async_acquire_until(pool, respool::detail::deadline_after(pool.options().timeout), executor,
                               std::forward<CompletionToken>(token));
}

// As async_acquire, waiting at most `wait`.
template <class Pool, class CompletionToken>
auto async_acquire_for(Pool& pool, std::chrono::milliseconds wait, CompletionToken&& token) {
    return async_acquire_until(pool, respool::detail::deadline_after(wait), boost::asio::system_executor(),
                               std::forward<CompletionToken>(token));
}

} // namespace respool::asio
#endif // RESPOOL_ASIO_HPP_INCLUDED
