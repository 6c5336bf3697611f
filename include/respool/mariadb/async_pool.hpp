#pragma once
#ifndef RESPOOL_MARIADB_ASYNC_POOL_HPP_INCLUDED
#define RESPOOL_MARIADB_ASYNC_POOL_HPP_INCLUDED
// AsyncConnectionPool: a pool of AsyncConnections for C++20 coroutines, and make_async_pool.
#include <utility> // before Asio: Boost 1.74's Asio uses std::exchange without including it

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <string_view>
#include <system_error>
#include <vector>

#include "../asio.hpp"
#include "../detail/fill_backoff.hpp"
#include "../pool.hpp"
#include "../pool_options.hpp"
#include "../pool_stats.hpp"
#include "async_connection.hpp"
#include "async_factory.hpp"
#include "async_lease.hpp"
#include "async_validator.hpp"
#include "connect_options.hpp"
#include "detail/connect_turns.hpp"
#include "detail/url.hpp"
#include "make_pool.hpp"
#include "validator_options.hpp"

namespace respool::mariadb {

namespace detail {

// Connects a connection the pool just made and runs its init statements, holding one of the pool's max_connecting
// turns meanwhile (waiting for it until `deadline`). A connection whose set-up does not complete (connecting or an
// init statement failed, the wait for a turn timed out or was cancelled, the pool closed, or the coroutine was
// destroyed) is destroyed, never pooled: the next acquire makes a new one, as the blocking pool does. A connect or
// init statement that fails counts in `failed_connects`. Suspends; never blocks. Throws Error, TimeoutError,
// PoolClosedError or CancelledError. `turns`, `failed_connects` and `lease` must outlive the call.
inline boost::asio::awaitable<void> set_up(ConnectTurns& turns, std::atomic<std::uint64_t>& failed_connects,
                                           AsyncCorePool::Lease& lease,
                                           std::chrono::steady_clock::time_point deadline) {
    struct DestroyUnlessSetUp {
        AsyncCorePool::Lease& lease;
        bool set_up = false;
        ~DestroyUnlessSetUp() {
            if (!set_up) lease.invalidate();
        }
    } guard{lease};
    const ConnectTurns::Turn turn = co_await turns.async_take(deadline);
    try {
        co_await lease->async_connect();
    } catch (const Error&) {
        failed_connects.fetch_add(1, std::memory_order_relaxed); // relaxed: a statistic
        throw;
    }
    guard.set_up = true;
}

// What an AsyncConnectionPool shares with the coroutines it starts and with its factory: the core pool, the
// max_connecting turns, and the min_idle fill. The pool object owns it; a coroutine in flight keeps it alive after
// the pool object is gone, and then finds no core pool.
//
// The fill (min_idle). The core's maintenance thread makes connections ahead of demand, but AsyncFactory::create()
// does no I/O, so they arrive unconnected; the factory tells this object, which posts a fill to the pool's executor.
// The fill takes up to min_idle idle connections out, gives the connected ones straight back, and sets up the others
// there, under the max_connecting turns, before they go back idle. It makes none itself (the maintenance thread
// decides how many exist): the factory speaks while the new connection is still being made, so a fill that finds no
// unconnected one looks again a few times, 1, 2, 4 and 8 ms later. A failed set-up requests no fill, and the fills
// after it set nothing up for a while that doubles with each failure in a row (from one maintenance period up to
// 30 s; the first maintenance pass after it requests the fill), so a server that refuses connections is not asked
// several times a second for as long as it is down; a set-up that succeeds (an acquire's too) ends the wait. Until
// the executor runs, the connections stay unconnected and idle; an acquire that takes one connects it.
//
// Thread safety: every member may be called from any thread.
class AsyncPoolShared final : public CreationListener, public std::enable_shared_from_this<AsyncPoolShared> {
public:
    using CoreLease = AsyncCorePool::Lease;

    AsyncPoolShared(boost::asio::any_io_executor pool_executor, const PoolOptions& pool_options,
                    const ValidatorOptions& validator)
        : options(pool_options), validator_options(validator),
          turns(std::make_shared<ConnectTurns>(pool_options.max_connecting)), executor_(std::move(pool_executor)) {}
    AsyncPoolShared(const AsyncPoolShared&) = delete;
    AsyncPoolShared& operator=(const AsyncPoolShared&) = delete;

    // The shared state with its core pool. Throws std::invalid_argument naming an invalid PoolOptions field.
    static std::shared_ptr<AsyncPoolShared> make(boost::asio::any_io_executor executor, ConnectOptions connect,
                                                 const PoolOptions& pool_options,
                                                 const ValidatorOptions& validator_options) {
        pool_options.validate(); // as given: the core below never sees max_connecting
        auto shared = std::make_shared<AsyncPoolShared>(executor, pool_options, validator_options);
        PoolOptions core_options = pool_options;
        core_options.max_connecting = 0; // the core's create() does no I/O; `turns` bounds the set-ups instead
        {
            // Held while the core starts: its maintenance thread may make a connection, and the fill that requests
            // waits here until the core is in place.
            std::lock_guard lock(shared->mutex_);
            shared->pool_ = std::make_unique<AsyncCorePool>(
                core_options,
                AsyncFactory(std::move(executor), std::move(connect), std::weak_ptr<CreationListener>(shared)),
                AsyncValidator(validator_options));
        }
        shared->request_fill(); // a fill requested before the core was in place found nothing to do
        return shared;
    }

    // The core pool. Only for the pool object that owns this, which alone may end it (shutdown()).
    AsyncCorePool& core() noexcept {
        assert(pool_ && "precondition: the pool was not moved from");
        return *pool_;
    }

    // Later acquires get PoolClosedError, and so do set-ups waiting for a turn. Idempotent.
    void close() noexcept {
        turns->close();
        core().close();
    }

    // The pool object ends: closes and destroys the core pool (on this thread, outside the lock, so that a fill
    // never waits for the maintenance thread to stop).
    void shutdown() noexcept {
        turns->close();
        std::unique_ptr<AsyncCorePool> ending;
        {
            std::lock_guard lock(mutex_);
            ending = std::move(pool_);
        }
    }

    // After each maintenance pass of the core: a fill that the backoff held back is requested once the wait is over.
    // No timer: nothing keeps the executor busy while the server is down.
    void maintenance_pass() noexcept override {
        {
            std::lock_guard lock(mutex_);
            if (!backoff_.backing_off() || !backoff_.allows(std::chrono::steady_clock::now())) return;
        }
        request_fill();
    }

    void connection_created() noexcept override {
        if (filling_on_this_thread_ == this) return; // the fill's own: it sets it up already
        // relaxed: a budget; the fill's exchange of fill_requested_ orders what it reads after this store.
        looks_left_.store(max_looks, std::memory_order_relaxed);
        request_fill();
    }

    // A set-up (the fill's or an acquire's) connected: the fill may try again at once. Never blocks for long.
    void set_up_succeeded() noexcept {
        bool was_backing_off = false;
        {
            std::lock_guard lock(mutex_);
            was_backing_off = backoff_.backing_off();
            backoff_.succeeded();
        }
        if (was_backing_off) request_fill();
    }

    const PoolOptions options; // as given (the core's max_connecting is 0)
    const ValidatorOptions validator_options;
    const std::shared_ptr<ConnectTurns> turns;
    // Set-ups whose connect or init statements failed: the blocking pool's failed creations.
    std::atomic<std::uint64_t> failed_connects{0};

private:
    // Posts a fill to the pool's executor unless one is pending. Never blocks; never throws.
    void request_fill() noexcept {
        if (options.min_idle == 0) return;
        // acq_rel: a request that finds a fill pending is ordered before that fill's reset of the flag, so the fill
        // looks at the pool after the request; pairs with the exchange in fill().
        if (fill_requested_.exchange(true, std::memory_order_acq_rel)) return;
        try {
            boost::asio::post(executor_, [self = shared_from_this()] { self->fill(); });
        } catch (...) {
            // relaxed: nothing was posted, so there is nothing to publish; the next request tries again.
            fill_requested_.store(false, std::memory_order_relaxed);
        }
    }

    // On the pool's executor.
    void fill() noexcept {
        // acq_rel: pairs with the exchange in request_fill(); reset before looking, so a later request posts again.
        fill_requested_.exchange(false, std::memory_order_acq_rel);
        try {
            std::vector<CoreLease> to_set_up;
            bool short_of_min_idle = false;
            std::uint64_t round = 0;
            {
                std::lock_guard lock(mutex_);
                if (!pool_) return;
                if (!backoff_.allows(std::chrono::steady_clock::now())) return; // maintenance_pass() asks again
                filling_on_this_thread_ = this;
                struct Unmark {
                    ~Unmark() { filling_on_this_thread_ = nullptr; }
                } unmark;
                to_set_up = take_for_fill(*pool_, short_of_min_idle);
                setting_up_ += to_set_up.size();
                round = ++fill_round_;
            }
            for (CoreLease& lease : to_set_up) start_set_up(std::move(lease), round);
            if (short_of_min_idle) look_again_later();
        } catch (...) {
            // Out of memory: connections taken go back unconnected; the next maintenance pass requests a fill again.
        }
    }

    // A set-up of fill `round` failed: the fills after it wait (see the class comment). The set-ups of one fill count
    // once, however far apart they fail (one after another under max_connecting, each up to connect_timeout).
    void set_up_failed(std::uint64_t round) noexcept {
        const auto now = std::chrono::steady_clock::now();
        std::lock_guard lock(mutex_);
        backoff_.failed_in_round(round, now, options.maintenance_period());
    }

    // A connection announced by the factory may not be idle yet: another fill in 1, 2, 4 or 8 ms, while the budget
    // that the last announcement set lasts.
    void look_again_later() {
        // relaxed: a budget, counted down by fills only, which the executor runs one after another per request.
        const int left = looks_left_.load(std::memory_order_relaxed);
        if (left <= 0) return;
        looks_left_.store(left - 1, std::memory_order_relaxed);
        auto timer = std::make_shared<boost::asio::steady_timer>(executor_,
                                                                 std::chrono::milliseconds(1 << (max_looks - left)));
        timer->async_wait([self = shared_from_this(), timer](const boost::system::error_code& error) {
            if (!error) self->request_fill();
        });
    }

    // Holds mutex_. The unconnected connections to set up among up to 2 x min_idle idle ones: while fewer than
    // min_idle are connected or being set up. The connected ones go straight back; unconnected ones beyond that are
    // destroyed: the core tops its idle set up while set-ups are out of it, so it may have made up to min_idle more
    // than needed, placeholders that would only overstate the pool's size. `short_of_min_idle`: fewer than min_idle
    // were connected or being set up. Nothing while callers wait: each makes and connects its own.
    std::vector<CoreLease> take_for_fill(AsyncCorePool& core, bool& short_of_min_idle) {
        const PoolStats seen = core.stats();
        std::vector<CoreLease> to_set_up, connected, surplus;
        if (seen.waiting > 0) return to_set_up;
        std::size_t ready = setting_up_;
        std::size_t idle_left = std::min(seen.idle, 2 * options.min_idle);
        while (idle_left > 0) {
            std::error_code ec;
            // An idle one, never a new one: idle ones may be out for a moment (a maintenance pass, a caller), and
            // the maintenance thread alone decides how many exist.
            CoreLease lease = core.try_acquire_idle(ec);
            if (!lease) break;
            --idle_left;
            if (lease->is_connected()) {
                connected.push_back(std::move(lease));
                ++ready;
            } else if (ready < options.min_idle) {
                to_set_up.push_back(std::move(lease));
                ++ready;
            } else {
                surplus.push_back(std::move(lease));
            }
            if (ready >= options.min_idle && seen.idle <= options.min_idle) break; // nothing more to look at
        }
        short_of_min_idle = ready < options.min_idle;
        for (CoreLease& lease : surplus) lease.invalidate();
        surplus.clear(); // destroyed here, before the connected ones go back
        // Back so that the order stays: a stack gave its top first (so it goes back last), a ring its oldest first.
        if (options.order == CheckoutOrder::lifo)
            for (auto it = connected.rbegin(); it != connected.rend(); ++it) it->reset();
        else
            for (CoreLease& lease : connected) lease.reset();
        return to_set_up;
    }

    void start_set_up(CoreLease lease, std::uint64_t round) noexcept {
        try {
            boost::asio::co_spawn(executor_, set_up_idle(shared_from_this(), std::move(lease), round),
                                  boost::asio::detached);
        } catch (...) {
            // Could not start it: `lease` (if still here) destroys the connection; the count goes down.
            lease.invalidate();
            (void)end_set_up();
        }
    }

    static boost::asio::awaitable<void> set_up_idle(std::shared_ptr<AsyncPoolShared> self, CoreLease lease,
                                                    std::uint64_t round) {
        bool connected = false;
        try {
            co_await set_up(*self->turns, self->failed_connects, lease, std::chrono::steady_clock::time_point::max());
            connected = true;
        } catch (...) {
            // set_up() destroyed the connection; the maintenance thread's next pass makes another.
        }
        if (connected)
            self->set_up_succeeded();
        else
            self->set_up_failed(round);
        lease.reset(); // connected: back idle, before the count goes down, so that no fill counts it as missing
        // The last set-up back connected: one more look, for placeholders the core made while the set-ups were out.
        if (self->end_set_up() && connected) self->request_fill();
    }

    // true when no set-up is left.
    bool end_set_up() noexcept {
        std::lock_guard lock(mutex_);
        return --setting_up_ == 0;
    }

    // The fill running on this thread, if any: the connections it makes request no other fill.
    static inline thread_local const AsyncPoolShared* filling_on_this_thread_ = nullptr;

    boost::asio::any_io_executor executor_;
    static constexpr int max_looks = 4;
    std::atomic<bool> fill_requested_{false}; // a fill is posted and has not started yet
    std::atomic<int> looks_left_{0};          // fills that may still look again for an announced connection
    std::mutex mutex_;                        // guards pool_'s existence for the fill, and setting_up_
    std::unique_ptr<AsyncCorePool> pool_;
    std::size_t setting_up_ = 0; // connections a fill took to set up, not back yet
    respool::detail::FillBackoff backoff_; // guarded by mutex_
    std::uint64_t fill_round_ = 0;         // fills run past the backoff so far, each a round; guarded by mutex_
};

} // namespace detail

// The same PoolOptions and ValidatorOptions as ConnectionPool, over the generic Pool and its asynchronous acquire:
// `AsyncLease lease = co_await pool.async_acquire();` never blocks the thread. A new connection is connected with
// co_await before it is handed out, at most max_connecting at once; with pre_ping, an idle one gets the validator's
// socket peek and, when idle at least ValidatorOptions::ping_after, an awaited COM_PING (at most read_timeout, else
// 1 s, for its answer); one that fails or does not answer in time is destroyed and the acquire tries again, so the
// caller sees no error from a connection that died while idle. With min_idle, the connections made ahead of demand
// are connected on the pool's executor.
//
// Thread safety: as Pool: every member may be called from any thread. The pool must outlive its acquires in flight
// and must not move while they run; destroy it (and every lease) before the io_context its executor belongs to.
class AsyncConnectionPool {
public:
    using Lease = AsyncLease;
    using CorePool = AsyncCorePool;
    template <class T>
    using Awaitable = boost::asio::awaitable<T>;

    // Connects to nothing yet; never blocks. `executor` runs the connections' socket waits and the min_idle fill
    // (usually the io_context's). Throws std::invalid_argument naming an invalid PoolOptions field.
    AsyncConnectionPool(boost::asio::any_io_executor executor, ConnectOptions options, PoolOptions pool_options = {},
                        ValidatorOptions validator_options = {})
        : shared_(detail::AsyncPoolShared::make(std::move(executor), std::move(options), pool_options,
                                                validator_options)) {}

    AsyncConnectionPool(AsyncConnectionPool&&) noexcept = default;
    AsyncConnectionPool& operator=(AsyncConnectionPool&& other) noexcept {
        if (this != &other) {
            end();
            shared_ = std::move(other.shared_);
        }
        return *this;
    }
    AsyncConnectionPool(const AsyncConnectionPool&) = delete;
    AsyncConnectionPool& operator=(const AsyncConnectionPool&) = delete;

    // Closes the pool (see close()) and waits for its maintenance thread to stop. Leases still out stay valid.
    ~AsyncConnectionPool() { end(); }

    // A connected connection, waiting up to options().timeout for one when all are leased and the pool is full.
    // A new one is connected first (bounded by connect_timeout, not by the timeout); with max_connecting, waiting for
    // a turn to connect does count against the timeout. Suspends; never blocks. Resumes on the awaiting coroutine's
    // executor. Throws TimeoutError, PoolClosedError, or Error from connecting a new connection or running its init
    // statements (e.g. 1045 access denied, with the server's message); that connection is destroyed.
    Awaitable<AsyncLease> async_acquire() { return async_acquire_until(respool::detail::deadline_after(options().timeout)); }

    // As async_acquire(), waiting at most `wait` for a free connection.
    Awaitable<AsyncLease> async_acquire_for(std::chrono::milliseconds wait) {
        return async_acquire_until(respool::detail::deadline_after(wait));
    }

    // As async_acquire(), waiting until `deadline`.
    Awaitable<AsyncLease> async_acquire_until(std::chrono::steady_clock::time_point deadline) {
        const std::shared_ptr<detail::AsyncPoolShared> shared = shared_; // its turns outlive this call
        const auto executor = co_await boost::asio::this_coro::executor;
        const ResetMode reset = shared->validator_options.reset;
        for (;;) {
            CorePool::Lease lease = co_await respool::asio::async_acquire_until(shared->core(), deadline, executor,
                                                                                boost::asio::use_awaitable);
            AsyncConnection& c = *lease;
            if (!c.is_connected()) {
                co_await detail::set_up(*shared->turns, shared->failed_connects, lease, deadline);
                shared->set_up_succeeded(); // the server answers: a fill backing off may try again
                co_return AsyncLease(std::move(lease), reset);
            }
            if (!shared->options.pre_ping || !ping_due(c, shared->validator_options))
                co_return AsyncLease(std::move(lease), reset);
            bool alive = false;
            try {
                co_await c.async_ping(detail::ping_limit(c.options())); // a server that stopped answering
                alive = true;                                          // holds no acquire for longer
            } catch (const Error& e) {
                if (e.is_disconnect() && shared->validator_options.disconnect_invalidates_pool)
                    shared->core().invalidate_all();
            }
            if (alive) co_return AsyncLease(std::move(lease), reset);
            lease.invalidate(); // dead while idle: try another (a new one is not pinged, so this ends)
        }
    }

    // The core pool's statistics, where `timeouts` also counts acquires that timed out waiting for a max_connecting
    // turn and `create_failures` counts connects and init statements that failed. The core makes each connection
    // unconnected, so `created` and `destroyed` count those that failed too: every counter only ever grows.
    PoolStats stats() const noexcept {
        PoolStats st = shared_->core().stats();
        st.timeouts += shared_->turns->timeouts();
        st.create_failures += shared_->failed_connects.load(std::memory_order_relaxed); // relaxed: a statistic
        return st;
    }
    // The options as given (core().options() differs: its max_connecting is 0, the limit being applied here).
    const PoolOptions& options() const noexcept { return shared_->options; }
    const ValidatorOptions& validator_options() const noexcept { return shared_->validator_options; }
    // Every connection that exists now is replaced: idle ones at their next checkout, leased ones when they return.
    void invalidate_all() noexcept { shared_->core().invalidate_all(); }
    // Later acquires get PoolClosedError, and so do acquires waiting for a turn to connect; idle connections are
    // closed now (a COM_QUIT write each). A set-up under way completes.
    void close() noexcept { shared_->close(); }
    // The generic pool underneath. Its options() has max_connecting 0: AsyncConnectionPool bounds the set-ups.
    CorePool& core() noexcept { return shared_->core(); }

private:
    static bool ping_due(const AsyncConnection& c, const ValidatorOptions& validator) noexcept {
        const auto after = validator.ping_after;
        return after != std::chrono::milliseconds::max() && AsyncConnection::Clock::now() - c.last_used() >= after;
    }

    void end() noexcept {
        if (shared_) std::exchange(shared_, nullptr)->shutdown();
    }

    std::shared_ptr<detail::AsyncPoolShared> shared_;
};

// An AsyncConnectionPool; as make_pool(ConnectOptions, PoolOptions, ValidatorOptions), including turning pre_ping on
// (pings off, socket peek only) for disconnect_invalidates_pool. Never blocks.
inline AsyncConnectionPool make_async_pool(boost::asio::any_io_executor executor, ConnectOptions options,
                                           PoolOptions pool_options = {}, ValidatorOptions validator_options = {}) {
    if (validator_options.disconnect_invalidates_pool && !pool_options.pre_ping) {
        pool_options.pre_ping = true;
        validator_options.ping_after = std::chrono::milliseconds::max();
    }
    return AsyncConnectionPool(std::move(executor), std::move(options), pool_options, validator_options);
}

// An AsyncConnectionPool from a mariadb:// URL, with the keys make_pool(url) reads. Never blocks. Throws
// std::invalid_argument naming the malformed part or the unknown key.
inline AsyncConnectionPool make_async_pool(boost::asio::any_io_executor executor, std::string_view url) {
    ConnectOptions options = ConnectOptions::from_url(url);
    PoolOptions pool_options;
    ValidatorOptions validator_options;
    detail::apply_pool_keys(detail::split_url(url), pool_options, validator_options);
    return make_async_pool(std::move(executor), std::move(options), pool_options, validator_options);
}

} // namespace respool::mariadb
#endif // RESPOOL_MARIADB_ASYNC_POOL_HPP_INCLUDED
