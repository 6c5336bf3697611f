// The asynchronous acquire when memory runs out: a call that throws leaves nothing queued, and handing a result to
// an executor (a return, an expiry, close()) allocates nothing of respool's, so those noexcept paths cannot fail.
// This program replaces the global operator new with one that can be told to fail.
#define BOOST_TEST_MODULE allocation_failure
#include <boost/test/unit_test.hpp>

#include <respool/respool.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <memory>
#include <new>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

namespace {

// -1: allocations succeed. n >= 0: n more succeed, then every one fails (0: every one fails from now on).
std::atomic<long> allocations_left{-1};
thread_local bool fail_on_this_thread = false; // every allocation of this thread fails

void* allocate(std::size_t size, std::size_t alignment, bool nothrow) {
    if (fail_on_this_thread) {
        if (nothrow) return nullptr;
        throw std::bad_alloc();
    }
    // relaxed: a test switch; the thread that arms it and the threads it fails synchronise through the pool itself.
    long left = allocations_left.load(std::memory_order_relaxed);
    while (left >= 0) {
        if (left == 0) {
            if (nothrow) return nullptr;
            throw std::bad_alloc();
        }
        if (allocations_left.compare_exchange_weak(left, left - 1, std::memory_order_relaxed)) break;
    }
    if (size == 0) size = 1;
    void* p = alignment > alignof(std::max_align_t) ? std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment)
                                                     : std::malloc(size);
    if (p == nullptr && !nothrow) throw std::bad_alloc();
    return p;
}

// Scoped: the nth allocation from here (by any thread) fails, and every one after it, until the scope ends.
class FailAllocations {
public:
    explicit FailAllocations(long nth) { allocations_left.store(nth - 1, std::memory_order_relaxed); }
    ~FailAllocations() { allocations_left.store(-1, std::memory_order_relaxed); }
    FailAllocations(const FailAllocations&) = delete;
    FailAllocations& operator=(const FailAllocations&) = delete;
};

} // namespace

void* operator new(std::size_t n) { return allocate(n, 0, false); }
void* operator new[](std::size_t n) { return allocate(n, 0, false); }
void* operator new(std::size_t n, std::align_val_t a) { return allocate(n, static_cast<std::size_t>(a), false); }
void* operator new[](std::size_t n, std::align_val_t a) { return allocate(n, static_cast<std::size_t>(a), false); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return allocate(n, 0, true); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return allocate(n, 0, true); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
    return allocate(n, static_cast<std::size_t>(a), true);
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
    return allocate(n, static_cast<std::size_t>(a), true);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

namespace {

struct IntFactory {
    int next = 0;
    int create() { return ++next; }
};
using IntPool = respool::Pool<int, IntFactory>;
const respool::PoolOptions one_resource{.pool_size = 1, .max_overflow = 0};

// An executor whose queue has room for a few tasks and never allocates.
class FixedExecutor {
public:
    struct Queue {
        std::mutex mutex;
        std::array<respool::Task, 8> tasks;
        std::size_t count = 0;
    };

    void operator()(respool::Task task) const {
        std::lock_guard lock(queue_->mutex);
        if (queue_->count == queue_->tasks.size()) std::terminate(); // the test queues fewer
        queue_->tasks[queue_->count++] = std::move(task);
    }

    std::size_t pending() const {
        std::lock_guard lock(queue_->mutex);
        return queue_->count;
    }

    // Waits (yielding, bounded, allocating nothing) until a task arrives from another thread.
    bool wait_for_task() const {
        const auto give_up = std::chrono::steady_clock::now() + 10s;
        while (pending() == 0) {
            if (std::chrono::steady_clock::now() > give_up) return false;
            std::this_thread::yield();
        }
        return true;
    }

    void run_all() const {
        for (;;) {
            respool::Task task;
            {
                std::lock_guard lock(queue_->mutex);
                if (queue_->count == 0) return;
                task = std::move(queue_->tasks[--queue_->count]);
            }
            task();
        }
    }

private:
    std::shared_ptr<Queue> queue_ = std::make_shared<Queue>();
};

// What a handler saw.
struct Outcome {
    int calls = 0;
    bool lease = false;
    std::exception_ptr error;
};

} // namespace

BOOST_AUTO_TEST_CASE(an_asynchronous_acquire_that_throws_leaves_nothing_queued) {
    // Sweeps the allocation that fails: the op, its handler, the deadline keeper's thread, ... For each, the call
    // either throws and is gone (never waiting, its handler never called) or succeeds and is served.
    int failures = 0;
    bool succeeded = false;
    for (long nth = 1; nth <= 100 && !succeeded; ++nth) {
        IntPool pool(one_resource);
        auto held = pool.acquire(); // so that the acquire below must queue, and needs the deadline keeper
        FixedExecutor executor;
        Outcome seen;
        bool threw = false;
        {
            FailAllocations fail(nth);
            try {
                pool.async_acquire_for(10s, executor, [&seen](std::exception_ptr e, IntPool::Lease lease) {
                    ++seen.calls;
                    seen.lease = static_cast<bool>(lease);
                    seen.error = e;
                });
            } catch (const std::bad_alloc&) {
                threw = true;
            } catch (const std::system_error&) { // std::thread reports some failures to start this way
                threw = true;
            }
        }
        const auto queued = pool.stats().waiting;
        held.reset();
        executor.run_all();
        if (threw) {
            ++failures;
            BOOST_TEST(queued == 0u, "allocation " << nth << " failed, yet the acquire stayed queued");
            BOOST_TEST(seen.calls == 0, "allocation " << nth << " failed, yet the handler was called");
            BOOST_TEST(pool.stats().idle == 1u);
        } else {
            succeeded = true;
            BOOST_TEST(queued == 1u);
            BOOST_TEST(seen.calls == 1);
            BOOST_TEST(seen.lease);
            BOOST_TEST_MESSAGE("the acquire needs " << nth - 1 << " allocations");
        }
    }
    BOOST_TEST(succeeded);
    BOOST_TEST(failures >= 3); // at least the op, its handler and the deadline keeper's thread
}

BOOST_AUTO_TEST_CASE(a_return_hands_its_resource_to_an_asynchronous_waiter_without_allocating) {
    IntPool pool(one_resource);
    auto held = pool.acquire();
    FixedExecutor executor;
    Outcome seen;
    pool.async_acquire_for(std::chrono::milliseconds::max(), executor,
                           [&seen](std::exception_ptr e, IntPool::Lease lease) {
                               ++seen.calls;
                               seen.lease = static_cast<bool>(lease);
                               seen.error = e;
                           });
    BOOST_REQUIRE(pool.stats().waiting == 1u);
    {
        FailAllocations fail(1); // an allocation in this noexcept return would end the program
        held.reset();
    }
    BOOST_TEST(executor.pending() == 1u);
    executor.run_all();
    BOOST_TEST(seen.calls == 1);
    BOOST_TEST(seen.lease);
}

BOOST_AUTO_TEST_CASE(an_expiry_and_a_close_reach_asynchronous_waiters_without_allocating) {
    IntPool pool(one_resource);
    auto held = pool.acquire();
    FixedExecutor executor;
    Outcome expired, closed;
    auto record = [](Outcome& o) {
        return [&o](std::exception_ptr e, IntPool::Lease lease) {
            ++o.calls;
            o.lease = static_cast<bool>(lease);
            o.error = e;
        };
    };
    const auto queued_at = std::chrono::steady_clock::now();
    pool.async_acquire_for(300ms, executor, record(expired)); // starts the deadline keeper
    pool.async_acquire_for(std::chrono::milliseconds::max(), executor, record(closed));
    bool arrived = false;
    std::chrono::steady_clock::time_point armed_at;
    {
        FailAllocations fail(1); // the deadline keeper's expiry and close() run with no memory to be had
        armed_at = std::chrono::steady_clock::now();
        arrived = executor.wait_for_task();
        pool.close();
    }
    BOOST_WARN_MESSAGE(armed_at - queued_at < 300ms, "the deadline passed before allocations failed: not checked");
    BOOST_TEST(arrived);
    executor.run_all();
    BOOST_TEST(expired.calls == 1);
    BOOST_TEST(closed.calls == 1);
    BOOST_TEST(!expired.lease);
    BOOST_TEST(!closed.lease);
    auto code_of = [](std::exception_ptr e) {
        try {
            if (e) std::rethrow_exception(e);
        } catch (const respool::Error& error) {
            return error.code();
        } catch (...) {
        }
        return std::error_code{};
    };
    BOOST_TEST((code_of(expired.error) == respool::errc::timeout));
    BOOST_TEST((code_of(closed.error) == respool::errc::pool_closed));
}

BOOST_AUTO_TEST_CASE(a_restart_that_cannot_start_the_deadline_keeper_reports_to_the_handler) {
    IntPool pool(one_resource);
    pool.acquire().reset(); // one idle resource
    FixedExecutor executor;
    Outcome seen;
    // Takes the idle resource at once (no deadline keeper needed yet); its delivery waits in the executor.
    pool.async_acquire_for(10s, executor, [&seen](std::exception_ptr e, IntPool::Lease lease) {
        ++seen.calls;
        seen.lease = static_cast<bool>(lease);
        seen.error = e;
    });
    BOOST_REQUIRE(executor.pending() == 1u);
    std::atomic<bool> delivered{false};
    std::thread waiter([&pool, &delivered] {
        auto lease = pool.acquire_for(10s); // waits for the only slot
        // Held until the delivery below has run, so that its restart finds nothing free and must queue.
        // acquire: pairs with the release store after run_all().
        const auto limit = std::chrono::steady_clock::now() + 10s;
        while (!delivered.load(std::memory_order_acquire) && std::chrono::steady_clock::now() < limit)
            std::this_thread::yield();
    });
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    while (pool.stats().waiting == 0 && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
    BOOST_REQUIRE(pool.stats().waiting == 1u);
    pool.invalidate_all(); // the resource the delivery carries is stale now
    bool delivery_threw = false;
    fail_on_this_thread = true; // so the restart, which must queue, cannot start the deadline keeper here
    try {
        executor.run_all(); // stale: destroyed, its room to the waiter, then the op looks again and must queue
    } catch (...) {
        delivery_threw = true;
    }
    fail_on_this_thread = false;
    delivered.store(true, std::memory_order_release);
    waiter.join();
    BOOST_TEST(!delivery_threw); // nobody to throw to: the handler hears of it
    BOOST_TEST(seen.calls == 1);
    BOOST_TEST(!seen.lease);
    bool bad_alloc = false;
    try {
        if (seen.error) std::rethrow_exception(seen.error);
    } catch (const std::bad_alloc&) {
        bad_alloc = true;
    } catch (const std::system_error&) {
        bad_alloc = true; // std::thread may report the failure this way
    }
    BOOST_TEST(bad_alloc);
    BOOST_TEST(pool.stats().waiting == 0u);
}

BOOST_AUTO_TEST_CASE(a_running_job_may_move_reassign_or_destroy_its_own_task) {
    // An executor whose queue grows while a task in it runs: the running task's storage moves.
    auto owned = std::make_shared<int>(42);
    {
        std::vector<respool::Task> tasks;
        tasks.reserve(1);
        int ran = 0;
        tasks.emplace_back([&tasks, &ran, owned] {
            tasks.emplace_back([&ran] { ++ran; }); // reallocates the vector this task sits in
            ran += *owned;
        });
        for (std::size_t i = 0; i < tasks.size(); ++i) tasks[i]();
        BOOST_TEST(ran == 43);
    }
    BOOST_TEST(owned.use_count() == 1); // the job's copy ended once

    // A job that replaces its own Task with a new one.
    {
        respool::Task slot;
        int runs = 0;
        slot = respool::Task([&slot, &runs, owned] {
            ++runs;
            slot = respool::Task([&runs] { ++runs; });
        });
        slot();
        BOOST_TEST(static_cast<bool>(slot)); // holds the replacement
        slot();
        BOOST_TEST(runs == 2);
    }
    BOOST_TEST(owned.use_count() == 1);
}

BOOST_AUTO_TEST_CASE(a_task_runs_its_job_once_or_discards_it_and_a_job_it_refers_to_costs_no_allocation) {
    struct CountingJob final : respool::Task::Job {
        int runs = 0, discards = 0;
        void run_once() override { ++runs; }
        void discard() noexcept override { ++discards; }
    };
    CountingJob ran, dropped, replaced;
    bool a_empty = false, b_empty = false, c_held = false, c_ended = false;
    {
        FailAllocations fail(1); // a Task referring to a Job, moved around, run and dropped: nothing may allocate
        respool::Task a(ran);
        respool::Task b(std::move(a));
        respool::Task c(replaced);
        c = std::move(b); // ends `replaced` unrun
        a_empty = !a;
        b_empty = !b;
        c_held = static_cast<bool>(c);
        c();
        c_ended = !c;
        respool::Task unrun(dropped);
    }
    BOOST_TEST(a_empty);
    BOOST_TEST(b_empty);
    BOOST_TEST(c_held);
    BOOST_TEST(c_ended);
    BOOST_TEST(ran.runs == 1);
    BOOST_TEST(ran.discards == 0);
    BOOST_TEST(replaced.discards == 1);
    BOOST_TEST(dropped.discards == 1);
    BOOST_TEST(dropped.runs == 0);

    // A callable is kept on the heap and ended exactly once, run, dropped or throwing.
    auto owned = std::make_shared<int>(1);
    int calls = 0;
    {
        respool::Task run([owned, &calls] { ++calls; });
        respool::Task moved(std::move(run));
        moved();
        respool::Task dropped_unrun([owned, &calls] { ++calls; });
    }
    BOOST_TEST(calls == 1);
    BOOST_TEST(owned.use_count() == 1);
    struct Throws {
        std::shared_ptr<int> owned;
        void operator()() { throw std::runtime_error("job failed"); }
    };
    respool::Task throwing(Throws{owned});
    BOOST_CHECK_THROW(throwing(), std::runtime_error);
    BOOST_CHECK(!throwing);
    BOOST_TEST(owned.use_count() == 1);
}
