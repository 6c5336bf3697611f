#pragma once
#ifndef RESPOOL_POOL_OPTIONS_HPP_INCLUDED
#define RESPOOL_POOL_OPTIONS_HPP_INCLUDED
// PoolOptions: the runtime settings of a Pool, named as SQLAlchemy's QueuePool names them.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>

namespace respool {

// Which idle resource a checkout takes.
enum class CheckoutOrder {
    lifo, // the one this thread returned last if still idle, else the most recently returned of the rest: few
          // resources stay warm, the rest can age out (the default)
    fifo, // the least recently returned: use is spread over all of them (keeps every connection busy behind a proxy)
};

// An aggregate: designated initializers work, e.g. PoolOptions{.pool_size = 10, .max_overflow = 5}.
// The first five fields are SQLAlchemy's pool_size, max_overflow, pool_timeout, pool_recycle and pool_pre_ping.
struct PoolOptions {
    std::size_t pool_size = 5;                      // resources kept alive once created
    std::size_t max_overflow = 10;                  // extra resources allowed beyond pool_size, destroyed on return
                                                    // while more than pool_size exist and nobody waits
    std::chrono::milliseconds timeout{30'000};      // how long acquire() waits; 0 = do not wait, max() = forever
    std::chrono::milliseconds recycle{0};           // maximum age of a resource; 0 = never recycled
    bool pre_ping = false;                          // run Validator::validate on every checkout of an existing one
    std::chrono::milliseconds recycle_jitter{0};    // each resource's maximum age is shortened by a random amount up
                                                    // to this, so resources created together do not expire together
    CheckoutOrder order = CheckoutOrder::lifo;      // which idle resource a checkout takes
    std::chrono::microseconds handoff_after{1'000}; // once a waiter has waited this long, returned resources go to
                                                    // waiters directly in FIFO order instead of to whoever asks first
    std::chrono::milliseconds keepalive{0};         // background: an idle resource unused this long is validated
                                                    // (the validator's round trip keeps it alive through proxies and
                                                    // finds dead ones before a caller does); 0 = off. Spread by up
                                                    // to a fifth so that resources are not all pinged at once.
    std::chrono::milliseconds idle_timeout{0};      // background: an idle resource unused this long is destroyed while
                                                    // more than min_idle are idle; 0 = never
    std::size_t min_idle = 0;                       // background: resources created ahead of demand so that this many
                                                    // are idle (never beyond pool_size)
    std::size_t max_connecting = 0;                 // at most this many create() calls at once, so a mass disconnect
                                                    // does not become a reconnect storm; 0 = no limit
    std::chrono::milliseconds leak_threshold{0};    // background: a lease held longer is reported once (with where it
                                                    // was acquired) through the on_leak event, or to stderr; 0 = off
    bool maintenance_thread = true;                 // run the background work above on a thread of the pool's own;
                                                    // false: the application calls Pool::maintain() itself
    bool fair_queue = false;                        // strict FIFO: once anyone waits, every return goes to the first
                                                    // waiter (handoff_after is then 0), so nobody overtakes a queued
                                                    // caller; a caller that finds nothing free queues at once and
                                                    // yields once before it sleeps: a far shorter tail when threads
                                                    // outnumber resources, and for holds as long as a database
                                                    // round trip more throughput too where the server has CPUs of
                                                    // its own (docs/benchmarks.md)

    // true when a background thread has work: keepalive, idle timeout, min_idle or leak detection.
    bool needs_maintenance() const noexcept {
        return keepalive.count() > 0 || idle_timeout.count() > 0 || min_idle > 0 || leak_threshold.count() > 0;
    }

    // How often the maintenance thread runs a pass: a quarter of the shortest of keepalive, idle_timeout and
    // leak_threshold, within [10 ms, 1 s] (1 s when only min_idle is set).
    std::chrono::milliseconds maintenance_period() const noexcept {
        using std::chrono::milliseconds;
        milliseconds shortest = milliseconds(1000) * 4;
        if (keepalive.count() > 0) shortest = std::min(shortest, keepalive);
        if (idle_timeout.count() > 0) shortest = std::min(shortest, idle_timeout);
        if (leak_threshold.count() > 0) shortest = std::min(shortest, leak_threshold);
        return std::clamp(shortest / 4, milliseconds(10), milliseconds(1000));
    }

    // Throws std::invalid_argument naming the first invalid field.
    void validate() const {
        auto fail = [](const char* field, const char* why) {
            throw std::invalid_argument(std::string("respool::PoolOptions::") + field + ": " + why);
        };
        if (pool_size > max_resources) fail("pool_size", "too large (at most 16,777,214)");
        // Checked before the sum is formed: a huge max_overflow would wrap it around.
        if (max_overflow > max_resources || pool_size + max_overflow > max_resources)
            fail("max_overflow", "pool_size + max_overflow is too large (at most 16,777,214)");
        if (pool_size + max_overflow == 0) fail("pool_size", "pool_size + max_overflow must be at least 1");
        if (timeout.count() < 0) fail("timeout", "must not be negative");
        if (recycle.count() < 0) fail("recycle", "must not be negative (0 means never)");
        if (recycle_jitter.count() < 0) fail("recycle_jitter", "must not be negative");
        if (recycle.count() > 0 && recycle_jitter >= recycle) fail("recycle_jitter", "must be shorter than recycle");
        if (handoff_after.count() < 0) fail("handoff_after", "must not be negative");
        if (order != CheckoutOrder::lifo && order != CheckoutOrder::fifo) fail("order", "not a CheckoutOrder value");
        if (keepalive.count() < 0) fail("keepalive", "must not be negative (0 means off)");
        if (idle_timeout.count() < 0) fail("idle_timeout", "must not be negative (0 means never)");
        if (min_idle > pool_size) fail("min_idle", "must not exceed pool_size");
        if (max_connecting > max_resources) fail("max_connecting", "too large");
        if (leak_threshold.count() < 0) fail("leak_threshold", "must not be negative (0 means off)");
    }

    static constexpr std::size_t max_resources = 0xFF'FFFEu;
};

} // namespace respool
#endif // RESPOOL_POOL_OPTIONS_HPP_INCLUDED
