#pragma once
#ifndef RESPOOL_MARIADB_DETAIL_ROWS_HPP_INCLUDED
#define RESPOOL_MARIADB_DETAIL_ROWS_HPP_INCLUDED
// Turning a result already read into client memory into a Result, for Connection and AsyncConnection: the text
// protocol's (mysql_store_result) and a prepared statement's (mysql_stmt_store_result). Not API. No I/O.
#include <mysql.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../result.hpp"
#include "../row.hpp"
#include "client.hpp"
#include "sql.hpp"
#include "value.hpp"

namespace respool::mariadb::detail {

// Columns a prepared statement's result reads in binary form: integers whose text is just their digits, and dates and
// times (formatted below). The rest, FLOAT, DOUBLE and ZEROFILL integers (YEAR among them) included, is read as
// text, formatted by Connector/C as the server formats it in the text protocol, so a value reads the same whether or
// not its query had arguments.
inline bool is_binary_integer_column(const MYSQL_FIELD& f) noexcept {
    const enum_field_types t = f.type;
    return (t == MYSQL_TYPE_TINY || t == MYSQL_TYPE_SHORT || t == MYSQL_TYPE_INT24 || t == MYSQL_TYPE_LONG ||
            t == MYSQL_TYPE_LONGLONG) &&
           (f.flags & ZEROFILL_FLAG) == 0;
}

// DATE, TIME, DATETIME and TIMESTAMP columns: read as a MYSQL_TIME and formatted by format_temporal(), which
// Connector/C would otherwise do with sprintf for each value.
inline bool is_temporal_column(const MYSQL_FIELD& f) noexcept {
    return f.type == MYSQL_TYPE_DATE || f.type == MYSQL_TYPE_TIME || f.type == MYSQL_TYPE_DATETIME ||
           f.type == MYSQL_TYPE_TIMESTAMP;
}

// Writes `value` in decimal, at least `width` digits (zero-padded); returns the end.
inline char* put_digits(char* out, unsigned long value, int width) noexcept {
    char digits[20];
    int n = 0;
    do {
        digits[n++] = static_cast<char>('0' + value % 10);
        value /= 10;
    } while (value != 0);
    while (n < width) digits[n++] = '0';
    while (n > 0) *out++ = digits[--n];
    return out;
}

// A temporal value as the text protocol shows it: 2024-02-29, -838:59:59, 2024-02-29 23:59:59.123 (as many fraction
// digits as the column's decimals, 1 to 6; for an expression whose precision is known only per value (decimals
// AUTO_SEC_PART_DIGITS), six digits when there is a fraction). `out` has room for 64 characters. Returns the length.
inline std::size_t format_temporal(const MYSQL_TIME& t, enum_field_types type, unsigned decimals, char* out) noexcept {
    char* p = out;
    if (type != MYSQL_TYPE_TIME) {
        p = put_digits(p, t.year, 4);
        *p++ = '-';
        p = put_digits(p, t.month, 2);
        *p++ = '-';
        p = put_digits(p, t.day, 2);
        if (type == MYSQL_TYPE_DATE) return static_cast<std::size_t>(p - out);
        *p++ = ' ';
    } else if (t.neg) {
        *p++ = '-';
    }
    p = put_digits(p, t.hour, 2); // a TIME's hours include its days: up to 838
    *p++ = ':';
    p = put_digits(p, t.minute, 2);
    *p++ = ':';
    p = put_digits(p, t.second, 2);
    const bool fixed_precision = decimals > 0 && decimals <= 6;
    const bool precision_per_value = decimals == AUTO_SEC_PART_DIGITS && t.second_part != 0;
    if (fixed_precision || precision_per_value) { // 6 digits of microseconds, cut to the column's precision
        char fraction[24];
        char* end = put_digits(fraction, t.second_part, 6);
        *p++ = '.';
        p = std::copy(fraction, fixed_precision && decimals < 6 ? fraction + decimals : end, p);
    }
    return static_cast<std::size_t>(p - out);
}

// BIT(n) columns: the server sends their value as raw bytes, most significant first, in both protocols. A row holds
// it as the unsigned number it is, so that get<int> and get<bool> read it and get<std::string> gives its digits.
inline bool is_bit_column(const MYSQL_FIELD& f) noexcept { return f.type == MYSQL_TYPE_BIT; }

inline std::uint64_t bit_value(const char* bytes, std::size_t length) noexcept {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < length; ++i) // BIT(64) at most: 8 bytes
        value = (value << 8) | static_cast<unsigned char>(bytes[i]);
    return value;
}

// Whether a column's values are numbers in a row (get<std::string_view> refuses them).
inline bool is_integer_value_column(const MYSQL_FIELD& f) noexcept {
    return is_binary_integer_column(f) || is_bit_column(f);
}

// The names and kinds of a result's columns.
inline Columns columns_of(const MYSQL_FIELD* fields, unsigned n) {
    Columns columns;
    columns.names.reserve(n);
    columns.integer.reserve(n);
    for (unsigned i = 0; i < n; ++i) {
        columns.names.emplace_back(fields[i].name, fields[i].name_length);
        columns.integer.push_back(is_integer_value_column(fields[i]));
    }
    return columns;
}

// A BIT column's value (its raw bytes) as the number it holds.
inline Cell bit_cell(const char* bytes, std::size_t length) noexcept {
    return Cell{bit_value(bytes, length), 0, Cell::Kind::unsigned_integer};
}

// The rows of a text-protocol result stored with mysql_store_result.
inline Result rows_of(MYSQL_RES* res) {
    const unsigned n = mysql_num_fields(res);
    const MYSQL_FIELD* fields = mysql_fetch_fields(res);
    auto data = std::make_shared<ResultData>();
    data->columns = columns_of(fields, n);
    data->cells.reserve(static_cast<std::size_t>(mysql_num_rows(res)) * n);
    std::size_t text_bytes = 0; // a first pass sizes the text buffer: it then never moves
    while (mysql_fetch_row(res)) {
        const unsigned long* lengths = mysql_fetch_lengths(res);
        for (unsigned i = 0; i < n; ++i) text_bytes += lengths[i];
    }
    data->bytes.reserve(text_bytes);
    mysql_data_seek(res, 0);
    while (MYSQL_ROW raw = mysql_fetch_row(res)) {
        const unsigned long* lengths = mysql_fetch_lengths(res);
        for (unsigned i = 0; i < n; ++i) {
            if (!raw[i])
                data->cells.emplace_back();
            else if (is_bit_column(fields[i]))
                data->cells.push_back(bit_cell(raw[i], lengths[i]));
            else
                data->add_text(raw[i], lengths[i]);
        }
    }
    return Result(std::move(data));
}

// Asks mysql_stmt_store_result to compute each column's max_length, which rows_of(MYSQL_STMT*, ...) sizes the text
// buffers by. Call it before storing the result.
inline void request_max_length(MYSQL_STMT* stmt) noexcept {
    my_bool update_max_length = 1;
    mysql_stmt_attr_set(stmt, STMT_ATTR_UPDATE_MAX_LENGTH, &update_max_length);
}

// The rows of an executed statement whose result mysql_stmt_store_result has read (after request_max_length());
// `meta` is its result metadata. Integers and temporal values in binary form, everything else as text. Throws Error
// (the statement's error; fetching reads client memory, so a disconnect is not expected here).
inline Result rows_of(MYSQL_STMT* stmt, MYSQL_RES* meta, std::string_view sql) {
    const unsigned n = mysql_num_fields(meta);
    const MYSQL_FIELD* fields = mysql_fetch_fields(meta);
    auto data = std::make_shared<ResultData>();
    data->columns = columns_of(fields, n);
    enum class Kind : std::uint8_t { integer, temporal, bits, text };
    struct Out {
        Kind kind = Kind::text;
        bool is_unsigned = false;
        long long integer = 0;
        MYSQL_TIME time{};
        std::vector<char> text;
        unsigned long length = 0;
        my_bool is_null = 0;
        my_bool truncated = 0;
    };
    std::vector<Out> out(n);
    std::vector<MYSQL_BIND> binds(n);
    for (unsigned i = 0; i < n; ++i) {
        MYSQL_BIND& b = binds[i];
        b = MYSQL_BIND{};
        b.is_null = &out[i].is_null;
        b.length = &out[i].length;
        b.error = &out[i].truncated;
        if (is_binary_integer_column(fields[i])) {
            out[i].kind = Kind::integer;
            out[i].is_unsigned = (fields[i].flags & UNSIGNED_FLAG) != 0;
            b.buffer_type = MYSQL_TYPE_LONGLONG;
            b.buffer = &out[i].integer;
            b.is_unsigned = out[i].is_unsigned ? 1 : 0;
        } else if (is_temporal_column(fields[i])) {
            out[i].kind = Kind::temporal;
            b.buffer_type = fields[i].type == MYSQL_TYPE_TIMESTAMP ? MYSQL_TYPE_DATETIME : fields[i].type;
            b.buffer = &out[i].time;
            b.buffer_length = sizeof(MYSQL_TIME);
        } else {
            if (is_bit_column(fields[i])) out[i].kind = Kind::bits; // its raw bytes, as text is read
            out[i].text.resize(std::max<std::size_t>(fields[i].max_length, 64) + 1);
            b.buffer_type = MYSQL_TYPE_STRING;
            b.buffer = out[i].text.data();
            b.buffer_length = static_cast<unsigned long>(out[i].text.size());
        }
    }
    if (n > 0 && mysql_stmt_bind_result(stmt, binds.data()) != 0)
        throw_statement_error(stmt, "binding the result of " + sql_excerpt(sql));

    data->cells.reserve(static_cast<std::size_t>(mysql_stmt_num_rows(stmt)) * n);
    for (;;) {
        const int rc = mysql_stmt_fetch(stmt);
        if (rc == MYSQL_NO_DATA) break;
        if (rc == 1) throw_statement_error(stmt, "reading the result of " + sql_excerpt(sql));
        bool rebind = false;
        if (rc == MYSQL_DATA_TRUNCATED) { // a text value longer than its buffer: fetch it again, whole
            for (unsigned i = 0; i < n; ++i) {
                if ((out[i].kind != Kind::text && out[i].kind != Kind::bits) || !out[i].truncated) continue;
                out[i].text.resize(static_cast<std::size_t>(out[i].length) + 1);
                binds[i].buffer = out[i].text.data();
                binds[i].buffer_length = static_cast<unsigned long>(out[i].text.size());
                if (mysql_stmt_fetch_column(stmt, &binds[i], i, 0) != 0)
                    throw_statement_error(stmt, "reading a long value of " + sql_excerpt(sql));
                rebind = true;
            }
        }
        for (unsigned i = 0; i < n; ++i) {
            const Out& o = out[i];
            if (o.is_null) {
                data->cells.emplace_back();
                continue;
            }
            switch (o.kind) {
            case Kind::integer:
                data->cells.push_back(Cell{static_cast<std::uint64_t>(o.integer), 0,
                                           o.is_unsigned ? Cell::Kind::unsigned_integer : Cell::Kind::signed_integer});
                break;
            case Kind::temporal: {
                char text[64];
                data->add_text(text, format_temporal(o.time, fields[i].type, fields[i].decimals, text));
                break;
            }
            case Kind::bits:
                data->cells.push_back(bit_cell(o.text.data(), std::min<std::size_t>(o.length, o.text.size())));
                break;
            case Kind::text:
                data->add_text(o.text.data(), std::min<std::size_t>(o.length, o.text.size()));
                break;
            }
        }
        if (rebind && mysql_stmt_bind_result(stmt, binds.data()) != 0)
            throw_statement_error(stmt, "binding the result of " + sql_excerpt(sql));
    }
    return Result(std::move(data));
}

} // namespace respool::mariadb::detail
#endif // RESPOOL_MARIADB_DETAIL_ROWS_HPP_INCLUDED
