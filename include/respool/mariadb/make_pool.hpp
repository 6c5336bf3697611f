#pragma once
#ifndef RESPOOL_MARIADB_MAKE_POOL_HPP_INCLUDED
#define RESPOOL_MARIADB_MAKE_POOL_HPP_INCLUDED
// make_pool: a ready ConnectionPool from ConnectOptions and PoolOptions, or from one mariadb:// URL.
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "../pool.hpp"
#include "../pool_options.hpp"
#include "connect_options.hpp"
#include "connection.hpp"
#include "detail/url.hpp"
#include "factory.hpp"
#include "validator.hpp"
#include "validator_options.hpp"

namespace respool::mariadb {

// The pool make_pool returns: Pool<Connection, Factory, Validator>.
using ConnectionPool = Pool<Connection, Factory, Validator>;

namespace detail {
// Applies the pool keys of a URL (see make_pool(url)).
inline void apply_pool_keys(const UrlParts& parts, PoolOptions& pool, ValidatorOptions& validator) {
    using std::chrono::milliseconds;
    for (const auto& [key, value] : parts.params) {
        if (key == "pool_size") {
            const auto size = static_cast<std::size_t>(url_integer(key, value, 0, PoolOptions::max_resources));
            if (size == 0)
                url_error("pool_size=0 (no limit in SQLAlchemy) is not supported: a bound is needed; give the number "
                          "of connections to keep (for no pooling at all, use PoolOptions{.pool_size = 0, "
                          ".max_overflow = n} in code)");
            pool.pool_size = size;
        } else if (key == "max_overflow") {
            if (value == "-1")
                url_error("max_overflow=-1 (unlimited in SQLAlchemy) is not supported: a bound is needed; give the "
                          "largest number of connections beyond pool_size the server may see");
            pool.max_overflow = static_cast<std::size_t>(url_integer(key, value, 0, PoolOptions::max_resources));
        } else if (key == "pool_timeout") {
            pool.timeout = milliseconds(url_seconds_as_ms(key, value, 0));
        } else if (key == "pool_recycle") {
            const long long ms = url_seconds_as_ms(key, value, -1);
            if (ms < 0 && ms != -1000) url_error("bad value '" + value + "' for pool_recycle (seconds, or -1: never)");
            if (ms == 0)
                url_error("pool_recycle=0 (in SQLAlchemy: a new connection at every checkout) is not supported; give "
                          "a number of seconds, or -1 for never");
            pool.recycle = milliseconds(ms < 0 ? 0 : ms);
        } else if (key == "pool_pre_ping") {
            pool.pre_ping = url_flag(key, value);
        } else if (key == "pool_ping_after") {
            validator.ping_after = milliseconds(url_seconds_as_ms(key, value, 0));
        } else if (key == "pool_reset_on_return") {
            if (value == "rollback") validator.reset = ResetMode::rollback;
            else if (value == "full") validator.reset = ResetMode::full;
            else url_error("bad value '" + value + "' for pool_reset_on_return (expected rollback or full)");
        } else if (key == "pool_invalidate_on_disconnect") {
            validator.disconnect_invalidates_pool = url_flag(key, value);
        } else if (key == "pool_recycle_jitter") {
            pool.recycle_jitter = milliseconds(url_seconds_as_ms(key, value, 0));
        } else if (key == "pool_order") {
            if (value == "lifo") pool.order = CheckoutOrder::lifo;
            else if (value == "fifo") pool.order = CheckoutOrder::fifo;
            else url_error("bad value '" + value + "' for pool_order (expected lifo or fifo)");
        } else if (key == "pool_keepalive") {
            pool.keepalive = milliseconds(url_seconds_as_ms(key, value, 0));
        } else if (key == "pool_idle_timeout") {
            pool.idle_timeout = milliseconds(url_seconds_as_ms(key, value, 0));
        } else if (key == "pool_min_idle") {
            pool.min_idle = static_cast<std::size_t>(url_integer(key, value, 0, PoolOptions::max_resources));
        } else if (key == "pool_fair_queue") {
            pool.fair_queue = url_flag(key, value);
        } else if (key == "pool_max_connecting") {
            pool.max_connecting = static_cast<std::size_t>(url_integer(key, value, 0, PoolOptions::max_resources));
        }
    }
}
} // namespace detail

// A pool of connections made with `options`. Connects to nothing yet. With
// validator_options.disconnect_invalidates_pool and no pre_ping, pre_ping is turned on with pings off (the socket
// peek only), so that idle connections are checked on checkout. Never blocks. Throws std::invalid_argument naming an
// invalid PoolOptions field.
inline ConnectionPool make_pool(ConnectOptions options, PoolOptions pool_options = {},
                                ValidatorOptions validator_options = {}) {
    if (validator_options.disconnect_invalidates_pool && !pool_options.pre_ping) {
        pool_options.pre_ping = true;
        validator_options.ping_after = std::chrono::milliseconds::max();
    }
    return ConnectionPool(pool_options, Factory(std::move(options)), Validator(validator_options));
}

// A pool from a URL: the connection keys as ConnectOptions::from_url reads them, plus SQLAlchemy's pool keys
// pool_size, max_overflow (-1 is refused: a bound is needed), pool_timeout (seconds), pool_recycle (seconds; -1:
// never), pool_pre_ping, the adapter's pool_ping_after (seconds), pool_reset_on_return (rollback|full) and
// pool_invalidate_on_disconnect, and the rest of PoolOptions: pool_recycle_jitter, pool_keepalive,
// pool_idle_timeout (seconds), pool_order (lifo|fifo), pool_min_idle, pool_max_connecting, pool_fair_queue. Keys not given keep PoolOptions' and ValidatorOptions' defaults. Connects to
// nothing yet; never blocks. Throws std::invalid_argument naming the malformed part or the unknown key.
inline ConnectionPool make_pool(std::string_view url) {
    ConnectOptions options = ConnectOptions::from_url(url);
    PoolOptions pool_options;
    ValidatorOptions validator_options;
    detail::apply_pool_keys(detail::split_url(url), pool_options, validator_options);
    return make_pool(std::move(options), pool_options, validator_options);
}

} // namespace respool::mariadb
#endif // RESPOOL_MARIADB_MAKE_POOL_HPP_INCLUDED
