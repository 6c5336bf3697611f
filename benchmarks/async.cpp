// Asynchronous acquire: one thread takes a trivial resource (an int) and gives it back, over and over, through the
// asynchronous forms, against the blocking acquire() measured in the same run.
//
// Contenders, every one touching the int it holds; the resource is created before measuring:
//   blocking          Pool::acquire() and the lease's end: the baseline every ratio is taken against.
//   try_acquire       Pool::try_acquire(): the same path without the deadline (a reference).
//   generic_callback  Pool::async_acquire(executor, handler), the executor a trivial inline queue (a std::vector of
//                     respool::Task that the loop below drains on this thread); the handler ends the lease and starts
//                     the next acquire, so the queue always holds one task.
//   generic_awaitable `co_await pool.async_acquire(executor)` in a minimal coroutine, on the same queue.
//   asio_callback     respool::asio::async_acquire(pool, io.get_executor(), handler) on an io_context run by this
//                     thread; the handler starts the next acquire.
//   asio_awaitable    `co_await respool::asio::async_acquire(pool, use_awaitable)` in a coroutine co_spawned on the
//                     io_context (what AsyncConnectionPool::async_acquire does underneath).
//   References, not contenders: queue_floor (one respool::Task made, queued and run: the least the generic form pays
//   for its executor) and asio_post_floor (one boost::asio::post of the next step: the least any Asio completion pays).
//
// Method (docs/benchmarks.md): one benchmark iteration runs every contender once for `batch_ops` operations, in an
// order that rotates between iterations, so that load from other processes falls on all of them; ns/op is each
// contender's total time over its total operations. Heap allocations per operation are counted in a separate, untimed
// pass (a replaced global operator new counting on a thread_local, which every contender pays alike).
#include <utility> // before Asio: Boost 1.74's Asio uses std::exchange without including it

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <respool/asio.hpp>
#include <respool/pool.hpp>

#include <array>
#include <chrono>
#include <coroutine>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <iomanip>
#include <new>
#include <string>
#include <vector>

#include "bench_support.hpp"

// ---- counting heap allocations ------------------------------------------------------------------------------------

namespace {
thread_local std::uint64_t allocations = 0; // this thread's operator new calls; read around an untimed pass
} // namespace

void* operator new(std::size_t size) {
    ++allocations;
    if (void* p = std::malloc(size ? size : 1)) return p;
    throw std::bad_alloc();
}
// Not inlined: inlined into a caller, GCC 12 pairs the free() with the operator new it sees there and warns
// (-Wmismatched-new-delete), though replacing both with malloc/free is exactly what the standard allows.
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

using respool_bench::Clock;

constexpr int iterations = 50;           // interleaved rounds
constexpr std::uint64_t batch_ops = 20'000; // operations per contender per round
constexpr std::uint64_t counting_ops = 1'000;

struct IntFactory {
    int create() { return 42; }
};
using IntPool = respool::Pool<int, IntFactory>;
using IntLease = IntPool::Lease;

IntPool warmed_pool() {
    IntPool pool(respool::PoolOptions{.timeout = std::chrono::seconds(30)});
    { auto lease = pool.acquire(); }
    return pool;
}

// ---- the trivial inline executor of the generic form -----------------------------------------------------------------

// Tasks handed to the pool's executor, run by drain() on this thread. Here only one is ever queued at a time (each
// run queues the next), so the order does not matter and the vector never grows past one.
struct InlineQueue {
    std::vector<respool::Task> tasks;

    void drain() {
        while (!tasks.empty()) {
            respool::Task task = std::move(tasks.back());
            tasks.pop_back();
            task();
        }
    }
};

struct QueueExecutor {
    InlineQueue* queue;
    void operator()(respool::Task task) const { queue->tasks.push_back(std::move(task)); }
};

// A coroutine that starts at once and frees itself at its end: enough to co_await an AcquireAwaitable.
struct Detached {
    struct promise_type {
        Detached get_return_object() noexcept { return {}; }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_never final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::terminate(); }
    };
};

// ---- the contenders: each runs `n` operations and returns how many failed -------------------------------------------

struct Bench {
    IntPool pool = warmed_pool();
    InlineQueue queue;
    boost::asio::io_context io{1};
    std::uint64_t failures = 0;

    void blocking(std::uint64_t n) {
        for (std::uint64_t i = 0; i < n; ++i) {
            auto lease = pool.acquire();
            benchmark::DoNotOptimize(++*lease);
        }
    }

    void try_acquire(std::uint64_t n) {
        for (std::uint64_t i = 0; i < n; ++i) {
            auto lease = pool.try_acquire();
            if (!lease) {
                ++failures;
                continue;
            }
            benchmark::DoNotOptimize(++*lease);
        }
    }

    // The handler ends the lease, then starts the next acquire: the queue always holds the one task in flight.
    void generic_start(std::uint64_t remaining) {
        pool.async_acquire(QueueExecutor{&queue}, [this, remaining](std::exception_ptr error, IntLease lease) {
            if (error) ++failures;
            else benchmark::DoNotOptimize(++*lease);
            lease.reset();
            if (remaining > 1) generic_start(remaining - 1);
        });
    }
    void generic_callback(std::uint64_t n) {
        generic_start(n);
        queue.drain();
    }

    Detached awaiting_loop(std::uint64_t n) {
        for (std::uint64_t i = 0; i < n; ++i) {
            try {
                auto lease = co_await pool.async_acquire(QueueExecutor{&queue});
                benchmark::DoNotOptimize(++*lease);
            } catch (const std::exception&) {
                ++failures;
            }
        }
    }
    void generic_awaitable(std::uint64_t n) {
        awaiting_loop(n);
        queue.drain();
    }

    void asio_start(std::uint64_t remaining) {
        respool::asio::async_acquire(pool, io.get_executor(),
                                     [this, remaining](std::exception_ptr error, IntLease lease) {
                                         if (error) ++failures;
                                         else benchmark::DoNotOptimize(++*lease);
                                         lease.reset();
                                         if (remaining > 1) asio_start(remaining - 1);
                                     });
    }
    void asio_callback(std::uint64_t n) {
        asio_start(n);
        io.restart();
        io.run();
    }

    boost::asio::awaitable<void> asio_loop(std::uint64_t n) {
        for (std::uint64_t i = 0; i < n; ++i) {
            try {
                auto lease = co_await respool::asio::async_acquire(pool, boost::asio::use_awaitable);
                benchmark::DoNotOptimize(++*lease);
            } catch (const std::exception&) {
                ++failures;
            }
        }
    }
    void asio_awaitable(std::uint64_t n) {
        boost::asio::co_spawn(io, asio_loop(n), boost::asio::detached);
        io.restart();
        io.run();
    }

    // References.
    void queue_floor(std::uint64_t n) {
        std::uint64_t remaining = n;
        std::uint64_t value = 0;
        auto step = [&](auto& self) -> void {
            queue.tasks.push_back(respool::Task([&] {
                benchmark::DoNotOptimize(++value);
                if (--remaining > 0) self(self);
            }));
        };
        step(step);
        queue.drain();
    }

    void asio_post_step(std::uint64_t remaining) {
        boost::asio::post(io, [this, remaining] {
            benchmark::DoNotOptimize(remaining);
            if (remaining > 1) asio_post_step(remaining - 1);
        });
    }
    void asio_post_floor(std::uint64_t n) {
        asio_post_step(n);
        io.restart();
        io.run();
    }
};

enum Contender {
    blocking,
    try_acquire,
    generic_callback,
    generic_awaitable,
    asio_callback,
    asio_awaitable,
    queue_floor,
    asio_post_floor,
    contender_count
};
constexpr std::array<const char*, contender_count> contender_names{
    "blocking",      "try_acquire",    "generic_callback", "generic_awaitable",
    "asio_callback", "asio_awaitable", "queue_floor",      "asio_post_floor"};

void run(Bench& b, int which, std::uint64_t n) {
    switch (which) {
    case blocking: return b.blocking(n);
    case try_acquire: return b.try_acquire(n);
    case generic_callback: return b.generic_callback(n);
    case generic_awaitable: return b.generic_awaitable(n);
    case asio_callback: return b.asio_callback(n);
    case asio_awaitable: return b.asio_awaitable(n);
    case queue_floor: return b.queue_floor(n);
    default: return b.asio_post_floor(n);
    }
}

void async_acquire_return(benchmark::State& state) {
    Bench b;
    std::array<double, contender_count> seconds{};
    std::array<double, contender_count> allocs_per_op{};
    for (int c = 0; c < contender_count; ++c) { // untimed: warms every path up and counts its allocations
        const std::uint64_t before = allocations;
        run(b, c, counting_ops);
        allocs_per_op[static_cast<std::size_t>(c)] = double(allocations - before) / double(counting_ops);
    }
    int first = 0;
    std::uint64_t rounds = 0;
    for (auto _ : state) {
        double blocking_seconds = 0;
        for (int k = 0; k < contender_count; ++k) {
            const int which = (first + k) % contender_count;
            const Clock::time_point t0 = Clock::now();
            run(b, which, batch_ops);
            const double s = std::chrono::duration<double>(Clock::now() - t0).count();
            seconds[static_cast<std::size_t>(which)] += s;
            if (which == blocking) blocking_seconds = s;
        }
        first = (first + 1) % contender_count;
        ++rounds;
        state.SetIterationTime(blocking_seconds); // the time column is the blocking batch, not the result
    }
    const double ops = double(rounds) * double(batch_ops);
    const double blocking_ns = seconds[blocking] * 1e9 / ops;
    for (int c = 0; c < contender_count; ++c) {
        const std::string name = contender_names[static_cast<std::size_t>(c)];
        const double ns = seconds[static_cast<std::size_t>(c)] * 1e9 / ops;
        state.counters[name + "_ns"] = ns;
        state.counters[name + "_ratio"] = ns / blocking_ns;
        state.counters[name + "_allocs"] = allocs_per_op[static_cast<std::size_t>(c)];
    }
    state.counters["failures"] = double(b.failures);
}

BENCHMARK(async_acquire_return)->Iterations(iterations)->UseManualTime()->Unit(benchmark::kMicrosecond);

void summary(const respool_bench::Collected& c, std::ostream& out) {
    for (const auto& entry : c.counters) {
        const std::string& name = entry.first;
        auto get = [&](const std::string& key) { return c.median_counter(name, key); };
        out << "  " << name << " (" << c.repetitions(name) << " reps, " << iterations << " interleaved rounds of "
            << batch_ops << " ops each)\n";
        out << "    " << std::left << std::setw(20) << "contender" << std::right << std::setw(10) << "ns/op"
            << std::setw(14) << "/ blocking" << std::setw(14) << "allocs/op" << "\n";
        for (const char* contender : contender_names) {
            const std::string k = contender;
            out << "    " << std::left << std::setw(20) << k << std::right << std::fixed << std::setprecision(1)
                << std::setw(10) << get(k + "_ns") << std::setprecision(2) << std::setw(14) << get(k + "_ratio")
                << std::setprecision(1) << std::setw(14) << get(k + "_allocs") << "\n";
        }
        out << "    failures: " << std::setprecision(0) << get("failures") << "\n";
    }
}

} // namespace

int main(int argc, char** argv) {
    return respool_bench::run_main(argc, argv, summary);
}
