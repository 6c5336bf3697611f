#pragma once
#ifndef RESPOOL_MARIADB_RETRY_TRANSACTION_HPP_INCLUDED
#define RESPOOL_MARIADB_RETRY_TRANSACTION_HPP_INCLUDED
// retry_transaction: runs a whole transaction again after a deadlock or a lock wait timeout, with backoff.
#include <algorithm>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <functional>
#include <optional>
#include <random>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>

#include "connection.hpp"
#include "error.hpp"
#include "transaction.hpp"
#include "transaction_options.hpp"

namespace respool::mariadb {

// When and how retry_transaction runs a transaction again. An aggregate: designated initializers work.
struct RetryPolicy {
    // Attempts in all, the first included (1: never retry). At least 1.
    std::size_t max_attempts = 5;
    // The pause before the second attempt; each later one doubles it (times `multiplier`), up to max_backoff. The
    // pause actually taken is drawn uniformly from [half of it, all of it] (jitter), so that transactions that
    // collided do not collide again in step.
    std::chrono::milliseconds initial_backoff{10};
    std::chrono::milliseconds max_backoff{1'000};
    double multiplier = 2.0;
    // Also retry a NOWAIT read that found a row locked (errc::lock_not_available). Off: the caller asked not to wait.
    bool retry_lock_not_available = false;
    // Also retry when the connection was lost before COMMIT was sent (the server then rolls the transaction back).
    // Off by default: a lost connection often means a server in trouble. Never applies to a lost COMMIT
    // (errc::commit_outcome_unknown), which is never retried.
    bool retry_disconnects = false;
    // How each attempt's transaction begins.
    TransactionOptions transaction{};
};

namespace detail {

// Whether `e`, thrown by an attempt, allows another one under `policy`.
inline bool is_retryable(const Error& e, const RetryPolicy& policy) noexcept {
    if (e.code() == errc::commit_outcome_unknown) return false;
    if (e.code() == errc::lock_not_available) return policy.retry_lock_not_available;
    if (e.code() == errc::transaction_state) return false; // a programming error, or a rollback already reported
    if (e.code().category() != server_category()) return false;
    if (e.is_deadlock() || e.is_lock_wait_timeout()) return true;
    return policy.retry_disconnects && e.is_disconnect();
}

// The pause before attempt `attempt` (2, 3, ...): capped exponential backoff with "equal jitter", in microseconds so
// that a 1 ms policy still pauses 0.5-1 ms.
inline std::chrono::microseconds backoff(const RetryPolicy& policy, std::size_t attempt) {
    double ms = static_cast<double>(policy.initial_backoff.count());
    for (std::size_t i = 2; i < attempt && ms < static_cast<double>(policy.max_backoff.count()); ++i)
        ms *= policy.multiplier;
    ms = std::min(ms, static_cast<double>(policy.max_backoff.count()));
    if (ms <= 0) return std::chrono::microseconds(0);
    thread_local std::minstd_rand random(std::random_device{}());
    std::uniform_real_distribution<double> draw(ms / 2, ms);
    const double us = draw(random) * 1000.0;
    // A pause of max_backoff = milliseconds::max() has more microseconds than the type holds: that is "forever".
    constexpr auto longest = std::chrono::microseconds::max();
    if (!(us < static_cast<double>(longest.count()))) return longest;
    return std::chrono::microseconds(static_cast<std::chrono::microseconds::rep>(us));
}

inline void check_policy(const RetryPolicy& p) {
    if (p.max_attempts == 0) throw std::invalid_argument("respool::mariadb::RetryPolicy::max_attempts must be >= 1");
    if (p.initial_backoff.count() < 0) throw std::invalid_argument("respool::mariadb::RetryPolicy::initial_backoff < 0");
    if (p.max_backoff.count() < 0) throw std::invalid_argument("respool::mariadb::RetryPolicy::max_backoff < 0");
    if (!(p.multiplier >= 1.0)) throw std::invalid_argument("respool::mariadb::RetryPolicy::multiplier must be >= 1");
}

// Calls fn with the Transaction, or with its Connection when fn takes that.
template <class Fn>
decltype(auto) invoke_attempt(Fn& fn, Transaction& tx) {
    if constexpr (std::invocable<Fn&, Transaction&>)
        return std::invoke(fn, tx);
    else
        return std::invoke(fn, tx.connection());
}

template <class Fn>
concept TransactionBody = std::invocable<Fn&, Transaction&> || std::invocable<Fn&, Connection&>;

template <class Fn>
using TransactionBodyResult = decltype(invoke_attempt(std::declval<Fn&>(), std::declval<Transaction&>()));

} // namespace detail

// Runs `fn` in a transaction on a connection leased from `pool` and commits it (unless fn committed or rolled back
// itself), returning fn's result. `fn` takes a Transaction& (or a Connection&) and must do the whole transaction's
// work, since a retry runs it again from the start. When an attempt fails with a deadlock (1213) or a lock wait
// timeout (1205), that attempt is rolled back first (a 1205 undoes only the statement while
// innodb_rollback_on_timeout is off, the default), then, after a backoff, fn runs again in a new transaction, on a
// fresh lease if the connection broke. Never retries after errc::commit_outcome_unknown, nor after any other
// exception; those reach the caller, as does the last failure once policy.max_attempts are used.
//
// Blocks: for fn, the round trips, the backoff pauses (at most policy.max_backoff each) and the pool's acquire (up to
// its timeout). Thread-safe as the pool is. Throws what fn or the pool throw, Error as above, std::invalid_argument
// for a bad policy.
template <class PoolType, detail::TransactionBody Fn>
    requires requires(PoolType& pool) {
        { *pool.acquire() } -> std::same_as<Connection&>;
    }
detail::TransactionBodyResult<Fn> retry_transaction(PoolType& pool, Fn&& fn, const RetryPolicy& policy = {}) {
    using Out = detail::TransactionBodyResult<Fn>;
    detail::check_policy(policy);
    std::optional<decltype(pool.acquire())> lease;
    for (std::size_t attempt = 1;; ++attempt) {
        if (!lease || (*lease)->is_broken()) {
            lease.reset(); // a broken connection is destroyed by the pool, not reused
            lease.emplace(pool.acquire());
        }
        bool ended_by_fn = false; // fn committed or rolled back itself, then failed: running it again could repeat work
        try {
            Transaction tx(**lease, policy.transaction);
            auto attempt_body = [&]() -> decltype(auto) {
                try {
                    return detail::invoke_attempt(fn, tx);
                } catch (...) {
                    ended_by_fn = !tx.active();
                    throw;
                }
            };
            if constexpr (std::is_void_v<Out>) {
                attempt_body();
                if (tx.active()) tx.commit();
                return;
            } else {
                Out result = attempt_body();
                if (tx.active()) tx.commit();
                return result;
            }
        } catch (const Error& e) {
            // The attempt's Transaction has been rolled back by now: its destructor ran during the unwinding.
            if (ended_by_fn || attempt >= policy.max_attempts || !detail::is_retryable(e, policy)) throw;
        }
        const auto pause = detail::backoff(policy, attempt + 1);
        if (pause.count() > 0) std::this_thread::sleep_for(pause);
    }
}

} // namespace respool::mariadb
#endif // RESPOOL_MARIADB_RETRY_TRANSACTION_HPP_INCLUDED
