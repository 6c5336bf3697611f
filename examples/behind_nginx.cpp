// A ConnectionPool behind nginx's stream (layer 4) load balancer, with the settings docs/behind-a-load-balancer.md
// recommends, printing which backend served each query.
//
//   RESPOOL_MARIADB_URL=mariadb://user:pw@nginx-host:3306/db ./behind_nginx
//
// For a local try: tools/nginx_lb.sh start /tmp/lb --proxy-timeout 10s, then RESPOOL_MARIADB_URL=$(cat /tmp/lb/url).
#include <chrono>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include <respool/mariadb.hpp>

int main() {
    using namespace std::chrono_literals;
    const char* url = std::getenv("RESPOOL_MARIADB_URL");
    if (!url || !*url) {
        std::cerr << "set RESPOOL_MARIADB_URL to a mariadb:// URL that points at nginx\n";
        return 2;
    }
    try {
        auto connect = respool::mariadb::ConnectOptions::from_url(url);
        connect.connect_timeout = 3s; // a dead path costs at most this; nginx's proxy_connect_timeout bounds the rest
        connect.read_timeout = 30s;   // longer than the slowest query you run

        // Say nginx runs with proxy_timeout 10s (its default is 10 min).
        const respool::PoolOptions pool_options{
            .pool_size = 4,
            .max_overflow = 4,
            .timeout = 5s,
            .recycle = 5min,          // connections are re-balanced by nginx when they are re-made...
            .pre_ping = true,         // a connection the proxy closed is replaced at checkout, not handed out
            .recycle_jitter = 1min,   // ...a few at a time, not all at once
            .order = respool::CheckoutOrder::fifo, // use every connection in turn: all stay warm
            .keepalive = 4s,          // below proxy_timeout: idle connections are pinged before nginx drops them
            .max_connecting = 2,      // after a mass disconnect (reload, backend death) reconnect two at a time
        };
        // Ping at checkout only when idle 2 s or more (below keepalive × 0.8, so keepalive passes always ping).
        const respool::mariadb::ValidatorOptions validator_options{.ping_after = 2s};
        auto pool = respool::mariadb::make_pool(connect, pool_options, validator_options);

        { // Open pool_size connections: nginx balances per connection, so they land on different backends.
            std::vector<respool::mariadb::ConnectionPool::Lease> warm;
            for (std::size_t i = 0; i < pool_options.pool_size; ++i) warm.push_back(pool.acquire());
        }

        std::set<std::string> backends;
        int errors = 0;
        for (int i = 0; i < 8; ++i) {
            try {
                auto conn = pool.acquire();
                const auto rows = conn->query("SELECT @@hostname, @@port, @@server_id, CONNECTION_ID()");
                const auto& row = rows.at(0);
                const std::string backend = row.get<std::string>(0) + ":" + row.get<std::string>(1);
                backends.insert(backend);
                std::cout << "query " << i << ": served by " << backend << " (server_id " << row.get<int>(2)
                          << ", session " << row.get<std::uint64_t>(3) << ")\n";
            } catch (const respool::mariadb::Error& e) {
                ++errors; // e.is_disconnect(): that connection is gone and will not be reused
                std::cout << "query " << i << ": " << e.what() << "\n";
            }
        }
        const auto s = pool.stats();
        std::cout << "served by " << backends.size() << " backends, " << errors << " errors (" << s.created
                  << " connections made)\n";
        return errors == 0 ? 0 : 1;
    } catch (const std::exception& e) {
        std::cerr << "behind_nginx: " << e.what() << "\n";
        return 1;
    }
}
