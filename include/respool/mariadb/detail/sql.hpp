#pragma once
#ifndef RESPOOL_MARIADB_DETAIL_SQL_HPP_INCLUDED
#define RESPOOL_MARIADB_DETAIL_SQL_HPP_INCLUDED
// What Connection and AsyncConnection read from a statement's text: whether it takes named locks, and its start for
// error messages. Not API.
#include <cstddef>
#include <string>
#include <string_view>

namespace respool::mariadb::detail {

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

} // namespace respool::mariadb::detail
#endif // RESPOOL_MARIADB_DETAIL_SQL_HPP_INCLUDED
