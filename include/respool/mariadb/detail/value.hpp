#pragma once
#ifndef RESPOOL_MARIADB_DETAIL_VALUE_HPP_INCLUDED
#define RESPOOL_MARIADB_DETAIL_VALUE_HPP_INCLUDED
// A column value as a row holds it, the column names a result's rows share, and the types neither binds nor reads.
// Not API.
#include <concepts>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace respool::mariadb::detail {

// NULL, an integer (binary protocol), or text/bytes (everything else; all values in the text protocol).
using Value = std::variant<std::monostate, std::int64_t, std::uint64_t, std::string>;

struct Columns {
    std::vector<std::string> names;
    std::vector<bool> integer; // per column: its values are numbers (an integer or BIT column)
};

// Character types are integral, but a character as a number ('a' as 97) is never what was meant, bound or read.
// (signed and unsigned char stay: they are std::int8_t and std::uint8_t.)
template <class T>
concept CharacterType = std::same_as<T, char> || std::same_as<T, wchar_t> || std::same_as<T, char8_t> ||
                        std::same_as<T, char16_t> || std::same_as<T, char32_t>;

} // namespace respool::mariadb::detail
#endif // RESPOOL_MARIADB_DETAIL_VALUE_HPP_INCLUDED
