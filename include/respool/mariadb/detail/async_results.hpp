#pragma once
#ifndef RESPOOL_MARIADB_DETAIL_ASYNC_RESULTS_HPP_INCLUDED
#define RESPOOL_MARIADB_DETAIL_ASYNC_RESULTS_HPP_INCLUDED
// The parts of a query that need no network round trip, for AsyncConnection: setting a handle's connect options and
// turning a result already stored in client memory into a Result. Not API. They mirror what Connection does inline.
#include <mysql.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../connect_options.hpp"
#include "../connection.hpp"
#include "../error.hpp"
#include "../result.hpp"
#include "../row.hpp"
#include "value.hpp"

namespace respool::mariadb::detail {

// The options Connection sets before connecting, plus MYSQL_OPT_NONBLOCK. No I/O. Throws Error when Connector/C
// refuses the non-blocking mode.
inline void apply_async_connect_options(MYSQL* handle, const ConnectOptions& o) {
    if (mysql_optionsv(handle, MYSQL_OPT_NONBLOCK, 0) != 0)
        throw Error(CR_OUT_OF_MEMORY, "HY000", "could not enable the non-blocking API", "MYSQL_OPT_NONBLOCK");
    auto seconds = [](std::chrono::seconds s) { return static_cast<unsigned int>(std::max<long long>(0, s.count())); };
    unsigned int connect_timeout = seconds(o.connect_timeout);
    unsigned int read_timeout = seconds(o.read_timeout);
    unsigned int write_timeout = seconds(o.write_timeout);
    my_bool reconnect = 0;
    mysql_optionsv(handle, MYSQL_OPT_RECONNECT, &reconnect);
    if (connect_timeout > 0) mysql_optionsv(handle, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
    if (read_timeout > 0) mysql_optionsv(handle, MYSQL_OPT_READ_TIMEOUT, &read_timeout);
    if (write_timeout > 0) mysql_optionsv(handle, MYSQL_OPT_WRITE_TIMEOUT, &write_timeout);
    if (!o.charset.empty()) mysql_optionsv(handle, MYSQL_SET_CHARSET_NAME, o.charset.c_str());
    auto set_text = [&](mysql_option opt, const std::string& value) {
        if (!value.empty()) mysql_optionsv(handle, opt, value.c_str());
    };
    set_text(MYSQL_OPT_SSL_CA, o.tls.ca);
    set_text(MYSQL_OPT_SSL_CAPATH, o.tls.capath);
    set_text(MYSQL_OPT_SSL_CERT, o.tls.cert);
    set_text(MYSQL_OPT_SSL_KEY, o.tls.key);
    set_text(MYSQL_OPT_SSL_CIPHER, o.tls.cipher);
    set_text(MYSQL_OPT_SSL_CRL, o.tls.crl);
    if (o.tls.mode != ConnectOptions::TlsMode::disabled) {
        my_bool enforce = 1;
        mysql_optionsv(handle, MYSQL_OPT_SSL_ENFORCE, &enforce);
    }
    my_bool verify = o.tls.mode == ConnectOptions::TlsMode::verify_identity ? 1 : 0;
    mysql_optionsv(handle, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
}

// The rows of a text-protocol result stored with mysql_store_result. No I/O.
inline Result rows_of(MYSQL_RES* res) {
    const unsigned n = mysql_num_fields(res);
    const MYSQL_FIELD* fields = mysql_fetch_fields(res);
    auto columns = std::make_shared<Columns>();
    for (unsigned i = 0; i < n; ++i) columns->names.emplace_back(fields[i].name, fields[i].name_length);
    std::vector<Row> rows;
    rows.reserve(static_cast<std::size_t>(mysql_num_rows(res)));
    while (MYSQL_ROW raw = mysql_fetch_row(res)) {
        const unsigned long* lengths = mysql_fetch_lengths(res);
        std::vector<Value> values(n);
        for (unsigned i = 0; i < n; ++i)
            if (raw[i]) values[i] = std::string(raw[i], lengths[i]);
        rows.emplace_back(columns, std::move(values));
    }
    return Result(columns->names, std::move(rows));
}

[[noreturn]] inline void throw_statement_error(MYSQL_STMT* stmt, const std::string& context) {
    throw Error(mysql_stmt_errno(stmt), mysql_stmt_sqlstate(stmt), mysql_stmt_error(stmt), context);
}

// The rows of an executed statement whose result mysql_stmt_store_result has read (with STMT_ATTR_UPDATE_MAX_LENGTH
// set, so that max_length sizes the text buffers); `meta` is its result metadata. Integers and doubles in binary
// form, everything else as text. No I/O: fetching reads client memory. Throws Error.
inline Result rows_of(MYSQL_STMT* stmt, MYSQL_RES* meta, std::string_view sql) {
    const unsigned n = mysql_num_fields(meta);
    const MYSQL_FIELD* fields = mysql_fetch_fields(meta);
    auto columns = std::make_shared<Columns>();
    enum class Kind : std::uint8_t { integer, floating, text };
    struct Out {
        Kind kind = Kind::text;
        bool is_unsigned = false;
        long long integer = 0;
        double floating = 0;
        std::vector<char> text;
        unsigned long length = 0;
        my_bool is_null = 0;
        my_bool truncated = 0;
    };
    std::vector<Out> out(n);
    std::vector<MYSQL_BIND> binds(n);
    for (unsigned i = 0; i < n; ++i) {
        columns->names.emplace_back(fields[i].name, fields[i].name_length);
        MYSQL_BIND& b = binds[i];
        b = MYSQL_BIND{};
        b.is_null = &out[i].is_null;
        b.length = &out[i].length;
        b.error = &out[i].truncated;
        if (is_integer_column(fields[i].type)) {
            out[i].kind = Kind::integer;
            out[i].is_unsigned = (fields[i].flags & UNSIGNED_FLAG) != 0;
            b.buffer_type = MYSQL_TYPE_LONGLONG;
            b.buffer = &out[i].integer;
            b.is_unsigned = out[i].is_unsigned ? 1 : 0;
        } else if (fields[i].type == MYSQL_TYPE_FLOAT || fields[i].type == MYSQL_TYPE_DOUBLE) {
            out[i].kind = Kind::floating;
            b.buffer_type = MYSQL_TYPE_DOUBLE;
            b.buffer = &out[i].floating;
        } else {
            out[i].text.resize(std::max<std::size_t>(fields[i].max_length, 64) + 1);
            b.buffer_type = MYSQL_TYPE_STRING;
            b.buffer = out[i].text.data();
            b.buffer_length = static_cast<unsigned long>(out[i].text.size());
        }
    }
    if (n > 0 && mysql_stmt_bind_result(stmt, binds.data()) != 0)
        throw_statement_error(stmt, "binding the result of " + sql_excerpt(sql));

    std::vector<Row> rows;
    rows.reserve(static_cast<std::size_t>(mysql_stmt_num_rows(stmt)));
    for (;;) {
        const int rc = mysql_stmt_fetch(stmt);
        if (rc == MYSQL_NO_DATA) break;
        if (rc == 1) throw_statement_error(stmt, "reading the result of " + sql_excerpt(sql));
        bool rebind = false;
        if (rc == MYSQL_DATA_TRUNCATED) { // a text value longer than its buffer: fetch it again, whole
            for (unsigned i = 0; i < n; ++i) {
                if (out[i].kind != Kind::text || !out[i].truncated) continue;
                out[i].text.resize(static_cast<std::size_t>(out[i].length) + 1);
                binds[i].buffer = out[i].text.data();
                binds[i].buffer_length = static_cast<unsigned long>(out[i].text.size());
                if (mysql_stmt_fetch_column(stmt, &binds[i], i, 0) != 0)
                    throw_statement_error(stmt, "reading a long value of " + sql_excerpt(sql));
                rebind = true;
            }
        }
        std::vector<Value> values(n);
        for (unsigned i = 0; i < n; ++i) {
            const Out& o = out[i];
            if (o.is_null) continue;
            switch (o.kind) {
            case Kind::integer:
                if (o.is_unsigned)
                    values[i] = static_cast<std::uint64_t>(o.integer);
                else
                    values[i] = static_cast<std::int64_t>(o.integer);
                break;
            case Kind::floating: values[i] = o.floating; break;
            case Kind::text:
                values[i] = std::string(o.text.data(), std::min<std::size_t>(o.length, o.text.size()));
                break;
            }
        }
        rows.emplace_back(columns, std::move(values));
        if (rebind && mysql_stmt_bind_result(stmt, binds.data()) != 0)
            throw_statement_error(stmt, "binding the result of " + sql_excerpt(sql));
    }
    return Result(columns->names, std::move(rows));
}

} // namespace respool::mariadb::detail
#endif // RESPOOL_MARIADB_DETAIL_ASYNC_RESULTS_HPP_INCLUDED
