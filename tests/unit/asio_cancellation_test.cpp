// respool/asio.hpp's per-operation cancellation, which Boost.Asio has from 1.77 on. Debian 12's default Boost is
// 1.74, so tools/test.sh unpacks Debian's libboost1.81-dev headers and builds this test against them (CMake:
// RESPOOL_NEWER_BOOST_INCLUDE_DIR). Boost.Test is used header-only here: its library is the system's 1.74.
#define BOOST_TEST_MODULE asio_cancellation
#include <boost/test/included/unit_test.hpp>

#include <utility>

#include <respool/asio.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/version.hpp>

#include <chrono>
#include <exception>
#include <variant>

#if BOOST_VERSION < 107700
#error "this test needs Boost 1.77 or newer: older Boost.Asio has no per-operation cancellation"
#endif

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {
struct Res {
    int id = 0;
};
struct Factory {
    int next = 0;
    Res create() { return Res{++next}; }
};
using TestPool = respool::Pool<Res, Factory>;
} // namespace

BOOST_AUTO_TEST_CASE(a_cancellation_signal_stops_a_queued_acquire_and_loses_nothing) {
    asio::io_context io;
    TestPool pool({.pool_size = 1, .max_overflow = 0, .timeout = 30s});
    auto held = pool.acquire();
    asio::cancellation_signal signal;
    bool cancelled = false;
    bool got_lease = false;
    respool::asio::async_acquire(pool, io.get_executor(),
                                 asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr error,
                                                                                 TestPool::Lease lease) {
                                     got_lease = static_cast<bool>(lease);
                                     try {
                                         if (error) std::rethrow_exception(error);
                                     } catch (const respool::CancelledError&) {
                                         cancelled = true;
                                     }
                                 }));
    io.poll();
    BOOST_TEST(pool.stats().waiting == 1u);
    signal.emit(asio::cancellation_type::terminal);
    io.run();
    BOOST_TEST(cancelled);
    BOOST_TEST(!got_lease);
    BOOST_TEST(pool.stats().waiting == 0u);
    held.reset();
    BOOST_TEST(pool.stats().idle == 1u); // the resource is back and nobody is owed it
    BOOST_TEST(static_cast<bool>(pool.try_acquire()));
}

BOOST_AUTO_TEST_CASE(a_timer_that_wins_a_race_with_use_awaitable_cancels_the_acquire) {
    using namespace asio::experimental::awaitable_operators;
    asio::io_context io;
    TestPool pool({.pool_size = 1, .max_overflow = 0, .timeout = 30s});
    auto held = pool.acquire();
    bool timer_won = false;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            asio::steady_timer timer(io, 20ms);
            auto winner = co_await (respool::asio::async_acquire(pool, asio::use_awaitable) ||
                                    timer.async_wait(asio::use_awaitable));
            timer_won = winner.index() == 1;
        },
        asio::detached);
    io.run();
    BOOST_TEST(timer_won);
    BOOST_TEST(pool.stats().waiting == 0u);
    BOOST_TEST(pool.stats().timeouts == 0u); // cancelled, not timed out
    held.reset();
    BOOST_TEST(pool.stats().idle == 1u);
}
