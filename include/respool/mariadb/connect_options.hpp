#pragma once
#ifndef RESPOOL_MARIADB_CONNECT_OPTIONS_HPP_INCLUDED
#define RESPOOL_MARIADB_CONNECT_OPTIONS_HPP_INCLUDED
// ConnectOptions: where and how a Connection connects, settable field by field or from a mariadb:// URL.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "detail/url.hpp"

namespace respool::mariadb {

// An aggregate: designated initializers work, e.g. ConnectOptions{.host = "db", .user = "app", .password = "pw"}.
struct ConnectOptions {
    // How TLS is used. Connector/C 3.3 does not fall back from TLS to plain text once TLS is asked for.
    enum class TlsMode {
        disabled,        // plain TCP (unless a certificate option below makes Connector/C try TLS)
        required,        // TLS or no connection; the server certificate is not checked
        verify_identity, // TLS, and the certificate must be valid for `host` (needs ca or capath)
    };

    struct Tls {
        TlsMode mode = TlsMode::disabled;
        std::string ca;     // file of trusted CA certificates (PEM)
        std::string capath; // directory of trusted CA certificates
        std::string cert;   // client certificate (PEM)
        std::string key;    // client private key (PEM)
        std::string cipher; // allowed ciphers, OpenSSL syntax
        std::string crl;    // certificate revocation list file
    };

    std::string host = "127.0.0.1";   // "localhost" makes Connector/C use the Unix socket instead of TCP
    std::uint16_t port = 3306;
    std::string user;
    std::string password;
    std::string database;             // empty: no default database
    std::string unix_socket;          // path of the server's socket; used when host is "localhost" or empty
    std::chrono::seconds connect_timeout{10}; // bounds connecting (Connector/C counts whole seconds); 0 = OS default
    std::chrono::seconds read_timeout{0};     // bounds each wait for the server's reply; 0 = no limit
    std::chrono::seconds write_timeout{0};    // bounds each send; 0 = no limit
    std::string charset = "utf8mb4";
    Tls tls;
    std::vector<std::string> init_statements; // run in order after connecting and after a full session reset
    // Allow LOAD DATA LOCAL INFILE. Off by default: with it on, the server (or anyone who can pose as it on a
    // connection without verify_identity) may ask for any file this process can read, in reply to any statement.
    bool local_infile = false;
    // How many statements run with arguments each Connection keeps prepared, by SQL text (the least recently run
    // is closed first), so that running one again is one round trip instead of three. 0 prepares and closes the
    // statement on every call. Each kept statement counts against the server's max_prepared_stmt_count (16382 by
    // default, for all sessions together). AsyncConnection keeps them the same way.
    std::size_t statement_cache_size = 32;

    // The longest connect, read or write timeout: Connector/C keeps it in milliseconds in an int.
    static constexpr std::chrono::seconds max_timeout{2'147'483};

    // Throws std::invalid_argument naming the first invalid field: a timeout that is negative, or longer than
    // max_timeout, which Connector/C would overflow (it counts in milliseconds in an int). Connection,
    // AsyncConnection and the factories call it.
    void validate() const {
        auto refuse_out_of_range = [](const char* field, std::chrono::seconds value) {
            if (value.count() < 0)
                throw std::invalid_argument(std::string("respool::mariadb::ConnectOptions::") + field +
                                            ": must not be negative");
            if (value > max_timeout)
                throw std::invalid_argument(std::string("respool::mariadb::ConnectOptions::") + field +
                                            ": must be at most " + std::to_string(max_timeout.count()) +
                                            " s (about 24 days)");
        };
        refuse_out_of_range("connect_timeout", connect_timeout);
        refuse_out_of_range("read_timeout", read_timeout);
        refuse_out_of_range("write_timeout", write_timeout);
    }

    // Reads `mariadb://user:password@host:port/database?key=value&...` (also mysql://, and scheme+driver forms such
    // as mariadb+mariadbconnector:// as SQLAlchemy writes them). Parts and values are percent-decoded. Keys:
    // connect_timeout, read_timeout, write_timeout (seconds), charset, unix_socket, ssl_mode
    // (disabled|required|verify_identity), ssl_ca, ssl_capath, ssl_cert, ssl_key, ssl_cipher, ssl_crl, init_command
    // (repeatable), local_infile (true|false), statement_cache_size. The pool_* keys and max_overflow are accepted and left to make_pool(url).
    // Never blocks; thread-safe. Throws std::invalid_argument naming the malformed part or the unknown key.
    static ConnectOptions from_url(std::string_view url) {
        const detail::UrlParts parts = detail::split_url(url);
        ConnectOptions out;
        if (!parts.host.empty()) out.host = parts.host;
        if (parts.port) out.port = *parts.port;
        if (parts.user) out.user = *parts.user;
        if (parts.password) out.password = *parts.password;
        out.database = parts.database;
        std::vector<std::string_view> seen;
        for (const auto& [key, value] : parts.params) {
            if (key != "init_command") {
                for (std::string_view s : seen)
                    if (s == key) detail::url_error("key '" + key + "' given twice");
                seen.push_back(key);
            }
            if (detail::is_pool_key(key)) continue;
            auto seconds = [](std::string_view k, std::string_view v) {
                return std::chrono::seconds(detail::url_integer(k, v, 0, max_timeout.count()));
            };
            if (key == "connect_timeout") out.connect_timeout = seconds(key, value);
            else if (key == "read_timeout") out.read_timeout = seconds(key, value);
            else if (key == "write_timeout") out.write_timeout = seconds(key, value);
            else if (key == "charset") out.charset = value;
            else if (key == "unix_socket") out.unix_socket = value;
            else if (key == "ssl_mode") out.tls.mode = tls_mode_from(value);
            else if (key == "ssl_ca") out.tls.ca = value;
            else if (key == "ssl_capath") out.tls.capath = value;
            else if (key == "ssl_cert") out.tls.cert = value;
            else if (key == "ssl_key") out.tls.key = value;
            else if (key == "ssl_cipher") out.tls.cipher = value;
            else if (key == "ssl_crl") out.tls.crl = value;
            else if (key == "init_command") out.init_statements.push_back(value);
            else if (key == "local_infile") out.local_infile = detail::url_flag(key, value);
            else if (key == "statement_cache_size")
                out.statement_cache_size = static_cast<std::size_t>(detail::url_integer(key, value, 0, 1'000'000));
            else detail::url_error("unknown key '" + key + "'");
        }
        // SQLAlchemy's form for a Unix socket names no host: mysql://user:pw@/db?unix_socket=/run/mysqld/mysqld.sock
        if (parts.host.empty() && !out.unix_socket.empty()) out.host.clear();
        // A CA given without ssl_mode checks the server's certificate and host name, as SQLAlchemy's drivers do with
        // ssl_ca; ssl_mode=required asks for less.
        const bool mode_given = std::find(seen.begin(), seen.end(), std::string_view("ssl_mode")) != seen.end();
        if (!mode_given && (!out.tls.ca.empty() || !out.tls.capath.empty())) out.tls.mode = TlsMode::verify_identity;
        return out;
    }

private:
    static TlsMode tls_mode_from(std::string_view value) {
        if (value == "disabled" || value == "DISABLED") return TlsMode::disabled;
        if (value == "required" || value == "REQUIRED") return TlsMode::required;
        if (value == "verify_identity" || value == "VERIFY_IDENTITY") return TlsMode::verify_identity;
        detail::url_error("bad value '" + std::string(value) +
                          "' for ssl_mode (expected disabled, required or verify_identity)");
    }
};

namespace detail {

// `options` once validate() has accepted them; for constructors that validate before they store.
inline ConnectOptions validated(ConnectOptions options) {
    options.validate();
    return options;
}

} // namespace detail

} // namespace respool::mariadb
#endif // RESPOOL_MARIADB_CONNECT_OPTIONS_HPP_INCLUDED
