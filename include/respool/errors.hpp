#pragma once
#ifndef RESPOOL_ERRORS_HPP_INCLUDED
#define RESPOOL_ERRORS_HPP_INCLUDED
// The error codes and exceptions of the pool: expected failures are values of respool::errc, thrown as respool::Error
// (a std::system_error) by the throwing forms and reported through std::error_code& by the others.
#include <string>
#include <system_error>
#include <type_traits>

#include "detail/process_wide.hpp"

namespace respool {

enum class errc {
    timeout = 1,   // no resource became free before the deadline
    pool_closed,   // the pool was closed before or while waiting
    create_failed, // the factory threw (error_code forms only; the throwing forms rethrow the factory's exception)
    cancelled,     // a std::stop_token asked the wait to stop
};

namespace detail {
class ErrorCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "respool"; }
    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
        case errc::timeout: return "timed out waiting for a pooled resource";
        case errc::pool_closed: return "the pool is closed";
        case errc::create_failed: return "creating a pooled resource failed";
        case errc::cancelled: return "waiting for a pooled resource was cancelled";
        }
        return "unknown respool error";
    }
};
} // namespace detail

// The category of respool::errc values; one instance per process, shared objects included.
RESPOOL_PROCESS_WIDE inline const std::error_category& error_category() noexcept {
    static const detail::ErrorCategory category;
    return category;
}

inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), error_category()}; }

// Base of every exception respool throws for an expected failure.
class Error : public std::system_error {
public:
    explicit Error(std::error_code code) : std::system_error(code) {}
    Error(std::error_code code, const std::string& what) : std::system_error(code, what) {}
};

// acquire() waited for its whole timeout.
class TimeoutError : public Error {
public:
    TimeoutError() : Error(make_error_code(errc::timeout)) {}
};

// The pool was closed before or during the call.
class PoolClosedError : public Error {
public:
    PoolClosedError() : Error(make_error_code(errc::pool_closed)) {}
};

// A std::stop_token stopped the wait.
class CancelledError : public Error {
public:
    CancelledError() : Error(make_error_code(errc::cancelled)) {}
};

} // namespace respool

template <>
struct std::is_error_code_enum<respool::errc> : std::true_type {};
#endif // RESPOOL_ERRORS_HPP_INCLUDED
