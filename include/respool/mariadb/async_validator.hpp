#pragma once
#ifndef RESPOOL_MARIADB_ASYNC_VALIDATOR_HPP_INCLUDED
#define RESPOOL_MARIADB_ASYNC_VALIDATOR_HPP_INCLUDED
// AsyncValidator: the non-blocking checkout check and return-time check of an AsyncConnectionPool's connections.
#include <mysql.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <memory>

#include "async_connection.hpp"
#include "validator_options.hpp"

namespace respool::mariadb {

// The pool calls these synchronously, so they never wait on the network: the round trips (the pre-ping COM_PING, the
// ROLLBACK of an abandoned transaction) are awaited by AsyncConnectionPool and AsyncLease around them.
// validate() (checkout, with pre_ping): refuses a broken or invalidated connection and peeks at its socket
// (poll + recv MSG_PEEK|MSG_DONTWAIT) to catch one the server closed. A connection not yet connected passes: the
// pool connects it.
// reset() (return): refuses a connection that is broken, unconnected, invalidated or still needs a round trip to be
// clean (a transaction open or abandoned, named locks, with ResetMode::full any statement run): AsyncLease does that cleaning
// asynchronously before it gives the connection back, so such a connection only gets here when something bypassed
// it; it is destroyed rather than cleaned by blocking. A kept connection lets go of its Asio objects.
//
// Thread safety: validate() and reset() may run at once on different connections; copies share the pool-wide
// invalidation mark.
class AsyncValidator {
public:
    using Clock = AsyncConnection::Clock;

    explicit AsyncValidator(ValidatorOptions options = {})
        : options_(options), invalidated_before_(std::make_shared<std::atomic<Clock::rep>>(no_mark)) {}

    // true: the connection may be handed out (the pool may still ping it). Never blocks; never throws.
    bool validate(AsyncConnection& c) noexcept {
        if (c.is_broken() || is_invalidated(c)) return false;
        if (!c.is_connected()) return true;
        switch (peek(c)) {
        case Peek::closed:
            c.mark_broken();
            on_disconnect();
            return false;
        case Peek::unexpected_data:
            if (!c.uses_tls()) { // in plain text an idle session never has anything to read
                c.mark_broken();
                return false;
            }
            return true; // maybe a TLS record: the pool's ping decides when one is due
        case Peek::quiet: break;
        }
        return true;
    }

    // true: keep the connection. Never blocks; never throws.
    bool reset(AsyncConnection& c) noexcept {
        if (c.is_broken()) {
            if (c.is_connected()) on_disconnect(); // a failed connect says nothing about the other connections
            return false;
        }
        if (!c.is_connected() || is_invalidated(c) || needs_cleaning(c)) return false;
        c.release_io();
        return true;
    }

    // Whether returning `c` needs a round trip first (see reset()). Never blocks.
    bool needs_cleaning(const AsyncConnection& c) const noexcept { return needs_cleaning(c, options_.reset); }
    static bool needs_cleaning(const AsyncConnection& c, ResetMode mode) noexcept {
        if (mode == ResetMode::full) return !c.is_fresh();
        return c.rollback_pending() || c.in_transaction() || c.may_hold_named_locks();
    }

    // Every connection that exists now is refused at its next validate() or reset(). Never blocks; thread-safe.
    void invalidate_existing() noexcept {
        // relaxed: a lazy mark; connections compare their own creation time with it and nothing else is published.
        invalidated_before_->store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
    }

    // A connection was found disconnected: with disconnect_invalidates_pool, every other one is suspect too.
    void on_disconnect() noexcept {
        if (options_.disconnect_invalidates_pool) invalidate_existing();
    }

    const ValidatorOptions& options() const noexcept { return options_; }

private:
    static constexpr Clock::rep no_mark = std::chrono::nanoseconds::min().count();

    enum class Peek { quiet, closed, unexpected_data };

    static Peek peek(const AsyncConnection& c) noexcept {
        const auto fd = mysql_get_socket(c.native_handle());
        if (fd < 0) return Peek::closed;
        pollfd p{};
        p.fd = fd;
        p.events = POLLIN;
        const int ready = ::poll(&p, 1, 0);
        if (ready == 0) return Peek::quiet;
        if (ready < 0) return Peek::unexpected_data;
        if ((p.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) return Peek::closed;
        char byte = 0;
        const auto n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0) return Peek::closed;
        if (n > 0) return Peek::unexpected_data;
        return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? Peek::quiet : Peek::closed;
    }

    bool is_invalidated(const AsyncConnection& c) const noexcept {
        if (!c.is_connected()) return false;
        // relaxed: see invalidate_existing().
        const Clock::rep mark = invalidated_before_->load(std::memory_order_relaxed);
        return mark != no_mark && c.connected_at().time_since_epoch().count() <= mark;
    }

    ValidatorOptions options_;
    std::shared_ptr<std::atomic<Clock::rep>> invalidated_before_;
};

} // namespace respool::mariadb
#endif // RESPOOL_MARIADB_ASYNC_VALIDATOR_HPP_INCLUDED
