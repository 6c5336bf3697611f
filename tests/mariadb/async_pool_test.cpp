// AsyncConnectionPool against a real server: one thread serves many coroutines, pre_ping replaces a dead connection
// quietly, a failed connect reaches the caller with the server's message, a connection whose set-up failed is never
// pooled, min_idle connects ahead of demand on the pool's executor, max_connecting bounds the set-ups in flight.
#define BOOST_TEST_MODULE mariadb_async_pool
#include <boost/test/unit_test.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "async_support.hpp"
#include "private_server.hpp"

namespace asio = boost::asio;
namespace mdb = respool::mariadb;
using namespace std::chrono_literals;
using respool_test::run_on;
using respool_test::ScratchTable;
using respool_test::eventually;
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
    BOOST_TEST(st.create_failures == 1u); // a connect that failed, as the blocking pool counts it
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
        {
            auto lease = co_await pool.async_acquire();
            BOOST_TEST(lease->thread_id() == first);
            co_await lease->async_execute("PREPARE respool_left_behind FROM 'SELECT 42'"); // only a reset clears it
            co_await lease.async_release();
        }
        {
            auto lease = co_await pool.async_acquire();
            BOOST_TEST(lease->thread_id() == first); // the same session, reset
            bool gone = false;
            try {
                co_await lease->async_execute("EXECUTE respool_left_behind");
            } catch (const mdb::Error& e) {
                gone = e.server_errno() == 1243u; // ER_UNKNOWN_STMT_HANDLER
            }
            BOOST_TEST(gone);
            co_await lease.async_release();
        }
    }());
    BOOST_TEST(pool.stats().idle == 1u); // kept, not destroyed
    admin.execute("SET SESSION lock_wait_timeout = 1");
    admin.execute("INSERT INTO async_cleaning VALUES (3)"); // would wait out lock_wait_timeout and fail if still locked
    BOOST_TEST(admin.query("SELECT GROUP_CONCAT(id ORDER BY id) FROM async_cleaning")[0].get<std::string>(0) == "2,3");
    admin.execute("DROP TABLE async_cleaning");
}

BOOST_AUTO_TEST_CASE(after_a_session_reset_the_next_holder_can_begin_a_transaction) {
    // A reset's reply leaves Connector/C's status flags as the statement before left them: a transaction open.
    mdb::Connection admin(server_options());
    ScratchTable t(admin, "async_after_reset", "id INT PRIMARY KEY");
    const std::string insert = "INSERT INTO " + t.name() + " VALUES (?)";
    asio::io_context io;
    auto pool = mdb::make_async_pool(io.get_executor(), server_options(),
                                     respool::PoolOptions{.pool_size = 1, .max_overflow = 0, .timeout = 10s},
                                     mdb::ValidatorOptions{.reset = mdb::ResetMode::full});
    run_on(io, [&]() -> asio::awaitable<void> {
        for (int id = 1; id <= 4; id += 2) {
            {
                auto lease = co_await pool.async_acquire();
                {
                    auto abandoned = co_await mdb::AsyncTransaction::begin(lease);
                    co_await lease->async_execute(insert, id);
                } // ended uncommitted: rolled back by the reset
                if (id == 1) co_await lease.async_release(); // reset asynchronously; the second time as the lease ends
            }
            auto lease = co_await pool.async_acquire();
            BOOST_TEST(!lease->in_transaction());
            auto tx = co_await mdb::AsyncTransaction::begin(lease);
            co_await lease->async_execute(insert, id + 1);
            co_await tx.commit();
            co_await lease.async_release();
        }
    }());
    BOOST_TEST(pool.stats().created == 1u);
    BOOST_TEST(admin.query("SELECT GROUP_CONCAT(id ORDER BY id) FROM " + t.name())[0].get<std::string>(0) == "2,4");
}

BOOST_AUTO_TEST_CASE(a_full_reset_follows_statements_sent_through_the_native_handle) {
    asio::io_context io;
    auto pool = mdb::make_async_pool(io.get_executor(), server_options(),
                                     respool::PoolOptions{.pool_size = 1, .max_overflow = 0, .timeout = 10s},
                                     mdb::ValidatorOptions{.reset = mdb::ResetMode::full});
    run_on(io, [&]() -> asio::awaitable<void> {
        co_await (co_await pool.async_acquire()).async_release(); // connected: the session is fresh
        for (const bool noted : {true, false}) {
            BOOST_TEST_CONTEXT("note_statement " << noted) {
                {
                    auto lease = co_await pool.async_acquire();
                    MYSQL* handle = lease->native_handle();
                    for (const std::string sql : {"SET @carried = 'yes'", "START TRANSACTION"}) {
                        BOOST_REQUIRE(mysql_real_query(handle, sql.data(), sql.size()) == 0);
                        if (noted) lease->note_statement(sql);
                    }
                    co_await lease.async_release();
                }
                auto lease = co_await pool.async_acquire();
                BOOST_TEST(!lease->in_transaction());
                const auto row = (co_await lease->async_query("SELECT @carried, @@in_transaction"))[0];
                BOOST_TEST(row.is_null(0)); // unnoted, the open transaction still shows, and the session is reset
                BOOST_TEST(row.get<int>(1) == 0);
                co_await lease.async_release();
            }
        }
    }());
    BOOST_TEST(pool.stats().created == 1u);
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

namespace {

// A database of its own for one test, dropped at its end, so that the server's process list shows that test's pool's
// sessions alone; `options` connect to it.
struct ScratchDatabase {
    mdb::Connection& admin;
    const std::string name;
    mdb::ConnectOptions options;
    ScratchDatabase(mdb::Connection& a, const std::string& prefix)
        : admin(a), name(respool_test::unique_name(prefix)), options(server_options()) {
        admin.execute("CREATE DATABASE " + name);
        options.database = name;
    }
    ~ScratchDatabase() {
        try {
            admin.execute("DROP DATABASE IF EXISTS " + name);
        } catch (...) {
        }
    }
    ScratchDatabase(const ScratchDatabase&) = delete;
    ScratchDatabase& operator=(const ScratchDatabase&) = delete;
};

// Runs `io` on a thread of its own, from construction until the end of its scope.
class IoThread {
public:
    explicit IoThread(asio::io_context& io) : io_(io), work_(asio::make_work_guard(io)), thread_([&io] { io.run(); }) {}
    IoThread(const IoThread&) = delete;
    IoThread& operator=(const IoThread&) = delete;
    ~IoThread() {
        io_.stop();
        thread_.join();
    }

private:
    asio::io_context& io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_;
    std::thread thread_;
};

int sessions_on_database(mdb::Connection& admin, const std::string& database) {
    return admin.query("SELECT COUNT(*) FROM information_schema.processlist WHERE db = ?", database)[0].get<int>(0);
}

} // namespace

BOOST_AUTO_TEST_CASE(a_connection_whose_init_statement_failed_is_destroyed_never_pooled) {
    // As the blocking pool: every acquire fails (1231, ER_WRONG_VALUE_FOR_VAR); none hands out a session whose set-up
    // did not complete (it would run with the default sql_mode).
    auto options = server_options();
    options.init_statements = {"SET SESSION sql_mode = 'NO_NONEXISTENT_MODE'"};
    asio::io_context io;
    auto pool = mdb::make_async_pool(io.get_executor(), options,
                                     respool::PoolOptions{.pool_size = 1, .max_overflow = 0, .timeout = 10s});
    for (int attempt = 1; attempt <= 3; ++attempt) {
        BOOST_TEST_CONTEXT("attempt " << attempt) {
            std::string sql_mode = "(none)";
            try {
                run_on(io, [&]() -> asio::awaitable<void> {
                    auto lease = co_await pool.async_acquire();
                    sql_mode = (co_await lease->async_query("SELECT @@SESSION.sql_mode"))[0].get<std::string>(0);
                }());
                BOOST_ERROR("acquired a connection whose init statement failed; its sql_mode: " << sql_mode);
            } catch (const mdb::Error& e) {
                BOOST_TEST(e.server_errno() == 1231u, e.what());
            }
        }
    }
    const auto st = pool.stats();
    BOOST_TEST(st.create_failures == 3u); // three failed set-ups, as the blocking pool counts them
    BOOST_TEST(st.created == 3u);         // the core made each one unconnected, and destroyed it
    BOOST_TEST(st.destroyed == 3u);
    BOOST_TEST(st.size == 0u);
}

BOOST_AUTO_TEST_CASE(min_idle_with_the_executor_already_running_makes_exactly_min_idle_connected_connections) {
    mdb::Connection admin(server_options());
    const ScratchDatabase scratch(admin, "respool_test_min_idle_running");
    const std::string& database = scratch.name;
    const auto& options = scratch.options;
    for (int round = 0; round < 8; ++round) {
        BOOST_TEST_CONTEXT("round " << round) {
            asio::io_context io;
            const IoThread running(io); // running before the pool exists: the fill races the top-up
            {
                auto pool = mdb::make_async_pool(io.get_executor(), options,
                                                 respool::PoolOptions{.pool_size = 5, .max_overflow = 0, .min_idle = 1});
                // Connected on the server, and back idle once its set-up (init statements included) is done.
                BOOST_TEST(eventually([&] {
                               const auto st = pool.stats();
                               return sessions_on_database(admin, database) == 1 && st.idle == 1u && st.size == 1u;
                           }, 5s),
                           "the min_idle connection is connected");
                const auto st = pool.stats();
                BOOST_TEST(st.created - st.destroyed == 1u); // the fill connects what the maintenance thread made
                BOOST_TEST(st.size == 1u);
                const auto idle = pool.core().try_acquire();
                BOOST_REQUIRE(idle);
                BOOST_TEST(idle->is_connected());
            }
            BOOST_TEST(eventually([&] { return sessions_on_database(admin, database) == 0; }, 5s));
        }
    }
}

BOOST_AUTO_TEST_CASE(connections_made_ahead_while_others_are_being_set_up_do_not_stay_as_placeholders) {
    // While the fill's set-ups are out of the idle set, the maintenance thread sees too few idle and makes more. Once
    // the set-ups are back, min_idle connected ones are idle, and nothing unconnected stays to overstate the size.
    mdb::Connection admin(server_options());
    const ScratchDatabase scratch(admin, "respool_test_min_idle_surplus");
    asio::io_context io;
    auto pool = mdb::make_async_pool(io.get_executor(), scratch.options,
                                     respool::PoolOptions{.pool_size = 8, .max_overflow = 0, .min_idle = 2});
    BOOST_REQUIRE_MESSAGE(eventually([&] { return pool.stats().idle == 2u; }, 5s), "min_idle made nothing");
    // Run the io_context only until the fill has taken both out to connect them.
    const auto give_up = std::chrono::steady_clock::now() + 5s;
    while (pool.stats().in_use < 2u && std::chrono::steady_clock::now() < give_up) io.run_one_for(10ms);
    BOOST_REQUIRE_MESSAGE(pool.stats().in_use == 2u, "the fill did not take the connections to set them up");
    // The maintenance thread, meanwhile, tops the idle set up again.
    BOOST_REQUIRE_MESSAGE(eventually([&] { return pool.stats().size == 4u; }, 5s),
                          "no connection was made while the set-ups were out; size " << pool.stats().size);
    const IoThread running(io);
    BOOST_TEST(eventually([&] {
                   const auto st = pool.stats();
                   return st.size == 2u && st.idle == 2u && sessions_on_database(admin, scratch.name) == 2;
               }, 5s),
               "size " << pool.stats().size << ", idle " << pool.stats().idle << ", sessions "
                       << sessions_on_database(admin, scratch.name));
    auto first = pool.core().try_acquire();
    auto second = pool.core().try_acquire();
    BOOST_REQUIRE(first && second);
    BOOST_TEST(first->is_connected());
    BOOST_TEST(second->is_connected());
}

BOOST_AUTO_TEST_CASE(min_idle_connections_are_made_without_churn_and_connected_on_the_pools_executor) {
    mdb::Connection admin(server_options());
    const ScratchDatabase scratch(admin, "respool_test_min_idle");
    const std::string& database = scratch.name;
    const auto& options = scratch.options;

    asio::io_context io;
    auto pool = mdb::make_async_pool(io.get_executor(), options,
                                     respool::PoolOptions{.pool_size = 5, .max_overflow = 0, .min_idle = 1});
    // The maintenance thread makes the connection ahead of demand; it does no I/O there, and the io_context does not
    // run yet: one idle connection, not connected.
    BOOST_REQUIRE_MESSAGE(eventually([&] { return pool.stats().idle == 1u; }, 5s),
                          "no idle connection; created " << pool.stats().created << ", destroyed "
                                                         << pool.stats().destroyed);
    std::this_thread::sleep_for(300ms); // what is tested is that nothing more happens meanwhile: no busy loop
    auto st = pool.stats();
    BOOST_TEST(st.created == 1u);
    BOOST_TEST(st.destroyed == 0u);
    BOOST_TEST(sessions_on_database(admin, database) == 0);

    // Once the io_context runs, the pool connects it there.
    const IoThread running(io);
    BOOST_TEST(eventually([&] { return sessions_on_database(admin, database) == 1 && pool.stats().idle == 1u; }, 5s),
               "the min_idle connection is connected, and idle");
    st = pool.stats();
    BOOST_TEST(st.created == 1u);
    BOOST_TEST(st.destroyed == 0u);
    const auto connected = pool.core().try_acquire(); // that idle connection, as it is
    BOOST_REQUIRE(connected);
    BOOST_REQUIRE(connected->is_connected());
    const auto session = admin.query("SELECT db FROM information_schema.processlist WHERE id = ?",
                                     static_cast<std::uint64_t>(connected->thread_id()));
    BOOST_REQUIRE(session.size() == 1u);
    BOOST_TEST(session[0].get<std::string>(0) == database);
}

BOOST_AUTO_TEST_CASE(a_min_idle_fill_that_fails_waits_twice_as_long_each_time_and_keeps_no_work_on_the_executor) {
    mdb::Connection admin(server_options());
    const ScratchDatabase scratch(admin, "respool_test_fill_backoff");
    admin.execute("CREATE TABLE " + scratch.name + ".attempts (at DATETIME(6) NOT NULL)");
    auto options = scratch.options;
    // Every set-up records itself (autocommit) and then fails: the server stands for one that refuses connections.
    options.init_statements = {"INSERT INTO attempts VALUES (NOW(6))", "SET SESSION sql_mode = 'NO_NONEXISTENT_MODE'"};
    auto count = [&] { return admin.query("SELECT COUNT(*) FROM " + scratch.name + ".attempts")[0].get<int>(0); };

    asio::io_context io;
    auto work = std::make_optional(asio::make_work_guard(io));
    std::thread runner([&io] { io.run(); });
    std::optional<mdb::AsyncConnectionPool> pool;
    // keepalive 40 ms: a maintenance pass every 10 ms, each making a connection for the fill to set up.
    pool.emplace(mdb::make_async_pool(io.get_executor(), options,
                                      respool::PoolOptions{.pool_size = 2, .max_overflow = 0, .keepalive = 40ms,
                                                           .min_idle = 1}));
    // Waits of 10 ... 640 ms: the next set-up is 1.28 s after the 8th. The maintenance thread has made the 9th
    // connection; once the fill it requested has run on the executor, that fill waits for its backoff.
    const bool tried = eventually(
        [&] {
            const auto st = pool->stats(); // each failed set-up is a create failure too
            return count() >= 8 && st.create_failures >= 8u && st.created >= 9u;
        },
        20s);
    std::promise<void> fill_ran;
    asio::post(io, [&] { fill_ran.set_value(); });
    fill_ran.get_future().wait();
    // The application's own work ends while the pool lives on: run() returns (at most a set-up in flight finishes),
    // rather than waiting for the retry.
    const auto ended = std::chrono::steady_clock::now();
    work.reset();
    runner.join();
    const auto run_returned_after = std::chrono::steady_clock::now() - ended;
    pool.reset();
    BOOST_REQUIRE_MESSAGE(tried, "the fill stopped trying after " << count() << " set-ups");

    // Lower bounds only (a busy machine can only stretch them); without backoff every gap is one pass, 10 ms.
    const auto gaps = admin.query("SELECT TIMESTAMPDIFF(MICROSECOND, LAG(at) OVER (ORDER BY at), at) FROM " +
                                  scratch.name + ".attempts ORDER BY at LIMIT 6");
    long long expected_us = 10'000;
    for (std::size_t i = 1; i < gaps.size(); ++i, expected_us *= 2) {
        BOOST_TEST_INFO("gap " << i);
        BOOST_TEST(gaps[i].get<long long>(0) >= expected_us * 8 / 10);
    }
    // The fill waiting out its backoff kept no work on the io_context.
    BOOST_TEST((run_returned_after < 800ms));
}

BOOST_AUTO_TEST_CASE(max_connecting_bounds_the_set_ups_in_flight) {
    // 8 set-ups of 0.25 s (the init statement), at most 2 at once: 4 rounds. All at once would take 0.25 s.
    asio::io_context io;
    auto pool = mdb::make_async_pool(io.get_executor(),
                                     respool_test::server_url() + "?pool_size=8&max_overflow=0&pool_max_connecting=2"
                                                                  "&init_command=DO%20SLEEP(0.25)");
    BOOST_TEST(pool.options().max_connecting == 2u);
    int acquired = 0;
    auto worker = [&]() -> asio::awaitable<void> {
        auto lease = co_await pool.async_acquire();
        BOOST_TEST(lease->is_connected());
        ++acquired;
    };
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 8; ++i) asio::co_spawn(io, worker(), asio::detached);
    io.run_for(10s);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << "8 set-ups of 0.25 s with max_connecting = 2: " << seconds << " s\n";
    BOOST_TEST(acquired == 8);
    BOOST_TEST(seconds >= 0.95); // 4 rounds of 0.25 s at best
    BOOST_TEST(seconds < 5.0);
    BOOST_TEST(pool.stats().created == 8u);
}

BOOST_AUTO_TEST_CASE(a_set_up_waiting_for_its_turn_honours_its_deadline_and_the_pools_close) {
    // max_connecting = 1 and a 1 s set-up: `first` holds the only turn. `hasty` waits for it 200 ms and times out;
    // `patient` waits until the pool closes, which ends its wait at once. Neither connects.
    asio::io_context io;
    auto pool = mdb::make_async_pool(io.get_executor(),
                                     respool_test::server_url() + "?pool_size=3&max_overflow=0&pool_max_connecting=1"
                                                                  "&init_command=DO%20SLEEP(1)");
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    auto since_start = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
    bool first_acquired = false;
    std::string hasty_result, patient_result;
    double hasty_at = 0, patient_at = 0, first_at = 0;
    // The coroutine lambdas live as long as the test: a coroutine refers to its lambda's captures.
    auto first = [&]() -> asio::awaitable<void> {
        auto lease = co_await pool.async_acquire();
        first_acquired = lease->is_connected();
        first_at = since_start();
    };
    auto hasty = [&]() -> asio::awaitable<void> {
        try {
            auto lease = co_await pool.async_acquire_for(200ms);
            hasty_result = "acquired";
        } catch (const respool::TimeoutError&) {
            hasty_result = "timeout";
        } catch (const std::exception& e) {
            hasty_result = e.what();
        }
        hasty_at = since_start();
        pool.close();
    };
    auto patient = [&]() -> asio::awaitable<void> {
        try {
            auto lease = co_await pool.async_acquire_for(30s);
            patient_result = "acquired";
        } catch (const respool::PoolClosedError&) {
            patient_result = "closed";
        } catch (const std::exception& e) {
            patient_result = e.what();
        }
        patient_at = since_start();
    };
    auto start_the_others = [&]() -> asio::awaitable<void> {
        // `first` holds its connection (in use) from the moment its set-up, with its turn, started.
        asio::steady_timer tick(io);
        while (pool.stats().in_use == 0u) {
            tick.expires_after(1ms);
            co_await tick.async_wait(asio::use_awaitable);
        }
        asio::co_spawn(io, hasty(), asio::detached);
        asio::co_spawn(io, patient(), asio::detached);
    };
    asio::co_spawn(io, first(), asio::detached);
    asio::co_spawn(io, start_the_others(), asio::detached);
    io.run_for(10s);
    BOOST_TEST(hasty_result == "timeout");
    BOOST_TEST(hasty_at < 0.9); // well before the turn came free
    BOOST_TEST(patient_result == "closed");
    BOOST_TEST(patient_at < 0.9);
    BOOST_TEST(first_acquired); // a set-up under way when the pool closed completes
    BOOST_TEST(first_at >= 0.9);
    const auto st = pool.stats();
    BOOST_TEST(st.size == 0u); // the two that never connected were destroyed; the first one on its return
    BOOST_TEST(st.created == st.destroyed);
    BOOST_TEST(st.timeouts == 1u); // `hasty`, which timed out waiting for a turn
}

BOOST_AUTO_TEST_CASE(a_checkout_ping_the_server_never_answers_gives_up_after_the_ping_limit) {
    // Without read_timeout, pre_ping's awaited COM_PING gives up after 1 s (and async_ping(limit) after its limit),
    // marking the connection disconnected; the acquire then connects afresh, which fails within connect_timeout.
    if (!respool_test::can_start_a_server()) {
        BOOST_TEST_MESSAGE("skipped: needs tools/mariadb_server.sh and mariadbd, for a server of this test's own");
        return;
    }
    using Clock = std::chrono::steady_clock;
    respool_test::PrivateServer server;
    BOOST_REQUIRE_MESSAGE(server.started(), "tools/mariadb_server.sh could not start a server");
    const auto options = mdb::ConnectOptions::from_url(server.url() + "?connect_timeout=1");
    BOOST_REQUIRE(options.read_timeout.count() == 0);
    asio::io_context io;
    auto pool = mdb::make_async_pool(io.get_executor(), options,
                                     respool::PoolOptions{.pool_size = 1, .max_overflow = 0, .pre_ping = true},
                                     mdb::ValidatorOptions{.ping_after = 0ms});
    mdb::AsyncConnection direct(io.get_executor(), options);
    run_on(io, [&]() -> asio::awaitable<void> {
        co_await direct.async_connect();
        auto lease = co_await pool.async_acquire();
    }());
    std::future<void> ran; // before `stopped`: on any exit the server resumes before this is waited for
    respool_test::StoppedProcess stopped(server.pid());
    BOOST_REQUIRE(stopped.stopped());

    auto asked = Clock::now();
    ran = std::async(std::launch::async, [&] { run_on(io, direct.async_ping(200ms)); });
    BOOST_REQUIRE_MESSAGE((ran.wait_for(5s) == std::future_status::ready), "async_ping(200ms) still waits");
    BOOST_TEST(std::chrono::duration<double>(Clock::now() - asked).count() < 2.0);
    try {
        ran.get();
        BOOST_ERROR("a stopped server answered the ping");
    } catch (const mdb::Error& e) {
        BOOST_TEST(e.server_errno() == mdb::server_errno::server_lost);
        BOOST_TEST(e.is_disconnect());
    }
    BOOST_TEST(direct.is_broken());
    BOOST_TEST(direct.saw_disconnect());

    asked = Clock::now();
    ran = std::async(std::launch::async, [&] {
        run_on(io, [&]() -> asio::awaitable<void> { auto lease = co_await pool.async_acquire_for(500ms); }());
    });
    BOOST_REQUIRE_MESSAGE((ran.wait_for(6s) == std::future_status::ready),
                          "the checkout still waits for the stopped server's answer");
    const double took = std::chrono::duration<double>(Clock::now() - asked).count();
    BOOST_TEST_MESSAGE("async acquire with a stopped server failed after " << took << " s");
    BOOST_TEST(took < 3.5); // ~1 s of ping, then connecting for up to connect_timeout
    BOOST_CHECK_THROW(ran.get(), mdb::Error); // the new connection's connect error
    const auto st = pool.stats();
    BOOST_TEST(st.size == 0u);
    BOOST_TEST(st.created == st.destroyed);
}
