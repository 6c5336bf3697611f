#pragma once
#ifndef RESPOOL_MARIADB_ROW_LOCK_HPP_INCLUDED
#define RESPOOL_MARIADB_ROW_LOCK_HPP_INCLUDED
// LockingRead: builds and runs SELECT … FOR UPDATE / LOCK IN SHARE MODE [NOWAIT | WAIT n | SKIP LOCKED] inside a
// transaction, refusing to run where InnoDB would silently take no lock.
#include <mysql.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "connection.hpp"
#include "detail/sql.hpp"
#include "error.hpp"
#include "identifier.hpp"
#include "result.hpp"
#include "transaction.hpp"

namespace respool::mariadb {

// Which row lock a locking read takes.
enum class LockMode {
    update, // FOR UPDATE: exclusive; blocks other locking reads and writes of the rows
    share,  // LOCK IN SHARE MODE: shared; blocks writers, not other shared readers
};

// What a locking read does when a row is locked by another transaction.
enum class LockWait {
    wait,        // waits up to innodb_lock_wait_timeout (50 s by default), then fails with 1205 (retryable)
    nowait,      // NOWAIT: fails at once with errc::lock_not_available (MariaDB >= 10.3)
    wait_for,    // WAIT n: waits up to n seconds, then fails with 1205 (retryable) (MariaDB >= 10.3)
    skip_locked, // SKIP LOCKED: leaves the locked rows out of the result (MariaDB >= 10.6)
};

// A locking read, built step by step and run inside a transaction with bound arguments:
//
//   auto rows = LockingRead::from("users").columns({"id", "age"}).where("name = ?").for_update().nowait()
//                   .run(tx, "John");
//
// Table, column and ORDER BY names go into the SQL text: they are checked (see is_valid_identifier; "db.table" and
// "alias.column" are accepted) and backtick-quoted. A where() condition is SQL the program writes (as the text given
// to Connection::query), never data: values go in as `?` placeholders bound to run()'s arguments.
//
// run() refuses (errc::transaction_state) when the connection's server status says no transaction is open while
// autocommit is on: InnoDB would take the locks and drop them at the end of the statement, so the read would
// protect nothing. A NOWAIT read that finds a row locked throws errc::lock_not_available (server_errno() 1205, which
// MariaDB also uses for a lock wait timeout); retry_transaction does not retry it unless asked.
//
// A LockingRead is a value: build it once, run it from any thread (run() itself is as thread-safe as the connection
// it uses).
class LockingRead {
public:
    // SELECT … FROM `table`. Throws std::invalid_argument for an invalid table name.
    static LockingRead from(std::string_view table) {
        LockingRead read;
        read.table_ = quote_qualified_identifier(table, "table");
        return read;
    }

    // A SELECT the program wrote (joins, subqueries, expressions), to which the lock clause is appended on a line of
    // its own (trailing blanks and semicolons dropped; a trailing "-- comment" cannot swallow the clause). Values go
    // in as `?` placeholders. columns(), where(), order_by() and limit() are not available on it. Throws
    // std::invalid_argument when it does not start with the word SELECT.
    static LockingRead from_select(std::string select_sql) {
        LockingRead read;
        read.custom_select_ =
            detail::select_for_locking(std::move(select_sql), "respool::mariadb::LockingRead::from_select");
        return read;
    }

    // The columns read (default: *). Each is checked and quoted. Throws std::invalid_argument.
    LockingRead& columns(std::initializer_list<std::string_view> names) {
        require_built("columns");
        columns_.clear();
        for (const std::string_view name : names) {
            if (!columns_.empty()) columns_ += ", ";
            columns_ += quote_qualified_identifier(name, "column");
        }
        return *this;
    }

    // Adds a condition (ANDed with earlier ones), e.g. "status = ? AND due < NOW()". See the class comment.
    LockingRead& where(std::string_view condition) {
        require_built("where");
        where_ += where_.empty() ? " WHERE (" : " AND (";
        where_ += condition;
        where_ += ')';
        return *this;
    }

    // Adds the condition `column` = ? (ANDed with earlier ones). Throws std::invalid_argument.
    LockingRead& where_equal(std::string_view column) {
        const std::string quoted = quote_qualified_identifier(column, "column");
        return where(quoted + " = ?");
    }

    // Appends `column` [DESC] to the ORDER BY list. Throws std::invalid_argument.
    LockingRead& order_by(std::string_view column, bool descending = false) {
        require_built("order_by");
        order_ += order_.empty() ? " ORDER BY " : ", ";
        order_ += quote_qualified_identifier(column, "column");
        if (descending) order_ += " DESC";
        return *this;
    }

    // LIMIT n.
    LockingRead& limit(std::uint64_t n) {
        require_built("limit");
        limit_ = " LIMIT " + std::to_string(n);
        return *this;
    }

    // FOR UPDATE (the default).
    LockingRead& for_update() noexcept {
        mode_ = LockMode::update;
        return *this;
    }
    // LOCK IN SHARE MODE.
    LockingRead& for_share() noexcept {
        mode_ = LockMode::share;
        return *this;
    }
    // Waits up to innodb_lock_wait_timeout (the default).
    LockingRead& wait() noexcept {
        wait_ = LockWait::wait;
        return *this;
    }
    // NOWAIT.
    LockingRead& nowait() noexcept {
        wait_ = LockWait::nowait;
        return *this;
    }
    // WAIT n (whole seconds; 0 is NOWAIT). Throws std::invalid_argument for a negative or huge limit.
    LockingRead& wait_for(std::chrono::seconds limit) {
        if (limit.count() < 0 || limit.count() > 1'073'741'824)
            throw std::invalid_argument("respool::mariadb::LockingRead::wait_for: the limit must be 0 to 1073741824 s");
        if (limit.count() == 0) return nowait();
        wait_ = LockWait::wait_for;
        wait_seconds_ = limit;
        return *this;
    }
    // SKIP LOCKED.
    LockingRead& skip_locked() noexcept {
        wait_ = LockWait::skip_locked;
        return *this;
    }

    LockMode mode() const noexcept { return mode_; }
    LockWait wait_policy() const noexcept { return wait_; }

    // The statement run() sends.
    std::string sql() const {
        std::string out;
        if (!custom_select_.empty()) {
            out = custom_select_;
        } else {
            out = "SELECT " + (columns_.empty() ? std::string("*") : columns_) + " FROM " + table_ + where_ + order_ +
                  limit_;
        }
        out += custom_select_.empty() ? " " : "\n"; // after the program's own SQL: past any trailing comment
        out += mode_ == LockMode::update ? "FOR UPDATE" : "LOCK IN SHARE MODE";
        switch (wait_) {
        case LockWait::wait: break;
        case LockWait::nowait: out += " NOWAIT"; break;
        case LockWait::wait_for: out += " WAIT " + std::to_string(wait_seconds_.count()); break;
        case LockWait::skip_locked: out += " SKIP LOCKED"; break;
        }
        return out;
    }

    // Runs the locking read in `tx` with `args` bound to its placeholders and returns the locked rows; the locks
    // last until the transaction ends. Blocks while waiting for locks as the LockWait says (bounded by
    // innodb_lock_wait_timeout or WAIT n), plus the round trip. Throws Error: errc::transaction_state (tx not active,
    // or the server has no open transaction), errc::lock_not_available (NOWAIT), 1205 (lock wait timeout), 1213
    // (deadlock: tx remembers it), 1235 (a clause the server's version lacks), or another server error.
    template <class... Args>
    Result run(Transaction& tx, const Args&... args) const {
        if (!tx.active())
            throw Error(errc::transaction_state, "LockingRead: the transaction has already ended; no lock would be held");
        tx.require_not_ended_by_server("LockingRead");
        try {
            return run(tx.connection(), args...);
        } catch (const Error& e) {
            tx.note_failure(e);
            throw;
        }
    }

    // The same on a connection whose transaction the caller manages (START TRANSACTION, or autocommit off).
    template <class... Args>
    Result run(Connection& connection, const Args&... args) const {
        require_transaction(connection, "refusing to run");
        check_server_supports(connection);
        const std::string statement = sql();
        Result rows;
        try {
            rows = connection.query(statement, args...);
        } catch (const Error& e) {
            if (wait_ == LockWait::nowait && e.code().category() == server_category() &&
                (e.is_lock_wait_timeout() || e.server_errno() == mysql_lock_nowait))
                throw Error(errc::lock_not_available,
                            "NOWAIT: a row is locked by another transaction (" + std::string(e.what()) + ")",
                            e.server_errno(), e.sqlstate());
            throw;
        }
        // The reply's status is fresh: if it says no transaction, the locks are already gone (the status checked
        // above was stale, e.g. after a deadlock that ended the transaction).
        require_transaction(connection, "the read ran, but");
        return rows;
    }

private:
    // MySQL 8's ER_LOCK_NOWAIT, for servers other than MariaDB (MariaDB reports 1205).
    static constexpr unsigned mysql_lock_nowait = 3572;

    LockingRead() = default;

    void require_built(const char* what) const {
        if (!custom_select_.empty())
            throw std::invalid_argument(std::string("respool::mariadb::LockingRead::") + what +
                                        ": not available on a read made with from_select()");
    }

    void require_transaction(const Connection& c, std::string_view what) const {
        const unsigned status = c.server_status();
        if ((status & SERVER_STATUS_IN_TRANS) == 0 && (status & SERVER_STATUS_AUTOCOMMIT) != 0)
            throw Error(errc::transaction_state,
                        "LockingRead: " + std::string(what) +
                            ": no transaction is open on this connection and autocommit is on, so InnoDB would "
                            "release the row locks as soon as the statement ends; run it inside a Transaction");
    }

    void check_server_supports(Connection& c) const {
        MYSQL* handle = c.native_handle();
        if (wait_ == LockWait::wait || !handle || !mariadb_connection(handle)) return;
        const unsigned long version = mysql_get_server_version(handle); // 10.11.19 -> 101119
        const unsigned long needed = wait_ == LockWait::skip_locked ? 100600 : 100300;
        if (version < needed)
            throw Error(server_errno::not_supported_yet, "42000",
                        std::string(wait_ == LockWait::skip_locked ? "SKIP LOCKED needs MariaDB 10.6"
                                                                   : "NOWAIT and WAIT n need MariaDB 10.3") +
                            " or newer; the server is " + std::to_string(version / 10000) + "." +
                            std::to_string(version / 100 % 100) + "." + std::to_string(version % 100),
                        "LockingRead");
    }

    std::string table_;
    std::string custom_select_;
    std::string columns_;
    std::string where_;
    std::string order_;
    std::string limit_;
    LockMode mode_ = LockMode::update;
    LockWait wait_ = LockWait::wait;
    std::chrono::seconds wait_seconds_{0};
};

// lock_rows(tx, read, args...): read.run(tx, args...), for those who prefer a function.
template <class... Args>
Result lock_rows(Transaction& tx, const LockingRead& read, const Args&... args) {
    return read.run(tx, args...);
}

} // namespace respool::mariadb
#endif // RESPOOL_MARIADB_ROW_LOCK_HPP_INCLUDED
