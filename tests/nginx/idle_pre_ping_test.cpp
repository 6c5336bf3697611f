// Idle longer than nginx's proxy_timeout: the proxy has closed every pooled connection. With pre_ping the caller
// never sees it, and a connection used a moment ago costs no ping at checkout.
#define BOOST_TEST_MODULE nginx_idle_pre_ping
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "nginx_lb.hpp"

using namespace respool_test;

namespace {

constexpr auto proxy_timeout = 2s; // as the fixture starts nginx
constexpr auto idle = 3s;          // longer than proxy_timeout

respool::PoolOptions four(bool pre_ping) {
    return {.pool_size = 4, .max_overflow = 4, .timeout = 5s, .pre_ping = pre_ping};
}

// Checks out `n` connections at once and runs a query on each, so that `n` exist and were used just now.
template <class Pool>
void warm(Pool& pool, std::size_t n) {
    std::vector<typename Pool::Lease> leases;
    for (std::size_t i = 0; i < n; ++i) {
        leases.push_back(pool.acquire());
        session_of(*leases.back());
    }
}

// `threads` threads × `each` checkouts with one query each; returns how many failed (any exception).
template <class Pool>
int checkouts(Pool& pool, int threads, int each) {
    std::mutex mutex;
    std::vector<std::string> errors; // logged after the joins: Boost.Test's log is not thread-safe
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
        workers.emplace_back([&] {
            for (int i = 0; i < each; ++i) {
                try {
                    auto lease = pool.acquire();
                    lease->query("SELECT @@port");
                } catch (const std::exception& e) {
                    std::lock_guard lock(mutex);
                    errors.emplace_back(e.what());
                }
            }
        });
    for (auto& w : workers) w.join();
    for (const std::string& e : errors) BOOST_TEST_MESSAGE("error reached the caller: " << e);
    return static_cast<int>(errors.size());
}

} // namespace

BOOST_AUTO_TEST_CASE(after_idle_beyond_proxy_timeout_pre_ping_hides_every_closed_connection) {
    auto with_ping = mdb::make_pool(lb_options(), four(true));
    auto without = mdb::make_pool(lb_options(), four(false)); // the contrast: what a pool without a check sees
    warm(with_ping, 4);
    warm(without, 4);
    BOOST_REQUIRE_EQUAL(with_ping.stats().idle, 4u);
    std::this_thread::sleep_for(idle); // nginx closes all eight after proxy_timeout without traffic

    const int errors = checkouts(with_ping, 4, 25);
    const auto s = with_ping.stats();
    BOOST_TEST_MESSAGE("pre_ping on, after " << idle.count() << " s idle behind proxy_timeout " << proxy_timeout.count()
                                             << " s: 100 checkouts, " << errors << " errors, " << s.validation_failures
                                             << " stale connections replaced quietly, " << s.created << " created");
    BOOST_TEST(errors == 0);
    BOOST_TEST(s.validation_failures == 4u); // every warm connection was found closed, at checkout
    BOOST_TEST(s.created >= 5u);

    const int errors_without = checkouts(without, 4, 25);
    BOOST_TEST_MESSAGE("pre_ping off, same idle: 100 checkouts, " << errors_without << " errors");
    BOOST_TEST(errors_without >= 1); // each stale connection fails one caller before it is replaced
    BOOST_TEST(errors_without <= 4);
}

BOOST_AUTO_TEST_CASE(a_connection_used_a_moment_ago_costs_no_round_trip_at_checkout) {
    auto pool = mdb::make_pool(lb_options(), four(true)); // ping_after: 1 s (the default)
    warm(pool, 4);

    const std::uint64_t before = admin_commands();
    for (int i = 0; i < 100; ++i) {
        auto lease = pool.acquire();
        lease->query("SELECT @@port");
    }
    const std::uint64_t after_burst = admin_commands();
    BOOST_TEST_MESSAGE("100 back-to-back checkouts with pre_ping: " << after_burst - before
                                                                    << " COM_PING (Com_admin_commands) on the backends");
    BOOST_TEST(after_burst - before == 0u);

    // The counter does see pings: a connection idle longer than ping_after (but within proxy_timeout) gets one.
    std::this_thread::sleep_for(1200ms);
    {
        auto lease = pool.acquire();
        lease->query("SELECT @@port");
    }
    const std::uint64_t after_idle = admin_commands();
    BOOST_TEST_MESSAGE("one checkout after 1.2 s idle: " << after_idle - after_burst << " COM_PING");
    BOOST_TEST(after_idle - after_burst == 1u);
    BOOST_TEST(pool.stats().validation_failures == 0u);
}

BOOST_AUTO_TEST_CASE(a_pooled_checkout_saves_the_handshake_through_the_proxy) {
    constexpr int n = 200;
    auto pool = mdb::make_pool(lb_options(), four(true));
    warm(pool, 1);
    // Counted by the backends themselves: what is asserted is the handshakes saved; the times are only reported
    // (on a busy machine either loop may be descheduled; docs/benchmarks.md measures the speed).
    const std::uint64_t c0 = backend_connections();
    const auto t0 = Clock::now();
    for (int i = 0; i < n; ++i) {
        auto lease = pool.acquire();
        lease->query("SELECT 1");
    }
    const auto t1 = Clock::now();
    const std::uint64_t c1 = backend_connections();
    const auto t2 = Clock::now();
    for (int i = 0; i < n; ++i) {
        mdb::Connection c(lb_options());
        c.query("SELECT 1");
    }
    const auto t3 = Clock::now();
    const std::uint64_t c2 = backend_connections();
    const std::uint64_t pooled_handshakes = c1 - c0 - 2, fresh_handshakes = c2 - c1 - 2; // less the counting's own
    const double pooled = ms_between(t0, t1) / n, fresh = ms_between(t2, t3) / n;
    BOOST_TEST_MESSAGE(n << " requests through nginx: pooled checkout + query " << pooled << " ms each, "
                         << pooled_handshakes << " new connections; new connection + query " << fresh << " ms each ("
                         << fresh / pooled << "x), " << fresh_handshakes << " new connections");
    BOOST_TEST(pooled_handshakes == 0u);
    BOOST_TEST(fresh_handshakes == static_cast<std::uint64_t>(n));
}
