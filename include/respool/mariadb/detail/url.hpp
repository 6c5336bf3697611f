#pragma once
#ifndef RESPOOL_MARIADB_DETAIL_URL_HPP_INCLUDED
#define RESPOOL_MARIADB_DETAIL_URL_HPP_INCLUDED
// Splitting a mariadb:// URL into its parts, percent-decoding, and reading numbers and flags from its values.
// Not API: ConnectOptions::from_url and make_pool(url) are.
#include <charconv>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "sql.hpp"

namespace respool::mariadb::detail {

[[noreturn]] inline void url_error(std::string_view what) {
    throw std::invalid_argument("respool::mariadb URL: " + std::string(what));
}

// Decodes %XX escapes; `part` names the URL part in the error for a bad escape. `plus_is_space`: a '+' is a space, as
// in a query string (form encoding, how SQLAlchemy reads and writes query values).
inline std::string percent_decode(std::string_view in, std::string_view part, bool plus_is_space = false) {
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] != '%') {
            out += plus_is_space && in[i] == '+' ? ' ' : in[i];
            continue;
        }
        const int hi = i + 2 < in.size() ? hex(in[i + 1]) : -1;
        const int lo = i + 2 < in.size() ? hex(in[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
            if (part == "password") url_error("bad percent escape in the password"); // never echo a password
            url_error("bad percent escape '" + std::string(in.substr(i, 3)) + "' in the " + std::string(part));
        }
        // Connector/C takes C strings: a NUL would silently cut the value short (a password, say) there.
        if (hi == 0 && lo == 0) url_error("'%00' (a NUL byte) in the " + std::string(part) + " is not allowed");
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return out;
}

struct UrlParts {
    std::string scheme;
    std::optional<std::string> user;
    std::optional<std::string> password;
    std::string host;
    std::optional<std::uint16_t> port;
    std::string database;
    std::vector<std::pair<std::string, std::string>> params; // decoded, in order
};

// Splits scheme://[user[:password]@]host[:port][/database][?key=value&...]. Throws std::invalid_argument naming
// the malformed part.
inline UrlParts split_url(std::string_view url) {
    UrlParts parts;
    const auto scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos) url_error("missing '://' after the scheme (expected mariadb://...)");
    parts.scheme = std::string(url.substr(0, scheme_end));
    for (char& ch : parts.scheme) ch = lower_ascii(ch); // schemes are case-insensitive (RFC 3986)
    const std::string_view base = std::string_view(parts.scheme).substr(0, parts.scheme.find('+'));
    if (base != "mariadb" && base != "mysql")
        url_error("unsupported scheme '" + parts.scheme + "' (expected mariadb or mysql)");
    std::string_view rest = url.substr(scheme_end + 3);

    // An '@' after the first '/' or '?' while none comes before it: a password with an unescaped '/' or '?' split
    // the URL there. Say so without echoing any of it (the other messages would show pieces of the password).
    if (const auto split = rest.find_first_of("/?"); split != std::string_view::npos) {
        const std::string_view authority = rest.substr(0, split);
        const std::string_view after = rest.substr(split);
        const auto at = after.find('@');
        if (authority.find('@') == std::string_view::npos && authority.find(':') != std::string_view::npos &&
            at != std::string_view::npos && after.substr(0, at).find_first_of("=&") == std::string_view::npos)
            url_error("an '@' after the first '/' or '?': a password holding '/' or '?' must be percent-encoded "
                      "(%2F, %3F), as must an '@' in a database name (%40)");
    }
    std::string_view query;
    if (const auto q = rest.find('?'); q != std::string_view::npos) {
        query = rest.substr(q + 1);
        rest = rest.substr(0, q);
    }
    std::string_view path;
    if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
        path = rest.substr(slash + 1);
        rest = rest.substr(0, slash);
    }
    // The last '@' ends the user info: an unescaped '@' in a password is common enough to accept.
    if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
        const std::string_view userinfo = rest.substr(0, at);
        rest = rest.substr(at + 1);
        if (const auto colon = userinfo.find(':'); colon != std::string_view::npos) {
            parts.user = percent_decode(userinfo.substr(0, colon), "user name");
            parts.password = percent_decode(userinfo.substr(colon + 1), "password");
        } else {
            parts.user = percent_decode(userinfo, "user name");
        }
    }
    std::string_view host = rest;
    std::string_view port;
    bool has_port = false;
    if (!host.empty() && host.front() == '[') { // [IPv6]
        const auto close = host.find(']');
        if (close == std::string_view::npos) url_error("unterminated '[' in the host '" + std::string(rest) + "'");
        const std::string_view after = host.substr(close + 1);
        if (!after.empty() && after.front() != ':')
            url_error("unexpected '" + std::string(after) + "' after the host '" + std::string(host) + "'");
        has_port = !after.empty();
        if (has_port) port = after.substr(1);
        host = host.substr(1, close - 1);
        if (host.empty()) url_error("empty brackets '[]' where the host's IPv6 address belongs");
    } else if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
        if (host.substr(0, colon).find(':') != std::string_view::npos)
            url_error("the host '" + std::string(host) + "' has more than one ':' (an IPv6 address goes in brackets: "
                      "[::1]:3306)");
        has_port = true;
        port = host.substr(colon + 1);
        host = host.substr(0, colon);
    }
    parts.host = percent_decode(host, "host");
    if (has_port) {
        unsigned value = 0;
        const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535)
            url_error("bad port '" + std::string(port) + "' (expected 1-65535)");
        parts.port = static_cast<std::uint16_t>(value);
    }
    if (path.find('/') != std::string_view::npos) url_error("bad database '" + std::string(path) + "' (contains '/')");
    parts.database = percent_decode(path, "database");

    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view item = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (item.empty()) continue;
        const auto eq = item.find('=');
        if (eq == std::string_view::npos || eq == 0)
            url_error("bad query parameter '" + std::string(item) + "' (expected key=value)");
        std::string key = percent_decode(item.substr(0, eq), "query key", true);
        std::string value = percent_decode(item.substr(eq + 1), "value of " + key, true);
        parts.params.emplace_back(std::move(key), std::move(value));
    }
    return parts;
}

// An integer in [min, max]; throws naming the key.
inline long long url_integer(std::string_view key, std::string_view value, long long min, long long max) {
    long long out = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
    if (value.empty() || ec != std::errc{} || end != value.data() + value.size() || out < min || out > max)
        url_error("bad value '" + std::string(value) + "' for " + std::string(key) + " (expected an integer from " +
                  std::to_string(min) + " to " + std::to_string(max) + ")");
    return out;
}

// A number of seconds, possibly fractional, as milliseconds (to the nearest; a positive time under 0.0005 s is refused);
// `min_seconds` may be -1 for keys where -1 means never.
inline long long url_seconds_as_ms(std::string_view key, std::string_view value, double min_seconds) {
    double seconds = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (value.empty() || ec != std::errc{} || end != value.data() + value.size() || !(seconds >= min_seconds) ||
        seconds > 1e9)
        url_error("bad value '" + std::string(value) + "' for " + std::string(key) + " (expected seconds from 0 to " +
                  "1000000000" + (min_seconds < 0 ? ", or -1 for never)" : ")"));
    const auto ms = static_cast<long long>(seconds * 1000.0 + (seconds < 0 ? -0.5 : 0.5));
    // Under half a millisecond would round to 0, which turns most of these options off (or means "do not wait").
    if (seconds > 0 && ms == 0)
        url_error("bad value '" + std::string(value) + "' for " + std::string(key) +
                  " (rounds to 0 ms, which means off; the smallest time is 0.001 seconds)");
    return ms;
}

inline bool url_flag(std::string_view key, std::string_view value) {
    std::string lower(value);
    for (char& ch : lower) ch = lower_ascii(ch); // True, YES, On: as SQLAlchemy reads flags
    for (std::string_view yes : {"1", "true", "yes", "on"})
        if (lower == yes) return true;
    for (std::string_view no : {"0", "false", "no", "off"})
        if (lower == no) return false;
    url_error("bad value '" + std::string(value) + "' for " + std::string(key) + " (expected true or false)");
}

// The keys make_pool(url) reads and ConnectOptions::from_url leaves alone.
inline bool is_pool_key(std::string_view key) noexcept {
    for (std::string_view k : {"pool_size", "max_overflow", "pool_timeout", "pool_recycle", "pool_pre_ping",
                               "pool_ping_after", "pool_reset_on_return", "pool_invalidate_on_disconnect",
                               "pool_recycle_jitter", "pool_order", "pool_keepalive", "pool_idle_timeout",
                               "pool_min_idle", "pool_max_connecting", "pool_fair_queue"})
        if (key == k) return true;
    return false;
}

} // namespace respool::mariadb::detail
#endif // RESPOOL_MARIADB_DETAIL_URL_HPP_INCLUDED
