// Unit tests of respool::Pool with a scripted factory and a manual clock: each option, each error path.
#define BOOST_TEST_MODULE pool
#include <boost/test/unit_test.hpp>

#include <respool/respool.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <latch>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fake_resource.hpp"

using namespace std::chrono_literals;
using respool_test::CreateFailed;
using respool_test::Fake;
using respool_test::FakeFactory;
using respool_test::FakeValidator;
using Clock = respool::policies::ManualClock;
using TestPool = respool::Pool<Fake, FakeFactory, FakeValidator, Clock>;

namespace {

struct Fixture {
    FakeFactory factory;
    Clock clock;

    TestPool make(respool::PoolOptions options) {
        options.maintenance_thread = false; // the tests call maintain() when their clock says so
        return TestPool(options, factory, FakeValidator{factory.script}, clock);
    }
    respool_test::Script& script() { return *factory.script; }
};

// Waits (yielding, bounded) until `pool` reports `n` blocked waiters: the waiter thread is then asleep in acquire.
template <class P>
void wait_for_waiters(const P& pool, std::size_t n) {
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    while (pool.stats().waiting != n) {
        BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < give_up, "waiter never blocked");
        std::this_thread::yield();
    }
}

std::string invalid_argument_message(respool::PoolOptions options) {
    try {
        TestPool pool(options);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "";
}

// A factory that needs its settings, as a connection factory does: it cannot be value-initialised.
struct SettingsFactory {
    explicit SettingsFactory(int base) : next(base) {}
    int next;
    int create() { return next++; }
};
using SettingsPool = respool::Pool<int, SettingsFactory>;
// Such a pool is not default-constructible, and asking is no error (Clang instantiates a default argument there).
static_assert(!std::is_default_constructible_v<SettingsPool>);
static_assert(std::is_constructible_v<SettingsPool, respool::PoolOptions, SettingsFactory>);
static_assert(std::is_constructible_v<SettingsPool, respool::PoolOptions, SettingsFactory, respool::AlwaysValid>);
static_assert(std::is_default_constructible_v<respool::Pool<respool_test::Fake, respool_test::FakeFactory>>);

} // namespace

BOOST_AUTO_TEST_SUITE(options)

BOOST_AUTO_TEST_CASE(a_pool_whose_factory_needs_settings_can_be_held_in_an_optional) {
    std::optional<SettingsPool> pool; // std::optional asks whether the pool is default-constructible
    pool.emplace(respool::PoolOptions{.pool_size = 1, .max_overflow = 0}, SettingsFactory(40));
    BOOST_TEST(*pool->acquire() == 40);
    BOOST_TEST(pool->options().pool_size == 1u);
}


BOOST_AUTO_TEST_CASE(defaults_mirror_sqlalchemy_queue_pool) {
    const respool::PoolOptions o;
    BOOST_TEST(o.pool_size == 5u);
    BOOST_TEST(o.max_overflow == 10u);
    BOOST_TEST(o.timeout.count() == 30'000);
    BOOST_TEST(o.recycle.count() == 0);
    BOOST_TEST(!o.pre_ping);
    BOOST_TEST((o.order == respool::CheckoutOrder::lifo));
}

BOOST_AUTO_TEST_CASE(invalid_options_throw_invalid_argument_naming_the_field) {
    BOOST_TEST(invalid_argument_message({.pool_size = 0, .max_overflow = 0}).find("pool_size") != std::string::npos);
    BOOST_TEST(invalid_argument_message({.timeout = -1ms}).find("timeout") != std::string::npos);
    BOOST_TEST(invalid_argument_message({.recycle = -5ms}).find("recycle") != std::string::npos);
    BOOST_TEST(invalid_argument_message({.recycle = 10ms, .recycle_jitter = 20ms}).find("recycle_jitter") !=
               std::string::npos);
    BOOST_TEST(invalid_argument_message({.max_overflow = std::size_t(1) << 30}).find("max_overflow") !=
               std::string::npos);
    BOOST_TEST(invalid_argument_message({.pool_size = 0, .max_overflow = 1}).empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(checkout, Fixture)

BOOST_AUTO_TEST_CASE(creates_lazily_and_reuses_returned_resources) {
    auto pool = make({.pool_size = 2, .max_overflow = 0});
    BOOST_TEST(script().created == 0);
    int first_id = 0;
    {
        auto lease = pool.acquire();
        first_id = lease->id;
        BOOST_TEST(pool.stats().in_use == 1u);
    }
    auto again = pool.acquire();
    BOOST_TEST(again->id == first_id);
    BOOST_TEST(script().created == 1);
}

BOOST_AUTO_TEST_CASE(lifo_by_default_hands_out_the_most_recently_returned) {
    auto pool = make({.pool_size = 2, .max_overflow = 0});
    auto a = pool.acquire();
    auto b = pool.acquire();
    const int a_id = a->id, b_id = b->id;
    a.reset();
    b.reset();
    BOOST_TEST(pool.acquire()->id == b_id);
    (void)a_id;
}

BOOST_AUTO_TEST_CASE(lifo_holds_in_each_pool_a_thread_uses_in_turn) {
    // One thread returning to several pools in turn (up to four) still gets back from each the resource it returned
    // there last; a fifth pool in turn costs the first only its order, never a resource.
    std::vector<std::unique_ptr<TestPool>> pools;
    for (int i = 0; i < 5; ++i) pools.push_back(std::make_unique<TestPool>(make({.pool_size = 2, .max_overflow = 0})));
    for (const std::size_t used : {std::size_t{2}, std::size_t{4}}) {
        BOOST_TEST_CONTEXT(used << " pools in turn") {
            std::vector<int> last_returned(used);
            for (std::size_t i = 0; i < used; ++i) {
                auto a = pools[i]->acquire();
                auto b = pools[i]->acquire();
                a.reset();
                last_returned[i] = b->id;
                b.reset(); // the one to come back first
            }
            for (std::size_t i = 0; i < used; ++i) BOOST_TEST(pools[i]->acquire()->id == last_returned[i]);
        }
    }
    {
        auto a = pools[0]->acquire();
        auto b = pools[0]->acquire();
        a.reset();
        b.reset();
    }
    for (std::size_t i = 1; i < 5; ++i) pools[i]->acquire().reset(); // pool 0's memory is the oldest of five
    std::vector<TestPool::Lease> both;
    both.push_back(pools[0]->acquire());
    both.push_back(pools[0]->acquire());
    BOOST_TEST(pools[0]->stats().in_use == 2u);
    BOOST_TEST(script().created == 2 * 4 + 1); // pool 0 made no new one: its parked resource was still handed out
}

BOOST_AUTO_TEST_CASE(in_a_large_pool_a_checkout_finding_nothing_idle_takes_resources_other_threads_parked) {
    // 200 slots, so several groups of 64: slots 150 and 151 (group 2) are parked by two threads that have ended, and
    // one checkout after another takes both before any creates (the group is looked at again after the first).
    auto pool = make({.pool_size = 200, .max_overflow = 0});
    std::vector<TestPool::Lease> held;
    for (int i = 0; i < 150; ++i) held.push_back(pool.acquire());
    std::array<int, 2> parked_ids{};
    {
        std::latch both_hold(2);
        auto make_and_park = [&](int& id) { // one more each, returned (parked) once both hold theirs
            auto lease = pool.acquire();
            id = lease->id;
            both_hold.arrive_and_wait();
        };
        std::jthread t1(make_and_park, std::ref(parked_ids[0]));
        std::jthread t2(make_and_park, std::ref(parked_ids[1]));
    } // both threads ended: their caches are gone, their slots stay parked
    BOOST_REQUIRE(script().created == 152);
    BOOST_TEST(pool.stats().idle == 2u);
    held.push_back(pool.acquire());
    held.push_back(pool.acquire());
    BOOST_TEST(script().created == 152); // nothing created: both parked ones were found
    std::vector<int> got{held[150]->id, held[151]->id};
    std::sort(got.begin(), got.end());
    std::sort(parked_ids.begin(), parked_ids.end());
    BOOST_TEST(got == parked_ids, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(fifo_hands_out_the_least_recently_returned) {
    auto pool = make({.pool_size = 2, .max_overflow = 0, .order = respool::CheckoutOrder::fifo});
    auto a = pool.acquire();
    auto b = pool.acquire();
    const int a_id = a->id;
    a.reset();
    b.reset();
    BOOST_TEST(pool.acquire()->id == a_id);
}

BOOST_AUTO_TEST_CASE(try_acquire_returns_empty_when_all_are_leased_and_the_pool_is_full) {
    auto pool = make({.pool_size = 1, .max_overflow = 1});
    auto a = pool.try_acquire();
    auto b = pool.try_acquire();
    BOOST_TEST(bool(a));
    BOOST_TEST(bool(b));
    auto c = pool.try_acquire();
    BOOST_TEST(!c);
    std::error_code ec = respool::errc::timeout;
    auto d = pool.try_acquire(ec);
    BOOST_TEST(!d);
    BOOST_TEST(!ec);
}

BOOST_AUTO_TEST_CASE(try_acquire_idle_takes_only_an_idle_resource_and_never_creates) {
    auto pool = make({.pool_size = 2, .max_overflow = 0, .pre_ping = true});
    BOOST_TEST(!pool.try_acquire_idle()); // room, but nothing idle
    BOOST_TEST(script().created.load() == 0);
    {
        auto a = pool.acquire();
        auto b = pool.acquire();
    }
    auto idle = pool.try_acquire_idle();
    BOOST_REQUIRE(bool(idle));
    BOOST_TEST(script().validations.load() == 1); // checked out like any checkout
    script().fail_next_validates = 1;
    std::error_code ec = respool::errc::timeout;
    auto other = pool.try_acquire_idle(ec); // the other idle one fails its check: destroyed, and none is made
    BOOST_TEST(!other);
    BOOST_TEST(!ec);
    BOOST_TEST(script().destroyed.load() == 1);
    BOOST_TEST(script().created.load() == 2);
    idle.reset();
    BOOST_TEST(pool.try_acquire_idle()->id != 0);
    pool.close();
    BOOST_CHECK_THROW(pool.try_acquire_idle(), respool::PoolClosedError);
    pool.try_acquire_idle(ec);
    BOOST_TEST((ec == respool::errc::pool_closed));
}

BOOST_AUTO_TEST_CASE(acquire_times_out_when_exhausted) {
    auto pool = make({.pool_size = 1, .max_overflow = 0, .timeout = 0ms});
    auto held = pool.acquire();
    BOOST_CHECK_THROW(pool.acquire(), respool::TimeoutError);
    BOOST_CHECK_THROW(pool.acquire_for(0ms), respool::TimeoutError);
    BOOST_CHECK_THROW(pool.acquire_for(5ms), respool::TimeoutError);
    BOOST_CHECK_THROW(pool.acquire_until(std::chrono::steady_clock::now()), respool::TimeoutError);
    std::error_code ec;
    auto none = pool.acquire_for(0ms, ec);
    BOOST_TEST(!none);
    BOOST_TEST((ec == respool::errc::timeout));
    BOOST_TEST(pool.stats().timeouts == 5u);
    try {
        pool.acquire();
    } catch (const respool::Error& e) {
        BOOST_TEST((e.code() == respool::errc::timeout));
        BOOST_TEST(std::string(e.code().category().name()) == "respool");
    }
}

BOOST_AUTO_TEST_CASE(at_most_pool_size_plus_max_overflow_exist) {
    auto pool = make({.pool_size = 2, .max_overflow = 3, .timeout = 0ms});
    std::vector<TestPool::Lease> leases;
    for (int i = 0; i < 5; ++i) leases.push_back(pool.acquire());
    BOOST_CHECK_THROW(pool.acquire(), respool::TimeoutError);
    BOOST_TEST(pool.stats().size == 5u);
    BOOST_TEST(script().max_alive == 5);
}

BOOST_AUTO_TEST_CASE(overflow_resource_is_destroyed_on_return_when_more_than_pool_size_exist) {
    auto pool = make({.pool_size = 1, .max_overflow = 2});
    auto a = pool.acquire();
    auto b = pool.acquire();
    auto c = pool.acquire();
    BOOST_TEST(pool.stats().size == 3u);
    c.reset();
    BOOST_TEST(script().destroyed == 1);
    b.reset();
    BOOST_TEST(script().destroyed == 2);
    a.reset(); // the last one is within pool_size: kept
    BOOST_TEST(script().destroyed == 2);
    const auto st = pool.stats();
    BOOST_TEST(st.size == 1u);
    BOOST_TEST(st.idle == 1u);
}

BOOST_AUTO_TEST_CASE(stats_count_idle_in_use_and_totals) {
    auto pool = make({.pool_size = 3, .max_overflow = 0});
    auto a = pool.acquire();
    auto b = pool.acquire();
    b.reset();
    const auto st = pool.stats();
    BOOST_TEST(st.size == 2u);
    BOOST_TEST(st.idle == 1u);
    BOOST_TEST(st.in_use == 1u);
    BOOST_TEST(st.waiting == 0u);
    BOOST_TEST(st.created == 2u);
    BOOST_TEST(st.destroyed == 0u);
}

BOOST_AUTO_TEST_CASE(lease_is_move_only_and_gives_back_once) {
    auto pool = make({.pool_size = 1, .max_overflow = 0, .timeout = 0ms});
    auto a = pool.acquire();
    TestPool::Lease moved = std::move(a);
    BOOST_TEST(!a);
    BOOST_TEST(bool(moved));
    BOOST_TEST(moved.get() == &*moved);
    TestPool::Lease other;
    other = std::move(moved);
    BOOST_TEST(!moved);
    BOOST_CHECK_THROW(pool.acquire(), respool::TimeoutError);
    other = TestPool::Lease{};
    BOOST_TEST(pool.stats().idle == 1u);
    static_assert(!std::is_copy_constructible_v<TestPool::Lease>);
}

// A handle type that hides its address (as COM smart pointers overload operator&) still works through a lease.
struct AddressHidingHandle {
    int value = 42;
    void operator&() const = delete;
};
struct AddressHidingFactory {
    AddressHidingHandle create() { return {}; }
};

BOOST_AUTO_TEST_CASE(a_resource_that_overloads_its_address_of_operator_is_reached_through_the_lease) {
    respool::Pool<AddressHidingHandle, AddressHidingFactory> pool({.pool_size = 1, .max_overflow = 0});
    auto lease = pool.acquire();
    BOOST_TEST(lease->value == 42);
    BOOST_TEST((*lease).value == 42);
    BOOST_TEST(lease.get() == std::addressof(*lease));
}

// Resident memory of this process, in KiB.
long resident_kib() {
    std::ifstream statm("/proc/self/statm");
    long pages = 0, resident = 0;
    statm >> pages >> resident;
    return resident * (::sysconf(_SC_PAGESIZE) / 1024);
}

struct LargeResource {
    std::array<char, 1024 * 1024> bytes;
};
struct LargeResourceFactory {
    LargeResource create() { return {}; }
};

// Whether transparent huge pages are on for every mapping ("[always]"), not only where asked for.
bool huge_pages_always() {
    std::ifstream setting("/sys/kernel/mm/transparent_hugepage/enabled");
    std::string line;
    std::getline(setting, line);
    return line.find("[always]") != std::string::npos;
}

BOOST_AUTO_TEST_CASE(room_for_resources_not_yet_created_is_reserved_but_not_touched) {
    // 256 slots of 1 MiB: 256 MiB of address space, which stays untouched until resources are created in it (each
    // slot's bookkeeping touches one page, 1 to 16 MiB in all for pages of 4 to 64 KiB). With transparent huge pages
    // always on, touching any page would commit 2 MiB: turn them off for this process.
    if (::prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) != 0 && huge_pages_always()) {
        BOOST_TEST_MESSAGE("skipped: transparent huge pages are always on and cannot be turned off here");
        return;
    }
    const long before = resident_kib();
    respool::Pool<LargeResource, LargeResourceFactory> pool({.pool_size = 256, .max_overflow = 0});
    const long grown = resident_kib() - before;
    BOOST_TEST_MESSAGE("resident memory grew by " << grown << " KiB");
    BOOST_TEST(grown < 64 * 1024);
    auto lease = pool.acquire();
    BOOST_TEST(lease->bytes.size() == 1024u * 1024u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(validation_and_reset, Fixture)

BOOST_AUTO_TEST_CASE(pre_ping_validates_existing_resources_but_never_new_ones) {
    auto pool = make({.pool_size = 1, .max_overflow = 0, .pre_ping = true});
    pool.acquire().reset();
    BOOST_TEST(script().validations == 0);
    pool.acquire().reset();
    BOOST_TEST(script().validations == 1);
}

BOOST_AUTO_TEST_CASE(no_validation_without_pre_ping) {
    auto pool = make({.pool_size = 1, .max_overflow = 0});
    pool.acquire().reset();
    pool.acquire().reset();
    BOOST_TEST(script().validations == 0);
}

BOOST_AUTO_TEST_CASE(failed_validation_destroys_the_resource_and_tries_another) {
    auto pool = make({.pool_size = 2, .max_overflow = 0, .pre_ping = true});
    {
        auto a = pool.acquire();
        auto b = pool.acquire();
    }
    script().fail_next_validates = 1;
    auto lease = pool.acquire();
    BOOST_TEST(script().destroyed == 1);
    BOOST_TEST(script().validations == 2);
    BOOST_TEST(pool.stats().validation_failures == 1u);
}

BOOST_AUTO_TEST_CASE(throwing_validator_destroys_and_a_new_resource_is_created) {
    auto pool = make({.pool_size = 1, .max_overflow = 0, .pre_ping = true});
    const int old_id = pool.acquire()->id;
    script().throw_next_validates = 1;
    auto lease = pool.acquire();
    BOOST_TEST(lease->id != old_id);
    BOOST_TEST(script().created == 2);
    BOOST_TEST(script().destroyed == 1);
}

BOOST_AUTO_TEST_CASE(reset_runs_on_return_and_false_or_throw_destroys) {
    auto pool = make({.pool_size = 1, .max_overflow = 0});
    pool.acquire().reset();
    BOOST_TEST(script().resets == 1);
    BOOST_TEST(script().destroyed == 0);
    script().fail_next_resets = 1;
    pool.acquire().reset();
    BOOST_TEST(script().destroyed == 1);
    script().throw_next_resets = 1;
    pool.acquire().reset();
    BOOST_TEST(script().destroyed == 2);
    BOOST_TEST(pool.stats().size == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(recycling, Fixture)

BOOST_AUTO_TEST_CASE(recycle_destroys_resources_older_than_the_maximum_age) {
    auto pool = make({.pool_size = 1, .max_overflow = 0, .recycle = 100ms});
    const int first = pool.acquire()->id;
    clock.advance(99ms);
    BOOST_TEST(pool.acquire()->id == first);
    clock.advance(1ms);
    const int second = pool.acquire()->id;
    BOOST_TEST(second != first);
    BOOST_TEST(script().destroyed == 1);
    BOOST_TEST(pool.stats().recycled == 1u);
}

BOOST_AUTO_TEST_CASE(recycle_applies_when_a_lease_comes_back_too) {
    auto pool = make({.pool_size = 1, .max_overflow = 0, .recycle = 100ms});
    auto lease = pool.acquire();
    clock.advance(150ms);
    lease.reset();
    BOOST_TEST(script().destroyed == 1);
    BOOST_TEST(pool.stats().size == 0u);
}

BOOST_AUTO_TEST_CASE(recycle_jitter_only_shortens_the_age_and_spreads_expiry) {
    auto pool = make({.pool_size = 16, .max_overflow = 0, .recycle = 1000ms, .recycle_jitter = 500ms});
    {
        std::vector<TestPool::Lease> all;
        for (int i = 0; i < 16; ++i) all.push_back(pool.acquire());
    }
    clock.advance(499ms); // before the shortest possible age: nobody expired
    {
        std::vector<TestPool::Lease> all;
        for (int i = 0; i < 16; ++i) all.push_back(pool.acquire());
    }
    BOOST_TEST(script().destroyed == 0);
    clock.advance(250ms); // at 749 ms: some, but with 16 uniform draws almost surely not all, expired
    {
        std::vector<TestPool::Lease> all;
        for (int i = 0; i < 16; ++i) all.push_back(pool.acquire());
    }
    BOOST_TEST(script().destroyed > 0);
    BOOST_TEST(script().destroyed < 16);
    clock.advance(251ms); // past the full age: every original resource expired
    {
        std::vector<TestPool::Lease> all;
        for (int i = 0; i < 16; ++i) all.push_back(pool.acquire());
    }
    BOOST_TEST(script().destroyed >= 16);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(invalidation, Fixture)

BOOST_AUTO_TEST_CASE(lease_invalidate_destroys_instead_of_returning) {
    auto pool = make({.pool_size = 1, .max_overflow = 0, .timeout = 0ms});
    auto lease = pool.acquire();
    const int id = lease->id;
    lease.invalidate();
    BOOST_TEST(!lease);
    BOOST_TEST(script().destroyed == 1);
    BOOST_TEST(pool.acquire()->id != id);
}

BOOST_AUTO_TEST_CASE(lease_detach_takes_the_resource_out_and_frees_its_room) {
    auto pool = make({.pool_size = 1, .max_overflow = 0, .timeout = 0ms});
    auto lease = pool.acquire();
    Fake mine = lease.detach();
    BOOST_TEST(!lease);
    BOOST_TEST(pool.stats().size == 0u);
    auto next = pool.acquire(); // room was freed
    BOOST_TEST(next->id != mine.id);
    BOOST_TEST(script().destroyed == 0); // the pool does not destroy what it gave away
}

BOOST_AUTO_TEST_CASE(invalidate_all_replaces_idle_at_checkout_and_leased_on_return) {
    auto pool = make({.pool_size = 2, .max_overflow = 0});
    auto leased = pool.acquire();
    const int idle_id = pool.acquire()->id;
    pool.invalidate_all();
    BOOST_TEST(script().destroyed == 0); // lazily
    auto fresh = pool.acquire();
    BOOST_TEST(fresh->id != idle_id);
    BOOST_TEST(script().destroyed == 1);
    leased.reset();
    BOOST_TEST(script().destroyed == 2);
    fresh.reset();
    BOOST_TEST(script().destroyed == 2); // created after the invalidation: kept
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(factory_errors, Fixture)

BOOST_AUTO_TEST_CASE(factory_exception_reaches_the_caller_unchanged_and_gives_the_room_back) {
    auto pool = make({.pool_size = 1, .max_overflow = 0, .timeout = 0ms});
    script().fail_next_creates = 1;
    BOOST_CHECK_THROW(pool.acquire(), CreateFailed);
    BOOST_TEST(pool.stats().size == 0u);
    BOOST_TEST(pool.stats().create_failures == 1u);
    auto lease = pool.acquire(); // the room is usable again
    BOOST_TEST(bool(lease));
}

BOOST_AUTO_TEST_CASE(error_code_forms_report_create_failed) {
    auto pool = make({.pool_size = 1, .max_overflow = 0});
    script().fail_next_creates = 2;
    std::error_code ec;
    auto a = pool.acquire(ec);
    BOOST_TEST(!a);
    BOOST_TEST((ec == respool::errc::create_failed));
    auto b = pool.try_acquire(ec);
    BOOST_TEST(!b);
    BOOST_TEST((ec == respool::errc::create_failed));
    auto c = pool.acquire(ec);
    BOOST_TEST(bool(c));
    BOOST_TEST(!ec);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(closing, Fixture)

BOOST_AUTO_TEST_CASE(close_makes_every_acquire_fail_with_pool_closed) {
    auto pool = make({.pool_size = 1, .max_overflow = 0});
    pool.acquire().reset();
    pool.close();
    BOOST_CHECK_THROW(pool.acquire(), respool::PoolClosedError);
    BOOST_CHECK_THROW(pool.try_acquire(), respool::PoolClosedError);
    BOOST_CHECK_THROW(pool.acquire_for(1s), respool::PoolClosedError);
    std::error_code ec;
    BOOST_TEST(!pool.acquire(ec));
    BOOST_TEST((ec == respool::errc::pool_closed));
    BOOST_TEST(!pool.try_acquire(ec));
    BOOST_TEST((ec == respool::errc::pool_closed));
}

BOOST_AUTO_TEST_CASE(a_closed_pool_reports_closed_even_to_a_caller_already_cancelled) {
    auto pool = make({.pool_size = 1, .max_overflow = 0});
    pool.close();
    std::stop_source stopped;
    stopped.request_stop();
    BOOST_CHECK_THROW(pool.acquire(stopped.get_token()), respool::PoolClosedError);
    BOOST_CHECK_THROW(pool.acquire_for(1s, stopped.get_token()), respool::PoolClosedError);
    std::error_code ec;
    BOOST_TEST(!pool.acquire(stopped.get_token(), ec));
    BOOST_TEST((ec == respool::errc::pool_closed));
    BOOST_TEST(!pool.acquire_until(std::chrono::steady_clock::now() + 1s, stopped.get_token(), ec));
    BOOST_TEST((ec == respool::errc::pool_closed));
}

BOOST_AUTO_TEST_CASE(close_destroys_idle_now_and_leased_when_they_return) {
    auto pool = make({.pool_size = 2, .max_overflow = 0});
    auto leased = pool.acquire();
    pool.acquire().reset();
    pool.close();
    BOOST_TEST(script().destroyed == 1);
    BOOST_TEST(leased->id > 0); // still usable while held
    leased.reset();
    BOOST_TEST(script().destroyed == 2);
    BOOST_TEST(script().alive == 0);
}

BOOST_AUTO_TEST_CASE(destroying_the_pool_while_leases_are_out_is_safe) {
    std::optional<TestPool> pool(make({.pool_size = 2, .max_overflow = 0}));
    auto a = pool->acquire();
    auto b = pool->acquire();
    std::error_code ec;
    BOOST_TEST(!pool->acquire_for(0ms, ec)); // a failed acquire leaves nothing behind
    pool.reset();
    BOOST_TEST(script().destroyed == 0);
    BOOST_TEST(a->id != b->id);
    a.reset();
    BOOST_TEST(script().destroyed == 1);
    b.invalidate();
    BOOST_TEST(script().destroyed == 2);
    BOOST_TEST(script().alive == 0);
}

BOOST_AUTO_TEST_CASE(drain_waits_for_leases_to_come_back) {
    auto pool = make({.pool_size = 2, .max_overflow = 0});
    auto lease = pool.acquire();
    BOOST_TEST(!pool.drain_for(0ms)); // one is still out
    std::jthread returner([&] { lease.reset(); });
    BOOST_TEST(pool.drain_for(10s));
    BOOST_TEST(script().alive == 0);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(waiting, Fixture)

BOOST_AUTO_TEST_CASE(a_waiter_gets_the_resource_another_thread_returns) {
    auto pool = make({.pool_size = 1, .max_overflow = 0, .timeout = 10s});
    auto held = pool.acquire();
    const int id = held->id;
    int got = 0;
    std::jthread waiter([&] { got = pool.acquire()->id; });
    wait_for_waiters(pool, 1);
    held.reset();
    waiter.join();
    BOOST_TEST(got == id);
    BOOST_TEST(pool.stats().waits == 1u);
}

BOOST_AUTO_TEST_CASE(resources_returned_together_reach_every_sleeping_waiter) {
    // Every resource back at once, one return after another: each must reach a sleeping waiter, whatever the woken
    // ones have done by then, or some sleep beside idle resources. Each waiter keeps what it gets until all are
    // served, so no return of theirs wakes the next one instead; they wait without a deadline, so only the pool can
    // wake them.
    constexpr std::size_t n = 4;
    auto pool = make({.pool_size = n, .max_overflow = 0, .timeout = std::chrono::milliseconds::max()});
    for (int round = 0; round < 20; ++round) {
        std::vector<TestPool::Lease> held;
        for (std::size_t i = 0; i < n; ++i) held.push_back(pool.acquire());
        std::atomic<std::size_t> served{0};
        std::stop_source give_up;
        std::vector<std::jthread> waiters;
        for (std::size_t i = 0; i < n; ++i)
            waiters.emplace_back([&] {
                std::error_code ec;
                auto lease = pool.acquire(give_up.get_token(), ec);
                if (!lease) return;
                // relaxed, here and below: a count polled until it reaches n; nothing is published through it.
                served.fetch_add(1, std::memory_order_relaxed);
                while (served.load(std::memory_order_relaxed) < n && !give_up.stop_requested())
                    std::this_thread::yield();
            });
        wait_for_waiters(pool, n);
        held.clear(); // every resource back, one after another, while the first woken waiter may not have run yet
        const auto limit = std::chrono::steady_clock::now() + 10s;
        while (served.load(std::memory_order_relaxed) < n && std::chrono::steady_clock::now() < limit)
            std::this_thread::yield();
        const std::size_t got = served.load(std::memory_order_relaxed);
        give_up.request_stop();
        waiters.clear();
        BOOST_TEST_REQUIRE(got == n, "round " << round << ": " << got << " of " << n << " waiters served");
    }
}

BOOST_AUTO_TEST_CASE(freed_room_wakes_a_waiter_which_creates) {
    auto pool = make({.pool_size = 1, .max_overflow = 0, .timeout = 10s});
    auto held = pool.acquire();
    int got = 0;
    std::jthread waiter([&] { got = pool.acquire()->id; });
    wait_for_waiters(pool, 1);
    held.invalidate();
    waiter.join();
    BOOST_TEST(got == 2);
}

BOOST_AUTO_TEST_CASE(create_failure_of_a_waiter_reaches_it_and_frees_the_room) {
    auto pool = make({.pool_size = 1, .max_overflow = 0, .timeout = 10s});
    auto held = pool.acquire();
    bool threw = false;
    std::jthread waiter([&] {
        try {
            pool.acquire();
        } catch (const CreateFailed&) {
            threw = true;
        }
    });
    wait_for_waiters(pool, 1);
    script().fail_next_creates = 1;
    held.invalidate();
    waiter.join();
    BOOST_TEST(threw);
    BOOST_TEST(bool(pool.acquire_for(0ms)));
}

BOOST_AUTO_TEST_CASE(stop_token_cancels_a_waiting_acquire) {
    auto pool = make({.pool_size = 1, .max_overflow = 0, .timeout = 10s});
    auto held = pool.acquire();
    std::stop_source stop;
    std::error_code ec;
    std::jthread waiter([&] { pool.acquire(stop.get_token(), ec); });
    wait_for_waiters(pool, 1);
    stop.request_stop();
    waiter.join();
    BOOST_TEST((ec == respool::errc::cancelled));
    BOOST_TEST(pool.stats().waiting == 0u);
    BOOST_CHECK_THROW(pool.acquire(stop.get_token()), respool::CancelledError);
}

BOOST_AUTO_TEST_CASE(close_wakes_waiters_with_pool_closed) {
    auto pool = make({.pool_size = 1, .max_overflow = 0, .timeout = 10s});
    auto held = pool.acquire();
    bool closed = false;
    std::jthread waiter([&] {
        try {
            pool.acquire();
        } catch (const respool::PoolClosedError&) {
            closed = true;
        }
    });
    wait_for_waiters(pool, 1);
    pool.close();
    waiter.join();
    BOOST_TEST(closed);
}

BOOST_AUTO_TEST_CASE(a_waiter_past_handoff_after_gets_the_next_return_before_newcomers) {
    auto pool = make({.pool_size = 1, .max_overflow = 0, .timeout = 10s, .handoff_after = 1ms});
    auto held = pool.acquire();
    const int id = held->id;
    int got = 0;
    std::latch checked(1);
    std::jthread waiter([&] {
        auto lease = pool.acquire();
        got = lease->id;
        checked.wait(); // hold it until the newcomer has tried
    });
    wait_for_waiters(pool, 1);
    clock.advance(2ms); // the waiter now starves
    held.reset();
    auto newcomer = pool.try_acquire(); // must not overtake it
    BOOST_TEST(!newcomer);
    checked.count_down();
    waiter.join();
    BOOST_TEST(got == id);
}

BOOST_AUTO_TEST_CASE(waiters_are_served_in_arrival_order_when_starving) {
    auto pool = make({.pool_size = 1, .max_overflow = 0, .timeout = 10s, .handoff_after = 0us});
    auto held = pool.acquire();
    std::vector<int> order;
    std::mutex order_mutex;
    auto worker = [&](int n) {
        auto lease = pool.acquire();
        std::lock_guard lock(order_mutex);
        order.push_back(n);
    };
    std::jthread first(worker, 1);
    wait_for_waiters(pool, 1);
    std::jthread second(worker, 2);
    wait_for_waiters(pool, 2);
    held.reset();
    first.join();
    second.join();
    BOOST_TEST(order == (std::vector<int>{1, 2}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(policies)

// A factory that paces background work of its own from the pool's maintenance passes.
struct PacedFactory {
    std::shared_ptr<int> passes = std::make_shared<int>(0);
    bool throw_from_hook = false;
    int create() { return 1; }
    void on_maintenance_pass() {
        ++*passes;
        if (throw_from_hook) throw std::runtime_error("from the hook");
    }
};

BOOST_AUTO_TEST_CASE(a_factorys_maintenance_pass_hook_runs_after_each_pass_and_its_exceptions_are_dropped) {
    static_assert(respool::HasMaintenancePassHook<PacedFactory>);
    static_assert(!respool::HasMaintenancePassHook<FakeFactory>);
    PacedFactory factory;
    factory.throw_from_hook = true;
    respool::Pool<int, PacedFactory> pool({.pool_size = 1, .max_overflow = 0, .min_idle = 1,
                                           .maintenance_thread = false},
                                          factory);
    pool.maintain();
    pool.maintain();
    BOOST_TEST(*factory.passes == 2);
    BOOST_TEST(pool.stats().idle == 1u); // the pass itself did its work
}

struct PlainFactory {
    int create() { return 7; }
};

BOOST_AUTO_TEST_CASE(default_validator_and_clock_need_only_a_factory) {
    respool::Pool<int, PlainFactory> pool;
    BOOST_TEST(*pool.acquire() == 7);
    BOOST_TEST(respool::AlwaysValid{}.validate(*pool.acquire()));
}

struct MoveOnly {
    std::unique_ptr<int> value;
};
struct MoveOnlyFactory {
    MoveOnly create() { return MoveOnly{std::make_unique<int>(42)}; }
};

BOOST_AUTO_TEST_CASE(move_only_resources_are_supported) {
    respool::Pool<MoveOnly, MoveOnlyFactory> pool({.pool_size = 1, .max_overflow = 0});
    BOOST_TEST(*pool.acquire()->value == 42);
    MoveOnly out = pool.acquire().detach();
    BOOST_TEST(*out.value == 42);
}

struct alignas(128) CacheLinePair { // over-aligned, as a resource padded against false sharing is
    int value = 0;
};
struct CacheLinePairFactory {
    CacheLinePair create() { return CacheLinePair{5}; }
};

BOOST_AUTO_TEST_CASE(over_aligned_resources_keep_their_alignment) {
    respool::Pool<CacheLinePair, CacheLinePairFactory> pool({.pool_size = 2, .max_overflow = 0});
    auto a = pool.acquire();
    auto b = pool.acquire();
    BOOST_TEST(reinterpret_cast<std::uintptr_t>(a.get()) % 128 == 0u);
    BOOST_TEST(reinterpret_cast<std::uintptr_t>(b.get()) % 128 == 0u);
    BOOST_TEST(a->value + b->value == 10);
}

// A handle whose move may throw, from a factory that releases it in destroy(): every handle create() returns reaches
// destroy(), even when moving it into the pool fails.
struct FragileHandle {
    std::shared_ptr<std::atomic<int>> fail_moves;
    int id = 0;
    FragileHandle(std::shared_ptr<std::atomic<int>> f, int i) : fail_moves(std::move(f)), id(i) {}
    FragileHandle(FragileHandle&& other) : fail_moves(other.fail_moves), id(other.id) {
        if (fail_moves->load() > 0) {
            fail_moves->fetch_sub(1);
            throw std::runtime_error("move failed");
        }
        other.id = 0;
    }
    FragileHandle& operator=(FragileHandle&&) = delete;
};
struct FragileFactory {
    std::shared_ptr<std::atomic<int>> fail_moves = std::make_shared<std::atomic<int>>(0);
    std::shared_ptr<std::atomic<int>> opened = std::make_shared<std::atomic<int>>(0);
    std::shared_ptr<std::atomic<int>> released = std::make_shared<std::atomic<int>>(0);
    FragileHandle create() { return FragileHandle(fail_moves, ++*opened); }
    void destroy(FragileHandle& h) noexcept {
        if (h.id != 0) ++*released;
    }
};

BOOST_AUTO_TEST_CASE(a_resource_whose_move_into_the_pool_throws_still_reaches_the_factorys_destroy) {
    FragileFactory factory;
    respool::Pool<FragileHandle, FragileFactory> pool({.pool_size = 1, .max_overflow = 0}, factory);
    *factory.fail_moves = 1;
    BOOST_CHECK_EXCEPTION(pool.acquire(), std::runtime_error,
                          [](const std::runtime_error& e) { return std::string(e.what()) == "move failed"; });
    BOOST_TEST(*factory.opened == 1);
    BOOST_TEST(*factory.released == 1);
    BOOST_TEST(pool.stats().size == 0u);
    BOOST_TEST(pool.stats().create_failures == 1u);
    BOOST_TEST(pool.acquire()->id == 2); // its room is free again
    pool.close();
    BOOST_TEST(*factory.released == 2);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(maintenance, Fixture)

BOOST_AUTO_TEST_CASE(keepalive_validates_idle_resources_due_and_never_leased_ones) {
    auto pool = make({.pool_size = 2, .max_overflow = 0, .keepalive = 100ms});
    auto leased = pool.acquire();
    pool.acquire().reset(); // one idle
    clock.advance(50ms);
    pool.maintain();
    BOOST_TEST(script().validations == 0); // not due yet
    clock.advance(60ms);                   // 110 ms idle: due (jitter only makes it earlier)
    pool.maintain();
    BOOST_TEST(script().validations == 1); // the idle one only
    pool.maintain();
    BOOST_TEST(script().validations == 1); // just validated: not due again
    leased.reset();
}

BOOST_AUTO_TEST_CASE(keepalive_destroys_an_idle_resource_that_fails_validation) {
    auto pool = make({.pool_size = 1, .max_overflow = 0, .keepalive = 100ms});
    pool.acquire().reset();
    clock.advance(200ms);
    script().fail_next_validates = 1;
    pool.maintain();
    BOOST_TEST(script().destroyed == 1);
    BOOST_TEST(pool.stats().size == 0u);
}

BOOST_AUTO_TEST_CASE(idle_timeout_destroys_down_to_min_idle) {
    auto pool = make({.pool_size = 4, .max_overflow = 0, .idle_timeout = 1s, .min_idle = 1});
    {
        std::vector<TestPool::Lease> all;
        for (int i = 0; i < 4; ++i) all.push_back(pool.acquire());
    }
    BOOST_TEST(pool.stats().idle == 4u);
    clock.advance(2s);
    pool.maintain();
    BOOST_TEST(pool.stats().size == 1u);
    BOOST_TEST(script().destroyed == 3);
}

BOOST_AUTO_TEST_CASE(idle_timeout_keeps_the_most_recently_used_of_min_idle_and_ends_the_rest_in_one_pass) {
    for (const auto order : {respool::CheckoutOrder::lifo, respool::CheckoutOrder::fifo}) {
        BOOST_TEST_CONTEXT((order == respool::CheckoutOrder::lifo ? "lifo" : "fifo")) {
            FakeFactory own;
            TestPool pool({.pool_size = 5, .max_overflow = 0, .order = order, .idle_timeout = 1s, .min_idle = 2,
                           .maintenance_thread = false},
                          own, FakeValidator{own.script}, clock);
            std::vector<TestPool::Lease> all;
            for (int i = 0; i < 5; ++i) all.push_back(pool.acquire());
            std::vector<int> returned;
            for (auto& lease : all) { // returned 100 ms apart: the last two are the most recently used
                returned.push_back(lease->id);
                lease.reset();
                clock.advance(100ms);
            }
            clock.advance(2s);
            pool.maintain();
            BOOST_TEST(pool.stats().idle == 2u);
            BOOST_TEST(own.script->destroyed.load() == 3);
            auto first = pool.acquire();
            auto second = pool.acquire();
            std::vector<int> kept{first->id, second->id};
            std::sort(kept.begin(), kept.end());
            BOOST_TEST(kept == (std::vector<int>{returned[3], returned[4]}), boost::test_tools::per_element());
        }
    }
}

BOOST_AUTO_TEST_CASE(a_keepalive_check_is_no_use_so_idle_timeout_still_ends_an_unused_resource) {
    auto pool = make({.pool_size = 2, .max_overflow = 0, .keepalive = 30s, .idle_timeout = 10min});
    {
        auto a = pool.acquire();
        auto b = pool.acquire();
    } // two idle; nobody uses them again
    for (int i = 0; i < 20; ++i) { // 20 x 31 s: past 10 minutes, a keepalive check every round
        clock.advance(31s);
        pool.maintain();
    }
    BOOST_TEST(script().validations >= 19);
    BOOST_TEST(pool.stats().size == 0u);
    BOOST_TEST(script().destroyed == 2);
}

BOOST_AUTO_TEST_CASE(min_idle_creates_ahead_of_demand) {
    auto pool = make({.pool_size = 3, .max_overflow = 0, .min_idle = 2});
    pool.maintain();
    BOOST_TEST(pool.stats().idle == 2u);
    BOOST_TEST(script().created == 2);
}

BOOST_AUTO_TEST_CASE(max_connecting_bounds_concurrent_creates) {
    auto pool = make({.pool_size = 6, .max_overflow = 0, .timeout = 10s, .max_connecting = 2});
    script().hold_creates = true;
    std::vector<std::jthread> threads;
    for (int i = 0; i < 6; ++i) threads.emplace_back([&] { pool.acquire(); });
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    while (script().creating < 2 && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
    for (int i = 0; i < 1000; ++i) std::this_thread::yield(); // give a third create every chance to start
    BOOST_TEST(script().creating == 2);
    script().hold_creates = false;
    threads.clear();
    BOOST_TEST(script().max_creating == 2);
}

// Starts `acquire` on a thread once another caller sits in create() holding the only connect turn, and returns when
// the pool counts it as waiting.
struct TurnTaken {
    TestPool& pool;
    respool_test::Script& script;
    std::jthread creator;
    explicit TurnTaken(TestPool& p, respool_test::Script& s) : pool(p), script(s) {
        script.hold_creates = true;
        creator = std::jthread([this] { pool.acquire(); });
        wait_until([&] { return script.creating.load() == 1; }, "create() never started");
    }
    ~TurnTaken() { script.hold_creates = false; }
    template <class Pred>
    static void wait_until(Pred pred, const char* what) {
        const auto give_up = std::chrono::steady_clock::now() + 10s;
        while (!pred()) {
            BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < give_up, what);
            std::this_thread::yield();
        }
    }
};

BOOST_AUTO_TEST_CASE(a_caller_without_a_connect_turn_takes_a_resource_returned_meanwhile) {
    auto pool = make({.pool_size = 3, .max_overflow = 0, .timeout = 10s, .max_connecting = 1});
    auto first = pool.acquire();
    const int first_id = first->id;
    TurnTaken turn(pool, script());
    int got = 0;
    std::jthread waiter([&] { got = pool.acquire()->id; }); // room is free, the turn is not
    TurnTaken::wait_until([&] { return pool.stats().waiting == 1u; }, "the caller is not counted as waiting");
    BOOST_TEST(pool.try_acquire().get() == nullptr); // no turn, nothing idle: empty at once, no wait
    first.reset();
    waiter.join(); // returns only if the returned resource reached it
    BOOST_TEST(got == first_id);
}

BOOST_AUTO_TEST_CASE(close_ends_the_wait_of_a_caller_without_a_connect_turn) {
    auto pool = make({.pool_size = 3, .max_overflow = 0, .timeout = 10s, .max_connecting = 1});
    TurnTaken turn(pool, script());
    bool closed = false;
    std::jthread waiter([&] {
        try {
            pool.acquire();
        } catch (const respool::PoolClosedError&) {
            closed = true;
        }
    });
    TurnTaken::wait_until([&] { return pool.stats().waiting == 1u; }, "the caller is not counted as waiting");
    pool.close();
    waiter.join(); // returns only if close() reached it while the other create() still runs
    BOOST_TEST(closed);
    BOOST_TEST(script().creating.load() == 1);
}

// The state letter of a thread of this process in /proc ('R' running or runnable, 'S' asleep, ...).
char thread_state(pid_t tid) {
    std::ifstream stat("/proc/self/task/" + std::to_string(tid) + "/stat");
    std::string line;
    std::getline(stat, line);
    const auto close = line.rfind(')'); // the command name may contain spaces
    return close == std::string::npos || close + 2 >= line.size() ? '?' : line[close + 2];
}

BOOST_AUTO_TEST_CASE(a_fair_queue_serves_queued_callers_in_order_and_no_newcomer_goes_first) {
    for (const auto order : {respool::CheckoutOrder::lifo, respool::CheckoutOrder::fifo}) {
        auto pool = make({.pool_size = 1, .max_overflow = 0, .timeout = 10s, .order = order, .fair_queue = true});
        auto held = pool.acquire();
        std::mutex served_mutex;
        std::vector<char> served;
        std::latch newcomer_looked(1);
        auto waiter = [&](char name) {
            auto lease = pool.acquire();
            {
                std::lock_guard lock(served_mutex);
                served.push_back(name);
            }
            newcomer_looked.wait(); // holds it until then, so the newcomer cannot see it come back from both
        };
        std::jthread first([&] { waiter('W'); });
        wait_for_waiters(pool, 1);
        std::jthread second([&] { waiter('C'); });
        wait_for_waiters(pool, 2);
        held.reset();                    // goes to the first waiter
        BOOST_TEST(!pool.try_acquire()); // so a newcomer finds nothing
        newcomer_looked.count_down();
        first.join();
        second.join();
        BOOST_TEST(served == (std::vector<char>{'W', 'C'}), boost::test_tools::per_element());
    }
}

BOOST_AUTO_TEST_CASE(a_fair_queue_waiter_without_a_connect_turn_goes_to_sleep_rather_than_spinning) {
    auto pool = make({.pool_size = 3, .max_overflow = 0, .timeout = 10s, .max_connecting = 1, .fair_queue = true});
    TurnTaken turn(pool, script());
    std::atomic<pid_t> waiter_tid{0};
    std::jthread waiter([&] {
        waiter_tid = static_cast<pid_t>(::syscall(SYS_gettid));
        pool.acquire(); // room is free, the turn is not
    });
    TurnTaken::wait_until([&] { return pool.stats().waiting == 1u; }, "the caller is not counted as waiting");
    // Its few spins spent, it sleeps until a turn or a resource comes; a waiter that kept looking would stay runnable.
    TurnTaken::wait_until([&] { return thread_state(waiter_tid.load()) == 'S'; }, "the waiter never went to sleep");
    script().hold_creates = false; // the turn comes back: the sleeping waiter is woken and creates
    waiter.join();
}

BOOST_AUTO_TEST_CASE(a_finished_create_passes_its_turn_to_a_waiting_caller) {
    auto pool = make({.pool_size = 3, .max_overflow = 0, .timeout = 10s, .max_connecting = 1});
    std::optional<TurnTaken> turn(std::in_place, pool, script());
    bool got = false;
    std::jthread waiter([&] { got = static_cast<bool>(pool.acquire()); });
    TurnTaken::wait_until([&] { return pool.stats().waiting == 1u; }, "the caller is not counted as waiting");
    turn.reset(); // the first create() finishes; its turn goes to the waiter, which creates
    waiter.join();
    BOOST_TEST(got);
    BOOST_TEST(script().max_creating.load() == 1);
}

BOOST_AUTO_TEST_CASE(with_keepalive_off_the_maintenance_pass_validates_nothing) {
    auto pool = make({.pool_size = 2, .max_overflow = 0, .idle_timeout = 100ms, .min_idle = 1});
    {
        auto a = pool.acquire();
        auto b = pool.acquire();
    }
    clock.advance(200ms);
    script().fail_next_validates = 10; // a validation would destroy what min_idle keeps
    pool.maintain();
    BOOST_TEST(script().validations.load() == 0);
    BOOST_TEST(pool.stats().idle == 1u); // one past idle_timeout destroyed, one kept for min_idle
    BOOST_TEST(script().created.load() == 2);
    script().fail_next_validates = 0;
}

BOOST_AUTO_TEST_CASE(idle_timeout_keeps_min_idle_idle_resources_while_others_are_leased) {
    auto pool = make({.pool_size = 3, .max_overflow = 0, .idle_timeout = 100ms, .min_idle = 1});
    auto a = pool.acquire();
    auto b = pool.acquire();
    pool.acquire().reset(); // the only idle one
    clock.advance(200ms);
    pool.maintain();
    // Kept, not destroyed and then created again in the same pass to fill min_idle.
    BOOST_TEST(script().destroyed.load() == 0);
    BOOST_TEST(script().created.load() == 3);
    BOOST_TEST(pool.stats().idle == 1u);
}

BOOST_AUTO_TEST_CASE(a_resource_too_old_to_keep_is_not_reset_before_it_goes) {
    auto pool = make({.pool_size = 1, .max_overflow = 0, .recycle = 1s});
    auto lease = pool.acquire();
    clock.advance(2s);
    lease.reset();
    BOOST_TEST(script().resets.load() == 0);
    BOOST_TEST(script().destroyed.load() == 1);
}

struct KeepaliveValidator {
    std::shared_ptr<int> validations = std::make_shared<int>(0);
    std::shared_ptr<int> keepalives = std::make_shared<int>(0);
    bool validate(Fake&) { return ++*validations, true; }
    bool keepalive(Fake&) { return ++*keepalives, true; }
};

BOOST_AUTO_TEST_CASE(keepalive_uses_the_validators_keepalive_hook_when_it_has_one) {
    KeepaliveValidator validator;
    respool::Pool<Fake, FakeFactory, KeepaliveValidator, Clock> pool(
        {.pool_size = 1, .max_overflow = 0, .keepalive = 100ms, .maintenance_thread = false}, factory, validator, clock);
    pool.acquire().reset();
    clock.advance(200ms);
    pool.maintain();
    BOOST_TEST(*validator.keepalives == 1);
    BOOST_TEST(*validator.validations == 0);
}

// The first keepalive check hangs (a backend that stopped answering) until the test lets it go.
struct HangingKeepalive {
    struct State {
        std::atomic<bool> hold{true};
        std::atomic<bool> one_hangs{false};
        std::atomic<int> others_checked{0};
    };
    std::shared_ptr<State> state = std::make_shared<State>();
    bool validate(Fake&) { return true; }
    bool keepalive(Fake&) {
        if (state->one_hangs.exchange(true)) return ++state->others_checked, true;
        while (state->hold.load()) std::this_thread::yield();
        return false; // it never answered
    }
};

BOOST_AUTO_TEST_CASE(a_keepalive_check_that_hangs_delays_no_other_resources_check) {
    HangingKeepalive validator;
    respool::Pool<Fake, FakeFactory, HangingKeepalive, Clock> pool(
        {.pool_size = 3, .max_overflow = 0, .keepalive = 100ms, .maintenance_thread = false}, factory, validator, clock);
    {
        auto a = pool.acquire();
        auto b = pool.acquire();
        auto c = pool.acquire();
    }
    clock.advance(200ms); // all three due
    struct Release {
        HangingKeepalive::State& state;
        ~Release() { state.hold = false; }
    };
    std::thread pass;
    {
        Release release{*validator.state};
        pass = std::thread([&] { pool.maintain(); });
        const auto give_up = std::chrono::steady_clock::now() + 10s;
        while (validator.state->others_checked.load() < 2 && std::chrono::steady_clock::now() < give_up)
            std::this_thread::yield();
        BOOST_TEST(validator.state->others_checked.load() == 2); // checked while the first check hangs
        // And back at once, for callers: both can be taken while the first check still hangs.
        std::vector<decltype(pool)::Lease> taken;
        while (taken.size() < 2 && std::chrono::steady_clock::now() < give_up)
            if (auto lease = pool.try_acquire()) taken.push_back(std::move(lease));
        BOOST_TEST(taken.size() == 2u);
        BOOST_TEST(script().created.load() == 3); // the ones checked, not new ones
    }
    pass.join();
    BOOST_TEST(pool.stats().size == 2u); // the one that never answered is gone
    BOOST_TEST(pool.stats().validation_failures == 1u);
}

BOOST_AUTO_TEST_CASE(close_during_a_maintain_call_on_another_thread_still_destroys_every_idle_resource_before_it_returns) {
    HangingKeepalive validator;
    respool::Pool<Fake, FakeFactory, HangingKeepalive, Clock> pool(
        {.pool_size = 2, .max_overflow = 0, .keepalive = 100ms, .maintenance_thread = false}, factory, validator, clock);
    {
        auto a = pool.acquire();
        auto b = pool.acquire();
    }
    clock.advance(200ms); // both due; one check hangs, the other passes
    std::thread pass([&] { pool.maintain(); });
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    while (validator.state->others_checked.load() < 1 && std::chrono::steady_clock::now() < give_up)
        std::this_thread::yield();
    BOOST_REQUIRE(validator.state->others_checked.load() == 1);
    std::thread closer([&] { pool.close(); });
    // Once the pool says closed, let the hanging check end: close() must not have returned with it still out.
    for (bool closed = false; !closed && std::chrono::steady_clock::now() < give_up; std::this_thread::yield()) {
        try {
            (void)pool.try_acquire();
        } catch (const respool::PoolClosedError&) {
            closed = true;
        }
    }
    validator.state->hold = false;
    closer.join();
    BOOST_TEST(script().destroyed.load() == 2); // before the pass's own thread is joined
    BOOST_TEST(pool.stats().size == 0u);
    BOOST_TEST(pool.stats().idle == 0u);
    pass.join();
}

// A keepalive check that closes its own pool: the pass it runs in must not wait for itself.
struct ClosingKeepalive {
    std::shared_ptr<std::function<void()>> on_check = std::make_shared<std::function<void()>>();
    bool validate(Fake&) { return true; }
    bool keepalive(Fake&) {
        (*on_check)();
        return true;
    }
};

BOOST_AUTO_TEST_CASE(close_called_from_inside_a_maintenance_pass_does_not_wait_for_that_pass) {
    ClosingKeepalive validator;
    respool::Pool<Fake, FakeFactory, ClosingKeepalive, Clock> pool(
        {.pool_size = 3, .max_overflow = 0, .keepalive = 100ms, .maintenance_thread = false}, factory, validator, clock);
    *validator.on_check = [&] { pool.close(); }; // on the pass's thread and on its keepalive helpers
    {
        auto a = pool.acquire();
        auto b = pool.acquire();
        auto c = pool.acquire();
    }
    clock.advance(200ms);
    pool.maintain();
    BOOST_TEST(script().destroyed.load() == 3); // each destroyed as its check put it back into the closed pool
    BOOST_TEST(pool.stats().size == 0u);
}

BOOST_AUTO_TEST_CASE(close_from_a_keepalive_check_of_the_maintenance_thread_returns_and_the_pool_still_ends) {
    std::atomic<int> checks_entered{0}, closes_returned{0};
    ClosingKeepalive validator;
    {
        respool::Pool<Fake, FakeFactory, ClosingKeepalive, Clock> pool(
            {.pool_size = 2, .max_overflow = 0, .keepalive = 100ms}, factory, validator, clock);
        *validator.on_check = [&] { // on the maintainer's thread and on a helper of its pass
            ++checks_entered; // each waits for the other, so that one surely runs on the helper
            const auto give_up = std::chrono::steady_clock::now() + 10s;
            while (checks_entered.load() < 2 && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
            pool.close();
            ++closes_returned;
        };
        {
            auto a = pool.acquire();
            auto b = pool.acquire();
        }
        clock.advance(200ms); // both due: the maintainer's next pass checks them at once
        const auto give_up = std::chrono::steady_clock::now() + 10s;
        while (closes_returned.load() < 2 && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
        BOOST_REQUIRE(closes_returned.load() == 2);
    } // ~Pool joins the maintainer
    BOOST_TEST(script().destroyed.load() == 2);
}

BOOST_AUTO_TEST_CASE(close_from_inside_another_pools_pass_nested_in_this_pools_pass_does_not_wait_for_itself) {
    ClosingKeepalive outer_check, inner_check;
    respool::Pool<Fake, FakeFactory, ClosingKeepalive, Clock> outer(
        {.pool_size = 1, .max_overflow = 0, .keepalive = 100ms, .maintenance_thread = false}, factory, outer_check,
        clock);
    respool::Pool<Fake, FakeFactory, ClosingKeepalive, Clock> inner(
        {.pool_size = 1, .max_overflow = 0, .keepalive = 100ms, .maintenance_thread = false}, factory, inner_check,
        clock);
    *outer_check.on_check = [&] { inner.maintain(); }; // the inner pool's pass runs inside the outer's
    *inner_check.on_check = [&] { outer.close(); };    // and closes the outer pool from there
    outer.acquire().reset();
    inner.acquire().reset();
    clock.advance(200ms);
    outer.maintain();
    BOOST_TEST(outer.stats().size == 0u);
    BOOST_TEST(inner.stats().size == 1u);
}

BOOST_AUTO_TEST_CASE(a_maintenance_pass_counts_each_recycled_resource_once) {
    auto pool = make({.pool_size = 6, .max_overflow = 0, .recycle = 1h, .order = respool::CheckoutOrder::fifo,
                      .keepalive = 1min});
    {
        std::vector<TestPool::Lease> old;
        for (int i = 0; i < 3; ++i) old.push_back(pool.acquire());
    }
    clock.advance(50min);
    {
        std::vector<TestPool::Lease> all; // the 3 old ones and 3 young ones
        for (int i = 0; i < 6; ++i) all.push_back(pool.acquire());
        // Young ones back first: the pass meets them (keepalive only) before the old ones (to recycle).
        for (int i = 5; i >= 0; --i) all[static_cast<std::size_t>(i)].reset();
    }
    clock.advance(15min); // the old ones are past recycle; all six are due for keepalive
    pool.maintain();
    BOOST_TEST(script().destroyed.load() == 3);
    BOOST_TEST(pool.stats().recycled == 3u);
}

// The times of the create() calls the maintenance thread makes while every create() fails.
struct FailingFills {
    std::mutex mutex;
    std::vector<std::chrono::steady_clock::time_point> attempts;

    explicit FailingFills(respool_test::Script& script) {
        script.fail_next_creates = 1'000'000;
        script.on_create = [this] {
            std::lock_guard lock(mutex);
            attempts.push_back(std::chrono::steady_clock::now());
        };
    }
    std::size_t count() {
        std::lock_guard lock(mutex);
        return attempts.size();
    }
    void wait_for(std::size_t n) {
        const auto give_up = std::chrono::steady_clock::now() + 20s;
        while (count() < n) {
            BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < give_up, "the fill stopped trying");
            std::this_thread::yield();
        }
    }
};

BOOST_AUTO_TEST_CASE(the_maintenance_thread_waits_twice_as_long_after_each_failed_min_idle_create) {
    FailingFills fills(script());
    // keepalive 40 ms: a pass every 10 ms (PoolOptions::maintenance_period()).
    TestPool pool({.pool_size = 2, .max_overflow = 0, .keepalive = 40ms, .min_idle = 1}, factory,
                  FakeValidator{factory.script}, clock);
    BOOST_REQUIRE(pool.options().maintenance_period() == 10ms);
    fills.wait_for(6);
    pool.close();
    std::lock_guard lock(fills.mutex);
    // Lower bounds only (a busy machine can only stretch the gaps): 10, 20, 40, 80, 160 ms, less a margin for the
    // time from the start of a pass to its create() call. Without backoff every gap is one pass, 10 ms.
    auto expected = 10ms;
    for (std::size_t i = 1; i < 6; ++i, expected *= 2) {
        const auto gap_ms = std::chrono::duration<double, std::milli>(fills.attempts[i] - fills.attempts[i - 1]);
        BOOST_TEST_INFO("gap " << i);
        BOOST_TEST(gap_ms.count() >= 0.8 * static_cast<double>(expected.count()));
    }
}

BOOST_AUTO_TEST_CASE(a_checkout_that_creates_ends_the_min_idle_backoff) {
    FailingFills fills(script());
    TestPool pool({.pool_size = 3, .max_overflow = 0, .keepalive = 40ms, .min_idle = 2}, factory,
                  FakeValidator{factory.script}, clock);
    fills.wait_for(8); // failed after waits of 10 ... 640 ms: the next try is 1,280 ms after the last
    script().fail_next_creates = 0;
    const auto recovered = std::chrono::steady_clock::now();
    pool.acquire().reset(); // created: the server is back
    const auto give_up = recovered + 20s;
    while (pool.stats().idle < 2u) {
        BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < give_up, "min_idle never filled");
        std::this_thread::yield();
    }
    // An upper bound with a wide margin: the next pass (10 ms) fills, not the end of the backoff (>= 1,280 ms).
    BOOST_TEST((std::chrono::steady_clock::now() - recovered < 1000ms));
}

BOOST_AUTO_TEST_CASE(maintain_called_by_the_application_tries_min_idle_at_every_call) {
    auto pool = make({.pool_size = 2, .max_overflow = 0, .min_idle = 1});
    script().fail_next_creates = 3;
    for (int i = 1; i <= 3; ++i) {
        pool.maintain(); // the clock stands still: its caller, not a backoff, decides when to try
        BOOST_TEST(pool.stats().create_failures == static_cast<std::uint64_t>(i));
    }
    pool.maintain();
    BOOST_TEST(pool.stats().idle == 1u);
}

BOOST_AUTO_TEST_CASE(options_for_maintenance_are_checked) {
    BOOST_TEST(invalid_argument_message({.pool_size = 2, .min_idle = 3}).find("min_idle") != std::string::npos);
    BOOST_TEST(invalid_argument_message({.keepalive = -1ms}).find("keepalive") != std::string::npos);
    BOOST_TEST(invalid_argument_message({.idle_timeout = -1ms}).find("idle_timeout") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_fill_backoff_counts_the_failures_of_one_round_once) {
    // One round (an async fill setting up several connections under max_connecting) may fail one connection after
    // another, seconds apart: the wait after it is one doubling, not one per failure.
    using respool::detail::FillBackoff;
    const auto t0 = FillBackoff::Clock::time_point{} + std::chrono::hours(1);
    FillBackoff backoff;
    backoff.failed_in_round(1, t0, 10ms);
    BOOST_TEST(!backoff.allows(t0 + 9ms));
    BOOST_TEST(backoff.allows(t0 + 10ms));
    backoff.failed_in_round(1, t0 + 10ms, 10ms); // the same round, after its wait: still one failure
    backoff.failed_in_round(1, t0 + 30ms, 10ms);
    BOOST_TEST(backoff.allows(t0 + 10ms));
    backoff.failed_in_round(2, t0 + 40ms, 10ms); // the next round doubles
    BOOST_TEST(!backoff.allows(t0 + 59ms));
    BOOST_TEST(backoff.allows(t0 + 60ms));
    backoff.failed_in_round(2, t0 + 70ms, 10ms);
    BOOST_TEST(backoff.allows(t0 + 60ms));
    backoff.succeeded();
    BOOST_TEST(!backoff.backing_off());
    backoff.failed_in_round(3, t0 + 80ms, 10ms); // after a success, from one period again
    BOOST_TEST(backoff.allows(t0 + 90ms));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(hook_forms)

// The documented forms are `bool reset(R&)` and `void destroy(R&) noexcept`. A reset returning nothing and a destroy
// not marked noexcept are what a user writes by habit: both are still called.
struct Counts {
    int resets = 0;
    int destroys = 0;
    int destructions = 0;
    bool throw_in_reset = false;
    bool throw_in_destroy = false;
};

struct Counted {
    Counts* counts;
    explicit Counted(Counts* c) : counts(c) {}
    Counted(Counted&& other) noexcept : counts(std::exchange(other.counts, nullptr)) {}
    Counted& operator=(Counted&&) = delete;
    ~Counted() {
        if (counts) ++counts->destructions;
    }
};

struct HabitFactory {
    Counts* counts;
    Counted create() { return Counted(counts); }
    void destroy(Counted&) { // not noexcept
        ++counts->destroys;
        if (counts->throw_in_destroy) throw std::runtime_error("destroy failed");
    }
};

struct HabitValidator {
    Counts* counts;
    bool validate(Counted&) { return true; }
    void reset(Counted&) { // returns nothing: no throw means keep
        ++counts->resets;
        if (counts->throw_in_reset) throw std::runtime_error("reset failed");
    }
};

static_assert(respool::HasReset<HabitValidator, Counted>);
static_assert(respool::HasDestroy<HabitFactory, Counted>);

BOOST_AUTO_TEST_CASE(a_void_reset_and_a_throwing_destroy_are_called_and_lose_nothing) {
    Counts counts;
    respool::Pool<Counted, HabitFactory, HabitValidator> pool({.pool_size = 1, .max_overflow = 0},
                                                              HabitFactory{&counts}, HabitValidator{&counts});
    pool.acquire().reset();
    BOOST_TEST(counts.resets == 1);
    BOOST_TEST(pool.stats().idle == 1u); // kept
    BOOST_TEST(counts.destroys == 0);

    counts.throw_in_reset = true; // a throw from a void reset destroys the resource
    pool.acquire().reset();
    BOOST_TEST(counts.resets == 2);
    BOOST_TEST(counts.destroys == 1);
    BOOST_TEST(pool.stats().size == 0u);

    counts.throw_in_reset = false;
    counts.throw_in_destroy = true; // a throwing destroy: dropped, and the resource is gone all the same
    {
        auto lease = pool.acquire();
        lease.invalidate();
    }
    BOOST_TEST(counts.destroys == 2);
    const auto st = pool.stats();
    BOOST_TEST(st.size == 0u);
    BOOST_TEST(st.created == st.destroyed);
    BOOST_TEST(counts.destructions == 2); // every created resource's destructor ran (moved-from ones do not count)
    auto again = pool.acquire();          // its room was given back
    BOOST_TEST(pool.stats().created == 3u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(contract_edges, Fixture)

BOOST_AUTO_TEST_CASE(error_code_forms_leave_ec_clear_on_success_after_a_failure) {
    auto pool = make({.pool_size = 1, .max_overflow = 0, .timeout = 0ms});
    std::error_code ec;
    auto a = pool.acquire(ec);
    BOOST_TEST(!ec);
    auto b = pool.acquire(ec);
    BOOST_TEST((ec == respool::errc::timeout));
    a.reset();
    b = pool.acquire(ec); // the resource this thread just returned: the fast path
    BOOST_TEST(bool(b));
    BOOST_TEST(!ec);
    ec = respool::errc::timeout;
    b.reset();
    auto c = pool.try_acquire(ec);
    BOOST_TEST(bool(c));
    BOOST_TEST(!ec);
    c.reset();
    ec = respool::errc::timeout;
    std::thread([&] { // another thread: the idle set, not this thread's cache
        auto d = pool.acquire_for(10ms, ec);
        BOOST_TEST(bool(d));
    }).join();
    BOOST_TEST(!ec);
}

BOOST_AUTO_TEST_CASE(durations_meaning_never_do_not_overflow) {
    constexpr auto never = std::chrono::milliseconds::max();
    auto pool = make({.pool_size = 1, .max_overflow = 0, .recycle = never, .keepalive = never, .idle_timeout = never,
                      .leak_threshold = never});
    BOOST_TEST((pool.options().recycle == never)); // reported as given
    int id = 0;
    {
        auto lease = pool.acquire();
        id = lease->id;
        clock.advance(24h * 365 * 10);
        pool.maintain(); // no leak report: ten years is not past "never"
    }
    clock.advance(24h * 365 * 10);
    pool.maintain(); // neither idle too long nor due for keepalive
    auto lease = pool.acquire();
    BOOST_TEST(lease->id == id); // not recycled
    const auto st = pool.stats();
    BOOST_TEST(st.recycled == 0u);
    BOOST_TEST(st.destroyed == 0u);
    BOOST_TEST(script().validations == 0);
}

BOOST_AUTO_TEST_CASE(a_resource_being_created_when_invalidate_all_runs_is_replaced_too) {
    auto pool = make({.pool_size = 1, .max_overflow = 0});
    script().on_create = [&] { pool.invalidate_all(); }; // runs inside create(), after it started
    int first = 0;
    {
        auto lease = pool.acquire();
        first = lease->id;
    }
    script().on_create = nullptr;
    auto lease = pool.acquire();
    BOOST_TEST(lease->id != first);
    BOOST_TEST(pool.stats().created == 2u);
}

BOOST_AUTO_TEST_CASE(an_empty_lease_gets_nullptr) {
    auto pool = make({.pool_size = 1, .max_overflow = 0});
    TestPool::Lease lease;
    BOOST_TEST(lease.get() == nullptr);
    lease = pool.acquire();
    BOOST_TEST(lease.get() != nullptr);
    lease.reset();
    BOOST_TEST(lease.get() == nullptr);
}

BOOST_AUTO_TEST_CASE(a_pool_size_too_large_to_add_is_named_as_such) {
    const std::string message =
        invalid_argument_message({.pool_size = std::numeric_limits<std::size_t>::max(), .max_overflow = 1});
    BOOST_TEST(message.find("pool_size") != std::string::npos);
    BOOST_TEST(message.find("too large") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_max_overflow_so_large_the_sum_wraps_is_named_as_such) {
    const std::string message =
        invalid_argument_message({.pool_size = 1, .max_overflow = std::numeric_limits<std::size_t>::max()});
    BOOST_TEST(message.find("max_overflow") != std::string::npos, message);
    BOOST_TEST(message.find("too large") != std::string::npos, message);
}

BOOST_AUTO_TEST_SUITE_END()
