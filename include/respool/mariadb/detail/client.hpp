#pragma once
#ifndef RESPOOL_MARIADB_DETAIL_CLIENT_HPP_INCLUDED
#define RESPOOL_MARIADB_DETAIL_CLIENT_HPP_INCLUDED
// The Connector/C handles and errors Connection and AsyncConnection share: library start-up, owning pointers for
// results and statements, turning a handle's error into an Error, the placeholder count check. Not API. No I/O.
#include <mysql.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "../error.hpp"
#include "sql.hpp"

namespace respool::mariadb::detail {

// mysql_library_init is not thread-safe and mysql_init calls it on first use: run it once, under a magic static.
inline void init_library() {
    static const int rc = mysql_library_init(0, nullptr, nullptr);
    if (rc != 0) throw Error(server_errno::unknown_client_error, "HY000", "mysql_library_init failed", "initialising Connector/C");
}

// Connector/C reads the reply to COM_RESET_CONNECTION without taking the status flags from it, so the handle keeps
// those of the reply before (a transaction open, autocommit off) until the next statement. A reset session has no
// transaction open and autocommit as connecting left it (init statements, run next, report their own): record that,
// so that in_transaction() and the return-time cleaning see the session as it is.
inline void note_session_reset(MYSQL* handle, bool autocommit) noexcept {
    constexpr unsigned stale = SERVER_STATUS_IN_TRANS | SERVER_STATUS_IN_TRANS_READONLY | SERVER_MORE_RESULTS_EXIST |
                               SERVER_STATUS_AUTOCOMMIT;
    handle->server_status = (handle->server_status & ~stale) | (autocommit ? SERVER_STATUS_AUTOCOMMIT : 0u);
}

// Whether a session may still be reused, as Connection and AsyncConnection track it: broken (unfit for reuse, for any
// reason) or, more specifically, disconnected (the session is gone), and since when.
struct SessionHealth {
    bool broken = false;
    bool disconnected = false;
    std::chrono::steady_clock::time_point broken_at{}; // when `broken` was first set

    void mark_broken() noexcept {
        if (!broken) broken_at = std::chrono::steady_clock::now();
        broken = true;
    }
    void mark_disconnected() noexcept {
        mark_broken();
        disconnected = true;
    }
};

struct ResultDeleter {
    void operator()(MYSQL_RES* r) const noexcept { mysql_free_result(r); }
};
using ResultPtr = std::unique_ptr<MYSQL_RES, ResultDeleter>;

struct StatementDeleter {
    void operator()(MYSQL_STMT* s) const noexcept { mysql_stmt_close(s); }
};
using StatementPtr = std::unique_ptr<MYSQL_STMT, StatementDeleter>;

// Throws the session's current error, with `context` saying what was being done.
[[noreturn]] inline void throw_session_error(MYSQL* handle, const std::string& context) {
    throw Error(mysql_errno(handle), mysql_sqlstate(handle), mysql_error(handle), context);
}

// Throws the statement's current error, with `context` saying what was being done.
[[noreturn]] inline void throw_statement_error(MYSQL_STMT* stmt, const std::string& context) {
    throw Error(mysql_stmt_errno(stmt), mysql_stmt_sqlstate(stmt), mysql_stmt_error(stmt), context);
}

[[noreturn]] inline void throw_argument_count(std::string_view sql, std::size_t placeholders, std::size_t arguments) {
    throw Error(errc::argument_count, sql_excerpt(sql) + " has " + std::to_string(placeholders) +
                                          " placeholders but " + std::to_string(arguments) + " arguments were given");
}

// Throws errc::argument_count unless the prepared `stmt` (whose text is `sql`) has `arguments` placeholders.
inline void check_placeholders(MYSQL_STMT* stmt, std::string_view sql, std::size_t arguments) {
    const unsigned long placeholders = mysql_stmt_param_count(stmt);
    if (placeholders != arguments) throw_argument_count(sql, placeholders, arguments);
}

// After the server refused `sql`, sent as text (no arguments), with a syntax error: throws errc::argument_count
// (with the server's message) when the statement has `?` placeholders, which only a prepared statement with
// arguments can fill. Otherwise returns, and the caller reports the server's error. The server decides what is valid
// SQL; this only names the likely cause of its refusal.
inline void classify_syntax_error(MYSQL* handle, std::string_view sql) {
    if (mysql_errno(handle) != server_errno::parse_error || sql.find('?') == std::string_view::npos) return;
    unsigned int status = 0; // the session's sql_mode decides how its strings end
    mariadb_get_infov(handle, MARIADB_CONNECTION_SERVER_STATUS, &status);
    const std::size_t placeholders = count_placeholders(sql, (status & SERVER_STATUS_NO_BACKSLASH_ESCAPES) == 0);
    if (placeholders == 0) return;
    throw Error(errc::argument_count, sql_excerpt(sql) + " has " + std::to_string(placeholders) +
                                          " placeholders but 0 arguments were given (the server: " +
                                          mysql_error(handle) + ")");
}

} // namespace respool::mariadb::detail
#endif // RESPOOL_MARIADB_DETAIL_CLIENT_HPP_INCLUDED
