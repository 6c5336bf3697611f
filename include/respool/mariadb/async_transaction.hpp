#pragma once
#ifndef RESPOOL_MARIADB_ASYNC_TRANSACTION_HPP_INCLUDED
#define RESPOOL_MARIADB_ASYNC_TRANSACTION_HPP_INCLUDED
// AsyncTransaction: a transaction on an AsyncConnection, finished with co_await commit() or rollback().
#include <utility> // before Asio: Boost 1.74's Asio uses std::exchange without including it

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "async_connection.hpp"
#include "async_lease.hpp"
#include "detail/sql.hpp"
#include "detail/transaction_errors.hpp"
#include "error.hpp"
#include "result.hpp"

namespace respool::mariadb {

// `AsyncTransaction tx = co_await AsyncTransaction::begin(lease);` ... `co_await tx.commit();`.
// A destructor cannot await, so an AsyncTransaction that ends while still active (an exception, a forgotten commit)
// does not roll back there: it marks the transaction abandoned on the connection, which rolls it back, without
// blocking, before the next statement it runs or when its lease ends (AsyncLease awaits the ROLLBACK in a coroutine
// of its own before giving the connection back). Nothing abandoned is ever committed.
// A COMMIT that loses the connection throws errc::commit_outcome_unknown, as Transaction's does.
//
// Thread safety: as the connection: one operation at a time. Movable; it refers to the connection, which must
// outlive it.
class AsyncTransaction {
public:
    template <class T>
    using Awaitable = boost::asio::awaitable<T>;

    // How a locking read treats a row another transaction has locked.
    enum class LockWait {
        wait,        // wait for it (up to innodb_lock_wait_timeout; 1205 after that)
        nowait,      // fail at once with errc::lock_not_available (FOR UPDATE NOWAIT)
        skip_locked, // leave such rows out of the result (FOR UPDATE SKIP LOCKED; MariaDB 10.6 and newer)
    };

    // START TRANSACTION on `connection` (after rolling back an abandoned one): one round trip. Throws Error
    // (errc::transaction_state when a transaction is already open on it, a disconnect error when it is broken).
    static Awaitable<AsyncTransaction> begin(AsyncConnection& connection) {
        co_await connection.settle();
        detail::require_unbroken(connection.is_broken(), connection.native_handle() != nullptr);
        if (connection.in_transaction())
            throw Error(errc::transaction_state, "a transaction is already open on this connection");
        co_await connection.async_execute("START TRANSACTION");
        co_return AsyncTransaction(connection, connection.deadlocks_seen());
    }
    // The same on a lease's connection; the lease must outlive the transaction.
    static Awaitable<AsyncTransaction> begin(AsyncLease& lease) { return begin(*lease); }

    AsyncTransaction(AsyncTransaction&& other) noexcept
        : connection_(other.connection_), active_(std::exchange(other.active_, false)),
          deadlocks_at_begin_(other.deadlocks_at_begin_) {}
    AsyncTransaction& operator=(AsyncTransaction&&) = delete;
    AsyncTransaction(const AsyncTransaction&) = delete;
    AsyncTransaction& operator=(const AsyncTransaction&) = delete;

    // Still active: marks the transaction abandoned (see the class comment). No I/O; never throws.
    ~AsyncTransaction() {
        if (active_) connection_->abandon_transaction();
    }

    // COMMIT: one round trip. Throws Error: errc::commit_outcome_unknown (with the server errno) when the connection
    // was lost; errc::transaction_state when not active, when an earlier statement lost the connection (COMMIT is
    // not sent), or when the server already ended the transaction (a deadlock, a ROLLBACK or a statement that commits
    // implicitly: the server's status flags say none is open), as Transaction::commit() does; or the server's error
    // (the transaction is then abandoned: rolled back before the connection's next statement or when its lease ends).
    Awaitable<void> commit() {
        require_active("commit");
        if (rolled_back_by_server()) {
            // The error packet of a deadlock does not update the status flags: they still say a transaction is open.
            active_ = false;
            try {
                co_await connection_->async_rollback();
            } catch (...) {
                connection_->mark_broken();
            }
            throw Error(errc::transaction_state,
                        "commit: the server rolled this transaction back after a deadlock; nothing was committed (run "
                        "the whole transaction again)");
        }
        if (connection_->is_broken()) {
            active_ = false;
            throw detail::commit_after_lost_connection();
        }
        if (!connection_->in_transaction()) {
            active_ = false;
            throw detail::commit_without_transaction();
        }
        try {
            co_await connection_->async_commit();
        } catch (const Error& e) {
            if (!e.is_disconnect()) throw;
            active_ = false;
            throw detail::commit_outcome_unknown(e);
        }
        active_ = false;
    }

    // ROLLBACK: one round trip. Throws Error (errc::transaction_state when not active, or a disconnect).
    Awaitable<void> rollback() {
        require_active("rollback");
        active_ = false;
        co_await connection_->async_rollback();
    }

    // Runs `select_sql` (a SELECT, without a locking clause) with FOR UPDATE appended, its arguments bound, and
    // returns the rows it locked. Throws Error: errc::transaction_state when the transaction is not active (under
    // autocommit InnoDB would take no lock at all), errc::lock_not_available for LockWait::nowait on a locked row
    // (server_errno() 1205), or the server's error; std::invalid_argument when `select_sql` is not a SELECT.
    template <class... Args>
    Awaitable<Result> select_for_update(std::string select_sql, Args... args) {
        return select_for_update(LockWait::wait, std::move(select_sql), std::move(args)...);
    }
    template <class... Args>
    Awaitable<Result> select_for_update(LockWait wait, std::string select_sql, Args... args) {
        require_active("select_for_update");
        if (!connection_->in_transaction() || connection_->rollback_pending())
            throw Error(errc::transaction_state, "select_for_update: no transaction is open on the connection");
        if (rolled_back_by_server())
            throw Error(errc::transaction_state, "select_for_update: the server rolled this transaction back after a "
                                                 "deadlock; under autocommit no lock would be held");
        std::string sql = locking_read(std::move(select_sql), wait);
        try {
            co_return co_await connection_->async_query(std::move(sql), std::move(args)...);
        } catch (const Error& e) {
            if (wait != LockWait::nowait || !e.is_lock_wait_timeout()) throw;
            throw Error(errc::lock_not_available,
                        std::string("select_for_update NOWAIT: a row is locked by another transaction: ") + e.what(),
                        e.server_errno(), e.sqlstate());
        }
    }

    // Whether neither commit() nor rollback() has ended it.
    bool active() const noexcept { return active_; }
    // The connection the transaction runs on.
    AsyncConnection& connection() const noexcept { return *connection_; }

    // Whether the server has rolled it back already: a deadlock (1213) was met by a statement on its connection since
    // it began. commit() and select_for_update() then refuse. Never blocks.
    bool rolled_back_by_server() const noexcept { return connection_->deadlocks_seen() != deadlocks_at_begin_; }

    // `select_sql` with the locking clause for `wait` appended on a line of its own (trailing blanks and semicolons
    // dropped; a trailing "-- comment" cannot swallow it). Throws std::invalid_argument when it does not start with
    // the word SELECT.
    static std::string locking_read(std::string select_sql, LockWait wait) {
        select_sql = detail::select_for_locking(std::move(select_sql),
                                                "respool::mariadb::AsyncTransaction::select_for_update");
        select_sql += "\nFOR UPDATE";
        if (wait == LockWait::nowait) select_sql += " NOWAIT";
        if (wait == LockWait::skip_locked) select_sql += " SKIP LOCKED";
        return select_sql;
    }

private:
    AsyncTransaction(AsyncConnection& connection, std::uint64_t deadlocks_at_begin) noexcept
        : connection_(&connection), active_(true), deadlocks_at_begin_(deadlocks_at_begin) {}

    void require_active(const char* what) const { detail::require_active(active_, what); }

    AsyncConnection* connection_;
    bool active_ = false;
    std::uint64_t deadlocks_at_begin_ = 0; // the connection's deadlocks_seen() when the transaction began
};

} // namespace respool::mariadb
#endif // RESPOOL_MARIADB_ASYNC_TRANSACTION_HPP_INCLUDED
