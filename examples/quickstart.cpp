// The quick start: a pool sized as in SQLAlchemy's create_engine(pool_size=10, max_overflow=5, pool_timeout=30,
// pool_recycle=3600), a users table, John (28) inserted and read back. Prints "John, 28".
//
//   tools/mariadb_server.sh start /tmp/respool-db
//   RESPOOL_MARIADB_URL=$(cat /tmp/respool-db/url) ./quickstart
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>

#include <respool/mariadb.hpp>

int main() {
    try {
        const char* env = std::getenv("RESPOOL_MARIADB_URL");
        const std::string url = env && *env ? env : "mariadb://respool:respool@127.0.0.1:3306/respool_test";
        auto pool = respool::mariadb::make_pool(url + (url.find('?') == std::string::npos ? "?" : "&") +
                                                "pool_size=10&max_overflow=5&pool_timeout=30&pool_recycle=3600");

        auto conn = pool.acquire();
        conn->execute("CREATE TABLE IF NOT EXISTS users(id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100), age INT)");
        conn->execute("DELETE FROM users WHERE name = ?", "John"); // so that repeated runs print one line
        conn->execute("INSERT INTO users(name, age) VALUES (?, ?)", "John", 28);
        for (const auto& row : conn->query("SELECT name, age FROM users WHERE name = ?", "John"))
            std::cout << row.get<std::string>(0) << ", " << row.get<int>("age") << "\n";
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "quickstart: " << e.what() << "\n";
        return 1;
    }
}
