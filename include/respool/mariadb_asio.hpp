#pragma once
#ifndef RESPOOL_MARIADB_ASIO_HPP_INCLUDED
#define RESPOOL_MARIADB_ASIO_HPP_INCLUDED
// respool::mariadb over Boost.Asio: AsyncConnection on Connector/C's non-blocking API, AsyncConnectionPool and
// AsyncTransaction for C++20 coroutines (link respool::mariadb and respool::asio).
#include <utility> // before Asio: Boost 1.74's Asio uses std::exchange without including it

#include "asio.hpp"
#include "mariadb.hpp"

#include "mariadb/async_connection.hpp"
#include "mariadb/async_factory.hpp"
#include "mariadb/async_lease.hpp"
#include "mariadb/async_pool.hpp"
#include "mariadb/async_transaction.hpp"
#include "mariadb/async_validator.hpp"
#endif // RESPOOL_MARIADB_ASIO_HPP_INCLUDED
