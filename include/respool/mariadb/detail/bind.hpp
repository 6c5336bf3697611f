#pragma once
#ifndef RESPOOL_MARIADB_DETAIL_BIND_HPP_INCLUDED
#define RESPOOL_MARIADB_DETAIL_BIND_HPP_INCLUDED
// Binding a C++ argument to a prepared statement's `?` placeholder (MYSQL_BIND). Not API: Connection::execute and
// Connection::query take the arguments.
#include <mysql.h>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>

#include "value.hpp"

namespace respool::mariadb::detail {

// Storage an argument's MYSQL_BIND points into; lives until the statement has executed.
struct ParamSlot {
    long long integer = 0;
    double floating = 0;
    unsigned long length = 0;
    my_bool is_null = 0;
};

template <class T>
struct IsOptionalParam : std::false_type {};
template <class T>
struct IsOptionalParam<std::optional<T>> : std::true_type {};

template <class T>
concept BindableText = std::convertible_to<const T&, std::string_view>;

// The types a placeholder accepts as a value: long double is left out, since it travels as a double and could
// overflow to infinity on the way.
template <class T>
concept BindableValue = std::same_as<T, std::nullptr_t> || std::same_as<T, std::nullopt_t> ||
                        std::same_as<T, bool> || (std::integral<T> && !CharacterType<T>) || std::same_as<T, float> ||
                        std::same_as<T, double> || BindableText<T>;

template <class T>
struct IsBindableOptional : std::false_type {};
template <class T>
struct IsBindableOptional<std::optional<T>> : std::bool_constant<BindableValue<T>> {};

// True for the types a placeholder accepts: a value, or std::optional of one (not of another optional).
template <class T>
concept Bindable = BindableValue<T> || IsBindableOptional<T>::value;

// Points `b` at `value` (or at `slot`, holding a copy of a number). `value` must outlive the execution.
template <class T>
void bind_param(MYSQL_BIND& b, ParamSlot& slot, const T& value) noexcept {
    static_assert(Bindable<T>, "respool::mariadb: an argument must be an integer (not a character type), bool, "
                               "float, double, something convertible to std::string_view, nullptr, std::nullopt or "
                               "std::optional of one of these");
    b.is_null = &slot.is_null;
    b.length = &slot.length;
    if constexpr (IsOptionalParam<T>::value) {
        if (value) return bind_param(b, slot, *value);
        b.buffer_type = MYSQL_TYPE_NULL;
        slot.is_null = 1;
    } else if constexpr (std::same_as<T, std::nullptr_t> || std::same_as<T, std::nullopt_t>) {
        b.buffer_type = MYSQL_TYPE_NULL;
        slot.is_null = 1;
    } else if constexpr (std::same_as<T, bool>) {
        slot.integer = value ? 1 : 0;
        b.buffer_type = MYSQL_TYPE_LONGLONG;
        b.buffer = &slot.integer;
    } else if constexpr (std::integral<T>) {
        // The bits of an unsigned value travel in `integer`; is_unsigned tells the server how to read them.
        slot.integer = static_cast<long long>(value);
        b.buffer_type = MYSQL_TYPE_LONGLONG;
        b.buffer = &slot.integer;
        b.is_unsigned = std::is_unsigned_v<T> ? 1 : 0;
    } else if constexpr (std::floating_point<T>) {
        slot.floating = static_cast<double>(value);
        b.buffer_type = MYSQL_TYPE_DOUBLE;
        b.buffer = &slot.floating;
    } else {
        if constexpr (std::is_pointer_v<T>) { // a null const char* is NULL
            if (value == nullptr) {
                b.buffer_type = MYSQL_TYPE_NULL;
                slot.is_null = 1;
                return;
            }
        }
        const std::string_view text(value);
        b.buffer_type = MYSQL_TYPE_STRING;
        // A null buffer means NULL to Connector/C; an empty string_view{} (data() null) is '' all the same.
        b.buffer = const_cast<char*>(text.data() != nullptr ? text.data() : ""); // Connector/C only reads input buffers
        b.buffer_length = static_cast<unsigned long>(text.size());
        slot.length = static_cast<unsigned long>(text.size());
    }
}

} // namespace respool::mariadb::detail
#endif // RESPOOL_MARIADB_DETAIL_BIND_HPP_INCLUDED
