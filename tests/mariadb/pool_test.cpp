// ConnectionPool against a real server: killed connections, reset on return, the validator's ping policy.
#define BOOST_TEST_MODULE mariadb_pool
#include <boost/test/unit_test.hpp>

#include <poll.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "test_server.hpp"

namespace mdb = respool::mariadb;
using namespace std::chrono_literals;
using respool_test::ScratchTable;
using respool_test::eventually;
using respool_test::server_options;

namespace {

// KILLs a session from another one and waits (bounded) until the server has dropped it from its process list.
void kill_session(mdb::Connection& admin, unsigned long id) {
    admin.execute("KILL CONNECTION " + std::to_string(id)); // KILL cannot be prepared in every version
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (admin.query("SELECT COUNT(*) FROM information_schema.processlist WHERE id = ?",
                       static_cast<std::uint64_t>(id))[0]
               .get<int>(0) != 0) {
        BOOST_REQUIRE(std::chrono::steady_clock::now() < deadline);
        std::this_thread::yield();
    }
}

// Waits (bounded) until the client side of `c` sees the server's close: the condition the socket peek relies on.
void wait_until_readable(const mdb::Connection& c) {
    pollfd p{};
    p.fd = mysql_get_socket(c.native_handle());
    p.events = POLLIN;
    BOOST_REQUIRE(::poll(&p, 1, 5000) == 1);
}

std::uint64_t session_status(mdb::Connection& c, const std::string& name) { // SHOW cannot take a placeholder
    return c.query("SHOW SESSION STATUS LIKE '" + name + "'").at(0).get<std::uint64_t>(1);
}

const respool::PoolOptions one_connection{.pool_size = 1, .max_overflow = 0, .timeout = 10s};

} // namespace

BOOST_AUTO_TEST_CASE(killed_idle_connection_is_replaced_quietly_by_the_socket_peek) {
    auto options = one_connection;
    options.pre_ping = true;
    // No ping for an hour: only the non-blocking peek can notice the kill.
    auto pool = mdb::make_pool(server_options(), options, mdb::ValidatorOptions{.ping_after = 1h});
    mdb::Connection admin(server_options());
    unsigned long first = 0;
    {
        auto lease = pool.acquire();
        first = lease->thread_id();
        kill_session(admin, first);
        wait_until_readable(*lease);
    } // returned: nothing tells the pool yet (not in a transaction, so no round trip)
    BOOST_TEST(pool.stats().idle == 1u);
    auto lease = pool.acquire(); // must not throw
    BOOST_TEST(lease->thread_id() != first);
    BOOST_TEST(lease->query("SELECT 1")[0].get<int>(0) == 1);
    const auto st = pool.stats();
    BOOST_TEST(st.validation_failures == 1u);
    BOOST_TEST(st.created == 2u);
}

BOOST_AUTO_TEST_CASE(killed_idle_connection_is_replaced_quietly_by_the_ping) {
    auto options = one_connection;
    options.pre_ping = true;
    auto pool = mdb::make_pool(server_options(), options, mdb::ValidatorOptions{.ping_after = 0ms});
    mdb::Connection admin(server_options());
    unsigned long first = 0;
    {
        auto lease = pool.acquire();
        first = lease->thread_id();
    }
    kill_session(admin, first);
    auto lease = pool.acquire();
    BOOST_TEST(lease->thread_id() != first);
    BOOST_TEST(lease->query("SELECT 1")[0].get<int>(0) == 1);
    BOOST_TEST(pool.stats().validation_failures == 1u);
}

BOOST_AUTO_TEST_CASE(connection_killed_while_leased_fails_with_disconnect_and_is_not_returned) {
    auto pool = mdb::make_pool(server_options(), one_connection);
    mdb::Connection admin(server_options());
    unsigned long first = 0;
    {
        auto lease = pool.acquire();
        first = lease->thread_id();
        kill_session(admin, first);
        try {
            (void)lease->query("SELECT 1");
            BOOST_ERROR("a query on a killed connection succeeded");
        } catch (const mdb::Error& e) {
            BOOST_TEST(e.is_disconnect(), e.what() << " (errno " << e.server_errno() << ")");
        }
        BOOST_TEST(lease->is_broken());
    }
    auto st = pool.stats();
    BOOST_TEST(st.idle == 0u);
    BOOST_TEST(st.size == 0u);
    BOOST_TEST(st.destroyed == 1u);
    auto lease = pool.acquire();
    BOOST_TEST(lease->thread_id() != first);
    BOOST_TEST(pool.stats().created == 2u);
}

BOOST_AUTO_TEST_CASE(a_packet_over_max_allowed_packet_closes_the_session_and_the_connection_is_not_returned) {
    auto pool = mdb::make_pool(server_options(), one_connection);
    unsigned long first = 0;
    {
        auto lease = pool.acquire();
        first = lease->thread_id();
        const auto limit = lease->query("SELECT @@max_allowed_packet").at(0).get<std::uint64_t>(0);
        try {
            (void)lease->query("SELECT LENGTH(?)", std::string(static_cast<std::size_t>(limit) + 1, 'x'));
            BOOST_ERROR("a parameter over max_allowed_packet was accepted");
        } catch (const mdb::Error& e) {
            // The server answers 1153 (SQLSTATE 08S01) and closes the session.
            BOOST_TEST(e.is_disconnect(), e.what() << " (errno " << e.server_errno() << ")");
        }
        BOOST_TEST(lease->is_broken());
    }
    BOOST_TEST(pool.stats().destroyed == 1u);
    auto lease = pool.acquire();
    BOOST_TEST(lease->thread_id() != first);
    BOOST_TEST(lease->query("SELECT 1").at(0).get<int>(0) == 1);
}

BOOST_AUTO_TEST_CASE(one_disconnect_can_invalidate_the_whole_pool) {
    auto pool = mdb::make_pool(server_options(), respool::PoolOptions{.pool_size = 2, .max_overflow = 0},
                               mdb::ValidatorOptions{.disconnect_invalidates_pool = true});
    mdb::Connection admin(server_options());
    unsigned long a = 0;
    unsigned long b = 0;
    {
        auto la = pool.acquire();
        auto lb = pool.acquire();
        a = la->thread_id();
        b = lb->thread_id();
    }
    {
        auto lease = pool.acquire();
        kill_session(admin, lease->thread_id());
        BOOST_CHECK_THROW((void)lease->query("SELECT 1"), mdb::Error);
    } // the broken one marks every existing connection stale
    auto lease = pool.acquire(); // the other idle one is refused too
    BOOST_TEST(lease->thread_id() != a);
    BOOST_TEST(lease->thread_id() != b);
    BOOST_TEST(pool.stats().created == 3u);
}

BOOST_AUTO_TEST_CASE(a_disconnect_invalidates_only_the_connections_that_existed_when_it_was_seen) {
    auto pool = mdb::make_pool(server_options(), respool::PoolOptions{.pool_size = 2, .max_overflow = 0},
                               mdb::ValidatorOptions{.disconnect_invalidates_pool = true});
    mdb::Connection admin(server_options());
    unsigned long fresh = 0;
    {
        auto broken = pool.acquire();
        kill_session(admin, broken->thread_id());
        BOOST_CHECK_THROW((void)broken->query("SELECT 1"), mdb::Error); // the disconnect is seen here
        {
            auto made_after = pool.acquire(); // made after the disconnect: healthy
            fresh = made_after->thread_id();
            BOOST_TEST(made_after->query("SELECT 1")[0].get<int>(0) == 1);
        }
    } // the broken one comes back only now
    auto lease = pool.acquire();
    BOOST_TEST(lease->thread_id() == fresh); // kept: it did not exist when the disconnect was seen
    BOOST_TEST(pool.stats().created == 2u);
}

BOOST_AUTO_TEST_CASE(only_a_lost_session_counts_as_a_disconnect) {
    mdb::Validator validator({.disconnect_invalidates_pool = true});
    mdb::Connection admin(server_options());
    mdb::Connection other(server_options());
    mdb::Connection marked(server_options());
    marked.mark_broken(); // unfit for reuse, but its session is there
    BOOST_TEST(!validator.disconnected(marked));
    BOOST_TEST(!validator.reset(marked));
    BOOST_TEST(validator.validate(other)); // no disconnect, so the pool-wide mark was not set
    mdb::Connection killed(server_options());
    kill_session(admin, killed.thread_id());
    BOOST_CHECK_THROW((void)killed.query("SELECT 1"), mdb::Error);
    BOOST_TEST(validator.disconnected(killed));
}

BOOST_AUTO_TEST_CASE(uncommitted_transaction_is_rolled_back_on_return) {
    auto pool = mdb::make_pool(server_options(), one_connection);
    mdb::Connection admin(server_options());
    ScratchTable t(admin, "rollback", "id INT PRIMARY KEY");
    unsigned long first = 0;
    {
        auto lease = pool.acquire();
        first = lease->thread_id();
        lease->execute("START TRANSACTION");
        lease->execute("INSERT INTO " + t.name() + " VALUES (?)", 1);
        BOOST_TEST(lease->in_transaction());
    } // returned without COMMIT
    {
        auto lease = pool.acquire();
        BOOST_TEST(lease->thread_id() == first); // the same session: the reset cleaned it
        BOOST_TEST(!lease->in_transaction());
        BOOST_TEST(lease->query("SELECT COUNT(*) FROM " + t.name())[0].get<int>(0) == 0);
    }
    BOOST_TEST(admin.query("SELECT COUNT(*) FROM " + t.name())[0].get<int>(0) == 0);

    // A clean session costs no ROLLBACK on return.
    std::uint64_t rollbacks = 0;
    {
        auto lease = pool.acquire();
        rollbacks = session_status(*lease, "Com_rollback");
    }
    auto lease = pool.acquire();
    BOOST_TEST(lease->thread_id() == first);
    BOOST_TEST(session_status(*lease, "Com_rollback") == rollbacks);
}

BOOST_AUTO_TEST_CASE(transaction_on_a_lease_rolls_back_and_named_locks_are_released_on_return) {
    auto pool = mdb::make_pool(server_options(), one_connection);
    mdb::Connection admin(server_options());
    ScratchTable t(admin, "lease_tx", "id INT PRIMARY KEY");
    const std::string lock = respool_test::unique_name("respool_lock");
    {
        auto lease = pool.acquire();
        mdb::Transaction tx(lease);
        lease->execute("INSERT INTO " + t.name() + " VALUES (?)", 7);
        BOOST_TEST(lease->query("SELECT GET_LOCK(?, 0)", lock)[0].get<int>(0) == 1);
        BOOST_TEST(lease->may_hold_named_locks());
    }
    BOOST_TEST(!admin.query("SELECT IS_USED_LOCK(?)", lock)[0].get<std::optional<long>>(0).has_value());
    BOOST_TEST(admin.query("SELECT COUNT(*) FROM " + t.name())[0].get<int>(0) == 0);
}

BOOST_AUTO_TEST_CASE(named_locks_a_procedure_takes_are_released_on_return) {
    auto pool = mdb::make_pool(server_options(), one_connection);
    mdb::Connection admin(server_options());
    const respool_test::ScratchProcedure take_lock(admin, "respool_take_lock", "IN n VARCHAR(64)",
                                                   "BEGIN DO GET_LOCK(n, 0); END");
    const std::string& procedure = take_lock.name();
    const std::string lock = respool_test::unique_name("respool_lock");
    {
        auto lease = pool.acquire();
        lease->execute("CALL " + procedure + "(?)", lock);
        BOOST_TEST(admin.query("SELECT IS_USED_LOCK(?)", lock)[0].get<std::optional<long>>(0).has_value());
    }
    BOOST_TEST(!admin.query("SELECT IS_USED_LOCK(?)", lock)[0].get<std::optional<long>>(0).has_value());
    BOOST_TEST(pool.stats().created == 1u); // the same connection, kept
}

BOOST_AUTO_TEST_CASE(a_connection_moved_out_of_its_lease_is_refused_on_return_not_used) {
    auto pool = mdb::make_pool(server_options(), one_connection);
    std::optional<mdb::Connection> mine;
    {
        auto lease = pool.acquire();
        mine.emplace(std::move(*lease));
        try {
            lease->execute("SELECT 1");
            BOOST_ERROR("a moved-from connection ran a statement");
        } catch (const mdb::Error& e) {
            BOOST_TEST((e.code() == mdb::errc::no_session));
        }
        BOOST_TEST(lease->is_broken());
    } // the empty shell comes back: destroyed, not kept
    BOOST_TEST(mine->query("SELECT 1")[0].get<int>(0) == 1);
    BOOST_TEST(pool.stats().destroyed == 1u);
    BOOST_TEST(pool.acquire()->query("SELECT 2")[0].get<int>(0) == 2); // a fresh connection
}

BOOST_AUTO_TEST_CASE(autocommit_turned_off_is_turned_back_on_so_the_next_holders_writes_commit) {
    auto pool = mdb::make_pool(server_options(), one_connection);
    mdb::Connection admin(server_options());
    ScratchTable t(admin, "autocommit", "id INT PRIMARY KEY");
    unsigned long first = 0;
    {
        auto lease = pool.acquire();
        first = lease->thread_id();
        lease->execute("SET autocommit = 0");
        lease->execute("INSERT INTO " + t.name() + " VALUES (?)", 1); // implicitly in a transaction now
        BOOST_TEST(lease->needs_cleaning());
    }
    {
        auto lease = pool.acquire();
        BOOST_TEST(lease->thread_id() == first); // the same session, cleaned
        BOOST_TEST(lease->query("SELECT @@autocommit")[0].get<int>(0) == 1);
        lease->execute("INSERT INTO " + t.name() + " VALUES (?)", 2);
        BOOST_TEST(!lease->needs_cleaning());
    }
    // The first holder's row was rolled back; the second holder's is committed: another session sees exactly it.
    BOOST_TEST(admin.query("SELECT COUNT(*) FROM " + t.name() + " WHERE id = 2")[0].get<int>(0) == 1);
    BOOST_TEST(admin.query("SELECT COUNT(*) FROM " + t.name())[0].get<int>(0) == 1);
}

BOOST_AUTO_TEST_CASE(autocommit_off_from_the_init_statements_is_the_sessions_normal_state) {
    auto options = server_options();
    options.init_statements = {"SET autocommit = 0"};
    auto pool = mdb::make_pool(options, one_connection);
    {
        auto lease = pool.acquire();
        BOOST_TEST(!lease->needs_cleaning());
        lease->execute("SET autocommit = 1");
        BOOST_TEST(lease->needs_cleaning());
    }
    auto lease = pool.acquire();
    BOOST_TEST(lease->query("SELECT @@autocommit")[0].get<int>(0) == 0);
}

BOOST_AUTO_TEST_CASE(a_session_reset_keeps_the_autocommit_connecting_left) {
    mdb::Connection c(server_options());
    c.execute("SET autocommit = 0");
    c.reset_session(); // the server's autocommit is back on; the client's status flags catch up at the next reply
    c.query("SELECT 1");
    BOOST_TEST(!c.needs_cleaning());
    if (c.needs_cleaning()) c.clean_session();
    BOOST_TEST(c.query("SELECT @@autocommit")[0].get<int>(0) == 1);
}

BOOST_AUTO_TEST_CASE(table_locks_are_released_on_return) {
    auto pool = mdb::make_pool(server_options(), one_connection);
    mdb::Connection admin(server_options());
    ScratchTable t(admin, "locked", "id INT PRIMARY KEY");
    {
        auto lease = pool.acquire();
        lease->execute("LOCK TABLES " + t.name() + " WRITE");
    }
    {
        auto lease = pool.acquire(); // not confined to the locked table any more
        BOOST_TEST(lease->query("SELECT 1 FROM information_schema.tables LIMIT 1").size() == 1u);
    }
    // Another session can write the table at once (a lock still held would make it wait out lock_wait_timeout).
    admin.execute("SET SESSION lock_wait_timeout = 1");
    admin.execute("INSERT INTO " + t.name() + " VALUES (?)", 1);
    BOOST_TEST(admin.query("SELECT COUNT(*) FROM " + t.name())[0].get<int>(0) == 1);
}

BOOST_AUTO_TEST_CASE(table_locks_taken_where_the_text_does_not_show_them_are_released_on_return) {
    auto pool = mdb::make_pool(server_options(), one_connection);
    mdb::Connection admin(server_options());
    admin.execute("SET SESSION lock_wait_timeout = 1");
    ScratchTable t(admin, "locked_unseen", "id INT PRIMARY KEY");
    const respool_test::ScratchProcedure lock_tables(admin, "respool_lock_tables", "",
                                                     "BEGIN EXECUTE IMMEDIATE 'LOCK TABLES " + t.name() + " WRITE'; END");
    const std::string& procedure = lock_tables.name();
    int id = 0;
    const std::vector<std::string> locks{
        "EXECUTE IMMEDIATE CONCAT('LOCK TAB', 'LES " + t.name() + " WRITE')",
        "EXECUTE IMMEDIATE 'LOCK\\tTABLES " + t.name() + " WRITE'",
        "CALL " + procedure + "()",
        "BEGIN NOT ATOMIC EXECUTE IMMEDIATE 'LOCK TABLES " + t.name() + " WRITE'; END",
        "SET STATEMENT max_statement_time = 10 FOR CALL " + procedure + "()"};
    for (const std::string& lock : locks) {
        BOOST_TEST_CONTEXT(lock) {
            {
                auto lease = pool.acquire();
                lease->execute(lock);
            }
            {
                auto lease = pool.acquire(); // not confined to the locked table any more
                BOOST_TEST(lease->query("SELECT 1 FROM information_schema.tables LIMIT 1").size() == 1u);
            }
            admin.execute("INSERT INTO " + t.name() + " VALUES (?)", ++id); // would time out were it still locked
        }
    }
    BOOST_TEST(admin.query("SELECT COUNT(*) FROM " + t.name())[0].get<int>(0) == static_cast<int>(locks.size()));
}

BOOST_AUTO_TEST_CASE(an_open_handler_or_a_prepared_statement_does_not_reach_the_next_holder) {
    auto pool = mdb::make_pool(server_options(), one_connection);
    mdb::Connection admin(server_options());
    admin.execute("SET SESSION lock_wait_timeout = 5"); // a handler left open would block DROP TABLE at the end
    ScratchTable t(admin, "handler", "id INT PRIMARY KEY");
    admin.execute("INSERT INTO " + t.name() + " VALUES (1)");
    unsigned long first = 0;
    {
        auto lease = pool.acquire();
        first = lease->thread_id();
        lease->execute("HANDLER " + t.name() + " OPEN"); // holds a metadata lock until closed
        lease->execute("PREPARE respool_left_behind FROM 'SELECT 42'");
    }
    auto lease = pool.acquire();
    BOOST_TEST(lease->thread_id() == first); // the same session, reset: not a new connection
    lease->execute("HANDLER " + t.name() + " OPEN");  // 1066 "Not unique table/alias" had it stayed open
    lease->execute("HANDLER " + t.name() + " CLOSE");
    try {
        lease->execute("EXECUTE respool_left_behind");
        BOOST_ERROR("a prepared statement of the previous holder was still there");
    } catch (const mdb::Error& e) {
        BOOST_TEST(e.server_errno() == 1243u, e.what()); // ER_UNKNOWN_STMT_HANDLER
    }
    BOOST_TEST(lease->query("SELECT COUNT(*) FROM " + t.name())[0].get<int>(0) == 1);
}

BOOST_AUTO_TEST_CASE(set_transaction_for_the_next_transaction_does_not_reach_the_next_holder) {
    auto pool = mdb::make_pool(server_options(), one_connection);
    mdb::Connection admin(server_options());
    ScratchTable t(admin, "next_tx", "id INT PRIMARY KEY");
    {
        auto lease = pool.acquire();
        lease->execute("SET TRANSACTION READ ONLY"); // applies to this session's next transaction only
    }
    {
        auto lease = pool.acquire();
        mdb::Transaction tx(lease);
        lease->execute("INSERT INTO " + t.name() + " VALUES (?)", 1); // would fail in a READ ONLY transaction
        tx.commit();
    }
    int id = 1;
    // MariaDB's other spellings of the same: the next transaction only.
    for (const char* next_only : {"SET @@tx_read_only = 1", "SET @a = 1, @@`TX_READ_ONLY` = 1"}) {
        BOOST_TEST_CONTEXT(next_only) {
            {
                auto lease = pool.acquire();
                lease->execute(next_only);
            }
            auto lease = pool.acquire();
            mdb::Transaction tx(lease);
            lease->execute("INSERT INTO " + t.name() + " VALUES (?)", ++id);
            tx.commit();
        }
    }
    {
        // Sent around the adapter, then noted: undone as if it had gone through execute().
        auto lease = pool.acquire();
        const std::string sql = "SET TRANSACTION READ ONLY";
        BOOST_REQUIRE(mysql_real_query(lease->native_handle(), sql.data(), sql.size()) == 0);
        lease->touch();
        lease->note_statement(sql);
    }
    {
        auto lease = pool.acquire();
        mdb::Transaction tx(lease);
        lease->execute("INSERT INTO " + t.name() + " VALUES (?)", ++id);
        tx.commit();
    }
    BOOST_TEST(admin.query("SELECT COUNT(*) FROM " + t.name())[0].get<int>(0) == 4);
}

BOOST_AUTO_TEST_CASE(full_reset_clears_session_state_and_reruns_init_statements) {
    auto options = server_options();
    options.init_statements = {"SET @respool_init = 42"};
    auto pool = mdb::make_pool(options, one_connection, mdb::ValidatorOptions{.reset = mdb::ResetMode::full});
    unsigned long first = 0;
    {
        auto lease = pool.acquire();
        first = lease->thread_id();
        BOOST_TEST(lease->query("SELECT @respool_init")[0].get<int>(0) == 42);
        lease->execute("SET @leftover = 1, @respool_init = 0");
    }
    auto lease = pool.acquire();
    BOOST_TEST(lease->thread_id() == first);
    const auto row = lease->query("SELECT @leftover, @respool_init")[0];
    BOOST_TEST(row.is_null(0));
    BOOST_TEST(row.get<int>(1) == 42);
}

BOOST_AUTO_TEST_CASE(after_a_session_reset_the_next_holder_sees_no_transaction_and_can_begin_one) {
    // A reset's reply leaves Connector/C's status flags as the statement before left them: a transaction open.
    mdb::Connection admin(server_options());
    ScratchTable t(admin, "after_reset", "id INT PRIMARY KEY");
    const std::string insert = "INSERT INTO " + t.name() + " VALUES (?)";
    int id = 0;
    for (const auto mode : {mdb::ResetMode::full, mdb::ResetMode::rollback}) {
        auto pool = mdb::make_pool(server_options(), one_connection, mdb::ValidatorOptions{.reset = mode});
        for (const char* left_open : {"START TRANSACTION", "SET autocommit = 0"}) {
            BOOST_TEST_CONTEXT("reset " << (mode == mdb::ResetMode::full ? "full" : "rollback") << ", "
                                        << left_open) {
                {
                    auto lease = pool.acquire();
                    lease->execute(left_open);
                    lease->execute(insert, ++id);
                    lease->execute("PREPARE respool_left_behind FROM 'SELECT 1'"); // only a session reset clears it
                    BOOST_TEST(lease->in_transaction());
                }
                auto lease = pool.acquire();
                BOOST_TEST(pool.stats().created == 1u); // the same session, reset
                BOOST_TEST(!lease->in_transaction());
                BOOST_TEST(!lease->needs_cleaning());
                const auto session = lease->query("SELECT @@in_transaction, @@autocommit")[0];
                BOOST_TEST(session.get<int>(0) == 0);
                BOOST_TEST(session.get<int>(1) == 1);
                mdb::Transaction tx(lease);
                lease->execute(insert, ++id);
                tx.commit();
            }
        }
    }
    // Only the rows inserted in the transactions that were committed.
    BOOST_TEST(admin.query("SELECT GROUP_CONCAT(id ORDER BY id) FROM " + t.name())[0].get<std::string>(0) ==
               "2,4,6,8");
}

BOOST_AUTO_TEST_CASE(validator_does_not_ping_a_just_used_connection) {
    auto options = one_connection;
    options.pre_ping = true;
    auto pool = mdb::make_pool(server_options(), options, mdb::ValidatorOptions{.ping_after = 1h});
    std::uint64_t before = 0;
    {
        auto lease = pool.acquire();
        before = session_status(*lease, "Com_admin_commands");
    }
    for (int i = 0; i < 3; ++i) {
        auto lease = pool.acquire(); // validated each time
        BOOST_TEST(session_status(*lease, "Com_admin_commands") == before);
    }
    BOOST_TEST(pool.stats().created == 1u);
}

BOOST_AUTO_TEST_CASE(validator_pings_a_connection_idle_past_the_threshold) {
    auto options = one_connection;
    options.pre_ping = true;
    auto pool = mdb::make_pool(server_options(), options, mdb::ValidatorOptions{.ping_after = 20ms});
    std::uint64_t before = 0;
    {
        auto lease = pool.acquire();
        before = session_status(*lease, "Com_admin_commands");
    }
    std::this_thread::sleep_for(50ms); // a real idle period past the (tiny) threshold
    auto lease = pool.acquire();
    BOOST_TEST(session_status(*lease, "Com_admin_commands") == before + 1);
    BOOST_TEST(pool.stats().created == 1u);
}

// ---- A server of this test's own, stopped (SIGSTOP) so that it accepts bytes but never answers --------------------
// (Kept together at the end of the file, includes too.)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <condition_variable>
#include <deque>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <sstream>

#include "private_server.hpp"

using respool_test::can_start_a_server;
using respool_test::PrivateServer;
using respool_test::StoppedProcess;

namespace {

int local_port(const mdb::Connection& c) {
    sockaddr_in address{};
    socklen_t length = sizeof address;
    BOOST_REQUIRE(::getsockname(mysql_get_socket(c.native_handle()), reinterpret_cast<sockaddr*>(&address), &length) ==
                  0);
    return ntohs(address.sin_port);
}

// Whether the server's end of the TCP connection from local port `client_port` holds bytes the server has not read
// (Linux's /proc/net/tcp): the COM_PING a stopped server cannot answer.
bool server_holds_unread_bytes(int server_port, int client_port) {
    std::ifstream table("/proc/net/tcp");
    std::string line;
    std::getline(table, line); // the header
    auto port_of = [](const std::string& address) { // "0100007F:9C8A"
        return std::stoi(address.substr(address.find(':') + 1), nullptr, 16);
    };
    while (std::getline(table, line)) {
        std::istringstream fields(line);
        std::string slot, local, remote, state, queues; // queues: "tx_queue:rx_queue"
        fields >> slot >> local >> remote >> state >> queues;
        if (port_of(local) == server_port && port_of(remote) == client_port)
            return std::stoul(queues.substr(queues.find(':') + 1), nullptr, 16) > 0;
    }
    return false;
}

// An executor for the asynchronous acquire whose tasks this thread takes and runs.
class TaskQueue {
public:
    auto executor() {
        return [this](respool::Task task) {
            std::lock_guard lock(mutex_);
            tasks_.push_back(std::move(task));
            posted_.notify_one();
        };
    }
    // The first task posted before `deadline`, or an empty one.
    respool::Task take_until(std::chrono::steady_clock::time_point deadline) {
        std::unique_lock lock(mutex_);
        if (!posted_.wait_until(lock, deadline, [&] { return !tasks_.empty(); })) return {};
        respool::Task task = std::move(tasks_.front());
        tasks_.pop_front();
        return task;
    }

private:
    std::mutex mutex_;
    std::condition_variable posted_;
    std::deque<respool::Task> tasks_;
};

} // namespace

BOOST_AUTO_TEST_CASE(a_keepalive_ping_the_server_never_answers_holds_neither_deadlines_nor_the_pools_end) {
    // Without read_timeout, the keepalive ping still gives up after 1 s, since ~Pool joins the maintenance thread that
    // sends it; an asynchronous acquire's deadline, kept by a thread of its own, expires on time meanwhile.
    if (!can_start_a_server()) {
        BOOST_TEST_MESSAGE("skipped: needs tools/mariadb_server.sh and mariadbd, for a server of this test's own");
        return;
    }
    using Clock = std::chrono::steady_clock;
    PrivateServer server;
    BOOST_REQUIRE_MESSAGE(server.started(), "tools/mariadb_server.sh could not start a server");
    const auto options = mdb::ConnectOptions::from_url(server.url() + "?connect_timeout=1");
    BOOST_REQUIRE(options.read_timeout.count() == 0);
    auto pool = std::make_unique<mdb::ConnectionPool>(
        mdb::make_pool(options, {.pool_size = 2, .max_overflow = 0, .keepalive = 1s}));
    auto leased = pool->acquire();
    int idle_port = 0;
    {
        auto idle = pool->acquire();
        idle_port = local_port(*idle);
    }
    TaskQueue tasks;
    std::future<void> pool_ended; // before `stopped`: on any exit the server resumes before this is waited for
    {
        StoppedProcess stopped(server.pid());
        BOOST_REQUIRE(stopped.stopped());
        // The keepalive ping reaches the stopped server (about 1 s after the return) and waits for its answer.
        BOOST_REQUIRE(eventually([&] { return server_holds_unread_bytes(options.port, idle_port); }, 5s));

        const auto asked = Clock::now();
        bool completed = false;
        std::exception_ptr error;
        pool->async_acquire_for(300ms, tasks.executor(),
                                [&](std::exception_ptr e, mdb::ConnectionPool::Lease lease) {
                                    completed = true;
                                    error = e;
                                    BOOST_TEST(!lease);
                                });
        // The timeout is posted at its deadline, while the keepalive ping still waits.
        respool::Task task = tasks.take_until(asked + 3s);
        const double posted_after = std::chrono::duration<double>(Clock::now() - asked).count();
        BOOST_TEST(static_cast<bool>(task), "the acquire completed while the server was stopped");
        BOOST_TEST(posted_after < 0.9);
        if (task) task();
        BOOST_TEST(completed);
        BOOST_TEST(static_cast<bool>(error));
        // The idle connection that did not answer is destroyed once the ping gives up (counted as a validation
        // failure just before its destruction ends its check: wait for both).
        BOOST_TEST(eventually(
            [&] {
                const auto stats = pool->stats();
                return stats.validation_failures == 1u && stats.in_use == 1u;
            },
            5s));

        const auto ending = Clock::now();
        pool_ended = std::async(std::launch::async, [&] { pool.reset(); });
        BOOST_TEST((pool_ended.wait_for(3s) == std::future_status::ready), "~Pool returned while the server is stopped");
        BOOST_TEST(std::chrono::duration<double>(Clock::now() - ending).count() < 1.5);
    }
}

BOOST_AUTO_TEST_CASE(a_checkout_ping_the_server_never_answers_gives_up_after_the_ping_limit) {
    // Without read_timeout, pre_ping's COM_PING still gives up after 1 s; the acquire then connects afresh (failing
    // within connect_timeout, the server being stopped) instead of waiting for the answer for ever.
    if (!can_start_a_server()) {
        BOOST_TEST_MESSAGE("skipped: needs tools/mariadb_server.sh and mariadbd, for a server of this test's own");
        return;
    }
    using Clock = std::chrono::steady_clock;
    PrivateServer server;
    BOOST_REQUIRE_MESSAGE(server.started(), "tools/mariadb_server.sh could not start a server");
    const auto options = mdb::ConnectOptions::from_url(server.url() + "?connect_timeout=1");
    BOOST_REQUIRE(options.read_timeout.count() == 0);
    mdb::ConnectionPool pool = mdb::make_pool(options, {.pool_size = 1, .max_overflow = 0, .pre_ping = true},
                                              mdb::ValidatorOptions{.ping_after = 0ms});
    int idle_port = 0;
    {
        auto lease = pool.acquire();
        idle_port = local_port(*lease);
    }
    std::future<void> acquired; // before `stopped`: on any exit the server resumes before this is waited for
    StoppedProcess stopped(server.pid());
    BOOST_REQUIRE(stopped.stopped());
    const auto asked = Clock::now();
    acquired = std::async(std::launch::async, [&] { (void)pool.acquire_for(500ms); });
    // The ping reaches the stopped server.
    BOOST_TEST(eventually([&] { return server_holds_unread_bytes(options.port, idle_port); }, 5s));
    BOOST_REQUIRE_MESSAGE((acquired.wait_for(6s) == std::future_status::ready),
                          "the checkout still waits for the stopped server's answer");
    const double took = std::chrono::duration<double>(Clock::now() - asked).count();
    BOOST_TEST_MESSAGE("acquire with a stopped server failed after " << took << " s");
    BOOST_TEST(took < 3.5); // ~1 s of ping, then connecting for up to connect_timeout
    BOOST_CHECK_THROW(acquired.get(), mdb::Error); // the new connection's connect error
    const auto stats = pool.stats();
    BOOST_TEST(stats.validation_failures == 1u);
    BOOST_TEST(stats.size == 0u);
    BOOST_TEST(stats.created == stats.destroyed);
}
