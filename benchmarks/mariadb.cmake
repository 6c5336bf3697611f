# MariaDB benchmarks, included by benchmarks/CMakeLists.txt when libmariadb was found (respool::mariadb exists).
# They need a server at run time: tools/bench_mariadb.sh starts a throwaway one, or set RESPOOL_MARIADB_URL.
#
#   bench_mariadb_select1           SELECT 1 at 1, 8 and 32 threads: respool against raw connections (the floor)
#                                   and connect-per-query. Needs only libmariadb.
#   bench_mariadb_rows              queries returning 1, 100 and 1000 rows, and an INSERT, on one connection:
#                                   respool's Connection against Connector/C used directly. Needs only libmariadb.
#   bench_mariadb_vs_other_pools    the same loop, and checkout + return alone, through POCO Data's SessionPool,
#                                   SOCI's connection_pool and libzdb's ConnectionPool next to respool. Optional:
#                                   built only with whichever of those libraries is installed (Debian 12:
#                                   libpoco-dev, libsoci-dev, libzdb-dev); the main build never needs them.
#   bench_async_mariadb             SELECT 1 from one thread running an io_context over an async pool of 8, against
#                                   8 and 1 threads over blocking pools. Needs Boost (respool::asio).

function(respool_mariadb_benchmark name)
  add_executable(bench_${name} ${name}.cpp)
  target_link_libraries(bench_${name} PRIVATE respool::mariadb benchmark::benchmark)
  target_compile_options(bench_${name} PRIVATE -Wall -Wextra)
  if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
    target_compile_options(bench_${name} PRIVATE -O2)
  endif()
  add_dependencies(respool_benchmarks bench_${name})
endfunction()

respool_mariadb_benchmark(mariadb_select1)
respool_mariadb_benchmark(mariadb_rows)
if(RESPOOL_HAS_ASIO)
  respool_mariadb_benchmark(async_mariadb)
  target_link_libraries(bench_async_mariadb PRIVATE respool::asio)
endif()

# ---- bench_mariadb_vs_other_pools: optional, with whichever of POCO, SOCI and libzdb is installed --------------------
set(respool_other_pools_libs "")
set(respool_other_pools_defs "")

# Debian 12's PocoDataMySQL package links MySQL::client without defining it: stand libmariadb in for it (the library
# Debian's libPocoDataMySQL is linked against).
if(NOT TARGET MySQL::client)
  add_library(MySQL::client INTERFACE IMPORTED)
  target_link_libraries(MySQL::client INTERFACE PkgConfig::RESPOOL_LIBMARIADB)
endif()
find_package(Poco QUIET COMPONENTS Data DataMySQL)
if(Poco_FOUND)
  list(APPEND respool_other_pools_libs Poco::Data Poco::DataMySQL)
  list(APPEND respool_other_pools_defs RESPOOL_BENCH_HAS_POCO=1)
endif()

# Debian's libsoci-dev ships neither a CMake package nor a .pc file.
find_path(RESPOOL_SOCI_INCLUDE_DIR soci/mysql/soci-mysql.h)
find_library(RESPOOL_SOCI_CORE_LIBRARY soci_core)
find_library(RESPOOL_SOCI_MYSQL_LIBRARY soci_mysql)
if(RESPOOL_SOCI_INCLUDE_DIR AND RESPOOL_SOCI_CORE_LIBRARY AND RESPOOL_SOCI_MYSQL_LIBRARY)
  list(APPEND respool_other_pools_libs ${RESPOOL_SOCI_MYSQL_LIBRARY} ${RESPOOL_SOCI_CORE_LIBRARY})
  list(APPEND respool_other_pools_defs RESPOOL_BENCH_HAS_SOCI=1)
endif()

if(PkgConfig_FOUND)
  pkg_check_modules(RESPOOL_ZDB QUIET IMPORTED_TARGET zdb)
endif()
if(RESPOOL_ZDB_FOUND)
  list(APPEND respool_other_pools_libs PkgConfig::RESPOOL_ZDB)
  list(APPEND respool_other_pools_defs RESPOOL_BENCH_HAS_ZDB=1)
endif()

if(respool_other_pools_defs)
  respool_mariadb_benchmark(mariadb_vs_other_pools)
  target_link_libraries(bench_mariadb_vs_other_pools PRIVATE ${respool_other_pools_libs})
  target_compile_definitions(bench_mariadb_vs_other_pools PRIVATE ${respool_other_pools_defs})
  if(RESPOOL_SOCI_INCLUDE_DIR)
    target_include_directories(bench_mariadb_vs_other_pools SYSTEM PRIVATE ${RESPOOL_SOCI_INCLUDE_DIR})
  endif()
  message(STATUS "respool: bench_mariadb_vs_other_pools with ${respool_other_pools_defs}")
else()
  message(STATUS "respool: none of POCO Data, SOCI, libzdb found; bench_mariadb_vs_other_pools is not built")
endif()
