#pragma once
// Other libraries' generic pools for the core scenarios, when CMake found them (benchmarks/CMakeLists.txt defines
// RESPOOL_BENCH_HAS_POCO / RESPOOL_BENCH_HAS_SOCI): POCO's Poco::ObjectPool and SOCI's soci::connection_pool.
#ifndef RESPOOL_BENCH_HAS_POCO
#define RESPOOL_BENCH_HAS_POCO 0
#endif
#ifndef RESPOOL_BENCH_HAS_SOCI
#define RESPOOL_BENCH_HAS_SOCI 0
#endif

#if RESPOOL_BENCH_HAS_POCO
#include <Poco/ObjectPool.h>
#endif
#if RESPOOL_BENCH_HAS_SOCI
#include <soci/connection-pool.h>
#endif
