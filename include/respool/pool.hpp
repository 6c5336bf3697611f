#pragma once
#ifndef RESPOOL_POOL_HPP_INCLUDED
#define RESPOOL_POOL_HPP_INCLUDED
// Pool: a thread-safe pool of resources made by a Factory, checked by a Validator, with a lock-free checkout path.
#include <chrono>
#include <concepts>
#include <exception>
#include <stop_token>
#include <system_error>
#include <type_traits>
#include <utility>

#include "acquire_awaitable.hpp"
#include "concepts.hpp"
#include "detail/fork_generation.hpp"
#include "detail/pool_core.hpp"
#include "errors.hpp"
#include "events.hpp"
#include "lease.hpp"
#include "policies/always_valid.hpp"
#include "policies/clocks.hpp"
#include "source_location.hpp"
#include "pool_options.hpp"
#include "pool_stats.hpp"
#include "task.hpp"

namespace respool {

// Resources are created on demand up to pool_size + max_overflow, kept up to pool_size, checked on checkout
// (pre_ping), cleaned on return (the validator's reset hook) and replaced when older than recycle.
//
// Thread safety: every member function may be called from any thread at once, except construction, destruction and
// move, which need exclusive access to the Pool object. Leases may outlive the Pool: their resources are destroyed
// when they end.
template <class Resource, ResourceFactory<Resource> Factory, ResourceValidator<Resource> Validator = AlwaysValid,
          PoolClock Clock = policies::SteadyClock, PoolEvents Events = NoEvents>
class Pool {
    using Core = detail::PoolCore<Resource, Factory, Validator, Clock, Events>;

public:
    using resource_type = Resource;
    using factory_type = Factory;
    using validator_type = Validator;
    using clock_type = Clock;
    using events_type = Events;
    using Lease = respool::Lease<Core>;

    static_assert(!MisdeclaredReset<Validator, Resource>,
                  "respool: Validator::reset(Resource&) must return bool (true keeps the resource) or void");
    static_assert(!MisdeclaredKeepalive<Validator, Resource>,
                  "respool: Validator::keepalive(Resource&) must return bool (true keeps the resource) or void");

    // Creates no resource yet. Throws std::invalid_argument naming the first invalid option. The policies may be
    // left out from the end, each then value-initialised: Pool(options, factory) is Pool(options, factory,
    // Validator{}, Clock{}, Events{}). A policy type that cannot be value-initialised must be given, and a Pool of it
    // is not default-constructible (std::is_default_constructible_v is false, not a hard error, on every compiler).
    explicit Pool(PoolOptions options, Factory factory, Validator validator, Clock clock, Events events)
        : core_(make_core(options, std::move(factory), std::move(validator), std::move(clock), std::move(events))) {}
    explicit Pool(PoolOptions options, Factory factory, Validator validator, Clock clock)
        requires std::is_default_constructible_v<Events>
        : Pool(options, std::move(factory), std::move(validator), std::move(clock), Events{}) {}
    explicit Pool(PoolOptions options, Factory factory, Validator validator)
        requires std::is_default_constructible_v<Clock> && std::is_default_constructible_v<Events>
        : Pool(options, std::move(factory), std::move(validator), Clock{}, Events{}) {}
    explicit Pool(PoolOptions options, Factory factory)
        requires std::is_default_constructible_v<Validator> && std::is_default_constructible_v<Clock> &&
                 std::is_default_constructible_v<Events>
        : Pool(options, std::move(factory), Validator{}, Clock{}, Events{}) {}
    explicit Pool(PoolOptions options = {})
        requires std::is_default_constructible_v<Factory> && std::is_default_constructible_v<Validator> &&
                 std::is_default_constructible_v<Clock> && std::is_default_constructible_v<Events>
        : Pool(options, Factory{}, Validator{}, Clock{}, Events{}) {}

    Pool(Pool&& other) noexcept : core_(std::exchange(other.core_, nullptr)) {}
    Pool& operator=(Pool&& other) noexcept {
        if (this != &other) {
            release();
            core_ = std::exchange(other.core_, nullptr);
        }
        return *this;
    }
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;

    // Closes the pool (see close()). Leases still out stay valid; their resources are destroyed when they end.
    ~Pool() { release(); }

    // A resource, waiting up to options().timeout for one when all are leased and the pool is full.
    // Blocks while waiting and while the factory creates or the validator checks. Throws TimeoutError,
    // PoolClosedError, or the factory's exception unchanged.
    // `where` (the caller's location, filled in by default) is kept only for leak reports.
    Lease acquire(SourceLocation where = SourceLocation::current()) {
        return core().acquire(detail::WaitLimit::for_(core().options().timeout), nullptr, nullptr, where);
    }
    Lease acquire(std::error_code& ec, SourceLocation where = SourceLocation::current()) {
        return core().acquire(detail::WaitLimit::for_(core().options().timeout), nullptr, &ec, where);
    }
    // As acquire(), also stopped by `stop` (CancelledError / errc::cancelled).
    Lease acquire(std::stop_token stop, SourceLocation where = SourceLocation::current()) {
        return core().acquire(detail::WaitLimit::for_(core().options().timeout), &stop, nullptr, where);
    }
    Lease acquire(std::stop_token stop, std::error_code& ec,
                  SourceLocation where = SourceLocation::current()) {
        return core().acquire(detail::WaitLimit::for_(core().options().timeout), &stop, &ec, where);
    }

    // As acquire(), waiting at most `wait` (0: not at all; milliseconds::max(): forever).
    Lease acquire_for(std::chrono::milliseconds wait, SourceLocation where = SourceLocation::current()) {
        return core().acquire(detail::WaitLimit::for_(wait), nullptr, nullptr, where);
    }
    Lease acquire_for(std::chrono::milliseconds wait, std::error_code& ec,
                      SourceLocation where = SourceLocation::current()) {
        return core().acquire(detail::WaitLimit::for_(wait), nullptr, &ec, where);
    }
    Lease acquire_for(std::chrono::milliseconds wait, std::stop_token stop,
                      SourceLocation where = SourceLocation::current()) {
        return core().acquire(detail::WaitLimit::for_(wait), &stop, nullptr, where);
    }
    Lease acquire_for(std::chrono::milliseconds wait, std::stop_token stop, std::error_code& ec,
                      SourceLocation where = SourceLocation::current()) {
        return core().acquire(detail::WaitLimit::for_(wait), &stop, &ec, where);
    }

    // As acquire(), waiting until `deadline` (real time).
    Lease acquire_until(std::chrono::steady_clock::time_point deadline,
                        SourceLocation where = SourceLocation::current()) {
        return core().acquire(detail::WaitLimit::until(deadline), nullptr, nullptr, where);
    }
    Lease acquire_until(std::chrono::steady_clock::time_point deadline, std::error_code& ec,
                        SourceLocation where = SourceLocation::current()) {
        return core().acquire(detail::WaitLimit::until(deadline), nullptr, &ec, where);
    }
    Lease acquire_until(std::chrono::steady_clock::time_point deadline, std::stop_token stop,
                        SourceLocation where = SourceLocation::current()) {
        return core().acquire(detail::WaitLimit::until(deadline), &stop, nullptr, where);
    }
    Lease acquire_until(std::chrono::steady_clock::time_point deadline, std::stop_token stop, std::error_code& ec,
                        SourceLocation where = SourceLocation::current()) {
        return core().acquire(detail::WaitLimit::until(deadline), &stop, &ec, where);
    }

    // A free resource, or a new one when there is room; an empty Lease when all are leased and the pool is full.
    // Never waits for a holder (but may block in create() or validate()). Throws PoolClosedError or the factory's
    // exception.
    Lease try_acquire(SourceLocation where = SourceLocation::current()) {
        return core().try_acquire(nullptr, where);
    }
    Lease try_acquire(std::error_code& ec, SourceLocation where = SourceLocation::current()) {
        return core().try_acquire(&ec, where);
    }

    // An idle resource (validated with pre_ping, as any checkout), or an empty Lease when none is idle: never
    // creates one and never waits. Blocks only in validate(). Throws PoolClosedError.
    Lease try_acquire_idle(SourceLocation where = SourceLocation::current()) {
        return core().try_acquire_idle(nullptr, where);
    }
    Lease try_acquire_idle(std::error_code& ec, SourceLocation where = SourceLocation::current()) {
        return core().try_acquire_idle(&ec, where);
    }

    // ---- asynchronous acquire ------------------------------------------------------------------------------------
    // Never blocks the calling thread. The result goes to `handler(std::exception_ptr error, Lease lease)`, called
    // exactly once from a Task handed to `executor` (any callable taking a respool::Task, e.g. a thread pool's post),
    // never inline in this call nor inside another thread's lease return or close(). That task also runs the blocking
    // parts, validate() and create(). Waiters are served from the same FIFO as blocking acquires. `error` is what the
    // blocking form would throw (TimeoutError, PoolClosedError, CancelledError, the factory's exception); a resource
    // already granted to an acquire that is cancelled, or whose task is destroyed unrun, goes back to the pool.
    template <class Executor, class Handler>
        requires std::invocable<Executor&, Task> && std::invocable<Handler&, std::exception_ptr, Lease>
    void async_acquire(Executor executor, Handler handler) {
        core().async_acquire(detail::WaitLimit::for_(core().options().timeout), nullptr, std::move(executor),
                             std::move(handler));
    }
    template <class Executor, class Handler>
        requires std::invocable<Executor&, Task> && std::invocable<Handler&, std::exception_ptr, Lease>
    void async_acquire_for(std::chrono::milliseconds wait, Executor executor, Handler handler) {
        core().async_acquire(detail::WaitLimit::for_(wait), nullptr, std::move(executor), std::move(handler));
    }
    template <class Executor, class Handler>
        requires std::invocable<Executor&, Task> && std::invocable<Handler&, std::exception_ptr, Lease>
    void async_acquire_until(std::chrono::steady_clock::time_point deadline, Executor executor, Handler handler) {
        core().async_acquire(detail::WaitLimit::until(deadline), nullptr, std::move(executor), std::move(handler));
    }
    // As above, also stopped by `stop` (the handler gets CancelledError).
    template <class Executor, class Handler>
        requires std::invocable<Executor&, Task> && std::invocable<Handler&, std::exception_ptr, Lease>
    void async_acquire_until(std::chrono::steady_clock::time_point deadline, std::stop_token stop, Executor executor,
                             Handler handler) {
        core().async_acquire(detail::WaitLimit::until(deadline), &stop, std::move(executor), std::move(handler));
    }

    // For C++20 coroutines: `Lease lease = co_await pool.async_acquire(executor);` resumes on `executor` with the
    // lease, or throws as acquire() does. Destroying the suspended coroutine cancels the acquire safely.
    template <class Executor>
        requires std::invocable<Executor&, Task>
    AcquireAwaitable<Lease> async_acquire(Executor executor) {
        return async_acquire_until(detail::deadline_after(core().options().timeout), std::move(executor));
    }
    template <class Executor>
        requires std::invocable<Executor&, Task>
    AcquireAwaitable<Lease> async_acquire_for(std::chrono::milliseconds wait, Executor executor) {
        return async_acquire_until(detail::deadline_after(wait), std::move(executor));
    }
    template <class Executor>
        requires std::invocable<Executor&, Task>
    AcquireAwaitable<Lease> async_acquire_until(std::chrono::steady_clock::time_point deadline, Executor executor) {
        return AcquireAwaitable<Lease>(
            [core = &core(), deadline, executor = std::move(executor)](
                std::stop_token stop, typename AcquireAwaitable<Lease>::Handler handler) mutable {
                core->async_acquire(detail::WaitLimit::until(deadline), &stop, std::move(executor), std::move(handler));
            });
    }

    // A snapshot of sizes and running totals. Never blocks; O(pool_size + max_overflow).
    PoolStats stats() const noexcept { return core().stats(); }

    // Every resource that exists now is replaced: idle ones at their next checkout, leased ones when they return.
    // Never blocks.
    void invalidate_all() noexcept { core().invalidate_all(); }

    // Waiters and later acquires get PoolClosedError; idle resources are destroyed now, on this thread; leased ones
    // when they come back. Idempotent.
    void close() noexcept { core().close(); }

    // close(), then waits until every leased resource has come back and been destroyed, or until `deadline`.
    // true when the pool is empty. Blocks.
    bool drain_until(std::chrono::steady_clock::time_point deadline) noexcept {
        core().close();
        return core().wait_drained(deadline);
    }
    bool drain_for(std::chrono::milliseconds wait) noexcept { return drain_until(detail::deadline_after(wait)); }

    // One maintenance pass on this thread, as the background thread runs it when keepalive, idle_timeout or min_idle
    // are set: validates idle resources due for keepalive, destroys those idle past idle_timeout (down to min_idle),
    // creates up to min_idle. Never touches a leased resource. Blocks while it validates or creates.
    void maintain() noexcept { core().maintain(); }

    const PoolOptions& options() const noexcept { return core().options(); }

private:
    static Core* make_core(PoolOptions& options, Factory&& factory, Validator&& validator, Clock&& clock,
                           Events&& events) {
        options.validate();
        return new Core(options, std::move(factory), std::move(validator), std::move(clock), std::move(events));
    }

    // The core, or in a child process after fork() a fresh one: the child never uses, nor closes, the resources it
    // inherited (closing a connection would end the parent's session). The inherited core is left untouched. The
    // check is one load; the child's first call must not race another child thread's.
    Core& core() const noexcept {
        assert(core_ && "precondition: the pool was not moved from");
        if (core_->inherited_through_fork()) [[unlikely]]
            start_afresh_after_fork();
        return *core_;
    }

    void start_afresh_after_fork() const noexcept {
        if constexpr (std::is_copy_constructible_v<Factory> && std::is_copy_constructible_v<Validator> &&
                      std::is_copy_constructible_v<Events>) {
            try {
                Core* inherited = std::exchange(core_, core_->clone_for_child()); // given up, never freed
                detail::keep_reachable_in_child(inherited);
                return;
            } catch (...) {
                // out of memory in the child: fall through
            }
        }
        // No fresh core (policies that cannot be copied): the child's copy of the inherited one is closed, without
        // destroying anything, so acquires there get PoolClosedError instead of the parent's resources.
        core_->close_in_child();
    }

    void release() noexcept {
        if (!core_) return;
        if (core_->inherited_through_fork()) { // the parent's: never close or free it here
            detail::keep_reachable_in_child(std::exchange(core_, nullptr));
            return;
        }
        core_->close();
        std::exchange(core_, nullptr)->release_owner();
    }

    mutable Core* core_;
};

} // namespace respool
#endif // RESPOOL_POOL_HPP_INCLUDED
