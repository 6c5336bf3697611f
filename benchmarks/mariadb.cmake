# MariaDB benchmarks, included by benchmarks/CMakeLists.txt when libmariadb was found (respool::mariadb exists).
# They need a server at run time: tools/bench_mariadb.sh starts a throwaway one, or set RESPOOL_MARIADB_URL.
#
#   bench_mariadb_select1           SELECT 1 at 1, 8 and 32 threads: respool against raw connections (the floor)
#                                   and connect-per-query. Needs only libmariadb.
#   bench_mariadb_vs_other_pools    the same loop, and checkout + return alone, through POCO Data's SessionPool,
#                                   SOCI's connection_pool and libzdb's ConnectionPool next to respool. Optional:
#                                   built only with whichever of those libraries is installed (Debian 12:
#                                   libpoco-dev, libsoci-dev, libzdb-dev); the main build never needs them.

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
