#pragma once
#ifndef RESPOOL_MARIADB_DETAIL_SQL_HPP_INCLUDED
#define RESPOOL_MARIADB_DETAIL_SQL_HPP_INCLUDED
// What Connection and AsyncConnection read from a statement's text: the session state it may leave behind, and its
// start for error messages. Not API.
#include <cstddef>
#include <string>
#include <string_view>

namespace respool::mariadb::detail {

// Session state a statement may leave behind that the cheap return-time cleaning must undo, judged from its text.
// Case-insensitive and deliberately coarse: a false alarm costs one round trip when the lease ends, a miss would
// hand the state to the next holder.
enum SessionMark : unsigned {
    named_locks_mark = 1u << 0,      // GET_LOCK(...): RELEASE_ALL_LOCKS()
    table_locks_mark = 1u << 1,      // LOCK TABLE(S), FLUSH TABLES ... WITH READ LOCK: UNLOCK TABLES
    next_transaction_mark = 1u << 2, // SET TRANSACTION ... (the next transaction's characteristics): ROLLBACK
};

inline char lower_ascii(char ch) noexcept { return ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : ch; }
inline bool is_word_char(char ch) noexcept {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
}
inline bool is_blank(char ch) noexcept { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'; }

// Do `a` and `b` differ at most in ASCII case?
inline bool equal_ignoring_ascii_case(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower_ascii(a[i]) != lower_ascii(b[i])) return false;
    return true;
}

// Does `sql` hold lowercase `word` at `at` (ignoring case)?
inline bool matches_at(std::string_view sql, std::size_t at, std::string_view word) noexcept {
    if (at + word.size() > sql.size()) return false;
    for (std::size_t j = 0; j < word.size(); ++j)
        if (lower_ascii(sql[at + j]) != word[j]) return false;
    return true;
}

// Does `sql` mention `first` as a word, then blanks, then a word starting with `second` (both lowercase)? With an
// empty `second`, `first` anywhere, even inside a word.
inline bool mentions(std::string_view sql, std::string_view first, std::string_view second = {}) noexcept {
    for (std::size_t i = 0; i + first.size() <= sql.size(); ++i) {
        if (!matches_at(sql, i, first)) continue;
        if (second.empty()) return true;
        if (i > 0 && is_word_char(sql[i - 1])) continue;
        std::size_t k = i + first.size();
        if (k >= sql.size() || !is_blank(sql[k])) continue;
        while (k < sql.size() && is_blank(sql[k])) ++k;
        if (matches_at(sql, k, second)) return true;
    }
    return false;
}

// The SessionMark bits for one statement.
inline unsigned session_marks(std::string_view sql) noexcept {
    unsigned marks = 0;
    if (mentions(sql, "get_lock")) marks |= named_locks_mark;
    if (mentions(sql, "lock", "table") || mentions(sql, "read", "lock")) marks |= table_locks_mark;
    if (mentions(sql, "set", "transaction")) marks |= next_transaction_mark;
    return marks;
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

} // namespace respool::mariadb::detail
#endif // RESPOOL_MARIADB_DETAIL_SQL_HPP_INCLUDED
