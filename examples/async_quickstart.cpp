// The quick start, asynchronously: an AsyncConnectionPool on one io_context thread, a users table, John (28)
// inserted and read back in a coroutine that never blocks the thread. Prints "John, 28".
//
//   tools/mariadb_server.sh start /tmp/respool-db
//   RESPOOL_MARIADB_URL=$(cat /tmp/respool-db/url) ./async_quickstart
#include <utility> // before Asio (Boost 1.74 under GCC 12)

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>

#include <respool/mariadb_asio.hpp>

namespace asio = boost::asio;

asio::awaitable<void> run(respool::mariadb::AsyncConnectionPool& pool) {
    auto conn = co_await pool.async_acquire();
    co_await conn->async_execute(
        "CREATE TABLE IF NOT EXISTS users(id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100), age INT)");
    co_await conn->async_execute("DELETE FROM users WHERE name = ?", "John"); // so that repeated runs print one line
    co_await conn->async_execute("INSERT INTO users(name, age) VALUES (?, ?)", "John", 28);
    for (const auto& row : co_await conn->async_query("SELECT name, age FROM users WHERE name = ?", "John"))
        std::cout << row.get<std::string>(0) << ", " << row.get<int>("age") << "\n";
}

int main() {
    try {
        const char* env = std::getenv("RESPOOL_MARIADB_URL");
        const std::string url = env && *env ? env : "mariadb://respool:respool@127.0.0.1:3306/respool_test";
        asio::io_context io; // declared first: the pool (and its connections) must go before it
        auto pool = respool::mariadb::make_async_pool(
            io.get_executor(), url + (url.find('?') == std::string::npos ? "?" : "&") +
                                   "pool_size=10&max_overflow=5&pool_timeout=30&pool_recycle=3600");
        std::exception_ptr failure;
        asio::co_spawn(io, run(pool), [&](std::exception_ptr e) { failure = e; });
        io.run();
        if (failure) std::rethrow_exception(failure);
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "async_quickstart: " << e.what() << "\n";
        return 1;
    }
}
