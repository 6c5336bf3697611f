# The MariaDB examples (included by examples/CMakeLists.txt when libmariadb is found).
respool_add_example(quickstart respool::mariadb)
respool_add_example(behind_nginx respool::mariadb)
respool_add_example(select_for_update respool::mariadb)
respool_add_example(job_queue respool::mariadb)
# The asynchronous ones also need Boost.Asio.
if(RESPOOL_HAS_ASIO)
  respool_add_example(async_quickstart respool::mariadb respool::asio)
  respool_add_example(async_select_for_update respool::mariadb respool::asio)
endif()
