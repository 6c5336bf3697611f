// AsyncConnectionPool against a real server: one thread serves many coroutines, pre_ping replaces a dead connection
// quietly, a failed connect reaches the caller with the server's message.
#define BOOST_TEST_MODULE mariadb_async_pool
#include <boost/test/unit_test.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "async_support.hpp"

namespace asio = boost::asio;
namespace mdb = respool::mariadb;
using namespace std::chrono_literals;
using respool_test::run_on;
using respool_test::server_options;

BOOST_AUTO_TEST_CASE(one_thread_serves_64_coroutines_over_8_connections_without_blocking) {
    asio::io_context io;
    auto pool = mdb::make_async_pool(io.get_executor(), server_options(),
                                     respool::PoolOptions{.pool_size = 8, .max_overflow = 0, .timeout = 30s});
    // Connect the 8 first, so that the measurement is of the queries alone.
    run_on(io, [&]() -> asio::awaitable<void> {
        std::vector<mdb::AsyncLease> leases;
        for (int i = 0; i < 8; ++i) leases.push_back(co_await pool.async_acquire());
    }());
    BOOST_TEST(pool.stats().size == 8u);

    int done = 0;
    std::thread::id ran_on;
    auto worker = [&]() -> asio::awaitable<void> {
        auto lease = co_await pool.async_acquire();
        const auto rows = co_await lease->async_query("SELECT SLEEP(0.05)");
        BOOST_TEST(rows[0].get<int>(0) == 0);
        ran_on = std::this_thread::get_id();
        ++done;
    };
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 64; ++i) asio::co_spawn(io, worker(), asio::detached);
    io.restart();
    io.run(); // this thread only
    const auto took = std::chrono::steady_clock::now() - start;
    const double seconds = std::chrono::duration<double>(took).count();
    std::cout << "64 coroutines x SELECT SLEEP(0.05) over 8 async connections on one thread: " << seconds << " s\n";
    BOOST_TEST(done == 64);
    BOOST_TEST((ran_on == std::this_thread::get_id()));
    BOOST_TEST(seconds >= 0.39); // 8 rounds of 50 ms at best
    BOOST_TEST(seconds < 1.6);   // a blocking call would take 64 x 50 ms = 3.2 s
    const auto st = pool.stats();
    BOOST_TEST(st.created == 8u);
    BOOST_TEST(st.in_use == 0u);
    BOOST_TEST(st.idle == 8u);
}

BOOST_AUTO_TEST_CASE(an_io_context_run_by_several_threads_is_served_too) {
    asio::io_context io;
    auto pool = mdb::make_async_pool(io.get_executor(), server_options(),
                                     respool::PoolOptions{.pool_size = 4, .max_overflow = 0, .timeout = 30s});
    std::atomic<int> done{0};
    std::atomic<long long> total{0};
    auto worker = [&](int i) -> asio::awaitable<void> {
        auto lease = co_await pool.async_acquire();
        for (int k = 0; k < 5; ++k) {
            const auto rows = co_await lease->async_query("SELECT ? + ?, SLEEP(0.001)", i, k);
            total += rows[0].get<long long>(0);
        }
        done.fetch_add(1);
    };
    for (int i = 0; i < 32; ++i) asio::co_spawn(io, worker(i), asio::detached);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) threads.emplace_back([&] { io.run(); });
    for (auto& t : threads) t.join();
    BOOST_TEST(done.load() == 32);
    BOOST_TEST(total.load() == 5LL * (31 * 32 / 2) + 32LL * 10);
    BOOST_TEST(pool.stats().in_use == 0u);
    BOOST_TEST(pool.stats().created <= 4u);
}

BOOST_AUTO_TEST_CASE(pre_ping_replaces_a_connection_killed_while_idle_without_an_error) {
    for (const auto ping_after : {0ms, 3'600'000ms}) { // the awaited COM_PING, then the socket peek alone
        BOOST_TEST_CONTEXT("ping_after " << ping_after.count() << " ms") {
            mdb::Connection admin(server_options());
            asio::io_context io;
            auto pool = mdb::make_async_pool(
                io.get_executor(), server_options(),
                respool::PoolOptions{.pool_size = 1, .max_overflow = 0, .timeout = 10s, .pre_ping = true},
                mdb::ValidatorOptions{.ping_after = ping_after});
            unsigned long first = 0;
            run_on(io, [&]() -> asio::awaitable<void> {
                auto lease = co_await pool.async_acquire();
                first = lease->thread_id();
            }());
            BOOST_TEST(pool.stats().idle == 1u);
            respool_test::kill_session(admin, first);
            std::this_thread::sleep_for(50ms); // let the server's close reach this side for the peek
            run_on(io, [&]() -> asio::awaitable<void> {
                auto lease = co_await pool.async_acquire(); // must not throw
                BOOST_TEST(lease->thread_id() != first);
                BOOST_TEST((co_await lease->async_query("SELECT 1"))[0].get<int>(0) == 1);
            }());
            const auto st = pool.stats();
            BOOST_TEST(st.created == 2u);
            BOOST_TEST(st.destroyed == 1u);
        }
    }
}

BOOST_AUTO_TEST_CASE(a_failed_connect_reaches_the_caller_with_the_servers_message) {
    auto options = server_options();
    options.password = "not-the-password";
    asio::io_context io;
    auto pool = mdb::make_async_pool(io.get_executor(), options, respool::PoolOptions{.pool_size = 2, .max_overflow = 0});
    try {
        run_on(io, [&]() -> asio::awaitable<void> { auto lease = co_await pool.async_acquire(); }());
        BOOST_ERROR("acquired with a wrong password");
    } catch (const mdb::Error& e) {
        BOOST_TEST(e.server_errno() == mdb::server_errno::access_denied);
        BOOST_TEST(std::string(e.what()).find("Access denied for user") != std::string::npos, e.what());
    }
    const auto st = pool.stats();
    BOOST_TEST(st.size == 0u); // the unconnected connection was destroyed, its room given back
    BOOST_TEST(st.in_use == 0u);
    BOOST_TEST(st.created == st.destroyed);
}

BOOST_AUTO_TEST_CASE(a_url_configures_the_pool_and_acquire_times_out_when_exhausted) {
    asio::io_context io;
    auto pool = mdb::make_async_pool(io.get_executor(), respool_test::server_url() +
                                                            "?pool_size=1&max_overflow=0&pool_timeout=0.05");
    BOOST_TEST(pool.options().pool_size == 1u);
    run_on(io, [&]() -> asio::awaitable<void> {
        auto held = co_await pool.async_acquire();
        const auto start = std::chrono::steady_clock::now();
        try {
            auto second = co_await pool.async_acquire();
            BOOST_ERROR("a second connection beyond pool_size");
        } catch (const respool::TimeoutError&) {
        }
        BOOST_TEST((std::chrono::steady_clock::now() - start >= 40ms));
    }());
    BOOST_TEST(pool.stats().in_use == 0u);
}

BOOST_AUTO_TEST_CASE(named_locks_are_released_before_the_connection_is_reused) {
    mdb::Connection admin(server_options());
    asio::io_context io;
    auto pool = mdb::make_async_pool(io.get_executor(), server_options(),
                                     respool::PoolOptions{.pool_size = 1, .max_overflow = 0});
    const std::string name = respool_test::unique_name("async_named");
    unsigned long first = 0;
    run_on(io, [&]() -> asio::awaitable<void> {
        auto lease = co_await pool.async_acquire();
        first = lease->thread_id();
        BOOST_TEST((co_await lease->async_query("SELECT GET_LOCK(?, 0)", name))[0].get<int>(0) == 1);
    }()); // the lease ended: RELEASE_ALL_LOCKS() awaited before the connection went back
    BOOST_TEST(admin.query("SELECT IS_FREE_LOCK(?)", name)[0].get<int>(0) == 1);
    run_on(io, [&]() -> asio::awaitable<void> {
        auto lease = co_await pool.async_acquire();
        BOOST_TEST(lease->thread_id() == first); // cleaned and kept, not replaced
    }());
}

BOOST_AUTO_TEST_CASE(keepalive_keeps_an_idle_connection_past_the_servers_idle_timeout) {
    // The server ends a session idle for wait_timeout (2 s here), as a proxy's idle timeout would. With keepalive 1 s
    // the pool's maintenance thread pings the idle connection in time; the same pool without keepalive loses it.
    mdb::ConnectOptions options = server_options();
    options.init_statements.push_back("SET SESSION wait_timeout = 2");
    mdb::Connection admin(server_options());
    asio::io_context io;
    auto kept = mdb::make_async_pool(io.get_executor(), options,
                                     respool::PoolOptions{.pool_size = 1, .max_overflow = 0, .timeout = 10s,
                                                          .keepalive = 1000ms});
    auto plain = mdb::make_async_pool(io.get_executor(), options,
                                      respool::PoolOptions{.pool_size = 1, .max_overflow = 0, .timeout = 10s});
    unsigned long kept_id = 0;
    unsigned long plain_id = 0;
    run_on(io, [&]() -> asio::awaitable<void> {
        kept_id = (co_await kept.async_acquire())->thread_id();
        plain_id = (co_await plain.async_acquire())->thread_id();
    }());
    BOOST_REQUIRE(kept_id != 0);
    BOOST_REQUIRE(plain_id != 0);

    std::this_thread::sleep_for(4500ms); // what is tested is idle time passing: over twice wait_timeout

    auto on_server = [&](unsigned long id) {
        return admin.query("SELECT COUNT(*) FROM information_schema.processlist WHERE id = ?",
                           static_cast<std::uint64_t>(id))[0]
                   .get<int>(0) == 1;
    };
    BOOST_TEST(on_server(kept_id), "the kept-alive session is still on the server");
    BOOST_TEST(!on_server(plain_id), "the server ended the session nobody kept alive");
    run_on(io, [&]() -> asio::awaitable<void> {
        auto lease = co_await kept.async_acquire();
        BOOST_TEST(lease->thread_id() == kept_id);
        BOOST_TEST((co_await lease->async_query("SELECT 1"))[0].get<int>(0) == 1);
    }());
    const auto st = kept.stats();
    BOOST_TEST(st.created == 1u);
    BOOST_TEST(st.destroyed == 0u);
    BOOST_TEST(st.validation_failures == 0u);
}

BOOST_AUTO_TEST_CASE(the_next_holder_gets_autocommit_back_and_no_table_locks) {
    mdb::Connection admin(server_options());
    admin.execute("CREATE TABLE IF NOT EXISTS async_cleaning (id INT PRIMARY KEY)");
    admin.execute("DELETE FROM async_cleaning");
    asio::io_context io;
    auto pool = mdb::make_async_pool(io.get_executor(), server_options(),
                                     respool::PoolOptions{.pool_size = 1, .max_overflow = 0, .timeout = 10s});
    unsigned long first = 0;
    run_on(io, [&]() -> asio::awaitable<void> {
        {
            auto lease = co_await pool.async_acquire();
            first = lease->thread_id();
            co_await lease->async_execute("SET autocommit = 0");
            co_await lease->async_execute("INSERT INTO async_cleaning VALUES (1)");
            co_await lease.async_release(); // cleaned asynchronously, then given back
        }
        {
            auto lease = co_await pool.async_acquire();
            BOOST_TEST(lease->thread_id() == first);
            BOOST_TEST((co_await lease->async_query("SELECT @@autocommit"))[0].get<int>(0) == 1);
            co_await lease->async_execute("INSERT INTO async_cleaning VALUES (2)");
            co_await lease->async_execute("LOCK TABLES async_cleaning WRITE");
            co_await lease.async_release();
        }
    }());
    BOOST_TEST(pool.stats().idle == 1u); // kept, not destroyed
    admin.execute("SET SESSION lock_wait_timeout = 1");
    admin.execute("INSERT INTO async_cleaning VALUES (3)"); // would wait out lock_wait_timeout and fail if still locked
    BOOST_TEST(admin.query("SELECT GROUP_CONCAT(id ORDER BY id) FROM async_cleaning")[0].get<std::string>(0) == "2,3");
    admin.execute("DROP TABLE async_cleaning");
}

BOOST_AUTO_TEST_CASE(a_connection_closed_by_the_server_does_not_take_its_successors_socket_out_of_the_loop) {
    // Connector/C closes a killed connection's socket itself; a new connection may then get the same descriptor
    // number. Destroying the dead connection afterwards must leave the new one's socket watched.
    mdb::Connection admin(server_options());
    asio::io_context io;
    auto pool = mdb::make_async_pool(io.get_executor(), server_options(),
                                     respool::PoolOptions{.pool_size = 2, .max_overflow = 0, .timeout = 10s});
    bool done = false;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            std::optional<mdb::AsyncLease> a(co_await pool.async_acquire());
            co_await (*a)->async_query("SELECT 1"); // its socket is watched by the loop now
            const int a_fd = mysql_get_socket((*a)->native_handle());
            respool_test::kill_session(admin, (*a)->thread_id());
            bool failed = false;
            try {
                co_await (*a)->async_query("SELECT 1");
            } catch (const mdb::Error& e) {
                failed = e.is_disconnect();
            }
            BOOST_TEST(failed);
            auto b = co_await pool.async_acquire(); // a new connection: often the dead one's descriptor number
            BOOST_TEST((co_await b->async_query("SELECT 1"))[0].get<int>(0) == 1);
            BOOST_TEST_MESSAGE("dead connection's descriptor " << a_fd << ", new connection's "
                                                               << mysql_get_socket(b->native_handle()));
            a.reset(); // the dead connection is destroyed now
            BOOST_TEST((co_await b->async_query("SELECT SLEEP(0.05)")).size() == 1u);
            done = true;
        },
        asio::detached);
    io.run_for(10s); // bounded: a socket no longer watched would leave the last query waiting forever
    BOOST_TEST(done, "the second connection's query completed");
    io.stop();
}
