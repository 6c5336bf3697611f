#pragma once
#ifndef RESPOOL_MARIADB_VALIDATOR_OPTIONS_HPP_INCLUDED
#define RESPOOL_MARIADB_VALIDATOR_OPTIONS_HPP_INCLUDED
// ValidatorOptions: how the MariaDB Validator checks connections on checkout and cleans them on return.
#include <chrono>
#include <stdexcept>

namespace respool::mariadb {

// How a connection is cleaned when its lease comes back.
enum class ResetMode {
    rollback, // ROLLBACK only when the server's status flags say a transaction is open, and RELEASE_ALL_LOCKS()
              // only when the session took named locks: no round trip for a clean session (the default)
    full,     // mysql_reset_connection (COM_RESET_CONNECTION: user variables, temporary tables, session settings
              // and prepared statements go too), then the init statements again: one or more round trips per return
};

// An aggregate: designated initializers work.
struct ValidatorOptions {
    // On checkout (with PoolOptions::pre_ping), a connection idle at least this long is pinged (COM_PING); one used
    // more recently only gets the socket peek. 0: ping every time; milliseconds::max(): never ping.
    std::chrono::milliseconds ping_after{1'000};
    ResetMode reset = ResetMode::rollback;
    // One connection found disconnected makes every connection that existed then unusable (SQLAlchemy's default
    // reaction, right when the server restarted). Needs pre_ping to catch idle ones; make_pool turns it on.
    bool disconnect_invalidates_pool = false;

    // Throws std::invalid_argument naming the first invalid field (a negative ping_after). The validators call it.
    void validate() const {
        if (ping_after.count() < 0)
            throw std::invalid_argument("respool::mariadb::ValidatorOptions::ping_after: must not be negative");
    }
};

} // namespace respool::mariadb
#endif // RESPOOL_MARIADB_VALIDATOR_OPTIONS_HPP_INCLUDED
