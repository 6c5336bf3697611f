#pragma once
#ifndef RESPOOL_MARIADB_DETAIL_VALUE_HPP_INCLUDED
#define RESPOOL_MARIADB_DETAIL_VALUE_HPP_INCLUDED
// A column value as a row holds it, and the column names a result's rows share. Not API.
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace respool::mariadb::detail {

// NULL, an integer (binary protocol), or text/bytes (everything else; all values in the text protocol).
using Value = std::variant<std::monostate, std::int64_t, std::uint64_t, std::string>;

struct Columns {
    std::vector<std::string> names;
    std::vector<bool> integer; // per column: an integer column (read in binary form by a prepared statement)
};

} // namespace respool::mariadb::detail
#endif // RESPOOL_MARIADB_DETAIL_VALUE_HPP_INCLUDED
