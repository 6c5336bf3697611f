// SELECT … FOR UPDATE done right: lock John's row, set his age to 29, commit, and read it back. Prints "John, 29".
// Safe to run again and again, and alongside quickstart (which inserts John, 28).
//
//   tools/mariadb_server.sh start /tmp/respool-db
//   RESPOOL_MARIADB_URL=$(cat /tmp/respool-db/url) ./select_for_update
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>

#include <respool/mariadb.hpp>

namespace mdb = respool::mariadb;

int main() {
    try {
        const char* env = std::getenv("RESPOOL_MARIADB_URL");
        auto pool = mdb::make_pool(env && *env ? env : "mariadb://respool:respool@127.0.0.1:3306/respool_test");
        {
            auto conn = pool.acquire();
            conn->execute("CREATE TABLE IF NOT EXISTS users(id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100), age INT)");
        }

        // The whole read-modify-write runs again if it loses a deadlock or a lock wait; John ends up 29 once.
        mdb::retry_transaction(pool, [](mdb::Transaction& tx) {
            // FOR UPDATE inside the transaction: nobody else can change (or lock) John's row until commit.
            const auto john = mdb::LockingRead::from("users")
                                  .columns({"id", "age"})
                                  .where_equal("name")
                                  .order_by("id")
                                  .limit(1)
                                  .run(tx, "John");
            if (john.empty())
                tx.execute("INSERT INTO users(name, age) VALUES (?, ?)", "John", 29);
            else
                tx.execute("UPDATE users SET age = ? WHERE id = ?", 29, john[0].get<long>("id"));
        }); // committed here

        auto conn = pool.acquire();
        const auto rows = conn->query("SELECT name, age FROM users WHERE name = ? ORDER BY id LIMIT 1", "John");
        for (const auto& row : rows) std::cout << row.get<std::string>(0) << ", " << row.get<int>("age") << "\n";
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "select_for_update: " << e.what() << "\n";
        return 1;
    }
}
