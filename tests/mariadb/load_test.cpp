// Under a 16-thread load the pool never holds more than pool_size + max_overflow connections, and the server's
// process list agrees.
#define BOOST_TEST_MODULE mariadb_load
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "test_server.hpp"

namespace mdb = respool::mariadb;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_CASE(sixteen_threads_never_exceed_pool_size_plus_max_overflow) {
    constexpr std::size_t pool_size = 4;
    constexpr std::size_t max_overflow = 3;
    constexpr std::size_t cap = pool_size + max_overflow;
    constexpr int threads = 16;
    constexpr int iterations = 150;

    // A database of its own, so the process list can tell this pool's sessions from other tests'.
    mdb::Connection admin(respool_test::server_options());
    const std::string db = respool_test::unique_name("respool_test_load");
    admin.execute("CREATE DATABASE " + db);
    struct DropDb {
        mdb::Connection& c;
        std::string db;
        ~DropDb() {
            try {
                c.execute("DROP DATABASE IF EXISTS " + db);
            } catch (...) {
            }
        }
    } drop{admin, db};

    auto options = respool_test::server_options();
    options.database = db;
    auto pool = mdb::make_pool(options, respool::PoolOptions{.pool_size = pool_size, .max_overflow = max_overflow,
                                                             .timeout = 30s, .pre_ping = true});

    std::atomic<bool> done{false};
    std::atomic<int> failures{0};
    std::size_t max_stats_size = 0;
    long long max_processes = 0;
    long long max_excess = 0; // processes beyond cap + connections the pool has destroyed (maybe not reaped yet)
    std::thread monitor([&] {
        while (!done.load(std::memory_order_acquire)) {
            max_stats_size = std::max(max_stats_size, pool.stats().size);
            const auto processes = admin.query("SELECT COUNT(*) FROM information_schema.processlist WHERE db = ?", db)
                                       .at(0)
                                       .get<long long>(0);
            const auto destroyed = static_cast<long long>(pool.stats().destroyed);
            max_processes = std::max(max_processes, processes);
            max_excess = std::max(max_excess, processes - static_cast<long long>(cap) - destroyed);
            std::this_thread::sleep_for(2ms); // sampling rate, not synchronisation
        }
    });

    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            try {
                for (int i = 0; i < iterations; ++i) {
                    auto conn = pool.acquire();
                    const auto row = conn->query("SELECT ? + 1", t * iterations + i).at(0);
                    if (row.get<long long>(0) != t * iterations + i + 1) failures.fetch_add(1);
                    if (i % 10 == 0) std::this_thread::yield();
                }
            } catch (const std::exception& e) {
                BOOST_TEST_MESSAGE("worker failed: " << e.what());
                failures.fetch_add(1);
            }
        });
    }
    for (auto& w : workers) w.join();
    done.store(true, std::memory_order_release);
    monitor.join();

    const auto st = pool.stats();
    BOOST_TEST(failures.load() == 0);
    BOOST_TEST(max_stats_size <= cap);
    BOOST_TEST(st.size <= cap);
    BOOST_TEST(max_processes >= 1);         // the monitor saw the pool's sessions at all
    BOOST_TEST(max_excess <= 0, "the server saw " << max_excess << " sessions beyond the cap");
    BOOST_TEST(st.created <= cap + st.destroyed);
    BOOST_TEST(st.waits > 0u); // 16 threads over 7 connections did contend
    BOOST_TEST_MESSAGE("created " << st.created << ", destroyed " << st.destroyed << ", max processes "
                                  << max_processes);
}
