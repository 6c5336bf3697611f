#pragma once
#ifndef RESPOOL_MARIADB_DETAIL_CONNECT_TURNS_HPP_INCLUDED
#define RESPOOL_MARIADB_DETAIL_CONNECT_TURNS_HPP_INCLUDED
// ConnectTurns: PoolOptions::max_connecting for AsyncConnectionPool, whose connection set-ups (connect and init
// statements) are awaited after the core pool has handed out the room, so the core's own limit would bound nothing.
// Not API.
#include <utility> // before Asio: Boost 1.74's Asio uses std::exchange without including it

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>

#include "../../errors.hpp"

namespace respool::mariadb::detail {

// At most `limit` turns out at once (0: no limit), taken without blocking a thread. A taker that finds none free
// waits in a FIFO, suspended on a timer of its own that expires at its deadline; a turn given back goes to the first
// in line, whose timer is cancelled to resume it.
//
// Invariants, under mutex_: free_ > 0 only while queue_ is empty; a waiter is in queue_ exactly while its outcome is
// `waiting`; only the thread that decides an outcome (a grant, close(), or the waiter itself giving up) writes it.
// A waiter's timer is touched only under mutex_ (its wait started, or cancelled), so no two threads use it at once,
// and a grant that comes before the wait starts is seen by it (no lost wake-up).
//
// Thread safety: every member may be called from any thread. Held by std::shared_ptr: a Turn keeps its ConnectTurns.
class ConnectTurns : public std::enable_shared_from_this<ConnectTurns> {
public:
    using TimePoint = std::chrono::steady_clock::time_point;

    explicit ConnectTurns(std::size_t limit) : limit_(limit), free_(limit) {}
    ConnectTurns(const ConnectTurns&) = delete;
    ConnectTurns& operator=(const ConnectTurns&) = delete;

    // How many waits for a turn reached their deadline (TimeoutError). Never blocks.
    std::uint64_t timeouts() const noexcept { return timeouts_.load(std::memory_order_relaxed); } // a statistic

    // One turn; given back when it ends (to the first waiter, if any). Empty when there is no limit.
    class Turn {
    public:
        Turn() noexcept = default;
        Turn(Turn&& other) noexcept : owner_(std::move(other.owner_)) {}
        Turn& operator=(Turn&& other) noexcept {
            if (this != &other) {
                end();
                owner_ = std::move(other.owner_);
            }
            return *this;
        }
        Turn(const Turn&) = delete;
        Turn& operator=(const Turn&) = delete;
        ~Turn() { end(); }

    private:
        friend ConnectTurns;
        explicit Turn(std::shared_ptr<ConnectTurns> owner) noexcept : owner_(std::move(owner)) {}
        void end() noexcept {
            if (owner_) std::exchange(owner_, nullptr)->give_back();
        }

        std::shared_ptr<ConnectTurns> owner_;
    };

    // A turn, waiting for one until `deadline` (TimePoint::max(): as long as it takes) when all are out. Suspends;
    // never blocks. Resumes on the awaiting coroutine's executor. Throws TimeoutError, PoolClosedError (close() was
    // called), or CancelledError (Asio per-operation cancellation, Boost 1.77 and newer).
    boost::asio::awaitable<Turn> async_take(TimePoint deadline);

    // Every waiter, and every later async_take(), gets PoolClosedError; turns out now stay valid. Never blocks;
    // idempotent.
    void close() noexcept {
        std::lock_guard lock(mutex_);
        closed_ = true;
        for (const std::shared_ptr<Waiter>& w : queue_) {
            w->outcome = Outcome::closed;
            cancel(w->timer);
        }
        queue_.clear();
    }

private:
    enum class Outcome { waiting, granted, closed };

    struct Waiter {
        Waiter(const boost::asio::any_io_executor& executor, TimePoint deadline) : timer(executor, deadline) {}
        boost::asio::steady_timer timer; // expires at the deadline; cancelled to resume the waiter early
        Outcome outcome = Outcome::waiting;
    };

    // A waiting coroutine destroyed while suspended (its io_context went away) leaves the queue, or passes on a turn
    // granted to it meanwhile.
    struct QueueExit {
        ConnectTurns& turns;
        std::shared_ptr<Waiter> waiter;
        bool settled = false;
        ~QueueExit() {
            if (!settled) turns.abandon(waiter);
        }
    };

    // Completes once the waiter's outcome is decided or its deadline passes. The timer's wait starts under mutex_,
    // after a look at the outcome: a grant made before it completes the wait at once instead of being missed.
    template <class CompletionToken>
    auto async_wait_for_outcome(const std::shared_ptr<Waiter>& waiter, CompletionToken&& token) {
        return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code)>(
            [this, waiter](auto handler) {
                std::lock_guard lock(mutex_);
                // Decided already: expire the timer, so that the completion still goes through the io_context.
                if (waiter->outcome != Outcome::waiting) waiter->timer.expires_after(std::chrono::nanoseconds(0));
                waiter->timer.async_wait(std::move(handler));
            },
            token);
    }

    // A turn ends: to the first waiter, or back to the free ones.
    void give_back() noexcept {
        std::lock_guard lock(mutex_);
        if (queue_.empty()) {
            ++free_;
            return;
        }
        std::shared_ptr<Waiter> next = std::move(queue_.front());
        queue_.pop_front();
        next->outcome = Outcome::granted;
        cancel(next->timer);
    }

    void abandon(const std::shared_ptr<Waiter>& waiter) noexcept {
        std::unique_lock lock(mutex_);
        if (waiter->outcome == Outcome::granted) {
            lock.unlock();
            return give_back();
        }
        if (waiter->outcome == Outcome::waiting) leave_queue(waiter);
    }

    // Holds mutex_. A waiting waiter is in the queue (see the invariants).
    void leave_queue(const std::shared_ptr<Waiter>& waiter) noexcept {
        if (const auto it = std::find(queue_.begin(), queue_.end(), waiter); it != queue_.end()) queue_.erase(it);
    }

    static void cancel(boost::asio::steady_timer& timer) noexcept {
        try {
            timer.cancel();
        } catch (...) { // Asio reports no failure for a timer cancel; should one come, the deadline still ends the wait
        }
    }

    const std::size_t limit_;
    std::mutex mutex_; // guards everything below and the waiters' outcomes and timers
    std::size_t free_;
    bool closed_ = false;
    std::atomic<std::uint64_t> timeouts_{0}; // waits for a turn that reached their deadline
    std::deque<std::shared_ptr<Waiter>> queue_;
};

// Defined here, after the class: it uses async_wait_for_outcome(), whose return type is deduced.
inline boost::asio::awaitable<ConnectTurns::Turn> ConnectTurns::async_take(TimePoint deadline) {
    if (limit_ == 0) co_return Turn();
    auto waiter = std::make_shared<Waiter>(co_await boost::asio::this_coro::executor, deadline);
    bool got_turn = false;
    {
        std::lock_guard lock(mutex_);
        if (closed_) throw PoolClosedError();
        if (free_ > 0) {
            --free_;
            got_turn = true;
        } else if (std::chrono::steady_clock::now() >= deadline) {
            timeouts_.fetch_add(1, std::memory_order_relaxed); // relaxed: a statistic
            throw TimeoutError();
        } else {
            queue_.push_back(waiter);
        }
    }
    if (got_turn) co_return Turn(shared_from_this());

    QueueExit leave_on_destruction{*this, waiter};
    boost::system::error_code ignored; // the outcome says what happened, not the timer
    co_await async_wait_for_outcome(waiter, boost::asio::redirect_error(boost::asio::use_awaitable, ignored));
    Outcome outcome = Outcome::waiting;
    {
        std::lock_guard lock(mutex_);
        outcome = waiter->outcome;
        if (outcome == Outcome::waiting) leave_queue(waiter);
        leave_on_destruction.settled = true;
    }
    switch (outcome) {
    case Outcome::granted: co_return Turn(shared_from_this());
    case Outcome::closed: throw PoolClosedError();
    case Outcome::waiting: break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
        timeouts_.fetch_add(1, std::memory_order_relaxed); // relaxed: a statistic
        throw TimeoutError();
    }
    throw CancelledError(); // the timer's wait was cancelled by someone else: Asio per-operation cancellation
}

} // namespace respool::mariadb::detail
#endif // RESPOOL_MARIADB_DETAIL_CONNECT_TURNS_HPP_INCLUDED
