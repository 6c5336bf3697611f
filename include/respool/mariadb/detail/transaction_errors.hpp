#pragma once
#ifndef RESPOOL_MARIADB_DETAIL_TRANSACTION_ERRORS_HPP_INCLUDED
#define RESPOOL_MARIADB_DETAIL_TRANSACTION_ERRORS_HPP_INCLUDED
// The errors Transaction and AsyncTransaction report alike. Not API.
#include <string>

#include "../error.hpp"

namespace respool::mariadb::detail {

// Throws errc::transaction_state unless the transaction is `active`; `what` names the refused call.
inline void require_active(bool active, const char* what) {
    if (!active) throw Error(errc::transaction_state, std::string(what) + ": the transaction has already ended");
}

// Refuses to begin a transaction on a connection that is broken but still holds a session handle: its session was
// lost (or marked unusable), so the status it last reported, an open transaction included, no longer means anything.
// Reported as the disconnect it is (2006), not as a transaction already open.
inline void require_unbroken(bool broken, bool has_session) {
    if (broken && has_session)
        throw Error(server_errno::server_gone, "HY000",
                    "the connection is broken (its session was lost or marked unusable) and cannot begin a transaction",
                    "START TRANSACTION");
}

// Why a COMMIT is not sent: an earlier statement lost the connection. The server rolls back a transaction whose
// session is gone.
inline Error commit_after_lost_connection() {
    return Error(errc::transaction_state,
                 "commit: the connection was lost before COMMIT; the server rolled the transaction back");
}

// Why a COMMIT is not sent: the server's status flags say no transaction is open any more.
inline Error commit_without_transaction() {
    return Error(errc::transaction_state,
                 "commit: the server has no open transaction on this connection: it was ended by a ROLLBACK, a "
                 "deadlock or a statement that commits implicitly (DDL), and what ran after that ran in autocommit mode");
}

// What a COMMIT that failed with the disconnect `lost` is reported as: errc::commit_outcome_unknown, with the
// server errno and SQLSTATE of `lost`.
inline Error commit_outcome_unknown(const Error& lost) {
    return Error(errc::commit_outcome_unknown,
                 std::string("COMMIT lost the connection; the transaction may or may not be committed: ") + lost.what(),
                 lost.server_errno(), lost.sqlstate());
}

} // namespace respool::mariadb::detail
#endif // RESPOOL_MARIADB_DETAIL_TRANSACTION_ERRORS_HPP_INCLUDED
