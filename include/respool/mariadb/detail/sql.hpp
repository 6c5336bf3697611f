#pragma once
#ifndef RESPOOL_MARIADB_DETAIL_SQL_HPP_INCLUDED
#define RESPOOL_MARIADB_DETAIL_SQL_HPP_INCLUDED
// What Connection and AsyncConnection read from a statement's text: the session state it may leave behind, and its
// start for error messages. Not API.
#include <mysql.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace respool::mariadb::detail {

// Session state a statement may leave behind that the cheap return-time cleaning must undo, judged from its text.
// Case-insensitive and deliberately coarse: a false alarm costs one round trip when the lease ends, a miss would
// hand the state to the next holder.
enum SessionMark : unsigned {
    named_locks_mark = 1u << 0,      // GET_LOCK(...): RELEASE_ALL_LOCKS()
    table_locks_mark = 1u << 1,      // LOCK TABLE(S), FLUSH TABLES ... WITH READ LOCK / FOR EXPORT: UNLOCK TABLES
    next_transaction_mark = 1u << 2, // SET TRANSACTION ... (the next transaction's characteristics): ROLLBACK
    backup_lock_mark = 1u << 3,      // BACKUP LOCK t (MariaDB): BACKUP UNLOCK
    // HANDLER (an open handler), BACKUP STAGE, SQL PREPARE (a prepared statement), and unseen text (CALL, compound
    // statements, EXECUTE IMMEDIATE of anything but one plain string literal): what they may leave only a session
    // reset (COM_RESET_CONNECTION: it also releases table, backup and named locks) is sure to undo
    session_reset_mark = 1u << 4,
};

inline char lower_ascii(char ch) noexcept { return ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : ch; }
inline bool is_word_char(char ch) noexcept {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
}
inline bool is_blank(char ch) noexcept {
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

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

// The position of the first character at or after `at` that is neither a blank nor inside a comment (an executable
// comment's text counts as text).
inline std::size_t skip_blanks_and_comments(std::string_view sql, std::size_t at) noexcept {
    for (;;) {
        while (at < sql.size() && is_blank(sql[at])) ++at;
        if (matches_at(sql, at, "/*") && !matches_at(sql, at, "/*!") && !matches_at(sql, at, "/*m!")) {
            const std::size_t close = sql.find("*/", at + 2);
            at = close == std::string_view::npos ? sql.size() : close + 2;
            continue;
        }
        if (at < sql.size() && (sql[at] == '#' || (matches_at(sql, at, "--") &&
                                                   (at + 2 == sql.size() ||
                                                    static_cast<unsigned char>(sql[at + 2]) <= ' ')))) {
            const std::size_t eol = sql.find('\n', at);
            at = eol == std::string_view::npos ? sql.size() : eol + 1;
            continue;
        }
        return at;
    }
}

// The words of a statement in order, as the server would read them: blanks and comments (/* */, -- , #) separate
// words and are skipped; the text of an executable comment (/*!50000 ... */, /*M!100000 ... */) counts. The words
// inside quotes ('...', "...", `...`) are words too (the text of EXECUTE IMMEDIATE is SQL), but what looks like a
// comment there is not one: a name `x#y` or a string '/*' hides nothing after it.
class Words {
public:
    explicit Words(std::string_view sql) noexcept : sql_(sql) {}

    // The next word (letters, digits, '_', '$'), or an empty view at the end.
    std::string_view next() noexcept {
        for (;;) {
            if (at_ >= sql_.size()) return {};
            const char ch = sql_[at_];
            if (quote_ != 0) {
                if (ch == quote_) {
                    if (at_ + 1 < sql_.size() && sql_[at_ + 1] == quote_) { // a doubled quote stands for itself
                        at_ += 2;
                        continue;
                    }
                    quote_ = 0;
                    ++at_;
                    continue;
                }
                if (ch == '\\' && quote_ != '`') { // an escaped character (backticks know no escapes)
                    at_ += 2;
                    continue;
                }
                if (is_word_char(ch) || ch == '$') return word();
                ++at_;
                continue;
            }
            if (const std::size_t after = skip_blanks_and_comments(sql_, at_); after != at_) {
                at_ = after;
                continue;
            }
            if (starts_with("/*!") || starts_with("/*M!") || starts_with("/*m!")) {
                at_ += sql_[at_ + 2] == '!' ? std::size_t{3} : std::size_t{4};
                while (at_ < sql_.size() && sql_[at_] >= '0' && sql_[at_] <= '9') ++at_; // the version
                continue;
            }
            if (starts_with("*/")) { // the end of an executable comment
                at_ += 2;
                continue;
            }
            if (ch == '\'' || ch == '"' || ch == '`') {
                quote_ = ch;
                ++at_;
                continue;
            }
            if (!is_word_char(ch) && ch != '$') {
                ++at_; // punctuation: not part of a word
                continue;
            }
            return word();
        }
    }

    // Whether the word next() returned last was inside quotes.
    bool in_quotes() const noexcept { return quote_ != 0; }
    // The text after the word next() returned last.
    std::string_view rest() const noexcept { return sql_.substr(std::min(at_, sql_.size())); }

private:
    bool starts_with(std::string_view s) const noexcept { return sql_.substr(at_, s.size()) == s; }
    std::string_view word() noexcept {
        const std::size_t begin = at_;
        while (at_ < sql_.size() && (is_word_char(sql_[at_]) || sql_[at_] == '$')) ++at_;
        return sql_.substr(begin, at_ - begin);
    }

    std::string_view sql_;
    std::size_t at_ = 0;
    char quote_ = 0; // the quote we are inside, or 0
};

// Does `sql` contain lowercase `text` anywhere, ignoring case?
inline bool contains_ignoring_case(std::string_view sql, std::string_view text) noexcept {
    for (std::size_t i = 0; i + text.size() <= sql.size(); ++i)
        if (matches_at(sql, i, text)) return true;
    return false;
}

// Does this SET statement assign @@tx_isolation / @@tx_read_only (or their transaction_* names) with no scope? That
// sets the next transaction's characteristics only, as SET TRANSACTION does (with @@session. it is session state).
// The name may be backtick-quoted (@@`tx_read_only`) and any case.
inline bool sets_next_transaction_variable(std::string_view sql) noexcept {
    auto is_name_char = [](char ch) { return is_word_char(ch) || ch == '$'; };
    for (std::size_t at = sql.find("@@"); at != std::string_view::npos; at = sql.find("@@", at + 2)) {
        std::size_t i = at + 2;
        const bool quoted = i < sql.size() && sql[i] == '`';
        if (quoted) ++i;
        const std::size_t start = i;
        while (i < sql.size() && is_name_char(sql[i])) ++i;
        const std::string_view name = sql.substr(start, i - start);
        if (quoted && i < sql.size() && sql[i] == '`') ++i;
        if (i < sql.size() && sql[i] == '.') continue; // a scope (@@session.): the variable comes after it
        for (std::string_view next_only : {"tx_isolation", "tx_read_only", "transaction_isolation",
                                           "transaction_read_only"})
            if (equal_ignoring_ascii_case(name, next_only)) return true;
    }
    return false;
}

inline unsigned session_marks(std::string_view sql) noexcept;

// The SessionMark bits of the EXECUTE IMMEDIATE statements in `sql`: those of its text when that is one plain string
// literal (read as a statement of its own), else a session reset: a variable, an expression such as CONCAT(),
// adjacent literals, or a literal with escapes, doubled quotes or comments, whose text as SQL is not what is written.
// Recursion is bounded: a literal's text holds no quote of its own kind, so at most two levels nest.
inline unsigned execute_immediate_marks(std::string_view sql) noexcept {
    auto is = [](std::string_view word, std::string_view lower) { return equal_ignoring_ascii_case(word, lower); };
    unsigned marks = 0;
    Words words(sql);
    std::string_view previous;
    for (std::string_view word = words.next(); !word.empty(); previous = word, word = words.next()) {
        if (words.in_quotes() || !is(previous, "execute") || !is(word, "immediate")) continue;
        const std::size_t at =
            skip_blanks_and_comments(sql, static_cast<std::size_t>(word.data() - sql.data()) + word.size());
        if (at >= sql.size() || (sql[at] != '\'' && sql[at] != '"')) {
            marks |= session_reset_mark;
            continue;
        }
        const char quote = sql[at];
        std::size_t end = at + 1;
        while (end < sql.size() && sql[end] != quote && sql[end] != '\\') ++end;
        const std::string_view text = sql.substr(at + 1, end - (at + 1));
        std::size_t after = end + 1;
        const bool plain = end < sql.size() && sql[end] == quote && (after >= sql.size() || sql[after] != quote) &&
                           text.find('#') == std::string_view::npos && text.find("--") == std::string_view::npos &&
                           text.find("/*") == std::string_view::npos;
        while (after < sql.size() && is_blank(sql[after])) ++after;
        if (!plain || (after < sql.size() && sql[after] != ';' && !matches_at(sql, after, "using"))) {
            marks |= session_reset_mark;
            continue;
        }
        marks |= session_marks(text);
    }
    return marks;
}

// The SessionMark bits a statement's first two words ask for (after SET STATEMENT ... FOR too).
inline unsigned verb_marks(std::string_view verb, std::string_view second) noexcept {
    auto is = [](std::string_view word, std::string_view lower) { return equal_ignoring_ascii_case(word, lower); };
    unsigned marks = 0;
    // Text this cannot see: a stored procedure (it may lock tables through FLUSH or EXECUTE IMMEDIATE, open a
    // handler, prepare a statement, SET TRANSACTION, take named locks) or a compound statement (BEGIN NOT ATOMIC,
    // an Oracle-mode BEGIN ... END block, IF, CASE, loops), which may do all of that too. Only a session reset is
    // sure to undo what they leave. (BEGIN alone, or BEGIN WORK, starts a transaction.)
    for (std::string_view opaque : {"call", "if", "case", "repeat", "while", "loop", "for", "declare"})
        if (is(verb, opaque)) marks |= session_reset_mark;
    if (is(verb, "begin") && !second.empty() && !is(second, "work")) marks |= session_reset_mark;
    if (is(verb, "handler") || is(verb, "prepare") || (is(verb, "backup") && is(second, "stage")))
        marks |= session_reset_mark;
    // BACKUP LOCK as a statement (and, below, inside the text of PREPARE); nowhere else: BACKUP UNLOCK needs a
    // privilege, so a false alarm would cost the connection, not a round trip.
    if (is(verb, "backup") && is(second, "lock")) marks |= backup_lock_mark;
    // A statement prepared in SQL runs text this cannot see (its PREPARE already asked for a session reset).
    if (is(verb, "execute") && !is(second, "immediate")) marks |= named_locks_mark | next_transaction_mark;
    return marks;
}

// Does the text after a statement's first word make that word a label (`name: REPEAT ... END REPEAT`)?
inline bool follows_label(std::string_view rest) noexcept {
    const std::size_t at = skip_blanks_and_comments(rest, 0);
    return at < rest.size() && rest[at] == ':' && (at + 1 == rest.size() || rest[at + 1] != '=');
}

// The SessionMark bits for one statement.
inline unsigned session_marks(std::string_view sql) noexcept {
    unsigned marks = contains_ignoring_case(sql, "get_lock") ? unsigned{named_locks_mark} : 0u;
    auto is = [](std::string_view word, std::string_view lower) { return equal_ignoring_ascii_case(word, lower); };
    // A statement that starts with a quoted name or `<<` can only be a labelled block (`lbl`: LOOP, <<lbl>> LOOP).
    const std::size_t start = skip_blanks_and_comments(sql, 0);
    if (start < sql.size() && (sql[start] == '`' || sql[start] == '"' || matches_at(sql, start, "<<")))
        marks |= session_reset_mark;
    Words first_words(sql);
    std::string_view verb = first_words.next();
    if (follows_label(first_words.rest())) verb = first_words.next();
    const std::string_view second = first_words.next();
    marks |= verb_marks(verb, second);
    marks |= execute_immediate_marks(sql);
    if (is(verb, "set") && is(second, "statement")) {
        // SET STATEMENT var = value, ... FOR the statement. Every FOR, even one that seems quoted: how the server
        // reads quotes depends on sql_mode and the character set, and a false alarm costs only a round trip.
        Words prefix(sql);
        for (std::string_view word = prefix.next(); !word.empty(); word = prefix.next()) {
            if (!is(word, "for")) continue;
            Words statement(prefix.rest());
            const std::string_view inner_verb = statement.next();
            marks |= verb_marks(inner_verb, statement.next());
        }
    }
    if (is(verb, "prepare")) {
        Words inner(sql);
        std::string_view before;
        for (std::string_view word = inner.next(); !word.empty(); before = word, word = inner.next())
            if (is(before, "backup") && is(word, "lock")) marks |= backup_lock_mark;
    }
    Words words(sql);
    std::string_view previous;
    if (is(verb, "set") && sets_next_transaction_variable(sql)) marks |= next_transaction_mark;
    for (std::string_view word = words.next(); !word.empty(); previous = word, word = words.next()) {
        if ((is(previous, "lock") && (is(word, "table") || is(word, "tables"))) ||
            (is(previous, "read") && is(word, "lock")) || (is(previous, "for") && is(word, "export")))
            marks |= table_locks_mark;
        if (is(previous, "set") && is(word, "transaction")) marks |= next_transaction_mark;
    }
    return marks;
}

// What a session may hand on to its next holder, and which round trips of the return-time cleaning undo it: the
// rules Connection and AsyncConnection share. `status` is the server's SERVER_STATUS_* flags from its last reply.
struct SessionCarryover {
    unsigned marks = 0;                   // SessionMark bits of the statements run since connecting or cleaning
    bool autocommit_after_connect = true; // as connecting and the init statements left it

    bool needs_cleaning(unsigned status) const noexcept {
        return (status & SERVER_STATUS_IN_TRANS) != 0 || autocommit(status) != autocommit_after_connect || marks != 0;
    }
    // A transaction may be open (autocommit off opens one implicitly), or SET TRANSACTION awaits the next one.
    bool needs_rollback(unsigned status) const noexcept {
        return (status & SERVER_STATUS_IN_TRANS) != 0 || !autocommit(status) || (marks & next_transaction_mark) != 0;
    }
    // A statement may have left what only a session reset undoes (see session_reset_mark).
    bool needs_session_reset() const noexcept { return (marks & session_reset_mark) != 0; }
    // The statement that brings autocommit back to its value after connecting, or nullptr when it has it.
    const char* autocommit_restore(unsigned status) const noexcept {
        if (autocommit(status) == autocommit_after_connect) return nullptr;
        return autocommit_after_connect ? "SET autocommit = 1" : "SET autocommit = 0";
    }
    static bool autocommit(unsigned status) noexcept { return (status & SERVER_STATUS_AUTOCOMMIT) != 0; }
};

// The start of a statement, for error messages: at most 80 bytes, cut at a character boundary, control characters
// shown as spaces and a NUL byte as \0 (an error's what() is a C string: a NUL would cut the server's message off).
inline std::string sql_excerpt(std::string_view sql) {
    constexpr std::size_t max = 80;
    std::size_t end = std::min(sql.size(), max);
    if (end < sql.size())
        while (end > 0 && (static_cast<unsigned char>(sql[end]) & 0xC0) == 0x80) --end; // not inside a UTF-8 char
    std::string out = "'";
    for (const char ch : sql.substr(0, end)) {
        if (ch == '\0')
            out += "\\0";
        else
            out += static_cast<unsigned char>(ch) < 0x20 || ch == 0x7F ? ' ' : ch;
    }
    if (end < sql.size()) out += "...";
    out += '\'';
    return out;
}

// The number of `?` placeholders in `sql`: those outside quotes ('...', "...", `...`) and comments (/* */ but for
// executable ones, -- , #), as the server counts them when it prepares the statement. `backslash_escapes`: whether a
// backslash escapes a quote inside a string (it does unless sql_mode has NO_BACKSLASH_ESCAPES).
inline std::size_t count_placeholders(std::string_view sql, bool backslash_escapes = true) noexcept {
    std::size_t count = 0;
    for (std::size_t at = 0; at < sql.size(); ++at) {
        const char ch = sql[at];
        if (ch == '?') {
            ++count;
        } else if (ch == '\'' || ch == '"' || ch == '`') {
            for (++at; at < sql.size(); ++at) { // a doubled quote stays inside; so does a backslash-escaped one
                if (sql[at] == '\\' && ch != '`' && backslash_escapes) {
                    ++at;
                } else if (sql[at] == ch) {
                    if (at + 1 < sql.size() && sql[at + 1] == ch)
                        ++at;
                    else
                        break;
                }
            }
        } else if (ch == '/' && at + 1 < sql.size() && sql[at + 1] == '*') {
            const std::string_view opening = sql.substr(at + 2, 2);
            const bool executable = opening.starts_with('!') || opening == "M!" || opening == "m!";
            if (executable) continue; // its text counts; its "*/" is skipped as punctuation
            const std::size_t close = sql.find("*/", at + 2);
            at = close == std::string_view::npos ? sql.size() : close + 1;
        } else if (ch == '#' || (sql.substr(at, 2) == "--" &&
                                 (at + 2 == sql.size() || static_cast<unsigned char>(sql[at + 2]) <= ' '))) {
            const std::size_t eol = sql.find('\n', at);
            at = eol == std::string_view::npos ? sql.size() : eol;
        }
    }
    return count;
}

// A SELECT the program wrote, made ready for a lock clause: trailing blanks and semicolons dropped. The clause goes on
// a line of its own ("\nFOR UPDATE"), so that a trailing "-- comment" or "# comment" cannot swallow it. Throws
// std::invalid_argument (its message led by `who`) unless the statement starts with the word SELECT, perhaps after
// '('.
inline std::string select_for_locking(std::string sql, std::string_view who) {
    while (!sql.empty() && (sql.back() == ';' || sql.back() == ' ' || sql.back() == '\n' || sql.back() == '\t' ||
                            sql.back() == '\r'))
        sql.pop_back();
    const std::size_t at = sql.find_first_not_of(" \t\r\n(");
    const bool select = at != std::string::npos && matches_at(sql, at, "select") &&
                        (at + 6 == sql.size() || !(std::isalnum(static_cast<unsigned char>(sql[at + 6])) ||
                                                   sql[at + 6] == '_' || sql[at + 6] == '$'));
    if (!select) throw std::invalid_argument(std::string(who) + ": not a SELECT: " + sql_excerpt(sql));
    return sql;
}


} // namespace respool::mariadb::detail
#endif // RESPOOL_MARIADB_DETAIL_SQL_HPP_INCLUDED
