#pragma once
#ifndef RESPOOL_MARIADB_TRANSACTION_HPP_INCLUDED
#define RESPOOL_MARIADB_TRANSACTION_HPP_INCLUDED
// Transaction: RAII over one connection's transaction; rolled back unless committed.
#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>

#include "connection.hpp"
#include "detail/transaction_errors.hpp"
#include "error.hpp"
#include "result.hpp"
#include "savepoint.hpp"
#include "transaction_options.hpp"

namespace respool::mariadb {

// Begins on construction, commit() or rollback() ends it; ending the scope uncommitted (an exception included) rolls
// it back. A COMMIT that loses the connection throws errc::commit_outcome_unknown: it may or may not have been
// applied, and must not be blindly retried.
//
// Statements may run on the connection directly or through execute() / query() here; the latter also remember a
// deadlock (after which InnoDB has already rolled the whole transaction back), so that a later commit() refuses
// instead of committing the statements that ran after it in autocommit mode.
//
// Thread safety: as the Connection: one thread at a time. Not copyable or movable; it refers to the connection,
// which must outlive it.
class Transaction {
public:
    // [SET TRANSACTION ISOLATION LEVEL …;] START TRANSACTION [READ ONLY | READ WRITE][, WITH CONSISTENT SNAPSHOT] on
    // `connection`: one round trip, two with an isolation level. Throws Error (errc::transaction_state when a
    // transaction is already open on it, a disconnect error when the connection is broken, or the server's error).
    explicit Transaction(Connection& connection, TransactionOptions options = {})
        : connection_(connection), options_(options) {
        detail::require_unbroken(connection_.is_broken(), connection_.native_handle() != nullptr);
        if (connection_.in_transaction())
            throw Error(errc::transaction_state, "a transaction is already open on this connection");
        if (options_.isolation != IsolationLevel::server_default) {
            connection_.execute("SET TRANSACTION ISOLATION LEVEL " +
                                std::string(detail::isolation_sql(options_.isolation)));
            try {
                connection_.execute(detail::start_transaction_sql(options_));
            } catch (...) {
                // The level set above would apply to whatever transaction comes next on this session.
                connection_.mark_broken();
                throw;
            }
        } else {
            connection_.execute(detail::start_transaction_sql(options_));
        }
        deadlocks_at_begin_ = connection_.deadlocks_seen();
        active_ = true;
    }

    // The same, on a lease's connection (`Transaction tx(lease)`); the lease must outlive the transaction.
    template <class Lease>
        requires requires(Lease& lease) {
            { *lease } -> std::same_as<Connection&>;
        }
    explicit Transaction(Lease& lease, TransactionOptions options = {}) : Transaction(*lease, options) {}

    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    // Rolls back when still open (one round trip). Never throws: a failed rollback marks the connection broken,
    // so a pool destroys it instead of reusing it.
    ~Transaction() {
        if (!active_) return;
        try {
            connection_.rollback();
        } catch (...) {
            connection_.mark_broken();
        }
    }

    // COMMIT: one round trip. Throws Error: errc::commit_outcome_unknown (with the server errno) when the connection
    // was lost; errc::transaction_state when not active, when the server already ended the transaction (a deadlock
    // seen through execute()/query(), a ROLLBACK or a statement that commits implicitly: the server's status flags
    // say no transaction is open), when an earlier statement lost the connection (so COMMIT is not sent), or when a
    // Savepoint could not be rolled back (the transaction is then rolled back); or the server's error (the
    // transaction is then rolled back by the destructor).
    void commit() {
        require_active("commit");
        if (doomed_ || rolled_back_by_server()) {
            const bool deadlock = rolled_back_by_server();
            active_ = false;
            try {
                connection_.rollback();
            } catch (...) {
                connection_.mark_broken();
            }
            throw Error(errc::transaction_state,
                        deadlock ? "commit: the server rolled this transaction back after a deadlock; nothing was "
                                   "committed (run the whole transaction again, e.g. with retry_transaction)"
                                 : "commit: a savepoint could not be rolled back; the transaction was rolled back");
        }
        if (connection_.is_broken()) {
            active_ = false;
            throw detail::commit_after_lost_connection();
        }
        if (!connection_.in_transaction()) {
            active_ = false;
            throw detail::commit_without_transaction();
        }
        try {
            connection_.execute("COMMIT");
        } catch (const Error& e) {
            if (!e.is_disconnect()) throw;
            active_ = false;
            throw detail::commit_outcome_unknown(e);
        }
        active_ = false;
    }

    // ROLLBACK: one round trip. Throws Error (errc::transaction_state when not active, or a disconnect).
    void rollback() {
        require_active("rollback");
        active_ = false;
        connection_.rollback();
    }

    // SAVEPOINT `name` (checked and quoted; see is_valid_identifier), as an RAII guard: release() keeps the work
    // since, rollback_to() or the end of its scope undoes it. It must not outlive the transaction. One round trip.
    // Throws std::invalid_argument for a bad name, Error (errc::transaction_state when not active).
    Savepoint savepoint(std::string_view name) {
        require_active("savepoint");
        require_not_ended_by_server("savepoint");
        return Savepoint(connection_, name, &doomed_);
    }

    // Connection::execute() inside this transaction, remembering a deadlock (see the class comment). Throws as
    // Connection::execute does, and errc::transaction_state when not active.
    template <class... Args>
    std::uint64_t execute(std::string_view sql, const Args&... args) {
        require_active("execute");
        require_not_ended_by_server("execute");
        try {
            return connection_.execute(sql, args...);
        } catch (const Error& e) {
            note_failure(e);
            throw;
        }
    }

    // Connection::query() inside this transaction, remembering a deadlock. Throws as Connection::query does, and
    // errc::transaction_state when not active.
    template <class... Args>
    Result query(std::string_view sql, const Args&... args) {
        require_active("query");
        require_not_ended_by_server("query");
        try {
            return connection_.query(sql, args...);
        } catch (const Error& e) {
            note_failure(e);
            throw;
        }
    }

    // Records a failure of a statement run in this transaction: after a deadlock the server has rolled it back, so
    // commit() will refuse. The helpers that run statements for a transaction call it; so may user code that runs
    // them on the connection directly. Never throws.
    void note_failure(const Error& e) noexcept {
        if (e.is_deadlock()) rolled_back_by_server_ = true;
    }

    // Whether neither commit() nor rollback() has ended it.
    bool active() const noexcept { return active_; }

    // Whether the server has rolled it back already: a deadlock (1213) was met by a statement on its connection since
    // it began, through this object or directly on the connection. commit() then refuses, and execute(), query() and
    // the locking reads refuse to run what would otherwise run in autocommit mode. Never blocks.
    bool rolled_back_by_server() const noexcept {
        return rolled_back_by_server_ || connection_.deadlocks_seen() != deadlocks_at_begin_;
    }

    // Throws errc::transaction_state naming `what` when rolled_back_by_server().
    void require_not_ended_by_server(const char* what) const {
        if (rolled_back_by_server())
            throw Error(errc::transaction_state,
                        std::string(what) + ": the server rolled this transaction back after a deadlock; a statement "
                                            "run now would run outside it, in autocommit mode (run the whole "
                                            "transaction again, e.g. with retry_transaction)");
    }

    // The options it began with.
    const TransactionOptions& options() const noexcept { return options_; }

    // The connection the transaction runs on.
    Connection& connection() const noexcept { return connection_; }

private:
    void require_active(const char* what) const { detail::require_active(active_, what); }

    Connection& connection_;
    TransactionOptions options_;
    bool active_ = false;
    bool rolled_back_by_server_ = false; // a deadlock was seen: InnoDB rolled the whole transaction back
    std::uint64_t deadlocks_at_begin_ = 0; // the connection's deadlocks_seen() when the transaction began
    bool doomed_ = false;                // a Savepoint failed to roll back: work meant to be undone may remain
};

} // namespace respool::mariadb
#endif // RESPOOL_MARIADB_TRANSACTION_HPP_INCLUDED
