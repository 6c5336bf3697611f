#pragma once
#ifndef RESPOOL_MARIADB_CONNECTION_HPP_INCLUDED
#define RESPOOL_MARIADB_CONNECTION_HPP_INCLUDED
// Connection: one session with a MariaDB server over Connector/C, move-only, with a small safe query API.
#include <mysql.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "connect_options.hpp"
#include "detail/bind.hpp"
#include "detail/value.hpp"
#include "error.hpp"
#include "result.hpp"
#include "row.hpp"

namespace respool::mariadb {

namespace detail {

// mysql_library_init is not thread-safe and mysql_init calls it on first use: run it once, under a magic static.
inline void init_library() {
    static const int rc = mysql_library_init(0, nullptr, nullptr);
    if (rc != 0) throw Error(CR_UNKNOWN_ERROR, "HY000", "mysql_library_init failed", "initialising Connector/C");
}

struct ResultDeleter {
    void operator()(MYSQL_RES* r) const noexcept { mysql_free_result(r); }
};
using ResultPtr = std::unique_ptr<MYSQL_RES, ResultDeleter>;

struct StatementDeleter {
    void operator()(MYSQL_STMT* s) const noexcept { mysql_stmt_close(s); }
};
using StatementPtr = std::unique_ptr<MYSQL_STMT, StatementDeleter>;

// Case-insensitive: does `sql` mention GET_LOCK (so the session may hold named locks)?
inline bool mentions_get_lock(std::string_view sql) noexcept {
    constexpr std::string_view needle = "get_lock";
    if (sql.size() < needle.size()) return false;
    for (std::size_t i = 0; i + needle.size() <= sql.size(); ++i) {
        std::size_t j = 0;
        while (j < needle.size()) {
            char ch = sql[i + j];
            if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
            if (ch != needle[j]) break;
            ++j;
        }
        if (j == needle.size()) return true;
    }
    return false;
}

// The start of a statement, for error messages.
inline std::string sql_excerpt(std::string_view sql) {
    constexpr std::size_t max = 80;
    std::string out = "'";
    out += sql.substr(0, max);
    if (sql.size() > max) out += "...";
    out += '\'';
    return out;
}

inline bool is_integer_column(enum_field_types t) noexcept {
    return t == MYSQL_TYPE_TINY || t == MYSQL_TYPE_SHORT || t == MYSQL_TYPE_INT24 || t == MYSQL_TYPE_LONG ||
           t == MYSQL_TYPE_LONGLONG || t == MYSQL_TYPE_YEAR;
}

} // namespace detail

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
    // Throws Error with the server's or client's error (e.g. 1045 access denied, 2002/2003 cannot connect).
    explicit Connection(ConnectOptions options) : options_(std::move(options)) {
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
          broken_(other.broken_), named_locks_(other.named_locks_) {}

    Connection& operator=(Connection&& other) noexcept {
        if (this != &other) {
            close();
            options_ = std::move(other.options_);
            handle_ = std::exchange(other.handle_, nullptr);
            connected_at_ = other.connected_at_;
            last_used_ = other.last_used_;
            last_insert_id_ = other.last_insert_id_;
            broken_ = other.broken_;
            named_locks_ = other.named_locks_;
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
            detail::StatementPtr stmt = prepare(sql, sizeof...(Args));
            std::array<detail::ParamSlot, sizeof...(Args)> slots{};
            std::array<MYSQL_BIND, sizeof...(Args)> binds{};
            bind_all(stmt.get(), slots, binds, sql, std::index_sequence_for<Args...>{}, args...);
            run_statement(stmt.get(), sql);
            if (mysql_stmt_field_count(stmt.get()) > 0 && mysql_stmt_store_result(stmt.get()) != 0)
                fail_statement(stmt.get(), "reading the result of " + detail::sql_excerpt(sql));
            const auto affected = static_cast<std::uint64_t>(mysql_stmt_affected_rows(stmt.get()));
            last_insert_id_ = static_cast<std::uint64_t>(mysql_stmt_insert_id(stmt.get()));
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
            detail::StatementPtr stmt = prepare(sql, sizeof...(Args));
            std::array<detail::ParamSlot, sizeof...(Args)> slots{};
            std::array<MYSQL_BIND, sizeof...(Args)> binds{};
            bind_all(stmt.get(), slots, binds, sql, std::index_sequence_for<Args...>{}, args...);
            run_statement(stmt.get(), sql);
            return read_statement_rows(stmt.get(), sql);
        }
    }

    // The AUTO_INCREMENT value the last execute() or query() generated (0 if none). Never blocks.
    std::uint64_t last_insert_id() const noexcept { return last_insert_id_; }

    // The Connector/C handle, for what this class does not offer. Call touch() after using it, and do not close it,
    // change its reconnect option, or leave a result unread.
    MYSQL* native_handle() const noexcept { return handle_; }

    // When this connection last completed a round trip with the server. Never blocks.
    Clock::time_point last_used() const noexcept { return last_used_; }
    // When this connection was established. Never blocks.
    Clock::time_point connected_at() const noexcept { return connected_at_; }
    // Records a round trip made through native_handle(). Never blocks.
    void touch() noexcept { last_used_ = Clock::now(); }

    // Whether a disconnect error was seen (or mark_broken() was called): the session must not be reused.
    bool is_broken() const noexcept { return broken_; }
    // Marks the session unusable, e.g. after a failure whose effect on the session is unknown. Never blocks.
    void mark_broken() noexcept { broken_ = true; }

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
        if (mysql_ping(handle_) != 0) fail("ping");
        touch();
    }

    // ROLLBACK of the open transaction, if any: one round trip. Throws Error.
    void rollback() {
        if (mysql_rollback(handle_) != 0) fail("ROLLBACK");
        touch();
    }

    // Records that the session may hold named locks (GET_LOCK), so returning it to a pool releases them. Statements
    // run through execute()/query() that mention GET_LOCK record it themselves. Never blocks.
    void note_named_locks() noexcept { named_locks_ = true; }
    // Whether the session may hold named locks. Never blocks.
    bool may_hold_named_locks() const noexcept { return named_locks_; }
    // RELEASE_ALL_LOCKS(): one round trip. Throws Error.
    void release_named_locks() {
        query_text("SELECT RELEASE_ALL_LOCKS()");
        named_locks_ = false;
    }

    // COM_RESET_CONNECTION (rolls back, drops temporary tables, user variables, prepared statements and named locks,
    // resets session variables), then the init statements again. Blocks for the round trips. Throws Error.
    void reset_session() {
        if (mysql_reset_connection(handle_) != 0) fail("resetting the session");
        named_locks_ = false;
        touch();
        run_init_statements();
    }

private:
    void connect() {
        const ConnectOptions& o = options_;
        auto seconds = [](std::chrono::seconds s) { return static_cast<unsigned int>(std::max<long long>(0, s.count())); };
        unsigned int connect_timeout = seconds(o.connect_timeout);
        unsigned int read_timeout = seconds(o.read_timeout);
        unsigned int write_timeout = seconds(o.write_timeout);
        my_bool reconnect = 0;
        mysql_optionsv(handle_, MYSQL_OPT_RECONNECT, &reconnect);
        if (connect_timeout > 0) mysql_optionsv(handle_, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
        if (read_timeout > 0) mysql_optionsv(handle_, MYSQL_OPT_READ_TIMEOUT, &read_timeout);
        if (write_timeout > 0) mysql_optionsv(handle_, MYSQL_OPT_WRITE_TIMEOUT, &write_timeout);
        if (!o.charset.empty()) mysql_optionsv(handle_, MYSQL_SET_CHARSET_NAME, o.charset.c_str());
        auto set_text = [&](mysql_option opt, const std::string& value) {
            if (!value.empty()) mysql_optionsv(handle_, opt, value.c_str());
        };
        set_text(MYSQL_OPT_SSL_CA, o.tls.ca);
        set_text(MYSQL_OPT_SSL_CAPATH, o.tls.capath);
        set_text(MYSQL_OPT_SSL_CERT, o.tls.cert);
        set_text(MYSQL_OPT_SSL_KEY, o.tls.key);
        set_text(MYSQL_OPT_SSL_CIPHER, o.tls.cipher);
        set_text(MYSQL_OPT_SSL_CRL, o.tls.crl);
        if (o.tls.mode != ConnectOptions::TlsMode::disabled) {
            my_bool enforce = 1;
            mysql_optionsv(handle_, MYSQL_OPT_SSL_ENFORCE, &enforce);
        }
        my_bool verify = o.tls.mode == ConnectOptions::TlsMode::verify_identity ? 1 : 0;
        mysql_optionsv(handle_, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);

        auto or_null = [](const std::string& s) { return s.empty() ? nullptr : s.c_str(); };
        if (!mysql_real_connect(handle_, or_null(o.host), o.user.c_str(), o.password.c_str(), or_null(o.database),
                                o.port, or_null(o.unix_socket), 0)) {
            std::string where = o.unix_socket.empty() || (!o.host.empty() && o.host != "localhost")
                                    ? o.host + ":" + std::to_string(o.port)
                                    : o.unix_socket;
            throw_error("connecting to " + where + " as '" + o.user + "'");
        }
        connected_at_ = last_used_ = Clock::now();
        run_init_statements();
    }

    void run_init_statements() {
        for (const std::string& statement : options_.init_statements) execute(statement);
    }

    void close() noexcept {
        if (handle_) mysql_close(std::exchange(handle_, nullptr));
    }

    [[noreturn]] void throw_error(const std::string& context) {
        const unsigned code = mysql_errno(handle_);
        throw Error(code, mysql_sqlstate(handle_), mysql_error(handle_), context);
    }

    // Throws the session's current error; a disconnect marks the connection broken first.
    [[noreturn]] void fail(const std::string& context) {
        touch();
        if (is_disconnect_errno(mysql_errno(handle_))) broken_ = true;
        throw_error(context);
    }

    [[noreturn]] void fail_statement(MYSQL_STMT* stmt, const std::string& context) {
        touch();
        const unsigned code = mysql_stmt_errno(stmt);
        if (is_disconnect_errno(code)) broken_ = true;
        throw Error(code, mysql_stmt_sqlstate(stmt), mysql_stmt_error(stmt), context);
    }

    void run_text(std::string_view sql) {
        if (detail::mentions_get_lock(sql)) named_locks_ = true;
        if (mysql_real_query(handle_, sql.data(), static_cast<unsigned long>(sql.size())) != 0)
            fail("running " + detail::sql_excerpt(sql));
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
        const unsigned n = mysql_num_fields(res.get());
        const MYSQL_FIELD* fields = mysql_fetch_fields(res.get());
        auto columns = std::make_shared<detail::Columns>();
        for (unsigned i = 0; i < n; ++i) columns->names.emplace_back(fields[i].name, fields[i].name_length);
        std::vector<Row> rows;
        rows.reserve(static_cast<std::size_t>(mysql_num_rows(res.get())));
        while (MYSQL_ROW raw = mysql_fetch_row(res.get())) {
            const unsigned long* lengths = mysql_fetch_lengths(res.get());
            std::vector<detail::Value> values(n);
            for (unsigned i = 0; i < n; ++i)
                if (raw[i]) values[i] = std::string(raw[i], lengths[i]);
            rows.emplace_back(columns, std::move(values));
        }
        res.reset();
        skip_more_results(sql);
        return Result(columns->names, std::move(rows));
    }

    // Reads and drops further result sets (a CALL returns one more), so the session stays in sync.
    void skip_more_results(std::string_view sql) {
        while (mysql_more_results(handle_)) {
            if (mysql_next_result(handle_) > 0) fail("running " + detail::sql_excerpt(sql));
            detail::ResultPtr extra(mysql_store_result(handle_));
        }
    }

    detail::StatementPtr prepare(std::string_view sql, std::size_t arguments) {
        if (detail::mentions_get_lock(sql)) named_locks_ = true;
        detail::StatementPtr stmt(mysql_stmt_init(handle_));
        if (!stmt) throw std::bad_alloc();
        if (mysql_stmt_prepare(stmt.get(), sql.data(), static_cast<unsigned long>(sql.size())) != 0)
            fail_statement(stmt.get(), "preparing " + detail::sql_excerpt(sql));
        touch();
        const unsigned long placeholders = mysql_stmt_param_count(stmt.get());
        if (placeholders != arguments)
            throw Error(errc::argument_count, detail::sql_excerpt(sql) + " has " + std::to_string(placeholders) +
                                                  " placeholders but " + std::to_string(arguments) +
                                                  " arguments were given");
        return stmt;
    }

    template <std::size_t N, std::size_t... I, class... Args>
    void bind_all(MYSQL_STMT* stmt, std::array<detail::ParamSlot, N>& slots, std::array<MYSQL_BIND, N>& binds,
                  std::string_view sql, std::index_sequence<I...>, const Args&... args) {
        (detail::bind_param(binds[I], slots[I], args), ...);
        if (mysql_stmt_bind_param(stmt, binds.data()) != 0)
            fail_statement(stmt, "binding the arguments of " + detail::sql_excerpt(sql));
    }

    void run_statement(MYSQL_STMT* stmt, std::string_view sql) {
        if (mysql_stmt_execute(stmt) != 0) fail_statement(stmt, "running " + detail::sql_excerpt(sql));
        touch();
    }

    // Reads every row of an executed statement; integers and doubles in binary form, everything else as text.
    Result read_statement_rows(MYSQL_STMT* stmt, std::string_view sql) {
        detail::ResultPtr meta(mysql_stmt_result_metadata(stmt));
        if (!meta) {
            if (mysql_stmt_errno(stmt) != 0) fail_statement(stmt, "reading the result of " + detail::sql_excerpt(sql));
            last_insert_id_ = static_cast<std::uint64_t>(mysql_stmt_insert_id(stmt));
            return {};
        }
        my_bool update_max_length = 1; // so that max_length tells the buffer size each text column needs
        mysql_stmt_attr_set(stmt, STMT_ATTR_UPDATE_MAX_LENGTH, &update_max_length);
        if (mysql_stmt_store_result(stmt) != 0)
            fail_statement(stmt, "reading the result of " + detail::sql_excerpt(sql));
        touch();

        const unsigned n = mysql_num_fields(meta.get());
        const MYSQL_FIELD* fields = mysql_fetch_fields(meta.get());
        auto columns = std::make_shared<detail::Columns>();
        enum class Kind : std::uint8_t { integer, floating, text };
        struct Out {
            Kind kind = Kind::text;
            bool is_unsigned = false;
            long long integer = 0;
            double floating = 0;
            std::vector<char> text;
            unsigned long length = 0;
            my_bool is_null = 0;
            my_bool truncated = 0;
        };
        std::vector<Out> out(n);
        std::vector<MYSQL_BIND> binds(n);
        for (unsigned i = 0; i < n; ++i) {
            columns->names.emplace_back(fields[i].name, fields[i].name_length);
            MYSQL_BIND& b = binds[i];
            b = MYSQL_BIND{};
            b.is_null = &out[i].is_null;
            b.length = &out[i].length;
            b.error = &out[i].truncated;
            if (detail::is_integer_column(fields[i].type)) {
                out[i].kind = Kind::integer;
                out[i].is_unsigned = (fields[i].flags & UNSIGNED_FLAG) != 0;
                b.buffer_type = MYSQL_TYPE_LONGLONG;
                b.buffer = &out[i].integer;
                b.is_unsigned = out[i].is_unsigned ? 1 : 0;
            } else if (fields[i].type == MYSQL_TYPE_FLOAT || fields[i].type == MYSQL_TYPE_DOUBLE) {
                out[i].kind = Kind::floating;
                b.buffer_type = MYSQL_TYPE_DOUBLE;
                b.buffer = &out[i].floating;
            } else {
                out[i].text.resize(std::max<std::size_t>(fields[i].max_length, 64) + 1);
                b.buffer_type = MYSQL_TYPE_STRING;
                b.buffer = out[i].text.data();
                b.buffer_length = static_cast<unsigned long>(out[i].text.size());
            }
        }
        if (n > 0 && mysql_stmt_bind_result(stmt, binds.data()) != 0)
            fail_statement(stmt, "binding the result of " + detail::sql_excerpt(sql));

        std::vector<Row> rows;
        rows.reserve(static_cast<std::size_t>(mysql_stmt_num_rows(stmt)));
        for (;;) {
            const int rc = mysql_stmt_fetch(stmt);
            if (rc == MYSQL_NO_DATA) break;
            if (rc == 1) fail_statement(stmt, "reading the result of " + detail::sql_excerpt(sql));
            bool rebind = false;
            if (rc == MYSQL_DATA_TRUNCATED) { // a text value longer than its buffer: fetch it again, whole
                for (unsigned i = 0; i < n; ++i) {
                    if (out[i].kind != Kind::text || !out[i].truncated) continue;
                    out[i].text.resize(static_cast<std::size_t>(out[i].length) + 1);
                    binds[i].buffer = out[i].text.data();
                    binds[i].buffer_length = static_cast<unsigned long>(out[i].text.size());
                    if (mysql_stmt_fetch_column(stmt, &binds[i], i, 0) != 0)
                        fail_statement(stmt, "reading a long value of " + detail::sql_excerpt(sql));
                    rebind = true;
                }
            }
            std::vector<detail::Value> values(n);
            for (unsigned i = 0; i < n; ++i) {
                const Out& o = out[i];
                if (o.is_null) continue;
                switch (o.kind) {
                case Kind::integer:
                    if (o.is_unsigned)
                        values[i] = static_cast<std::uint64_t>(o.integer);
                    else
                        values[i] = static_cast<std::int64_t>(o.integer);
                    break;
                case Kind::floating: values[i] = o.floating; break;
                case Kind::text:
                    values[i] = std::string(o.text.data(), std::min<std::size_t>(o.length, o.text.size()));
                    break;
                }
            }
            rows.emplace_back(columns, std::move(values));
            if (rebind && mysql_stmt_bind_result(stmt, binds.data()) != 0)
                fail_statement(stmt, "binding the result of " + detail::sql_excerpt(sql));
        }
        mysql_stmt_free_result(stmt);
        return Result(columns->names, std::move(rows));
    }

    ConnectOptions options_;
    MYSQL* handle_ = nullptr;
    Clock::time_point connected_at_{};
    Clock::time_point last_used_{};
    std::uint64_t last_insert_id_ = 0;
    bool broken_ = false;
    bool named_locks_ = false; // the session may hold GET_LOCK locks
};

} // namespace respool::mariadb
#endif // RESPOOL_MARIADB_CONNECTION_HPP_INCLUDED
