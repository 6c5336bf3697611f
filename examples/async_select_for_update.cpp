// SELECT ... FOR UPDATE, asynchronously: lock John's row in a transaction, set his age to 29, commit, read it back.
// Prints "John, 29".
//
//   tools/mariadb_server.sh start /tmp/respool-db
//   RESPOOL_MARIADB_URL=$(cat /tmp/respool-db/url) ./async_select_for_update
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
namespace mdb = respool::mariadb;

asio::awaitable<void> run(mdb::AsyncConnectionPool& pool) {
    auto conn = co_await pool.async_acquire();
    co_await conn->async_execute(
        "CREATE TABLE IF NOT EXISTS users(id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100), age INT)");
    if (co_await conn->async_execute("SELECT 1 FROM users WHERE name = ?", "John") == 0)
        co_await conn->async_execute("INSERT INTO users(name, age) VALUES (?, ?)", "John", 28);

    mdb::AsyncTransaction tx = co_await mdb::AsyncTransaction::begin(conn);
    // Locks John's row(s) until commit: another transaction's FOR UPDATE or UPDATE of them waits.
    const mdb::Result locked = co_await tx.select_for_update("SELECT id, age FROM users WHERE name = ?", "John");
    for (const auto& row : locked)
        co_await conn->async_execute("UPDATE users SET age = ? WHERE id = ?", 29, row.get<long long>("id"));
    co_await tx.commit();

    const auto rows = co_await conn->async_query("SELECT name, age FROM users WHERE name = ? LIMIT 1", "John");
    for (const auto& row : rows) std::cout << row.get<std::string>(0) << ", " << row.get<int>("age") << "\n";
}

int main() {
    try {
        const char* env = std::getenv("RESPOOL_MARIADB_URL");
        const std::string url = env && *env ? env : "mariadb://respool:respool@127.0.0.1:3306/respool_test";
        asio::io_context io; // declared first: the pool (and its connections) must go before it
        auto pool = mdb::make_async_pool(io.get_executor(), url);
        std::exception_ptr failure;
        asio::co_spawn(io, run(pool), [&](std::exception_ptr e) { failure = e; });
        io.run();
        if (failure) std::rethrow_exception(failure);
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "async_select_for_update: " << e.what() << "\n";
        return 1;
    }
}
