#pragma once
#ifndef RESPOOL_EVENTS_HPP_INCLUDED
#define RESPOOL_EVENTS_HPP_INCLUDED
// Pool events: what a PoolEvents policy is told, and the do-nothing default that costs nothing.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>

namespace respool {

// Why the pool let a resource go.
enum class DestroyReason : std::uint8_t {
    invalidated,       // Lease::invalidate()
    validation_failed, // validate() said false or threw (pre_ping at checkout, or keepalive)
    reset_failed,      // reset() said false or threw on return: broken (a disconnect) or not cleanable
    recycled,          // older than PoolOptions::recycle
    idle_timeout,      // idle longer than PoolOptions::idle_timeout
    pool_invalidated,  // created before Pool::invalidate_all()
    overflow,          // returned while more than pool_size existed and nobody waited
    closed,            // the pool was closed
    disconnect,        // validate(), keepalive or reset() refused it and the validator's disconnected() said it lost
                       // its connection (for MariaDB: a disconnect error, or a socket the server closed)
};

// How many DestroyReason values there are: the size of a table indexed by reason. A new reason goes last.
inline constexpr std::size_t destroy_reason_count = std::size_t(DestroyReason::disconnect) + 1;

inline const char* to_string(DestroyReason reason) noexcept {
    switch (reason) {
    case DestroyReason::invalidated: return "invalidated";
    case DestroyReason::validation_failed: return "validation_failed";
    case DestroyReason::reset_failed: return "reset_failed";
    case DestroyReason::recycled: return "recycled";
    case DestroyReason::idle_timeout: return "idle_timeout";
    case DestroyReason::pool_invalidated: return "pool_invalidated";
    case DestroyReason::overflow: return "overflow";
    case DestroyReason::closed: return "closed";
    case DestroyReason::disconnect: return "disconnect";
    }
    return "unknown";
}

struct CreateEvent {
    std::chrono::nanoseconds duration{}; // time spent in create()
    std::exception_ptr error;            // what create() threw; null on success
};
struct CheckoutEvent {
    std::chrono::nanoseconds waited{}; // 0 when a resource was free at once; never counts time spent in create()
};
struct CheckinEvent {
    std::chrono::nanoseconds held{}; // from checkout to return
};
struct DestroyEvent {
    DestroyReason reason{};
};
struct TimeoutEvent {
    std::chrono::nanoseconds waited{};
};
struct LeakEvent {
    std::chrono::nanoseconds held{}; // how long the lease has been out (when returned: in all)
    const char* file = "";           // where the acquire that took it was called (std::source_location)
    const char* function = "";
    std::uint_least32_t line = 0;
    bool returned = false; // false: first report, past the threshold; true: it finally came back
};

// PoolEvents: optional hooks, each detected on its own; a policy may have any subset. The pool calls them on the
// thread where the event happens (acquire, return, the background maintenance thread, close()), never while it holds a
// lock, and swallows anything they throw. With hooks for checkin or leaks, each checkout also reads the clock. A hook
// may take its event by const reference (as below), by value or by non-const reference (a copy of its own).
//   void on_create(const CreateEvent&)     after each create(), successful or not
//   void on_checkout(const CheckoutEvent&) a lease is handed out
//   void on_checkin(const CheckinEvent&)   a lease ends: it comes back (before the resource is kept, handed on or
//                                          destroyed) or is detached
//   void on_destroy(const DestroyEvent&)   a resource is destroyed, with the reason
//   void on_timeout(const TimeoutEvent&)   an acquire timed out
//   void on_leak(const LeakEvent&)         a lease held past PoolOptions::leak_threshold, and when it comes back
template <class E>
concept HasCreateHook = requires(E& e, CreateEvent& ev) { e.on_create(ev); };
template <class E>
concept HasCheckoutHook = requires(E& e, CheckoutEvent& ev) { e.on_checkout(ev); };
template <class E>
concept HasCheckinHook = requires(E& e, CheckinEvent& ev) { e.on_checkin(ev); };
template <class E>
concept HasDestroyHook = requires(E& e, DestroyEvent& ev) { e.on_destroy(ev); };
template <class E>
concept HasTimeoutHook = requires(E& e, TimeoutEvent& ev) { e.on_timeout(ev); };
template <class E>
concept HasLeakHook = requires(E& e, LeakEvent& ev) { e.on_leak(ev); };

template <class E>
concept PoolEvents = std::move_constructible<E>;

// The default: no hooks, so no event code is compiled into the pool at all.
struct NoEvents {};

} // namespace respool
#endif // RESPOOL_EVENTS_HPP_INCLUDED
