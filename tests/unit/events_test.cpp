// Pool events with a scripted factory and a manual clock: each event and each destroy reason, hooks that throw, leak
// reports, and the do-nothing default.
#define BOOST_TEST_MODULE events
#include <boost/test/unit_test.hpp>

#include <respool/respool.hpp>

#include <chrono>
#include <cstdio>
#include <deque>
#include <functional>
#include <memory>
#include <sstream>
#include <locale>
#include <iomanip>
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
    std::function<void(respool::DestroyReason)> during_destroy; // run inside on_destroy, outside the log's lock
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
    void on_destroy(const respool::DestroyEvent& e) {
        if (log->during_destroy) log->during_destroy(e.reason);
        add(log->destroys, e.reason);
    }
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

// An executor the test drives by hand: posted tasks run only when the test says so.
struct ManualExecutor {
    std::shared_ptr<std::mutex> mutex = std::make_shared<std::mutex>();
    std::shared_ptr<std::deque<respool::Task>> tasks = std::make_shared<std::deque<respool::Task>>();
    void operator()(respool::Task task) const {
        std::lock_guard lock(*mutex);
        tasks->push_back(std::move(task));
    }
    bool empty() const {
        std::lock_guard lock(*mutex);
        return tasks->empty();
    }
    void run() const {
        for (;;) {
            respool::Task task;
            {
                std::lock_guard lock(*mutex);
                if (tasks->empty()) return;
                task = std::move(tasks->front());
                tasks->pop_front();
            }
            task();
        }
    }
    void drop_all() const {
        std::deque<respool::Task> dropped;
        std::lock_guard lock(*mutex);
        dropped.swap(*tasks);
    }
    // Waits (yielding, bounded) for a task posted by another thread: the pool's deadline keeper.
    void wait_for_task() const {
        const auto give_up = std::chrono::steady_clock::now() + 10s;
        while (empty()) {
            BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < give_up, "no task arrived");
            std::this_thread::yield();
        }
    }
};

struct AsyncResult {
    std::shared_ptr<std::exception_ptr> error = std::make_shared<std::exception_ptr>();
    std::shared_ptr<bool> done = std::make_shared<bool>(false);
    auto handler() {
        return [error = error, done = done](std::exception_ptr e, EventPool::Lease) {
            *error = std::move(e);
            *done = true;
        };
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

BOOST_AUTO_TEST_CASE(leases_that_come_back_after_close_are_destroyed_as_closed_without_a_reset) {
    // Overflow ones included: the pool is closed, whatever else is true of them; and a reset would be a wasted round
    // trip (a ROLLBACK for a database connection) on a resource about to go.
    using R = respool::DestroyReason;
    auto pool = make({.pool_size = 1, .max_overflow = 2});
    std::vector<decltype(pool.acquire())> out;
    for (int i = 0; i < 3; ++i) out.push_back(pool.acquire());
    const int resets_before = factory.script->resets.load();
    pool.close();
    out.clear();
    BOOST_TEST(factory.script->resets.load() == resets_before);
    const std::vector<R> expected{R::closed, R::closed, R::closed};
    BOOST_TEST(log().destroys == expected, boost::test_tools::per_element());
    BOOST_TEST(factory.script->alive.load() == 0);
}

// A validator that can tell a resource that lost its connection (here: an odd id) from one refused for another reason.
struct DisconnectAwareValidator {
    std::shared_ptr<respool_test::Script> script;
    bool validate(Fake&) { return !respool_test::Script::take(script->fail_next_validates); }
    bool reset(Fake&) { return !respool_test::Script::take(script->fail_next_resets); }
    bool disconnected(const Fake& f) const { return f.id % 2 == 1; }
};

BOOST_AUTO_TEST_CASE(a_resource_the_validator_says_lost_its_connection_is_destroyed_as_a_disconnect) {
    using R = respool::DestroyReason;
    using Pool = respool::Pool<Fake, FakeFactory, DisconnectAwareValidator, Clock, Recorder>;
    Pool pool({.pool_size = 1, .max_overflow = 0, .pre_ping = true, .keepalive = 1min, .maintenance_thread = false},
              factory, DisconnectAwareValidator{factory.script}, clock, recorder);
    auto& script = *factory.script;
    script.fail_next_resets = 1;
    pool.acquire().reset(); // id 1, refused on return
    pool.acquire().reset(); // id 2, kept
    script.fail_next_resets = 1;
    pool.acquire().reset(); // id 2 again, checked, then refused on return
    pool.acquire().reset(); // id 3, kept
    script.fail_next_validates = 1;
    pool.acquire().reset(); // id 3 refused at checkout; id 4 made and kept
    clock.advance(2min);
    script.fail_next_validates = 1;
    pool.maintain(); // id 4 refused by the keepalive check
    BOOST_REQUIRE(log().destroys.size() == 4u);
    // Ids 1, 2, 3, 4 in turn: odd ones "lost their connection".
    const std::vector<R> expected{R::disconnect, R::reset_failed, R::disconnect, R::validation_failed};
    BOOST_TEST(log().destroys == expected, boost::test_tools::per_element());
    BOOST_TEST(std::string(respool::to_string(R::disconnect)) == "disconnect");
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

// What `fn` writes through the C `stderr` stream, captured in a temporary file. glibc lets a program assign stderr;
// file descriptor 2 is left alone, so a sanitizer's report (written there directly) is never swallowed.
template <class Fn>
std::string captured_stderr(Fn&& fn) {
    std::FILE* capture = std::tmpfile();
    BOOST_REQUIRE(capture);
    std::FILE* const real = stderr;
    stderr = capture;
    fn();
    stderr = real;
    std::rewind(capture);
    std::string text;
    for (int ch; (ch = std::fgetc(capture)) != EOF;) text += static_cast<char>(ch);
    std::fclose(capture);
    return text;
}

BOOST_AUTO_TEST_CASE(without_a_hook_leaks_go_to_standard_error_naming_the_place_or_saying_there_is_none) {
    using QuietPool = respool::Pool<Fake, FakeFactory, FakeValidator, Clock>; // no events policy
    QuietPool pool({.pool_size = 2, .max_overflow = 0, .leak_threshold = 10s, .maintenance_thread = false}, factory,
                   FakeValidator{factory.script}, clock);
    auto lease = pool.acquire(); const unsigned acquire_line = __LINE__;
    ManualExecutor executor;
    QuietPool::Lease async_lease;
    pool.async_acquire(executor, [&](std::exception_ptr, QuietPool::Lease l) { async_lease = std::move(l); });
    executor.run();
    BOOST_REQUIRE(async_lease);
    clock.advance(11s);
    const std::string report = captured_stderr([&] { pool.maintain(); });
    BOOST_TEST_MESSAGE(report);
    BOOST_TEST(report.find("events_test.cpp:" + std::to_string(acquire_line) + " in ") != std::string::npos, report);
    BOOST_TEST(report.find("acquired asynchronously (no location)") != std::string::npos, report);
    BOOST_TEST(report.find(":0 in") == std::string::npos, report);
    const std::string returned = captured_stderr([&] { async_lease.reset(); });
    BOOST_TEST(returned.find("came back after 11000 ms; acquired asynchronously") != std::string::npos, returned);
}

BOOST_AUTO_TEST_CASE(a_detached_lease_is_not_reported_as_leaked) {
    auto pool = make({.pool_size = 1, .max_overflow = 0, .leak_threshold = 10s});
    Fake mine = pool.acquire().detach(); // the lease ends here; the resource is the caller's
    clock.advance(20s);
    pool.maintain();
    BOOST_TEST(log().leaks.empty());
    BOOST_TEST(mine.id != 0);
}

BOOST_AUTO_TEST_CASE(an_async_timeout_is_reported_with_the_time_it_waited) {
    auto pool = make({.pool_size = 1, .max_overflow = 0});
    auto held = pool.acquire();
    ManualExecutor executor;
    AsyncResult result;
    pool.async_acquire_for(20ms, executor, result.handler());
    clock.advance(50ms);
    executor.wait_for_task(); // the pool's deadline keeper expires it
    executor.run();
    BOOST_TEST(*result.done);
    BOOST_REQUIRE(log().timeouts.size() == 1u);
    BOOST_TEST(log().timeouts[0].waited.count() == std::chrono::nanoseconds(50ms).count());
    BOOST_TEST(pool.stats().timeouts == 1u);
}

BOOST_AUTO_TEST_CASE(an_async_waiter_granted_room_reports_the_time_it_waited) {
    auto pool = make({.pool_size = 1, .max_overflow = 0});
    auto held = pool.acquire();
    ManualExecutor executor;
    AsyncResult result;
    pool.async_acquire_for(5s, executor, result.handler());
    clock.advance(50ms);
    held.invalidate(); // its room goes to the waiter, which creates in it
    executor.run();
    BOOST_TEST(*result.done);
    BOOST_TEST(!*result.error);
    BOOST_REQUIRE(log().checkouts.size() == 2u);
    BOOST_TEST(log().checkouts[1].waited.count() == std::chrono::nanoseconds(50ms).count());
}

// API.md: waiting time does not include the time spent in create(). A waiter that ends up creating reports only
// its wait; the creation has its own event.
BOOST_AUTO_TEST_CASE(a_waiter_that_creates_reports_its_wait_without_the_time_create_took) {
    auto pool = make({.pool_size = 1, .max_overflow = 0, .timeout = 10s});
    auto held = pool.acquire();
    factory.script->on_create = [&] { clock.advance(5ms); }; // every create() takes 5 ms of the pool's clock
    std::thread waiter([&] { (void)pool.acquire(); });
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    while (pool.stats().waiting != 1u) {
        BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < give_up, "the waiter never blocked");
        std::this_thread::yield();
    }
    clock.advance(7ms);
    held.invalidate(); // its room goes to the waiter, which creates in it
    waiter.join();
    BOOST_REQUIRE(log().checkouts.size() == 2u);
    BOOST_TEST(log().checkouts[1].waited.count() == std::chrono::nanoseconds(7ms).count());
    BOOST_REQUIRE(log().creates.size() == 2u);
    BOOST_TEST(log().creates[1].duration.count() == std::chrono::nanoseconds(5ms).count());

    // The same for an asynchronous waiter.
    held = pool.acquire();
    ManualExecutor executor;
    AsyncResult result;
    pool.async_acquire_for(5s, executor, result.handler());
    clock.advance(9ms);
    held.invalidate();
    executor.run();
    BOOST_TEST(*result.done);
    BOOST_TEST(!*result.error);
    BOOST_REQUIRE(log().checkouts.size() == 4u);
    BOOST_TEST(log().checkouts[3].waited.count() == std::chrono::nanoseconds(9ms).count());
}

BOOST_AUTO_TEST_CASE(an_async_grant_cancelled_or_dropped_before_it_runs_is_no_checkout_and_no_checkin) {
    for (const bool drop : {false, true}) {
        BOOST_TEST_CONTEXT((drop ? "dropped unrun" : "cancelled")) {
            auto pool = make({.pool_size = 1, .max_overflow = 0});
            const auto checkouts = log().checkouts.size();
            const auto checkins = log().checkins.size();
            const int resets = factory.script->resets.load();
            auto held = pool.acquire();
            ManualExecutor executor;
            AsyncResult result;
            std::stop_source stop;
            pool.async_acquire_until(std::chrono::steady_clock::time_point::max(), stop.get_token(), executor,
                                     result.handler());
            held.reset(); // granted to the waiter; its delivery is queued
            if (drop) {
                executor.drop_all();
            } else {
                stop.request_stop();
                executor.run();
                BOOST_TEST(*result.done);
            }
            BOOST_TEST(log().checkouts.size() - checkouts == 1u); // the held lease only
            BOOST_TEST(log().checkins.size() - checkins == 1u);
            BOOST_TEST(factory.script->resets.load() - resets == 1);
            BOOST_TEST(pool.stats().idle == 1u); // the resource is back, usable
        }
    }
}

BOOST_AUTO_TEST_CASE(the_min_idle_top_up_is_no_checkout_and_resets_nothing) {
    auto pool = make({.pool_size = 3, .max_overflow = 0, .min_idle = 2});
    pool.maintain();
    BOOST_TEST(pool.stats().idle == 2u);
    BOOST_TEST(log().creates.size() == 2u);
    BOOST_TEST(log().checkouts.empty());
    BOOST_TEST(log().checkins.empty());
    BOOST_TEST(factory.script->resets.load() == 0);
}

BOOST_AUTO_TEST_CASE(a_detached_lease_ends_with_a_checkin_so_metrics_stop_counting_it_as_used) {
    auto pool = make({.pool_size = 1, .max_overflow = 0});
    for (int i = 0; i < 3; ++i) {
        Fake mine = pool.acquire().detach();
        BOOST_TEST(mine.id != 0);
    }
    BOOST_TEST(log().checkouts.size() == 3u);
    BOOST_TEST(log().checkins.size() == 3u);

    respool::policies::PoolMetrics metrics; // copies share one set of metrics
    respool::Pool<Fake, FakeFactory, FakeValidator, Clock, respool::policies::PoolMetrics> measured(
        {.pool_size = 1, .max_overflow = 0, .maintenance_thread = false}, factory, FakeValidator{factory.script}, clock,
        metrics);
    for (int i = 0; i < 3; ++i) (void)measured.acquire().detach();
    BOOST_TEST(metrics.data().used.load() == 0);
    BOOST_TEST(metrics.data().peak_used.load() == 1);
}

BOOST_AUTO_TEST_CASE(metrics_count_a_disconnect_in_its_own_series_like_every_other_destroy_reason) {
    respool::policies::PoolMetrics metrics;
    respool::Pool<Fake, FakeFactory, DisconnectAwareValidator, Clock, respool::policies::PoolMetrics> pool(
        {.pool_size = 1, .max_overflow = 0, .pre_ping = true, .maintenance_thread = false}, factory,
        DisconnectAwareValidator{factory.script}, clock, metrics);
    factory.script->fail_next_resets = 1;
    pool.acquire().reset(); // id 1, odd: refused on return as a disconnect
    pool.acquire().invalidate(); // id 2
    BOOST_TEST(metrics.data().destroyed_by_reason.size() == respool::destroy_reason_count);
    BOOST_TEST(metrics.data().destroyed_by_reason[std::size_t(respool::DestroyReason::disconnect)].load() == 1u);
    BOOST_TEST(metrics.data().destroyed_by_reason[std::size_t(respool::DestroyReason::invalidated)].load() == 1u);
    std::ostringstream out;
    metrics.write_prometheus(out, pool.stats(), pool.options(), "p");
    const std::string text = out.str();
    BOOST_TEST(text.find("db_client_connection_destroyed_total{pool_name=\"p\",reason=\"disconnect\"} 1\n") !=
                   std::string::npos,
               text);
    for (std::size_t r = 0; r < respool::destroy_reason_count; ++r) {
        const std::string series =
            std::string("reason=\"") + respool::to_string(static_cast<respool::DestroyReason>(r)) + "\"}";
        BOOST_TEST(text.find(series) != std::string::npos, series);
    }
    BOOST_TEST(text.find("reason=\"unknown\"") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(prometheus_text_escapes_label_values_and_ignores_the_streams_formatting) {
    respool::policies::PoolMetrics metrics;
    respool::Pool<Fake, FakeFactory, FakeValidator, Clock, respool::policies::PoolMetrics> pool(
        {.pool_size = 1000, .max_overflow = 0, .maintenance_thread = false}, factory, FakeValidator{factory.script},
        clock, metrics);
    {
        auto lease = pool.acquire();
        clock.advance(1234567891ms); // a long use: its sum must not lose the last seconds to rounding
    }
    {
        auto lease = pool.acquire();
        clock.advance(3s);
    }
    struct Grouping : std::numpunct<char> {
        char do_thousands_sep() const override { return ','; }
        std::string do_grouping() const override { return "\3"; }
    };
    std::ostringstream out;
    out.imbue(std::locale(out.getloc(), new Grouping));
    out << std::fixed << std::setprecision(2);
    metrics.write_prometheus(out, pool.stats(), pool.options(), "orders \"eu\"\\db\nx");
    const std::string text = out.str();
    BOOST_TEST(text.find("pool_name=\"orders \\\"eu\\\"\\\\db\\nx\"") != std::string::npos, text);
    BOOST_TEST(text.find("db_client_connection_max{pool_name=\"orders \\\"eu\\\"\\\\db\\nx\"} 1000\n") !=
                   std::string::npos,
               "no digit grouping");
    BOOST_TEST(text.find("le=\"1e-05\"") != std::string::npos);
    BOOST_TEST(text.find("le=\"5e-05\"") != std::string::npos);
    BOOST_TEST(text.find("le=\"0.00\"") == std::string::npos);
    BOOST_TEST(text.find("db_client_connection_use_time_seconds_sum{pool_name=\"orders \\\"eu\\\"\\\\db\\nx\"} "
                         "1234570.891\n") != std::string::npos,
               "the sum keeps every digit");
}

BOOST_AUTO_TEST_CASE(an_event_hook_never_runs_while_the_maintenance_pass_holds_other_idle_resources) {
    auto pool = make({.pool_size = 2, .max_overflow = 0, .keepalive = 100ms, .idle_timeout = 200ms});
    {
        auto a = pool.acquire();
        auto b = pool.acquire();
        a.reset();         // idle from t = 0: past idle_timeout at t = 250 ms
        clock.advance(150ms);
        b.reset();         // idle from t = 150 ms: due for keepalive at t = 250 ms, and kept
    }
    clock.advance(100ms);
    int found_idle = 0;
    log().during_destroy = [&](respool::DestroyReason reason) {
        if (reason != respool::DestroyReason::idle_timeout) return;
        std::error_code ec;
        auto lease = pool.try_acquire(ec);
        found_idle = lease ? lease->id : -1;
    };
    const int created_before = factory.script->created.load();
    pool.maintain();
    log().during_destroy = nullptr;
    BOOST_TEST(found_idle != 0); // the hook ran
    BOOST_TEST(factory.script->created.load() == created_before); // it found the kept resource: nothing created
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
