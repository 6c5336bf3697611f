#pragma once
#ifndef RESPOOL_RESPOOL_HPP_INCLUDED
#define RESPOOL_RESPOOL_HPP_INCLUDED
// respool: the generic, header-only resource pool. Nothing here needs a database client library.
#if __cplusplus < 202002L
#error "respool needs C++20 or newer: compile with -std=c++20 (or later)"
#endif
#include "acquire_awaitable.hpp"
#include "concepts.hpp"
#include "errors.hpp"
#include "events.hpp"
#include "lease.hpp"
#include "policies/always_valid.hpp"
#include "policies/clocks.hpp"
#include "policies/metrics.hpp"
#include "pool.hpp"
#include "pool_options.hpp"
#include "pool_stats.hpp"
#include "source_location.hpp"
#include "task.hpp"
#endif // RESPOOL_RESPOOL_HPP_INCLUDED
