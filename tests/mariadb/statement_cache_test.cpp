// Statements run with arguments are prepared once per connection (ConnectOptions::statement_cache_size), and a kept
// statement never behaves differently from one prepared afresh: after ALTER TABLE, USE, SET sql_mode, a session
// reset or an error.
#define BOOST_TEST_MODULE mariadb_statement_cache
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <string>

#include "test_server.hpp"

namespace mdb = respool::mariadb;
using namespace std::chrono_literals;
using respool_test::ScratchTable;
using respool_test::server_options;
using respool_test::server_url;

namespace {

std::uint64_t session_status(mdb::Connection& c, const std::string& name) { // text: SHOW takes no placeholder
    return c.query("SHOW SESSION STATUS LIKE '" + name + "'").at(0).get<std::uint64_t>(1);
}

mdb::ConnectOptions with_cache(std::size_t size) {
    mdb::ConnectOptions options = server_options();
    options.statement_cache_size = size;
    return options;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_statement_run_again_is_prepared_once) {
    mdb::Connection conn(server_options());
    BOOST_TEST(conn.options().statement_cache_size == 32u); // the default
    const std::uint64_t prepared = session_status(conn, "Com_stmt_prepare");
    const std::uint64_t executed = session_status(conn, "Com_stmt_execute");
    for (int i = 0; i < 10; ++i) BOOST_TEST(conn.query("SELECT ? + 1", i).at(0).get<int>(0) == i + 1);
    BOOST_TEST(session_status(conn, "Com_stmt_prepare") - prepared == 1u);
    BOOST_TEST(session_status(conn, "Com_stmt_execute") - executed == 10u);
}

BOOST_AUTO_TEST_CASE(a_cache_size_of_zero_prepares_and_closes_on_every_call) {
    mdb::Connection conn(with_cache(0));
    const std::uint64_t prepared = session_status(conn, "Com_stmt_prepare");
    const std::uint64_t closed = session_status(conn, "Com_stmt_close");
    for (int i = 0; i < 5; ++i) BOOST_TEST(conn.execute("DO ?", i) == 0u);
    BOOST_TEST(session_status(conn, "Com_stmt_prepare") - prepared == 5u);
    BOOST_TEST(session_status(conn, "Com_stmt_close") - closed == 5u);
}

BOOST_AUTO_TEST_CASE(the_least_recently_run_statement_is_closed_when_the_cache_is_full) {
    mdb::Connection conn(with_cache(2));
    const std::uint64_t prepared = session_status(conn, "Com_stmt_prepare");
    BOOST_TEST(conn.query("SELECT ?", 1).at(0).get<int>(0) == 1);     // A
    BOOST_TEST(conn.query("SELECT ? + 0", 2).at(0).get<int>(0) == 2); // B
    BOOST_TEST(conn.query("SELECT ?", 3).at(0).get<int>(0) == 3);     // A again: kept
    BOOST_TEST(session_status(conn, "Com_stmt_prepare") - prepared == 2u);
    BOOST_TEST(conn.query("SELECT ? + 1", 4).at(0).get<int>(0) == 5); // C: B is closed
    BOOST_TEST(conn.query("SELECT ?", 5).at(0).get<int>(0) == 5);     // A: still kept
    BOOST_TEST(session_status(conn, "Com_stmt_prepare") - prepared == 3u);
    BOOST_TEST(conn.query("SELECT ? + 0", 6).at(0).get<int>(0) == 6); // B: prepared again
    BOOST_TEST(session_status(conn, "Com_stmt_prepare") - prepared == 4u);
}

BOOST_AUTO_TEST_CASE(statements_with_columns_by_a_wildcard_are_prepared_on_each_run) {
    mdb::Connection admin(server_options());
    ScratchTable t(admin, "sc_wildcard", "id INT PRIMARY KEY, a INT, b INT");
    admin.execute("INSERT INTO " + t.name() + " VALUES (1, 10, 20)");
    mdb::Connection conn(server_options());
    const std::string select = "SELECT * FROM " + t.name() + " WHERE id >= ?";
    BOOST_TEST(conn.query(select, 0).at(0).get<int>("a") == 10);
    // The names of the columns change and their number does not: a kept statement would keep the old names.
    admin.execute("ALTER TABLE " + t.name() + " RENAME COLUMN a TO c, RENAME COLUMN b TO a");
    BOOST_TEST(conn.query(select, 0).at(0).get<int>("a") == 20);
    // Their number changes: a kept statement would fail with 2057 after running.
    admin.execute("ALTER TABLE " + t.name() + " ADD COLUMN d VARCHAR(10) NOT NULL DEFAULT 'x'");
    const mdb::Result after = conn.query(select, 0);
    BOOST_TEST(after.column_names().size() == 4u);
    BOOST_TEST(after.at(0).get<std::string>("d") == "x");
    // A temporary table of other column names shadowing the table.
    conn.execute("CREATE TEMPORARY TABLE " + t.name() + " (id INT, x INT)");
    conn.execute("INSERT INTO " + t.name() + " VALUES (1, 7)");
    BOOST_TEST(conn.query(select, 0).at(0).get<int>("x") == 7);
    conn.execute("DROP TEMPORARY TABLE " + t.name());
    // Any `*` but COUNT(*)'s keeps a statement from being kept, wherever it stands (a comment or a quote that
    // reads differently in another sql_mode or character set could hide a wildcard); COUNT(*) does not.
    const std::string hidden[] = {
        "SELECT t.* FROM " + t.name() + " t WHERE id = ?",
        "SELECT # every column\n* FROM " + t.name() + " WHERE id = ?",
        "SELECT -- every column\n* FROM " + t.name() + " WHERE id = ?",
        "SELECT UNIQUE * FROM " + t.name() + " WHERE id = ?",
        "SELECT /* a * in a comment */ id FROM " + t.name() + " WHERE id = ?",
        "SELECT id * ? FROM " + t.name() + " WHERE id = 1",
    };
    for (const std::string& sql : hidden) {
        const std::uint64_t prepared = session_status(conn, "Com_stmt_prepare");
        for (int i = 0; i < 2; ++i) BOOST_TEST(conn.query(sql, 1).size() == 1u, sql);
        BOOST_TEST(session_status(conn, "Com_stmt_prepare") - prepared == 2u, sql);
    }
    const std::uint64_t prepared = session_status(conn, "Com_stmt_prepare");
    for (int i = 0; i < 2; ++i)
        BOOST_TEST(conn.query("SELECT COUNT(*), MAX(id) + ? FROM " + t.name(), 2).at(0).get<int>(1) == 3);
    BOOST_TEST(session_status(conn, "Com_stmt_prepare") - prepared == 1u);
    const std::string insert = "INSERT INTO " + t.name() + "(id) VALUES (?) RETURNING *";
    BOOST_TEST(conn.query(insert, 2).column_names().size() == 4u);
    admin.execute("ALTER TABLE " + t.name() + " ADD COLUMN e INT NOT NULL DEFAULT 8");
    BOOST_TEST(conn.query(insert, 3).at(0).get<int>("e") == 8);
    BOOST_TEST(conn.query("SELECT COUNT(*) FROM " + t.name()).at(0).get<int>(0) == 3); // each insert ran once
}

BOOST_AUTO_TEST_CASE(a_server_that_does_not_report_the_schema_still_gets_use_followed) {
    mdb::Connection admin(server_options());
    ScratchTable t(admin, "sc_use_untracked", "id INT");
    admin.execute("INSERT INTO " + t.name() + " VALUES (1)");
    mdb::Connection conn(server_options());
    conn.execute("SET SESSION session_track_schema = OFF");
    const std::string database = conn.query("SELECT DATABASE()").at(0).get<std::string>(0);
    const std::string select = "SELECT COUNT(*) FROM " + t.name() + " WHERE id = ?";
    BOOST_TEST(conn.query(select, 1).at(0).get<int>(0) == 1);
    conn.execute("USE information_schema");
    BOOST_CHECK_THROW(conn.query(select, 1), mdb::Error); // no such table there
    conn.execute("USE `" + database + "`");
    BOOST_TEST(conn.query(select, 1).at(0).get<int>(0) == 1);
}

BOOST_AUTO_TEST_CASE(sql_mode_set_through_execute_immediate_closes_kept_statements) {
    mdb::Connection conn(server_options());
    BOOST_TEST(conn.query("SELECT \"x\" = ?", "x").at(0).get<int>(0) == 1);
    conn.execute("EXECUTE IMMEDIATE 'SET sql_mode = CONCAT(@@sql_mode, '',ANSI_QUOTES'')'");
    BOOST_CHECK_THROW(conn.query("SELECT \"x\" = ?", "x"), mdb::Error); // "x" is a column name now
}

BOOST_AUTO_TEST_CASE(set_charset_and_compound_statements_that_change_the_collation_close_kept_statements) {
    const std::string changes[] = {
        "SET CHARSET latin1",
        "BEGIN NOT ATOMIC SET collation_connection = 'utf8mb4_bin'; END",
        "IF 1 THEN SET NAMES utf8mb4 COLLATE utf8mb4_bin; END IF",
    };
    for (const std::string& change : changes) {
        mdb::Connection conn(server_options());
        const std::string sql = "SELECT COLLATION('x') FROM DUAL WHERE ? = 1";
        const std::string before = conn.query(sql, 1).at(0).get<std::string>(0);
        conn.execute(change);
        const std::string now = conn.query("SELECT COLLATION('x')").at(0).get<std::string>(0);
        BOOST_TEST(now != before, change);
        BOOST_TEST(conn.query(sql, 1).at(0).get<std::string>(0) == now, change);
    }
}

BOOST_AUTO_TEST_CASE(a_statement_kept_under_one_default_database_is_not_reused_under_another) {
    mdb::Connection admin(server_options());
    ScratchTable t(admin, "sc_use", "id INT");
    admin.execute("INSERT INTO " + t.name() + " VALUES (1)");
    mdb::Connection conn(server_options());
    const std::string database = conn.query("SELECT DATABASE()").at(0).get<std::string>(0);
    const std::string select = "SELECT COUNT(*) FROM " + t.name() + " WHERE id = ?";
    BOOST_TEST(conn.query(select, 1).at(0).get<int>(0) == 1);
    conn.execute("USE information_schema");
    try {
        conn.query(select, 1); // a fresh prepare looks for the table in information_schema
        BOOST_FAIL("the statement read " + database + "'s table after USE information_schema");
    } catch (const mdb::Error& e) {
        BOOST_TEST((e.server_errno() == 1146u || e.server_errno() == 1109u)); // no such table there
    }
    conn.execute("USE `" + database + "`");
    BOOST_TEST(conn.query(select, 1).at(0).get<int>(0) == 1);
}

BOOST_AUTO_TEST_CASE(statements_are_prepared_again_after_sql_mode_changes_how_text_reads) {
    mdb::Connection conn(server_options());
    BOOST_TEST(conn.query("SELECT \"x\" = ?", "x").at(0).get<int>(0) == 1); // a string
    conn.execute("SET sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES')");
    try {
        conn.query("SELECT \"x\" = ?", "x"); // now a column name
        BOOST_FAIL("a statement prepared before ANSI_QUOTES was reused");
    } catch (const mdb::Error& e) {
        BOOST_TEST(e.server_errno() == 1054u); // ER_BAD_FIELD_ERROR
    }
}

BOOST_AUTO_TEST_CASE(kept_statements_survive_neither_a_session_reset_nor_an_error) {
    mdb::Connection admin(server_options());
    ScratchTable t(admin, "sc_reset", "id INT PRIMARY KEY");
    mdb::Connection conn(server_options());
    const std::string insert = "INSERT INTO " + t.name() + " VALUES (?)";
    BOOST_TEST(conn.execute(insert, 1) == 1u);
    conn.reset_session(); // drops the session's prepared statements on the server
    BOOST_TEST(conn.execute(insert, 2) == 1u);
    try {
        conn.execute(insert, 2);
        BOOST_FAIL("a duplicate key was accepted");
    } catch (const mdb::Error& e) {
        BOOST_TEST(e.server_errno() == 1062u); // ER_DUP_ENTRY
    }
    BOOST_TEST(conn.execute(insert, 3) == 1u);
    BOOST_TEST(conn.query("SELECT COUNT(*) FROM " + t.name()).at(0).get<int>(0) == 3);
}

BOOST_AUTO_TEST_CASE(a_kept_statement_that_takes_a_named_lock_still_has_it_released_on_return) {
    const std::string lock = respool_test::unique_name("sc_lock");
    auto pool = mdb::make_pool(server_url() + "?pool_size=1&max_overflow=0");
    for (int round = 0; round < 2; ++round) { // the second round runs the kept statement
        auto conn = pool.acquire();
        BOOST_TEST(conn->query("SELECT GET_LOCK(?, 0)", lock).at(0).get<int>(0) == 1);
    }
    mdb::Connection other(server_options());
    BOOST_TEST(other.query("SELECT IS_FREE_LOCK(?)", lock).at(0).get<int>(0) == 1);
    auto conn = pool.acquire();
    BOOST_TEST(session_status(*conn, "Com_stmt_prepare") >= 1u);
}

BOOST_AUTO_TEST_CASE(the_url_key_sets_the_cache_size_and_refuses_what_is_not_a_count) {
    BOOST_TEST(mdb::ConnectOptions::from_url(server_url() + "?statement_cache_size=0").statement_cache_size == 0u);
    BOOST_TEST(mdb::ConnectOptions::from_url(server_url() + "?statement_cache_size=100").statement_cache_size ==
               100u);
    try {
        (void)mdb::ConnectOptions::from_url(server_url() + "?statement_cache_size=-1");
        BOOST_FAIL("a negative cache size was accepted");
    } catch (const std::invalid_argument& e) {
        BOOST_TEST(std::string(e.what()).find("statement_cache_size") != std::string::npos);
    }
}
