// Transaction against a real server: begin options, commit and rollback, savepoints, a COMMIT whose outcome is
// unknown, and what a connection looks like when it comes back to the pool after an exception.
#define BOOST_TEST_MODULE mariadb_transaction
#include <boost/test/unit_test.hpp>

#include <mysqld_error.h>

#include <chrono>
#include <cstdint>
#include <optional>
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
using respool_tx_test::kill_session;

namespace {

std::vector<int> ids(mdb::Connection& c, const std::string& table) {
    std::vector<int> out;
    for (const auto& row : c.query("SELECT id FROM " + table + " ORDER BY id")) out.push_back(row.get<int>(0));
    return out;
}

const respool::PoolOptions one_connection{.pool_size = 1, .max_overflow = 0, .timeout = 10s};

} // namespace

BOOST_AUTO_TEST_CASE(commit_keeps_and_scope_exit_rolls_back) {
    mdb::Connection c(bounded_options());
    ScratchTable t(c, "tx_basic", "id INT PRIMARY KEY");
    {
        mdb::Transaction tx(c);
        tx.execute("INSERT INTO " + t.name() + " VALUES (?)", 1);
        tx.commit();
        BOOST_TEST(!tx.active());
        BOOST_CHECK_THROW(tx.commit(), mdb::Error);
    }
    {
        mdb::Transaction tx(c);
        tx.execute("INSERT INTO " + t.name() + " VALUES (?)", 2);
        BOOST_CHECK_THROW(mdb::Transaction{c}, mdb::Error); // one at a time
    }
    BOOST_TEST(!c.in_transaction());
    BOOST_TEST(ids(c, t.name()) == std::vector<int>{1});
}

BOOST_AUTO_TEST_CASE(read_only_transaction_refuses_writes) {
    mdb::Connection c(bounded_options());
    ScratchTable t(c, "tx_ro", "id INT PRIMARY KEY");
    mdb::Transaction tx(c, {.access = mdb::AccessMode::read_only});
    BOOST_TEST(c.in_transaction());
    BOOST_TEST(tx.query("SELECT COUNT(*) FROM " + t.name())[0].get<int>(0) == 0);
    try {
        tx.execute("INSERT INTO " + t.name() + " VALUES (?)", 1);
        BOOST_ERROR("a write in a READ ONLY transaction succeeded");
    } catch (const mdb::Error& e) {
        BOOST_TEST(e.server_errno() == unsigned{ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION});
    }
    tx.commit();
}

BOOST_AUTO_TEST_CASE(isolation_level_and_consistent_snapshot_apply_to_the_transaction) {
    mdb::Connection c(bounded_options());
    mdb::Connection other(bounded_options());
    ScratchTable t(other, "tx_iso", "id INT PRIMARY KEY, v INT");
    other.execute("INSERT INTO " + t.name() + " VALUES (1, 0)");
    const std::string read = "SELECT v FROM " + t.name() + " WHERE id = 1";
    {
        // READ COMMITTED: each read sees what others committed meanwhile.
        mdb::Transaction tx(c, {.isolation = mdb::IsolationLevel::read_committed});
        BOOST_TEST(tx.query(read)[0].get<int>(0) == 0);
        other.execute("UPDATE " + t.name() + " SET v = 1 WHERE id = 1");
        BOOST_TEST(tx.query(read)[0].get<int>(0) == 1);
        tx.commit();
    }
    {
        // REPEATABLE READ WITH CONSISTENT SNAPSHOT: the view is taken at START TRANSACTION, before any read.
        mdb::Transaction tx(c, {.isolation = mdb::IsolationLevel::repeatable_read, .consistent_snapshot = true});
        other.execute("UPDATE " + t.name() + " SET v = 2 WHERE id = 1");
        BOOST_TEST(tx.query(read)[0].get<int>(0) == 1);
        tx.commit();
    }
    // The level was for one transaction only: the session's is unchanged.
    BOOST_TEST(c.query("SELECT @@tx_isolation")[0].get<std::string>(0) == "REPEATABLE-READ");
}

BOOST_AUTO_TEST_CASE(savepoints_roll_back_partially) {
    mdb::Connection c(bounded_options());
    ScratchTable t(c, "tx_sp", "id INT PRIMARY KEY");
    const std::string insert = "INSERT INTO " + t.name() + " VALUES (?)";
    {
        mdb::Transaction tx(c);
        tx.execute(insert, 1);
        auto sp = tx.savepoint("before_two");
        BOOST_TEST(sp.quoted_name() == "`before_two`");
        tx.execute(insert, 2);
        sp.rollback_to(); // undoes 2, keeps 1 and the transaction
        BOOST_TEST(c.in_transaction());
        tx.execute(insert, 3);
        {
            auto kept = tx.savepoint("kept");
            tx.execute(insert, 4);
            kept.release();
        }
        {
            auto dropped = tx.savepoint("dropped");
            tx.execute(insert, 5);
        } // neither released nor rolled back: rolled back to
        try {
            auto sp2 = tx.savepoint("on_error");
            tx.execute(insert, 6);
            throw std::runtime_error("fails after the insert");
        } catch (const std::runtime_error&) {
        }
        {
            auto outer = tx.savepoint("outer");
            auto inner = tx.savepoint("inner");
            tx.execute(insert, 7);
            outer.rollback_to(); // erases `inner` too; its destructor must cope
        }
        BOOST_TEST(ids(c, t.name()) == (std::vector<int>{1, 3, 4}));
        tx.commit();
    }
    BOOST_TEST(ids(c, t.name()) == (std::vector<int>{1, 3, 4}));
    BOOST_TEST(!c.is_broken());
}

BOOST_AUTO_TEST_CASE(savepoint_names_are_validated_and_need_a_transaction) {
    mdb::Connection c(bounded_options());
    {
        mdb::Transaction tx(c);
        for (const char* bad : {"", "a b", "x`; DROP TABLE t; --", "a.b", "quote'", "tab\t"})
            BOOST_CHECK_THROW(tx.savepoint(bad), std::invalid_argument);
        BOOST_CHECK_THROW(tx.savepoint(std::string(65, 'a')), std::invalid_argument);
        BOOST_CHECK_NO_THROW(tx.savepoint("sp_1$"));
        tx.commit();
        BOOST_CHECK_THROW(tx.savepoint("late"), mdb::Error);
    }
    try {
        mdb::Savepoint sp(c, "outside");
        BOOST_ERROR("a savepoint outside a transaction was made");
    } catch (const mdb::Error& e) {
        BOOST_TEST((e.code() == mdb::errc::transaction_state));
    }
}

BOOST_AUTO_TEST_CASE(a_second_active_savepoint_of_the_same_name_is_refused_so_nothing_meant_undone_is_committed) {
    mdb::Connection c(bounded_options());
    ScratchTable t(c, "tx_sp_twice", "id INT PRIMARY KEY");
    const std::string insert = "INSERT INTO " + t.name() + " VALUES (?)";
    {
        mdb::Transaction tx(c);
        tx.execute(insert, 1);
        {
            auto outer = tx.savepoint("lines");
            tx.execute(insert, 2);
            try {
                auto inner = tx.savepoint("lines"); // SQL would move `outer`'s savepoint here
                BOOST_ERROR("a second active savepoint `lines` was made");
            } catch (const mdb::Error& e) {
                BOOST_TEST((e.code() == mdb::errc::transaction_state));
                BOOST_TEST(std::string(e.what()).find("still active") != std::string::npos, e.what());
            }
            // The server compares savepoint names without regard to case: so does the check.
            BOOST_CHECK_THROW(tx.savepoint("LINES"), mdb::Error);
            auto other = tx.savepoint("lines_inner");
            tx.execute(insert, 3);
            other.release();
        } // `outer` not released: undoes 2 and 3
        BOOST_TEST(!c.is_broken());
        auto again = tx.savepoint("lines"); // the name is free again once its guard ended
        again.release();
        tx.commit();
    }
    BOOST_TEST(ids(c, t.name()) == (std::vector<int>{1}));
}

BOOST_AUTO_TEST_CASE(savepoint_names_the_server_takes_for_one_another_are_refused_accents_and_case_included) {
    mdb::Connection c(bounded_options());
    ScratchTable t(c, "tx_sp_accents", "id INT PRIMARY KEY");
    const std::string insert = "INSERT INTO " + t.name() + " VALUES (?)";
    // Pairs the server compares equal (utf8mb3_general_ci), with a distinct name that must still be accepted.
    const struct {
        const char* outer;
        const char* alias;
        const char* distinct;
    } cases[] = {{"cafe", "caf\u00e9", "caff"},                      // 'café'
                 {"\u00e9t\u00e9", "\u00c9T\u00c9", "\u00e9te_"}, // 'été' and 'ÉTÉ'
                 {"stra\u00dfe", "STRASE", "strasse"}};              // 'straße': 'ß' weighs as one 's'
    int id = 0;
    for (const auto& names : cases) {
        BOOST_TEST_CONTEXT("savepoint `" << names.outer << "` then `" << names.alias << "`") {
            mdb::Transaction tx(c);
            auto outer = tx.savepoint(names.outer);
            tx.execute(insert, ++id);
            const auto server_says_same = [&](const char* other) {
                return c.query("SELECT CONVERT(? USING utf8mb3) COLLATE utf8mb3_general_ci = "
                               "CONVERT(? USING utf8mb3) COLLATE utf8mb3_general_ci",
                               names.outer, other)[0]
                           .get<int>(0) == 1;
            };
            BOOST_TEST(server_says_same(names.alias));
            BOOST_TEST(!server_says_same(names.distinct));
            try {
                auto inner = tx.savepoint(names.alias); // SQL would move `outer`'s savepoint here
                BOOST_ERROR("a savepoint the server takes for an active one was made");
            } catch (const mdb::Error& e) {
                BOOST_TEST((e.code() == mdb::errc::transaction_state));
                BOOST_TEST(std::string(e.what()).find("still active") != std::string::npos, e.what());
            }
            auto distinct = tx.savepoint(names.distinct);
            tx.execute(insert, ++id);
            distinct.release();
            outer.rollback_to(); // undoes both rows
            tx.commit();
        }
    }
    BOOST_TEST(ids(c, t.name()).empty());
    // Several guards alive, the one aliased neither first nor last: still seen.
    mdb::Transaction tx(c);
    auto first = tx.savepoint("caf\u00e9_1");
    auto second = tx.savepoint("cafe_2");
    auto third = tx.savepoint("caf\u00e9_3");
    BOOST_CHECK_THROW(tx.savepoint("CAFE_2"), mdb::Error);
    BOOST_CHECK_THROW(tx.savepoint("caf\u00c9_2"), mdb::Error);
    auto fourth = tx.savepoint("caf\u00e9_4");
    BOOST_TEST(!c.is_broken());
}

BOOST_AUTO_TEST_CASE(commit_reports_outcome_unknown_when_the_connection_dies_before_commit) {
    mdb::Connection admin(bounded_options());
    ScratchTable t(admin, "tx_kill", "id INT PRIMARY KEY");
    mdb::Connection c(bounded_options());
    mdb::Transaction tx(c);
    tx.execute("INSERT INTO " + t.name() + " VALUES (?)", 1);
    kill_session(admin, c.thread_id());
    try {
        tx.commit();
        BOOST_ERROR("COMMIT on a killed connection succeeded");
    } catch (const mdb::Error& e) {
        BOOST_TEST((e.code() == mdb::errc::commit_outcome_unknown));
        BOOST_TEST(e.server_errno() != 0u);
        BOOST_TEST_MESSAGE("commit on a killed connection: " << e.what());
    }
    BOOST_TEST(!tx.active());
    BOOST_TEST(c.is_broken());
    // The server rolled it back with the session; the error said it could not know.
    BOOST_TEST(admin.query("SELECT COUNT(*) FROM " + t.name())[0].get<int>(0) == 0);
}

BOOST_AUTO_TEST_CASE(commit_after_a_statement_lost_the_connection_knows_nothing_was_committed) {
    mdb::Connection admin(bounded_options());
    ScratchTable t(admin, "tx_lost", "id INT PRIMARY KEY");
    mdb::Connection c(bounded_options());
    mdb::Transaction tx(c);
    tx.execute("INSERT INTO " + t.name() + " VALUES (?)", 1);
    kill_session(admin, c.thread_id());
    BOOST_CHECK_THROW(tx.execute("INSERT INTO " + t.name() + " VALUES (?)", 2), mdb::Error);
    BOOST_REQUIRE(c.is_broken());
    try {
        tx.commit(); // COMMIT is not sent: the outcome is known
        BOOST_ERROR("commit on a lost connection succeeded");
    } catch (const mdb::Error& e) {
        BOOST_TEST((e.code() == mdb::errc::transaction_state));
    }
    BOOST_TEST(admin.query("SELECT COUNT(*) FROM " + t.name())[0].get<int>(0) == 0);
}

BOOST_AUTO_TEST_CASE(a_transaction_begun_on_a_connection_that_lost_its_session_reports_a_disconnect) {
    mdb::Connection admin(bounded_options());
    mdb::Connection c(bounded_options());
    {
        mdb::Transaction tx(c);
        kill_session(admin, c.thread_id());
    } // its ROLLBACK finds the session gone
    BOOST_REQUIRE(c.is_broken());
    BOOST_REQUIRE(c.in_transaction()); // the last status the server sent, now meaningless
    try {
        mdb::Transaction again(c);
        BOOST_ERROR("a transaction began on a broken connection");
    } catch (const mdb::Error& e) {
        BOOST_TEST(e.is_disconnect()); // what a retry loop keys on, not "a transaction is already open"
        BOOST_TEST(e.server_errno() == mdb::server_errno::server_gone);
        BOOST_TEST(std::string(e.what()).find("broken") != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(commit_refuses_when_the_server_has_no_open_transaction) {
    mdb::Connection c(bounded_options());
    ScratchTable t(c, "tx_gone", "id INT PRIMARY KEY");
    mdb::Transaction tx(c);
    tx.execute("INSERT INTO " + t.name() + " VALUES (?)", 1);
    c.execute("ROLLBACK"); // behind the Transaction's back
    c.execute("INSERT INTO " + t.name() + " VALUES (2)"); // autocommitted
    try {
        tx.commit();
        BOOST_ERROR("commit() did not notice the transaction had ended");
    } catch (const mdb::Error& e) {
        BOOST_TEST((e.code() == mdb::errc::transaction_state));
    }
    BOOST_TEST(!tx.active());
}

BOOST_AUTO_TEST_CASE(an_exception_inside_a_transaction_leaves_no_transaction_and_no_lock_for_the_next_holder) {
    auto pool = mdb::make_pool(bounded_options(), one_connection);
    mdb::Connection admin(bounded_options());
    ScratchTable t(admin, "tx_throw", "id INT PRIMARY KEY, v INT");
    admin.execute("INSERT INTO " + t.name() + " VALUES (1, 0)");
    const std::string lock = respool_test::unique_name("respool_tx_lock");
    const auto locking = mdb::LockingRead::from(t.name()).where_equal("id");
    unsigned long first = 0;
    try {
        auto lease = pool.acquire();
        first = lease->thread_id();
        mdb::Transaction tx(lease);
        BOOST_TEST(locking.run(tx, 1).size() == 1u);
        tx.execute("UPDATE " + t.name() + " SET v = 99 WHERE id = 1");
        BOOST_TEST(lease->query("SELECT GET_LOCK(?, 0)", lock)[0].get<int>(0) == 1); // a raw one: the pool's job
        mdb::NamedLock guard(*lease, lock + "_guard", 0ms);
        throw std::runtime_error("application failure mid-transaction");
    } catch (const std::runtime_error&) {
    }
    {
        auto lease = pool.acquire();
        BOOST_TEST(lease->thread_id() == first); // the same session came back and was kept
        BOOST_TEST(lease->query("SELECT 1")[0].get<int>(0) == 1); // a fresh status from the server
        BOOST_TEST((lease->server_status() & SERVER_STATUS_IN_TRANS) == 0u);
        BOOST_TEST(!lease->query("SELECT IS_USED_LOCK(?)", lock)[0].get<std::optional<long>>(0).has_value());
        BOOST_TEST(!lease->query("SELECT IS_USED_LOCK(?)", lock + "_guard")[0].get<std::optional<long>>(0));
        try { // needs the PROCESS privilege, which the test user may lack
            const auto trx = lease->query("SELECT COUNT(*) FROM information_schema.innodb_trx "
                                          "WHERE trx_mysql_thread_id = ?",
                                          static_cast<std::uint64_t>(first));
            BOOST_TEST(trx[0].get<int>(0) == 0);
        } catch (const mdb::Error& e) {
            BOOST_TEST_MESSAGE("information_schema.innodb_trx not readable here: " << e.what());
        }
    }
    // No row lock is left: another session takes it with NOWAIT, and the update was undone.
    mdb::Transaction probe(admin);
    const auto rows = mdb::LockingRead::from(t.name()).columns({"v"}).where_equal("id").nowait().run(probe, 1);
    BOOST_TEST(rows[0].get<int>(0) == 0);
    probe.commit();
}

namespace {
// Waits (bounded) until the server shows session `id` running an UPDATE (waiting for a row lock, here).
void wait_for_update_running(mdb::Connection& admin, unsigned long id) {
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    while (admin.query("SELECT COUNT(*) FROM information_schema.processlist WHERE id = ? AND info LIKE 'UPDATE%'",
                       static_cast<std::uint64_t>(id))[0]
               .get<int>(0) == 0) {
        BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < give_up, "the UPDATE never started");
        std::this_thread::yield();
    }
}
} // namespace

BOOST_AUTO_TEST_CASE(after_a_deadlock_the_victims_transaction_runs_nothing_more_and_refuses_to_commit) {
    mdb::Connection admin(bounded_options());
    ScratchTable t(admin, "tx_deadlock", "id INT PRIMARY KEY, n INT");
    for (int id = 1; id <= 5; ++id) admin.execute("INSERT INTO " + t.name() + " VALUES (?, 0)", id);
    mdb::Connection a(bounded_options());
    mdb::Connection b(bounded_options());
    mdb::Transaction ta(a);
    mdb::Transaction tb(b);
    ta.execute("UPDATE " + t.name() + " SET n = 9 WHERE id >= 4"); // more undo: InnoDB picks B as the victim
    ta.execute("UPDATE " + t.name() + " SET n = 1 WHERE id = 1");
    tb.execute("UPDATE " + t.name() + " SET n = 1 WHERE id = 2");
    std::thread heavier([&] {
        ta.execute("UPDATE " + t.name() + " SET n = 1 WHERE id = 2"); // waits for B, until B is rolled back
        ta.commit();
    });
    wait_for_update_running(admin, a.thread_id());
    try {
        tb.execute("UPDATE " + t.name() + " SET n = 2 WHERE id = 1"); // closes the cycle
        BOOST_ERROR("no deadlock");
    } catch (const mdb::Error& e) {
        BOOST_TEST(e.is_deadlock(), e.what());
    }
    heavier.join();
    BOOST_TEST(tb.rolled_back_by_server());
    auto expect_refused = [](auto&& call, const char* what) {
        try {
            call();
            BOOST_ERROR(what << " ran after the server had rolled the transaction back");
        } catch (const mdb::Error& e) {
            BOOST_TEST((e.code() == mdb::errc::transaction_state), e.what());
        }
    };
    expect_refused([&] { tb.execute("INSERT INTO " + t.name() + " VALUES (?, ?)", 3000, 1); }, "execute");
    expect_refused([&] { (void)tb.query("SELECT * FROM " + t.name()); }, "query");
    expect_refused([&] { (void)tb.savepoint("after_the_deadlock"); }, "a savepoint");
    expect_refused([&] { (void)mdb::LockingRead::from(t.name()).where_equal("id").run(tb, 3); }, "a locking read");
    expect_refused([&] { tb.commit(); }, "commit");
    BOOST_TEST(admin.query("SELECT COUNT(*) FROM " + t.name() + " WHERE id = 3000")[0].get<int>(0) == 0);
    // Directly on the connection, past the Transaction: commit() still knows.
    mdb::Transaction again(b);
    BOOST_TEST(!again.rolled_back_by_server());
    again.commit();
}
