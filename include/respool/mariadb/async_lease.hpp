#pragma once
#ifndef RESPOOL_MARIADB_ASYNC_LEASE_HPP_INCLUDED
#define RESPOOL_MARIADB_ASYNC_LEASE_HPP_INCLUDED
// AsyncLease: a connection checked out of an AsyncConnectionPool; ending it cleans the session without blocking.
#include <utility> // before Asio: Boost 1.74's Asio uses std::exchange without including it

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <cassert>

#include "../pool.hpp"
#include "async_connection.hpp"
#include "async_factory.hpp"
#include "async_validator.hpp"
#include "validator_options.hpp"

namespace respool::mariadb {

// The generic pool under an AsyncConnectionPool.
using AsyncCorePool = Pool<AsyncConnection, AsyncFactory, AsyncValidator>;

// Move-only, like respool::Lease. When it ends with the session needing a round trip to be clean (a transaction open
// or abandoned, named locks held; with ResetMode::full, any statement run) it never blocks: it starts a coroutine on
// the connection's executor that awaits the ROLLBACK (RELEASE_ALL_LOCKS(), or the session reset) and then gives the
// connection back; if that fails the connection is destroyed. Other connections go back at once. A broken one is
// destroyed. async_release() does the same and lets the caller await it.
//
// Thread safety: as respool::Lease: one thread at a time; it may end on another thread than the one that took it.
class AsyncLease {
public:
    using CoreLease = AsyncCorePool::Lease;

    AsyncLease() noexcept = default;
    AsyncLease(CoreLease lease, ResetMode reset) noexcept : lease_(std::move(lease)), reset_(reset) {}

    AsyncLease(AsyncLease&&) noexcept = default;
    AsyncLease& operator=(AsyncLease&& other) noexcept {
        if (this != &other) {
            reset();
            lease_ = std::move(other.lease_);
            reset_ = other.reset_;
        }
        return *this;
    }
    AsyncLease(const AsyncLease&) = delete;
    AsyncLease& operator=(const AsyncLease&) = delete;

    // Gives the connection back (see reset()).
    ~AsyncLease() { reset(); }

    AsyncConnection* operator->() const noexcept { return get(); }
    AsyncConnection& operator*() const noexcept { return *get(); }
    // The connection; precondition: the lease is not empty.
    AsyncConnection* get() const noexcept {
        assert(lease_ && "precondition: the lease holds a connection");
        return lease_.get();
    }
    explicit operator bool() const noexcept { return static_cast<bool>(lease_); }

    // Gives the connection back now and leaves the lease empty: at once when it is clean, otherwise after a cleaning
    // coroutine started on the connection's executor. Never blocks; never throws. Precondition: no operation of the
    // connection in flight.
    void reset() noexcept {
        if (!lease_) return;
        AsyncConnection& c = *lease_;
        if (c.is_broken() || !c.is_connected() || !AsyncValidator::needs_cleaning(c, reset_)) return lease_.reset();
        try {
            boost::asio::co_spawn(c.get_executor(), clean_and_give_back(std::move(lease_), reset_),
                                  boost::asio::detached);
        } catch (...) {
            lease_.invalidate(); // could not start the cleaning: never reuse a session in an unknown state
        }
    }

    // As reset(), completing once the connection is back in the pool (or destroyed). Never throws.
    boost::asio::awaitable<void> async_release() {
        if (!lease_) co_return;
        co_await clean_and_give_back(std::move(lease_), reset_);
    }

    // Destroys the connection instead of giving it back. Never blocks.
    void invalidate() noexcept { lease_.invalidate(); }

    // The lease of the generic pool underneath (returning it bypasses the asynchronous cleaning: a connection that
    // needs cleaning is then destroyed).
    CoreLease& core() noexcept { return lease_; }

private:
    static boost::asio::awaitable<void> clean_and_give_back(CoreLease lease, ResetMode mode) {
        bool clean = false;
        try {
            AsyncConnection& c = *lease;
            if (!c.is_broken() && c.is_connected()) {
                if (mode == ResetMode::full) {
                    if (!c.is_fresh() || c.needs_cleaning()) co_await c.async_reset();
                } else if (c.needs_cleaning()) {
                    co_await c.async_clean_session();
                }
                clean = true;
            }
        } catch (...) {
        }
        if (!clean) lease.invalidate();
    }

    CoreLease lease_;
    ResetMode reset_ = ResetMode::rollback;
};

} // namespace respool::mariadb
#endif // RESPOOL_MARIADB_ASYNC_LEASE_HPP_INCLUDED
