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
#include <variant>
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

// A row owns its values; it stays valid after the connection moves on. Use from one thread at a time (const calls
// may run concurrently).
//
// get<T> supports: integral types (range-checked; bool from 0/1), float and double, std::string (any value as text),
// std::string_view (text columns only; points into the row), and std::optional of these (empty for NULL). A BIT(n)
// column reads as the unsigned number its bits make (b'101' is 5; BIT(1) as bool).
class Row {
public:
    Row() = default;
    Row(std::shared_ptr<const detail::Columns> columns, std::vector<detail::Value> values) noexcept
        : columns_(std::move(columns)), values_(std::move(values)) {}

    // The value of column `index` (0-based) as T. Never blocks. Throws Error with errc::no_such_column,
    // errc::null_value (NULL and T is not std::optional) or errc::type_mismatch.
    template <class T>
    T get(std::size_t index) const {
        if (index >= values_.size())
            throw Error(errc::no_such_column, "no column " + std::to_string(index) + " (the row has " +
                                                  std::to_string(values_.size()) + ")");
        return convert<T>(index);
    }

    // The value of the column named `name` (the first one, if several share it). As get<T>(index).
    template <class T>
    T get(std::string_view name) const {
        return get<T>(index_of(name));
    }

    // Whether column `index` is NULL. Throws Error (errc::no_such_column) for a bad index.
    bool is_null(std::size_t index) const {
        if (index >= values_.size()) throw Error(errc::no_such_column, "no column " + std::to_string(index));
        return std::holds_alternative<std::monostate>(values_[index]);
    }

    // The number of columns.
    std::size_t size() const noexcept { return values_.size(); }

    // The index of the column named `name`: the exact name first, else the first that differs only in ASCII case
    // (as the server compares column names). Throws Error (errc::no_such_column) when there is none.
    std::size_t index_of(std::string_view name) const {
        if (columns_) {
            const std::vector<std::string>& names = columns_->names;
            for (std::size_t i = 0; i < names.size(); ++i)
                if (names[i] == name) return i;
            for (std::size_t i = 0; i < names.size(); ++i)
                if (detail::equal_ignoring_ascii_case(names[i], name)) return i;
        }
        throw Error(errc::no_such_column, "no column named '" + std::string(name) + "'");
    }

    // The column names, shared by every row of a result.
    const std::vector<std::string>& column_names() const noexcept {
        static const std::vector<std::string> none;
        return columns_ ? columns_->names : none;
    }

private:
    std::string column_label(std::size_t index) const {
        std::string out = "column " + std::to_string(index);
        if (columns_ && index < columns_->names.size()) out += " ('" + columns_->names[index] + "')";
        return out;
    }

    [[noreturn]] void mismatch(std::size_t index, std::string_view wanted) const {
        throw Error(errc::type_mismatch, column_label(index) + " does not convert to " + std::string(wanted));
    }

    template <class T>
    T convert(std::size_t index) const {
        const detail::Value& v = values_[index];
        if constexpr (detail::IsOptional<T>::value) {
            if (std::holds_alternative<std::monostate>(v)) return std::nullopt;
            return T(convert<typename T::value_type>(index));
        } else {
            if (std::holds_alternative<std::monostate>(v))
                throw Error(errc::null_value, column_label(index) + " is NULL; read it as std::optional<T>");
            if constexpr (std::same_as<T, bool>) {
                const auto n = convert<long long>(index);
                if (n != 0 && n != 1) mismatch(index, "bool");
                return n == 1;
            } else if constexpr (std::integral<T> && !detail::CharacterType<T>) {
                return to_integer<T>(index, v);
            } else if constexpr (std::floating_point<T>) {
                return to_floating<T>(index, v);
            } else if constexpr (std::same_as<T, std::string>) {
                return to_text(v);
            } else if constexpr (std::same_as<T, std::string_view>) {
                // Refused for an integer column whichever protocol read it, so that adding an argument to a query
                // never changes what its rows allow.
                const bool integer = columns_ && index < columns_->integer.size() && columns_->integer[index];
                if (const auto* s = std::get_if<std::string>(&v); s && !integer) return std::string_view(*s);
                mismatch(index, "std::string_view (an integer column; read it as std::string)");
            } else {
                static_assert(sizeof(T) == 0, "Row::get<T>: T must be an integer type (not a character type: read "
                                              "text as std::string), bool, a floating-point type, std::string, "
                                              "std::string_view or std::optional of one of them");
            }
        }
    }

    template <class T>
    T to_integer(std::size_t index, const detail::Value& v) const {
        if (const auto* i = std::get_if<std::int64_t>(&v)) {
            if (std::in_range<T>(*i)) return static_cast<T>(*i);
        } else if (const auto* u = std::get_if<std::uint64_t>(&v)) {
            if (std::in_range<T>(*u)) return static_cast<T>(*u);
        } else if (const auto* s = std::get_if<std::string>(&v)) {
            T out{};
            const auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), out);
            if (!s->empty() && ec == std::errc{} && end == s->data() + s->size()) return out;
        }
        mismatch(index, "the requested integer type (not an integer, or out of its range)");
    }

    template <class T>
    T to_floating(std::size_t index, const detail::Value& v) const {
        if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<T>(*i);
        if (const auto* u = std::get_if<std::uint64_t>(&v)) return static_cast<T>(*u);
        const auto& s = std::get<std::string>(v);
        T out{};
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
        if (!s.empty() && ec == std::errc{} && end == s.data() + s.size()) return out;
        mismatch(index, "a floating-point type");
    }

    static std::string to_text(const detail::Value& v) {
        if (const auto* s = std::get_if<std::string>(&v)) return *s;
        if (const auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
        return std::to_string(std::get<std::uint64_t>(v));
    }

    std::shared_ptr<const detail::Columns> columns_;
    std::vector<detail::Value> values_;
};

} // namespace respool::mariadb
#endif // RESPOOL_MARIADB_ROW_HPP_INCLUDED
