#pragma once
#ifndef RESPOOL_MARIADB_FACTORY_HPP_INCLUDED
#define RESPOOL_MARIADB_FACTORY_HPP_INCLUDED
// Factory: makes the pool's connections (the ResourceFactory of a ConnectionPool).
#include <memory>
#include <utility>

#include "connect_options.hpp"
#include "connection.hpp"

namespace respool::mariadb {

// Copies share one immutable ConnectOptions.
class Factory {
public:
    // Throws std::invalid_argument naming an invalid option (ConnectOptions::validate()).
    explicit Factory(ConnectOptions options)
        : options_(std::make_shared<const ConnectOptions>(detail::validated(std::move(options)))) {}

    // A new connection. Blocks up to connect_timeout (plus the init statements); never retries. Thread-safe: several
    // create() calls may run at once. Throws Error (the pool rethrows it to the caller of acquire).
    Connection create() const { return Connection(*options_); }

    // The options every connection is made with.
    const ConnectOptions& options() const noexcept { return *options_; }

private:
    std::shared_ptr<const ConnectOptions> options_;
};

} // namespace respool::mariadb
#endif // RESPOOL_MARIADB_FACTORY_HPP_INCLUDED
