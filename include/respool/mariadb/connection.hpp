#pragma once
#ifndef RESPOOL_MARIADB_CONNECTION_HPP_INCLUDED
#define RESPOOL_MARIADB_CONNECTION_HPP_INCLUDED
// Connection: one session with a MariaDB server over Connector/C, move-only, with a small safe query API.
#include <mysql.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "connect_options.hpp"
#include "detail/bind.hpp"
#include "detail/client.hpp"
#include "detail/connect.hpp"
#include "detail/rows.hpp"
#include "detail/sql.hpp"
#include "detail/statement_cache.hpp"
#include "detail/value.hpp"
#include "error.hpp"
#include "result.hpp"
#include "row.hpp"

namespace respool::mariadb {

// Owns one MYSQL* session. Auto-reconnect is off: a silent reconnect would lose the transaction, locks and session
// state the caller relies on, so a lost connection is reported (Error::is_disconnect) and the connection marks itself
// broken; a pool then destroys it instead of reusing it.
//
// Thread safety: a Connection is used by one thread at a time (Connector/C sessions are not thread-safe); it may
// move between threads. Every call that talks to the server blocks for that round trip, bounded by read_timeout and
// write_timeout when they are set.
class Connection {
public:
    using Clock = std::chrono::steady_clock;

    // Connects and runs the init statements. Blocks up to connect_timeout for the connection (plus the statements).
    // Throws Error with the server's or client's error (e.g. 1045 access denied, 2002/2003 cannot connect), or
    // std::invalid_argument naming an invalid option.
    explicit Connection(ConnectOptions options)
        : options_(detail::validated(std::move(options))), statements_(options_.statement_cache_size) {
        detail::init_library();
        handle_ = mysql_init(nullptr);
        if (!handle_) throw std::bad_alloc();
        try {
            connect();
        } catch (...) {
            mysql_close(std::exchange(handle_, nullptr));
            throw;
        }
    }

    Connection(Connection&& other) noexcept
        : options_(std::move(other.options_)), handle_(std::exchange(other.handle_, nullptr)),
          connected_at_(other.connected_at_), last_used_(other.last_used_), last_insert_id_(other.last_insert_id_),
          health_(other.health_), carryover_(other.carryover_),
          active_savepoints_(std::move(other.active_savepoints_)), statements_(std::move(other.statements_)) {}

    Connection& operator=(Connection&& other) noexcept {
        if (this != &other) {
            close();
            options_ = std::move(other.options_);
            handle_ = std::exchange(other.handle_, nullptr);
            connected_at_ = other.connected_at_;
            last_used_ = other.last_used_;
            last_insert_id_ = other.last_insert_id_;
            health_ = other.health_;
            carryover_ = other.carryover_;
            active_savepoints_ = std::move(other.active_savepoints_);
            statements_ = std::move(other.statements_);
        }
        return *this;
    }

    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Closes the session (COM_QUIT unless broken). May block for that one write.
    ~Connection() { close(); }

    // Runs a statement and returns the affected rows (for a SELECT: rows returned, which are discarded). Without
    // arguments it is sent as text; with arguments it is prepared and they are bound to its `?` placeholders (never
    // spliced into the SQL). Blocks for the round trips. Throws Error: the server's error, errc::argument_count, or a
    // disconnect (the connection is then broken).
    template <class... Args>
    std::uint64_t execute(std::string_view sql, const Args&... args) {
        if constexpr (sizeof...(Args) == 0) {
            run_text(sql);
            std::uint64_t affected = 0;
            bool first = true;
            for (;;) {
                detail::ResultPtr res(mysql_store_result(handle_));
                if (!res && mysql_field_count(handle_) != 0) fail("reading the result of " + detail::sql_excerpt(sql));
                if (first) {
                    affected = res ? static_cast<std::uint64_t>(mysql_num_rows(res.get()))
                                   : static_cast<std::uint64_t>(mysql_affected_rows(handle_));
                    last_insert_id_ = static_cast<std::uint64_t>(mysql_insert_id(handle_));
                    first = false;
                }
                if (!mysql_more_results(handle_)) break;
                if (mysql_next_result(handle_) > 0) fail("running " + detail::sql_excerpt(sql));
            }
            return affected;
        } else {
            detail::PreparedStatement prepared = run_prepared(sql, args...);
            MYSQL_STMT* stmt = prepared.stmt.get();
            if (mysql_stmt_field_count(stmt) > 0 && mysql_stmt_store_result(stmt) != 0)
                fail_statement(stmt, "reading the result of " + detail::sql_excerpt(sql));
            const auto affected = static_cast<std::uint64_t>(mysql_stmt_affected_rows(stmt));
            last_insert_id_ = static_cast<std::uint64_t>(mysql_stmt_insert_id(stmt));
            skip_more_statement_results(stmt, sql);
            statements_.give_back(std::move(prepared));
            return affected;
        }
    }

    // Runs a query and returns all its rows, read from the server before returning. Arguments as for execute().
    // Blocks for the round trips. Throws Error as execute() does.
    template <class... Args>
    Result query(std::string_view sql, const Args&... args) {
        if constexpr (sizeof...(Args) == 0) {
            return query_text(sql);
        } else {
            detail::PreparedStatement prepared = run_prepared(sql, args...);
            Result rows = read_statement_rows(prepared.stmt.get(), sql);
            statements_.give_back(std::move(prepared));
            return rows;
        }
    }

    // The AUTO_INCREMENT value the last execute() or query() generated (0 if none). Never blocks.
    std::uint64_t last_insert_id() const noexcept { return last_insert_id_; }

    // The Connector/C handle, for what this class does not offer. Call touch() after using it (and note_statement()
    // for each statement sent through it), and do not close it, change its reconnect option, or leave a result unread.
    MYSQL* native_handle() const noexcept { return handle_; }

    // Records what a statement sent through native_handle() may leave in the session for the next holder (SET
    // TRANSACTION, LOCK TABLES, GET_LOCK, BACKUP LOCK, a CALL), as execute() and query() record it for their own:
    // returning the connection to a pool then undoes it. Never blocks; sends nothing.
    void note_statement(std::string_view sql) noexcept { carryover_.marks |= detail::session_marks(sql); }

    // When this connection last completed a round trip with the server. Never blocks.
    Clock::time_point last_used() const noexcept { return last_used_; }
    // When this connection was established. Never blocks.
    Clock::time_point connected_at() const noexcept { return connected_at_; }
    // Records a round trip made through native_handle(). Never blocks.
    void touch() noexcept { last_used_ = Clock::now(); }

    // Whether a disconnect error was seen (or mark_broken() was called), or this was moved from: the session must not
    // be reused.
    bool is_broken() const noexcept { return health_.broken || handle_ == nullptr; }
    // How many deadlock errors (1213) this connection's statements have met. Each means InnoDB rolled back the whole
    // transaction open then: a Transaction compares it with its value at BEGIN. Never blocks.
    std::uint64_t deadlocks_seen() const noexcept { return deadlocks_; }
    // Marks the session unusable, e.g. after a failure whose effect on the session is unknown. Never blocks.
    void mark_broken() noexcept { health_.mark_broken(); }
    // Marks it broken because the session is gone (a disconnect error, a socket the server closed, a ping that got no
    // answer), as opposed to a failure that only makes it unfit for reuse. Never blocks.
    void mark_disconnected() noexcept { health_.mark_disconnected(); }
    // Whether mark_disconnected() was called: the validators report such a connection as DestroyReason::disconnect
    // and, with disconnect_invalidates_pool, mark the pool. Never blocks.
    bool saw_disconnect() const noexcept { return health_.disconnected; }
    // When the connection was first found broken (a disconnect error, mark_broken()); meaningless unless
    // is_broken(). A validator that invalidates the whole pool on a disconnect takes its mark from here, so that
    // connections made after the disconnect (while this one was still leased) are kept. Never blocks.
    Clock::time_point broken_at() const noexcept { return health_.broken_at; }

    // The server's status flags from its last reply (SERVER_STATUS_*). Never blocks: no round trip.
    unsigned server_status() const noexcept {
        unsigned int status = 0;
        if (handle_) mariadb_get_infov(handle_, MARIADB_CONNECTION_SERVER_STATUS, &status);
        return status;
    }
    // Whether the server's last reply said a transaction is open. Never blocks: no round trip.
    bool in_transaction() const noexcept { return (server_status() & SERVER_STATUS_IN_TRANS) != 0; }

    // The server's id for this session (what SHOW PROCESSLIST and KILL use). Never blocks.
    unsigned long thread_id() const noexcept { return handle_ ? mysql_thread_id(handle_) : 0; }

    // Whether the session runs over TLS. Never blocks.
    bool uses_tls() const noexcept { return handle_ && mysql_get_ssl_cipher(handle_) != nullptr; }

    // The options this connection was made with (init statements included).
    const ConnectOptions& options() const noexcept { return options_; }

    // COM_PING: one round trip. Throws Error (a disconnect marks the connection broken).
    void ping() {
        require_session();
        if (mysql_ping(handle_) != 0) fail("ping");
        touch();
    }

    // ROLLBACK of the open transaction, if any: one round trip. Throws Error.
    void rollback() {
        require_session();
        if (mysql_rollback(handle_) != 0) fail("ROLLBACK");
        touch();
    }

    // Records that the session may hold named locks (GET_LOCK), so returning it to a pool releases them. Statements
    // run through execute()/query() that mention GET_LOCK record it themselves. Never blocks.
    void note_named_locks() noexcept { carryover_.marks |= detail::named_locks_mark; }
    // Whether the session may hold named locks. Never blocks.
    bool may_hold_named_locks() const noexcept { return (carryover_.marks & detail::named_locks_mark) != 0; }
    // RELEASE_ALL_LOCKS(): one round trip. Throws Error.
    void release_named_locks() {
        query_text("SELECT RELEASE_ALL_LOCKS()");
        carryover_.marks &= ~unsigned{detail::named_locks_mark};
    }

    // Whether handing this session to someone else needs a round trip first: a transaction may be open (the server's
    // status flags), autocommit differs from what connecting left, or a statement run here may have taken named or
    // table locks (GET_LOCK, LOCK TABLES, FLUSH TABLES WITH READ LOCK or FOR EXPORT, BACKUP LOCK), run text that
    // cannot be seen (CALL, a compound statement) or set the next transaction's characteristics (SET TRANSACTION).
    // Session variables (SET SESSION ..., including SET SESSION TRANSACTION) are the session's own and stay:
    // ResetMode::full undoes them. Never blocks: no round trip.
    bool needs_cleaning() const noexcept { return carryover_.needs_cleaning(server_status()); }
    // Makes the session clean for its next holder with only the round trips needed (what a pool's default
    // ResetMode::rollback runs on return): ROLLBACK, autocommit back to its value after connecting, UNLOCK TABLES,
    // BACKUP UNLOCK, RELEASE_ALL_LOCKS(). Session variables, user variables and temporary tables stay (reset_session()
    // clears them). A statement that leaves what only a session reset is sure to undo (HANDLER, BACKUP STAGE, SQL
    // PREPARE, CALL, a compound statement, EXECUTE IMMEDIATE of text not written as one plain literal) makes this a
    // reset_session(). Blocks for the round trips. Throws Error.
    void clean_session() {
        if (carryover_.needs_session_reset()) return reset_session();
        if (carryover_.needs_rollback(server_status())) rollback();
        if (const char* restore = carryover_.autocommit_restore(server_status())) query_text(restore); // fresh status
        if ((carryover_.marks & detail::table_locks_mark) != 0) query_text("UNLOCK TABLES");
        if ((carryover_.marks & detail::backup_lock_mark) != 0) query_text("BACKUP UNLOCK");
        if ((carryover_.marks & detail::named_locks_mark) != 0) release_named_locks();
        carryover_.marks = 0;
    }

    // COM_RESET_CONNECTION (rolls back, drops temporary tables, user variables, prepared statements and named locks,
    // resets session variables), then the init statements again. Blocks for the round trips. Throws Error.
    void reset_session() {
        require_session();
        statements_.clear(); // the reset drops the session's prepared statements
        if (mysql_reset_connection(handle_) != 0) fail("resetting the session");
        detail::note_session_reset(handle_, carryover_.autocommit_after_connect);
        carryover_.marks = 0;
        touch();
        run_init_statements();
    }

private:
    void connect() {
        const ConnectOptions& o = options_;
        detail::apply_connect_options(handle_, o);
        if (!mysql_real_connect(handle_, detail::null_if_empty(o.host), o.user.c_str(), o.password.c_str(),
                                detail::null_if_empty(o.database), o.port, detail::null_if_empty(o.unix_socket), 0))
            throw_error(detail::connect_context(o));
        detail::require_tls_if_asked(handle_, o);
        connected_at_ = last_used_ = Clock::now();
        run_init_statements();
        // Read once, here: the reset and the init statements bring back this same state.
        carryover_.autocommit_after_connect = detail::SessionCarryover::autocommit(server_status());
    }

    void run_init_statements() {
        for (const std::string& statement : options_.init_statements) execute(statement);
        carryover_.marks = 0; // what the init statements set is the session's starting point
    }

    void close() noexcept {
        statements_.clear(); // each COM_STMT_CLOSE needs the session: before COM_QUIT
        if (handle_) mysql_close(std::exchange(handle_, nullptr));
    }

    [[noreturn]] void throw_error(const std::string& context) { detail::throw_session_error(handle_, context); }

    // Throws the session's current error; a disconnect marks the connection broken first.
    [[noreturn]] void fail(const std::string& context) {
        touch();
        if (is_disconnect_errno(mysql_errno(handle_))) mark_disconnected();
        if (mysql_errno(handle_) == server_errno::deadlock) ++deadlocks_;
        throw_error(context);
    }

    [[noreturn]] void fail_statement(MYSQL_STMT* stmt, const std::string& context) {
        touch();
        if (is_disconnect_errno(mysql_stmt_errno(stmt))) mark_disconnected();
        if (mysql_stmt_errno(stmt) == server_errno::deadlock) ++deadlocks_;
        detail::throw_statement_error(stmt, context);
    }

    // Every call that talks to the server starts here: a moved-from Connection has no handle to pass on.
    void require_session() const {
        if (!handle_) throw Error(errc::no_session, "this Connection was moved from");
    }

    void run_text(std::string_view sql) {
        require_session();
        const unsigned marks = detail::session_marks(sql);
        carryover_.marks |= marks;
        if (detail::may_change_statement_parsing(sql, marks)) statements_.clear();
        if (mysql_real_query(handle_, sql.data(), static_cast<unsigned long>(sql.size())) != 0) {
            touch();
            detail::classify_syntax_error(handle_, sql); // '?' without arguments: errc::argument_count
            fail("running " + detail::sql_excerpt(sql));
        }
        touch();
    }

    Result query_text(std::string_view sql) {
        run_text(sql);
        detail::ResultPtr res(mysql_store_result(handle_));
        if (!res) {
            if (mysql_field_count(handle_) != 0) fail("reading the result of " + detail::sql_excerpt(sql));
            last_insert_id_ = static_cast<std::uint64_t>(mysql_insert_id(handle_));
            skip_more_results(sql);
            return {};
        }
        Result rows = detail::rows_of(res.get());
        res.reset();
        skip_more_results(sql);
        return rows;
    }

    // Reads and drops further result sets (a CALL returns one more), so the session stays in sync.
    void skip_more_results(std::string_view sql) {
        while (mysql_more_results(handle_)) {
            if (mysql_next_result(handle_) > 0) fail("running " + detail::sql_excerpt(sql));
            detail::ResultPtr extra(mysql_store_result(handle_));
        }
    }

    // The prepared statement for `sql`: kept from an earlier run (no round trip) or prepared now (one). Records its
    // session marks either way. Throws Error as fail_statement() does, errc::argument_count.
    detail::PreparedStatement statement_for(std::string_view sql, std::size_t arguments) {
        require_session();
        detail::PreparedStatement prepared = statements_.take_for_run(sql, handle_);
        carryover_.marks |= prepared.marks;
        if (!prepared.stmt) {
            prepared.stmt = prepare(sql);
            statements_.note_prepared(prepared, sql, handle_);
        }
        detail::check_placeholders(prepared.stmt.get(), sql, arguments);
        return prepared;
    }

    // COM_STMT_PREPARE: one round trip. When the server's limit on prepared statements (max_prepared_stmt_count) is
    // reached, the kept ones are closed and it is tried once more.
    detail::StatementPtr prepare(std::string_view sql) {
        for (bool retried = false;; retried = true) {
            detail::StatementPtr stmt(mysql_stmt_init(handle_));
            if (!stmt) throw std::bad_alloc();
            if (mysql_stmt_prepare(stmt.get(), sql.data(), static_cast<unsigned long>(sql.size())) == 0) {
                touch();
                return stmt;
            }
            if (!retried && mysql_stmt_errno(stmt.get()) == server_errno::too_many_prepared_statements &&
                statements_.size() > 0) {
                statements_.clear();
                continue;
            }
            fail_statement(stmt.get(), "preparing " + detail::sql_excerpt(sql));
        }
    }

    // Binds `args` to the placeholders of the statement for `sql` and executes it; its result, if any, is left to be
    // read. A statement that fails is closed, never kept: closing it also reads away a result left unread (such as
    // the one Connector/C refuses with 2057 when a result's number of columns changed under a kept statement).
    template <class... Args>
    detail::PreparedStatement run_prepared(std::string_view sql, const Args&... args) {
        detail::PreparedStatement prepared = statement_for(sql, sizeof...(Args));
        std::array<detail::ParamSlot, sizeof...(Args)> params{}; // read by mysql_stmt_execute, not after it
        std::array<MYSQL_BIND, sizeof...(Args)> binds{};
        bind_all(prepared.stmt.get(), params, binds, sql, std::index_sequence_for<Args...>{}, args...);
        if (mysql_stmt_execute(prepared.stmt.get()) != 0)
            fail_statement(prepared.stmt.get(), "running " + detail::sql_excerpt(sql));
        touch();
        return prepared;
    }

    template <std::size_t N, std::size_t... I, class... Args>
    void bind_all(MYSQL_STMT* stmt, std::array<detail::ParamSlot, N>& params, std::array<MYSQL_BIND, N>& binds,
                  std::string_view sql, std::index_sequence<I...>, const Args&... args) {
        (detail::bind_param(binds[I], params[I], args), ...);
        if (mysql_stmt_bind_param(stmt, binds.data()) != 0)
            fail_statement(stmt, "binding the arguments of " + detail::sql_excerpt(sql));
    }

    // Reads every row of an executed statement; integers in binary form, everything else as text.
    Result read_statement_rows(MYSQL_STMT* stmt, std::string_view sql) {
        detail::ResultPtr meta(mysql_stmt_result_metadata(stmt));
        if (!meta) {
            if (mysql_stmt_errno(stmt) != 0) fail_statement(stmt, "reading the result of " + detail::sql_excerpt(sql));
            last_insert_id_ = static_cast<std::uint64_t>(mysql_stmt_insert_id(stmt));
            skip_more_statement_results(stmt, sql);
            return {};
        }
        detail::request_max_length(stmt);
        if (mysql_stmt_store_result(stmt) != 0)
            fail_statement(stmt, "reading the result of " + detail::sql_excerpt(sql));
        touch();
        Result rows;
        try {
            rows = detail::rows_of(stmt, meta.get(), sql);
        } catch (const Error& e) { // as fail_statement() would
            touch();
            if (e.is_disconnect()) mark_disconnected();
            if (e.is_deadlock()) ++deadlocks_;
            throw;
        }
        mysql_stmt_free_result(stmt);
        skip_more_statement_results(stmt, sql);
        return rows;
    }

    // A CALL sends a result set per SELECT in the procedure, then its own status. Reads (and drops) what follows the
    // first, so that an error the procedure raised later reaches the caller: closing the statement would skip it.
    void skip_more_statement_results(MYSQL_STMT* stmt, std::string_view sql) {
        while (mysql_stmt_more_results(stmt)) {
            const int rc = mysql_stmt_next_result(stmt);
            if (rc > 0) fail_statement(stmt, "running " + detail::sql_excerpt(sql));
            if (rc < 0) break;
            if (mysql_stmt_field_count(stmt) > 0) {
                if (mysql_stmt_store_result(stmt) != 0)
                    fail_statement(stmt, "reading the result of " + detail::sql_excerpt(sql));
                mysql_stmt_free_result(stmt);
            }
        }
        touch();
    }

    ConnectOptions options_;
    MYSQL* handle_ = nullptr;
    Clock::time_point connected_at_{};
    Clock::time_point last_used_{};
    std::uint64_t last_insert_id_ = 0;
    detail::SessionHealth health_;
    std::uint64_t deadlocks_ = 0; // 1213 errors seen: see deadlocks_seen()
    detail::SessionCarryover carryover_; // what the return-time cleaning must undo
    // The quoted names of the Savepoint guards alive on this session: a second guard of the same name would move
    // the first one's savepoint, so Savepoint refuses it.
    std::vector<std::string> active_savepoints_;
    detail::StatementCache statements_; // statements run with arguments, prepared once (statement_cache_size)
    friend class Savepoint;
};

} // namespace respool::mariadb
#endif // RESPOOL_MARIADB_CONNECTION_HPP_INCLUDED
