#pragma once
#ifndef RESPOOL_MARIADB_VALIDATOR_HPP_INCLUDED
#define RESPOOL_MARIADB_VALIDATOR_HPP_INCLUDED
// Validator: the checkout check and the return-time cleaning of a ConnectionPool's connections.
#include <mysql.h>

#include <chrono>

#include "connection.hpp"
#include "detail/validation.hpp"
#include "error.hpp"
#include "validator_options.hpp"

namespace respool::mariadb {

// validate() (on checkout, with PoolOptions::pre_ping): refuses a broken connection; peeks at its socket without
// blocking (poll + recv MSG_PEEK|MSG_DONTWAIT) to catch one the server already closed; and pings (COM_PING) only a
// connection idle for at least ValidatorOptions::ping_after, so one used a moment ago costs no round trip. The ping
// waits at most read_timeout, else 1 s (detail::ping_limit()): a server that stopped answering holds a checkout no
// longer, whatever the acquire's timeout.
// reset() (on return): refuses a broken connection, so a connection that saw a disconnect is destroyed; otherwise
// runs Connection::clean_session() when Connection::needs_cleaning() says so (ROLLBACK, autocommit restored,
// UNLOCK TABLES, RELEASE_ALL_LOCKS(), each only when needed); ResetMode::full resets the whole session instead.
// keepalive() (background, PoolOptions::keepalive): always a COM_PING, bounded the same way.
//
// Thread safety: validate() and reset() may run at once on different connections (the pool's contract); copies
// share the pool-wide invalidation mark.
class Validator {
public:
    using Clock = Connection::Clock;

    explicit Validator(ValidatorOptions options = {}) : core_(options) {}

    // true: hand the connection out. Never blocks unless it pings (one round trip, at most detail::ping_limit()). A
    // ping that gets no answer in time marks the connection disconnected. Never throws.
    bool validate(Connection& c) noexcept {
        if (c.is_broken() || is_invalidated(c)) return false;
        switch (core_.check_socket(c)) {
        case detail::SocketCheck::dead: return false;
        case detail::SocketCheck::unsure: return detail::bounded_ping(c, core_); // maybe a TLS record not read yet
        case detail::SocketCheck::quiet: break;
        }
        const auto ping_after = core_.options().ping_after;
        if (ping_after == std::chrono::milliseconds::max()) return true;
        if (Clock::now() - c.last_used() < ping_after) return true;
        return detail::bounded_ping(c, core_);
    }

    // The background keepalive (PoolOptions::keepalive), on the pool's maintenance thread or, when several are due at
    // once, on short-lived threads of the maintenance pass (one connection each): the checks of validate()
    // but its ping, then always a COM_PING, whatever ping_after says: the round trip is what keeps an idle session
    // alive through a proxy's idle timeout. The ping is bounded by detail::ping_limit() (read_timeout, else 1 s) even
    // without read_timeout, because that thread is joined when the pool is closed or destroyed: a server that stopped
    // answering must not hold that up. A connection that does not answer in time is broken and destroyed. Waits at
    // most that limit; never throws.
    bool keepalive(Connection& c) noexcept {
        if (c.is_broken() || is_invalidated(c)) return false;
        // SocketCheck::unsure (maybe a TLS record) needs no ping of its own: the keepalive ping below decides.
        if (core_.check_socket(c) == detail::SocketCheck::dead) return false;
        if (Clock::now() - c.last_used() < std::chrono::milliseconds(1)) return true;
        return detail::bounded_ping(c, core_);
    }

    // true: keep the connection, with a clean session. Blocks only for the round trips Connection::clean_session()
    // needs (none for a session left clean), or for the full reset. Never throws.
    bool reset(Connection& c) noexcept {
        if (!c.native_handle()) return false; // moved out of its lease: nothing left to keep
        if (c.is_broken()) {
            // When it was seen: connections made since are not suspect. (Broken for another reason says nothing of
            // the others.)
            if (c.saw_disconnect()) core_.on_disconnect(c.broken_at());
            return false;
        }
        if (is_invalidated(c)) return false;
        return core_.attempt([&] {
            if (core_.options().reset == ResetMode::full) {
                c.reset_session();
                return;
            }
            if (c.needs_cleaning()) c.clean_session();
        });
    }

    // Whether a connection refused above lost its session (a disconnect error, a socket the server closed, a ping that
    // got no answer): the pool then reports DestroyReason::disconnect. Never blocks.
    bool disconnected(const Connection& c) const noexcept { return c.saw_disconnect(); }

    // Every connection that exists now is refused at its next validate() or reset(). Never blocks; thread-safe.
    void invalidate_existing() noexcept { core_.invalidate_existing(); }

    const ValidatorOptions& options() const noexcept { return core_.options(); }

private:
    bool is_invalidated(const Connection& c) const noexcept { return core_.is_invalidated(c.connected_at()); }

    detail::ValidatorCore core_; // copies share its invalidation mark: one per pool
};

} // namespace respool::mariadb
#endif // RESPOOL_MARIADB_VALIDATOR_HPP_INCLUDED
