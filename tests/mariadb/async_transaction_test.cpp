// AsyncTransaction against a real server: commit, abandoned transactions cleaned without blocking, SELECT ... FOR
// UPDATE holding off a second transaction until commit.
#define BOOST_TEST_MODULE mariadb_async_transaction
#include <boost/test/unit_test.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "async_support.hpp"

namespace asio = boost::asio;
namespace mdb = respool::mariadb;
using namespace std::chrono_literals;
using respool_test::run_on;
using respool_test::ScratchTable;
using respool_test::server_options;
using LockWait = mdb::AsyncTransaction::LockWait;

namespace {
const respool::PoolOptions one_connection{.pool_size = 1, .max_overflow = 0, .timeout = 10s};

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    asio::steady_timer timer(co_await asio::this_coro::executor, d);
    co_await timer.async_wait(asio::use_awaitable);
}
} // namespace

BOOST_AUTO_TEST_CASE(commit_makes_the_rows_visible) {
    mdb::Connection admin(server_options());
    ScratchTable table(admin, "async_commit", "id INT PRIMARY KEY, name VARCHAR(50)");
    asio::io_context io;
    auto pool = mdb::make_async_pool(io.get_executor(), server_options(), one_connection);
    run_on(io, [&]() -> asio::awaitable<void> {
        auto lease = co_await pool.async_acquire();
        auto tx = co_await mdb::AsyncTransaction::begin(lease);
        BOOST_TEST(tx.active());
        BOOST_TEST(lease->in_transaction());
        co_await lease->async_execute("INSERT INTO " + table.name() + " VALUES (?, ?)", 1, "John");
        BOOST_TEST(admin.query("SELECT COUNT(*) FROM " + table.name())[0].get<int>(0) == 0); // not yet
        co_await tx.commit();
        BOOST_TEST(!tx.active());
        BOOST_TEST(!lease->in_transaction());
        try {
            co_await tx.commit();
            BOOST_ERROR("committed twice");
        } catch (const mdb::Error& e) {
            BOOST_TEST((e.code() == mdb::errc::transaction_state));
        }
        try {
            co_await tx.select_for_update("SELECT * FROM " + table.name());
            BOOST_ERROR("a locking read ran outside a transaction");
        } catch (const mdb::Error& e) {
            BOOST_TEST((e.code() == mdb::errc::transaction_state));
        }
        auto again = co_await mdb::AsyncTransaction::begin(lease);
        try {
            co_await mdb::AsyncTransaction::begin(lease);
            BOOST_ERROR("a transaction began inside another");
        } catch (const mdb::Error& e) {
            BOOST_TEST((e.code() == mdb::errc::transaction_state));
        }
        co_await again.rollback();
    }());
    BOOST_TEST(admin.query("SELECT name FROM " + table.name() + " WHERE id = ?", 1)[0].get<std::string>(0) == "John");
}

BOOST_AUTO_TEST_CASE(commit_is_refused_when_the_server_already_ended_the_transaction) {
    mdb::Connection admin(server_options());
    ScratchTable table(admin, "async_implicit", "id INT PRIMARY KEY");
    asio::io_context io;
    auto pool = mdb::make_async_pool(io.get_executor(), server_options(), one_connection);
    run_on(io, [&]() -> asio::awaitable<void> {
        auto lease = co_await pool.async_acquire();
        auto tx = co_await mdb::AsyncTransaction::begin(lease);
        co_await lease->async_execute("INSERT INTO " + table.name() + " VALUES (?)", 1);
        co_await lease->async_execute("CREATE TEMPORARY TABLE IF NOT EXISTS respool_not_ddl (x INT)");
        co_await lease->async_execute("DROP TEMPORARY TABLE respool_not_ddl");
        BOOST_TEST(lease->in_transaction()); // temporary tables do not commit implicitly
        co_await lease->async_execute("CREATE TABLE IF NOT EXISTS " + table.name() + "_ddl (x INT)"); // DDL: commits
        co_await lease->async_execute("DROP TABLE " + table.name() + "_ddl");
        try {
            co_await tx.commit();
            BOOST_ERROR("commit reported success for a transaction the server had ended");
        } catch (const mdb::Error& e) {
            BOOST_TEST((e.code() == mdb::errc::transaction_state));
            BOOST_TEST(std::string(e.what()).find("commits implicitly") != std::string::npos, e.what());
        }
        BOOST_TEST(!tx.active());
    }());
}

BOOST_AUTO_TEST_CASE(an_abandoned_transaction_is_rolled_back_before_the_next_holder_gets_the_connection) {
    mdb::Connection admin(server_options());
    ScratchTable table(admin, "async_abandon", "id INT PRIMARY KEY");
    asio::io_context io;
    auto pool = mdb::make_async_pool(io.get_executor(), server_options(), one_connection);
    unsigned long first = 0;
    int second_saw = -1;
    bool second_in_transaction = true;
    unsigned long second_id = 0;
    auto abandon = [&]() -> asio::awaitable<void> {
        auto lease = co_await pool.async_acquire();
        first = lease->thread_id();
        auto tx = co_await mdb::AsyncTransaction::begin(lease);
        co_await lease->async_execute("INSERT INTO " + table.name() + " VALUES (?)", 1);
        co_await lease->async_execute("INSERT INTO " + table.name() + " VALUES (?)", 2);
        throw std::runtime_error("something went wrong before the commit"); // tx and lease end unfinished
    };
    auto next_holder = [&]() -> asio::awaitable<void> {
        auto lease = co_await pool.async_acquire(); // waits for the one connection
        second_id = lease->thread_id();
        second_in_transaction = lease->in_transaction();
        second_saw = (co_await lease->async_query("SELECT COUNT(*) FROM " + table.name()))[0].get<int>(0);
    };
    bool first_failed = false;
    asio::co_spawn(io, abandon(), [&](std::exception_ptr e) { first_failed = e != nullptr; });
    asio::co_spawn(io, next_holder(), asio::detached);
    io.run();
    BOOST_TEST(first_failed);
    BOOST_TEST(second_id == first); // cleaned and reused, not replaced
    BOOST_TEST(!second_in_transaction);
    BOOST_TEST(second_saw == 0);
    BOOST_TEST(admin.query("SELECT COUNT(*) FROM " + table.name())[0].get<int>(0) == 0);
    const auto st = pool.stats();
    BOOST_TEST(st.created == 1u);
    BOOST_TEST(st.in_use == 0u);
}

BOOST_AUTO_TEST_CASE(an_abandoned_transaction_is_rolled_back_before_the_same_holders_next_statement) {
    mdb::Connection admin(server_options());
    ScratchTable table(admin, "async_abandon_same", "id INT PRIMARY KEY");
    asio::io_context io;
    auto pool = mdb::make_async_pool(io.get_executor(), server_options(), one_connection);
    run_on(io, [&]() -> asio::awaitable<void> {
        auto lease = co_await pool.async_acquire();
        {
            auto tx = co_await mdb::AsyncTransaction::begin(lease);
            co_await lease->async_execute("INSERT INTO " + table.name() + " VALUES (?)", 1);
        } // no commit
        BOOST_TEST(lease->rollback_pending());
        BOOST_TEST((co_await lease->async_query("SELECT COUNT(*) FROM " + table.name()))[0].get<int>(0) == 0);
        BOOST_TEST(!lease->in_transaction());
        co_await lease->async_execute("COMMIT"); // commits nothing: the abandoned rows are gone
    }());
    BOOST_TEST(admin.query("SELECT COUNT(*) FROM " + table.name())[0].get<int>(0) == 0);
}

BOOST_AUTO_TEST_CASE(a_transaction_begun_on_a_connection_that_lost_its_session_reports_a_disconnect) {
    mdb::Connection admin(server_options());
    asio::io_context io;
    auto pool = mdb::make_async_pool(io.get_executor(), server_options(), one_connection);
    run_on(io, [&]() -> asio::awaitable<void> {
        auto lease = co_await pool.async_acquire();
        {
            auto tx = co_await mdb::AsyncTransaction::begin(lease);
            respool_test::kill_session(admin, lease->thread_id());
            bool lost = false;
            try {
                co_await lease->async_execute("DO 1");
            } catch (const mdb::Error& e) {
                lost = e.is_disconnect();
            }
            BOOST_TEST(lost);
        }
        BOOST_REQUIRE(lease->is_broken());
        bool disconnect = false;
        try {
            auto again = co_await mdb::AsyncTransaction::begin(lease);
            BOOST_ERROR("a transaction began on a broken connection");
        } catch (const mdb::Error& e) {
            disconnect = e.is_disconnect(); // not "a transaction is already open"
            BOOST_TEST_MESSAGE("begin on a broken connection: " << e.what());
        }
        BOOST_TEST(disconnect);
    }());
    BOOST_TEST(pool.stats().size == 0u); // the broken connection went back and was destroyed
}

BOOST_AUTO_TEST_CASE(select_for_update_holds_off_a_second_transaction_until_commit) {
    mdb::Connection admin(server_options());
    ScratchTable table(admin, "async_lock", "id INT PRIMARY KEY, name VARCHAR(50), age INT");
    admin.execute("INSERT INTO " + table.name() + " VALUES (?, ?, ?)", 1, "John", 28);
    asio::io_context io;
    auto pool = mdb::make_async_pool(io.get_executor(), server_options(),
                                     respool::PoolOptions{.pool_size = 2, .max_overflow = 0, .timeout = 10s});
    const std::string lock_john = "SELECT age FROM " + table.name() + " WHERE name = ?";
    bool locked = false;
    bool nowait_refused = false;
    std::chrono::steady_clock::duration waited{};
    int second_saw = 0;
    auto holder = [&]() -> asio::awaitable<void> {
        auto lease = co_await pool.async_acquire();
        auto tx = co_await mdb::AsyncTransaction::begin(lease);
        const auto rows = co_await tx.select_for_update(lock_john, "John");
        BOOST_TEST(rows[0].get<int>(0) == 28);
        co_await lease->async_execute("UPDATE " + table.name() + " SET age = ? WHERE name = ?", 29, "John");
        locked = true;
        co_await sleep_for(300ms); // the other coroutine runs meanwhile: this thread is not blocked
        co_await tx.commit();
    };
    auto contender = [&]() -> asio::awaitable<void> {
        auto lease = co_await pool.async_acquire();
        while (!locked) co_await sleep_for(5ms);
        auto tx = co_await mdb::AsyncTransaction::begin(lease);
        const auto start = std::chrono::steady_clock::now();
        try {
            co_await tx.select_for_update(LockWait::nowait, lock_john, "John");
            BOOST_ERROR("NOWAIT got a row another transaction holds");
        } catch (const mdb::Error& e) {
            nowait_refused = e.code() == mdb::errc::lock_not_available && e.server_errno() == 1205u;
            BOOST_TEST(nowait_refused, e.what());
        }
        BOOST_TEST((std::chrono::steady_clock::now() - start < 5s)); // at once, not after the 50 s lock wait
        BOOST_TEST(tx.active());
        const auto rows = co_await tx.select_for_update(lock_john, "John"); // waits for the commit
        waited = std::chrono::steady_clock::now() - start;
        second_saw = rows[0].get<int>(0);
        co_await tx.commit();
    };
    asio::co_spawn(io, holder(), asio::detached);
    asio::co_spawn(io, contender(), asio::detached);
    io.run();
    BOOST_TEST(nowait_refused);
    BOOST_TEST((waited >= 200ms), std::chrono::duration<double>(waited).count() << " s");
    BOOST_TEST(second_saw == 29); // it read the committed row, after the lock was released
}

BOOST_AUTO_TEST_CASE(skip_locked_leaves_locked_rows_out) {
    mdb::Connection admin(server_options());
    ScratchTable table(admin, "async_skip", "id INT PRIMARY KEY");
    admin.execute("INSERT INTO " + table.name() + " VALUES (1), (2), (3)");
    asio::io_context io;
    auto pool = mdb::make_async_pool(io.get_executor(), server_options(),
                                     respool::PoolOptions{.pool_size = 2, .max_overflow = 0});
    run_on(io, [&]() -> asio::awaitable<void> {
        auto a = co_await pool.async_acquire();
        auto b = co_await pool.async_acquire();
        auto ta = co_await mdb::AsyncTransaction::begin(a);
        auto tb = co_await mdb::AsyncTransaction::begin(b);
        const auto first = co_await ta.select_for_update("SELECT id FROM " + table.name() + " WHERE id = ?", 2);
        BOOST_TEST(first.size() == 1u);
        const auto rest = co_await tb.select_for_update(LockWait::skip_locked,
                                                        "SELECT id FROM " + table.name() + " ORDER BY id");
        BOOST_REQUIRE(rest.size() == 2u);
        BOOST_TEST(rest[0].get<int>(0) == 1);
        BOOST_TEST(rest[1].get<int>(0) == 3);
        co_await tb.rollback();
        co_await ta.rollback();
    }());
}

BOOST_AUTO_TEST_CASE(locking_reads_are_built_from_selects_only) {
    BOOST_TEST(mdb::AsyncTransaction::locking_read("SELECT a FROM t WHERE id = ?; \n", LockWait::wait) ==
               "SELECT a FROM t WHERE id = ?\nFOR UPDATE");
    BOOST_TEST(mdb::AsyncTransaction::locking_read("select a from t", LockWait::nowait) ==
               "select a from t\nFOR UPDATE NOWAIT");
    BOOST_TEST(mdb::AsyncTransaction::locking_read(" SELECT 1", LockWait::skip_locked) ==
               " SELECT 1\nFOR UPDATE SKIP LOCKED");
    // A trailing comment ends at the line's end: the clause on its own line still counts.
    BOOST_TEST(mdb::AsyncTransaction::locking_read("SELECT a FROM t -- claim one", LockWait::nowait) ==
               "SELECT a FROM t -- claim one\nFOR UPDATE NOWAIT");
    BOOST_CHECK_THROW(mdb::AsyncTransaction::locking_read("SELECTX FROM t", LockWait::wait), std::invalid_argument);
    BOOST_CHECK_THROW(mdb::AsyncTransaction::locking_read("UPDATE t SET a = 1", LockWait::wait), std::invalid_argument);
    BOOST_CHECK_THROW(mdb::AsyncTransaction::locking_read("", LockWait::wait), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(after_a_deadlock_commit_and_select_for_update_refuse) {
    mdb::Connection admin(server_options());
    ScratchTable table(admin, "async_deadlock", "id INT PRIMARY KEY, n INT");
    for (int id = 1; id <= 5; ++id) admin.execute("INSERT INTO " + table.name() + " VALUES (?, 0)", id);
    const std::string t = table.name();
    asio::io_context io;
    auto pool = mdb::make_async_pool(io.get_executor(), server_options(),
                                     respool::PoolOptions{.pool_size = 2, .max_overflow = 0, .timeout = 10s});
    bool a_committed = false;
    run_on(io, [&]() -> asio::awaitable<void> {
        auto a = co_await pool.async_acquire();
        auto b = co_await pool.async_acquire();
        auto ta = co_await mdb::AsyncTransaction::begin(a);
        auto tb = co_await mdb::AsyncTransaction::begin(b);
        co_await a->async_execute("UPDATE " + t + " SET n = 9 WHERE id >= 4"); // more undo: B is the victim
        co_await a->async_execute("UPDATE " + t + " SET n = 1 WHERE id = 1");
        co_await b->async_execute("UPDATE " + t + " SET n = 1 WHERE id = 2");
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                co_await a->async_execute("UPDATE " + t + " SET n = 1 WHERE id = 2"); // waits for B
                co_await ta.commit();
                a_committed = true;
            },
            asio::detached);
        const auto give_up = std::chrono::steady_clock::now() + 10s;
        while (admin.query("SELECT COUNT(*) FROM information_schema.processlist WHERE id = ? AND info LIKE 'UPDATE%'",
                           static_cast<std::uint64_t>(a->thread_id()))[0]
                   .get<int>(0) == 0) {
            BOOST_REQUIRE(std::chrono::steady_clock::now() < give_up);
            co_await sleep_for(1ms); // lets A's coroutine send its UPDATE
        }
        try {
            co_await b->async_execute("UPDATE " + t + " SET n = 2 WHERE id = 1"); // closes the cycle
            BOOST_ERROR("no deadlock");
        } catch (const mdb::Error& e) {
            BOOST_TEST(e.is_deadlock(), e.what());
        }
        BOOST_TEST(tb.rolled_back_by_server());
        try {
            (void)co_await tb.select_for_update("SELECT * FROM " + t + " WHERE id = ?", 3);
            BOOST_ERROR("a locking read ran, under autocommit, after the server had rolled the transaction back");
        } catch (const mdb::Error& e) {
            BOOST_TEST((e.code() == mdb::errc::transaction_state), e.what());
        }
        try {
            co_await tb.commit();
            BOOST_ERROR("commit reported success for a transaction the server had rolled back");
        } catch (const mdb::Error& e) {
            BOOST_TEST((e.code() == mdb::errc::transaction_state), e.what());
        }
        while (!a_committed) {
            BOOST_REQUIRE(std::chrono::steady_clock::now() < give_up);
            co_await sleep_for(1ms);
        }
    }());
    BOOST_TEST(a_committed);
    BOOST_TEST(admin.query("SELECT n FROM " + t + " WHERE id = 2")[0].get<int>(0) == 1); // A's, not B's
}
