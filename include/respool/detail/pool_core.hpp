#pragma once
#ifndef RESPOOL_DETAIL_POOL_CORE_HPP_INCLUDED
#define RESPOOL_DETAIL_POOL_CORE_HPP_INCLUDED
// The shared state behind a Pool and its leases. It outlives the Pool object while leases are out: it is freed by
// whichever of the Pool and the last resource lets go of it last.
//
// How a resource moves
//   - Every resource lives in one slot of a fixed array of pool_size + max_overflow slots. A slot with no resource is
//     "room": it sits on room_ until a checkout pops it and creates a resource in it. Owning a slot is the only way
//     to create, so at most that many resources exist, counted from create() to the end of destroy().
//   - Checkout pops a slot from idle_ (lock-free); return pushes it back. The push and pop CAS the same word that
//     holds the waiters / starving / closed flags, so a return learns in the same step whether it must take the
//     slow path; a waiter raises the flag, then looks again, so no return can slip past it unseen.
//   - Waiters sleep on their own condition variable in a FIFO under mutex_. While nobody has waited longer than
//     handoff_after (0 with fair_queue), a return only wakes the first waiter and newcomers may take the resource
//     first (throughput); after that, returns hand resources to waiters directly in order and newcomers queue (no
//     starvation).
// Lifetime
//   - refs_ counts the Pool object plus every resource that exists. A lease's return touches this object only
//     while its resource still counts, or under mutex_: so the last release can free it safely.
#include <atomic>
#include <bit>
#include <cassert>
#include <chrono>
#include <cstdint>
#include <algorithm>
#include <array>
#include <condition_variable>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <cstdio>
#include <stop_token>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "../concepts.hpp"
#include "../errors.hpp"
#include "../events.hpp"
#include "../lease.hpp"
#include "../pool_options.hpp"
#include "../pool_stats.hpp"
#include "../source_location.hpp"
#include "../task.hpp"
#include "affinity_cache.hpp"
#include "connect_gate.hpp"
#include "deadline.hpp"
#include "fill_backoff.hpp"
#include "fork_generation.hpp"
#include "idle_set.hpp"
#include "index_stack.hpp"
#include "parked_groups.hpp"
#include "unique_function.hpp"
#include "waiter_list.hpp"

namespace respool::detail {

// How long a checkout may wait: a deadline, or a duration from the moment waiting starts. The duration form lets a
// checkout that finds a free resource skip reading the clock altogether.
struct WaitLimit {
    TimePoint deadline{};
    std::chrono::milliseconds duration{};
    bool relative = false;

    static WaitLimit until(TimePoint d) noexcept { return {d, {}, false}; }
    static WaitLimit for_(std::chrono::milliseconds w) noexcept { return {{}, w, true}; }
    TimePoint resolve() const noexcept { return relative ? deadline_after(duration) : deadline; }
};

// Who holds a slot. `parked` and `returning` belong to the affinity fast path (LIFO only):
//   leased --(returner: seq_cst store)--> returning --(returner: release store)--> parked
//   parked --(owner's next checkout, or any stealer: acquire CAS)--> leased
// A parked slot is idle but not in the idle set; `returning` is the returner's window for checking the flags, during
// which nobody else may touch the slot.
enum class SlotState : std::uint8_t { room, creating, idle, leased, returning, parked };

template <class Resource>
struct alignas(64) alignas(Resource) Slot { // a cache line or more each: neighbours are leased by different threads
    std::optional<Resource> resource;
    TimePoint created_at{};
    TimePoint expires_at = TimePoint::max(); // created_at + recycle - jitter
    std::uint64_t generation = 0;            // invalidate_all() count when created
    std::chrono::nanoseconds keepalive_jitter{}; // this resource's keepalive comes this much early
    // Checkout bookkeeping, written only when events or leak detection need it. relaxed: read racily by the leak
    // scan, which trusts them only if leak_word did not change meanwhile (see report_leaks()).
    std::atomic<std::int64_t> checked_out_at{0};
    std::atomic<const char*> where_file{""};
    std::atomic<const char*> where_function{""};
    std::atomic<std::uint_least32_t> where_line{0};
    // Leak detection: 0 while not leased; else (checkout number << 1) | reported.
    std::atomic<std::uint64_t> leak_word{0};
    std::uint64_t checkouts = 0; // owner only
    // Clock ticks when last returned (or created); written only when idle time matters (keepalive, idle_timeout).
    // relaxed: written by the holder before the push that publishes the slot; also read racily by the maintenance
    // scan, which only uses it to decide whether to look closer.
    std::atomic<std::int64_t> returned_at{0};
    // Clock ticks of the last keepalive check that passed (or of creation); as returned_at. Kept apart from it:
    // keepalive counts from the last contact with the resource, idle_timeout from its last use.
    std::atomic<std::int64_t> kept_alive_at{0};
    // Mostly relaxed: stats() reads a snapshot, and the slot's data is published by idle_/room_. The parked and
    // returning transitions are the exception: they transfer ownership (see SlotState).
    std::atomic<SlotState> state{SlotState::room};
};

// T, spelled as a type that depends on `On`: a member declared with it is instantiated only with its class template.
template <class T, class On>
struct Dependent {
    using type = T;
};

// What a checkout brings along for its events and leak detection.
struct CheckoutContext {
    SourceLocation where;
    std::optional<TimePoint> wait_started; // the pool's clock when it first found nothing free
};

// What a checkout found.
struct Take {
    enum class Kind : std::uint8_t { nothing, idle, room, closed, timed_out, cancelled } kind = Kind::nothing;
    std::uint32_t slot = 0;
};

// One asynchronous acquire. Shared by the caller's stop callback, the waiter FIFO (through `self` while queued) and
// the task that delivers its result; the fields below `handler` are guarded by the core's mutex_.
template <class Core>
struct AsyncOp final : Waiter {
    using LeaseType = typename Core::LeaseType;

    // Takes one reference on `owner`, dropped when the last holder of the op lets go.
    AsyncOp(Core* owner, typename Core::PostFunction post_to,
            UniqueFunction<void(std::exception_ptr, LeaseType)> complete, WaitLimit wait)
        : core(owner), post(std::move(post_to)), handler(std::move(complete)), limit(wait) {
        is_async = true;
        core->add_ref();
    }
    ~AsyncOp() {
        on_stop.reset(); // unregister (waiting for a running callback) while the core is surely alive
        core->release_owner();
    }
    AsyncOp(const AsyncOp&) = delete;
    AsyncOp& operator=(const AsyncOp&) = delete;

    Core* core;
    // Member types that depend on Core are instantiated with a pool that uses them, not in every including file.
    typename Core::PostFunction post;
    UniqueFunction<void(std::exception_ptr, LeaseType)> handler;
    WaitLimit limit;                     // resolved into `deadline` only when the op has to wait
    TimePoint deadline = TimePoint::max();
    std::shared_ptr<AsyncOp> self;      // keeps the op alive while it sits in the waiter FIFO
    AsyncOp* next_out = nullptr;        // links ops taken out of the FIFO together for delivery (see OpsOut)
    typename Core::DeliveryJob delivery; // what carries its result to `post`, armed by the core's deliver()
    bool scheduled = false;             // a delivery task exists: the handler will be called by it
    bool granted_late = false;          // granted after `deadline` (its expiry was late): the delivery times it out
    typename Core::CancelReason cancel_reason; // cancelled after its delivery was scheduled: the delivery gives back
    std::optional<std::stop_callback<typename Core::StopHandler>> on_stop;
};

template <class Resource, class Factory, class Validator, class Clock, class Events = NoEvents>
class PoolCore {
public:
    using resource_type = Resource;
    using LeaseType = Lease<PoolCore>;
    using Op = AsyncOp<PoolCore>;
    using StopHandler = UniqueFunction<void()>; // what an asynchronous acquire's stop_token calls
    using PostFunction = UniqueFunction<void(Task)>;
    using CancelReason = std::optional<errc>;
    friend Op; // an op holds its DeliveryJob

    PoolCore(const PoolOptions& options, Factory factory, Validator validator, Clock clock, Events events = Events{})
        : user_options_(options), options_(within_clock_range(options)),
          capacity_(static_cast<std::uint32_t>(options.pool_size + options.max_overflow)),
          factory_(std::move(factory)), validator_(std::move(validator)), clock_(std::move(clock)),
          events_(std::move(events)),
          // Default-initialised, not zeroed: a slot's resource storage is not touched (so not committed) until a
          // resource is created in it; a large pool of large resources costs address space, not memory.
          slots_(std::make_unique_for_overwrite<Slot<Resource>[]>(capacity_)), idle_(options.order, capacity_),
          room_(capacity_) {
        for (std::uint32_t i = capacity_; i-- > 0;) room_.push(i); // slot 0 on top: low slots are used first
        if (options_.max_connecting > 0)
            connect_gate_ =
                std::make_unique<typename Dependent<ConnectGate, Resource>::type>(options_.max_connecting);
        if (options_.needs_maintenance() && options_.maintenance_thread)
            maintainer_ = std::thread([this] { maintenance_loop(); });
    }

    PoolCore(const PoolCore&) = delete;
    PoolCore& operator=(const PoolCore&) = delete;

    const PoolOptions& options() const noexcept { return user_options_; }
    Resource& resource(std::uint32_t slot) noexcept { return *slots_[slot].resource; }

    // ---- checkout ------------------------------------------------------------------------------------------------

    // A lease, or an empty one with `ec` set (when ec is given) or an exception (when not).
    // The deadline is real time; TimePoint::max() waits forever, one already past does not wait. The clock is read
    // only once nothing is free.
    LeaseType acquire(WaitLimit limit, const std::stop_token* stop, std::error_code* ec,
                      const SourceLocation& where = SourceLocation::current()) {
        if (ec) ec->clear(); // success leaves it clear; each failure below sets it
        // A closed pool says so first: on it every acquire reports pool_closed, a cancelled one included.
        if (stop && stop->stop_requested())
            return fail((idle_.flags_hint() & closed_flag) ? errc::pool_closed : errc::cancelled, ec);
        CheckoutContext context{where, std::nullopt};
        if (const std::uint32_t slot = take_own_parked(); slot != AffinityCache::none && check_out(slot))
            return hand_out(slot, context); // the fast path ends here
        std::optional<TimePoint> deadline;
        for (int attempt = 0;; ++attempt) {
            Take take = try_take(closed_flag | starving_flag);
            if (take.kind == Take::Kind::nothing) {
                if (!deadline) {
                    deadline = limit.resolve();
                    if constexpr (HasCheckoutHook<Events> || HasTimeoutHook<Events>) context.wait_started = clock_.now();
                }
                if (std::chrono::steady_clock::now() >= *deadline) return fail(errc::timeout, ec, &context);
                // Spinning lets a caller overtake the queue, and a yield is charged as a used time slice: among 32
                // threads over 8 connections on shared cores, these yields put a fair queue's 99.9th percentile at
                // 15-18 ms against 1.4-1.8 ms without them. A fair queue queues at once.
                if (attempt < spin_attempts && !options_.fair_queue) {
                    std::this_thread::yield(); // a short bounded spin: a holder elsewhere may be about to return
                    continue;
                }
                take = wait_for_slot(*deadline, stop);
            }
            switch (take.kind) {
            case Take::Kind::idle:
                if (check_out(take.slot)) return hand_out(take.slot, context);
                continue; // that one was stale and is gone; its room is free now
            case Take::Kind::room: return create_in(take.slot, ec, &context);
            case Take::Kind::closed: return fail(errc::pool_closed, ec);
            case Take::Kind::cancelled: return fail(errc::cancelled, ec);
            case Take::Kind::nothing:
            case Take::Kind::timed_out: return fail(errc::timeout, ec, &context);
            }
        }
    }

    // Never waits for a holder; may create.
    LeaseType try_acquire(std::error_code* ec, const SourceLocation& where = SourceLocation::current()) {
        if (ec) ec->clear(); // success, or nothing free, leaves it clear; each failure below sets it
        const CheckoutContext context{where, std::nullopt};
        if (const std::uint32_t slot = take_own_parked(); slot != AffinityCache::none && check_out(slot))
            return hand_out(slot, context);
        for (;;) {
            const Take take = try_take(closed_flag | starving_flag);
            switch (take.kind) {
            case Take::Kind::idle:
                if (check_out(take.slot)) return hand_out(take.slot, context);
                continue;
            case Take::Kind::room: return create_in(take.slot, ec, &context);
            case Take::Kind::closed: return fail(errc::pool_closed, ec);
            default:
                return LeaseType();
            }
        }
    }

    // Never waits and never creates: an idle resource or nothing.
    LeaseType try_acquire_idle(std::error_code* ec, const SourceLocation& where = SourceLocation::current()) {
        if (ec) ec->clear();
        const CheckoutContext context{where, std::nullopt};
        if (const std::uint32_t slot = take_own_parked(); slot != AffinityCache::none && check_out(slot))
            return hand_out(slot, context);
        for (;;) {
            const Take take = try_take(closed_flag | starving_flag, /*may_create=*/false);
            switch (take.kind) {
            case Take::Kind::idle:
                if (check_out(take.slot)) return hand_out(take.slot, context);
                continue; // that one was stale and is gone: look again
            case Take::Kind::closed: return fail(errc::pool_closed, ec);
            default: return LeaseType();
            }
        }
    }

    // ---- asynchronous checkout -----------------------------------------------------------------------------------

    // Starts an acquire that never blocks this thread. `handler(error, lease)` is called exactly once, always from a
    // task given to `post` (never inline here, nor inside another thread's return or close()). That task also runs
    // the blocking parts, validate() and create(). A task that is destroyed unrun gives its resource back.
    void async_acquire(WaitLimit limit, const std::stop_token* stop, UniqueFunction<void(Task)> post,
                       UniqueFunction<void(std::exception_ptr, LeaseType)> handler) {
        auto op = std::make_shared<Op>(this, std::move(post), std::move(handler), limit);
        if (stop) {
            if (stop->stop_requested()) { // a closed pool says so first, as in acquire()
                op->scheduled = true;
                const bool closed = idle_.flags_hint() & closed_flag;
                return deliver(std::move(op), {closed ? Take::Kind::closed : Take::Kind::cancelled, 0});
            }
            Op* raw = op.get();
            op->on_stop.emplace(*stop, UniqueFunction<void()>([this, raw] { cancel(*raw, errc::cancelled); }));
        }
        start(std::move(op));
    }

    // ---- return --------------------------------------------------------------------------------------------------

    // A lease ends. Never throws; the resource is kept, handed to a waiter or destroyed.
    void check_in(std::uint32_t slot, bool invalidated) noexcept {
        // In a child process after fork(): the resource belongs to the parent's session. Neither use nor close it.
        if (fork_generation_ != fork_generation()) return;
        Slot<Resource>& s = slots_[slot];
        if (times_checkouts_) report_checkin(s);
        if (invalidated) return destroy(slot, true, DestroyReason::invalidated);
        // No reset for one that goes anyway. (A close() this misses is seen when the return meets its flag.)
        if (idle_.flags_hint() & closed_flag) return destroy(slot, true, DestroyReason::closed);
        if (const auto why = staleness(s)) return destroy(slot, true, *why);
        if (!reset(s)) return destroy(slot, true, refusal_reason(s, DestroyReason::reset_failed));
        if (options_.max_overflow > 0 && above_pool_size() && claim_shrink())
            return destroy(slot, false, DestroyReason::overflow);
        if (tracks_idle_time_) s.returned_at.store(ticks(clock_.now()), std::memory_order_relaxed); // see Slot
        if (affinity_ && park(slot)) return; // the fast path ends here
        put_idle(slot);
    }

    // Makes a slot idle again: the lock-free push, or the slow path when waiters exist or the pool closed.
    void put_idle(std::uint32_t slot) noexcept {
        slots_[slot].state.store(SlotState::idle, std::memory_order_relaxed); // relaxed: see Slot::state
        if (idle_.push(slot, waiters_flag | starving_flag | closed_flag)) return; // the fast path ends here
        check_in_slow(slot);
    }

    // The lease's resource leaves the pool for good; its room becomes free. The lease ends here as at a return
    // (its checkin event; the leak scan forgets it). Throws what moving the resource throws, and then nothing has
    // changed; in a child process after fork(), std::logic_error: the resource is the parent's.
    Resource detach(std::uint32_t slot) {
        if (fork_generation_ != fork_generation())
            throw std::logic_error("respool: Lease::detach() in a child process after fork(): the resource belongs to "
                                   "the parent process");
        Slot<Resource>& s = slots_[slot];
        Resource out = std::move(*s.resource);
        s.resource.reset();
        if (times_checkouts_) report_checkin(s);
        alive_.fetch_sub(1, std::memory_order_relaxed); // relaxed: a count; nothing is published through it
        detached_.fetch_add(1, std::memory_order_relaxed); // relaxed: a statistic
        s.state.store(SlotState::room, std::memory_order_relaxed);
        release_room(slot);
        return out;
    }

    // ---- pool-wide -----------------------------------------------------------------------------------------------

    // One maintenance pass: keepalive validation and idle timeout of idle resources, then creation up to min_idle.
    // Leased resources are never touched. One pass at a time; a concurrent call returns at once.
    void maintain() noexcept { (void)run_pass(/*fill=*/true); }

    void invalidate_all() noexcept {
        // relaxed: applied lazily; a checkout that must see it is ordered after this call by the caller's own
        // synchronisation (or is on the same thread).
        generation_.fetch_add(1, std::memory_order_relaxed);
    }

    void close() noexcept {
        if (inherited_through_fork()) return close_in_child(); // the parent's resources: not ours to destroy
        OpsOut closed_ops;
        {
            std::lock_guard lock(mutex_);
            idle_.set_flags(closed_flag);
            waiters_.for_each([&](Waiter& w) {
                waiters_.remove(w);
                if (w.is_async) {
                    Op& op = static_cast<Op&>(w);
                    op.scheduled = true;
                    closed_ops.push(op);
                } else {
                    w.status = Waiter::Outcome::closed;
                    signal(w);
                }
            });
            waiting_.store(0, std::memory_order_relaxed); // relaxed: a statistic
            background_stop_ = true;
            deadline_wakeup_.notify_all();
            maintenance_wakeup_.notify_all();
        }
        // A maintenance pass may hold idle resources out to check them: wait for it (join the maintainer, or the
        // pass the application runs with maintain()) to put them back, so that they are destroyed below, before
        // close() returns. Not from inside that pass (a hook or a check calling close()), which would wait for itself:
        // what it holds out is destroyed when it puts it back, and the maintainer is joined by a later close() (the
        // Pool's destructor).
        const bool inside_pass = pass_threads_.contains(std::this_thread::get_id());
        join_background_threads(/*maintainer=*/!inside_pass);
        if (!inside_pass) {
            std::lock_guard pass_ended(maintenance_mutex_);
        }
        closed_ops.deliver_each(*this, {Take::Kind::closed, 0});
        // Outside the lock: destroy() takes it to report progress to drain().
        idle_.take_all_and_set(closed_flag, [&](std::uint32_t slot) { destroy(slot, true, DestroyReason::closed); });
        // Parked ones: every return that parks after this sees closed_flag and keeps its slot out (see park()).
        for (std::uint32_t slot; (slot = steal_parked(/*settle=*/true)) != AffinityCache::none;)
            destroy(slot, true, DestroyReason::closed);
    }

    // Waits until every resource is destroyed or the deadline passes; the pool must be closed.
    bool wait_drained(TimePoint deadline) noexcept {
        if (inherited_through_fork()) return true; // nothing of the child's own to wait for
        std::unique_lock lock(mutex_);
        auto drained = [&] { return refs_.load(std::memory_order_acquire) == 1; }; // acquire: pairs with release_ref
        if (deadline == TimePoint::max()) {
            drained_.wait(lock, drained);
            return true;
        }
        return drained_.wait_until(lock, deadline, drained);
    }

    // true in a child process forked after this was made: nothing here may be used there (see Pool::core()).
    bool inherited_through_fork() const noexcept { return fork_generation_ != fork_generation(); }

    // In a child process: refuse every checkout from now on, touching no resource. Only this process's copy of the
    // memory changes; the parent's pool is unaffected.
    void close_in_child() noexcept { idle_.set_flags(closed_flag); }

    // A fresh core with the same options and policies, for a child process to start afresh with.
    PoolCore* clone_for_child() const {
        return new PoolCore(user_options_, factory_, validator_, clock_, events_);
    }

    // The Pool object or an asynchronous op lets go; the last of them and the resources frees this.
    void release_owner() noexcept { release_ref(); }
    // An asynchronous op holds this alive; the caller already holds a reference (the Pool's).
    void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); } // relaxed: like shared_ptr's increment

    PoolStats stats() const noexcept {
        PoolStats st;
        for (std::uint32_t i = 0; i < capacity_; ++i) {
            switch (slots_[i].state.load(std::memory_order_relaxed)) { // relaxed: see Slot::state
            case SlotState::idle:
            case SlotState::parked: ++st.idle; break;
            case SlotState::leased:
            case SlotState::returning:
            case SlotState::creating: ++st.in_use; break;
            case SlotState::room: break;
            }
        }
        // relaxed below: independent statistics, read as a snapshot.
        st.size = alive_.load(std::memory_order_relaxed);
        st.waiting = waiting_.load(std::memory_order_acquire); // acquire: pairs with wait_for_slot's increment
        st.created = created_.load(std::memory_order_relaxed);
        st.destroyed = destroyed_.load(std::memory_order_relaxed);
        st.timeouts = timeouts_.load(std::memory_order_relaxed);
        st.create_failures = create_failures_.load(std::memory_order_relaxed);
        st.validation_failures = validation_failures_.load(std::memory_order_relaxed);
        st.recycled = recycled_.load(std::memory_order_relaxed);
        st.waits = waits_.load(std::memory_order_relaxed);
        st.detached = detached_.load(std::memory_order_relaxed);
        return st;
    }

private:
    // Looks at the idle set this many more times, yielding between, before sleeping: a holder on another core is
    // often about to return, and a sleep costs two context switches. Not with fair_queue (see acquire()).
    static constexpr int spin_attempts = 2;
    // Threads a maintenance pass starts to run its due keepalive checks at once, besides its own.
    static constexpr std::size_t max_keepalive_workers = 15;
    // With fair_queue, once queued, a waiter yields and looks again this many times before it sleeps. One yield lets
    // the thread just granted a resource run first, which costs less than a sleep; more take the CPU from holders
    // (32 threads over 8 MariaDB connections, the server on a core of its own: 1.10-1.20x the throughput of 32 raw
    // connections with one, 0.88-0.96x with eight, 0.88-0.90x with none).
    static constexpr int queued_spins = 1;

    // ---- taking a slot -------------------------------------------------------------------------------------------

    Take try_take(std::uint32_t refusing_flags, bool may_create = true) noexcept {
        if (const std::uint32_t slot = idle_.pop(refusing_flags); slot != IdleSet::nil) return {Take::Kind::idle, slot};
        if (idle_.flags_hint() & closed_flag) return {Take::Kind::closed, 0};
        if (idle_.flags_hint() & refusing_flags & starving_flag) return {}; // queue behind the starving waiter
        if (const std::uint32_t slot = steal_parked(false); slot != AffinityCache::none)
            return {Take::Kind::idle, slot}; // an idle resource another thread parked: better than creating one
        if (!may_create) return {};
        if (const std::uint32_t slot = take_room(/*under_lock=*/false); slot != IndexStack::nil)
            return {Take::Kind::room, slot};
        return {};
    }

    // ---- the affinity fast path (LIFO only) ----------------------------------------------------------------------

    // The slot this thread parked here on its last return, now leased to it; or none (none parked, or stolen).
    std::uint32_t take_own_parked() noexcept {
        if (!affinity_) return AffinityCache::none;
        AffinityCache::Entry* cached = affinity_cache.find(id_, this);
        if (!cached || cached->slot >= capacity_) return AffinityCache::none;
        const std::uint32_t slot = std::exchange(cached->slot, AffinityCache::none);
        if (idle_.flags_hint() & (starving_flag | closed_flag)) return AffinityCache::none; // left for the waiters
        SlotState expected = SlotState::parked;
        // acquire: sees the resource as its returner left it; pairs with the release store in park().
        if (slots_[slot].state.compare_exchange_strong(expected, SlotState::leased, std::memory_order_acquire,
                                                       std::memory_order_relaxed))
            return slot;
        return AffinityCache::none; // stolen by another thread meanwhile
    }

    // Keeps a returned slot for this thread's next checkout instead of pushing it to the idle set. Refuses (false,
    // and the slot is still the caller's) when anyone waits, a waiter starves or the pool closed.
    bool park(std::uint32_t slot) noexcept {
        if (AffinityCache::Entry* cached = affinity_cache.find(id_, this); cached && cached->slot < capacity_) {
            // The newer return takes the place: LIFO. The older one goes to the idle set, unless stolen already.
            const std::uint32_t older = std::exchange(cached->slot, AffinityCache::none);
            SlotState expected = SlotState::parked;
            // acquire: pairs with the release store in park() that parked it.
            if (slots_[older].state.compare_exchange_strong(expected, SlotState::leased, std::memory_order_acquire,
                                                            std::memory_order_relaxed))
                put_idle(older);
        }
        Slot<Resource>& s = slots_[slot];
        // seq_cst store then seq_cst load (in flags()): a waiter raises its flag, then looks for parked slots (seq_cst
        // loads in steal_parked). Either this load sees the flag, or the waiter sees `returning` and waits for it.
        s.state.store(SlotState::returning, std::memory_order_seq_cst);
        // After the store: see ParkedGroups. Tested on capacity_ (in a register here already), not on the groups.
        if (capacity_ > ParkedGroups::group_size) parked_groups_.mark(slot);
        if (idle_.flags() & (waiters_flag | starving_flag | closed_flag)) {
            s.state.store(SlotState::leased, std::memory_order_relaxed); // relaxed: still ours, nobody looks at it
            return false;
        }
        affinity_cache.claim(id_, this).slot = slot;
        // release: publishes the resource to whoever takes the slot next; pairs with the acquire CAS in
        // take_own_parked() and steal_parked(). The last touch of this object: a closer may free it right after.
        s.state.store(SlotState::parked, std::memory_order_release);
        return true;
    }

    // Takes any parked slot, leased to the caller; none when there is none. `settle`: also waits for slots in their
    // returner's `returning` window (waiters and close(), which must not miss one); newcomers skip them.
    std::uint32_t steal_parked(bool settle) noexcept {
        if (!affinity_) return AffinityCache::none;
        if (!settle && parked_groups_.enabled()) return steal_parked_by_group();
        for (std::uint32_t i = 0; i < capacity_; ++i) {
            std::atomic<SlotState>& state = slots_[i].state;
            // seq_cst: the waiter's half of the Dekker pattern in park().
            SlotState seen = state.load(std::memory_order_seq_cst);
            while (settle && seen == SlotState::returning) {
                std::this_thread::yield(); // the returner is a few instructions from parking or keeping it
                seen = state.load(std::memory_order_seq_cst);
            }
            if (seen != SlotState::parked) continue;
            // acquire: pairs with the release store in park().
            if (state.compare_exchange_strong(seen, SlotState::leased, std::memory_order_acquire,
                                              std::memory_order_relaxed))
                return i;
        }
        return AffinityCache::none;
    }

    // steal_parked(false) in a pool of more than one group of slots: only the groups whose bit is set are looked at,
    // each cleared first and set again if a slot other than the one taken is still parked or returning there (the
    // protocol in ParkedGroups). A newcomer that misses one (another looker clearing that group meanwhile) creates.
    [[gnu::noinline]] std::uint32_t steal_parked_by_group() noexcept { // off the checkout path's code
        constexpr std::uint32_t size = ParkedGroups::group_size;
        for (std::uint32_t w = 0; w < parked_groups_.words(); ++w) {
            for (std::uint64_t bits = parked_groups_.load(w); bits != 0; bits &= bits - 1) {
                const std::uint32_t group = w * 64 + static_cast<std::uint32_t>(std::countr_zero(bits));
                parked_groups_.clear(group);
                std::uint32_t taken = AffinityCache::none;
                bool others = false;
                const std::uint32_t end = std::min(capacity_, (group + 1) * size);
                for (std::uint32_t i = group * size; i < end; ++i) {
                    std::atomic<SlotState>& state = slots_[i].state;
                    SlotState seen = state.load(std::memory_order_seq_cst); // seq_cst: see ParkedGroups
                    // acquire: pairs with the release store in park(). relaxed on failure: the load above saw the
                    // slot parked, so a later park of it comes after this looker's clear and marks the bit again.
                    if (seen == SlotState::parked && taken == AffinityCache::none &&
                        state.compare_exchange_strong(seen, SlotState::leased, std::memory_order_acquire,
                                                      std::memory_order_relaxed)) {
                        taken = i;
                        continue;
                    }
                    others = others || seen == SlotState::parked || seen == SlotState::returning;
                }
                if (others) parked_groups_.set(group);
                if (taken != AffinityCache::none) return taken;
            }
        }
        return AffinityCache::none;
    }

    // Sleeps in the waiter FIFO until a slot is granted or found, the deadline passes, the pool closes or `stop`
    // fires.
    Take wait_for_slot(TimePoint deadline, const std::stop_token* stop) {
        Waiter self;
        auto cancel = [this, &self] {
            std::lock_guard lock(mutex_);
            self.cancel_requested = true;
            signal(self);
        };
        // Registered before taking the lock: a token already stopped runs `cancel` right here.
        std::optional<std::stop_callback<decltype(cancel)>> on_stop;
        if (stop) on_stop.emplace(*stop, cancel);
        std::unique_lock lock(mutex_);
        self.enqueued_at = clock_.now();
        waiters_.push_back(self);
        // Raise the flag (a seq_cst RMW), then look again (seq_cst loads). A return either saw the flag and comes to
        // mutex_, or pushed before it and the look below finds its slot (Dekker; pairs with check_in, whose push
        // the flag refuses, and with release_room's push-then-load).
        idle_.set_flags(queued_flags());
        // Counted once the flag is up. release: pairs with the acquire load in stats(), so a thread that sees the
        // waiter counted sees the flag too, and a return it makes then takes the slow path to the waiter.
        waiting_.fetch_add(1, std::memory_order_release);
        waits_.fetch_add(1, std::memory_order_relaxed);   // relaxed: a statistic
        int spins_left = options_.fair_queue ? queued_spins : 0;
        for (;;) {
            if (self.status == Waiter::Outcome::granted) {
                return {slots_[self.slot].resource ? Take::Kind::idle : Take::Kind::room, self.slot};
            }
            if (self.status == Waiter::Outcome::closed) return {Take::Kind::closed, 0};
            self.status = Waiter::Outcome::waiting; // woken or not, it looks now
            Take take = try_take_queued();
            if (take.kind != Take::Kind::nothing || self.cancel_requested ||
                std::chrono::steady_clock::now() >= deadline) {
                leave(self);
                if (take.kind != Take::Kind::nothing) return take;
                return {self.cancel_requested ? Take::Kind::cancelled : Take::Kind::timed_out, 0};
            }
            self.status = Waiter::Outcome::waiting;
            if (spins_left > 0) {
                // Queued, so in line for a handoff, but still running: a handoff to a thread that is awake costs no
                // wake-up, and a sleeper's wake-up latency is the resource's idle time. The spin takes no lock: it
                // looks again only when signalled or when the idle set seems to hold something.
                self.signalled.store(false, std::memory_order_relaxed); // relaxed: we hold the lock it is set under
                lock.unlock();
                // acquire: sees the grant made before the signal; pairs with the release store in signal().
                // Every round spends at least one spin: room can be there without a connect turn to use it
                // (max_connecting), and then each look fails while the loop would never run down.
                do {
                    --spins_left;
                    if (self.signalled.load(std::memory_order_acquire) || idle_.maybe_nonempty() || !room_.empty())
                        break;
                    std::this_thread::yield();
                } while (spins_left > 0);
                lock.lock();
                continue;
            }
            if (deadline == TimePoint::max())
                self.wakeup.wait(lock);
            else
                self.wakeup.wait_until(lock, deadline);
        }
    }

    // Tells a waiter its status changed: wakes it if asleep, and ends its spin if spinning. Holds mutex_.
    static void signal(Waiter& w) noexcept {
        w.signalled.store(true, std::memory_order_release); // release: pairs with the acquire load in wait_for_slot()
        w.wakeup.notify_one();
    }

    // A queued waiter's look: it may take what newcomers may not while others starve, and it never misses a push
    // that its flag did not refuse. Holds mutex_.
    Take try_take_queued() noexcept {
        if (const std::uint32_t slot = idle_.pop_settled(closed_flag); slot != IdleSet::nil)
            return {Take::Kind::idle, slot};
        if (idle_.flags() & closed_flag) return {Take::Kind::closed, 0};
        if (const std::uint32_t slot = steal_parked(true); slot != AffinityCache::none) return {Take::Kind::idle, slot};
        if (const std::uint32_t slot = take_room(/*under_lock=*/true); slot != IndexStack::nil)
            return {Take::Kind::room, slot};
        return {};
    }

    // Room to create in, with its connect turn when max_connecting is set; nil when either is lacking (the caller
    // then waits in the FIFO like any other). `under_lock`: the caller holds mutex_, so no queued waiter is between
    // its look and its sleep, and the turn held here for a moment cannot have turned one away.
    std::uint32_t take_room(bool under_lock) noexcept {
        if (!connect_gate_) return room_.pop();
        if (!connect_gate_->try_acquire()) return IndexStack::nil;
        const std::uint32_t slot = room_.pop();
        if (slot == IndexStack::nil) {
            connect_gate_->release();
            if (!under_lock) wake_for_room(); // a waiter may have found no turn while this one held it
        }
        return slot;
    }

    // A create() ended: its connect turn is free again for a waiter that found none.
    void release_turn() noexcept {
        if (!connect_gate_) return;
        connect_gate_->release(); // seq_cst, then the seq_cst flag load below: Dekker with wait_for_slot's flag raise
        wake_for_room();
    }

    // Grants room (with a turn) to the first waiter, if anyone waits and both are there.
    void wake_for_room() noexcept {
        if (!(idle_.flags() & waiters_flag)) return;
        std::unique_lock lock(mutex_);
        Handoffs handoffs;
        if (!waiters_.empty()) {
            if (const std::uint32_t slot = take_room(/*under_lock=*/true); slot != IndexStack::nil)
                grant_front(slot, handoffs);
            update_waiter_flags(clock_.now());
        }
        lock.unlock();
        deliver_all(handoffs);
    }

    // The flags a caller raises as it queues. A fair queue raises starving_flag at once (handoff_after is 0 there):
    // from then on no newcomer takes idle resources or room, not even one freed in the moment between its release
    // and the grant to the first waiter.
    std::uint32_t queued_flags() const noexcept {
        return options_.fair_queue ? waiters_flag | starving_flag : waiters_flag;
    }

    // Removes a waiter that gives up or took a slot itself. Holds mutex_.
    void leave(Waiter& w) noexcept {
        if (!w.enqueued) return;
        waiters_.remove(w);
        waiting_.fetch_sub(1, std::memory_order_relaxed); // relaxed: a statistic
        update_waiter_flags(clock_.now());
    }

    // Keeps the flags true to the FIFO: waiters_flag while anyone waits, starving_flag while the first one has waited
    // past handoff_after. Holds mutex_.
    void update_waiter_flags(TimePoint now) noexcept {
        if (waiters_.empty()) return idle_.clear_flags(waiters_flag | starving_flag);
        if (now - waiters_.front()->enqueued_at >= options_.handoff_after)
            idle_.set_flags(starving_flag);
        else
            idle_.clear_flags(starving_flag);
    }

    // Asynchronous waiters taken out of the FIFO under mutex_ (expired, or the pool closed), to be delivered after it
    // is unlocked. Linked through the ops themselves, each still owned by its `self`, so that collecting them in a
    // noexcept path allocates nothing. Kept in FIFO order.
    class OpsOut {
    public:
        void push(Op& op) noexcept {
            op.next_out = nullptr;
            (tail_ ? tail_->next_out : head_) = &op;
            tail_ = &op;
        }
        bool empty() const noexcept { return head_ == nullptr; }
        // Delivers each with `take`, in order. Outside mutex_.
        void deliver_each(PoolCore& core, Take take) noexcept {
            for (Op* op = std::exchange(head_, nullptr); op != nullptr;) {
                Op* next = std::exchange(op->next_out, nullptr); // read first: the delivery may end the op
                core.deliver(std::move(op->self), take);
                op = next;
            }
            tail_ = nullptr;
        }

    private:
        Op* head_ = nullptr;
        Op* tail_ = nullptr;
    };

    // Asynchronous waiters granted a slot under mutex_; their deliveries are posted after it is unlocked (a post may
    // run the task inline). At most two per lock: a handoff and a wake-up passed on.
    struct Handoffs {
        std::shared_ptr<Op> op[2];
        Take take[2];
        int count = 0;
    };

    void deliver_all(Handoffs& handoffs) noexcept {
        for (int i = 0; i < handoffs.count; ++i) deliver(std::move(handoffs.op[i]), handoffs.take[i]);
    }

    // Gives `slot` (a resource, or room for one) to waiter `w`. Holds mutex_.
    void grant(Waiter& w, std::uint32_t slot, Handoffs& handoffs) noexcept {
        waiters_.remove(w);
        waiting_.fetch_sub(1, std::memory_order_relaxed); // relaxed: a statistic
        w.slot = slot;
        w.status = Waiter::Outcome::granted;
        if (w.is_async) {
            Op& op = static_cast<Op&>(w);
            op.scheduled = true;
            // The deadline keeper may not have woken yet for a deadline just past: the clock decides.
            op.granted_late = op.deadline != TimePoint::max() && std::chrono::steady_clock::now() >= op.deadline;
            const int i = handoffs.count++;
            handoffs.op[i] = std::move(op.self);
            handoffs.take[i] = {slots_[slot].resource ? Take::Kind::idle : Take::Kind::room, slot};
            return;
        }
        signal(w);
    }

    // Gives `slot` to the first waiter. Holds mutex_.
    void grant_front(std::uint32_t slot, Handoffs& handoffs) noexcept {
        Waiter& w = *waiters_.front();
        // A waiter woken for a resource in the idle set now gets another one: the wake-up passes to the next waiter
        // still asleep, or the resource it was for could sit idle while that one sleeps.
        if (w.status == Waiter::Outcome::notified) wake_next_sleeper(w.next, handoffs);
        grant(w, slot, handoffs);
    }

    // ---- checkout checks and creation ----------------------------------------------------------------------------

    // Checks an idle resource for handing out; destroys it and returns false when it may not be.
    bool check_out(std::uint32_t slot) noexcept {
        Slot<Resource>& s = slots_[slot];
        if (const auto why = staleness(s)) {
            destroy(slot, true, *why);
            return false;
        }
        if (options_.pre_ping) {
            if (!validate(s)) {
                validation_failures_.fetch_add(1, std::memory_order_relaxed); // relaxed: a statistic
                destroy(slot, true, refusal_reason(s, DestroyReason::validation_failed));
                return false;
            }
        }
        s.state.store(SlotState::leased, std::memory_order_relaxed); // relaxed: see Slot::state
        return true;
    }

    // Why the resource may not be used any more: invalidated by invalidate_all(), or past its age; nothing when it
    // may. Reads the clock only when recycling is on.
    std::optional<DestroyReason> staleness(Slot<Resource>& s) noexcept {
        const auto why = stale_reason(s);
        if (why == DestroyReason::recycled) recycled_.fetch_add(1, std::memory_order_relaxed); // relaxed: a statistic
        return why;
    }

    // As staleness(), without counting: for a look that may put the resource back.
    std::optional<DestroyReason> stale_reason(const Slot<Resource>& s) const noexcept {
        // relaxed: see invalidate_all().
        if (s.generation != generation_.load(std::memory_order_relaxed)) return DestroyReason::pool_invalidated;
        if (options_.recycle.count() > 0 && clock_.now() >= s.expires_at) return DestroyReason::recycled;
        return std::nullopt;
    }

    // ---- events ----------------------------------------------------------------------------------------------------

    // Calls one hook; whatever it throws stays here.
    template <class Fn>
    static void run_hook(Fn&& fn) noexcept {
        try {
            fn();
        } catch (...) {
        }
    }

    // A checkout is complete: book it for events and leak detection, then the lease.
    LeaseType hand_out(std::uint32_t slot, const CheckoutContext& context) noexcept {
        if (times_checkouts_) {
            Slot<Resource>& s = slots_[slot];
            s.checked_out_at.store(ticks(clock_.now()), std::memory_order_relaxed); // relaxed: see Slot
            if (leak_detection_) {
                // relaxed: published by the release store of leak_word below.
                s.where_file.store(context.where.file, std::memory_order_relaxed);
                s.where_function.store(context.where.function, std::memory_order_relaxed);
                s.where_line.store(context.where.line, std::memory_order_relaxed);
                // release: the leak scan that reads this word sees the fields above; pairs with report_leaks().
                s.leak_word.store(++s.checkouts << 1, std::memory_order_release);
            }
        }
        if constexpr (HasCheckoutHook<Events>) {
            const auto waited = context.wait_started ? clock_.now() - *context.wait_started : TimePoint::duration{};
            run_hook([&] {
                CheckoutEvent event{waited}; // an lvalue: a hook may take it by any kind of reference
                events_.on_checkout(event);
            });
        }
        return LeaseType(this, slot);
    }

    // A lease comes back: its checkin event, and the end of a reported leak.
    void report_checkin(Slot<Resource>& s) noexcept {
        // relaxed: written by this lease's own checkout, on this or a thread that handed the lease over.
        const auto held = clock_.now() - TimePoint(TimePoint::duration(s.checked_out_at.load(std::memory_order_relaxed)));
        if constexpr (HasCheckinHook<Events>) run_hook([&] {
            CheckinEvent event{held};
            events_.on_checkin(event);
        });
        if (leak_detection_) {
            // acq_rel: closes the window in which the leak scan may report this checkout; pairs with report_leaks().
            if (s.leak_word.exchange(0, std::memory_order_acq_rel) & 1u)
                report_leak(LeakEvent{held, s.where_file.load(std::memory_order_relaxed),
                                      s.where_function.load(std::memory_order_relaxed),
                                      s.where_line.load(std::memory_order_relaxed), true});
        }
    }

    // Every lease held past leak_threshold is reported once. From maintain().
    void report_leaks() noexcept {
        const std::int64_t now = ticks(clock_.now());
        for (std::uint32_t i = 0; i < capacity_; ++i) {
            Slot<Resource>& s = slots_[i];
            // acquire: sees the checkout's fields; pairs with the release store in hand_out().
            std::uint64_t word = s.leak_word.load(std::memory_order_acquire);
            if (word == 0 || (word & 1u)) continue;
            // relaxed: trusted only if the CAS below finds leak_word unchanged.
            const auto held = TimePoint::duration(now - s.checked_out_at.load(std::memory_order_relaxed));
            if (held < options_.leak_threshold) continue;
            LeakEvent event{held, s.where_file.load(std::memory_order_relaxed),
                            s.where_function.load(std::memory_order_relaxed),
                            s.where_line.load(std::memory_order_relaxed), false};
            // acq_rel: succeeds only if the lease did not come back (and go out again) since the load above, so the
            // fields read belong to this checkout; pairs with the exchange in report_checkin().
            if (s.leak_word.compare_exchange_strong(word, word | 1u, std::memory_order_acq_rel,
                                                    std::memory_order_relaxed))
                report_leak(event);
        }
    }

    void report_leak(const LeakEvent& event) noexcept {
        if constexpr (HasLeakHook<Events>) {
            run_hook([&] {
                LeakEvent copy = event; // an lvalue the hook may take by any kind of reference
                events_.on_leak(copy);
            });
        } else {
            const char* state = event.returned ? "came back" : "is still held";
            const auto ms =
                static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(event.held).count());
            if (event.file && *event.file)
                std::fprintf(stderr, "respool: a lease %s after %lld ms; acquired at %s:%u in %s\n", state, ms,
                             event.file, static_cast<unsigned>(event.line), event.function ? event.function : "");
            else // an asynchronous acquire: no location recorded
                std::fprintf(stderr, "respool: a lease %s after %lld ms; acquired asynchronously (no location)\n",
                             state, ms);
        }
    }

    // Runs one validator hook; a throw counts as "no" (the resource is in an unknown state), a hook returning nothing
    // as "yes".
    template <class Fn>
    static bool accepts(Fn&& hook) noexcept {
        try {
            if constexpr (std::is_void_v<std::invoke_result_t<Fn&>>) {
                hook();
                return true;
            } else {
                return static_cast<bool>(hook());
            }
        } catch (...) {
            return false;
        }
    }

    bool reset(Slot<Resource>& s) noexcept {
        if constexpr (HasReset<Validator, Resource>) {
            return accepts([&] { return validator_.reset(*s.resource); });
        } else {
            (void)s;
            return true;
        }
    }

    // Creates a resource in `slot` (room taken by take_room, with its connect turn) and hands it out. A create()
    // that throws gives the room and the turn back, and its exception reaches the caller (or `ec` says
    // create_failed). Creation holds no lock.
    LeaseType create_in(std::uint32_t slot, std::error_code* ec, const CheckoutContext* context = nullptr) {
        CheckoutContext checkout = context ? *context : CheckoutContext{};
        if constexpr (HasCheckoutHook<Events>) {
            if (checkout.wait_started) {
                // The wait ends where create() starts: its time is not waiting (it has its own event), so it moves
                // the start of the wait forward by as much.
                const TimePoint create_started = clock_.now();
                if (!create_resource(slot, ec, context)) return LeaseType();
                *checkout.wait_started += clock_.now() - create_started;
                return hand_out(slot, checkout);
            }
        }
        if (!create_resource(slot, ec, context)) return LeaseType();
        return hand_out(slot, checkout);
    }

    // Creates a resource in `slot` and makes it idle: min_idle's top-up, which is not a checkout (no checkout or
    // checkin event, no reset). False when creation failed.
    bool create_idle(std::uint32_t slot) noexcept {
        std::error_code ec;
        if (!create_resource(slot, &ec, nullptr)) return false;
        put_idle(slot);
        return true;
    }

    // The creation itself: on success the slot holds a new resource, state leased. On failure the room and the turn
    // are given back, and false is returned with `ec` set, or the exception thrown when `ec` is null.
    bool create_resource(std::uint32_t slot, std::error_code* ec, const CheckoutContext* context) {
        Slot<Resource>& s = slots_[slot];
        // Closed since the room was taken (an asynchronous delivery runs later): no new resource for a closed pool.
        if (idle_.flags_hint() & closed_flag) {
            return_room(slot);
            fail(errc::pool_closed, ec, context);
            return false;
        }
        // relaxed: counts; the pool's own reference keeps this alive while acquire runs.
        alive_.fetch_add(1, std::memory_order_relaxed);
        refs_.fetch_add(1, std::memory_order_relaxed);
        s.state.store(SlotState::creating, std::memory_order_relaxed); // relaxed: see Slot::state
        [[maybe_unused]] TimePoint create_started{};
        if constexpr (HasCreateHook<Events>) create_started = clock_.now();
        // The generation when create() starts: an invalidate_all() while it runs replaces this resource too.
        const std::uint64_t generation = generation_.load(std::memory_order_relaxed); // relaxed: see invalidate_all()
        try {
            make_resource(s);
        } catch (...) {
            create_failures_.fetch_add(1, std::memory_order_relaxed); // relaxed: a statistic
            alive_.fetch_sub(1, std::memory_order_relaxed);
            s.state.store(SlotState::room, std::memory_order_relaxed);
            release_turn();
            release_room(slot); // wakes a waiter so it can try to create in turn
            if constexpr (HasCreateHook<Events>)
                run_hook([&] {
                    CreateEvent event{clock_.now() - create_started, std::current_exception()};
                    events_.on_create(event);
                });
            if (!ec) throw;
            *ec = make_error_code(errc::create_failed);
            return false;
        }
        release_turn();
        created_.fetch_add(1, std::memory_order_relaxed); // relaxed: a statistic
        s.created_at = clock_.now();
        s.expires_at = options_.recycle.count() > 0 ? s.created_at + options_.recycle - jitter(options_.recycle_jitter)
                                                    : TimePoint::max();
        s.keepalive_jitter = jitter(options_.keepalive / 5);
        s.returned_at.store(ticks(s.created_at), std::memory_order_relaxed);   // relaxed: see Slot
        s.kept_alive_at.store(ticks(s.created_at), std::memory_order_relaxed); // relaxed: see Slot
        s.generation = generation;
        s.state.store(SlotState::leased, std::memory_order_relaxed);
        if constexpr (HasCreateHook<Events>) run_hook([&] {
            CreateEvent event{s.created_at - create_started, {}};
            events_.on_create(event);
        });
        return true;
    }

    // create() into the slot. A move that may throw gets the made resource to the factory's destroy() when it does.
    void make_resource(Slot<Resource>& s) {
        if constexpr (std::is_nothrow_move_constructible_v<Resource> || !HasDestroy<Factory, Resource>) {
            s.resource.emplace(factory_.create());
        } else {
            Resource made = factory_.create();
            try {
                s.resource.emplace(std::move(made));
            } catch (...) {
                destroy_policy(made);
                throw;
            }
        }
    }

    // The factory's destroy(), when it has one; the resource's destructor follows.
    void destroy_policy(Resource& r) noexcept {
        if constexpr (HasDestroy<Factory, Resource>) {
            if constexpr (noexcept(factory_.destroy(r))) {
                factory_.destroy(r);
            } else {
                try {
                    factory_.destroy(r);
                } catch (...) { // it should not throw; if it does, the resource is gone all the same
                }
            }
        }
    }

    // A random duration in [0, up_to].
    std::chrono::nanoseconds jitter(std::chrono::nanoseconds up_to) noexcept {
        if (up_to.count() <= 0) return {};
        // relaxed: each caller needs a distinct value, not an ordering.
        std::uint64_t z = rng_.fetch_add(0x9E37'79B9'7F4A'7C15ull, std::memory_order_relaxed) + 0x9E37'79B9'7F4A'7C15ull;
        z = (z ^ (z >> 30)) * 0xBF58'476D'1CE4'E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D0'49BB'1331'11EBull;
        z ^= z >> 31;
        const auto span = up_to.count();
        return std::chrono::nanoseconds(static_cast<std::int64_t>(z % static_cast<std::uint64_t>(span + 1)));
    }

    // ---- letting go ----------------------------------------------------------------------------------------------

    bool above_pool_size() const noexcept {
        // relaxed: a hint; the shrink itself is claimed by the CAS in claim_shrink.
        return alive_.load(std::memory_order_relaxed) > options_.pool_size &&
               !(idle_.flags_hint() & waiters_flag); // someone waiting would rather have it
    }

    // Claims the right to destroy one resource beyond pool_size, so two returns cannot both shrink below it.
    bool claim_shrink() noexcept { return claim_shrink_to(options_.pool_size); }

    bool claim_shrink_to(std::size_t floor) noexcept {
        std::size_t alive = alive_.load(std::memory_order_relaxed); // relaxed: the CAS below re-reads
        while (alive > floor) {
            // relaxed: the claim publishes nothing; the resource is ours already.
            if (alive_.compare_exchange_weak(alive, alive - 1, std::memory_order_relaxed, std::memory_order_relaxed))
                return true;
        }
        return false;
    }

    // The return's push met a flag: waiters exist, one starves, or the pool closed. The slot's resource still counts
    // in refs_, so this object stays alive until it is pushed or destroyed.
    void check_in_slow(std::uint32_t slot) noexcept {
        std::unique_lock lock(mutex_);
        const std::uint32_t flags = idle_.flags();
        if (flags & closed_flag) {
            lock.unlock();
            return destroy(slot, true, DestroyReason::closed);
        }
        if (waiters_.empty()) {
            update_waiter_flags(TimePoint{});
            if (options_.max_overflow > 0 && claim_shrink()) { // the waiters that kept it are gone
                lock.unlock();
                return destroy(slot, false, DestroyReason::overflow);
            }
            idle_.push(slot, closed_flag);
            return;
        }
        const TimePoint now = clock_.now();
        Waiter& first = *waiters_.front();
        Handoffs handoffs;
        if (first.is_async || (flags & starving_flag) || now - first.enqueued_at >= options_.handoff_after) {
            grant_front(slot, handoffs); // direct handoff, in FIFO order
            update_waiter_flags(now);
        } else {
            // Normal mode: back to the idle set, and wake the first waiter not woken yet: it competes with newcomers.
            idle_.push(slot, closed_flag);
            wake_next_sleeper(&first, handoffs);
        }
        lock.unlock();
        deliver_all(handoffs);
    }

    // Wakes the first waiter from `from` on that is asleep, to look at the idle set: one per resource returned. (Waking
    // one at a time, Go-mutex style, leaves resources idle while the one woken waits for a CPU when threads outnumber
    // cores.) An asynchronous waiter cannot look for itself: it is granted an idle slot directly. Holds mutex_.
    void wake_next_sleeper(Waiter* from, Handoffs& handoffs) noexcept {
        for (Waiter* w = from; w; w = w->next) {
            if (w->status != Waiter::Outcome::waiting) continue;
            if (w->is_async) {
                if (const std::uint32_t slot = idle_.pop_settled(closed_flag); slot != IdleSet::nil)
                    grant(*w, slot, handoffs);
                return;
            }
            w->status = Waiter::Outcome::notified;
            signal(*w);
            return;
        }
    }

    // Destroys the slot's resource on this thread, frees its room and drops its reference. `counted`: its alive_
    // count is still to be taken off (false when claim_shrink took it already). The caller must not touch this
    // object afterwards unless it holds another reference (the Pool's, in acquire and close).
    void destroy(std::uint32_t slot, bool counted, [[maybe_unused]] DestroyReason reason) noexcept {
        Slot<Resource>& s = slots_[slot];
        destroy_policy(*s.resource);
        s.resource.reset();
        if (counted) alive_.fetch_sub(1, std::memory_order_relaxed); // relaxed: a count
        destroyed_.fetch_add(1, std::memory_order_relaxed);          // relaxed: a statistic
        s.state.store(SlotState::room, std::memory_order_relaxed);
        if constexpr (HasDestroyHook<Events>) {
            release_room(slot, /*drop_ref=*/false); // the room goes to whoever needs it before the hook runs
            run_hook([&] {
                DestroyEvent event{reason};
                events_.on_destroy(event);
            });
            release_ref();
        } else {
            release_room(slot);
        }
    }

    // Puts a slot back as room to create in and wakes a waiter that could use it; with `drop_ref`, also drops the
    // reference its resource held.
    void release_room(std::uint32_t slot, bool drop_ref = true) noexcept {
        room_.push(slot); // seq_cst push, then seq_cst flag load: Dekker with wait_for_slot's flag raise
        const bool wake = idle_.flags() & waiters_flag;
        if (!wake && !drop_ref) return;
        std::unique_lock lock(mutex_);
        Handoffs handoffs;
        if (wake && !waiters_.empty()) {
            if (const std::uint32_t granted = take_room(/*under_lock=*/true); granted != IndexStack::nil)
                grant_front(granted, handoffs);
            update_waiter_flags(clock_.now());
        }
        const bool last = drop_ref && release_ref_locked();
        lock.unlock();
        deliver_all(handoffs); // each op's own reference keeps this alive meanwhile
        if (last) delete this;
    }

    // Drops a reference; holds mutex_. Every drop happens under mutex_, so that drain() cannot miss the last one,
    // and the last one's caller frees this only after unlocking, when no other thread can still be inside.
    bool release_ref_locked() noexcept {
        // acq_rel: the last release sees every other's writes before freeing; pairs with itself and wait_drained.
        const bool last = refs_.fetch_sub(1, std::memory_order_acq_rel) == 1;
        drained_.notify_all();
        return last;
    }

    void release_ref() noexcept {
        // Without the lock while two or more would remain: that drop can neither be the one drain() waits for (to 1)
        // nor the last (to 0), so nobody needs to hear of it.
        std::size_t refs = refs_.load(std::memory_order_relaxed); // relaxed: the CAS below re-reads
        while (refs > 2) {
            // release: the last releaser's acq_rel fetch_sub (under the lock) sees what this holder did; pairs with it.
            if (refs_.compare_exchange_weak(refs, refs - 1, std::memory_order_release, std::memory_order_relaxed))
                return;
        }
        std::unique_lock lock(mutex_);
        const bool last = release_ref_locked();
        lock.unlock();
        if (last) delete this;
    }

    // ---- asynchronous machinery ----------------------------------------------------------------------------------

    // Takes a slot for `op` now, or queues it. Called by async_acquire and by a delivery whose resource was stale.
    void start(std::shared_ptr<Op> op) {
        Take take{};
        if (const std::uint32_t slot = take_own_parked(); slot != AffinityCache::none)
            take = {Take::Kind::idle, slot};
        else
            take = try_take(closed_flag | starving_flag);
        if (take.kind != Take::Kind::nothing && !op->on_stop) {
            // Found at once, and nothing can cancel the op (no stop token; not queued, so no deadline keeper): no lock.
            op->scheduled = true;
            return deliver(std::move(op), take);
        }
        std::unique_lock lock(mutex_);
        if (op->cancel_reason) take = give_back_for_cancel(take, *op->cancel_reason, lock);
        if (take.kind == Take::Kind::nothing) {
            idle_.set_flags(queued_flags()); // seq_cst: then look again (see wait_for_slot)
            take = try_take_queued();
        }
        if (take.kind == Take::Kind::nothing) {
            op->deadline = op->limit.resolve();
            op->limit = WaitLimit::until(op->deadline); // a restart after a stale resource keeps this deadline
            if (std::chrono::steady_clock::now() >= op->deadline) take = {Take::Kind::timed_out, 0};
        }
        if (take.kind == Take::Kind::nothing && op->deadline != TimePoint::max()) {
            // Before queueing: a keeper that cannot start (out of memory, a thread limit) fails this call with nothing
            // left queued, never an op whose deadline nobody keeps and whose handler runs after the caller was told
            // it failed.
            try {
                start_deadline_keeper();
            } catch (...) {
                if (waiters_.empty()) update_waiter_flags(TimePoint{});
                throw;
            }
        }
        if (take.kind == Take::Kind::nothing) {
            op->enqueued_at = clock_.now();
            waiters_.push_back(*op);
            waiting_.fetch_add(1, std::memory_order_relaxed); // relaxed: statistics
            waits_.fetch_add(1, std::memory_order_relaxed);
            const TimePoint deadline = op->deadline;
            op->self = std::move(op); // owned by the FIFO from here, before anything below can throw
            if (deadline != TimePoint::max()) wake_deadline_keeper(deadline);
            return;
        }
        if (waiters_.empty()) update_waiter_flags(TimePoint{});
        op->scheduled = true;
        lock.unlock();
        deliver(std::move(op), take);
    }

    // A cancelled op that had just taken something: give it back (outside mutex_). A closed pool says so first: on it
    // every acquire reports pool_closed, a cancelled one included.
    Take give_back_for_cancel(Take take, errc reason, std::unique_lock<std::mutex>& lock) {
        if (take.kind == Take::Kind::closed) return take;
        if (take.kind == Take::Kind::idle || take.kind == Take::Kind::room) {
            lock.unlock();
            abandon(take);
            lock.lock();
        }
        return {reason == errc::timeout ? Take::Kind::timed_out : Take::Kind::cancelled, 0};
    }

    // Stops an op: a queued one leaves the FIFO and completes with `reason`; one whose delivery is scheduled gives
    // its resource back when that runs. From stop callbacks and the deadline keeper. Never under mutex_.
    void cancel(Op& op, errc reason) noexcept {
        std::unique_lock lock(mutex_);
        if (!op.enqueued) {
            // Not queued: about to queue, or its delivery is scheduled. Either way it sees this and gives back.
            if (!op.cancel_reason) op.cancel_reason = reason;
            return;
        }
        leave(op);
        op.scheduled = true;
        std::shared_ptr<Op> keep = std::move(op.self);
        lock.unlock();
        deliver(std::move(keep), {reason == errc::timeout ? Take::Kind::timed_out : Take::Kind::cancelled, 0});
    }

    // Carries an op's result to its executor. It lives in the op, so that posting it allocates nothing: deliver()
    // arms it (an op has one delivery at a time), and while armed it holds the op, and so itself, alive. Run, it hands
    // the result over; discarded unrun (the executor shut down), it gives the slot back.
    struct DeliveryJob final : Task::Job {
        PoolCore* core = nullptr;
        std::shared_ptr<Op> op; // set while armed
        Take take;

        void run_once() override {
            std::shared_ptr<Op> mine = std::move(op); // disarmed: a restart may arm it again while this runs
            core->run_delivery(mine, std::exchange(take, Take{}));
        } // `mine` may be the op's last owner: nothing of this object is touched after it ends
        void discard() noexcept override {
            std::shared_ptr<Op> mine = std::move(op);
            core->abandon(std::exchange(take, Take{}));
        }
    };

    void deliver(std::shared_ptr<Op> op, Take take) noexcept {
        // The task may run (and end the op) on another thread before post() returns: keep the op, and so the post
        // callable we are inside, alive until then.
        const std::shared_ptr<Op> keep = op;
        DeliveryJob& job = keep->delivery;
        assert(!job.op && "an op has one delivery at a time");
        job.core = this;
        job.take = take;
        job.op = std::move(op);
        // An idle resource granted to the op is no longer idle (stats() counts it in use until the delivery runs).
        // relaxed: see Slot::state; the slot is the op's until its delivery checks it out or gives it back.
        if (take.kind == Take::Kind::idle) slots_[take.slot].state.store(SlotState::leased, std::memory_order_relaxed);
        // A throwing post (an executor out of memory) cannot be reported anywhere sensible from a lease's return:
        // terminate.
        keep->post(Task(job));
    }

    // Runs on the op's executor: the blocking checks and creation, then the handler.
    void run_delivery(const std::shared_ptr<Op>& op, Take take) {
        if (op->on_stop) { // only a stop callback can cancel an op whose delivery is scheduled
            std::unique_lock lock(mutex_);
            if (op->cancel_reason && take.kind != Take::Kind::cancelled && take.kind != Take::Kind::timed_out)
                take = give_back_for_cancel(take, *op->cancel_reason, lock);
        }
        // Granted after its deadline had passed: a timeout, as it would have been had the deadline keeper expired it in
        // time, and what it was granted goes to the next in line. (A grant in time stays one however late this runs.)
        if (op->granted_late && (take.kind == Take::Kind::idle || take.kind == Take::Kind::room))
            abandon(std::exchange(take, Take{Take::Kind::timed_out, 0}));
        switch (take.kind) {
        case Take::Kind::idle:
            if (fork_generation_ != fork_generation()) // in a child after fork(): the resource is the parent's
                return complete(*op, std::make_exception_ptr(PoolClosedError()), LeaseType());
            if (idle_.flags_hint() & closed_flag) { // closed since the grant: what close() does to an idle resource
                destroy(take.slot, true, DestroyReason::closed); // the op's reference keeps this object alive
                return complete(*op, std::make_exception_ptr(PoolClosedError()), LeaseType());
            }
            if (check_out(take.slot)) {
                return complete(*op, nullptr, hand_out(take.slot, context_of(*op)));
            }
            {
                std::lock_guard lock(mutex_);
                op->scheduled = false; // stale resource destroyed: look again
            }
            try {
                return start(op);
            } catch (...) { // the deadline keeper could not start: nothing was queued, and no caller to throw to
                return complete(*op, std::current_exception(), LeaseType());
            }
        case Take::Kind::room: {
            const CheckoutContext context = context_of(*op);
            LeaseType lease;
            try {
                lease = create_in(take.slot, nullptr, &context);
            } catch (...) {
                return complete(*op, std::current_exception(), LeaseType());
            }
            return complete(*op, nullptr, std::move(lease));
        }
        case Take::Kind::closed: return complete(*op, std::make_exception_ptr(PoolClosedError()), LeaseType());
        case Take::Kind::timed_out: {
            const CheckoutContext context = context_of(*op);
            count_timeout(&context);
            return complete(*op, std::make_exception_ptr(TimeoutError()), LeaseType());
        }
        case Take::Kind::cancelled:
        case Take::Kind::nothing: return complete(*op, std::make_exception_ptr(CancelledError()), LeaseType());
        }
    }

    // What an asynchronous checkout reports to the events: when it started waiting, if it waited in the FIFO.
    static CheckoutContext context_of(const Op& op) noexcept {
        CheckoutContext context{};
        if (op.enqueued_at != TimePoint{}) context.wait_started = op.enqueued_at;
        return context;
    }

    void complete(Op& op, std::exception_ptr error, LeaseType lease) {
        op.on_stop.reset(); // no cancellation after the handler: waits for a stop callback running right now
        auto handler = std::move(op.handler);
        handler(std::move(error), std::move(lease));
    }

    // Gives back what a cancelled or abandoned op had taken.
    void abandon(Take take) noexcept {
        if (take.kind == Take::Kind::idle) return give_back_unused(take.slot);
        if (take.kind == Take::Kind::room) return return_room(take.slot);
    }

    // An idle resource taken for a checkout that never happened: no lease ended, so no checkin event and no reset.
    void give_back_unused(std::uint32_t slot) noexcept {
        if (fork_generation_ != fork_generation()) return; // the parent's: not ours to keep or destroy
        if (const auto why = staleness(slots_[slot])) return destroy(slot, true, *why);
        if (options_.max_overflow > 0 && above_pool_size() && claim_shrink())
            return destroy(slot, false, DestroyReason::overflow);
        put_idle(slot);
    }

    // Room taken (with its connect turn) but never created in: both back, waking a waiter that could use them.
    void return_room(std::uint32_t slot) noexcept {
        slots_[slot].state.store(SlotState::room, std::memory_order_relaxed); // relaxed: see Slot::state
        if (connect_gate_) connect_gate_->release(); // seq_cst; release_room's flag load follows (Dekker)
        release_room(slot, /*drop_ref=*/false);
    }

    // ---- background threads, each started on first need ------------------------------------------------------------
    // The deadline keeper expires asynchronous waiters; the maintainer runs maintain(). Two threads, so that a
    // keepalive round trip or a min_idle create() that takes connect_timeout never delays an expiry.

    // Starts the deadline keeper on first need (not once the pool is closing). Holds mutex_. Throws
    // std::system_error or std::bad_alloc when the thread cannot start.
    void start_deadline_keeper() {
        if (!deadline_keeper_.joinable() && !background_stop_)
            deadline_keeper_ = std::thread([this] { deadline_loop(); });
    }

    // Makes the deadline keeper look again at its deadlines if it sleeps past `deadline`. Holds mutex_. (A keeper
    // just started is awake, with deadline_keeper_wakes_at_ still at its epoch.)
    void wake_deadline_keeper(TimePoint deadline) noexcept {
        if (deadline >= deadline_keeper_wakes_at_) return; // it wakes up in time anyway
        deadline_wakeup_.notify_all();
    }

    void deadline_loop() noexcept {
        std::unique_lock lock(mutex_);
        while (!background_stop_) {
            const TimePoint now = std::chrono::steady_clock::now();
            TimePoint next = TimePoint::max();
            OpsOut expired;
            waiters_.for_each([&](Waiter& w) {
                if (!w.is_async) return;
                Op& op = static_cast<Op&>(w);
                if (op.deadline <= now) {
                    leave(op);
                    op.scheduled = true;
                    expired.push(op);
                } else if (op.deadline < next) {
                    next = op.deadline;
                }
            });
            if (!expired.empty()) {
                lock.unlock();
                expired.deliver_each(*this, {Take::Kind::timed_out, 0});
                lock.lock();
                continue;
            }
            deadline_keeper_wakes_at_ = next;
            if (next == TimePoint::max())
                deadline_wakeup_.wait(lock);
            else
                deadline_wakeup_.wait_until(lock, next);
            deadline_keeper_wakes_at_ = TimePoint{}; // awake: anyone may notify
        }
    }

    // After a pass whose min_idle create failed, the next passes leave min_idle alone for a while that doubles with
    // each failure (FillBackoff); a checkout that creates a resource meanwhile (the server is back) ends the wait.
    // Pool::maintain(), called by the application, always tries: its caller decides when.
    void maintenance_loop() noexcept {
        FillBackoff backoff;
        std::uint64_t created_when_failed = 0;
        std::unique_lock lock(mutex_);
        while (!background_stop_) {
            lock.unlock();
            const auto now = std::chrono::steady_clock::now();
            // relaxed: a hint; a create seen late only delays the next try by a pass.
            const std::uint64_t created = created_.load(std::memory_order_relaxed);
            const bool fill = backoff.allows(now) || created != created_when_failed;
            switch (run_pass(fill)) {
            case PassFill::failed:
                // From the end of the pass: a create() that took connect_timeout to fail is not part of the wait.
                backoff.failed(std::chrono::steady_clock::now(), period_);
                // As counted before the pass: a checkout that created while it ran ends the wait too.
                created_when_failed = created;
                break;
            case PassFill::done: backoff.succeeded(); break;
            case PassFill::skipped: break;
            }
            lock.lock();
            maintenance_wakeup_.wait_for(lock, period_, [&] { return background_stop_; });
        }
    }

    void join_background_threads(bool maintainer = true) noexcept {
        std::lock_guard join_lock(background_join_mutex_);
        for (std::thread* t : {&deadline_keeper_, &maintainer_}) {
            if (t == &maintainer_ && !maintainer) continue;
            if (t->joinable() && t->get_id() != std::this_thread::get_id()) t->join();
        }
    }

    // ---- maintenance -----------------------------------------------------------------------------------------------

    // What a pass's min_idle top-up did (see top_up_idle(); skipped also when not asked or another pass runs).
    enum class PassFill { skipped, done, failed };

    // One maintenance pass (see maintain()); `fill`: also create up to min_idle.
    PassFill run_pass(bool fill) noexcept {
        std::unique_lock pass(maintenance_mutex_, std::try_to_lock);
        if (!pass || (idle_.flags() & closed_flag)) return PassFill::skipped;
        const PassThreadScope on_pass(pass_threads_);
        if (tracks_idle_time_ && any_idle_due(clock_.now())) revisit_idle();
        if (leak_detection_) report_leaks();
        const PassFill filled = fill ? top_up_idle() : PassFill::skipped;
        if constexpr (HasMaintenancePassHook<Factory>) {
            try {
                factory_.on_maintenance_pass();
            } catch (...) {
                // documented: dropped (HasMaintenancePassHook)
            }
        }
        return filled;
    }

    static std::int64_t ticks(TimePoint t) noexcept { return t.time_since_epoch().count(); }

    // The threads working on this core's maintenance pass now: the pass's own and its keepalive helpers. Kept in the
    // core, not in a thread_local, so that nested passes of several pools and code of other shared objects (each
    // with its own thread_locals) see the same answer.
    class PassThreads {
    public:
        void add(std::thread::id id) noexcept {
            std::lock_guard lock(mutex_);
            for (std::thread::id& entry : ids_)
                if (entry == std::thread::id{}) return void(entry = id);
        }
        void remove(std::thread::id id) noexcept {
            std::lock_guard lock(mutex_);
            for (std::thread::id& entry : ids_)
                if (entry == id) return void(entry = std::thread::id{});
        }
        bool contains(std::thread::id id) const noexcept {
            std::lock_guard lock(mutex_);
            return std::find(ids_.begin(), ids_.end(), id) != ids_.end();
        }

    private:
        mutable std::mutex mutex_;
        // The pass's thread twice (the pass, then its share of the checks), and the helpers. A default id: free.
        std::array<std::thread::id, 2 + max_keepalive_workers> ids_{};
    };

    // This thread works on the pass for as long as it lives.
    class PassThreadScope {
    public:
        explicit PassThreadScope(PassThreads& threads) noexcept : threads_(threads) {
            threads_.add(std::this_thread::get_id());
        }
        ~PassThreadScope() { threads_.remove(std::this_thread::get_id()); }
        PassThreadScope(const PassThreadScope&) = delete;
        PassThreadScope& operator=(const PassThreadScope&) = delete;

    private:
        PassThreads& threads_;
    };

    bool keepalive_due(const Slot<Resource>& s, std::int64_t idle_ticks) const noexcept {
        return options_.keepalive.count() > 0 &&
               std::chrono::steady_clock::duration(idle_ticks) >= options_.keepalive - s.keepalive_jitter;
    }
    bool idle_expired(std::int64_t idle_ticks) const noexcept {
        return options_.idle_timeout.count() > 0 &&
               std::chrono::steady_clock::duration(idle_ticks) >= options_.idle_timeout;
    }

    // A racy look over the slots: is any idle resource due for keepalive or past its idle timeout?
    bool any_idle_due(TimePoint now) const noexcept {
        std::size_t idle_count = 0;
        bool expired = false;
        for (std::uint32_t i = 0; i < capacity_; ++i) {
            const Slot<Resource>& s = slots_[i];
            const SlotState state = s.state.load(std::memory_order_relaxed); // relaxed: a hint
            if (state != SlotState::idle && state != SlotState::parked) continue;
            ++idle_count;
            const std::int64_t idle = ticks(now) - s.returned_at.load(std::memory_order_relaxed); // relaxed: a hint
            expired = expired || idle_expired(idle);
            // The hint uses the earliest any resource can be due (the most jitter), not this slot's own jitter,
            // which belongs to whoever holds the slot.
            if (options_.keepalive.count() > 0 &&
                std::chrono::steady_clock::duration(ticks(now) - last_contact(s)) >= options_.keepalive * 4 / 5)
                return true;
        }
        return expired && idle_count > options_.min_idle; // min_idle idle ones stay, however long idle
    }

    // Whether an idle resource (out of the idle set, ours) needs looking at: idle past idle_timeout while more than
    // min_idle are idle, or due for its keepalive check.
    bool idle_due(std::uint32_t slot, TimePoint now, std::size_t idle_count) const noexcept {
        // relaxed: the slot is ours; its last writer published it through the idle set.
        const std::int64_t idle = ticks(now) - slots_[slot].returned_at.load(std::memory_order_relaxed);
        return (idle_expired(idle) && idle_count > options_.min_idle) ||
               keepalive_due(slots_[slot], ticks(now) - last_contact(slots_[slot]));
    }

    // When the resource was last used or passed a keepalive check, in clock ticks. relaxed: see Slot.
    static std::int64_t last_contact(const Slot<Resource>& s) noexcept {
        return std::max(s.returned_at.load(std::memory_order_relaxed),
                        s.kept_alive_at.load(std::memory_order_relaxed));
    }

    // What a maintenance pass does with an idle resource that idle_due() picked: destroy it without asking the
    // validator (idle too long, too old, invalidated), or run the keepalive check.
    std::optional<DestroyReason> removal_due(std::uint32_t slot, TimePoint now, std::size_t idle_count) noexcept {
        Slot<Resource>& s = slots_[slot];
        const std::int64_t idle = ticks(now) - s.returned_at.load(std::memory_order_relaxed); // relaxed: ours
        if (idle_expired(idle) && idle_count > options_.min_idle) return DestroyReason::idle_timeout;
        return stale_reason(s); // counted (recycled) when it is destroyed, below
    }

    // The keepalive checks of `due` (ours, out of the idle set), at once: on this thread and up to 15 of their own,
    // so that a check that hangs (a backend that stopped answering) does not keep the others' round trips from
    // happening in time. Each that passes goes back idle as soon as it does; once all are done, those that failed are
    // destroyed one at a time, so that their event hooks run while no usable idle resource is out of reach.
    void keep_alive_all(const std::vector<std::uint32_t>& due) noexcept {
        std::vector<std::uint8_t> passed;
        try {
            passed.assign(due.size(), 0);
        } catch (...) {
            for (std::uint32_t slot : due) put_idle(slot); // no memory for the checks: back, due next pass
            return;
        }
        auto check_one = [&](std::size_t i) noexcept {
            Slot<Resource>& s = slots_[due[i]];
            passed[i] = keep_alive(s) ? 1 : 0;
            if (!passed[i]) return;
            // A check is not a use: idle_timeout still counts from returned_at.
            s.kept_alive_at.store(ticks(clock_.now()), std::memory_order_relaxed); // relaxed: ours until put_idle
            put_idle(due[i]); // at once: a slow check elsewhere keeps this one from nobody
        };
        // Workers take the next unchecked index; a check that hangs holds up only its own worker. relaxed: each index
        // is claimed once, and join() orders the helpers' writes to passed[] before the reads below.
        std::atomic<std::size_t> next{0};
        auto work = [&]() noexcept {
            const PassThreadScope on_pass(pass_threads_);
            for (std::size_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < due.size();) check_one(i);
        };
        constexpr std::size_t max_workers = 1 + max_keepalive_workers;
        std::vector<std::thread> helpers;
        try {
            helpers.reserve(std::min(due.size(), max_workers) - 1);
            while (helpers.size() + 1 < std::min(due.size(), max_workers)) helpers.emplace_back(work);
        } catch (...) {
            // Fewer threads (none, without memory): the workers there are, this one included, check the rest.
        }
        work();
        for (std::thread& t : helpers) t.join();
        for (std::size_t i = 0; i < due.size(); ++i) {
            if (passed[i]) continue;
            validation_failures_.fetch_add(1, std::memory_order_relaxed); // relaxed: a statistic
            destroy(due[i], true, refusal_reason(slots_[due[i]], DestroyReason::validation_failed));
        }
    }

    // Takes every idle resource out for a moment and looks for ones with something due. When the first of them is
    // to be destroyed (idle too long, too old), every one to be destroyed stays out (those idle too long only down to
    // min_idle idle) and they are destroyed one after another; when it needs a keepalive check, every resource whose
    // only due work is that check stays out and they are checked at once (keep_alive_all()). The rest go back at
    // once, in their order, and the pass looks again. So an event hook never runs while the pool holds a usable idle
    // resource out of reach, a hanging check delays no other, and a pass costs a few looks over the idle ones however
    // many are due. Acquirers meanwhile create or wait as usual.
    void revisit_idle() noexcept {
        std::vector<std::uint32_t> taken, checks, removals;
        std::vector<DestroyReason> reasons;
        std::vector<std::uint8_t> visited; // by slot: dealt with in this pass, not picked again
        try {
            taken.reserve(capacity_);
            checks.reserve(capacity_);
            removals.reserve(capacity_);
            reasons.reserve(capacity_);
            visited.assign(capacity_, 0);
        } catch (...) {
            return; // no memory for a maintenance pass: skip it
        }
        const TimePoint now = clock_.now();
        // Each round deals with one set of removals or one set of checks; one dealt with is not picked again (a
        // bound, whatever the clock says).
        for (std::uint32_t round = 0; round <= capacity_; ++round) {
            taken.clear();
            checks.clear();
            removals.clear();
            reasons.clear();
            idle_.take_all_and_set(0, [&](std::uint32_t slot) { taken.push_back(slot); });
            for (std::uint32_t slot; (slot = steal_parked(false)) != AffinityCache::none;)
                taken.insert(taken.begin(), slot);
            const std::size_t idle_count = taken.size();
            // How many may go for idling too long: min_idle idle ones stay, however long idle.
            std::size_t may_time_out = idle_count > options_.min_idle ? idle_count - options_.min_idle : 0;
            auto visit = [&](std::uint32_t slot) {
                if (visited[slot] || !idle_due(slot, now, idle_count)) return put_idle(slot);
                std::optional<DestroyReason> why = removal_due(slot, now, idle_count);
                if (why == DestroyReason::idle_timeout && may_time_out == 0) // the rest of min_idle: kept
                    why = stale_reason(slots_[slot]);
                if (why) {
                    if (!checks.empty()) return put_idle(slot); // its removal comes in a later round
                    if (*why == DestroyReason::idle_timeout) --may_time_out;
                    removals.push_back(slot);
                    reasons.push_back(*why);
                } else if (removals.empty() &&
                           keepalive_due(slots_[slot], ticks(now) - last_contact(slots_[slot]))) {
                    checks.push_back(slot);
                } else {
                    put_idle(slot); // its check comes in a later round, or it was due only for an idle timeout
                }                   // that min_idle forbids
            };
            // A stack gives its top first; pushing back from the bottom keeps LIFO order (and visits the least recently
            // used first). A ring gives its oldest first.
            if (options_.order == CheckoutOrder::lifo)
                for (std::size_t i = taken.size(); i-- > 0;) visit(taken[i]);
            else
                for (std::uint32_t slot : taken) visit(slot);
            if (!removals.empty()) {
                for (std::size_t i = 0; i < removals.size(); ++i) {
                    visited[removals[i]] = 1;
                    if (reasons[i] == DestroyReason::recycled)
                        recycled_.fetch_add(1, std::memory_order_relaxed); // relaxed: a statistic
                    destroy(removals[i], true, reasons[i]);
                }
                continue;
            }
            if (checks.empty()) return;
            for (std::uint32_t slot : checks) visited[slot] = 1;
            keep_alive_all(checks);
        }
    }

    // Creates resources ahead of demand until min_idle are idle (never beyond pool_size or into a waiter's room).
    // The idle ones are counted once (a hint: checkouts meanwhile leave the pool short until the next pass), so a
    // large min_idle costs one look over the slots, not one per resource made.
    // done: min_idle are idle, or every create() it made succeeded; failed: a create() threw; skipped: it could not
    // try (callers wait and create for themselves, a connect turn or room is lacking, the pool closed).
    PassFill top_up_idle() noexcept {
        if (options_.min_idle == 0) return PassFill::done;
        std::size_t idle = 0;
        for (std::uint32_t i = 0; i < capacity_; ++i) {
            const SlotState state = slots_[i].state.load(std::memory_order_relaxed); // relaxed: a hint
            idle += state == SlotState::idle || state == SlotState::parked;
        }
        for (; idle < options_.min_idle; ++idle) {
            // relaxed: a hint; creation is bounded by the room it owns.
            if (alive_.load(std::memory_order_relaxed) >= options_.pool_size) return PassFill::done;
            if (idle_.flags() & (closed_flag | waiters_flag)) return PassFill::skipped; // waiters create themselves
            const std::uint32_t room = take_room(/*under_lock=*/false);
            if (room == IndexStack::nil) return PassFill::skipped;
            if (!create_idle(room)) return PassFill::failed; // try again on a later pass
        }
        return PassFill::done;
    }

    // The keepalive check: the validator's keepalive hook, or validate(); false or a throw means "not usable".
    bool keep_alive(Slot<Resource>& s) noexcept {
        if constexpr (HasKeepalive<Validator, Resource>) {
            return accepts([&] { return validator_.keepalive(*s.resource); });
        } else {
            return validate(s);
        }
    }

    // Why a resource the validator refused goes: a disconnect when the validator can tell, else `otherwise`.
    DestroyReason refusal_reason([[maybe_unused]] Slot<Resource>& s, DestroyReason otherwise) noexcept {
        if constexpr (HasDisconnectCheck<Validator, Resource>) {
            try {
                if (validator_.disconnected(std::as_const(*s.resource))) return DestroyReason::disconnect;
            } catch (...) {
            }
        }
        return otherwise;
    }

    // Validation on checkout; false or a throw means "not usable".
    bool validate(Slot<Resource>& s) noexcept {
        return accepts([&] { return validator_.validate(*s.resource); });
    }

    // An acquire (blocking or asynchronous) timed out: the statistic and the timeout event.
    void count_timeout([[maybe_unused]] const CheckoutContext* context) noexcept {
        timeouts_.fetch_add(1, std::memory_order_relaxed); // relaxed: a statistic
        if constexpr (HasTimeoutHook<Events>) {
            const auto waited =
                context && context->wait_started ? clock_.now() - *context->wait_started : TimePoint::duration{};
            run_hook([&] {
                TimeoutEvent event{waited};
                events_.on_timeout(event);
            });
        }
    }

    LeaseType fail(errc e, std::error_code* ec, const CheckoutContext* context = nullptr) {
        if (e == errc::timeout) count_timeout(context);
        if (ec) {
            *ec = make_error_code(e);
            return LeaseType();
        }
        switch (e) {
        case errc::timeout: throw TimeoutError();
        case errc::pool_closed: throw PoolClosedError();
        case errc::cancelled: throw CancelledError();
        case errc::create_failed: break;
        }
        throw Error(make_error_code(e));
    }

    // The options as given (what options() reports), and as used: durations that mean "never" in practice
    // (milliseconds::max() and the like) capped where adding them to a time point cannot overflow.
    static PoolOptions within_clock_range(PoolOptions o) noexcept {
        using std::chrono::milliseconds;
        // About 36 years: far past any real deadline, and a time point plus a few of these still fits in the clock.
        constexpr milliseconds never =
            std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::duration::max()) / 8;
        // A jitter shortens recycle: capped, it must stay well below the capped recycle, or "never" could come soon.
        if (o.recycle > never) o.recycle_jitter = std::min(o.recycle_jitter, never / 2);
        for (milliseconds* d : {&o.recycle, &o.recycle_jitter, &o.keepalive, &o.idle_timeout, &o.leak_threshold})
            *d = std::min(*d, never);
        if (o.handoff_after > never) o.handoff_after = std::chrono::duration_cast<decltype(o.handoff_after)>(never);
        // A fair queue hands every return to the first waiter: a resource pushed back to the idle set would go to a
        // newcomer, or to a later waiter still awake, before the woken first one runs.
        if (o.fair_queue) o.handoff_after = std::chrono::microseconds(0);
        return o;
    }

    const PoolOptions user_options_;
    const PoolOptions options_;
    const std::uint32_t capacity_;
    const bool tracks_idle_time_ = options_.keepalive.count() > 0 || options_.idle_timeout.count() > 0;
    const bool affinity_ = options_.order == CheckoutOrder::lifo; // FIFO must see every return in order
    const bool leak_detection_ = options_.leak_threshold.count() > 0;
    const bool times_checkouts_ = HasCheckinHook<Events> || leak_detection_;
    const std::uint64_t fork_generation_ = watch_forks();
    const std::uint64_t id_ = next_pool_id();
    Factory factory_;
    Validator validator_;
    Clock clock_;
    [[no_unique_address]] Events events_;
    std::unique_ptr<Slot<Resource>[]> slots_;
    IdleSet idle_;
    IndexStack room_;

    // Written only by create, destroy and invalidate_all: kept together, away from the hot words inside idle_.
    alignas(64) std::atomic<std::size_t> alive_{0};
    std::atomic<std::size_t> refs_{1}; // the Pool object + every resource that exists + every asynchronous op
    std::atomic<std::uint64_t> generation_{0};
    std::atomic<std::uint64_t> rng_{0x2545'F491'4F6C'DD1Dull};

    // Statistics, written on slow paths only.
    alignas(64) std::atomic<std::uint64_t> created_{0};
    std::atomic<std::uint64_t> destroyed_{0};
    std::atomic<std::uint64_t> detached_{0};
    std::atomic<std::uint64_t> timeouts_{0};
    std::atomic<std::uint64_t> create_failures_{0};
    std::atomic<std::uint64_t> validation_failures_{0};
    std::atomic<std::uint64_t> recycled_{0};
    std::atomic<std::uint64_t> waits_{0};
    std::atomic<std::size_t> waiting_{0};

    alignas(64) std::mutex mutex_; // guards waiters_, the async ops' state and the flag changes that follow them
    WaiterList waiters_;
    std::condition_variable drained_;
    bool background_stop_ = false; // guarded by mutex_; set by close()
    std::condition_variable deadline_wakeup_;
    std::thread deadline_keeper_;
    TimePoint deadline_keeper_wakes_at_{}; // when the sleeping deadline keeper wakes by itself; guarded by mutex_
    std::condition_variable maintenance_wakeup_;
    std::thread maintainer_;
    std::mutex background_join_mutex_; // close() may run on two threads at once; one of them joins
    std::mutex maintenance_mutex_;      // one maintenance pass at a time
    PassThreads pass_threads_;          // the threads of the pass running now
    // max_connecting turns, when limited. Spelled to depend on Resource, so that it is instantiated with the pool.
    std::unique_ptr<typename Dependent<ConnectGate, Resource>::type> connect_gate_;
    // Groups of slots that may hold a parked one (pools of more than 64 slots, LIFO only). Kept here, with the cold
    // members: the hot ones above stay where they were on the checkout path's cache lines.
    ParkedGroups parked_groups_ = affinity_ ? ParkedGroups(capacity_) : ParkedGroups();
    const std::chrono::milliseconds period_ = options_.maintenance_period(); // the maintainer's, between passes
};

} // namespace respool::detail
#endif // RESPOOL_DETAIL_POOL_CORE_HPP_INCLUDED
