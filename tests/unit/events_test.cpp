// Pool events with a scripted factory and a manual clock: each event and each destroy reason, hooks that throw, leak
// reports, and the do-nothing default.
#define BOOST_TEST_MODULE events
#include <boost/test/unit_test.hpp>

#include <respool/respool.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "fake_resource.hpp"

using namespace std::chrono_literals;
using respool_test::CreateFailed;
using respool_test::Fake;
using respool_test::FakeFactory;
using respool_test::FakeValidator;
using Clock = respool::policies::ManualClock;

namespace respool {
// How Boost.Test prints a reason in a failed check.
inline std::ostream& boost_test_print_type(std::ostream& os, DestroyReason reason) { return os << to_string(reason); }
} // namespace respool

namespace {

struct Log {
    std::mutex mutex;
    std::vector<respool::CreateEvent> creates;
    std::vector<respool::CheckoutEvent> checkouts;
    std::vector<respool::CheckinEvent> checkins;
    std::vector<respool::DestroyReason> destroys;
    std::vector<respool::TimeoutEvent> timeouts;
    std::vector<respool::LeakEvent> leaks;
};

// Records every event; copies share one log.
struct Recorder {
    std::shared_ptr<Log> log = std::make_shared<Log>();
    bool throw_always = false;

    template <class V>
    void add(std::vector<V>& to, const V& v) {
        {
            std::lock_guard lock(log->mutex);
            to.push_back(v);
        }
        if (throw_always) throw std::runtime_error("hook failure");
    }
    void on_create(const respool::CreateEvent& e) { add(log->creates, e); }
    void on_checkout(const respool::CheckoutEvent& e) { add(log->checkouts, e); }
    void on_checkin(const respool::CheckinEvent& e) { add(log->checkins, e); }
    void on_destroy(const respool::DestroyEvent& e) { add(log->destroys, e.reason); }
    void on_timeout(const respool::TimeoutEvent& e) { add(log->timeouts, e); }
    void on_leak(const respool::LeakEvent& e) { add(log->leaks, e); }
};

using EventPool = respool::Pool<Fake, FakeFactory, FakeValidator, Clock, Recorder>;

struct Fixture {
    FakeFactory factory;
    Clock clock;
    Recorder recorder;
    Log& log() { return *recorder.log; }
    EventPool make(respool::PoolOptions options) {
        options.maintenance_thread = false; // the test calls maintain() when its clock says so
        return EventPool(options, factory, FakeValidator{factory.script}, clock, recorder);
    }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(events, Fixture)

BOOST_AUTO_TEST_CASE(create_reports_its_duration_and_its_error) {
    auto pool = make({.pool_size = 1, .max_overflow = 0});
    pool.acquire().reset();
    BOOST_REQUIRE(log().creates.size() == 1u);
    BOOST_TEST(!log().creates[0].error);
    factory.script->fail_next_creates = 1;
    pool.acquire().invalidate();
    BOOST_CHECK_THROW(pool.acquire(), CreateFailed);
    BOOST_REQUIRE(log().creates.size() == 2u);
    BOOST_TEST(bool(log().creates[1].error));
}

BOOST_AUTO_TEST_CASE(checkout_reports_time_waited_and_checkin_time_held) {
    auto pool = make({.pool_size = 1, .max_overflow = 0});
    auto lease = pool.acquire();
    clock.advance(250ms);
    lease.reset();
    BOOST_REQUIRE(log().checkouts.size() == 1u);
    BOOST_TEST(log().checkouts[0].waited.count() == 0); // a resource was free at once
    BOOST_REQUIRE(log().checkins.size() == 1u);
    BOOST_TEST((log().checkins[0].held == 250ms));
}

BOOST_AUTO_TEST_CASE(timeout_is_reported) {
    auto pool = make({.pool_size = 1, .max_overflow = 0});
    auto held = pool.acquire();
    BOOST_CHECK_THROW(pool.acquire_for(1ms), respool::TimeoutError);
    BOOST_TEST(log().timeouts.size() == 1u);
}

BOOST_AUTO_TEST_CASE(each_destroy_reason_is_reported) {
    using R = respool::DestroyReason;
    auto pool = make({.pool_size = 1, .max_overflow = 1, .recycle = 1h, .pre_ping = true, .idle_timeout = 1min});
    pool.acquire().invalidate(); // invalidated
    factory.script->fail_next_resets = 1;
    pool.acquire().reset(); // reset_failed
    pool.acquire().reset();
    factory.script->fail_next_validates = 1;
    pool.acquire().reset(); // validation_failed (the idle one), then a new one
    clock.advance(2h);
    pool.acquire().reset(); // recycled, then a new one
    pool.invalidate_all();
    pool.acquire().reset(); // pool_invalidated, then a new one
    {
        auto a = pool.acquire();
        auto b = pool.acquire();
    } // overflow: two out, one comes back above pool_size
    clock.advance(2min);
    pool.maintain(); // idle_timeout
    pool.acquire().reset();
    pool.close(); // closed
    const std::vector<R> expected{R::invalidated,      R::reset_failed, R::validation_failed, R::recycled,
                                  R::pool_invalidated, R::overflow,     R::idle_timeout,      R::closed};
    BOOST_TEST(log().destroys == expected, boost::test_tools::per_element());
    for (R r : expected) BOOST_TEST(std::string(respool::to_string(r)) != "unknown");
}

BOOST_AUTO_TEST_CASE(a_throwing_hook_cannot_break_the_pool) {
    recorder.throw_always = true;
    auto pool = make({.pool_size = 1, .max_overflow = 0, .timeout = 0ms});
    auto lease = pool.acquire();
    BOOST_CHECK_THROW(pool.acquire(), respool::TimeoutError); // the timeout hook threw; the TimeoutError stands
    lease.invalidate();
    BOOST_TEST(bool(pool.acquire()));
    BOOST_TEST(log().destroys.size() == 1u);
    BOOST_TEST(factory.script->alive == 1);
}

BOOST_AUTO_TEST_CASE(a_leaked_lease_is_reported_once_with_where_it_was_acquired_and_again_when_it_returns) {
    auto pool = make({.pool_size = 1, .max_overflow = 0, .leak_threshold = 10s});
    auto lease = pool.acquire(); const unsigned acquire_line = __LINE__;
    clock.advance(5s);
    pool.maintain();
    BOOST_TEST(log().leaks.empty()); // below the threshold
    clock.advance(6s);
    pool.maintain();
    pool.maintain();
    BOOST_REQUIRE(log().leaks.size() == 1u); // once
    const respool::LeakEvent& first = log().leaks[0];
    BOOST_TEST(!first.returned);
    BOOST_TEST(std::string(first.file).find("events_test.cpp") != std::string::npos);
    BOOST_TEST(first.line == acquire_line);
    BOOST_TEST((first.held >= 10s));
    clock.advance(1s);
    lease.reset();
    BOOST_REQUIRE(log().leaks.size() == 2u);
    BOOST_TEST(log().leaks[1].returned);
    BOOST_TEST((log().leaks[1].held == 12s));
    pool.acquire().reset(); // a short lease later is not reported
    pool.maintain();
    BOOST_TEST(log().leaks.size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_detached_lease_is_not_reported_as_leaked) {
    auto pool = make({.pool_size = 1, .max_overflow = 0, .leak_threshold = 10s});
    Fake mine = pool.acquire().detach(); // the lease ends here; the resource is the caller's
    clock.advance(20s);
    pool.maintain();
    BOOST_TEST(log().leaks.empty());
    BOOST_TEST(mine.id != 0);
}

BOOST_AUTO_TEST_CASE(min_idle_top_up_waiting_for_a_connect_turn_is_no_timeout) {
    auto pool = make({.pool_size = 3, .max_overflow = 0, .min_idle = 2, .max_connecting = 1});
    factory.script->hold_creates = true;
    std::thread creator([&] { pool.acquire().reset(); }); // takes the only connect turn and sits in create()
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    while (factory.script->creating.load() == 0) {
        BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < give_up, "create() never started");
        std::this_thread::yield();
    }
    pool.maintain(); // the top-up finds the turn taken: it leaves the work to the next pass
    factory.script->hold_creates = false;
    creator.join();
    BOOST_TEST(pool.stats().timeouts == 0u);
    BOOST_TEST(log().timeouts.empty());
    pool.maintain(); // now it can
    BOOST_TEST(pool.stats().idle == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

// Hooks taking their event by value or by non-const reference are hooks too.
struct LooseHooks {
    std::shared_ptr<int> checkouts = std::make_shared<int>(0);
    std::shared_ptr<int> destroys = std::make_shared<int>(0);
    void on_checkout(respool::CheckoutEvent& e) { ++*checkouts, e.waited = {}; }
    void on_destroy(respool::DestroyEvent) { ++*destroys; }
};
static_assert(respool::HasCheckoutHook<LooseHooks> && respool::HasDestroyHook<LooseHooks>);

BOOST_AUTO_TEST_CASE(hooks_taking_the_event_by_value_or_non_const_reference_are_called) {
    LooseHooks hooks;
    FakeFactory factory;
    respool::Pool<Fake, FakeFactory, FakeValidator, respool::policies::SteadyClock, LooseHooks> pool(
        {.pool_size = 1, .max_overflow = 0}, factory, FakeValidator{factory.script}, {}, hooks);
    pool.acquire().invalidate();
    BOOST_TEST(*hooks.checkouts == 1);
    BOOST_TEST(*hooks.destroys == 1);
}

BOOST_AUTO_TEST_CASE(the_default_policy_has_no_hooks_and_costs_nothing_in_size) {
    static_assert(!respool::HasCheckoutHook<respool::NoEvents>);
    static_assert(!respool::HasDestroyHook<respool::NoEvents>);
    static_assert(std::is_empty_v<respool::NoEvents>);
    static_assert(respool::HasLeakHook<Recorder> && respool::HasCheckinHook<Recorder>);
}
