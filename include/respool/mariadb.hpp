#pragma once
#ifndef RESPOOL_MARIADB_HPP_INCLUDED
#define RESPOOL_MARIADB_HPP_INCLUDED
// respool::mariadb: a MariaDB connection pool over Connector/C (link respool::mariadb), plus the transaction, row-lock
// and named-lock helpers.
#include "respool.hpp"

#include "mariadb/connect_options.hpp"
#include "mariadb/connection.hpp"
#include "mariadb/error.hpp"
#include "mariadb/factory.hpp"
#include "mariadb/identifier.hpp"
#include "mariadb/make_pool.hpp"
#include "mariadb/named_lock.hpp"
#include "mariadb/result.hpp"
#include "mariadb/retry_transaction.hpp"
#include "mariadb/row.hpp"
#include "mariadb/row_lock.hpp"
#include "mariadb/savepoint.hpp"
#include "mariadb/transaction.hpp"
#include "mariadb/transaction_options.hpp"
#include "mariadb/validator.hpp"
#include "mariadb/validator_options.hpp"
#endif // RESPOOL_MARIADB_HPP_INCLUDED
