#pragma once
#ifndef RESPOOL_MARIADB_IDENTIFIER_HPP_INCLUDED
#define RESPOOL_MARIADB_IDENTIFIER_HPP_INCLUDED
// Validating and backtick-quoting the identifiers (tables, columns, savepoints) the helpers must put into SQL text,
// where values would be bound instead.
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace respool::mariadb {

// How many characters the UTF-8 text holds (MariaDB's name limits count characters, not bytes). Never throws.
constexpr std::size_t utf8_length(std::string_view text) noexcept {
    std::size_t n = 0;
    for (const char ch : text) n += (static_cast<unsigned char>(ch) & 0xC0u) != 0x80u; // not a continuation byte
    return n;
}

// Whether `text` is well-formed UTF-8 (no stray continuation bytes, no truncated or overlong sequences, nothing
// above U+10FFFF, no surrogates). Never throws.
constexpr bool is_valid_utf8(std::string_view text) noexcept {
    for (std::size_t i = 0; i < text.size();) {
        const auto b = static_cast<unsigned char>(text[i]);
        std::size_t length = 0;
        unsigned char low = 0x80, high = 0xBF; // the range of the byte after the lead byte
        if (b < 0x80) length = 1;
        else if (b >= 0xC2 && b <= 0xDF) length = 2;
        else if (b >= 0xE0 && b <= 0xEF) {
            length = 3;
            low = b == 0xE0 ? 0xA0 : 0x80;
            high = b == 0xED ? 0x9F : 0xBF;
        } else if (b >= 0xF0 && b <= 0xF4) {
            length = 4;
            low = b == 0xF0 ? 0x90 : 0x80;
            high = b == 0xF4 ? 0x8F : 0xBF;
        } else return false;
        if (i + length > text.size()) return false;
        for (std::size_t k = 1; k < length; ++k) {
            const auto c = static_cast<unsigned char>(text[i + k]);
            if (c < (k == 1 ? low : 0x80) || c > (k == 1 ? high : 0xBF)) return false;
        }
        i += length;
    }
    return true;
}

// Whether `name` is accepted as one identifier part: 1 to 64 characters of ASCII letters, digits, '_' and '$', or
// UTF-8 sequences of the Basic Multilingual Plane (for letters outside ASCII). Stricter than MariaDB, which accepts
// almost anything quoted:
// no spaces, quotes, backticks, dots or control characters, so a name can never change the statement it goes into.
// Never blocks; never throws.
constexpr bool is_valid_identifier(std::string_view name) noexcept {
    if (name.empty() || utf8_length(name) > 64 || !is_valid_utf8(name)) return false;
    for (const char ch : name) {
        const auto b = static_cast<unsigned char>(ch);
        // Beyond ASCII only the Basic Multilingual Plane: the server refuses 4-byte characters in names (1300).
        const bool ok = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b == '_' ||
                        b == '$' || (b >= 0x80 && b < 0xF0);
        if (!ok) return false;
    }
    return true;
}

namespace detail {
// A refused name as an error message shows it: a NUL byte as \0 (what() is a C string, which a NUL would cut off).
inline std::string shown_name(std::string_view name) {
    std::string out;
    for (const char ch : name) {
        if (ch == '\0')
            out += "\\0";
        else
            out += ch;
    }
    return out;
}
} // namespace detail

// `name` between backticks, after checking it with is_valid_identifier. `what` names its role for the message
// ("table", "column", "savepoint"). Never blocks. Throws std::invalid_argument naming the role and the value.
inline std::string quote_identifier(std::string_view name, std::string_view what = "identifier") {
    if (!is_valid_identifier(name))
        throw std::invalid_argument("respool::mariadb: invalid " + std::string(what) + " name '" +
                                    detail::shown_name(name) + "' (1-64 characters: letters, digits, '_', '$')");
    std::string out;
    out.reserve(name.size() + 2);
    out += '`';
    out += name;
    out += '`';
    return out;
}

// A possibly qualified name ("table" or "database.table"; "alias.column" for a column): each part checked and quoted,
// joined by dots. Never blocks. Throws std::invalid_argument as quote_identifier does.
inline std::string quote_qualified_identifier(std::string_view name, std::string_view what = "identifier") {
    std::string out;
    std::size_t start = 0;
    int parts = 0;
    for (;;) {
        const std::size_t dot = name.find('.', start);
        const std::string_view part = name.substr(start, dot == std::string_view::npos ? dot : dot - start);
        if (++parts > 2)
            throw std::invalid_argument("respool::mariadb: invalid " + std::string(what) + " name '" +
                                        detail::shown_name(name) + "' (at most one dot: qualifier.name)");
        if (!out.empty()) out += '.';
        if (!is_valid_identifier(part))
            throw std::invalid_argument("respool::mariadb: invalid " + std::string(what) + " name '" +
                                        detail::shown_name(name) +
                                        "' (each part 1-64 characters: letters, digits, '_', '$')");
        out += quote_identifier(part, what);
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    return out;
}

} // namespace respool::mariadb
#endif // RESPOOL_MARIADB_IDENTIFIER_HPP_INCLUDED
