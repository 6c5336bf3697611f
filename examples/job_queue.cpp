// A job queue in a table: workers claim jobs with SELECT … FOR UPDATE SKIP LOCKED, so that each job goes to exactly
// one worker and no worker waits for another's jobs. Prints what each worker did and a final check.
//
//   tools/mariadb_server.sh start /tmp/respool-db
//   RESPOOL_MARIADB_URL=$(cat /tmp/respool-db/url) ./job_queue
#include <cstddef>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <respool/mariadb.hpp>

namespace mdb = respool::mariadb;

int main() {
    constexpr int workers = 4;
    constexpr int jobs = 200;
    try {
        const char* env = std::getenv("RESPOOL_MARIADB_URL");
        const std::string url = env && *env ? env : "mariadb://respool:respool@127.0.0.1:3306/respool_test";
        auto pool = mdb::make_pool(url + (url.find('?') == std::string::npos ? "?" : "&") + "pool_size=4&max_overflow=0");
        {
            auto conn = pool.acquire();
            conn->execute("CREATE TABLE IF NOT EXISTS job_queue_demo(id INT PRIMARY KEY, payload VARCHAR(100), "
                          "state ENUM('queued', 'done') NOT NULL DEFAULT 'queued', worker INT NULL, "
                          "handled INT NOT NULL DEFAULT 0)");
            conn->execute("DELETE FROM job_queue_demo"); // a fresh queue on every run
            for (int i = 1; i <= jobs; ++i)
                conn->execute("INSERT INTO job_queue_demo(id, payload) VALUES (?, ?)", i, "job " + std::to_string(i));
        }

        // Up to 5 queued jobs nobody has claimed; rows other workers hold are skipped, not waited for.
        const auto claim = mdb::LockingRead::from("job_queue_demo")
                               .columns({"id", "payload"})
                               .where("state = 'queued'")
                               .order_by("id")
                               .limit(5)
                               .skip_locked();
        std::vector<int> done(workers, 0);
        std::mutex error_mutex;
        std::string error;
        {
            std::vector<std::jthread> threads;
            for (int w = 0; w < workers; ++w)
                threads.emplace_back([&, w] {
                    try {
                        for (;;) {
                            const int claimed = mdb::retry_transaction(pool, [&](mdb::Transaction& tx) {
                                const auto batch = claim.run(tx);
                                for (const auto& job : batch) // the work itself would go here
                                    tx.execute("UPDATE job_queue_demo SET state = 'done', worker = ?, "
                                               "handled = handled + 1 WHERE id = ?",
                                               w, job.get<int>("id"));
                                return static_cast<int>(batch.size());
                            });
                            if (claimed == 0) break; // nothing left that another worker is not finishing
                            done[static_cast<std::size_t>(w)] += claimed;
                        }
                    } catch (const std::exception& e) {
                        std::lock_guard lock(error_mutex);
                        error = e.what();
                    }
                });
        }
        if (!error.empty()) throw std::runtime_error(error);

        for (int w = 0; w < workers; ++w) std::cout << "worker " << w << ": " << done[static_cast<std::size_t>(w)] << " jobs\n";
        auto conn = pool.acquire();
        const auto check = conn->query("SELECT COUNT(*), COALESCE(MIN(handled), 0), COALESCE(MAX(handled), 0), "
                                       "SUM(state = 'queued') FROM job_queue_demo")[0];
        const int total = check.get<int>(0);
        if (total == jobs && check.get<int>(1) == 1 && check.get<int>(2) == 1 && check.get<int>(3) == 0) {
            std::cout << jobs << " jobs, each processed exactly once\n";
            return 0;
        }
        std::cout << "check failed: " << total << " jobs, handled " << check.get<int>(1) << ".." << check.get<int>(2)
                  << " times, " << check.get<int>(3) << " still queued\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "job_queue: " << e.what() << "\n";
        return 1;
    }
}
