// 10,000 asynchronous acquires, cancelled or timed out at random points, some of whose deliveries an executor drops
// unrun, mixed with blocking acquires: afterwards nothing is leased or waiting, and everything created is destroyed.
// Run with the default queue and with fair_queue.
#define BOOST_TEST_MODULE async_stress
#include <boost/test/unit_test.hpp>

#include <respool/respool.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <memory>
#include <mutex>
#include <random>
#include <stop_token>
#include <thread>
#include <vector>

#include "fake_resource.hpp"
#include "test_seed.hpp"

using namespace std::chrono_literals;
using respool_test::Fake;
using respool_test::FakeFactory;
using respool_test::FakeValidator;
using respool_test::seed_from_env;
using StressPool = respool::Pool<Fake, FakeFactory, FakeValidator>;

namespace {

// A small thread pool; it drops (destroys unrun) a task now and then, as an executor that shuts down would.
class WorkerExecutor {
public:
    WorkerExecutor(int threads, std::uint64_t seed) : state_(std::make_shared<State>()) {
        state_->rng.seed(seed);
        for (int i = 0; i < threads; ++i) workers_.emplace_back([s = state_](std::stop_token stop) { s->loop(stop); });
    }
    ~WorkerExecutor() {
        for (auto& w : workers_) w.request_stop();
        state_->ready.notify_all();
    }

    struct State;
    // The executor handed to the pool: a copyable handle that queues a task.
    struct Post {
        std::shared_ptr<State> state;
        void operator()(respool::Task task) const {
            {
                std::lock_guard lock(state->mutex);
                state->tasks.push_back(std::move(task));
            }
            state->ready.notify_one();
        }
    };
    Post post() const { return Post{state_}; }

    long dropped() const { return state_->dropped.load(); }

    struct State {
        std::mutex mutex;
        std::condition_variable_any ready;
        std::deque<respool::Task> tasks;
        std::mt19937_64 rng;
        std::atomic<long> dropped{0};

        void loop(std::stop_token stop) {
            for (;;) {
                respool::Task task;
                bool drop = false;
                {
                    std::unique_lock lock(mutex);
                    if (!ready.wait(lock, stop, [&] { return !tasks.empty(); })) return;
                    task = std::move(tasks.front());
                    tasks.pop_front();
                    drop = rng() % 50 == 0;
                }
                if (drop) {
                    dropped.fetch_add(1);
                    continue; // `task` is destroyed unrun
                }
                task();
            }
        }
    };

private:
    std::shared_ptr<State> state_;
    std::vector<std::jthread> workers_;
};

void run_async_stress(bool fair_queue) {
    const std::uint64_t seed = seed_from_env();
    BOOST_TEST_MESSAGE("seed " << seed << " (set RESPOOL_TEST_SEED to repeat)");
    constexpr int total = 10'000;
    FakeFactory factory;
    std::atomic<long> completed{0}, leased{0}, timeouts{0}, cancelled{0}, shared_holds{0};
    long dropped = 0;
    {
        StressPool pool({.pool_size = 4, .max_overflow = 2, .pre_ping = true, .fair_queue = fair_queue}, factory,
                        FakeValidator{factory.script});
        {
            WorkerExecutor executor(2, seed);
            std::mt19937_64 rng(seed);
            std::vector<std::stop_source> stops;
            std::jthread blocking([&](std::stop_token stop) { // a blocking user on the same FIFO
                while (!stop.stop_requested()) {
                    std::error_code ec;
                    auto lease = pool.acquire_for(2ms, ec);
                }
            });
            for (int i = 0; i < total; ++i) {
                auto handler = [&](std::exception_ptr error, StressPool::Lease lease) {
                    if (lease) {
                        leased.fetch_add(1);
                        if (lease->holders->fetch_add(1) != 0) shared_holds.fetch_add(1);
                        if (lease->holders->fetch_sub(1) != 1) shared_holds.fetch_add(1);
                    } else {
                        try {
                            std::rethrow_exception(error);
                        } catch (const respool::TimeoutError&) {
                            timeouts.fetch_add(1);
                        } catch (const respool::CancelledError&) {
                            cancelled.fetch_add(1);
                        } catch (...) {
                        }
                    }
                    completed.fetch_add(1);
                };
                const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(rng() % 3000);
                stops.emplace_back();
                pool.async_acquire_until(deadline, stops.back().get_token(), executor.post(), handler);
                // Cancel a random earlier acquire: it may be queued, granted, delivering or finished.
                if (rng() % 3 == 0) stops[rng() % stops.size()].request_stop();
            }
            for (auto& s : stops) s.request_stop();
            // Every acquire ends either in its handler or in a dropped delivery.
            const auto give_up = std::chrono::steady_clock::now() + 120s;
            while (completed.load() + executor.dropped() < total && std::chrono::steady_clock::now() < give_up)
                std::this_thread::yield();
            blocking.request_stop();
            blocking.join();
            dropped = executor.dropped();
            BOOST_TEST(completed.load() + dropped == total);
        } // executor joined
        const auto st = pool.stats();
        BOOST_TEST(st.in_use == 0u);
        BOOST_TEST(st.waiting == 0u);
        BOOST_TEST(st.size <= 6u);
    }
    BOOST_TEST_MESSAGE("leased " << leased << ", timeouts " << timeouts << ", cancelled " << cancelled << ", dropped "
                                 << dropped << ", created " << factory.script->created);
    BOOST_TEST(shared_holds.load() == 0);
    BOOST_TEST(leased.load() > 0);
    BOOST_TEST(timeouts.load() + cancelled.load() > 0);
    BOOST_TEST(factory.script->max_alive.load() <= 6);
    BOOST_TEST(factory.script->alive.load() == 0);
    BOOST_TEST(factory.script->created.load() == factory.script->destroyed.load());
}

} // namespace

BOOST_AUTO_TEST_CASE(ten_thousand_async_acquires_cancelled_or_timed_out_lose_nothing) { run_async_stress(false); }

// The same where every queued caller bars newcomers from the moment it queues.
BOOST_AUTO_TEST_CASE(the_same_with_a_fair_queue) { run_async_stress(true); }
