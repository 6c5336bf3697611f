#pragma once
#ifndef RESPOOL_MARIADB_TRANSACTION_HPP_INCLUDED
#define RESPOOL_MARIADB_TRANSACTION_HPP_INCLUDED
// Transaction: RAII over one connection's transaction; rolled back unless committed.
#include <concepts>
#include <string>

#include "connection.hpp"
#include "error.hpp"

namespace respool::mariadb {

// Begins on construction, commit() or rollback() ends it; ending the scope uncommitted (an exception included) rolls
// it back. A COMMIT that loses the connection throws errc::commit_outcome_unknown: it may or may not have been
// applied, and must not be blindly retried.
//
// Thread safety: as the Connection: one thread at a time. Not copyable or movable; it refers to the connection,
// which must outlive it.
class Transaction {
public:
    // START TRANSACTION on `connection`: one round trip. Throws Error (errc::transaction_state when a transaction is
    // already open on it).
    explicit Transaction(Connection& connection) : connection_(connection) {
        if (connection_.in_transaction())
            throw Error(errc::transaction_state, "a transaction is already open on this connection");
        connection_.execute("START TRANSACTION");
        active_ = true;
    }

    // The same, on a lease's connection (`Transaction tx(lease)`); the lease must outlive the transaction.
    template <class Lease>
        requires requires(Lease& lease) {
            { *lease } -> std::same_as<Connection&>;
        }
    explicit Transaction(Lease& lease) : Transaction(*lease) {}

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
    // was lost, errc::transaction_state when not active, or the server's error (the transaction is then rolled back
    // by the destructor).
    void commit() {
        require_active("commit");
        try {
            connection_.execute("COMMIT");
        } catch (const Error& e) {
            if (!e.is_disconnect()) throw;
            active_ = false;
            throw Error(errc::commit_outcome_unknown,
                        std::string("COMMIT lost the connection; the transaction may or may not be committed: ") +
                            e.what(),
                        e.server_errno(), e.sqlstate());
        }
        active_ = false;
    }

    // ROLLBACK: one round trip. Throws Error (errc::transaction_state when not active, or a disconnect).
    void rollback() {
        require_active("rollback");
        active_ = false;
        connection_.rollback();
    }

    // Whether neither commit() nor rollback() has ended it.
    bool active() const noexcept { return active_; }

    // The connection the transaction runs on.
    Connection& connection() const noexcept { return connection_; }

private:
    void require_active(const char* what) const {
        if (!active_)
            throw Error(errc::transaction_state, std::string(what) + ": the transaction has already ended");
    }

    Connection& connection_;
    bool active_ = false;
};

} // namespace respool::mariadb
#endif // RESPOOL_MARIADB_TRANSACTION_HPP_INCLUDED
