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

// Least recently used first out when full. A statement is taken out while it runs and given back once its result is
// read: a statement whose run throws is never given back, so its state never matters again. Used by one thread at
// a time, as the session is.
class StatementCache {
public:
    explicit StatementCache(std::size_t capacity) noexcept : capacity_(capacity) {}

    StatementCache(StatementCache&&) noexcept = default;
    StatementCache& operator=(StatementCache&&) noexcept = default;

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

    // Keeps `statement`, whose last result has been read, for the next run of its text; drops the least recently run
    // one when full. With a capacity of 0, or no memory to keep it, it is closed instead. Never throws.
    void give_back(PreparedStatement statement) noexcept {
        if (capacity_ == 0 || !statement.stmt || !statement.keep) return;
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
    std::size_t capacity() const noexcept { return capacity_; }

private:
    std::size_t capacity_;
    std::uint64_t runs_ = 0;
    std::vector<PreparedStatement> entries_;
};

// Whether `sql` may change how the server resolves or reads later statements, which a statement prepared before it
// does not follow: USE (the default database; also keyed below, but only a server that tracks the schema tells the
// client), EXECUTE (a SQL-level prepared statement's text is not seen here), and a SET, or EXECUTE IMMEDIATE, of
// sql_mode (ANSI_QUOTES, NO_BACKSLASH_ESCAPES), NAMES / CHARACTER SET, or a character set or collation variable.
// A false alarm costs only statements prepared again.
inline bool may_change_statement_parsing(std::string_view sql) noexcept {
    Words words(sql);
    const std::string_view verb = words.next();
    if (equal_ignoring_ascii_case(verb, "use") || equal_ignoring_ascii_case(verb, "execute")) return true;
    if (!equal_ignoring_ascii_case(verb, "set")) return false;
    for (std::string_view setting : {"sql_mode", "names", "character", "collation"})
        if (contains_ignoring_case(sql, setting)) return true;
    return false;
}

// Whether a `*` at `star` in `sql` stands for columns (SELECT *, t.*, RETURNING *) rather than a multiplication or
// COUNT(*): it is an operator only after what ends an operand (a name or number that is not a SELECT keyword, `)`,
// a closing quote, `?`) and part of COUNT(*) after `(`. Anything unclear counts as columns.
inline bool is_column_wildcard(std::string_view sql, std::size_t star) noexcept {
    std::size_t end = star;
    while (end > 0 && is_blank(sql[end - 1])) --end;
    if (end == 0) return true;
    const char before = sql[end - 1];
    if (before == '(' || before == ')' || before == '\'' || before == '"' || before == '`' || before == '?')
        return false;
    if (!is_word_char(before) && before != '$') return true; // `,`, `.`, a comment's end, ...
    std::size_t start = end - 1;
    while (start > 0 && (is_word_char(sql[start - 1]) || sql[start - 1] == '$')) --start;
    const std::string_view word = sql.substr(start, end - start);
    for (std::string_view keyword : {"select", "all", "distinct", "distinctrow", "high_priority", "straight_join",
                                     "sql_small_result", "sql_big_result", "sql_buffer_result", "sql_cache",
                                     "sql_no_cache", "sql_calc_found_rows", "returning"})
        if (equal_ignoring_ascii_case(word, keyword)) return true;
    return false;
}

// Whether a statement prepared from `sql` may be kept and run again. Not one whose result columns come from a
// wildcard: a table changed under it (RENAME COLUMN, a temporary table shadowing it) changes the names of its
// columns, which Connector/C does not take from the server when their number stays the same, or their number, which
// Connector/C reports (2057) only once the statement has run. Such statements are prepared on each run.
inline bool keeps_statement(std::string_view sql) noexcept {
    char quote = 0;
    for (std::size_t i = 0; i < sql.size(); ++i) {
        const char ch = sql[i];
        if (quote != 0) {
            if (ch == '\\' && quote != '`') ++i; // an escaped character (a doubled quote closes and reopens)
            else if (ch == quote) quote = 0;
            continue;
        }
        if (ch == '\'' || ch == '"' || ch == '`') {
            quote = ch;
            continue;
        }
        if (const std::size_t after = skip_blanks_and_comments(sql, i); after != i) {
            i = after - 1;
            continue;
        }
        if (ch == '*' && is_column_wildcard(sql, i)) return false;
    }
    return true;
}

} // namespace respool::mariadb::detail
#endif // RESPOOL_MARIADB_DETAIL_STATEMENT_CACHE_HPP_INCLUDED
