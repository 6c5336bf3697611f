// NamedLock against a real server: GET_LOCK with a timeout, RELEASE_LOCK at the guard's end, try_lock.
#define BOOST_TEST_MODULE mariadb_named_lock
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "test_server.hpp"
#include "tx_support.hpp"

namespace mdb = respool::mariadb;
using namespace std::chrono_literals;
using respool_tx_test::bounded_options;
using respool_tx_test::seconds_since;

namespace {
std::optional<long> holder_of(mdb::Connection& c, const std::string& name) {
    return c.query("SELECT IS_USED_LOCK(?)", name)[0].get<std::optional<long>>(0);
}
} // namespace

BOOST_AUTO_TEST_CASE(a_named_lock_is_exclusive_times_out_and_is_released_by_its_guard) {
    mdb::Connection a(bounded_options());
    mdb::Connection b(bounded_options());
    const std::string name = respool_test::unique_name("respool_named");
    {
        mdb::NamedLock guard(a, name, 1s);
        BOOST_TEST(guard.owns_lock());
        BOOST_TEST(a.may_hold_named_locks()); // the pool's Validator will release leftovers
        BOOST_TEST(holder_of(b, name).value_or(0) == static_cast<long>(a.thread_id()));
        BOOST_TEST(!mdb::NamedLock::try_lock(b, name).has_value());
        const auto start = std::chrono::steady_clock::now();
        try {
            mdb::NamedLock late(b, name, 300ms);
            BOOST_ERROR("a held named lock was granted to another session");
        } catch (const mdb::Error& e) {
            BOOST_TEST((e.code() == mdb::errc::lock_not_available));
            const double elapsed = seconds_since(start);
            BOOST_TEST_MESSAGE("GET_LOCK timed out after " << elapsed << " s (asked 0.3 s)");
            BOOST_TEST(elapsed >= 0.25);
            BOOST_TEST(elapsed < 3.0);
        }
        // Session-level: a transaction's end does not release it.
        {
            mdb::Transaction tx(a);
            tx.commit();
        }
        BOOST_TEST(holder_of(b, name).has_value());
    }
    BOOST_TEST(!holder_of(b, name).has_value());
    auto taken = mdb::NamedLock::try_lock(b, name);
    BOOST_REQUIRE(taken.has_value());
    taken->unlock();
    BOOST_TEST(!taken->owns_lock());
    BOOST_CHECK_THROW(taken->unlock(), mdb::Error);
    BOOST_TEST(!holder_of(a, name).has_value());
}

BOOST_AUTO_TEST_CASE(a_named_lock_asked_to_wait_forever_waits_for_the_holder) {
    mdb::Connection holder(bounded_options());
    mdb::Connection waiter(bounded_options());
    const std::string name = respool_test::unique_name("respool_forever");
    std::optional<mdb::NamedLock> held;
    held.emplace(holder, name, 0ms);
    const auto waiter_id = static_cast<std::uint64_t>(waiter.thread_id());
    // The holder lets go once the waiter's GET_LOCK is queued on the server (it shows in the process list).
    std::thread release([&] {
        mdb::Connection watcher(bounded_options());
        const auto give_up = std::chrono::steady_clock::now() + 10s;
        while (std::chrono::steady_clock::now() < give_up &&
               watcher.query("SELECT COUNT(*) FROM information_schema.processlist WHERE id = ? AND state LIKE ?",
                             waiter_id, "%lock%")[0].get<int>(0) == 0)
            std::this_thread::yield();
        held.reset();
    });
    const auto start = std::chrono::steady_clock::now();
    try {
        mdb::NamedLock forever(waiter, name, std::chrono::milliseconds::max());
        BOOST_TEST(forever.owns_lock());
    } catch (const mdb::Error& e) {
        BOOST_ERROR("milliseconds::max() did not wait: " << e.what());
    }
    release.join();
    BOOST_TEST(seconds_since(start) < 10.0);
}

BOOST_AUTO_TEST_CASE(named_locks_on_a_lease_are_gone_when_it_comes_back) {
    auto pool = mdb::make_pool(bounded_options(), {.pool_size = 1, .max_overflow = 0, .timeout = 10s});
    mdb::Connection other(bounded_options());
    const std::string name = respool_test::unique_name("respool_named_lease");
    {
        auto lease = pool.acquire();
        mdb::NamedLock guard(lease, name, 0ms);
        auto moved = std::move(guard); // the guard moves; one release
        BOOST_TEST(!guard.owns_lock());
        BOOST_TEST(moved.owns_lock());
    }
    BOOST_TEST(!holder_of(other, name).has_value());
    BOOST_CHECK_THROW(mdb::NamedLock(other, "", 0ms), std::invalid_argument);
    BOOST_CHECK_THROW(mdb::NamedLock(other, std::string(65, 'n'), 0ms), std::invalid_argument);
    BOOST_CHECK_THROW(mdb::NamedLock(other, name, -1ms), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(the_64_character_limit_counts_characters_not_bytes) {
    mdb::Connection a(bounded_options());
    std::string accented; // 64 characters, 128 bytes: the server takes it
    for (int i = 0; i < 64; ++i) accented += "\xC3\xA9"; // é
    {
        mdb::NamedLock guard(a, accented, 1s);
        BOOST_TEST(guard.owns_lock());
    }
    BOOST_CHECK_THROW(mdb::NamedLock(a, accented + "x", 1s), std::invalid_argument); // 65 characters
    BOOST_CHECK_THROW(mdb::NamedLock(a, "", 1s), std::invalid_argument);
    static_assert(mdb::is_valid_identifier("caf\xC3\xA9"));
    std::string long_savepoint(63, 's');
    BOOST_TEST(mdb::is_valid_identifier(long_savepoint + "\xC3\xA9"));   // 64 characters
    BOOST_TEST(!mdb::is_valid_identifier(long_savepoint + "ss"));        // 65
    BOOST_TEST(mdb::utf8_length("\xC3\xA9t\xC3\xA9") == 3u);
    for (const char* broken : {"\xff\xfe", "caf\xC3", "\xC0\xAF", "\xED\xA0\x80", "a\x80"})
        BOOST_TEST(!mdb::is_valid_identifier(broken), "accepted bytes that are not UTF-8");
    BOOST_TEST(mdb::is_valid_utf8("\xF0\x9F\x98\x80")); // a 4-byte character (an emoji)
    // ...which the server refuses in any name (1300): refused before a statement is sent.
    BOOST_TEST(!mdb::is_valid_identifier("t\xF0\x9F\x98\x80"));
    BOOST_CHECK_THROW(mdb::quote_identifier("t\xF0\x9F\x98\x80", "savepoint"), std::invalid_argument);
    // A NUL byte in a refused name does not cut the message short.
    try {
        (void)mdb::quote_identifier(std::string_view("a\0b", 3), "table");
        BOOST_ERROR("a name with a NUL byte was accepted");
    } catch (const std::invalid_argument& e) {
        BOOST_TEST(std::string(e.what()).find("'a\\0b' (1-64 characters") != std::string::npos, e.what());
    }
}
