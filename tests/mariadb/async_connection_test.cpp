// AsyncConnection against a real server: connect, bound queries, errors with the server's message, ping, reset,
// commit and rollback, all on one io_context thread.
#define BOOST_TEST_MODULE mariadb_async_connection
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "async_support.hpp"

namespace asio = boost::asio;
namespace mdb = respool::mariadb;
using namespace std::chrono_literals;
using respool_test::run_on;
using respool_test::ScratchTable;
using respool_test::server_options;

BOOST_AUTO_TEST_CASE(bound_arguments_go_in_and_typed_rows_come_out) {
    mdb::Connection admin(server_options());
    ScratchTable table(admin, "async_people", "id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100), age INT NULL, "
                                              "score DOUBLE NULL, note TEXT NULL");
    ScratchTable bit_table(admin, "async_bits", "flags BIT(8)");
    admin.execute("INSERT INTO " + bit_table.name() + " VALUES (53)");
    asio::io_context io;
    mdb::AsyncConnection conn(io.get_executor(), server_options());
    run_on(io, [&]() -> asio::awaitable<void> {
        co_await conn.async_connect();
        BOOST_TEST(conn.is_connected());
        BOOST_TEST(conn.thread_id() != 0u);
        const std::string insert = "INSERT INTO " + table.name() + "(name, age, score, note) VALUES (?, ?, ?, ?)";
        BOOST_TEST(co_await conn.async_execute(insert, "John", 28, 1.5, std::string(300, 'x')) == 1u);
        const auto john = conn.last_insert_id();
        BOOST_TEST(john != 0u);
        BOOST_TEST(co_await conn.async_execute(insert, "Robert'); DROP TABLE students;--", std::optional<int>{},
                                               nullptr, "short") == 1u);

        const auto rows = co_await conn.async_query(
            "SELECT id, name, age, score, note FROM " + table.name() + " WHERE name = ?", "John");
        BOOST_REQUIRE(rows.size() == 1u);
        BOOST_TEST(rows[0].get<std::uint64_t>("id") == john);
        BOOST_TEST(rows[0].get<std::string>("name") == "John");
        BOOST_TEST(rows[0].get<int>("age") == 28);
        BOOST_TEST(rows[0].get<double>("score") == 1.5);
        BOOST_TEST(rows[0].get<std::string>("note") == std::string(300, 'x'));

        // The quote went in as data, not as SQL; NULL comes back as an empty optional.
        const auto bobby = co_await conn.async_query("SELECT age FROM " + table.name() + " WHERE note = ?", "short");
        BOOST_REQUIRE(bobby.size() == 1u);
        BOOST_TEST(!bobby[0].get<std::optional<int>>(0).has_value());

        // Text protocol (no arguments): every value as text, converted on read.
        const auto text = co_await conn.async_query("SELECT COUNT(*), MAX(age) FROM " + table.name());
        BOOST_TEST(text[0].get<int>(0) == 2);
        BOOST_TEST(text[0].get<int>(1) == 28);
        BOOST_TEST(co_await conn.async_execute("UPDATE " + table.name() + " SET age = age + 1") == 1u);
        BOOST_TEST(co_await conn.async_execute("UPDATE " + table.name() + " SET age = ? WHERE name = ?", 40,
                                               "nobody") == 0u);

        // An empty string_view{} (its data() is null) is '', not NULL.
        const auto empty = co_await conn.async_query("SELECT ? IS NULL, LENGTH(?)", std::string_view{}, "");
        BOOST_TEST(empty[0].get<int>(0) == 0);
        BOOST_TEST(empty[0].get<int>(1) == 0);

        // A BIT column's value arrives as raw bytes: 53 is the byte of "5". It reads as 53 in either protocol.
        const auto bits = co_await conn.async_query("SELECT flags FROM " + bit_table.name() + " WHERE ? = 1", 1);
        BOOST_TEST(bits[0].get<int>(0) == 53);
        const auto bits_text = co_await conn.async_query("SELECT flags FROM " + bit_table.name());
        BOOST_TEST(bits_text[0].get<int>(0) == 53);
    }());
}

BOOST_AUTO_TEST_CASE(a_ping_with_a_limit_succeeds_on_a_live_server_whatever_the_limit) {
    asio::io_context io;
    mdb::AsyncConnection conn(io.get_executor(), server_options());
    run_on(io, [&]() -> asio::awaitable<void> {
        co_await conn.async_connect();
        for (const auto limit : {std::chrono::milliseconds(5'000), std::chrono::milliseconds(24h),
                                 std::chrono::milliseconds::max()}) // max(): no limit, never an overflowed deadline
            co_await conn.async_ping(limit);
        BOOST_TEST(!conn.is_broken());
        BOOST_TEST((co_await conn.async_query("SELECT 1"))[0].get<int>(0) == 1);
    }());
}

BOOST_AUTO_TEST_CASE(a_moved_from_connection_refuses_statements_and_reports_itself_broken) {
    asio::io_context io;
    mdb::AsyncConnection conn(io.get_executor(), server_options());
    run_on(io, conn.async_connect());
    mdb::AsyncConnection moved(std::move(conn));
    BOOST_TEST(conn.is_broken());
    BOOST_TEST(!conn.is_connected());
    BOOST_TEST(conn.native_handle() == nullptr);
    BOOST_TEST(conn.deadlocks_seen() == 0u);
    conn.mark_broken(); // harmless on the empty shell
    try {
        run_on(io, [&]() -> asio::awaitable<void> { (void)co_await conn.async_query("SELECT 1"); }());
        BOOST_ERROR("a moved-from AsyncConnection ran a statement");
    } catch (const mdb::Error& e) {
        BOOST_TEST((e.code() == mdb::errc::no_session));
    }
    run_on(io, [&]() -> asio::awaitable<void> {
        BOOST_TEST((co_await moved.async_query("SELECT 1"))[0].get<int>(0) == 1);
    }());
}

BOOST_AUTO_TEST_CASE(wrong_password_fails_with_the_servers_message) {
    auto options = server_options();
    options.password = "not-the-password";
    asio::io_context io;
    mdb::AsyncConnection conn(io.get_executor(), options);
    try {
        run_on(io, conn.async_connect());
        BOOST_ERROR("connected with a wrong password");
    } catch (const mdb::Error& e) {
        BOOST_TEST(e.server_errno() == mdb::server_errno::access_denied);
        BOOST_TEST(e.sqlstate() == "28000");
        BOOST_TEST(std::string(e.what()).find("Access denied for user") != std::string::npos, e.what());
        BOOST_TEST(!e.is_disconnect());
    }
    BOOST_TEST(!conn.is_connected());
}

BOOST_AUTO_TEST_CASE(nothing_listening_fails_with_cannot_connect) {
    auto options = server_options();
    options.port = 1; // privileged and unused: refused at once
    asio::io_context io;
    mdb::AsyncConnection conn(io.get_executor(), options);
    try {
        run_on(io, conn.async_connect());
        BOOST_ERROR("connected to port 1");
    } catch (const mdb::Error& e) {
        BOOST_TEST((e.server_errno() == mdb::server_errno::conn_host_error ||
                    e.server_errno() == mdb::server_errno::connection_error),
                   e.what());
        BOOST_TEST(std::string(e.what()).find("127.0.0.1:1") != std::string::npos, e.what());
    }
}

BOOST_AUTO_TEST_CASE(server_errors_carry_the_message_and_leave_the_connection_usable) {
    asio::io_context io;
    mdb::AsyncConnection conn(io.get_executor(), server_options());
    run_on(io, [&]() -> asio::awaitable<void> {
        co_await conn.async_connect();
        try {
            co_await conn.async_query("SELEKT 1");
            BOOST_ERROR("bad SQL ran");
        } catch (const mdb::Error& e) {
            BOOST_TEST(e.server_errno() == 1064u);
            BOOST_TEST(std::string(e.what()).find("SQL syntax") != std::string::npos, e.what());
        }
        try {
            co_await conn.async_query("SELECT ? + ?", 1);
            BOOST_ERROR("a missing argument went unnoticed");
        } catch (const mdb::Error& e) {
            BOOST_TEST((e.code() == mdb::errc::argument_count));
        }
        try {
            co_await conn.async_query("SELECT * FROM no_such_table_here WHERE id = ?", 1);
            BOOST_ERROR("a missing table went unnoticed");
        } catch (const mdb::Error& e) {
            BOOST_TEST(e.server_errno() == 1146u);
        }
        BOOST_TEST(!conn.is_broken());
        const auto one = co_await conn.async_query("SELECT ? + 1", 41);
        BOOST_TEST(one[0].get<int>(0) == 42);
    }());
}

BOOST_AUTO_TEST_CASE(an_error_a_procedure_raises_after_its_first_result_set_reaches_the_caller) {
    mdb::Connection admin(server_options());
    admin.execute("DROP PROCEDURE IF EXISTS respool_async_select_then_fail");
    admin.execute("CREATE PROCEDURE respool_async_select_then_fail(x INT) BEGIN SELECT x; "
                  "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'failed after a result set'; END");
    asio::io_context io;
    mdb::AsyncConnection conn(io.get_executor(), server_options());
    run_on(io, [&]() -> asio::awaitable<void> {
        co_await conn.async_connect();
        for (int form = 0; form < 3; ++form) {
            bool thrown = false;
            try {
                if (form == 0) (void)co_await conn.async_query("CALL respool_async_select_then_fail(1)");
                if (form == 1) (void)co_await conn.async_query("CALL respool_async_select_then_fail(?)", 1);
                if (form == 2) (void)co_await conn.async_execute("CALL respool_async_select_then_fail(?)", 1);
            } catch (const mdb::Error& e) {
                thrown = true;
                BOOST_TEST(e.server_errno() == 1644u, "form " << form);
                BOOST_TEST(std::string(e.what()).find("failed after a result set") != std::string::npos, e.what());
            }
            BOOST_TEST(thrown, "form " << form << ": the procedure's error was lost");
            BOOST_TEST(!conn.is_broken());
            const auto two = co_await conn.async_query("SELECT ? + 1", 1);
            BOOST_TEST(two[0].get<int>(0) == 2);
        }
    }());
    admin.execute("DROP PROCEDURE respool_async_select_then_fail");
}

BOOST_AUTO_TEST_CASE(tls_required_from_a_server_without_tls_is_refused_not_plain_text) {
    mdb::Connection probe(server_options());
    if (probe.query("SELECT @@have_ssl").at(0).get<std::string>(0) == "YES") return; // needs a server without TLS
    auto options = server_options();
    options.tls.mode = mdb::ConnectOptions::TlsMode::required;
    asio::io_context io;
    mdb::AsyncConnection conn(io.get_executor(), options);
    run_on(io, [&]() -> asio::awaitable<void> {
        try {
            co_await conn.async_connect();
            BOOST_ERROR("connected in plain text although TLS was required");
        } catch (const mdb::Error& e) {
            BOOST_TEST(e.server_errno() == 2026u, e.what());
        }
        BOOST_TEST(conn.is_broken());
    }());
}

BOOST_AUTO_TEST_CASE(ping_commit_rollback_and_reset) {
    mdb::Connection admin(server_options());
    ScratchTable table(admin, "async_tx", "id INT PRIMARY KEY");
    asio::io_context io;
    mdb::AsyncConnection conn(io.get_executor(), server_options());
    run_on(io, [&]() -> asio::awaitable<void> {
        co_await conn.async_connect();
        co_await conn.async_ping();

        co_await conn.async_execute("START TRANSACTION");
        co_await conn.async_execute("INSERT INTO " + table.name() + " VALUES (?)", 1);
        BOOST_TEST(conn.in_transaction());
        co_await conn.async_rollback();
        BOOST_TEST(!conn.in_transaction());
        BOOST_TEST((co_await conn.async_query("SELECT COUNT(*) FROM " + table.name()))[0].get<int>(0) == 0);

        co_await conn.async_execute("START TRANSACTION");
        co_await conn.async_execute("INSERT INTO " + table.name() + " VALUES (?)", 2);
        co_await conn.async_commit();
        BOOST_TEST(!conn.in_transaction());
        BOOST_TEST(admin.query("SELECT COUNT(*) FROM " + table.name())[0].get<int>(0) == 1);

        co_await conn.async_execute("SET @respool_marker = 7");
        BOOST_TEST((co_await conn.async_query("SELECT @respool_marker"))[0].get<int>(0) == 7);
        const auto id = conn.thread_id();
        co_await conn.async_reset();
        BOOST_TEST(conn.thread_id() == id); // the same session, cleaned
        BOOST_TEST(!(co_await conn.async_query("SELECT @respool_marker"))[0].get<std::optional<int>>(0));
    }());
}

BOOST_AUTO_TEST_CASE(a_killed_session_reports_a_disconnect_and_is_broken) {
    mdb::Connection admin(server_options());
    asio::io_context io;
    mdb::AsyncConnection conn(io.get_executor(), server_options());
    run_on(io, conn.async_connect());
    respool_test::kill_session(admin, conn.thread_id());
    run_on(io, [&]() -> asio::awaitable<void> {
        try {
            co_await conn.async_query("SELECT 1");
            BOOST_ERROR("a query on a killed session succeeded");
        } catch (const mdb::Error& e) {
            BOOST_TEST(e.is_disconnect(), e.what());
        }
        BOOST_TEST(conn.is_broken());
    }());
}

BOOST_AUTO_TEST_CASE(two_connections_wait_on_the_server_at_the_same_time) {
    asio::io_context io;
    mdb::AsyncConnection a(io.get_executor(), server_options());
    mdb::AsyncConnection b(io.get_executor(), server_options());
    run_on(io, a.async_connect());
    run_on(io, b.async_connect());
    int done = 0;
    auto sleeper = [&](mdb::AsyncConnection& c) -> asio::awaitable<void> {
        co_await c.async_query("SELECT SLEEP(1)");
        ++done;
    };
    const auto start = std::chrono::steady_clock::now();
    asio::co_spawn(io, sleeper(a), asio::detached);
    asio::co_spawn(io, sleeper(b), asio::detached);
    io.restart();
    io.run();
    const auto took = std::chrono::steady_clock::now() - start;
    BOOST_TEST(done == 2);
    BOOST_TEST((took < 1600ms), std::chrono::duration<double>(took).count() << " s"); // one after the other: 2 s
}

namespace {
asio::awaitable<std::uint64_t> session_counter(mdb::AsyncConnection& conn, std::string name) {
    const mdb::Result rows = co_await conn.async_query("SHOW SESSION STATUS LIKE '" + name + "'");
    co_return rows.at(0).get<std::uint64_t>(1);
}
} // namespace

BOOST_AUTO_TEST_CASE(statements_run_with_arguments_are_prepared_once_and_never_reused_wrongly) {
    mdb::Connection admin(server_options());
    ScratchTable table(admin, "async_cache", "id INT PRIMARY KEY, a INT");
    admin.execute("INSERT INTO " + table.name() + " VALUES (1, 10)");
    asio::io_context io;
    mdb::AsyncConnection conn(io.get_executor(), server_options());
    run_on(io, [&]() -> asio::awaitable<void> {
        co_await conn.async_connect();
        const std::uint64_t prepared = co_await session_counter(conn, "Com_stmt_prepare");
        for (int i = 0; i < 5; ++i) BOOST_TEST((co_await conn.async_query("SELECT ? + 1", i)).at(0).get<int>(0) == i + 1);
        BOOST_TEST(co_await session_counter(conn, "Com_stmt_prepare") - prepared == 1u);

        // Columns by a wildcard are never kept: renamed or added columns read as a fresh prepare reads them.
        const std::string select = "SELECT * FROM " + table.name() + " WHERE id >= ?";
        BOOST_TEST((co_await conn.async_query(select, 0)).at(0).get<int>("a") == 10);
        admin.execute("ALTER TABLE " + table.name() + " RENAME COLUMN a TO b, ADD COLUMN a INT NOT NULL DEFAULT 7");
        const mdb::Result after = co_await conn.async_query(select, 0);
        BOOST_TEST(after.column_names().size() == 3u);
        BOOST_TEST(after.at(0).get<int>("a") == 7);
        BOOST_TEST(after.at(0).get<int>("b") == 10);
        const std::string insert = "INSERT INTO " + table.name() + "(id) VALUES (?) RETURNING *";
        BOOST_TEST((co_await conn.async_query(insert, 2)).column_names().size() == 3u);
        admin.execute("ALTER TABLE " + table.name() + " ADD COLUMN c INT NOT NULL DEFAULT 8");
        BOOST_TEST((co_await conn.async_query(insert, 3)).at(0).get<int>("c") == 8);
        BOOST_TEST((co_await conn.async_query("SELECT COUNT(*) FROM " + table.name())).at(0).get<int>(0) == 3);

        // EXECUTE IMMEDIATE of SET sql_mode closes kept statements too (checked at the end, with ANSI_QUOTES).
        // A session reset drops the server's statements: the kept ones go with them.
        co_await conn.async_reset();
        BOOST_TEST((co_await conn.async_query("SELECT ? + 1", 41)).at(0).get<int>(0) == 42);

        // sql_mode changes how text reads: statements prepared before it are not reused.
        BOOST_TEST((co_await conn.async_query("SELECT \"x\" = ?", "x")).at(0).get<int>(0) == 1);
        co_await conn.async_execute("EXECUTE IMMEDIATE 'SET sql_mode = CONCAT(@@sql_mode, '',ANSI_QUOTES'')'");
        try {
            co_await conn.async_query("SELECT \"x\" = ?", "x");
            BOOST_FAIL("a statement prepared before ANSI_QUOTES was reused");
        } catch (const mdb::Error& e) {
            BOOST_TEST(e.server_errno() == 1054u); // ER_BAD_FIELD_ERROR: "x" is now a column name
        }
    }());
}

BOOST_AUTO_TEST_CASE(a_cache_size_of_zero_closes_each_statement_without_blocking) {
    mdb::ConnectOptions options = server_options();
    options.statement_cache_size = 0;
    asio::io_context io;
    mdb::AsyncConnection conn(io.get_executor(), options);
    run_on(io, [&]() -> asio::awaitable<void> {
        co_await conn.async_connect();
        const std::uint64_t closed = co_await session_counter(conn, "Com_stmt_close");
        for (int i = 0; i < 3; ++i) BOOST_TEST(co_await conn.async_execute("DO ?", i) == 0u);
        BOOST_TEST(co_await session_counter(conn, "Com_stmt_close") - closed == 3u);
    }());
}
