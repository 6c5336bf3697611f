// nginx reloaded with a short worker_shutdown_timeout: the old worker cuts every connection at once. The pool
// reconnects all of them without ever running more than max_connecting connection attempts at once.
#define BOOST_TEST_MODULE nginx_reload
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "nginx_lb.hpp"

using namespace respool_test;

namespace {

struct Outcome {
    int failed = 0;
    int max_in_flight = 0;
    double failing_ms = 0;   // from the first failure to the last one
    double recovered_ms = 0; // from the first failure until every connection had been replaced (20 ms polls)
    std::uint64_t created = 0;
    bool replaced_all = false;
    int ok_in_last_second = 0, failed_in_last_second = 0;
};

// 8 threads of load; nginx reloaded; runs until every connection that existed before has been replaced, plus 1 s.
Outcome reload_under_load(std::size_t max_connecting) {
    CountingFactory factory(lb_options());
    CountingPool pool({.pool_size = 8,
                       .max_overflow = 0,
                       .timeout = 5s,
                       .pre_ping = true,
                       .order = respool::CheckoutOrder::fifo,
                       .max_connecting = max_connecting},
                      factory, mdb::Validator());
    Load load(pool, factory, 8);
    BOOST_REQUIRE(wait_until([&] { return pool.stats().created >= 8; }, 10s));
    std::this_thread::sleep_for(300ms);
    std::set<SessionId> old;
    for (const auto& id : factory.live_sessions()) old.insert(id);
    factory.reset_max_in_flight(); // only the attempts after the cut count, not the first fill

    lb_command("reload");
    // The old worker cuts its connections after worker_shutdown_timeout (1 s); wait until all have been replaced.
    const bool replaced = wait_until(
        [&] {
            const auto now = factory.live_sessions();
            return now.size() == 8 && std::none_of(now.begin(), now.end(), [&](const SessionId& s) { return old.count(s) > 0; });
        },
        15s);
    const auto replaced_at = Clock::now();
    std::this_thread::sleep_for(1s);
    const auto end = Clock::now();
    load.stop();

    Outcome out;
    out.replaced_all = replaced;
    out.max_in_flight = factory.max_in_flight();
    out.created = pool.stats().created;
    Clock::time_point first{}, last{};
    for (const Op& op : load.ops()) {
        if (!op.ok) {
            ++out.failed;
            if (first == Clock::time_point{}) first = op.end;
            first = std::min(first, op.end);
            last = std::max(last, op.end);
            BOOST_TEST_MESSAGE("cut: " << op.error);
        }
        if (op.start >= end - 1s) (op.ok ? out.ok_in_last_second : out.failed_in_last_second)++;
    }
    if (out.failed > 0) {
        out.failing_ms = ms_between(first, last);
        out.recovered_ms = ms_between(first, replaced_at);
    }
    return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(after_a_reload_cuts_every_connection_reconnects_stay_within_max_connecting) {
    const Outcome o = reload_under_load(2);
    BOOST_TEST_MESSAGE("max_connecting 2: " << o.failed << " operations cut, failures over within " << o.failing_ms
                                            << " ms, all 8 connections replaced within " << o.recovered_ms
                                            << " ms, most create() at once " << o.max_in_flight << ", created "
                                            << o.created << " in all; last second " << o.ok_in_last_second << " ok, "
                                            << o.failed_in_last_second << " failed");
    BOOST_TEST(o.replaced_all, "every connection cut by the old worker was replaced within 15 s");
    BOOST_TEST(o.max_in_flight <= 2);
    BOOST_TEST(o.max_in_flight >= 1);
    BOOST_TEST(o.created >= 16u);
    BOOST_TEST(o.ok_in_last_second > 0);
    BOOST_TEST(o.failed_in_last_second == 0);
    BOOST_TEST(o.failed <= 8); // at most one per connection: those in flight when the cut came
}

BOOST_AUTO_TEST_CASE(without_max_connecting_the_same_cut_reconnects_all_at_once) {
    // The contrast, measured rather than asserted tightly: how many attempts a mass disconnect starts at once.
    const Outcome o = reload_under_load(0);
    BOOST_TEST_MESSAGE("no max_connecting: " << o.failed << " operations cut, all 8 connections replaced within "
                                             << o.recovered_ms << " ms, most create() at once " << o.max_in_flight << ", created " << o.created);
    BOOST_TEST(o.replaced_all);
    BOOST_TEST(o.failed_in_last_second == 0);
}
