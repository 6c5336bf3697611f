#pragma once
#ifndef RESPOOL_MARIADB_DETAIL_VALUE_HPP_INCLUDED
#define RESPOOL_MARIADB_DETAIL_VALUE_HPP_INCLUDED
// How a result's values are stored and the column names its rows share, and the types neither binds nor reads.
// Not API.
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace respool::mariadb::detail {

// One value of a result: NULL, an integer (an integer column read in binary form, a BIT column), or text / bytes
// (everything else; every value in the text protocol), which lives in its result's byte buffer.
struct Cell {
    enum class Kind : std::uint8_t { null, signed_integer, unsigned_integer, text };
    std::uint64_t number = 0; // an integer's value (a signed one as its two's complement), or where text starts
    std::uint32_t length = 0; // text: its length in bytes (a value is at most 1 GiB: max_allowed_packet)
    Kind kind = Kind::null;

    std::int64_t signed_value() const noexcept { return static_cast<std::int64_t>(number); }
};

struct Columns {
    std::vector<std::string> names;
    std::vector<bool> integer; // per column: its values are numbers (an integer or BIT column)
};

// A result's rows, stored together: one cell per column per row, in row order, and one buffer for every text value.
// Rows share it (a shared_ptr), so reading a result costs a few allocations however many rows it has.
struct ResultData {
    Columns columns;
    std::vector<Cell> cells;
    std::string bytes;

    // Appends the text `value` as the next cell. Throws std::bad_alloc.
    void add_text(const char* value, std::size_t length) {
        cells.push_back(Cell{bytes.size(), static_cast<std::uint32_t>(length), Cell::Kind::text});
        bytes.append(value, length);
    }
    std::string_view text(const Cell& cell) const noexcept {
        return std::string_view(bytes.data() + cell.number, cell.length); // within `bytes`: add_text() made both
    }
};

// Character types are integral, but a character as a number ('a' as 97) is never what was meant, bound or read.
// (signed and unsigned char stay: they are std::int8_t and std::uint8_t.)
template <class T>
concept CharacterType = std::same_as<T, char> || std::same_as<T, wchar_t> || std::same_as<T, char8_t> ||
                        std::same_as<T, char16_t> || std::same_as<T, char32_t>;

} // namespace respool::mariadb::detail
#endif // RESPOOL_MARIADB_DETAIL_VALUE_HPP_INCLUDED
