#pragma once
#ifndef RESPOOL_MARIADB_ASYNC_CONNECTION_HPP_INCLUDED
#define RESPOOL_MARIADB_ASYNC_CONNECTION_HPP_INCLUDED
// AsyncConnection: one MariaDB session driven by Connector/C's non-blocking API and Asio, for C++20 coroutines.
#include <utility> // before Asio: Boost 1.74's Asio uses std::exchange without including it

#include <mysql.h>
#include <sys/socket.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <array>
#include <cassert>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "../detail/deadline.hpp"
#include "connect_options.hpp"
#include "connection.hpp"
#include "detail/async_io.hpp"
#include "detail/bind.hpp"
#include "detail/client.hpp"
#include "detail/connect.hpp"
#include "detail/rows.hpp"
#include "detail/sql.hpp"
#include "detail/statement_cache.hpp"
#include "error.hpp"
#include "result.hpp"
#include "row.hpp"

namespace respool::mariadb {

// Every call that talks to the server is a coroutine (boost::asio::awaitable) that suspends instead of blocking: the
// Connector/C *_start / *_cont calls run on the awaiting coroutine's thread, and between them the coroutine waits
// for the socket (or Connector/C's timeout) through Asio. Constructing one does no I/O; async_connect() connects.
//
// As Connection: auto-reconnect is off, a disconnect marks the connection broken, arguments are bound to `?`
// placeholders (never spliced into the SQL), and results are read whole into a Result before the call completes.
//
// Thread safety: one operation at a time (a second one while one is in flight is a precondition violation); the
// connection may be used from any thread in turn. The executor given at construction must outlive the connection
// (destroy pools and connections before their io_context). Blocking left: resolving a host name while connecting
// (use an address, or "localhost" for the Unix socket) and the COM_QUIT write when the connection is destroyed.
//
// A coroutine destroyed while one of its operations is in flight leaves the session in an unknown state: the
// connection shuts its socket down (so that nothing later waits on it) and marks itself broken.
class AsyncConnection {
public:
    using executor_type = boost::asio::any_io_executor;
    using Clock = std::chrono::steady_clock;
    template <class T>
    using Awaitable = boost::asio::awaitable<T>;

    // An unconnected session whose waits run on `executor`. No I/O. Throws Error when Connector/C cannot set it up,
    // std::invalid_argument naming an invalid option.
    AsyncConnection(executor_type executor, ConnectOptions options)
        : s_(std::make_unique<State>(std::move(executor), detail::validated(std::move(options)))) {
        detail::init_library();
        s_->handle = mysql_init(nullptr);
        if (!s_->handle) throw std::bad_alloc();
        if (mysql_optionsv(s_->handle, MYSQL_OPT_NONBLOCK, 0) != 0)
            throw Error(server_errno::out_of_memory, "HY000", "could not enable the non-blocking API", "MYSQL_OPT_NONBLOCK");
        detail::apply_connect_options(s_->handle, s_->options);
    }

    AsyncConnection(AsyncConnection&&) noexcept = default;
    AsyncConnection& operator=(AsyncConnection&&) noexcept = default;
    AsyncConnection(const AsyncConnection&) = delete;
    AsyncConnection& operator=(const AsyncConnection&) = delete;
    // Closes the session: COM_QUIT is written without waiting for anything (a small write on an idle socket).
    ~AsyncConnection() = default;

    executor_type get_executor() const noexcept { return s_->waiter.get_executor(); }

    // Connects and runs the init statements. Suspends; bounded by connect_timeout. Throws Error with the server's
    // or client's message (e.g. 1045 access denied, 2002/2003 cannot connect). Precondition: not connected yet.
    Awaitable<void> async_connect() {
        assert(!s_->connected && "precondition: async_connect() once per connection");
        const ConnectOptions& o = s_->options;
        using detail::null_if_empty;
        MYSQL* ret = nullptr;
        MYSQL* h = s_->handle;
        co_await drive(
            [&] {
                return mysql_real_connect_start(&ret, h, null_if_empty(o.host), o.user.c_str(), o.password.c_str(),
                                                null_if_empty(o.database), o.port, null_if_empty(o.unix_socket), 0);
            },
            [&](int ready) { return mysql_real_connect_cont(&ret, h, ready); }, /*socket_may_change=*/true);
        if (!ret) {
            s_->health.mark_broken();
            throw_error(detail::connect_context(o));
        }
        try {
            detail::require_tls_if_asked(h, o);
        } catch (...) {
            s_->health.mark_broken(); // connected in plain text: never to be used
            throw;
        }
        s_->connected = true;
        s_->connected_at = s_->last_used = Clock::now();
        try {
            co_await run_init_statements();
        } catch (...) {
            s_->health.mark_broken(); // connected, but not set up: never to be used
            throw;
        }
        // Read once, here: a session reset and the init statements bring back this same state.
        s_->carryover.autocommit_after_connect = detail::SessionCarryover::autocommit(server_status());
    }

    // Runs a statement; the affected rows (for a SELECT: rows returned, which are discarded). Without arguments it
    // is sent as text; with arguments it is prepared and they are bound. The SQL and the arguments are copied, so the
    // awaitable may outlive them. Suspends for the round trips. Throws Error: the server's error,
    // errc::argument_count, or a disconnect (the connection is then broken).
    template <class... Args>
    Awaitable<std::uint64_t> async_execute(std::string sql, Args... args) {
        co_await settle();
        if constexpr (sizeof...(Args) == 0) {
            co_await run_text(sql);
            std::uint64_t affected = 0;
            try { // the reply is read in more round trips: see abandon_unless_reply_ended()
                bool first = true;
                for (;;) {
                    detail::ResultPtr res = co_await store_result(sql);
                    if (first) {
                        affected = res ? static_cast<std::uint64_t>(mysql_num_rows(res.get()))
                                       : static_cast<std::uint64_t>(mysql_affected_rows(s_->handle));
                        s_->last_insert_id = static_cast<std::uint64_t>(mysql_insert_id(s_->handle));
                        first = false;
                    }
                    if (!co_await next_result(sql)) break;
                }
            } catch (...) {
                abandon_unless_reply_ended();
                throw;
            }
            co_return affected;
        } else {
            detail::PreparedStatement prepared = co_await run_prepared(sql, args...); // outlives the catch below
            MYSQL_STMT* stmt = prepared.stmt.get();
            std::uint64_t affected = 0;
            try {
                if (mysql_stmt_field_count(stmt) > 0) co_await store_statement_result(stmt, sql);
                affected = static_cast<std::uint64_t>(mysql_stmt_affected_rows(stmt));
                s_->last_insert_id = static_cast<std::uint64_t>(mysql_stmt_insert_id(stmt));
                co_await skip_more_statement_results(stmt, sql);
            } catch (...) {
                abandon_unless_reply_ended();
                throw;
            }
            co_await keep_or_close(std::move(prepared));
            co_return affected;
        }
    }

    // Runs a query and returns all its rows. Arguments as for async_execute(). Suspends for the round trips.
    // Throws Error as async_execute() does.
    template <class... Args>
    Awaitable<Result> async_query(std::string sql, Args... args) {
        co_await settle();
        if constexpr (sizeof...(Args) == 0) {
            co_await run_text(sql);
            Result out;
            try { // the reply is read in more round trips: see abandon_unless_reply_ended()
                detail::ResultPtr res = co_await store_result(sql);
                if (res) {
                    out = detail::rows_of(res.get());
                } else {
                    s_->last_insert_id = static_cast<std::uint64_t>(mysql_insert_id(s_->handle));
                }
                res.reset();
                while (co_await next_result(sql)) { // a CALL returns one more result set: read and drop it
                    detail::ResultPtr extra = co_await store_result(sql);
                }
            } catch (...) {
                abandon_unless_reply_ended();
                throw;
            }
            co_return out;
        } else {
            detail::PreparedStatement prepared = co_await run_prepared(sql, args...); // outlives the catch below
            MYSQL_STMT* stmt = prepared.stmt.get();
            Result out;
            try {
                detail::ResultPtr meta(mysql_stmt_result_metadata(stmt));
                if (!meta) {
                    if (mysql_stmt_errno(stmt) != 0)
                        fail_statement(stmt, "reading the result of " + detail::sql_excerpt(sql));
                    s_->last_insert_id = static_cast<std::uint64_t>(mysql_stmt_insert_id(stmt));
                } else {
                    detail::request_max_length(stmt);
                    co_await store_statement_result(stmt, sql);
                    out = detail::rows_of(stmt, meta.get(), sql);
                    mysql_stmt_free_result(stmt);
                }
                meta.reset();
                co_await skip_more_statement_results(stmt, sql);
            } catch (...) {
                abandon_unless_reply_ended();
                throw;
            }
            co_await keep_or_close(std::move(prepared));
            co_return out;
        }
    }

    // COM_PING: one round trip. Throws Error (a disconnect marks the connection broken).
    Awaitable<void> async_ping() { co_await run_command(mysql_ping_start, mysql_ping_cont, "ping"); }

    // COM_PING, waiting at most `limit` for the answer (read_timeout, when shorter, still applies;
    // std::chrono::milliseconds::max() sets no limit). A server that does not answer in time leaves the session
    // mid-command: the connection is marked disconnected (broken, never reused) and Error 2013 (CR_SERVER_LOST, a
    // disconnect) is thrown. Throws Error as async_ping() otherwise.
    Awaitable<void> async_ping(std::chrono::milliseconds limit) {
        if (!s_) throw Error(errc::no_session, "this AsyncConnection was moved from");
        int rc = 0;
        MYSQL* h = s_->handle;
        std::optional<std::chrono::steady_clock::time_point> give_up_at;
        if (limit != std::chrono::milliseconds::max()) give_up_at = respool::detail::deadline_after(limit); // saturates
        try {
            co_await drive([&] { return mysql_ping_start(&rc, h); }, [&](int ready) { return mysql_ping_cont(&rc, h, ready); },
                           /*socket_may_change=*/false, give_up_at);
        } catch (const NoAnswer&) {
            s_->health.mark_disconnected();
            throw Error(server_errno::server_lost, "HY000",
                        "no answer from the server within " + std::to_string(limit.count()) + " ms", "ping");
        }
        if (rc != 0) fail("ping");
        touch();
    }

    // COM_RESET_CONNECTION (rolls back, drops temporary tables, user variables, prepared statements and named
    // locks), then the init statements again. Suspends for the round trips. Throws Error.
    Awaitable<void> async_reset() {
        s_->statements.clear(); // the reset drops the session's prepared statements
        co_await run_command(mysql_reset_connection_start, mysql_reset_connection_cont, "resetting the session");
        detail::note_session_reset(s_->handle, s_->carryover.autocommit_after_connect);
        s_->rollback_pending = false;
        try {
            co_await run_init_statements();
        } catch (...) {
            s_->health.mark_broken(); // reset, but not set up again: not the session its holders expect
            throw;
        }
    }

    // COMMIT: one round trip. Throws Error.
    Awaitable<void> async_commit() {
        co_await settle();
        s_->fresh = false;
        co_await run_command(mysql_commit_start, mysql_commit_cont, "COMMIT");
    }

    // ROLLBACK of the open transaction, if any: one round trip. Throws Error.
    Awaitable<void> async_rollback() {
        s_->rollback_pending = false;
        s_->fresh = false;
        co_await run_command(mysql_rollback_start, mysql_rollback_cont, "ROLLBACK");
    }

    // RELEASE_ALL_LOCKS(): one round trip. Throws Error.
    Awaitable<void> async_release_named_locks() {
        co_await async_query("SELECT RELEASE_ALL_LOCKS()");
        s_->carryover.marks &= ~unsigned{detail::named_locks_mark};
    }

    // As Connection's: whether handing this session to someone else needs a round trip first (an abandoned or open
    // transaction, autocommit changed, named or table locks, SET TRANSACTION). No round trip; never blocks.
    bool needs_cleaning() const noexcept {
        return s_->rollback_pending || s_->carryover.needs_cleaning(server_status());
    }
    // As Connection::clean_session(): ROLLBACK, autocommit back, UNLOCK TABLES, RELEASE_ALL_LOCKS(), each only when
    // needed. Suspends for the round trips. Throws Error.
    Awaitable<void> async_clean_session() {
        detail::SessionCarryover& carryover = s_->carryover;
        if (carryover.needs_session_reset()) {
            co_await async_reset(); // see Connection::clean_session()
            co_return;
        }
        if (s_->rollback_pending || carryover.needs_rollback(server_status())) co_await async_rollback();
        if (const char* restore = carryover.autocommit_restore(server_status())) co_await async_execute(restore);
        if ((carryover.marks & detail::table_locks_mark) != 0) co_await async_execute("UNLOCK TABLES");
        if ((carryover.marks & detail::backup_lock_mark) != 0) co_await async_execute("BACKUP UNLOCK");
        if ((carryover.marks & detail::named_locks_mark) != 0) co_await async_release_named_locks();
        carryover.marks = 0;
    }

    // Marks the open transaction as abandoned (what AsyncTransaction does when it ends unfinished): it is rolled back
    // before the next statement this connection runs, or when its lease ends. No I/O; never throws.
    void abandon_transaction() noexcept { s_->rollback_pending = true; }
    // Whether an abandoned transaction still waits for its rollback. Never blocks.
    bool rollback_pending() const noexcept { return s_->rollback_pending; }
    // Rolls back an abandoned transaction now, if there is one (otherwise completes at once). Throws Error.
    Awaitable<void> settle() {
        if (!s_) throw Error(errc::no_session, "this AsyncConnection was moved from");
        if (s_->rollback_pending) co_await async_rollback();
    }

    // Whether no statement ran since the session was connected or reset (the init statements aside). Never blocks.
    bool is_fresh() const noexcept { return s_ && s_->fresh; }

    // Whether async_connect() succeeded (and this was not moved from). Never blocks.
    bool is_connected() const noexcept { return s_ && s_->connected; }
    // Whether a disconnect was seen, a connect failed, an operation was abandoned mid-way, mark_broken() was called,
    // or this was moved from: the session must not be reused.
    bool is_broken() const noexcept { return !s_ || s_->health.broken; }
    void mark_broken() noexcept {
        if (s_) s_->health.mark_broken();
    }
    // As Connection's: broken because the session is gone. Never blocks.
    void mark_disconnected() noexcept {
        if (s_) s_->health.mark_disconnected();
    }
    bool saw_disconnect() const noexcept { return s_ && s_->health.disconnected; }
    // As Connection's: when the connection was first found broken; meaningless unless is_broken(). Never blocks.
    Clock::time_point broken_at() const noexcept { return s_ ? s_->health.broken_at : Clock::time_point{}; }
    // As Connection's: how many deadlock errors (1213) this connection's statements have met; an AsyncTransaction
    // compares it with its value at BEGIN. Never blocks.
    std::uint64_t deadlocks_seen() const noexcept { return s_ ? s_->deadlocks : 0; }

    // As Connection's: from the server's last reply, no round trip.
    unsigned server_status() const noexcept {
        unsigned int status = 0;
        if (is_connected()) mariadb_get_infov(s_->handle, MARIADB_CONNECTION_SERVER_STATUS, &status);
        return status;
    }
    bool in_transaction() const noexcept { return (server_status() & SERVER_STATUS_IN_TRANS) != 0; }
    unsigned long thread_id() const noexcept { return s_->connected ? mysql_thread_id(s_->handle) : 0; }
    bool uses_tls() const noexcept { return s_->connected && mysql_get_ssl_cipher(s_->handle) != nullptr; }
    std::uint64_t last_insert_id() const noexcept { return s_->last_insert_id; }
    Clock::time_point last_used() const noexcept { return s_->last_used; }
    Clock::time_point connected_at() const noexcept { return s_->connected_at; }
    void touch() noexcept { s_->last_used = Clock::now(); }
    const ConnectOptions& options() const noexcept { return s_->options; }

    // Records that the session may hold GET_LOCK locks; statements that mention GET_LOCK record it themselves.
    void note_named_locks() noexcept { s_->carryover.marks |= detail::named_locks_mark; }
    bool may_hold_named_locks() const noexcept { return (s_->carryover.marks & detail::named_locks_mark) != 0; }

    // The Connector/C handle (in non-blocking mode). Do not run blocking calls on it while an operation is in flight;
    // call note_statement() for each statement sent through it.
    MYSQL* native_handle() const noexcept { return s_ ? s_->handle : nullptr; }

    // Records what a statement sent through native_handle() may leave in the session for the next holder, as
    // async_execute() and async_query() record it for their own (see Connection::note_statement). Never blocks.
    void note_statement(std::string_view sql) noexcept {
        s_->carryover.marks |= detail::session_marks(sql);
        s_->fresh = false;
    }

    // Lets go of the Asio objects watching the socket (they are made again at the next wait): for a connection
    // about to rest in a pool, so that an idle connection holds nothing of its io_context. Never blocks.
    // Precondition: no operation in flight.
    void release_io() noexcept { s_->waiter.detach(); }

private:
    struct State {
        State(executor_type executor, ConnectOptions o)
            : options(std::move(o)), waiter(std::move(executor)), statements(options.statement_cache_size) {}
        State(const State&) = delete;
        State& operator=(const State&) = delete;
        ~State() {
            waiter.detach();
            statements.clear(); // COM_STMT_CLOSE each: small writes, no reply awaited; before COM_QUIT
            if (handle) mysql_close(handle); // COM_QUIT: one small write, no reply awaited
        }

        ConnectOptions options;
        detail::SocketWaiter waiter;
        MYSQL* handle = nullptr;
        Clock::time_point connected_at{};
        Clock::time_point last_used{};
        std::uint64_t last_insert_id = 0;
        bool connected = false;
        detail::SessionHealth health;
        bool in_flight = false;
        detail::SessionCarryover carryover; // what the return-time cleaning must undo
        bool rollback_pending = false;
        std::uint64_t deadlocks = 0; // 1213 errors seen: see deadlocks_seen()
        bool fresh = false; // no statement since connect or reset
        detail::StatementCache statements; // statements run with arguments, prepared once (statement_cache_size)
    };

    // A session left mid-way (part of a reply unread, a wait abandoned): it can never be used again. Shuts the socket
    // down (the fd stays Connector/C's) so that nothing later blocks on it, not even closing a statement, and marks
    // it broken.
    static void abandon(State& s) noexcept {
        s.health.mark_broken();
        s.waiter.detach();
        if (const auto fd = mysql_get_socket(s.handle); fd >= 0) ::shutdown(fd, SHUT_RDWR);
    }

    // A statement's reply is read in several round trips (the first result, the rows, further result sets). Called
    // from a catch block there: an exception other than an Error (a cancellation, which Asio raises at the next
    // co_await; no memory) leaves the rest unread; so may an Error raised here rather than by the server (a value
    // that does not convert) while a CALL has result sets to come. The server's own error ends its reply.
    void abandon_unless_reply_ended() noexcept {
        try {
            throw;
        } catch (const Error&) {
            if (mysql_more_results(s_->handle)) abandon(*s_);
        } catch (...) {
            abandon(*s_);
        }
    }

    // Marks the operation in flight; if its coroutine is destroyed or cancelled before it finishes, the session is
    // left mid-way (see abandon()).
    class InFlight {
    public:
        explicit InFlight(State& s) noexcept : s_(s) { s_.in_flight = true; }
        InFlight(const InFlight&) = delete;
        InFlight& operator=(const InFlight&) = delete;
        ~InFlight() {
            s_.in_flight = false;
            if (!finished_) abandon(s_);
        }
        void finished() noexcept { finished_ = true; }

    private:
        State& s_;
        bool finished_ = false;
    };

    // drive() reached its give-up time before the operation ended.
    struct NoAnswer {};

    // Runs one Connector/C operation to its end: `start()` and `resume(ready)` return the MYSQL_WAIT_* flags it
    // waits for, 0 when done. Past `give_up_at`, if given, throws NoAnswer (the guard abandons the operation).
    template <class Start, class Resume>
    Awaitable<void> drive(Start start, Resume resume, bool socket_may_change = false,
                          std::optional<std::chrono::steady_clock::time_point> give_up_at = std::nullopt) {
        assert(!s_->in_flight && "precondition: one operation at a time on a connection");
        State& s = *s_;
        InFlight guard(s);
        int status = start();
        while (status != 0) {
            int wait_for = status;
            unsigned timeout = (status & MYSQL_WAIT_TIMEOUT) != 0 ? mysql_get_timeout_value_ms(s.handle) : 0;
            bool ours = false; // whether the timeout waited for is give_up_at rather than Connector/C's
            if (give_up_at) {
                const auto left = std::chrono::ceil<std::chrono::milliseconds>(*give_up_at -
                                                                               std::chrono::steady_clock::now());
                if (left.count() <= 0) throw NoAnswer{};
                const auto left_ms = static_cast<unsigned>(std::min<std::chrono::milliseconds::rep>(
                    left.count(), std::numeric_limits<int>::max()));
                if ((status & MYSQL_WAIT_TIMEOUT) == 0 || left_ms < timeout) {
                    wait_for |= MYSQL_WAIT_TIMEOUT;
                    timeout = left_ms;
                    ours = true;
                }
            }
            int ready = co_await s.waiter.async_wait(static_cast<int>(mysql_get_socket(s.handle)), wait_for, timeout,
                                                     boost::asio::use_awaitable);
            if (ready == detail::SocketWaiter::cancelled) // Asio's per-operation cancellation: the guard abandons it
                throw boost::system::system_error(boost::asio::error::operation_aborted);
            if (ours && (ready & MYSQL_WAIT_TIMEOUT) != 0) {
                ready &= ~MYSQL_WAIT_TIMEOUT; // Connector/C did not ask for it
                if (ready == 0) throw NoAnswer{};
            }
            // While connecting, Connector/C may close a socket and open another that reuses its number: watch afresh.
            if (socket_may_change) s.waiter.detach();
            status = resume(ready);
        }
        guard.finished();
    }

    // Runs the init statements (after connecting or a session reset): their effects are the session's starting point.
    Awaitable<void> run_init_statements() {
        for (const std::string& statement : s_->options.init_statements) co_await async_execute(statement);
        s_->carryover.marks = 0;
        s_->fresh = true;
    }

    // Runs a command on the session whose *_start / *_cont pair reports a failure as a non-zero result (`what` names
    // it in the error), then records the round trip.
    template <class Rc>
    Awaitable<void> run_command(int (*start)(Rc*, MYSQL*), int (*resume)(Rc*, MYSQL*, int), const char* what) {
        Rc rc = 0;
        MYSQL* h = s_->handle;
        co_await drive([&] { return start(&rc, h); }, [&](int ready) { return resume(&rc, h, ready); });
        if (rc != 0) fail(what);
        touch();
    }

    Awaitable<void> run_text(const std::string& sql) {
        s_->fresh = false;
        const unsigned marks = detail::session_marks(sql);
        s_->carryover.marks |= marks;
        if (detail::may_change_statement_parsing(sql, marks)) s_->statements.clear();
        int rc = 0;
        MYSQL* h = s_->handle;
        co_await drive([&] { return mysql_real_query_start(&rc, h, sql.data(), static_cast<unsigned long>(sql.size())); },
                       [&](int r) { return mysql_real_query_cont(&rc, h, r); });
        if (rc != 0) {
            touch();
            detail::classify_syntax_error(h, sql); // '?' without arguments: errc::argument_count
            fail("running " + detail::sql_excerpt(sql));
        }
        touch();
    }

    Awaitable<detail::ResultPtr> store_result(const std::string& sql) {
        MYSQL_RES* res = nullptr;
        MYSQL* h = s_->handle;
        co_await drive([&] { return mysql_store_result_start(&res, h); },
                       [&](int r) { return mysql_store_result_cont(&res, h, r); });
        detail::ResultPtr owned(res);
        if (!owned && mysql_field_count(h) != 0) fail("reading the result of " + detail::sql_excerpt(sql));
        co_return owned;
    }

    // Moves to the next result set; false when there is none.
    Awaitable<bool> next_result(const std::string& sql) {
        if (!mysql_more_results(s_->handle)) co_return false;
        int rc = 0;
        MYSQL* h = s_->handle;
        co_await drive([&] { return mysql_next_result_start(&rc, h); },
                       [&](int r) { return mysql_next_result_cont(&rc, h, r); });
        if (rc > 0) fail("running " + detail::sql_excerpt(sql));
        co_return rc == 0;
    }

    // As Connection's: the statement for `sql`, kept from an earlier run (no round trip) or prepared now.
    Awaitable<detail::PreparedStatement> statement_for(const std::string& sql, std::size_t arguments) {
        s_->fresh = false;
        detail::PreparedStatement prepared = s_->statements.take_for_run(sql, s_->handle);
        s_->carryover.marks |= prepared.marks;
        if (!prepared.stmt) {
            prepared.stmt = co_await prepare(sql);
            s_->statements.note_prepared(prepared, sql, s_->handle);
        }
        detail::check_placeholders(prepared.stmt.get(), sql, arguments);
        co_return prepared;
    }

    // COM_STMT_PREPARE; as Connection's, tried once more after closing the kept statements when the server's limit
    // on prepared statements is reached.
    Awaitable<detail::StatementPtr> prepare(const std::string& sql) {
        for (bool retried = false;; retried = true) {
            detail::StatementPtr stmt(mysql_stmt_init(s_->handle));
            if (!stmt) throw std::bad_alloc();
            int rc = 0;
            MYSQL_STMT* st = stmt.get();
            co_await drive(
                [&] { return mysql_stmt_prepare_start(&rc, st, sql.data(), static_cast<unsigned long>(sql.size())); },
                [&](int r) { return mysql_stmt_prepare_cont(&rc, st, r); });
            if (rc == 0) {
                touch();
                co_return stmt;
            }
            if (!retried && mysql_stmt_errno(st) == server_errno::too_many_prepared_statements &&
                s_->statements.size() > 0) {
                s_->statements.clear();
                continue;
            }
            fail_statement(st, "preparing " + detail::sql_excerpt(sql));
        }
    }

    // As Connection's: binds `args` to the placeholders of the statement for `sql` and executes it; its result, if
    // any, is left to be read. A statement that fails is closed, never kept; a result it left unread (the one
    // Connector/C refuses with 2057 when a result's number of columns changed) is read away first without blocking.
    template <class... Args>
    Awaitable<detail::PreparedStatement> run_prepared(const std::string& sql, const Args&... args) {
        detail::PreparedStatement prepared = co_await statement_for(sql, sizeof...(Args));
        std::array<detail::ParamSlot, sizeof...(Args)> params{}; // read by mysql_stmt_execute, not after it
        std::array<MYSQL_BIND, sizeof...(Args)> binds{};
        bind_all(prepared.stmt.get(), params, binds, sql, std::index_sequence_for<Args...>{}, args...);
        int rc = 0;
        MYSQL_STMT* st = prepared.stmt.get();
        co_await drive([&] { return mysql_stmt_execute_start(&rc, st); },
                       [&](int r) { return mysql_stmt_execute_cont(&rc, st, r); });
        touch();
        if (rc == 0) co_return prepared;
        if (mysql_stmt_errno(st) == server_errno::new_statement_metadata) {
            std::exception_ptr error;
            try {
                fail_statement(st, "running " + detail::sql_excerpt(sql));
            } catch (const Error&) {
                error = std::current_exception();
            }
            my_bool ignored = 0;
            co_await drive([&] { return mysql_stmt_free_result_start(&ignored, st); },
                           [&](int r) { return mysql_stmt_free_result_cont(&ignored, st, r); });
            std::rethrow_exception(error);
        }
        fail_statement(st, "running " + detail::sql_excerpt(sql));
    }

    // A statement whose result has been read: kept for the next run of its text, or, when it is not to be kept
    // (statement_cache_size 0, columns by a wildcard), closed without blocking.
    Awaitable<void> keep_or_close(detail::PreparedStatement prepared) {
        if (prepared.keep) {
            s_->statements.give_back(std::move(prepared));
            co_return;
        }
        co_await close_statement(std::move(prepared.stmt));
    }

    template <std::size_t N, std::size_t... I, class... Args>
    void bind_all(MYSQL_STMT* stmt, std::array<detail::ParamSlot, N>& params, std::array<MYSQL_BIND, N>& binds,
                  const std::string& sql, std::index_sequence<I...>, const Args&... args) {
        (detail::bind_param(binds[I], params[I], args), ...);
        if (mysql_stmt_bind_param(stmt, binds.data()) != 0)
            fail_statement(stmt, "binding the arguments of " + detail::sql_excerpt(sql));
    }

    Awaitable<void> store_statement_result(MYSQL_STMT* stmt, const std::string& sql) {
        int rc = 0;
        co_await drive([&] { return mysql_stmt_store_result_start(&rc, stmt); },
                       [&](int r) { return mysql_stmt_store_result_cont(&rc, stmt, r); });
        if (rc != 0) fail_statement(stmt, "reading the result of " + detail::sql_excerpt(sql));
        touch();
    }

    // A CALL sends a result set per SELECT in the procedure, then its own status. Reads (and drops) what follows the
    // first, so that an error the procedure raised later reaches the caller: closing the statement would skip it.
    Awaitable<void> skip_more_statement_results(MYSQL_STMT* stmt, const std::string& sql) {
        while (mysql_stmt_more_results(stmt)) {
            int rc = 0;
            co_await drive([&] { return mysql_stmt_next_result_start(&rc, stmt); },
                           [&](int r) { return mysql_stmt_next_result_cont(&rc, stmt, r); });
            if (rc > 0) fail_statement(stmt, "running " + detail::sql_excerpt(sql));
            if (rc < 0) break;
            if (mysql_stmt_field_count(stmt) > 0) {
                co_await store_statement_result(stmt, sql);
                mysql_stmt_free_result(stmt);
            }
        }
        touch();
    }

    // COM_STMT_CLOSE without blocking. (On error paths the StatementPtr closes it: a small write, no reply.)
    Awaitable<void> close_statement(detail::StatementPtr stmt) {
        my_bool rc = 0;
        MYSQL_STMT* st = stmt.get();
        co_await drive([&] { return mysql_stmt_close_start(&rc, st); },
                       [&](int r) { return mysql_stmt_close_cont(&rc, st, r); });
        (void)stmt.release(); // closed and freed by Connector/C
    }

    [[noreturn]] void throw_error(const std::string& context) { detail::throw_session_error(s_->handle, context); }

    // Throws the session's current error; a disconnect marks the connection broken first.
    [[noreturn]] void fail(const std::string& context) {
        touch();
        if (is_disconnect_errno(mysql_errno(s_->handle))) s_->health.mark_disconnected();
        if (mysql_errno(s_->handle) == server_errno::deadlock) ++s_->deadlocks;
        throw_error(context);
    }

    [[noreturn]] void fail_statement(MYSQL_STMT* stmt, const std::string& context) {
        touch();
        if (is_disconnect_errno(mysql_stmt_errno(stmt))) s_->health.mark_disconnected();
        if (mysql_stmt_errno(stmt) == server_errno::deadlock) ++s_->deadlocks;
        detail::throw_statement_error(stmt, context);
    }

    std::unique_ptr<State> s_;
};

} // namespace respool::mariadb
#endif // RESPOOL_MARIADB_ASYNC_CONNECTION_HPP_INCLUDED
