#pragma once
#ifndef RESPOOL_MARIADB_ASYNC_POOL_HPP_INCLUDED
#define RESPOOL_MARIADB_ASYNC_POOL_HPP_INCLUDED
// AsyncConnectionPool: a pool of AsyncConnections for C++20 coroutines, and make_async_pool.
#include <utility> // before Asio: Boost 1.74's Asio uses std::exchange without including it

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <exception>
#include <string_view>

#include "../asio.hpp"
#include "../pool.hpp"
#include "../pool_options.hpp"
#include "../pool_stats.hpp"
#include "async_connection.hpp"
#include "async_factory.hpp"
#include "async_lease.hpp"
#include "async_validator.hpp"
#include "connect_options.hpp"
#include "detail/url.hpp"
#include "make_pool.hpp"
#include "validator_options.hpp"

namespace respool::mariadb {

// The same PoolOptions and ValidatorOptions as ConnectionPool, over the generic Pool and its asynchronous acquire:
// `AsyncLease lease = co_await pool.async_acquire();` never blocks the thread. A new connection is connected with
// co_await before it is handed out; with pre_ping, an idle one gets the validator's socket peek and, when idle at
// least ValidatorOptions::ping_after, an awaited COM_PING; one that fails is destroyed and the acquire tries again,
// so the caller sees no error from a connection that died while idle.
//
// Thread safety: as Pool: every member may be called from any thread. The pool must outlive its acquires in flight
// and must not move while they run; destroy it (and every lease) before the io_context its executor belongs to.
class AsyncConnectionPool {
public:
    using Lease = AsyncLease;
    using CorePool = AsyncCorePool;
    template <class T>
    using Awaitable = boost::asio::awaitable<T>;

    // Connects to nothing yet; never blocks. `executor` runs the connections' socket waits (usually the
    // io_context's). Throws std::invalid_argument naming an invalid PoolOptions field.
    AsyncConnectionPool(boost::asio::any_io_executor executor, ConnectOptions options, PoolOptions pool_options = {},
                        ValidatorOptions validator_options = {})
        : validator_options_(validator_options),
          pool_(pool_options, AsyncFactory(std::move(executor), std::move(options)), AsyncValidator(validator_options)) {}

    // A connected connection, waiting up to options().timeout for one when all are leased and the pool is full
    // (the time spent connecting a new one, bounded by connect_timeout, is not counted). Suspends; never blocks.
    // Resumes on the awaiting coroutine's executor. Throws TimeoutError, PoolClosedError, or Error from connecting
    // a new connection (e.g. 1045 access denied, with the server's message).
    Awaitable<AsyncLease> async_acquire() { return async_acquire_until(respool::detail::deadline_after(options().timeout)); }

    // As async_acquire(), waiting at most `wait` for a free connection.
    Awaitable<AsyncLease> async_acquire_for(std::chrono::milliseconds wait) {
        return async_acquire_until(respool::detail::deadline_after(wait));
    }

    // As async_acquire(), waiting until `deadline`.
    Awaitable<AsyncLease> async_acquire_until(std::chrono::steady_clock::time_point deadline) {
        const auto executor = co_await boost::asio::this_coro::executor;
        for (;;) {
            CorePool::Lease lease =
                co_await respool::asio::async_acquire_until(pool_, deadline, executor, boost::asio::use_awaitable);
            AsyncConnection& c = *lease;
            if (!c.is_connected()) {
                co_await c.async_connect(); // a failure ends `lease`: the unconnected connection is destroyed
                co_return AsyncLease(std::move(lease), validator_options_.reset);
            }
            if (!options().pre_ping || !ping_due(c)) co_return AsyncLease(std::move(lease), validator_options_.reset);
            bool alive = false;
            try {
                co_await c.async_ping();
                alive = true;
            } catch (const Error& e) {
                if (e.is_disconnect() && validator_options_.disconnect_invalidates_pool) pool_.invalidate_all();
            }
            if (alive) co_return AsyncLease(std::move(lease), validator_options_.reset);
            lease.invalidate(); // dead while idle: try another (a new one is not pinged, so this ends)
        }
    }

    PoolStats stats() const noexcept { return pool_.stats(); }
    const PoolOptions& options() const noexcept { return pool_.options(); }
    const ValidatorOptions& validator_options() const noexcept { return validator_options_; }
    // Every connection that exists now is replaced: idle ones at their next checkout, leased ones when they return.
    void invalidate_all() noexcept { pool_.invalidate_all(); }
    // Later acquires get PoolClosedError; idle connections are closed now (a COM_QUIT write each).
    void close() noexcept { pool_.close(); }
    // The generic pool underneath.
    CorePool& core() noexcept { return pool_; }

private:
    bool ping_due(const AsyncConnection& c) const noexcept {
        const auto after = validator_options_.ping_after;
        return after != std::chrono::milliseconds::max() && AsyncConnection::Clock::now() - c.last_used() >= after;
    }

    ValidatorOptions validator_options_;
    CorePool pool_;
};

// An AsyncConnectionPool; as make_pool(ConnectOptions, PoolOptions, ValidatorOptions), including turning pre_ping on
// (pings off, socket peek only) for disconnect_invalidates_pool. Never blocks.
inline AsyncConnectionPool make_async_pool(boost::asio::any_io_executor executor, ConnectOptions options,
                                           PoolOptions pool_options = {}, ValidatorOptions validator_options = {}) {
    if (validator_options.disconnect_invalidates_pool && !pool_options.pre_ping) {
        pool_options.pre_ping = true;
        validator_options.ping_after = std::chrono::milliseconds::max();
    }
    return AsyncConnectionPool(std::move(executor), std::move(options), pool_options, validator_options);
}

// An AsyncConnectionPool from a mariadb:// URL, with the keys make_pool(url) reads. Never blocks. Throws
// std::invalid_argument naming the malformed part or the unknown key.
inline AsyncConnectionPool make_async_pool(boost::asio::any_io_executor executor, std::string_view url) {
    ConnectOptions options = ConnectOptions::from_url(url);
    PoolOptions pool_options;
    ValidatorOptions validator_options;
    detail::apply_pool_keys(detail::split_url(url), pool_options, validator_options);
    return make_async_pool(std::move(executor), std::move(options), pool_options, validator_options);
}

} // namespace respool::mariadb
#endif // RESPOOL_MARIADB_ASYNC_POOL_HPP_INCLUDED
