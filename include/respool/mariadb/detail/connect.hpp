#pragma once
#ifndef RESPOOL_MARIADB_DETAIL_CONNECT_HPP_INCLUDED
#define RESPOOL_MARIADB_DETAIL_CONNECT_HPP_INCLUDED
// What Connection and AsyncConnection do alike around mysql_real_connect: the options set on the handle before it,
// the arguments passed to it, and the context of its error. Not API. No I/O.
#include <mysql.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "../connect_options.hpp"
#include "../error.hpp"

namespace respool::mariadb::detail {

// Sets the options of `o` on a handle not connected yet, with auto-reconnect off (see Connection). Never throws.
inline void apply_connect_options(MYSQL* handle, const ConnectOptions& o) noexcept {
    auto seconds = [](std::chrono::seconds s) { return static_cast<unsigned int>(std::max<long long>(0, s.count())); };
    unsigned int connect_timeout = seconds(o.connect_timeout);
    unsigned int read_timeout = seconds(o.read_timeout);
    unsigned int write_timeout = seconds(o.write_timeout);
    my_bool reconnect = 0;
    mysql_optionsv(handle, MYSQL_OPT_RECONNECT, &reconnect);
    unsigned int local_infile = o.local_infile ? 1u : 0u; // Connector/C allows it unless told otherwise
    mysql_optionsv(handle, MYSQL_OPT_LOCAL_INFILE, &local_infile);
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

// An optional text argument of mysql_real_connect: NULL when empty, so that Connector/C uses its default.
inline const char* null_if_empty(const std::string& s) noexcept { return s.empty() ? nullptr : s.c_str(); }

// The context of a failed connect, for its Error: where to and as whom.
inline std::string connect_context(const ConnectOptions& o) {
    const std::string where = o.unix_socket.empty() || (!o.host.empty() && o.host != "localhost")
                                  ? o.host + ":" + std::to_string(o.port)
                                  : o.unix_socket;
    return "connecting to " + where + " as '" + o.user + "'";
}

// After a successful connect: with TLS asked for, the session must use it. Connector/C 3.3 goes on in plain text
// when the server offers no TLS and the certificate is not checked (ssl_mode=required), so this looks for itself.
// Throws Error 2026 (CR_SSL_CONNECTION_ERROR); the caller closes the handle.
inline void require_tls_if_asked(MYSQL* handle, const ConnectOptions& o) {
    if (o.tls.mode == ConnectOptions::TlsMode::disabled || mysql_get_ssl_cipher(handle) != nullptr) return;
    throw Error(server_errno::ssl_connection_error, "HY000", "TLS is required (ssl_mode), but the server did not use it",
                connect_context(o));
}

} // namespace respool::mariadb::detail
#endif // RESPOOL_MARIADB_DETAIL_CONNECT_HPP_INCLUDED
