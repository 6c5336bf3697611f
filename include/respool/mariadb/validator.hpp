#pragma once
#ifndef RESPOOL_MARIADB_VALIDATOR_HPP_INCLUDED
#define RESPOOL_MARIADB_VALIDATOR_HPP_INCLUDED
// Validator: the checkout check and the return-time cleaning of a ConnectionPool's connections.
#include <mysql.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <memory>

#include "connection.hpp"
#include "error.hpp"
#include "validator_options.hpp"

namespace respool::mariadb {

// validate() (on checkout, with PoolOptions::pre_ping): refuses a broken connection; peeks at its socket without
// blocking (poll + recv MSG_PEEK|MSG_DONTWAIT) to catch one the server already closed; and pings (COM_PING) only a
// connection idle for at least ValidatorOptions::ping_after, so one used a moment ago costs no round trip.
// reset() (on return): refuses a broken connection, so a connection that saw a disconnect is destroyed; otherwise
// rolls back only when the server's status flags say a transaction is (or with autocommit off, may be) open, and
// releases named locks only when the session took some; ResetMode::full resets the whole session instead.
//
// Thread safety: validate() and reset() may run at once on different connections (the pool's contract); copies
// share the pool-wide invalidation mark.
class Validator {
public:
    using Clock = Connection::Clock;

    explicit Validator(ValidatorOptions options = {})
        : options_(options), invalidated_before_(std::make_shared<std::atomic<Clock::rep>>(no_mark)) {}

    // true: hand the connection out. Never blocks unless it pings (one round trip, bounded by read_timeout).
    // Never throws.
    bool validate(Connection& c) noexcept {
        if (c.is_broken() || is_invalidated(c)) return false;
        switch (peek(c)) {
        case Peek::closed:
            c.mark_broken();
            on_disconnect();
            return false;
        case Peek::unexpected_data:
            // Over TLS the bytes may be a TLS record the library has not read yet; the ping decides. In plain text
            // an idle session never has anything to read, so the stream is out of step.
            if (!c.uses_tls()) {
                c.mark_broken();
                return false;
            }
            return ping(c);
        case Peek::quiet: break;
        }
        if (options_.ping_after == std::chrono::milliseconds::max()) return true;
        if (Clock::now() - c.last_used() < options_.ping_after) return true;
        return ping(c);
    }

    // The background keepalive (PoolOptions::keepalive): the checks of validate(), then always a COM_PING, whatever
    // ping_after says: the round trip is what keeps an idle session alive through a proxy's idle timeout. One round
    // trip; never throws.
    bool keepalive(Connection& c) noexcept {
        if (!validate(c)) return false;
        return Clock::now() - c.last_used() < std::chrono::milliseconds(1) || ping(c);
    }

    // true: keep the connection, with a clean session. Blocks for a ROLLBACK / RELEASE_ALL_LOCKS() only when needed
    // (or for the full reset). Never throws.
    bool reset(Connection& c) noexcept {
        if (c.is_broken()) {
            on_disconnect();
            return false;
        }
        if (is_invalidated(c)) return false;
        try {
            if (options_.reset == ResetMode::full) {
                c.reset_session();
                return true;
            }
            const unsigned status = c.server_status();
            if ((status & SERVER_STATUS_IN_TRANS) != 0 || (status & SERVER_STATUS_AUTOCOMMIT) == 0) c.rollback();
            if (c.may_hold_named_locks()) c.release_named_locks();
            return true;
        } catch (const Error& e) {
            if (e.is_disconnect()) on_disconnect();
            return false;
        } catch (...) {
            return false;
        }
    }

    // Every connection that exists now is refused at its next validate() or reset(). Never blocks; thread-safe.
    void invalidate_existing() noexcept {
        // relaxed: a lazy mark; connections compare their own creation time with it and nothing else is published.
        invalidated_before_->store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
    }

    const ValidatorOptions& options() const noexcept { return options_; }

private:
    static constexpr Clock::rep no_mark = std::chrono::nanoseconds::min().count();

    enum class Peek { quiet, closed, unexpected_data };

    static Peek peek(const Connection& c) noexcept {
        const auto fd = mysql_get_socket(c.native_handle());
        if (fd < 0) return Peek::closed;
        pollfd p{};
        p.fd = fd;
        p.events = POLLIN;
        const int ready = ::poll(&p, 1, 0);
        if (ready == 0) return Peek::quiet;
        if (ready < 0) return Peek::unexpected_data; // EINTR and the like: let a ping decide
        if ((p.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) return Peek::closed;
        char byte = 0;
        const auto n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0) return Peek::closed;
        if (n > 0) return Peek::unexpected_data;
        return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? Peek::quiet : Peek::closed;
    }

    bool ping(Connection& c) noexcept {
        try {
            c.ping();
            return true;
        } catch (const Error& e) {
            if (e.is_disconnect()) on_disconnect();
            return false;
        } catch (...) {
            return false;
        }
    }

    bool is_invalidated(const Connection& c) const noexcept {
        // relaxed: see invalidate_existing().
        const Clock::rep mark = invalidated_before_->load(std::memory_order_relaxed);
        return mark != no_mark && c.connected_at().time_since_epoch().count() <= mark;
    }

    void on_disconnect() noexcept {
        if (options_.disconnect_invalidates_pool) invalidate_existing();
    }

    ValidatorOptions options_;
    // Shared so the Validator stays movable (the pool moves it in); one mark per pool.
    std::shared_ptr<std::atomic<Clock::rep>> invalidated_before_;
};

} // namespace respool::mariadb
#endif // RESPOOL_MARIADB_VALIDATOR_HPP_INCLUDED
