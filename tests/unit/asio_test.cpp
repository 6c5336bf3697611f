// respool::asio: completion tokens over the pool's asynchronous acquire, completing on the caller's executor.
#define BOOST_TEST_MODULE asio
#include <boost/test/unit_test.hpp>

#include <respool/asio.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <thread>

#include "fake_resource.hpp"

using namespace std::chrono_literals;
namespace asio = boost::asio;
using respool_test::Fake;
using respool_test::FakeFactory;
using respool_test::FakeValidator;
using TestPool = respool::Pool<Fake, FakeFactory, FakeValidator>;

namespace {
TestPool make_pool(FakeFactory& factory, respool::PoolOptions options) {
    return TestPool(options, factory, FakeValidator{factory.script});
}
} // namespace

BOOST_AUTO_TEST_CASE(a_callback_completes_on_the_given_executor) {
    FakeFactory factory;
    auto pool = make_pool(factory, {.pool_size = 1, .max_overflow = 0});
    asio::io_context io;
    bool on_io_thread = false;
    int id = 0;
    respool::asio::async_acquire(pool, io.get_executor(), [&](std::exception_ptr error, TestPool::Lease lease) {
        on_io_thread = io.get_executor().running_in_this_thread();
        if (!error) id = lease->id;
    });
    BOOST_TEST(id == 0); // nothing runs until the io_context does
    io.run();
    BOOST_TEST(on_io_thread);
    BOOST_TEST(id == 1);
}

BOOST_AUTO_TEST_CASE(use_awaitable_in_coroutines_shares_the_pool_on_one_thread) {
    FakeFactory factory;
    auto pool = make_pool(factory, {.pool_size = 2, .max_overflow = 0});
    asio::io_context io;
    int done = 0;
    for (int i = 0; i < 16; ++i) {
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                auto lease = co_await respool::asio::async_acquire(pool, asio::use_awaitable);
                asio::steady_timer timer(co_await asio::this_coro::executor, 1ms); // hold it across a suspension
                co_await timer.async_wait(asio::use_awaitable);
                ++done;
            },
            asio::detached);
    }
    io.run();
    BOOST_TEST(done == 16);
    BOOST_TEST(factory.script->created == 2);
    BOOST_TEST(pool.stats().in_use == 0u);
}

BOOST_AUTO_TEST_CASE(use_awaitable_throws_timeout_error) {
    FakeFactory factory;
    auto pool = make_pool(factory, {.pool_size = 1, .max_overflow = 0});
    auto held = pool.acquire();
    asio::io_context io;
    bool timed_out = false;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            try {
                co_await respool::asio::async_acquire_for(pool, 10ms, asio::use_awaitable);
            } catch (const respool::TimeoutError&) {
                timed_out = true;
            }
        },
        asio::detached);
    io.run();
    BOOST_TEST(timed_out);
}

BOOST_AUTO_TEST_CASE(use_future_delivers_a_lease) {
    FakeFactory factory;
    auto pool = make_pool(factory, {.pool_size = 1, .max_overflow = 0});
    auto future = respool::asio::async_acquire(pool, asio::use_future);
    auto lease = future.get();
    BOOST_TEST(lease->id == 1);
}

BOOST_AUTO_TEST_CASE(an_io_context_destroyed_with_a_pending_completion_loses_nothing) {
    FakeFactory factory;
    auto pool = make_pool(factory, {.pool_size = 1, .max_overflow = 0});
    pool.acquire().reset();
    {
        asio::io_context io;
        respool::asio::async_acquire(pool, io.get_executor(), [](std::exception_ptr, TestPool::Lease) {});
    } // never run: the posted completion is destroyed with the io_context
    BOOST_TEST(pool.stats().idle == 1u);
    BOOST_TEST(pool.stats().in_use == 0u);
}
