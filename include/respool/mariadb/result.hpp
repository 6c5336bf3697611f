#pragma once
#ifndef RESPOOL_MARIADB_RESULT_HPP_INCLUDED
#define RESPOOL_MARIADB_RESULT_HPP_INCLUDED
// Result: the rows a query returned, fully read from the server, in order.
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "row.hpp"

namespace respool::mariadb {

// Owns its rows; independent of the connection once returned. Iterate it with a range for. Use from one thread at a
// time (const calls may run concurrently).
class Result {
public:
    using const_iterator = std::vector<Row>::const_iterator;

    Result() = default;
    Result(std::vector<std::string> column_names, std::vector<Row> rows)
        : column_names_(std::move(column_names)), rows_(std::move(rows)) {}

    const_iterator begin() const noexcept { return rows_.begin(); }
    const_iterator end() const noexcept { return rows_.end(); }
    std::size_t size() const noexcept { return rows_.size(); }
    bool empty() const noexcept { return rows_.empty(); }

    // Row `i`; precondition: i < size().
    const Row& operator[](std::size_t i) const noexcept { return rows_[i]; }

    // Row `i`. Throws std::out_of_range when i >= size().
    const Row& at(std::size_t i) const { return rows_.at(i); }

    // The column names, in order (empty for a statement that returns no rows).
    const std::vector<std::string>& column_names() const noexcept { return column_names_; }

private:
    std::vector<std::string> column_names_;
    std::vector<Row> rows_;
};

} // namespace respool::mariadb
#endif // RESPOOL_MARIADB_RESULT_HPP_INCLUDED
