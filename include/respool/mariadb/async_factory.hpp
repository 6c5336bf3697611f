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

namespace detail {
// Told of every connection an AsyncFactory makes, on the thread that makes it. AsyncConnectionPool listens so that the
// connections its maintenance thread makes ahead of demand (min_idle) get connected on the pool's executor. Must
// neither block nor throw. Not API.
class CreationListener {
public:
    virtual void connection_created() noexcept = 0;
    virtual void maintenance_pass() noexcept = 0;

protected:
    ~CreationListener() = default;
};
} // namespace detail

// create() does no I/O, so it is cheap enough to run inside the pool's posted acquire task and on the pool's
// maintenance thread; AsyncConnectionPool awaits async_connect() on a new connection before handing it out. Copies
// share one immutable ConnectOptions (and the listener).
class AsyncFactory {
public:
    // Throws std::invalid_argument naming an invalid option (ConnectOptions::validate()).
    AsyncFactory(boost::asio::any_io_executor executor, ConnectOptions options)
        : executor_(std::move(executor)),
          options_(std::make_shared<const ConnectOptions>(detail::validated(std::move(options)))) {}

    // As above, telling `listener` (while it exists) of every connection made. For AsyncConnectionPool.
    AsyncFactory(boost::asio::any_io_executor executor, ConnectOptions options,
                 std::weak_ptr<detail::CreationListener> listener)
        : AsyncFactory(std::move(executor), std::move(options)) {
        listener_ = std::move(listener);
    }

    // An unconnected AsyncConnection on the pool's executor. Never blocks; thread-safe. Throws Error (Connector/C
    // could not set the handle up) or std::bad_alloc.
    AsyncConnection create() const {
        AsyncConnection made(executor_, *options_);
        if (const auto listener = listener_.lock()) listener->connection_created();
        return made;
    }

    // After each of the pool's maintenance passes: the pool retries connection set-ups that failed from here, at the
    // pace of its backoff, so that no timer keeps the executor busy meanwhile. Never blocks.
    void on_maintenance_pass() const noexcept {
        if (const auto listener = listener_.lock()) listener->maintenance_pass();
    }

    const ConnectOptions& options() const noexcept { return *options_; }
    const boost::asio::any_io_executor& get_executor() const noexcept { return executor_; }

private:
    boost::asio::any_io_executor executor_;
    std::shared_ptr<const ConnectOptions> options_;
    std::weak_ptr<detail::CreationListener> listener_;
};

} // namespace respool::mariadb
#endif // RESPOOL_MARIADB_ASYNC_FACTORY_HPP_INCLUDED
