# The MariaDB examples (included by examples/CMakeLists.txt when libmariadb is found).
respool_add_example(quickstart respool::mariadb)
respool_add_example(behind_nginx respool::mariadb)
