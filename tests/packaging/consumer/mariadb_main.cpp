// A consumer of respool::mariadb. It needs no server: it asks libmariadb for its version, which checks that the
// component links libmariadb, and, once the adapter's headers exist, parses a URL with them.
#if __has_include(<respool/mariadb.hpp>)
#include <respool/mariadb.hpp>
#define RESPOOL_CONSUMER_HAS_ADAPTER 1
#endif

#include <mysql.h>

#include <iostream>

int main() {
    std::cout << "respool mariadb consumer:";
#ifdef RESPOOL_CONSUMER_HAS_ADAPTER
    const auto options = respool::mariadb::ConnectOptions::from_url("mariadb://app@db.example:3307/shop");
    std::cout << " host=" << options.host << " database=" << options.database;
#endif
    std::cout << " client=" << mysql_get_client_info() << '\n';
    return 0;
}
