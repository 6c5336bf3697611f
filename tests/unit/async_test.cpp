// The asynchronous acquire of the generic core: callback and coroutine forms, completion only through the executor,
// timeouts, cancellation at every stage, and no resource lost when a waiter goes away.
#define BOOST_TEST_MODULE async_acquire
#include <boost/test/unit_test.hpp>

#include <respool/respool.hpp>

#include <atomic>
#include <chrono>
#include <coroutine>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>

#include "fake_resource.hpp"

using namespace std::chrono_literals;
using respool_test::CreateFailed;
using respool_test::Fake;
using respool_test::FakeFactory;
using respool_test::FakeValidator;
using TestPool = respool::Pool<Fake, FakeFactory, FakeValidator>;

namespace {

// An executor the test drives by hand: tasks queue up and run only when the test says so.
class ManualExecutor {
public:
    struct Queue {
        std::mutex mutex;
        std::deque<respool::Task> tasks;
    };

    void operator()(respool::Task task) const {
        std::lock_guard lock(queue_->mutex);
        queue_->tasks.push_back(std::move(task));
    }

    std::size_t pending() const {
        std::lock_guard lock(queue_->mutex);
        return queue_->tasks.size();
    }

    // Runs queued tasks (and the ones they queue) until none is left; returns how many ran.
    int run() const {
        int ran = 0;
        for (;;) {
            respool::Task task;
            {
                std::lock_guard lock(queue_->mutex);
                if (queue_->tasks.empty()) return ran;
                task = std::move(queue_->tasks.front());
                queue_->tasks.pop_front();
            }
            task();
            ++ran;
        }
    }

    // Waits (yielding, bounded) until a task arrives from another thread, e.g. the pool's deadline keeper.
    void wait_for_task() const {
        const auto give_up = std::chrono::steady_clock::now() + 10s;
        while (pending() == 0) {
            BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < give_up, "no task arrived");
            std::this_thread::yield();
        }
    }

    void drop_all() const {
        std::deque<respool::Task> dropped;
        {
            std::lock_guard lock(queue_->mutex);
            dropped.swap(queue_->tasks);
        }
    } // destroyed unrun here, outside the lock

private:
    std::shared_ptr<Queue> queue_ = std::make_shared<Queue>();
};

struct Result {
    bool called = false;
    std::exception_ptr error;
    TestPool::Lease lease;

    auto handler() {
        return [this](std::exception_ptr e, TestPool::Lease l) {
            called = true;
            error = std::move(e);
            lease = std::move(l);
        };
    }
    template <class E>
    bool failed_with() const {
        try {
            if (error) std::rethrow_exception(error);
        } catch (const E&) {
            return true;
        } catch (...) {
        }
        return false;
    }
};

struct Fixture {
    FakeFactory factory;
    ManualExecutor executor;
    TestPool make(respool::PoolOptions options) { return TestPool(options, factory, FakeValidator{factory.script}); }
};

// A coroutine that starts at once and stays suspended at its end until destroyed.
struct Detached {
    struct promise_type {
        Detached get_return_object() { return {std::coroutine_handle<promise_type>::from_promise(*this)}; }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_always final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::terminate(); }
    };
    std::coroutine_handle<promise_type> handle;
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(callback_form, Fixture)

BOOST_AUTO_TEST_CASE(completion_runs_on_the_executor_never_inline) {
    auto pool = make({.pool_size = 1, .max_overflow = 0});
    Result r;
    pool.async_acquire(executor, r.handler());
    BOOST_TEST(!r.called);
    BOOST_TEST(executor.run() == 1);
    BOOST_TEST(r.called);
    BOOST_TEST(!r.error);
    BOOST_TEST(bool(r.lease));
    BOOST_TEST(pool.stats().in_use == 1u);
}

BOOST_AUTO_TEST_CASE(room_granted_before_close_creates_nothing_and_reports_closed) {
    auto pool = make({.pool_size = 1, .max_overflow = 0});
    Result r;
    pool.async_acquire(executor, r.handler()); // the room is taken; creation waits for the task
    pool.close();
    BOOST_TEST(executor.run() == 1);
    BOOST_TEST(r.called);
    BOOST_TEST(r.failed_with<respool::PoolClosedError>());
    BOOST_TEST(!r.lease);
    BOOST_TEST(pool.stats().created == 0u);
}

BOOST_AUTO_TEST_CASE(an_idle_resource_granted_before_close_is_destroyed_and_reports_closed) {
    // As a room granted before close(): the pending delivery finds the pool closed, destroys what it was granted and
    // reports PoolClosedError. Until then the granted resource counts as in use, not idle (nobody else can take it).
    for (const bool destroy_the_pool : {false, true}) {
        BOOST_TEST_CONTEXT((destroy_the_pool ? "~Pool" : "close()")) {
            auto pool = std::make_optional(make({.pool_size = 1, .max_overflow = 0}));
            pool->acquire().reset(); // one idle resource
            Result r;
            pool->async_acquire(executor, r.handler()); // granted at once; the delivery waits for the executor
            BOOST_TEST(pool->stats().idle == 0u);
            BOOST_TEST(pool->stats().in_use == 1u);
            BOOST_TEST(!pool->try_acquire_idle());
            if (destroy_the_pool)
                pool.reset();
            else
                pool->close();
            BOOST_TEST(executor.run() == 1);
            BOOST_TEST(r.called);
            BOOST_TEST(r.failed_with<respool::PoolClosedError>());
            BOOST_TEST(!r.lease);
            BOOST_TEST(factory.script->alive.load() == 0);
            if (pool) BOOST_TEST(pool->stats().size == 0u);
        }
    }
}

BOOST_AUTO_TEST_CASE(a_stale_resource_does_not_restart_the_time_limit) {
    // The op queues with a 300 ms limit. At ~200 ms it is handed a resource that fails pre_ping; meanwhile a blocking
    // caller takes the room that frees, so the op queues again. It must still time out at ~300 ms after its call,
    // not 300 ms after the restart.
    auto pool = make({.pool_size = 1, .max_overflow = 0, .pre_ping = true});
    auto held = pool.acquire();
    Result r;
    const auto called_at = std::chrono::steady_clock::now();
    pool.async_acquire_for(300ms, executor, r.handler());
    BOOST_TEST(executor.run() == 0); // queued
    std::optional<TestPool::Lease> blocking_lease;
    std::thread blocking([&] { blocking_lease.emplace(pool.acquire()); }); // queued behind the op
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    while (pool.stats().waiting != 2u) {
        BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < give_up, "the blocking caller never queued");
        std::this_thread::yield();
    }
    while (std::chrono::steady_clock::now() < called_at + 200ms) std::this_thread::yield(); // time passing is the test
    factory.script->fail_next_validates = 1;
    held.reset();       // granted to the op; its delivery waits in the executor
    executor.run();     // pre_ping fails: destroyed; the room goes to the blocking caller; the op queues again
    blocking.join();
    BOOST_REQUIRE(blocking_lease.has_value());
    executor.wait_for_task(); // the deadline keeper's timeout
    const auto completed_after = std::chrono::steady_clock::now() - called_at;
    executor.run();
    BOOST_TEST(r.called);
    BOOST_TEST(r.failed_with<respool::TimeoutError>());
    BOOST_TEST_MESSAGE("timed out after " << std::chrono::duration_cast<std::chrono::milliseconds>(completed_after).count()
                                          << " ms (limit 300 ms; a restarted limit would end at about 500 ms)");
    BOOST_TEST((completed_after < 450ms));
}

BOOST_AUTO_TEST_CASE(a_queued_async_waiter_gets_the_returned_resource_through_its_executor) {
    auto pool = make({.pool_size = 1, .max_overflow = 0});
    auto held = pool.acquire();
    const int id = held->id;
    Result r;
    pool.async_acquire(executor, r.handler());
    BOOST_TEST(executor.run() == 0);
    BOOST_TEST(pool.stats().waiting == 1u);
    held.reset(); // hands it over, but the completion is not run here
    BOOST_TEST(!r.called);
    BOOST_TEST(executor.run() == 1);
    BOOST_TEST(r.lease->id == id);
}

BOOST_AUTO_TEST_CASE(async_and_blocking_waiters_share_one_fifo) {
    auto pool = make({.pool_size = 1, .max_overflow = 0, .handoff_after = 0us});
    auto held = pool.acquire();
    Result first;
    pool.async_acquire(executor, first.handler());
    int blocking_got = 0;
    std::jthread blocking([&] { blocking_got = pool.acquire()->id; });
    while (pool.stats().waiting != 2) std::this_thread::yield();
    held.reset(); // the async waiter came first
    BOOST_TEST(executor.run() == 1);
    BOOST_TEST(bool(first.lease));
    first.lease.reset(); // now the blocking one
    blocking.join();
    BOOST_TEST(blocking_got != 0);
}

BOOST_AUTO_TEST_CASE(an_async_waiter_behind_a_woken_blocking_waiter_still_gets_a_returned_resource) {
    auto pool = make({.pool_size = 2, .max_overflow = 0, .handoff_after = std::chrono::hours(1)});
    auto a = pool.acquire();
    auto b = pool.acquire();
    std::jthread blocking([&] { auto lease = pool.acquire(); });
    while (pool.stats().waiting != 1) std::this_thread::yield();
    Result r;
    pool.async_acquire(executor, r.handler());
    BOOST_TEST(pool.stats().waiting == 2u);
    a.reset(); // wakes the blocking waiter, which may not have run yet
    b.reset(); // the async waiter cannot look for itself: it must be granted this one
    executor.wait_for_task();
    executor.run();
    BOOST_TEST(bool(r.lease));
    blocking.join();
}

BOOST_AUTO_TEST_CASE(an_async_acquire_times_out) {
    auto pool = make({.pool_size = 1, .max_overflow = 0});
    auto held = pool.acquire();
    Result r;
    pool.async_acquire_for(20ms, executor, r.handler());
    executor.wait_for_task(); // posted by the pool's deadline keeper
    executor.run();
    BOOST_TEST(r.failed_with<respool::TimeoutError>());
    BOOST_TEST(pool.stats().waiting == 0u);
    BOOST_TEST(pool.stats().timeouts == 1u);
}

// A validator whose keepalive check can be held, to keep the pool's maintenance thread busy for as long as the test
// wants.
struct HeldKeepalive {
    struct State {
        std::atomic<bool> hold{true};
        std::atomic<bool> entered{false};
    };
    std::shared_ptr<State> state = std::make_shared<State>();
    bool validate(Fake&) { return true; }
    bool keepalive(Fake&) {
        state->entered = true;
        while (state->hold.load()) std::this_thread::yield();
        return true;
    }
};

BOOST_AUTO_TEST_CASE(an_async_deadline_expires_on_time_while_a_keepalive_check_runs) {
    using HeldPool = respool::Pool<Fake, FakeFactory, HeldKeepalive>;
    HeldKeepalive validator;
    struct Release {
        HeldKeepalive::State& state;
        ~Release() { state.hold = false; } // whatever fails below, the maintainer is let go before the pool ends
    };
    HeldPool pool({.pool_size = 2, .max_overflow = 0, .keepalive = 20ms}, factory, validator);
    Release release{*validator.state};
    auto held = pool.acquire();
    pool.acquire().reset(); // idle: its keepalive check holds the maintenance thread
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    while (!validator.state->entered.load()) {
        BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < give_up, "keepalive never ran");
        std::this_thread::yield();
    }
    bool timed_out = false, got_lease = false;
    pool.async_acquire_for(10ms, executor, [&](std::exception_ptr e, HeldPool::Lease l) {
        got_lease = static_cast<bool>(l);
        try {
            if (e) std::rethrow_exception(e);
        } catch (const respool::TimeoutError&) {
            timed_out = true;
        }
    });
    BOOST_TEST(pool.stats().waiting == 1u); // nothing idle: the other resource is in its keepalive check
    executor.wait_for_task();               // the expiry, posted while the keepalive check still runs
    BOOST_TEST(validator.state->hold.load());
    executor.run();
    BOOST_TEST(timed_out);
    BOOST_TEST(!got_lease);
    BOOST_TEST(pool.stats().timeouts == 1u);
}

// An executor whose calls from other threads can be held: it keeps the deadline keeper busy delivering one expiry.
class HoldingExecutor {
public:
    struct State {
        std::atomic<bool> hold{true};
        std::atomic<bool> entered{false};
        std::thread::id free_thread = std::this_thread::get_id();
    };
    HoldingExecutor(std::shared_ptr<State> state, ManualExecutor inner) : state_(std::move(state)), inner_(inner) {}
    void operator()(respool::Task task) const {
        if (std::this_thread::get_id() != state_->free_thread) {
            state_->entered = true;
            while (state_->hold.load()) std::this_thread::yield();
        }
        inner_(std::move(task));
    }

private:
    std::shared_ptr<State> state_;
    ManualExecutor inner_;
};

BOOST_AUTO_TEST_CASE(an_async_waiter_granted_after_its_deadline_times_out_and_the_resource_goes_on) {
    auto pool = make({.pool_size = 1, .max_overflow = 0});
    auto state = std::make_shared<HoldingExecutor::State>();
    struct Release {
        HoldingExecutor::State& state;
        ~Release() { state.hold = false; }
    } release{*state};
    auto held = pool.acquire();
    Result first, second;
    pool.async_acquire_for(1ms, HoldingExecutor(state, executor), first.handler());
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    while (!state->entered.load()) { // the deadline keeper is delivering the first expiry, held in the executor
        BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < give_up, "the first acquire never expired");
        std::this_thread::yield();
    }
    const auto deadline = std::chrono::steady_clock::now() + 10ms;
    pool.async_acquire_until(deadline, executor, second.handler());
    while (std::chrono::steady_clock::now() < deadline) std::this_thread::yield(); // past it; nobody expired it
    held.reset(); // granted to the second waiter, whose deadline has passed
    executor.run();
    BOOST_TEST(second.called);
    BOOST_TEST(second.failed_with<respool::TimeoutError>());
    BOOST_TEST(!second.lease);
    state->hold = false;
    executor.wait_for_task();
    executor.run();
    BOOST_TEST(first.failed_with<respool::TimeoutError>());
    BOOST_TEST(pool.stats().timeouts == 2u);
    BOOST_TEST(static_cast<bool>(pool.try_acquire())); // the resource went back, for the next caller
}

BOOST_AUTO_TEST_CASE(a_stop_token_cancels_a_queued_async_acquire) {
    auto pool = make({.pool_size = 1, .max_overflow = 0});
    auto held = pool.acquire();
    std::stop_source stop;
    Result r;
    pool.async_acquire_until(std::chrono::steady_clock::time_point::max(), stop.get_token(), executor, r.handler());
    stop.request_stop();
    executor.run();
    BOOST_TEST(r.failed_with<respool::CancelledError>());
    BOOST_TEST(pool.stats().waiting == 0u);
}

BOOST_AUTO_TEST_CASE(cancelled_after_the_grant_the_resource_goes_back_to_the_pool) {
    auto pool = make({.pool_size = 1, .max_overflow = 0});
    auto held = pool.acquire();
    std::stop_source stop;
    Result r;
    pool.async_acquire_until(std::chrono::steady_clock::time_point::max(), stop.get_token(), executor, r.handler());
    held.reset();        // granted: the delivery is queued
    stop.request_stop(); // then cancelled before it runs
    executor.run();
    BOOST_TEST(r.failed_with<respool::CancelledError>());
    BOOST_TEST(!r.lease);
    const auto st = pool.stats();
    BOOST_TEST(st.idle == 1u);
    BOOST_TEST(st.in_use == 0u);
}

BOOST_AUTO_TEST_CASE(a_delivery_destroyed_unrun_gives_its_resource_back) {
    auto pool = make({.pool_size = 1, .max_overflow = 0});
    pool.acquire().reset();
    Result r;
    pool.async_acquire(executor, r.handler());
    executor.drop_all(); // the executor shut down
    BOOST_TEST(!r.called);
    BOOST_TEST(pool.stats().idle == 1u);
    BOOST_TEST(bool(pool.try_acquire()));
}

BOOST_AUTO_TEST_CASE(a_room_delivery_destroyed_unrun_frees_the_room) {
    auto pool = make({.pool_size = 1, .max_overflow = 0, .timeout = 0ms});
    Result r;
    pool.async_acquire(executor, r.handler()); // room to create in, not yet created
    executor.drop_all();
    BOOST_TEST(factory.script->created == 0);
    BOOST_TEST(bool(pool.acquire())); // the room is usable
}

BOOST_AUTO_TEST_CASE(close_fails_async_waiters_with_pool_closed) {
    auto pool = make({.pool_size = 1, .max_overflow = 0});
    auto held = pool.acquire();
    Result r;
    pool.async_acquire(executor, r.handler());
    pool.close();
    executor.run();
    BOOST_TEST(r.failed_with<respool::PoolClosedError>());
}

BOOST_AUTO_TEST_CASE(a_closed_pool_reports_closed_even_to_an_async_caller_already_cancelled) {
    auto pool = make({.pool_size = 1, .max_overflow = 0});
    pool.close();
    std::stop_source stopped;
    stopped.request_stop();
    Result r;
    pool.async_acquire_until(std::chrono::steady_clock::now() + 1s, stopped.get_token(), executor, r.handler());
    executor.run();
    BOOST_TEST(r.failed_with<respool::PoolClosedError>());
}

BOOST_AUTO_TEST_CASE(a_closed_pool_reports_closed_to_an_async_caller_cancelled_before_its_completion_runs) {
    auto pool = make({.pool_size = 1, .max_overflow = 0});
    pool.close();
    std::stop_source stop;
    Result r;
    pool.async_acquire_until(std::chrono::steady_clock::now() + 1s, stop.get_token(), executor, r.handler());
    stop.request_stop(); // the result is decided (closed) and posted, not yet run
    executor.run();
    BOOST_TEST(r.failed_with<respool::PoolClosedError>());
}

BOOST_AUTO_TEST_CASE(a_factory_exception_reaches_the_handler_unchanged) {
    auto pool = make({.pool_size = 1, .max_overflow = 0});
    factory.script->fail_next_creates = 1;
    Result r;
    pool.async_acquire(executor, r.handler());
    executor.run();
    BOOST_TEST(r.failed_with<CreateFailed>());
    BOOST_TEST(pool.stats().size == 0u);
}

BOOST_AUTO_TEST_CASE(the_pool_may_be_destroyed_while_an_async_delivery_is_pending) {
    Result r;
    {
        auto pool = make({.pool_size = 1, .max_overflow = 0});
        pool.async_acquire(executor, r.handler());
    } // closed and gone; the queued delivery still holds the state it needs
    executor.run();
    BOOST_TEST(r.called);
    r.lease.reset();
    BOOST_TEST(factory.script->alive == 0);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(coroutine_form, Fixture)

BOOST_AUTO_TEST_CASE(co_await_yields_a_lease_resumed_on_the_executor) {
    auto pool = make({.pool_size = 1, .max_overflow = 0});
    int got = 0;
    auto co = [&]() -> Detached {
        auto lease = co_await pool.async_acquire(executor);
        got = lease->id;
    };
    Detached task = co();
    BOOST_TEST(got == 0);
    executor.run();
    BOOST_TEST(got == 1);
    BOOST_TEST(task.handle.done());
    task.handle.destroy();
    BOOST_TEST(pool.stats().idle == 1u);
}

BOOST_AUTO_TEST_CASE(co_await_throws_what_acquire_would_throw) {
    auto pool = make({.pool_size = 1, .max_overflow = 0});
    auto held = pool.acquire();
    bool timed_out = false;
    auto co = [&]() -> Detached {
        try {
            co_await pool.async_acquire_for(10ms, executor);
        } catch (const respool::TimeoutError&) {
            timed_out = true;
        }
    };
    Detached task = co();
    executor.wait_for_task();
    executor.run();
    BOOST_TEST(timed_out);
    task.handle.destroy();
}

BOOST_AUTO_TEST_CASE(destroying_a_suspended_coroutine_cancels_and_loses_nothing) {
    auto pool = make({.pool_size = 1, .max_overflow = 0});
    auto held = pool.acquire();
    bool resumed = false;
    auto co = [&]() -> Detached {
        auto lease = co_await pool.async_acquire(executor);
        resumed = true;
    };
    Detached task = co();
    BOOST_TEST(pool.stats().waiting == 1u);
    task.handle.destroy(); // the awaiting coroutine goes away
    held.reset();
    executor.run();
    BOOST_TEST(!resumed);
    const auto st = pool.stats();
    BOOST_TEST(st.waiting == 0u);
    BOOST_TEST(st.in_use == 0u);
    BOOST_TEST(st.idle == 1u);
}

BOOST_AUTO_TEST_CASE(destroying_a_coroutine_after_its_grant_returns_the_resource) {
    auto pool = make({.pool_size = 1, .max_overflow = 0});
    auto held = pool.acquire();
    auto co = [&]() -> Detached { auto lease = co_await pool.async_acquire(executor); };
    Detached task = co();
    held.reset();          // granted; delivery queued
    task.handle.destroy(); // then the coroutine goes away
    executor.run();
    BOOST_TEST(pool.stats().in_use == 0u);
    BOOST_TEST(pool.stats().idle == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
