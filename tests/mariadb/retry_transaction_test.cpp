// retry_transaction against a real server: a deadlock between two transactions is retried until both complete, a
// lock wait timeout is retried, NOWAIT failures and a lost COMMIT are not, a broken connection is replaced.
#define BOOST_TEST_MODULE mariadb_retry_transaction
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include "test_server.hpp"
#include "tx_support.hpp"

namespace mdb = respool::mariadb;
using namespace std::chrono_literals;
using respool_test::ScratchTable;
using respool_tx_test::bounded_options;
using respool_tx_test::kill_session;
using respool_tx_test::seconds_since;

BOOST_AUTO_TEST_CASE(opposite_lock_orders_deadlock_once_and_retry_completes_both) {
    auto pool = mdb::make_pool(bounded_options(), {.pool_size = 2, .max_overflow = 0, .timeout = 30s});
    mdb::Connection admin(bounded_options());
    ScratchTable t(admin, "retry_deadlock", "id INT PRIMARY KEY, n INT NOT NULL");
    admin.execute("INSERT INTO " + t.name() + " VALUES (1, 0), (2, 0)");
    const auto lock = mdb::LockingRead::from(t.name()).where_equal("id");
    const std::string bump = "UPDATE " + t.name() + " SET n = n + 1 WHERE id IN (?, ?)";

    std::atomic<int> first_locks{0}; // how many first attempts hold their first row
    std::atomic<int> attempts{0};
    std::atomic<int> deadlocks{0};
    auto transfer = [&](int first, int second) {
        return [&, first, second](mdb::Transaction& tx) {
            const bool first_attempt = attempts.fetch_add(1) < 2 && first_locks.load() < 2;
            lock.run(tx, first);
            if (first_attempt) { // both hold one row before either asks for the other: a certain deadlock
                first_locks.fetch_add(1);
                const auto deadline = std::chrono::steady_clock::now() + 10s;
                while (first_locks.load() < 2 && std::chrono::steady_clock::now() < deadline)
                    std::this_thread::sleep_for(1ms);
            }
            try {
                lock.run(tx, second);
            } catch (const mdb::Error& e) {
                if (e.is_deadlock()) deadlocks.fetch_add(1);
                throw;
            }
            tx.execute(bump, first, second);
            return first;
        };
    };
    std::string failure_a;
    std::string failure_b;
    int result_a = 0;
    const auto start = std::chrono::steady_clock::now();
    {
        std::jthread a([&] {
            try {
                result_a = mdb::retry_transaction(pool, transfer(1, 2));
            } catch (const std::exception& e) {
                failure_a = e.what();
            }
        });
        std::jthread b([&] {
            try {
                mdb::retry_transaction(pool, transfer(2, 1));
            } catch (const std::exception& e) {
                failure_b = e.what();
            }
        });
    }
    BOOST_TEST_MESSAGE("deadlock resolved and both committed in " << seconds_since(start) << " s, " << attempts.load()
                                                                   << " attempts");
    BOOST_TEST(failure_a.empty(), failure_a);
    BOOST_TEST(failure_b.empty(), failure_b);
    BOOST_TEST(result_a == 1); // fn's result comes back
    BOOST_TEST(deadlocks.load() == 1);
    BOOST_TEST(attempts.load() == 3);
    BOOST_TEST(admin.query("SELECT SUM(n) FROM " + t.name())[0].get<int>(0) == 4); // each committed exactly once
}

BOOST_AUTO_TEST_CASE(a_lock_wait_timeout_is_retried_until_the_holder_lets_go) {
    auto pool = mdb::make_pool(bounded_options(), {.pool_size = 1, .max_overflow = 0, .timeout = 30s});
    mdb::Connection holder(bounded_options());
    ScratchTable t(holder, "retry_timeout", "id INT PRIMARY KEY, n INT NOT NULL");
    holder.execute("INSERT INTO " + t.name() + " VALUES (1, 0)");
    const auto lock = mdb::LockingRead::from(t.name()).where_equal("id");
    std::atomic<bool> held{false};
    std::jthread release_later([&] {
        mdb::Transaction tx(holder);
        lock.run(tx, 1);
        held.store(true);
        std::this_thread::sleep_for(1500ms);
        tx.commit();
    });
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!held.load()) {
        BOOST_REQUIRE(std::chrono::steady_clock::now() < deadline);
        std::this_thread::sleep_for(1ms);
    }
    int attempts = 0;
    mdb::retry_transaction(
        pool,
        [&](mdb::Transaction& tx) {
            ++attempts;
            mdb::LockingRead(lock).wait_for(1s).run(tx, 1);
            tx.execute("UPDATE " + t.name() + " SET n = n + 1 WHERE id = 1");
        },
        {.max_attempts = 6});
    release_later.join();
    BOOST_TEST(attempts >= 2);
    BOOST_TEST(holder.query("SELECT n FROM " + t.name())[0].get<int>(0) == 1);
}

BOOST_AUTO_TEST_CASE(nowait_failures_are_not_retried_unless_asked) {
    auto pool = mdb::make_pool(bounded_options(), {.pool_size = 1, .max_overflow = 0, .timeout = 30s});
    mdb::Connection holder(bounded_options());
    ScratchTable t(holder, "retry_nowait", "id INT PRIMARY KEY");
    holder.execute("INSERT INTO " + t.name() + " VALUES (1)");
    const auto lock = mdb::LockingRead::from(t.name()).where_equal("id").nowait();
    mdb::Transaction held(holder);
    lock.run(held, 1);
    int attempts = 0;
    auto body = [&](mdb::Transaction& tx) {
        ++attempts;
        lock.run(tx, 1);
    };
    try {
        mdb::retry_transaction(pool, body);
        BOOST_ERROR("NOWAIT on a held row succeeded");
    } catch (const mdb::Error& e) {
        BOOST_TEST((e.code() == mdb::errc::lock_not_available));
    }
    BOOST_TEST(attempts == 1);
    attempts = 0;
    BOOST_CHECK_THROW(mdb::retry_transaction(pool, body,
                                             {.max_attempts = 3, .initial_backoff = 1ms,
                                              .retry_lock_not_available = true}),
                      mdb::Error);
    BOOST_TEST(attempts == 3);
}

BOOST_AUTO_TEST_CASE(other_exceptions_are_not_retried_and_leave_nothing_committed) {
    auto pool = mdb::make_pool(bounded_options(), {.pool_size = 1, .max_overflow = 0, .timeout = 30s});
    mdb::Connection admin(bounded_options());
    ScratchTable t(admin, "retry_throw", "id INT PRIMARY KEY");
    int attempts = 0;
    BOOST_CHECK_THROW(mdb::retry_transaction(pool,
                                             [&](mdb::Connection& c) { // the Connection& form
                                                 ++attempts;
                                                 c.execute("INSERT INTO " + t.name() + " VALUES (1)");
                                                 throw std::runtime_error("application failure");
                                             }),
                      std::runtime_error);
    BOOST_TEST(attempts == 1);
    BOOST_TEST(admin.query("SELECT COUNT(*) FROM " + t.name())[0].get<int>(0) == 0);
}

BOOST_AUTO_TEST_CASE(a_broken_connection_is_replaced_by_a_fresh_lease_when_disconnects_are_retried) {
    auto pool = mdb::make_pool(bounded_options(), {.pool_size = 2, .max_overflow = 0, .timeout = 30s});
    mdb::Connection admin(bounded_options());
    ScratchTable t(admin, "retry_broken", "id INT PRIMARY KEY");
    std::vector<unsigned long> sessions;
    const unsigned long committed_on = mdb::retry_transaction(
        pool,
        [&](mdb::Transaction& tx) {
            sessions.push_back(tx.connection().thread_id());
            if (sessions.size() == 1) kill_session(admin, tx.connection().thread_id());
            tx.execute("INSERT INTO " + t.name() + " VALUES (1)");
            return tx.connection().thread_id();
        },
        {.retry_disconnects = true});
    BOOST_REQUIRE(sessions.size() == 2u);
    BOOST_TEST(sessions[0] != sessions[1]);
    BOOST_TEST(committed_on == sessions[1]);
    BOOST_TEST(admin.query("SELECT COUNT(*) FROM " + t.name())[0].get<int>(0) == 1);
}

BOOST_AUTO_TEST_CASE(a_commit_whose_outcome_is_unknown_is_never_retried) {
    auto pool = mdb::make_pool(bounded_options(), {.pool_size = 2, .max_overflow = 0, .timeout = 30s});
    mdb::Connection admin(bounded_options());
    ScratchTable t(admin, "retry_unknown", "id INT PRIMARY KEY");
    int attempts = 0;
    try {
        mdb::retry_transaction(
            pool,
            [&](mdb::Transaction& tx) {
                ++attempts;
                tx.execute("INSERT INTO " + t.name() + " VALUES (1)");
                kill_session(admin, tx.connection().thread_id()); // dies between the work and COMMIT
            },
            {.retry_disconnects = true});
        BOOST_ERROR("a commit on a killed connection succeeded");
    } catch (const mdb::Error& e) {
        BOOST_TEST((e.code() == mdb::errc::commit_outcome_unknown));
    }
    BOOST_TEST(attempts == 1);
}

BOOST_AUTO_TEST_CASE(a_one_millisecond_backoff_pauses_half_to_one_millisecond) {
    auto pool = mdb::make_pool(bounded_options(), {.pool_size = 1, .max_overflow = 0, .timeout = 10s});
    int attempts = 0;
    const auto start = std::chrono::steady_clock::now();
    try {
        mdb::retry_transaction(
            pool,
            [&](mdb::Transaction&) {
                ++attempts;
                throw mdb::Error(mdb::server_errno::deadlock, "40001", "scripted deadlock", "test");
            },
            {.max_attempts = 21, .initial_backoff = 1ms, .max_backoff = 1ms});
        BOOST_ERROR("the last deadlock did not reach the caller");
    } catch (const mdb::Error& e) {
        BOOST_TEST(e.is_deadlock());
    }
    using Milliseconds = std::chrono::duration<double, std::milli>;
    const double elapsed_ms = Milliseconds(std::chrono::steady_clock::now() - start).count();
    BOOST_TEST(attempts == 21);
    BOOST_TEST(elapsed_ms >= 10.0, "20 pauses of 0.5-1 ms each took " << elapsed_ms << " ms");
}

BOOST_AUTO_TEST_CASE(a_backoff_beyond_what_microseconds_hold_is_the_longest_pause_not_an_overflow) {
    using std::chrono::microseconds;
    using std::chrono::milliseconds;
    const mdb::RetryPolicy forever{.initial_backoff = milliseconds::max(), .max_backoff = milliseconds::max()};
    const mdb::RetryPolicy growing{.initial_backoff = 1ms, .max_backoff = milliseconds::max(), .multiplier = 1e300};
    const mdb::RetryPolicy long_but_representable{.initial_backoff = milliseconds(9'000'000'000'000),
                                                  .max_backoff = milliseconds(9'000'000'000'000)};
    for (int draw = 0; draw < 100; ++draw) {
        BOOST_TEST((mdb::detail::backoff(forever, 2) == microseconds::max()));
        BOOST_TEST((mdb::detail::backoff(growing, 3) == microseconds::max()));
        const auto pause = mdb::detail::backoff(long_but_representable, 2);
        BOOST_TEST(pause.count() >= 4'500'000'000'000'000LL);
        BOOST_TEST(pause.count() <= 9'000'000'000'000'000LL);
    }
}

BOOST_AUTO_TEST_CASE(an_attempt_that_ended_its_transaction_itself_is_not_run_again) {
    auto pool = mdb::make_pool(bounded_options(), {.pool_size = 1, .max_overflow = 0, .timeout = 10s});
    int attempts = 0;
    try {
        mdb::retry_transaction(pool, [&](mdb::Transaction& tx) {
            ++attempts;
            tx.commit(); // its work is committed: running the body again would repeat it
            throw mdb::Error(mdb::server_errno::deadlock, "40001", "scripted deadlock after the commit", "test");
        });
        BOOST_ERROR("the failure did not reach the caller");
    } catch (const mdb::Error& e) {
        BOOST_TEST(e.is_deadlock());
    }
    BOOST_TEST(attempts == 1);
}
