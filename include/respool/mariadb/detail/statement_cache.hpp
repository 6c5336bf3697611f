#pragma once
#ifndef RESPOOL_MARIADB_DETAIL_STATEMENT_CACHE_HPP_INCLUDED
#define RESPOOL_MARIADB_DETAIL_STATEMENT_CACHE_HPP_INCLUDED
// A session's prepared statements kept by their SQL text, so that running a statement with arguments again costs one
// round trip (COM_STMT_EXECUTE) instead of three (prepare, execute, close). Not API. No I/O of its own beyond the
// COM_STMT_CLOSE that dropping a statement sends (no reply is awaited).
#include <mysql.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client.hpp"
#include "sql.hpp"

namespace respool::mariadb::detail {

// A statement prepared on the session, with what is needed to reuse it.
struct PreparedStatement {
    std::string sql;    // its text, the key
    std::string schema; // the default database when it was prepared: its table names were resolved there
    StatementPtr stmt;
    unsigned marks = 0; // session_marks(sql), recorded again on each run
    bool keep = false;  // kept for the next run of its text (see keeps_statement())
    std::uint64_t last_run = 0;
};

// The session's default database now, as Connector/C knows it (from COM_INIT_DB, or the server's session tracking).
inline std::string_view current_schema(MYSQL* session) noexcept {
    const char* schema = nullptr;
    mariadb_get_infov(session, MARIADB_CONNECTION_SCHEMA, &schema);
    return schema ? std::string_view(schema) : std::string_view();
}

// Whether `sql`, whose session_marks() are `marks`, may change how the server resolves or reads later statements,
// which a statement prepared before it does not follow: USE (the default database; also keyed, but only a server
// that tracks the schema tells the client), EXECUTE (a SQL-level prepared statement's text is not seen here), a SET
// that names sql_mode (ANSI_QUOTES, NO_BACKSLASH_ESCAPES), NAMES, CHARSET, a character set or a collation, and text
// the scanner cannot see into (a compound statement, EXECUTE IMMEDIATE), but not CALL: a procedure runs with the
// sql_mode and character set it was created with, and the server restores the caller's when it returns. A false
// alarm costs only statements prepared again.
inline bool may_change_statement_parsing(std::string_view sql, unsigned marks) noexcept {
    Words words(sql);
    const std::string_view verb = words.next();
    auto is = [&](std::string_view lower) { return equal_ignoring_ascii_case(verb, lower); };
    if (is("use") || is("execute")) return true;
    if (is("set")) {
        for (std::string_view setting : {"sql_mode", "names", "charset", "character", "collation"})
            if (contains_ignoring_case(sql, setting)) return true;
        return false;
    }
    return !is("call") && (marks & session_reset_mark) != 0;
}

// Whether a statement prepared from `sql` may be kept and run again: not when it has a `*` anywhere but in `(*)`
// (COUNT(*)). Columns that come from a wildcard (SELECT *, t.*, RETURNING *) take their names and number from the
// tables when the statement is prepared; when a table changes under a kept statement, Connector/C keeps the old
// names while their number stays (RENAME COLUMN, a temporary table shadowing it) and reports a changed number (2057)
// only after the statement ran. Where a `*` stands is not worked out: comments, quotes and character sets read
// differently from one session to another, and a statement prepared on each run is only slower. So a
// multiplication, or a comment holding a `*`, is prepared on each run too.
inline bool keeps_statement(std::string_view sql) noexcept {
    for (std::size_t at = sql.find('*'); at != std::string_view::npos; at = sql.find('*', at + 1))
        if (at == 0 || sql[at - 1] != '(' || at + 1 >= sql.size() || sql[at + 1] != ')') return false;
    return true;
}

// Least recently used first out when full. A statement is taken out while it runs and given back once its result is
// read: a statement whose run throws is never given back, so its state never matters again. Used by one thread at
// a time, as the session is.
class StatementCache {
public:
    explicit StatementCache(std::size_t capacity) noexcept : capacity_(capacity) {}

    StatementCache(StatementCache&&) noexcept = default;
    StatementCache& operator=(StatementCache&&) noexcept = default;

    // The statement kept for `sql` under the session's default database, taken out, with its session marks; or,
    // when none is kept, an empty one (no stmt) with the marks of `sql`, for the caller to prepare. First closes
    // every kept statement when `sql` may change how later ones read (may_change_statement_parsing()). Never blocks.
    PreparedStatement take_for_run(std::string_view sql, MYSQL* session) noexcept {
        PreparedStatement prepared = take(sql, current_schema(session));
        if (!prepared.stmt) prepared.marks = session_marks(sql);
        if (may_change_statement_parsing(sql, prepared.marks)) clear();
        return prepared;
    }

    // Decides whether `prepared`, just prepared from `sql` on `session`, is to be kept, and gives it its key if so.
    // Throws std::bad_alloc.
    void note_prepared(PreparedStatement& prepared, std::string_view sql, MYSQL* session) const {
        prepared.keep = capacity_ > 0 && keeps_statement(sql);
        if (!prepared.keep) return;
        prepared.sql = sql;
        prepared.schema = current_schema(session);
    }

    // Keeps `statement`, whose last result has been read, for the next run of its text; drops the least recently run
    // one when full. With a capacity of 0, or no memory to keep it, it is closed instead. Never throws.
    void give_back(PreparedStatement statement) noexcept {
        if (!statement.keep || !statement.stmt) return; // never kept with a capacity of 0: see note_prepared()
        mysql_stmt_free_result(statement.stmt.get()); // the stored rows are copied out: free them now
        statement.last_run = ++runs_;
        if (entries_.size() >= capacity_) {
            std::size_t oldest = 0;
            for (std::size_t i = 1; i < entries_.size(); ++i)
                if (entries_[i].last_run < entries_[oldest].last_run) oldest = i;
            entries_[oldest] = std::move(statement); // the one replaced is closed
            return;
        }
        try {
            entries_.push_back(std::move(statement));
        } catch (...) { // std::bad_alloc: `statement` is closed instead
        }
    }

    // Closes every statement kept. Never throws.
    void clear() noexcept { entries_.clear(); }

    std::size_t size() const noexcept { return entries_.size(); }

private:
    // The statement for `sql` prepared while `schema` was the default database, taken out; or an empty one (no stmt).
    // A statement for the same text prepared under another database is dropped. Never blocks.
    PreparedStatement take(std::string_view sql, std::string_view schema) noexcept {
        for (std::size_t i = 0; i < entries_.size(); ++i) {
            if (entries_[i].sql != sql) continue;
            PreparedStatement found = std::move(entries_[i]);
            entries_[i] = std::move(entries_.back());
            entries_.pop_back();
            if (found.schema == schema) return found;
            return {}; // `found` is closed here: USE changed what its names mean
        }
        return {};
    }

    std::size_t capacity_;
    std::uint64_t runs_ = 0;
    std::vector<PreparedStatement> entries_;
};

} // namespace respool::mariadb::detail
#endif // RESPOOL_MARIADB_DETAIL_STATEMENT_CACHE_HPP_INCLUDED
