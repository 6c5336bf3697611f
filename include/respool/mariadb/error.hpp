#pragma once
#ifndef RESPOOL_MARIADB_ERROR_HPP_INCLUDED
#define RESPOOL_MARIADB_ERROR_HPP_INCLUDED
// respool::mariadb::Error: a failure reported by the server, by Connector/C or by the adapter itself, carrying the
// MariaDB error number, the SQLSTATE and the server's message.
#include <mysql.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

#include "../errors.hpp"

namespace respool::mariadb {

// MariaDB error numbers the adapter and its users act on. Spelled as numbers so that including the adapter does not
// bring in Connector/C's errmsg.h and mysqld_error.h, whose ~1,300 macros (ER(), CR_...) would reach the user's code;
// a test checks each against those headers.
namespace server_errno {
inline constexpr unsigned access_denied = 1045;            // ER_ACCESS_DENIED_ERROR
inline constexpr unsigned server_shutdown = 1053;          // ER_SERVER_SHUTDOWN
inline constexpr unsigned aborting_connection = 1152;      // ER_ABORTING_CONNECTION
inline constexpr unsigned net_packet_too_large = 1153;     // ER_NET_PACKET_TOO_LARGE: the server closes the session
inline constexpr unsigned net_read_error_from_pipe = 1154; // ER_NET_READ_ERROR_FROM_PIPE
inline constexpr unsigned net_fcntl_error = 1155;          // ER_NET_FCNTL_ERROR
inline constexpr unsigned net_packets_out_of_order = 1156; // ER_NET_PACKETS_OUT_OF_ORDER
inline constexpr unsigned net_uncompress_error = 1157;     // ER_NET_UNCOMPRESS_ERROR
inline constexpr unsigned net_read_error = 1158;           // ER_NET_READ_ERROR
inline constexpr unsigned net_read_interrupted = 1159;     // ER_NET_READ_INTERRUPTED
inline constexpr unsigned net_error_on_write = 1160;       // ER_NET_ERROR_ON_WRITE
inline constexpr unsigned net_write_interrupted = 1161;    // ER_NET_WRITE_INTERRUPTED
inline constexpr unsigned new_aborting_connection = 1184;  // ER_NEW_ABORTING_CONNECTION
inline constexpr unsigned lock_wait_timeout = 1205;        // ER_LOCK_WAIT_TIMEOUT: retried by the transaction helpers
inline constexpr unsigned deadlock = 1213;                 // ER_LOCK_DEADLOCK: retried by the transaction helpers
inline constexpr unsigned parse_error = 1064;              // ER_PARSE_ERROR
inline constexpr unsigned not_supported_yet = 1235;        // ER_NOT_SUPPORTED_YET
inline constexpr unsigned savepoint_does_not_exist = 1305; // ER_SP_DOES_NOT_EXIST
inline constexpr unsigned query_interrupted = 1317;        // ER_QUERY_INTERRUPTED: KILL QUERY; the connection survives
inline constexpr unsigned too_many_prepared_statements = 1461; // ER_MAX_PREPARED_STMT_COUNT_REACHED
inline constexpr unsigned connection_killed = 1927;        // ER_CONNECTION_KILLED
inline constexpr unsigned unknown_client_error = 2000;     // CR_UNKNOWN_ERROR
inline constexpr unsigned connection_error = 2002;         // CR_CONNECTION_ERROR: cannot connect (socket)
inline constexpr unsigned conn_host_error = 2003;          // CR_CONN_HOST_ERROR: cannot connect (TCP)
inline constexpr unsigned server_gone = 2006;              // CR_SERVER_GONE_ERROR
inline constexpr unsigned out_of_memory = 2008;            // CR_OUT_OF_MEMORY
inline constexpr unsigned server_lost = 2013;              // CR_SERVER_LOST
inline constexpr unsigned commands_out_of_sync = 2014;     // CR_COMMANDS_OUT_OF_SYNC: the session is unusable
inline constexpr unsigned ssl_connection_error = 2026;     // CR_SSL_CONNECTION_ERROR
inline constexpr unsigned server_lost_extended = 2055;     // CR_SERVER_LOST_EXTENDED
inline constexpr unsigned new_statement_metadata = 2057;   // CR_NEW_STMT_METADATA: a prepared result's columns changed
inline constexpr unsigned net_read = 5013;                 // CR_ERR_NET_READ
inline constexpr unsigned net_write = 5014;                // CR_ERR_NET_WRITE
// Not here on purpose: 4031 is ER_CLIENT_INTERACTION_TIMEOUT (a disconnect) only in MySQL 8; in MariaDB it is
// ER_REFERENCED_TRG_DOES_NOT_EXIST, a trigger error.
} // namespace server_errno

// True when `code` (a mysql_errno value) means the connection is gone or unusable: the lease's connection must be
// destroyed, and with ValidatorOptions::disconnect_invalidates_pool every other connection too.
constexpr bool is_disconnect_errno(unsigned code) noexcept {
    switch (code) {
    case server_errno::server_shutdown:
    case server_errno::aborting_connection:
    case server_errno::net_packet_too_large:
    case server_errno::net_read_error_from_pipe:
    case server_errno::net_fcntl_error:
    case server_errno::net_packets_out_of_order:
    case server_errno::net_uncompress_error:
    case server_errno::net_read_error:
    case server_errno::net_read_interrupted:
    case server_errno::net_error_on_write:
    case server_errno::net_write_interrupted:
    case server_errno::new_aborting_connection:
    case server_errno::connection_killed:
    case server_errno::connection_error:
    case server_errno::conn_host_error:
    case server_errno::server_gone:
    case server_errno::server_lost:
    case server_errno::commands_out_of_sync:
    case server_errno::ssl_connection_error:
    case server_errno::server_lost_extended:
    case server_errno::net_read:
    case server_errno::net_write: return true;
    default: return false;
    }
}

// Failures the adapter itself detects (no server error number; server_errno() is 0 unless noted).
enum class errc {
    null_value = 1,         // get<T> on a NULL column; use get<std::optional<T>>
    type_mismatch,          // a column's value does not convert to the requested type
    no_such_column,         // a column index out of range or an unknown column name
    argument_count,         // the number of bound arguments differs from the statement's placeholders
    commit_outcome_unknown, // COMMIT lost the connection: it may or may not have been applied (server_errno() set)
    lock_not_available,     // a NOWAIT / SKIP-less locking read found the row locked (server_errno() 1205)
    transaction_state,      // a transaction call at the wrong time (commit after rollback, lock outside one)
    no_session,             // a Connection that was moved from: it holds no session
};

namespace detail {
class ServerCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "mariadb"; }
    std::string message(int value) const override {
        if (value >= 2000 && value < 3000) return "MariaDB client error " + std::to_string(value);
        if (value >= 5000 && value < 6000) return "MariaDB Connector/C error " + std::to_string(value);
        return "MariaDB server error " + std::to_string(value);
    }
};

class AdapterCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "respool.mariadb"; }
    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
        case errc::null_value: return "the column is NULL";
        case errc::type_mismatch: return "the column's value does not convert to the requested type";
        case errc::no_such_column: return "no such column";
        case errc::argument_count: return "wrong number of bound arguments";
        case errc::commit_outcome_unknown: return "the connection was lost during COMMIT; its outcome is unknown";
        case errc::lock_not_available: return "the lock is not available";
        case errc::transaction_state: return "not allowed in the transaction's current state";
        case errc::no_session: return "the connection was moved from and holds no session";
        }
        return "unknown respool.mariadb error";
    }
};
} // namespace detail

// The category of MariaDB error numbers (mysql_errno values): server errors, client errors (2xxx) and Connector/C
// errors (5xxx). One instance per process, shared objects included.
RESPOOL_PROCESS_WIDE inline const std::error_category& server_category() noexcept {
    static const detail::ServerCategory category;
    return category;
}

// The category of respool::mariadb::errc values; one instance per process.
RESPOOL_PROCESS_WIDE inline const std::error_category& error_category() noexcept {
    static const detail::AdapterCategory category;
    return category;
}

inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), error_category()}; }

// What every adapter call throws on failure. code() is {server_errno(), server_category()} for errors reported by
// the server or Connector/C, and an errc value otherwise.
class Error : public respool::Error {
public:
    // A MariaDB error number with its SQLSTATE and message; `context` says what was being done.
    Error(unsigned server_errno, std::string sqlstate, std::string_view message, std::string_view context)
        : respool::Error(std::error_code(static_cast<int>(server_errno), server_category()),
                         compose(context, message, server_errno, sqlstate)),
          server_errno_(server_errno), sqlstate_(std::move(sqlstate)) {}

    // An adapter failure; `server_errno` and `sqlstate` carry an underlying server error, if any.
    Error(errc code, std::string_view message, unsigned server_errno = 0, std::string sqlstate = {})
        : respool::Error(make_error_code(code), std::string(message)), server_errno_(server_errno),
          sqlstate_(std::move(sqlstate)) {}

    // The mysql_errno value (e.g. 1213), or 0 for a failure the adapter found by itself.
    unsigned server_errno() const noexcept { return server_errno_; }
    // The five-character SQLSTATE (e.g. "40001"), or empty when there is none.
    const std::string& sqlstate() const noexcept { return sqlstate_; }
    // The connection is gone or unusable (see is_disconnect_errno); it will not be reused.
    bool is_disconnect() const noexcept { return is_disconnect_errno(server_errno_); }
    // InnoDB chose this transaction as a deadlock victim (1213); the whole transaction was rolled back.
    bool is_deadlock() const noexcept { return server_errno_ == server_errno::deadlock; }
    // A lock wait timed out (1205); only the statement was rolled back unless innodb_rollback_on_timeout is on.
    bool is_lock_wait_timeout() const noexcept { return server_errno_ == server_errno::lock_wait_timeout; }

private:
    static std::string compose(std::string_view context, std::string_view message, unsigned code,
                               std::string_view sqlstate) {
        std::string out(context);
        if (!out.empty()) out += ": ";
        out += message.empty() ? std::string_view("(no message)") : message;
        out += " [errno ";
        out += std::to_string(code);
        if (!sqlstate.empty()) {
            out += ", SQLSTATE ";
            out += sqlstate;
        }
        out += ']';
        return out;
    }

    unsigned server_errno_;
    std::string sqlstate_;
};

} // namespace respool::mariadb

template <>
struct std::is_error_code_enum<respool::mariadb::errc> : std::true_type {};
#endif // RESPOOL_MARIADB_ERROR_HPP_INCLUDED
