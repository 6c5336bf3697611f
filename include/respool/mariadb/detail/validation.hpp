#pragma once
#ifndef RESPOOL_MARIADB_DETAIL_VALIDATION_HPP_INCLUDED
#define RESPOOL_MARIADB_DETAIL_VALIDATION_HPP_INCLUDED
// What Validator and AsyncValidator share: the look at an idle session's socket, the time-bounded keepalive ping, the
// pool-wide invalidation mark and what a disconnect does to it. Not API.
#include <mysql.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <memory>
#include <utility>

#include "../connect_options.hpp"
#include "../error.hpp"
#include "../validator_options.hpp"

namespace respool::mariadb::detail {

// What the socket of an idle session shows.
enum class Peek { quiet, closed, unexpected_data };

// Peeks at the socket of `handle` without blocking (poll + recv MSG_PEEK|MSG_DONTWAIT).
inline Peek peek_socket(MYSQL* handle) noexcept {
    const auto fd = mysql_get_socket(handle);
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
    const int error = errno;
#if EWOULDBLOCK != EAGAIN
    if (error == EWOULDBLOCK) return Peek::quiet;
#endif
    return (error == EAGAIN || error == EINTR) ? Peek::quiet : Peek::closed;
}

// What check_socket() concludes about an idle, connected session.
enum class SocketCheck {
    quiet,  // nothing to read: as far as the socket tells, alive
    dead,   // marked broken: refuse it
    unsure, // bytes wait over TLS, maybe a record the library has not read yet: a ping decides
};

// The options and the invalidation mark of a validator; copies share the mark (one per pool), so the validator
// stays movable. Thread safety: every member may run on any thread at once, on different connections.
class ValidatorCore {
public:
    using Clock = std::chrono::steady_clock;

    explicit ValidatorCore(ValidatorOptions options)
        : options_(validated(options)),
          invalidated_before_(std::make_shared<std::atomic<Clock::rep>>(no_mark)) {}

    const ValidatorOptions& options() const noexcept { return options_; }

    // Every connection that exists now is refused at its next check. Never blocks.
    void invalidate_existing() noexcept { invalidate_made_by(Clock::now()); }

    // Every connection made at or before `moment` is refused at its next check (a later mark is kept). Never blocks.
    void invalidate_made_by(Clock::time_point moment) noexcept {
        const Clock::rep wanted = moment.time_since_epoch().count();
        // relaxed: a lazy mark; connections compare their own creation time with it and nothing else is published.
        // The CAS only keeps the latest mark when two disconnects are reported out of order.
        Clock::rep mark = invalidated_before_->load(std::memory_order_relaxed);
        while (mark < wanted &&
               !invalidated_before_->compare_exchange_weak(mark, wanted, std::memory_order_relaxed))
            ;
    }

    // Whether a connection made at `connected_at` existed at the last invalidate_existing(). Never blocks.
    bool is_invalidated(Clock::time_point connected_at) const noexcept {
        // relaxed: see invalidate_existing().
        const Clock::rep mark = invalidated_before_->load(std::memory_order_relaxed);
        return mark != no_mark && connected_at.time_since_epoch().count() <= mark;
    }

    // A connection was found disconnected (at `seen`, by default now): with disconnect_invalidates_pool, every
    // connection that existed then is suspect too; one made since is not.
    void on_disconnect(Clock::time_point seen = Clock::now()) noexcept {
        if (options_.disconnect_invalidates_pool) invalidate_made_by(seen);
    }

    // Peeks at the socket of an idle, connected `c` (a Connection or an AsyncConnection). A closed socket marks `c`
    // broken and counts as a disconnect (on_disconnect()). Unread bytes in plain text mark it broken too: an idle
    // session never has anything to read, so the stream is out of step. Never blocks.
    template <class C>
    SocketCheck check_socket(C& c) noexcept {
        switch (peek_socket(c.native_handle())) {
        case Peek::closed:
            c.mark_disconnected();
            on_disconnect();
            return SocketCheck::dead;
        case Peek::unexpected_data:
            if (!c.uses_tls()) {
                c.mark_broken();
                return SocketCheck::dead;
            }
            return SocketCheck::unsure;
        case Peek::quiet: break;
        }
        return SocketCheck::quiet;
    }

    // Runs `round_trip`: true when it completes, false when it throws (after on_disconnect() for a disconnect).
    // Blocks as `round_trip` does; never throws.
    template <class F>
    bool attempt(F&& round_trip) noexcept {
        try {
            std::forward<F>(round_trip)();
            return true;
        } catch (const Error& e) {
            if (e.is_disconnect()) on_disconnect();
            return false;
        } catch (...) {
            return false;
        }
    }

private:
    static ValidatorOptions validated(ValidatorOptions options) {
        options.validate();
        return options;
    }

    static constexpr Clock::rep no_mark = std::chrono::nanoseconds::min().count();

    ValidatorOptions options_;
    std::shared_ptr<std::atomic<Clock::rep>> invalidated_before_;
};

// COM_PING through Connector/C's non-blocking calls, polling the socket: true when the server answered within
// `limit`. A false leaves the session mid-command: the caller must not use it again. For a connection in
// non-blocking mode (MYSQL_OPT_NONBLOCK) with no operation in flight.
inline bool ping_within(MYSQL* handle, std::chrono::milliseconds limit) noexcept {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    int result = 0;
    int wait_for = mysql_ping_start(&result, handle);
    while (wait_for != 0) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                                std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{};
        p.fd = mysql_get_socket(handle);
        if (wait_for & MYSQL_WAIT_READ) p.events |= POLLIN;
        if (wait_for & MYSQL_WAIT_WRITE) p.events |= POLLOUT;
        if (wait_for & MYSQL_WAIT_EXCEPT) p.events |= POLLPRI;
        const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno != EINTR) return false;
        int status = 0;
        if (ready > 0) {
            if (p.revents & (POLLIN | POLLHUP | POLLERR)) status |= MYSQL_WAIT_READ;
            if (p.revents & POLLOUT) status |= MYSQL_WAIT_WRITE;
            if (p.revents & POLLPRI) status |= MYSQL_WAIT_EXCEPT;
        } else if (ready == 0) {
            return false; // the whole time left passed without an answer
        } else {
            continue; // EINTR
        }
        wait_for = mysql_ping_cont(&result, handle, status);
    }
    return result == 0;
}

// Lets a session opened with the blocking API run Connector/C's non-blocking calls too, which ping_within() needs.
// Once per session (the handle keeps the setting); its blocking calls keep working, as Connector/C puts the socket back
// in blocking mode for them. false when it cannot (out of memory). Never blocks.
inline bool allow_nonblocking_calls(MYSQL* handle) noexcept {
    my_bool enabled = 0;
    if (mysql_get_optionv(handle, MYSQL_OPT_NONBLOCK, &enabled) == 0 && enabled) return true;
    return mysql_optionsv(handle, MYSQL_OPT_NONBLOCK, 0) == 0;
}

// How long a validator's ping (on checkout with pre_ping, or keepalive) may wait for its reply: read_timeout when set,
// else 1 s (a live server answers a COM_PING in well under a millisecond). A checkout must not outwait its acquire's
// timeout by more than that, and the thread that runs keepalive is joined when the pool is closed or destroyed: a
// server that stopped answering must hold neither.
inline std::chrono::milliseconds ping_limit(const ConnectOptions& o) noexcept {
    if (o.read_timeout.count() > 0) return o.read_timeout;
    return std::chrono::seconds(1);
}

// A validator's round trip on an idle, connected `c` (a Connection, or an AsyncConnection from keepalive): a COM_PING
// that must answer within ping_limit(). One that does not answer in time, or fails, leaves the session mid-command:
// `c` is marked broken, its socket shut down (the descriptor stays Connector/C's) so that nothing later waits on it,
// and it counts as a disconnect for `validator`. Waits at most that limit; never throws.
template <class C>
bool bounded_ping(C& c, ValidatorCore& validator) noexcept {
    MYSQL* handle = c.native_handle();
    if (!allow_nonblocking_calls(handle)) return false; // out of memory: destroyed rather than pinged without a bound
    if (ping_within(handle, ping_limit(c.options()))) {
        c.touch();
        return true;
    }
    c.mark_disconnected();
    if (const auto fd = mysql_get_socket(handle); fd >= 0) ::shutdown(fd, SHUT_RDWR);
    validator.on_disconnect();
    return false;
}

} // namespace respool::mariadb::detail
#endif // RESPOOL_MARIADB_DETAIL_VALIDATION_HPP_INCLUDED
