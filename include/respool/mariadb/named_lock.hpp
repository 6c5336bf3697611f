#pragma once
#ifndef RESPOOL_MARIADB_NAMED_LOCK_HPP_INCLUDED
#define RESPOOL_MARIADB_NAMED_LOCK_HPP_INCLUDED
// NamedLock: RAII over a named (advisory) lock, GET_LOCK / RELEASE_LOCK, with a timeout.
#include <algorithm>
#include <chrono>
#include <concepts>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "connection.hpp"
#include "error.hpp"
#include "identifier.hpp"

namespace respool::mariadb {

// A lock on a name, held by the session (not the transaction: COMMIT and ROLLBACK do not release it) until unlock()
// or the guard's end. The session remembers it took named locks (Connection::may_hold_named_locks), so a pool's
// Validator releases any left behind (RELEASE_ALL_LOCKS) when the lease comes back, even if the guard was detached
// from the work, e.g. by a crash of the code between.
//
// The name is bound, never put into the SQL text; MariaDB allows up to 64 characters. The same session may take the
// same name again (GET_LOCK nests since MariaDB 10.0.2; each guard releases once).
//
// Thread safety: as the Connection. Move-only; refers to the connection, which must outlive it.
class NamedLock {
public:
    // GET_LOCK(name, timeout): waits up to `timeout` (0: not at all) for the lock. One round trip, blocking up to
    // `timeout` (millisecond precision). Throws std::invalid_argument (empty or too long name, negative timeout),
    // Error: errc::lock_not_available when the timeout passed or the wait was ended by KILL QUERY (the server
    // answers NULL, with no error of its own), or the server's error (a deadlock between named locks: 1213; a KILL
    // of the connection: a disconnect).
    NamedLock(Connection& connection, std::string_view name, std::chrono::milliseconds timeout)
        : connection_(&connection), name_(checked(name)) {
        if (timeout.count() < 0)
            throw std::invalid_argument("respool::mariadb::NamedLock: the timeout must not be negative");
        if (!acquire(timeout))
            throw Error(errc::lock_not_available, "GET_LOCK('" + name_ + "'): not granted within " +
                                                      std::to_string(timeout.count()) + " ms");
    }

    // The same, on a lease's connection; the lease must outlive the guard.
    template <class Lease>
        requires requires(Lease& lease) {
            { *lease } -> std::same_as<Connection&>;
        }
    NamedLock(Lease& lease, std::string_view name, std::chrono::milliseconds timeout)
        : NamedLock(*lease, name, timeout) {}

    // GET_LOCK(name, 0): the lock if it is free now, else nothing. One round trip. Throws as the constructor does,
    // except for errc::lock_not_available.
    static std::optional<NamedLock> try_lock(Connection& connection, std::string_view name) {
        NamedLock lock(connection, checked(name));
        if (!lock.acquire(std::chrono::milliseconds(0))) return std::nullopt;
        return std::optional<NamedLock>(std::move(lock));
    }

    NamedLock(NamedLock&& other) noexcept
        : connection_(other.connection_), name_(std::move(other.name_)), held_(std::exchange(other.held_, false)) {}
    NamedLock& operator=(NamedLock&&) = delete;
    NamedLock(const NamedLock&) = delete;
    NamedLock& operator=(const NamedLock&) = delete;

    // RELEASE_LOCK when still held (one round trip). Never throws: a failure marks the connection broken, so a pool
    // destroys the session (and with it the lock) instead of reusing it.
    ~NamedLock() {
        if (!held_) return;
        try {
            unlock();
        } catch (...) {
            connection_->mark_broken();
        }
    }

    // RELEASE_LOCK(name): one round trip. Throws Error (errc::transaction_state when not held, or the server's
    // error; errc::lock_not_available when the server says this session did not hold it, e.g. after a KILL).
    void unlock() {
        if (!held_) throw Error(errc::transaction_state, "NamedLock::unlock: '" + name_ + "' is not held");
        held_ = false;
        const auto released = connection_->query("SELECT RELEASE_LOCK(?)", name_)[0].get<std::optional<int>>(0);
        if (released.value_or(0) != 1)
            throw Error(errc::lock_not_available,
                        "RELEASE_LOCK('" + name_ + "'): this session did not hold the lock");
    }

    // Whether the guard holds the lock.
    bool owns_lock() const noexcept { return held_; }
    explicit operator bool() const noexcept { return held_; }

    // The lock's name.
    const std::string& name() const noexcept { return name_; }

private:
    NamedLock(Connection& connection, std::string name) : connection_(&connection), name_(std::move(name)) {}

    static std::string checked(std::string_view name) {
        if (name.empty() || utf8_length(name) > 64)
            throw std::invalid_argument("respool::mariadb::NamedLock: the name must have 1 to 64 characters");
        return std::string(name);
    }

    bool acquire(std::chrono::milliseconds timeout) {
        // The server answers 0 at once to a timeout too large for it (milliseconds::max() is one) and NULL to a
        // negative one: a wait longer than a year, "forever" included, is sent as one year.
        constexpr std::chrono::milliseconds longest = std::chrono::hours(24 * 365);
        const double seconds = static_cast<double>(std::min(timeout, longest).count()) / 1000.0;
        // Mentions GET_LOCK: the connection records that it may hold named locks (the Validator releases them).
        const auto got = connection_->query("SELECT GET_LOCK(?, ?)", name_, seconds)[0].get<std::optional<int>>(0);
        if (!got.has_value())
            throw Error(errc::lock_not_available, "GET_LOCK('" + name_ + "') returned NULL (an error or a KILL)");
        held_ = *got == 1;
        return held_;
    }

    Connection* connection_;
    std::string name_;
    bool held_ = false;
};

} // namespace respool::mariadb
#endif // RESPOOL_MARIADB_NAMED_LOCK_HPP_INCLUDED
