#pragma once
#ifndef RESPOOL_MARIADB_RESULT_HPP_INCLUDED
#define RESPOOL_MARIADB_RESULT_HPP_INCLUDED
// Result: the rows a query returned, fully read from the server, in order.
#include <cstddef>
#include <cstdint>
#include <memory>
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
    // Every row of `data`. For the adapter's readers. Throws std::bad_alloc.
    explicit Result(std::shared_ptr<const detail::ResultData> data) : data_(std::move(data)) {
        const std::size_t columns = data_->columns.names.size();
        const std::size_t count = columns == 0 ? 0 : data_->cells.size() / columns;
        rows_.reserve(count);
        for (std::size_t i = 0; i < count; ++i) rows_.emplace_back(data_, i);
    }

    const_iterator begin() const noexcept { return rows_.begin(); }
    const_iterator end() const noexcept { return rows_.end(); }
    std::size_t size() const noexcept { return rows_.size(); }
    bool empty() const noexcept { return rows_.empty(); }

    // Row `i`; precondition: i < size().
    const Row& operator[](std::size_t i) const noexcept { return rows_[i]; }

    // Row `i`. Throws std::out_of_range when i >= size().
    const Row& at(std::size_t i) const { return rows_.at(i); }

    // The column names, in order (empty for a statement that returns no rows).
    const std::vector<std::string>& column_names() const noexcept {
        static const std::vector<std::string> none;
        return data_ ? data_->columns.names : none;
    }

private:
    std::shared_ptr<const detail::ResultData> data_;
    std::vector<Row> rows_;
};

} // namespace respool::mariadb
#endif // RESPOOL_MARIADB_RESULT_HPP_INCLUDED
