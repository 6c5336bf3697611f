#pragma once
#ifndef RESPOOL_MARIADB_ASYNC_FACTORY_HPP_INCLUDED
#define RESPOOL_MARIADB_ASYNC_FACTORY_HPP_INCLUDED
// AsyncFactory: makes an AsyncConnectionPool's connections, unconnected (the pool connects them asynchronously).
#include <utility> // before Asio: Boost 1.74's Asio uses std::exchange without including it

#include <boost/asio/any_io_executor.hpp>

#include <memory>

#include "async_connection.hpp"
#include "connect_options.hpp"

namespace respool::mariadb {

// create() does no I/O, so it is cheap enough to run inside the pool's posted acquire task; AsyncConnectionPool
// awaits async_connect() on a new connection before handing it out. Copies share one immutable ConnectOptions.
class AsyncFactory {
public:
    AsyncFactory(boost::asio::any_io_executor executor, ConnectOptions options)
        : executor_(std::move(executor)), options_(std::make_shared<const ConnectOptions>(std::move(options))) {}

    // An unconnected AsyncConnection on the pool's executor. Never blocks; thread-safe. Throws Error (Connector/C
    // could not set the handle up) or std::bad_alloc.
    AsyncConnection create() const { return AsyncConnection(executor_, *options_); }

    const ConnectOptions& options() const noexcept { return *options_; }
    const boost::asio::any_io_executor& get_executor() const noexcept { return executor_; }

private:
    boost::asio::any_io_executor executor_;
    std::shared_ptr<const ConnectOptions> options_;
};

} // namespace respool::mariadb
#endif // RESPOOL_MARIADB_ASYNC_FACTORY_HPP_INCLUDED
