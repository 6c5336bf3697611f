// Asio's per-operation cancellation (Boost 1.77+) of AsyncConnection's statements against a real server: a cancelled
// statement is abandoned at once, and its connection, whose reply is left unread, is never handed to anyone again.
// Debian 12's Boost is 1.74, so tools/test.sh unpacks Debian's libboost1.81-dev headers and builds this test against
// them (CMake: RESPOOL_NEWER_BOOST_INCLUDE_DIR); Boost.Test is used header-only here.
#define BOOST_TEST_MODULE mariadb_async_cancellation
#include <boost/test/included/unit_test.hpp>

#include <utility>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/version.hpp>

#include <chrono>
#include <cstdint>
#include <exception>
#include <iostream>
#include <random>
#include <string>
#include <variant>

#include "async_support.hpp"

#if BOOST_VERSION < 107700
#error "this test needs Boost 1.77 or newer: older Boost.Asio has no per-operation cancellation"
#endif

namespace asio = boost::asio;
namespace mdb = respool::mariadb;
using namespace std::chrono_literals;
using namespace boost::asio::experimental::awaitable_operators;
using respool_test::run_on;
using respool_test::server_options;

namespace {

asio::awaitable<void> sleep_for(std::chrono::microseconds wait) {
    asio::steady_timer timer(co_await asio::this_coro::executor, wait);
    co_await timer.async_wait(asio::use_awaitable);
}

} // namespace

BOOST_AUTO_TEST_CASE(a_statement_cancelled_while_the_server_works_is_abandoned_at_once) {
    asio::io_context io;
    auto pool = mdb::make_async_pool(io.get_executor(), server_options(),
                                     respool::PoolOptions{.pool_size = 1, .max_overflow = 0, .timeout = 10s});
    run_on(io, [&]() -> asio::awaitable<void> {
        {
            auto lease = co_await pool.async_acquire();
            const auto started = std::chrono::steady_clock::now();
            const auto winner = co_await (lease->async_query("SELECT SLEEP(5)") || sleep_for(50ms));
            const auto took = std::chrono::steady_clock::now() - started;
            BOOST_TEST(winner.index() == 1u); // the timer
            BOOST_TEST(std::chrono::duration<double>(took).count() < 2.0, "the wait for the reply was not cut short");
            BOOST_TEST(lease->is_broken()); // its reply will never be read: not to be reused
        }
        BOOST_TEST(pool.stats().destroyed == 1u);
        auto next = co_await pool.async_acquire();
        const auto rows = co_await next->async_query("SELECT 42");
        BOOST_TEST(rows[0].get<int>(0) == 42);
        // The prepared form too.
        const auto winner = co_await (next->async_query("SELECT SLEEP(?)", 5) || sleep_for(50ms));
        BOOST_TEST(winner.index() == 1u);
        BOOST_TEST(next->is_broken());
    }());
    pool.close();
    BOOST_TEST(pool.stats().created == pool.stats().destroyed);
}

// A cancellation the wait for the server does not act on (partial: the statement cannot be undone) is raised by Asio at
// the statement's next co_await, between its round trips: the reply is then left unread, and the connection must not
// be handed on.
BOOST_AUTO_TEST_CASE(a_cancellation_raised_between_round_trips_leaves_no_reply_for_the_next_holder) {
    asio::io_context io;
    auto pool = mdb::make_async_pool(io.get_executor(), server_options(),
                                     respool::PoolOptions{.pool_size = 1, .max_overflow = 0, .timeout = 10s});
    asio::cancellation_signal signal;
    bool abandoned = false;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            co_await asio::this_coro::reset_cancellation_state(asio::enable_partial_cancellation());
            auto lease = co_await pool.async_acquire();
            try {
                (void)co_await lease->async_query("SELECT SLEEP(0.2), 1");
            } catch (const boost::system::system_error& e) {
                abandoned = e.code() == asio::error::operation_aborted;
            }
            BOOST_TEST(lease->is_broken());
        },
        asio::bind_cancellation_slot(signal.slot(), [](std::exception_ptr) {}));
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            co_await sleep_for(50ms); // the statement is running on the server
            signal.emit(asio::cancellation_type::partial);
        },
        asio::detached);
    io.run();
    BOOST_TEST(abandoned);
    run_on(io, [&]() -> asio::awaitable<void> {
        auto next = co_await pool.async_acquire();
        const auto rows = co_await next->async_query("SELECT 42");
        BOOST_TEST(rows[0].get<int>(0) == 42);
    }());
    BOOST_TEST(pool.stats().destroyed == 1u);
}

// The cancellation lands anywhere: during a wait for the server (the wait ends at once), or between two round trips of
// one statement, where Asio raises it at the next co_await. Either way the next holder gets a session at rest.
BOOST_AUTO_TEST_CASE(statements_cancelled_at_random_points_never_leave_a_reply_for_the_next_holder) {
    const auto seed = std::random_device{}();
    std::cout << "seed " << seed << '\n';
    std::mt19937 random(seed);
    asio::io_context io;
    auto pool = mdb::make_async_pool(io.get_executor(), server_options(),
                                     respool::PoolOptions{.pool_size = 2, .max_overflow = 0, .timeout = 10s});
    mdb::Connection admin(server_options());
    admin.execute("DROP PROCEDURE IF EXISTS respool_two_results");
    admin.execute("CREATE PROCEDURE respool_two_results() BEGIN SELECT 1; SELECT SLEEP(0.001), 2; END");
    int cancelled = 0, completed = 0, wrong = 0;
    run_on(io, [&]() -> asio::awaitable<void> {
        for (int round = 0; round < 150; ++round) {
            {
                auto lease = co_await pool.async_acquire();
                const auto wait = std::chrono::microseconds(std::uniform_int_distribution<int>(0, 3000)(random));
                std::variant<mdb::Result, std::monostate> outcome;
                switch (round % 3) {
                case 0: outcome = co_await (lease->async_query("CALL respool_two_results()") || sleep_for(wait)); break;
                case 1: outcome = co_await (lease->async_query("SELECT ?, SLEEP(0.001)", round) || sleep_for(wait)); break;
                default: outcome = co_await (lease->async_query("SELECT SLEEP(0.001), 3") || sleep_for(wait)); break;
                }
                outcome.index() == 0 ? ++completed : ++cancelled;
            }
            auto check = co_await pool.async_acquire();
            const auto rows = co_await check->async_query("SELECT ?", round);
            if (rows.size() != 1 || rows[0].get<int>(0) != round) ++wrong;
        }
    }());
    std::cout << completed << " completed, " << cancelled << " cancelled\n";
    BOOST_TEST(wrong == 0);
    BOOST_TEST(cancelled > 0);
    pool.close();
    BOOST_TEST(pool.stats().created == pool.stats().destroyed);
    admin.execute("DROP PROCEDURE respool_two_results");
}
