// One backend killed under an 8-thread load: only what was in flight on it fails, new operations go to the other
// one at once; when it comes back, recycling with jitter spreads the pool's connections over both again.
#define BOOST_TEST_MODULE nginx_backend_failover
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "nginx_lb.hpp"

using namespace respool_test;

BOOST_AUTO_TEST_CASE(a_killed_backend_fails_only_operations_in_flight_and_recycling_rebalances_when_it_returns) {
    const unsigned port1 = backend_port(1), port2 = backend_port(2);
    CountingFactory factory(lb_options());
    CountingPool pool({.pool_size = 8,
                       .max_overflow = 0,
                       .timeout = 5s,
                       .recycle = 3s,
                       .pre_ping = true,
                       .recycle_jitter = 1500ms,
                       .order = respool::CheckoutOrder::fifo,
                       .max_connecting = 2},
                      factory, mdb::Validator());

    Load load(pool, factory, 8);
    struct Restart { // the backend comes back even when an assertion below stops the test
        bool needed = false;
        ~Restart() {
            if (needed) std::system((std::string(RESPOOL_NGINX_LB_SCRIPT) + " start-backend " + RESPOOL_NGINX_LB_DIR + " 1").c_str());
        }
    } restart;

    // Both backends serve before the kill.
    BOOST_REQUIRE(wait_until([&] { return factory.live_on(port1) > 0 && factory.live_on(port2) > 0; }, 10s));
    std::this_thread::sleep_for(500ms);
    const std::size_t on1_at_kill = factory.live_on(port1);

    const auto kill_start = Clock::now();
    restart.needed = true;
    lb_command("kill-backend", "1");
    const auto kill_done = Clock::now();
    std::this_thread::sleep_for(2500ms);

    const auto back_start = Clock::now();
    lb_command("start-backend", "1");
    restart.needed = false;
    const auto back_done = Clock::now();
    // nginx skips backend 1 for fail_timeout (2 s) after its last refusal; each connection lives 1.5-3 s.
    const bool spread = wait_until([&] { return factory.live_on(port1) >= 2 && factory.live_on(port2) >= 2; }, 15s);
    const auto spread_at = Clock::now();
    load.stop();
    const auto ops = load.ops();
    const auto s = pool.stats();

    int failed = 0, failed_not_in_flight = 0, after_1s = 0, after_1s_bad = 0, before_kill = 0;
    double last_failure_ms = 0;
    for (const Op& op : ops) {
        if (op.start < kill_start) ++before_kill;
        if (!op.ok) {
            ++failed;
            last_failure_ms = std::max(last_failure_ms, ms_between(kill_start, op.end));
            // In flight on backend 1: on a connection to it (or connecting), begun before the kill had completed
            // plus the moment nginx takes to pass the close on (until then a checkout cannot see it).
            const bool in_flight = op.start < kill_done + 100ms && (op.conn_port == port1 || op.acquire_failed);
            if (!in_flight) {
                ++failed_not_in_flight;
                BOOST_TEST_MESSAGE("unexpected failure " << ms_between(kill_start, op.start) << " ms after the kill on port "
                                                         << op.conn_port << ": " << op.error);
            } else {
                BOOST_TEST_MESSAGE("in flight on the killed backend, begun " << ms_between(kill_start, op.start)
                                                                            << " ms after the kill began: " << op.error);
            }
        }
        if (op.start >= kill_done + 1s && op.start < back_start) {
            ++after_1s;
            if (!op.ok || op.served_port != port2) ++after_1s_bad;
        }
    }
    BOOST_TEST_MESSAGE(ops.size() << " operations; backend 1 had " << on1_at_kill << " of 8 connections when SIGKILLed ("
                                  << ms_between(kill_start, kill_done) << " ms to die); " << failed << " failed, the last "
                                  << last_failure_ms << " ms after the kill began; " << after_1s
                                  << " operations from 1 s after the kill until the restart: " << after_1s_bad
                                  << " not served by backend 2");
    BOOST_TEST_MESSAGE("backend 1 back after " << ms_between(back_start, back_done) << " ms; connections on both again "
                                               << ms_between(back_done, spread_at) << " ms later: "
                                               << factory.live_on(port1) << " on backend 1, " << factory.live_on(port2)
                                               << " on backend 2; created " << s.created << ", recycled " << s.recycled
                                               << ", stale at checkout " << s.validation_failures
                                               << ", most create() at once " << factory.max_in_flight());
    BOOST_TEST(before_kill > 0);
    BOOST_TEST(failed_not_in_flight == 0);
    BOOST_TEST(failed <= static_cast<int>(on1_at_kill) + 2); // one per connection on it (+ ones being made)
    BOOST_TEST(after_1s > 0);
    BOOST_TEST(after_1s_bad == 0);
    BOOST_TEST(spread, "recycling spread the connections over both backends within 15 s of the restart");
    BOOST_TEST(factory.max_in_flight() <= 2);
}
