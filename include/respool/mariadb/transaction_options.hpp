#pragma once
#ifndef RESPOOL_MARIADB_TRANSACTION_OPTIONS_HPP_INCLUDED
#define RESPOOL_MARIADB_TRANSACTION_OPTIONS_HPP_INCLUDED
// TransactionOptions: how a Transaction begins (isolation level, access mode, consistent snapshot).
#include <string>
#include <string_view>

namespace respool::mariadb {

// The isolation level of one transaction. server_default keeps the session's (@@tx_isolation, REPEATABLE READ unless
// configured otherwise).
enum class IsolationLevel { server_default, read_uncommitted, read_committed, repeatable_read, serializable };

// READ ONLY or READ WRITE; server_default keeps the session's (@@tx_read_only).
enum class AccessMode { server_default, read_write, read_only };

// An aggregate: designated initializers work (`{.isolation = IsolationLevel::read_committed}`).
struct TransactionOptions {
    // Applied with SET TRANSACTION ISOLATION LEVEL just before START TRANSACTION: one more round trip, and only
    // for this transaction (the session's level is unchanged).
    IsolationLevel isolation = IsolationLevel::server_default;
    AccessMode access = AccessMode::server_default;
    // START TRANSACTION WITH CONSISTENT SNAPSHOT: the read view is taken at the start rather than at the first read.
    bool consistent_snapshot = false;
};

namespace detail {
inline std::string_view isolation_sql(IsolationLevel level) noexcept {
    switch (level) {
    case IsolationLevel::read_uncommitted: return "READ UNCOMMITTED";
    case IsolationLevel::read_committed: return "READ COMMITTED";
    case IsolationLevel::repeatable_read: return "REPEATABLE READ";
    case IsolationLevel::serializable: return "SERIALIZABLE";
    case IsolationLevel::server_default: break;
    }
    return {};
}

// "START TRANSACTION[ READ ONLY| READ WRITE][, WITH CONSISTENT SNAPSHOT]"
inline std::string start_transaction_sql(const TransactionOptions& o) {
    std::string sql = "START TRANSACTION";
    bool first = true;
    auto add = [&](std::string_view part) {
        sql += first ? " " : ", ";
        sql += part;
        first = false;
    };
    if (o.access == AccessMode::read_only) add("READ ONLY");
    if (o.access == AccessMode::read_write) add("READ WRITE");
    if (o.consistent_snapshot) add("WITH CONSISTENT SNAPSHOT");
    return sql;
}
} // namespace detail

} // namespace respool::mariadb
#endif // RESPOOL_MARIADB_TRANSACTION_OPTIONS_HPP_INCLUDED
