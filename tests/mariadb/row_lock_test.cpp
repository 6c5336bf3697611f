// LockingRead against a real server: FOR UPDATE serialises a read-modify-write, NOWAIT fails at once, WAIT n after
// n seconds, SKIP LOCKED hands each job to one worker, and a locking read outside a transaction is refused.
#define BOOST_TEST_MODULE mariadb_row_lock
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test_server.hpp"
#include "tx_support.hpp"

namespace mdb = respool::mariadb;
using namespace std::chrono_literals;
using respool_test::ScratchTable;
using respool_tx_test::bounded_options;
using respool_tx_test::seconds_since;

namespace {

// Collects the first failure seen by worker threads, so the main thread can report it.
struct Failures {
    std::mutex mutex;
    std::string first;
    std::atomic<int> count{0};
    void add(const std::string& what) {
        if (count.fetch_add(1, std::memory_order_relaxed) == 0) {
            std::lock_guard lock(mutex);
            first = what;
        }
    }
};

} // namespace

BOOST_AUTO_TEST_CASE(sql_is_built_with_quoted_identifiers_and_the_lock_clause) {
    using mdb::LockingRead;
    BOOST_TEST(LockingRead::from("users").sql() == "SELECT * FROM `users` FOR UPDATE");
    BOOST_TEST(LockingRead::from("app.users")
                   .columns({"id", "u.age"})
                   .where_equal("name")
                   .where("age > ?")
                   .order_by("id", true)
                   .limit(3)
                   .nowait()
                   .sql() ==
               "SELECT `id`, `u`.`age` FROM `app`.`users` WHERE (`name` = ?) AND (age > ?) ORDER BY `id` DESC LIMIT 3 "
               "FOR UPDATE NOWAIT");
    BOOST_TEST(LockingRead::from("t").for_share().wait_for(3s).sql() == "SELECT * FROM `t` LOCK IN SHARE MODE WAIT 3");
    BOOST_TEST(LockingRead::from("t").wait_for(0s).sql() == "SELECT * FROM `t` FOR UPDATE NOWAIT");
    BOOST_TEST(LockingRead::from("t").for_share().skip_locked().sql() ==
               "SELECT * FROM `t` LOCK IN SHARE MODE SKIP LOCKED");
    BOOST_TEST(LockingRead::from_select("SELECT j.id FROM jobs j JOIN q ON q.id = j.q WHERE q.name = ?")
                   .skip_locked()
                   .sql() == "SELECT j.id FROM jobs j JOIN q ON q.id = j.q WHERE q.name = ?\nFOR UPDATE SKIP LOCKED");
    BOOST_TEST(LockingRead::from_select("SELECT 1;\t\r\n").sql() == "SELECT 1\nFOR UPDATE");
    BOOST_TEST(LockingRead::from_select("(SELECT 1)").sql() == "(SELECT 1)\nFOR UPDATE");
    for (const char* bad : {"", "users; DROP TABLE users", "a`b", "a b", "a.b.c", ".a", "a.", "t'"})
        BOOST_CHECK_THROW(LockingRead::from(bad), std::invalid_argument);
    BOOST_CHECK_THROW(LockingRead::from("t").columns({"id", "name`"}), std::invalid_argument);
    BOOST_CHECK_THROW(LockingRead::from("t").order_by("id desc"), std::invalid_argument);
    BOOST_CHECK_THROW(LockingRead::from("t").wait_for(-1s), std::invalid_argument);
    BOOST_CHECK_THROW(LockingRead::from_select("DELETE FROM t"), std::invalid_argument);
    BOOST_CHECK_THROW(LockingRead::from_select("SELECTX FROM t"), std::invalid_argument);
    BOOST_CHECK_THROW(LockingRead::from_select("SELECT 1").where("x"), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(a_trailing_comment_cannot_swallow_the_lock_clause) {
    mdb::Connection a(bounded_options());
    mdb::Connection b(bounded_options());
    ScratchTable t(a, "rl_comment", "id INT PRIMARY KEY");
    a.execute("INSERT INTO " + t.name() + " VALUES (1)");
    mdb::Transaction holder(a);
    BOOST_REQUIRE(mdb::LockingRead::from(t.name()).where_equal("id").run(holder, 1).size() == 1u);
    mdb::Transaction tx(b);
    const auto read = mdb::LockingRead::from_select("SELECT id FROM " + t.name() + " WHERE id = ? -- claim one job")
                          .nowait();
    try {
        (void)read.run(tx, 1);
        BOOST_ERROR("the row was read without its lock: " << read.sql());
    } catch (const mdb::Error& e) {
        BOOST_TEST((e.code() == mdb::errc::lock_not_available), e.what());
    }
}

BOOST_AUTO_TEST_CASE(locking_reads_refuse_to_run_outside_a_transaction) {
    mdb::Connection c(bounded_options());
    ScratchTable t(c, "rl_outside", "id INT PRIMARY KEY");
    c.execute("INSERT INTO " + t.name() + " VALUES (1)");
    const auto read = mdb::LockingRead::from(t.name()).where_equal("id");
    for (const auto& r : {read, mdb::LockingRead(read).nowait(), mdb::LockingRead(read).skip_locked(),
                          mdb::LockingRead(read).for_share()}) {
        try {
            (void)r.run(c, 1);
            BOOST_ERROR("a locking read ran under autocommit outside a transaction");
        } catch (const mdb::Error& e) {
            BOOST_TEST((e.code() == mdb::errc::transaction_state));
            BOOST_TEST(std::string(e.what()).find("autocommit") != std::string::npos);
        }
    }
    {
        mdb::Transaction tx(c);
        tx.commit();
        BOOST_CHECK_THROW((void)read.run(tx, 1), mdb::Error); // an ended transaction holds no locks
    }
    // With autocommit off, a statement opens a transaction by itself: allowed.
    c.execute("SET autocommit = 0");
    BOOST_TEST(read.run(c, 1).size() == 1u);
    BOOST_TEST(c.in_transaction());
    c.rollback();
    c.execute("SET autocommit = 1");
}

BOOST_AUTO_TEST_CASE(eight_threads_increment_one_counter_row_to_exactly_2000) {
    constexpr int threads = 8;
    constexpr int increments = 250;
    auto pool = mdb::make_pool(bounded_options(), {.pool_size = threads, .max_overflow = 0, .timeout = 30s});
    mdb::Connection admin(bounded_options());
    ScratchTable t(admin, "rl_counter", "id INT PRIMARY KEY, n INT NOT NULL");
    admin.execute("INSERT INTO " + t.name() + " VALUES (1, 0)");
    const auto read = mdb::LockingRead::from(t.name()).columns({"n"}).where_equal("id");
    const std::string update = "UPDATE " + t.name() + " SET n = ? WHERE id = ?";
    Failures failures;
    const auto start = std::chrono::steady_clock::now();
    {
        std::vector<std::jthread> workers;
        for (int w = 0; w < threads; ++w)
            workers.emplace_back([&] {
                try {
                    for (int i = 0; i < increments; ++i) {
                        auto lease = pool.acquire();
                        mdb::Transaction tx(lease);
                        const int n = read.run(tx, 1)[0].get<int>(0);
                        tx.execute(update, n + 1, 1);
                        tx.commit();
                    }
                } catch (const std::exception& e) {
                    failures.add(e.what());
                }
            });
    } // joined; each wait is bounded by innodb_lock_wait_timeout and the pool timeout
    const double elapsed = seconds_since(start);
    BOOST_TEST_MESSAGE("8 x 250 FOR UPDATE increments: " << elapsed << " s");
    BOOST_TEST(failures.count.load() == 0, failures.first);
    BOOST_TEST(admin.query("SELECT n FROM " + t.name() + " WHERE id = 1")[0].get<int>(0) == threads * increments);
}

BOOST_AUTO_TEST_CASE(nowait_on_a_locked_row_fails_at_once_with_lock_not_available) {
    auto holder_options = bounded_options();
    mdb::Connection holder(holder_options);
    mdb::Connection c(respool_test::server_options()); // the default 50 s lock wait: NOWAIT must not use it
    ScratchTable t(holder, "rl_nowait", "id INT PRIMARY KEY, v INT");
    holder.execute("INSERT INTO " + t.name() + " VALUES (1, 0), (2, 0)");
    const auto read = mdb::LockingRead::from(t.name()).where_equal("id");
    mdb::Transaction held(holder);
    BOOST_REQUIRE(read.run(held, 1).size() == 1u);

    mdb::Transaction tx(c);
    const auto start = std::chrono::steady_clock::now();
    try {
        (void)mdb::LockingRead(read).nowait().run(tx, 1);
        BOOST_ERROR("NOWAIT on a locked row succeeded");
    } catch (const mdb::Error& e) {
        const double elapsed = seconds_since(start);
        BOOST_TEST_MESSAGE("NOWAIT failed after " << elapsed * 1000 << " ms");
        BOOST_TEST(elapsed < 5.0); // at once, not after the 50 s lock wait (a margin for a busy machine)
        BOOST_TEST((e.code() == mdb::errc::lock_not_available));
        BOOST_TEST(e.server_errno() == 1205u);
    }
    // Only the statement failed: the transaction goes on, and takes a free row.
    BOOST_TEST(mdb::LockingRead(read).nowait().run(tx, 2).size() == 1u);
    // A shared lock does not conflict with another shared lock, only with an exclusive one.
    held.rollback();
    mdb::Transaction shared(holder);
    BOOST_REQUIRE(mdb::LockingRead(read).for_share().run(shared, 1).size() == 1u);
    mdb::Connection third(bounded_options());
    mdb::Transaction other_shared(third);
    BOOST_TEST(mdb::LockingRead(read).for_share().nowait().run(other_shared, 1).size() == 1u);
    tx.commit();
    mdb::Transaction exclusive(c);
    BOOST_CHECK_THROW((void)mdb::LockingRead(read).nowait().run(exclusive, 1), mdb::Error);
}

BOOST_AUTO_TEST_CASE(wait_1_on_a_locked_row_fails_after_about_a_second_with_a_lock_wait_timeout) {
    mdb::Connection holder(bounded_options());
    mdb::Connection c(respool_test::server_options());
    ScratchTable t(holder, "rl_wait", "id INT PRIMARY KEY");
    holder.execute("INSERT INTO " + t.name() + " VALUES (1)");
    const auto read = mdb::LockingRead::from(t.name()).where_equal("id");
    mdb::Transaction held(holder);
    BOOST_REQUIRE(read.run(held, 1).size() == 1u);

    mdb::Transaction tx(c);
    const auto start = std::chrono::steady_clock::now();
    try {
        (void)mdb::LockingRead(read).wait_for(1s).run(tx, 1);
        BOOST_ERROR("WAIT 1 on a locked row succeeded");
    } catch (const mdb::Error& e) {
        const double elapsed = seconds_since(start);
        BOOST_TEST_MESSAGE("WAIT 1 failed after " << elapsed << " s");
        BOOST_TEST(elapsed >= 0.8);
        BOOST_TEST(elapsed <= 10.0); // WAIT 1, not the session's 50 s
        BOOST_TEST(e.is_lock_wait_timeout()); // a real timeout: retry_transaction retries it
        BOOST_TEST((e.code().category() == mdb::server_category()));
    }
}

BOOST_AUTO_TEST_CASE(skip_locked_returns_the_next_free_row_at_once) {
    mdb::Connection holder(bounded_options());
    mdb::Connection c(bounded_options());
    ScratchTable t(holder, "rl_skip", "id INT PRIMARY KEY");
    holder.execute("INSERT INTO " + t.name() + " VALUES (1), (2), (3)");
    mdb::Transaction held(holder);
    // A lookup by primary key locks just that record. (InnoDB locks every row a read examines: on a table this small
    // "id IN (1, 2)" or "id <= 2" may be a full scan, which locks row 3 as well.)
    const auto by_id = mdb::LockingRead::from(t.name()).where_equal("id");
    BOOST_REQUIRE(by_id.run(held, 1).size() == 1u);
    BOOST_REQUIRE(by_id.run(held, 2).size() == 1u);
    mdb::Transaction tx(c);
    const auto rows = mdb::LockingRead::from(t.name()).columns({"id"}).order_by("id").limit(1).skip_locked().run(tx);
    BOOST_REQUIRE(rows.size() == 1u);
    BOOST_TEST(rows[0].get<int>(0) == 3);
}

BOOST_AUTO_TEST_CASE(skip_locked_four_workers_drain_1000_jobs_each_processed_once) {
    constexpr int workers = 4;
    constexpr int jobs = 1000;
    auto pool = mdb::make_pool(bounded_options(), {.pool_size = workers, .max_overflow = 0, .timeout = 30s});
    mdb::Connection admin(bounded_options());
    ScratchTable t(admin, "rl_jobs", "id INT PRIMARY KEY, done_by INT NULL, times INT NOT NULL DEFAULT 0");
    std::string values;
    for (int i = 1; i <= jobs; ++i) values += (i > 1 ? ",(" : "(") + std::to_string(i) + ")";
    admin.execute("INSERT INTO " + t.name() + " (id) VALUES " + values);

    const auto claim =
        mdb::LockingRead::from(t.name()).columns({"id"}).where("done_by IS NULL").order_by("id").limit(5).skip_locked();
    const std::string finish = "UPDATE " + t.name() + " SET done_by = ?, times = times + 1 WHERE id = ?";
    std::vector<std::vector<int>> claimed(workers);
    Failures failures;
    const auto start = std::chrono::steady_clock::now();
    {
        std::vector<std::jthread> threads;
        for (int w = 0; w < workers; ++w)
            threads.emplace_back([&, w] {
                try {
                    for (;;) {
                        auto lease = pool.acquire();
                        mdb::Transaction tx(lease);
                        const auto rows = claim.run(tx);
                        if (rows.empty()) break; // every job left is done or claimed by a live transaction
                        for (const auto& row : rows) {
                            const int id = row.get<int>(0);
                            tx.execute(finish, w, id);
                            claimed[static_cast<std::size_t>(w)].push_back(id);
                        }
                        tx.commit();
                    }
                } catch (const std::exception& e) {
                    failures.add(e.what());
                }
            });
    }
    BOOST_TEST_MESSAGE("4 workers drained 1000 jobs in " << seconds_since(start) << " s");
    BOOST_TEST(failures.count.load() == 0, failures.first);
    std::multiset<int> all;
    int busy_workers = 0;
    for (const auto& ids : claimed) {
        all.insert(ids.begin(), ids.end());
        if (!ids.empty()) ++busy_workers;
        BOOST_TEST_MESSAGE("worker claimed " << ids.size() << " jobs");
    }
    BOOST_TEST(all.size() == static_cast<std::size_t>(jobs));
    BOOST_TEST(std::set<int>(all.begin(), all.end()).size() == static_cast<std::size_t>(jobs)); // no job twice
    BOOST_TEST(busy_workers >= 2); // they ran side by side, skipping each other's rows
    const auto check = admin.query("SELECT COUNT(*), MIN(times), MAX(times) FROM " + t.name() +
                                   " WHERE done_by IS NOT NULL")[0];
    BOOST_TEST(check.get<int>(0) == jobs);
    BOOST_TEST(check.get<int>(1) == 1);
    BOOST_TEST(check.get<int>(2) == 1);
}
