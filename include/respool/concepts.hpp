#pragma once
#ifndef RESPOOL_CONCEPTS_HPP_INCLUDED
#define RESPOOL_CONCEPTS_HPP_INCLUDED
// The policies a Pool is built from, as C++20 concepts made of small named parts: a type that does not fit fails to
// compile naming the part it misses.
#include <chrono>
#include <concepts>
#include <type_traits>

namespace respool {

// A resource the pool can hold: moved into its slot once, destroyed in place.
template <class R>
concept PoolableResource = std::is_object_v<R> && std::move_constructible<R> && std::destructible<R>;

// The part of a factory that makes resources.
template <class F, class R>
concept CreatesResource = requires(F& f) {
    { f.create() } -> std::convertible_to<R>;
};

// Optional: an explicit release, called instead of relying on R's destructor alone (R is destroyed afterwards). It
// should be noexcept; one that throws anyway has its exception dropped, and the resource counts as destroyed.
template <class F, class R>
concept HasDestroy = requires(F& f, R& r) { f.destroy(r); };

// Optional: `void on_maintenance_pass() noexcept`, called after each maintenance pass (on the maintenance thread, or
// in Pool::maintain()), for a factory that has background work of its own to pace (the asynchronous MariaDB factory
// retries its connections' set-ups from there). One that throws anyway has its exception dropped.
template <class F>
concept HasMaintenancePassHook = requires(F& f) { f.on_maintenance_pass(); };

// What an optional validator hook may return: bool (false: destroy the resource), or nothing, meaning "keep it".
template <class T>
concept HookResult = std::is_void_v<T> || std::convertible_to<T, bool>;

// ResourceFactory: the pool calls create() when it needs a resource and has room for one, on the thread that
// acquires, outside any lock; several create() calls may run at once. create() may block and may throw: the exception
// reaches the caller of acquire (or becomes errc::create_failed in the error_code forms) and the room is given back.
// Optional hook: `void destroy(R&) noexcept`, called on the thread that lets the resource go, before R's destructor.
template <class F, class R>
concept ResourceFactory = PoolableResource<R> && std::move_constructible<F> && CreatesResource<F, R>;

// The part of a validator that checks a resource on checkout.
template <class V, class R>
concept ValidatesResource = requires(V& v, R& r) {
    { v.validate(r) } -> std::convertible_to<bool>;
};

// Optional: cleans a resource when its lease comes back; false (or a throw) destroys it instead of keeping it.
template <class V, class R>
concept HasReset = requires(V& v, R& r) {
    { v.reset(r) } -> HookResult;
};

// Optional: the background keepalive check (PoolOptions::keepalive) of an idle resource; false (or a throw) destroys
// it. Without it, keepalive calls validate(). A validator whose validate() skips work for a recently used resource
// (as the MariaDB one skips its ping) provides this to always do the round trip that keeps a connection alive.
template <class V, class R>
concept HasKeepalive = requires(V& v, R& r) {
    { v.keepalive(r) } -> HookResult;
};

// Optional: whether a resource the validator refused (validate, keepalive or reset) lost its connection, so that its
// destruction is reported as DestroyReason::disconnect rather than as the check that found it.
template <class V, class R>
concept HasDisconnectCheck = requires(V& v, const R& r) {
    { v.disconnected(r) } -> std::convertible_to<bool>;
};

// A reset or keepalive hook that can be called but returns something that is not a yes or no would be silently
// never used; Pool refuses such a policy at compile time instead.
template <class V, class R>
concept MisdeclaredReset = requires(V& v, R& r) { v.reset(r); } && !HasReset<V, R>;
template <class V, class R>
concept MisdeclaredKeepalive = requires(V& v, R& r) { v.keepalive(r); } && !HasKeepalive<V, R>;

// ResourceValidator: validate() is the checkout check ("pre-ping"), called on the acquiring thread for every checkout
// of an existing resource when PoolOptions::pre_ping is on (never for one just created). false or a throw destroys
// the resource and the pool tries another. It may block (a network round trip) and runs outside any pool lock; several
// validate() and reset() calls may run at once on different resources.
// Optional hook: `bool reset(R&)` (or `void reset(R&)`: a return without a throw keeps it), called on the thread that
// returns a lease.
template <class V, class R>
concept ResourceValidator = std::move_constructible<V> && ValidatesResource<V, R>;

// PoolClock: where the pool reads time for ages (recycle, idle time) and for how long waiters have waited. now() must
// be thread-safe and monotonic. Swappable so that tests control time; blocking waits still use real time.
template <class C>
concept PoolClock = std::copy_constructible<C> && requires(const C& c) {
    { c.now() } noexcept -> std::same_as<std::chrono::steady_clock::time_point>;
};

} // namespace respool
#endif // RESPOOL_CONCEPTS_HPP_INCLUDED
