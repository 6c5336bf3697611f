#pragma once
#ifndef RESPOOL_MARIADB_ASYNC_VALIDATOR_HPP_INCLUDED
#define RESPOOL_MARIADB_ASYNC_VALIDATOR_HPP_INCLUDED
// AsyncValidator: the non-blocking checkout check and return-time check of an AsyncConnectionPool's connections.
#include "async_connection.hpp"
#include "detail/validation.hpp"
#include "validator_options.hpp"

namespace respool::mariadb {

// The pool calls these synchronously, so validate() and reset() never wait on the network: the round trips (the
// pre-ping COM_PING, the return-time cleaning) are awaited by AsyncConnectionPool and AsyncLease around them.
// validate() (checkout, with pre_ping): refuses a broken or invalidated connection and peeks at its socket
// (poll + recv MSG_PEEK|MSG_DONTWAIT) to catch one the server closed. A connection not yet connected passes: the
// pool connects it.
// reset() (return): keeps a connection not connected yet (see reset()); refuses one that is broken, invalidated or
// still needs a round trip to be clean (AsyncConnection::needs_cleaning(), or with ResetMode::full any statement run):
// AsyncLease does that cleaning asynchronously before it gives the connection back, so such a connection only gets
// here when something bypassed it; it is destroyed rather than cleaned by blocking. A kept connection lets go of its
// Asio objects.
//
// Thread safety: validate() and reset() may run at once on different connections; copies share the pool-wide
// invalidation mark.
class AsyncValidator {
public:
    using Clock = AsyncConnection::Clock;

    explicit AsyncValidator(ValidatorOptions options = {}) : core_(options) {}

    // true: the connection may be handed out (the pool may still ping it). Never blocks; never throws.
    bool validate(AsyncConnection& c) noexcept {
        if (c.is_broken() || is_invalidated(c)) return false;
        if (!c.is_connected()) return true;
        // SocketCheck::unsure (maybe a TLS record) passes: the pool's ping decides when one is due.
        return core_.check_socket(c) != detail::SocketCheck::dead; // a dead one is marked broken
    }

    // The background keepalive (PoolOptions::keepalive): the checks of validate(), then a COM_PING, whatever
    // ping_after says: the round trip is what keeps an idle session alive through a proxy's or the server's idle
    // timeout. Unlike the other hooks it waits, for that one round trip, on the thread that runs maintenance (the
    // pool's own, or a short-lived thread of its pass when several are due; never an event loop); the connection is
    // idle, with no operation in flight and no Asio object attached. The wait is bounded by ping_limit(): that thread
    // is joined when the pool is closed or destroyed, so a server that stopped answering must not hold it. A connection that does not answer in time is
    // broken and destroyed. One not connected yet has nothing to keep alive. Never throws.
    bool keepalive(AsyncConnection& c) noexcept {
        if (!validate(c)) return false;
        if (!c.is_connected()) return true;
        if (AsyncConnection::Clock::now() - c.last_used() < std::chrono::milliseconds(1)) return true;
        return detail::bounded_ping(c, core_);
    }

    // How long a ping on checkout (pre_ping) or keepalive may wait for its reply: read_timeout when set, else 1 s (a
    // live server answers a COM_PING in well under a millisecond).
    static std::chrono::milliseconds ping_limit(const ConnectOptions& o) noexcept { return detail::ping_limit(o); }

    // true: keep the connection. Never blocks; never throws.
    bool reset(AsyncConnection& c) noexcept {
        if (c.is_broken()) {
            // When it was seen; a failed connect says nothing about the other connections.
            if (c.saw_disconnect()) core_.on_disconnect(c.broken_at());
            return false;
        }
        // Not connected and not broken: made ahead of demand (min_idle) and never set up; AsyncConnectionPool connects
        // it on its executor, or an acquire that takes it does. Destroying it would only make the pool create another
        // at once. (A set-up that failed or was abandoned destroys its connection itself: it never gets here.)
        if (!c.is_connected()) return true;
        if (is_invalidated(c) || needs_cleaning(c)) return false;
        c.release_io();
        return true;
    }

    // Whether returning `c` needs a round trip first (see reset()). Never blocks.
    bool needs_cleaning(const AsyncConnection& c) const noexcept { return needs_cleaning(c, core_.options().reset); }
    static bool needs_cleaning(const AsyncConnection& c, ResetMode mode) noexcept {
        if (mode == ResetMode::full) return !c.is_fresh() || c.needs_cleaning();
        return c.needs_cleaning();
    }

    // Whether a connection refused above lost its session (a disconnect error, a socket the server closed, a ping that
    // got no answer): the pool then reports DestroyReason::disconnect. Never blocks.
    bool disconnected(const AsyncConnection& c) const noexcept { return c.saw_disconnect(); }

    // Every connection that exists now is refused at its next validate() or reset(). Never blocks; thread-safe.
    void invalidate_existing() noexcept { core_.invalidate_existing(); }

    // A connection was found disconnected: with disconnect_invalidates_pool, every other one is suspect too.
    void on_disconnect() noexcept { core_.on_disconnect(); }

    const ValidatorOptions& options() const noexcept { return core_.options(); }

private:
    bool is_invalidated(const AsyncConnection& c) const noexcept {
        return c.is_connected() && core_.is_invalidated(c.connected_at());
    }

    detail::ValidatorCore core_; // copies share its invalidation mark: one per pool
};

} // namespace respool::mariadb
#endif // RESPOOL_MARIADB_ASYNC_VALIDATOR_HPP_INCLUDED
