#pragma once
#ifndef RESPOOL_MARIADB_ROW_HPP_INCLUDED
#define RESPOOL_MARIADB_ROW_HPP_INCLUDED
// Row: one row of a query's result, with typed, NULL-aware access to its columns by index or by name.
#include <charconv>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "detail/sql.hpp"
#include "detail/value.hpp"
#include "error.hpp"

namespace respool::mariadb {

namespace detail {
template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};
} // namespace detail

// A row keeps its values alive; it stays valid after the connection moves on, and after its Result is gone (rows
// share their result's storage: keeping one row keeps that whole result's memory). Use from one thread at a time
// (const calls may run concurrently).
//
// get<T> supports: integral types (range-checked; bool from 0/1), float and double, std::string (any value as text),
// std::string_view (text columns only; points into the row's storage), and std::optional of these (empty for NULL). A
// BIT(n) column reads as the unsigned number its bits make (b'101' is 5; BIT(1) as bool).
class Row {
public:
    Row() = default;
    // Row `row` of `data`. For the adapter's readers.
    Row(std::shared_ptr<const detail::ResultData> data, std::size_t row) noexcept
        : data_(std::move(data)), first_(row * (data_ ? data_->columns.names.size() : 0)) {}

    // The value of column `index` (0-based) as T. Never blocks. Throws Error with errc::no_such_column,
    // errc::null_value (NULL and T is not std::optional) or errc::type_mismatch.
    template <class T>
    T get(std::size_t index) const {
        if (index >= size())
            throw Error(errc::no_such_column,
                        "no column " + std::to_string(index) + " (the row has " + std::to_string(size()) + ")");
        return convert<T>(index);
    }

    // The value of the column named `name` (the first one, if several share it). As get<T>(index).
    template <class T>
    T get(std::string_view name) const {
        return get<T>(index_of(name));
    }

    // Whether column `index` is NULL. Throws Error (errc::no_such_column) for a bad index.
    bool is_null(std::size_t index) const {
        if (index >= size()) throw Error(errc::no_such_column, "no column " + std::to_string(index));
        return cell(index).kind == detail::Cell::Kind::null;
    }

    // The number of columns.
    std::size_t size() const noexcept { return data_ ? data_->columns.names.size() : 0; }

    // The index of the column named `name`: the exact name first, else the first that differs only in ASCII case
    // (as the server compares column names). Throws Error (errc::no_such_column) when there is none.
    std::size_t index_of(std::string_view name) const {
        const std::vector<std::string>& names = column_names();
        for (std::size_t i = 0; i < names.size(); ++i)
            if (names[i] == name) return i;
        for (std::size_t i = 0; i < names.size(); ++i)
            if (detail::equal_ignoring_ascii_case(names[i], name)) return i;
        throw Error(errc::no_such_column, "no column named '" + std::string(name) + "'");
    }

    // The column names, shared by every row of a result.
    const std::vector<std::string>& column_names() const noexcept {
        static const std::vector<std::string> none;
        return data_ ? data_->columns.names : none;
    }

private:
    using Kind = detail::Cell::Kind;

    const detail::Cell& cell(std::size_t index) const noexcept { return data_->cells[first_ + index]; }

    std::string column_label(std::size_t index) const {
        std::string out = "column " + std::to_string(index);
        if (index < size()) out += " ('" + data_->columns.names[index] + "')";
        return out;
    }

    [[noreturn]] void mismatch(std::size_t index, std::string_view wanted) const {
        throw Error(errc::type_mismatch, column_label(index) + " does not convert to " + std::string(wanted));
    }

    template <class T>
    T convert(std::size_t index) const {
        const detail::Cell& c = cell(index);
        if constexpr (detail::IsOptional<T>::value) {
            if (c.kind == Kind::null) return std::nullopt;
            return T(convert<typename T::value_type>(index));
        } else {
            if (c.kind == Kind::null)
                throw Error(errc::null_value, column_label(index) + " is NULL; read it as std::optional<T>");
            if constexpr (std::same_as<T, bool>) {
                const auto n = convert<long long>(index);
                if (n != 0 && n != 1) mismatch(index, "bool");
                return n == 1;
            } else if constexpr (std::integral<T> && !detail::CharacterType<T>) {
                return to_integer<T>(index, c);
            } else if constexpr (std::floating_point<T>) {
                return to_floating<T>(index, c);
            } else if constexpr (std::same_as<T, std::string>) {
                return to_text(c);
            } else if constexpr (std::same_as<T, std::string_view>) {
                // Refused for an integer column whichever protocol read it, so that adding an argument to a query
                // never changes what its rows allow.
                if (c.kind == Kind::text && !data_->columns.integer[index]) return data_->text(c);
                mismatch(index, "std::string_view (an integer column; read it as std::string)");
            } else {
                static_assert(sizeof(T) == 0, "Row::get<T>: T must be an integer type (not a character type: read "
                                              "text as std::string), bool, a floating-point type, std::string, "
                                              "std::string_view or std::optional of one of them");
            }
        }
    }

    template <class T>
    T to_integer(std::size_t index, const detail::Cell& c) const {
        if (c.kind == Kind::signed_integer) {
            if (std::in_range<T>(c.signed_value())) return static_cast<T>(c.signed_value());
        } else if (c.kind == Kind::unsigned_integer) {
            if (std::in_range<T>(c.number)) return static_cast<T>(c.number);
        } else {
            const std::string_view s = data_->text(c);
            T out{};
            const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
            if (!s.empty() && ec == std::errc{} && end == s.data() + s.size()) return out;
        }
        mismatch(index, "the requested integer type (not an integer, or out of its range)");
    }

    template <class T>
    T to_floating(std::size_t index, const detail::Cell& c) const {
        if (c.kind == Kind::signed_integer) return static_cast<T>(c.signed_value());
        if (c.kind == Kind::unsigned_integer) return static_cast<T>(c.number);
        const std::string_view s = data_->text(c);
        T out{};
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
        if (!s.empty() && ec == std::errc{} && end == s.data() + s.size()) return out;
        mismatch(index, "a floating-point type");
    }

    std::string to_text(const detail::Cell& c) const {
        if (c.kind == Kind::signed_integer) return std::to_string(c.signed_value());
        if (c.kind == Kind::unsigned_integer) return std::to_string(c.number);
        return std::string(data_->text(c));
    }

    std::shared_ptr<const detail::ResultData> data_;
    std::size_t first_ = 0; // the index of this row's first cell
};

} // namespace respool::mariadb
#endif // RESPOOL_MARIADB_ROW_HPP_INCLUDED
