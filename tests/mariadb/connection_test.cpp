// Connection against a real server: the quickstart flow, typed rows, bound arguments, errors, transactions.
#define BOOST_TEST_MODULE mariadb_connection
#include <boost/test/unit_test.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdint>
#include <fstream>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "test_server.hpp"

namespace mdb = respool::mariadb;
using namespace std::chrono_literals;
using respool_test::ScratchTable;
using respool_test::server_options;
using respool_test::server_url;

BOOST_AUTO_TEST_CASE(quickstart_flow_inserts_and_reads_john_back) {
    auto pool = mdb::make_pool(server_url() + "?pool_size=10&max_overflow=5&pool_timeout=30&pool_recycle=3600");
    mdb::Connection admin(server_options());
    ScratchTable users(admin, "users", "id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100), age INT");
    {
        auto conn = pool.acquire();
        BOOST_TEST(conn->execute("INSERT INTO " + users.name() + "(name, age) VALUES (?, ?)", "John", 28) == 1u);
        BOOST_TEST(conn->last_insert_id() == 1u);
    }
    auto conn = pool.acquire();
    int rows = 0;
    for (const auto& row : conn->query("SELECT name, age FROM " + users.name() + " WHERE name = ?", "John")) {
        BOOST_TEST(row.get<std::string>(0) == "John");
        BOOST_TEST(row.get<int>("age") == 28);
        ++rows;
    }
    BOOST_TEST(rows == 1);
    BOOST_TEST(pool.stats().created == 1u); // the second lease reused the first connection
}

BOOST_AUTO_TEST_CASE(rows_convert_types_and_report_null) {
    mdb::Connection c(server_options());
    // Binary protocol (with an argument) and text protocol (without) must agree.
    for (bool prepared : {true, false}) {
        const std::string sql = "SELECT 42 AS answer, CAST(18446744073709551615 AS UNSIGNED) AS big, 2.5e0 AS d, "
                                "NULL AS nothing, 'h\xC3\xA9llo' AS greeting, -7 AS neg, REPEAT('x', 5000) AS long_text";
        const auto result = prepared ? c.query(sql + " FROM DUAL WHERE ? = 1", 1) : c.query(sql);
        BOOST_REQUIRE(result.size() == 1u);
        const auto& row = result[0];
        BOOST_TEST(row.size() == 7u);
        BOOST_TEST(row.get<int>("answer") == 42);
        BOOST_TEST(row.get<int>("ANSWER") == 42); // column names compare as the server compares them
        BOOST_TEST(row.get<std::string>("answer") == "42");
        BOOST_TEST(row.get<std::uint64_t>("big") == std::numeric_limits<std::uint64_t>::max());
        BOOST_TEST(row.get<double>("d") == 2.5);
        BOOST_TEST(!row.get<std::optional<int>>("nothing").has_value());
        BOOST_TEST(row.get<std::optional<int>>("answer").value() == 42);
        BOOST_TEST(row.is_null(3));
        BOOST_TEST(row.get<std::string>("greeting") == "h\xC3\xA9llo"); // utf8mb4 round trip
        BOOST_TEST(row.get<long>("neg") == -7);
        BOOST_TEST(row.get<std::string>("long_text") == std::string(5000, 'x'));
        try {
            (void)row.get<int>("nothing");
            BOOST_ERROR("get<int> on NULL did not throw");
        } catch (const mdb::Error& e) {
            BOOST_TEST((e.code() == mdb::errc::null_value));
            BOOST_TEST(std::string(e.what()).find("nothing") != std::string::npos);
        }
        BOOST_CHECK_THROW((void)row.get<unsigned>("neg"), mdb::Error);        // out of range
        BOOST_CHECK_THROW((void)row.get<std::int8_t>("big"), mdb::Error);     // out of range
        BOOST_CHECK_THROW((void)row.get<int>("greeting"), mdb::Error);        // not a number
        BOOST_CHECK_THROW((void)row.get<int>("no_such_column"), mdb::Error);
        BOOST_CHECK_THROW((void)row.get<int>(7), mdb::Error);
    }
}

BOOST_AUTO_TEST_CASE(rows_copied_out_of_a_result_outlive_it_and_its_connection) {
    std::vector<mdb::Row> kept;
    std::string_view name_view;
    {
        mdb::Connection conn(server_options());
        const std::string sql = "SELECT 'Ann' AS name, 7 AS n, NULL AS missing UNION ALL SELECT REPEAT('x', 300), ?, 1";
        for (const mdb::Result& result : {conn.query("SELECT 'Ann' AS name, 7 AS n, NULL AS missing UNION ALL "
                                                     "SELECT REPEAT('x', 300), 8, 1"),
                                          conn.query(sql, 8)}) {
            BOOST_TEST(result.size() == 2u);
            kept.push_back(result[0]);
            kept.push_back(result.at(1));
        }
        mdb::Result moved = conn.query(sql, 9);
        mdb::Result target = std::move(moved);
        kept.push_back(target[1]);
    } // every Result and the connection are gone
    BOOST_TEST(kept.size() == 5u);
    for (std::size_t i = 0; i < 4; i += 2) {
        name_view = kept[i].get<std::string_view>("name");
        BOOST_TEST(name_view == "Ann");
        BOOST_TEST(kept[i].get<int>(1) == 7);
        BOOST_TEST(kept[i].is_null(2));
        BOOST_TEST(kept[i + 1].get<std::string>(0) == std::string(300, 'x'));
        BOOST_TEST(kept[i + 1].get<long long>("n") == 8);
        BOOST_TEST(kept[i + 1].get<std::optional<int>>("missing").value_or(-1) == 1);
        BOOST_TEST(kept[i].column_names().size() == 3u);
    }
    BOOST_TEST(kept[4].get<int>("n") == 9);
    const mdb::Row empty;
    BOOST_TEST(empty.size() == 0u);
    BOOST_TEST(empty.column_names().empty());
    BOOST_CHECK_THROW(empty.get<int>(0), mdb::Error);
    const mdb::Result none;
    BOOST_TEST(none.column_names().empty());
    BOOST_TEST(none.empty());
}

BOOST_AUTO_TEST_CASE(floating_point_zerofill_and_year_columns_read_the_same_with_or_without_arguments) {
    mdb::Connection c(server_options());
    ScratchTable t(c, "formats", "f FLOAT, d DOUBLE, y YEAR, z INT(5) ZEROFILL, big_f FLOAT, huge DOUBLE, i INT");
    c.execute("INSERT INTO " + t.name() + " VALUES (1.1, 1e22, 0, 42, 123456789, 1e300, 300)");
    const std::string sql = "SELECT f, d, y, z, big_f, huge, i FROM " + t.name();
    const auto text = c.query(sql);
    const auto prepared = c.query(sql + " WHERE ? = 1", 1);
    BOOST_REQUIRE(text.size() == 1u);
    BOOST_REQUIRE(prepared.size() == 1u);
    for (std::size_t i = 0; i < text[0].size(); ++i) {
        BOOST_TEST_CONTEXT("column " << i) {
            BOOST_TEST(text[0].get<std::string>(i) == prepared[0].get<std::string>(i));
        }
    }
    BOOST_TEST(prepared[0].get<std::string>("f") == "1.1");
    BOOST_TEST(prepared[0].get<double>("f") == 1.1);
    BOOST_TEST(prepared[0].get<std::string>("y") == "0000");
    BOOST_TEST(prepared[0].get<std::string>("z") == "00042");
    BOOST_TEST(prepared[0].get<int>("z") == 42);
    BOOST_TEST(prepared[0].get<double>("d") == 1e22);
    // A double too large for a float is an error either way, never infinity.
    for (const auto* result : {&text, &prepared}) {
        try {
            (void)(*result)[0].get<float>("huge");
            BOOST_ERROR("1e300 read as a float");
        } catch (const mdb::Error& e) {
            BOOST_TEST((e.code() == mdb::errc::type_mismatch));
        }
        // A view into the row's text is refused for an integer column either way, allowed for the rest.
        BOOST_CHECK_THROW((void)(*result)[0].get<std::string_view>("i"), mdb::Error);
        BOOST_TEST((*result)[0].get<std::string_view>("f") == "1.1");
    }
}

BOOST_AUTO_TEST_CASE(date_and_time_columns_read_the_same_with_or_without_arguments) {
    mdb::Connection c(server_options());
    c.execute("SET SESSION sql_mode = ''"); // lets the zero date in
    ScratchTable t(c, "temporal",
                   "id INT, d DATE, t0 TIME, t3 TIME(3), dt DATETIME, dt2 DATETIME(2), dt6 DATETIME(6), "
                   "ts3 TIMESTAMP(3) NULL");
    c.execute("INSERT INTO " + t.name() +
              " VALUES (1, '2024-02-29', '-838:59:59', '100:00:00.5', '2024-02-29 23:59:59', "
              "'1999-12-31 23:59:59.99', '2038-01-19 03:14:07.000001', '2001-02-03 04:05:06.789'), "
              "(2, '0000-00-00', '00:00:00', '-00:00:01.001', '0000-00-00 00:00:00', '0000-00-00 00:00:00', "
              "'9999-12-31 23:59:59.999999', NULL), "
              "(3, '0001-01-01', '12:34:56', '838:59:58.999', '1000-01-01 00:00:00', '2020-01-01 00:00:00.01', "
              "'2020-01-01 00:00:00.000000', '1970-01-01 00:00:01')");
    const std::string sql = "SELECT d, t0, t3, dt, dt2, dt6, ts3, CAST(dt6 AS DATETIME(4)) AS dt4, "
                            "TIMEDIFF(dt6, dt) AS diff, DATE_ADD(d, INTERVAL 1 DAY) AS next_day, "
                            "SEC_TO_TIME(-109800.25) AS back, "
                            // precision known only per value: a fraction shows 6 digits, none shows none
                            "FROM_UNIXTIME(CONCAT(id, '.25')) AS from_text, FROM_UNIXTIME(CONCAT(id, '')) AS whole, "
                            "SEC_TO_TIME(CONCAT(id, '.5')) AS time_from_text FROM " +
                            t.name() + " ORDER BY id";
    const auto text = c.query(sql);
    const auto prepared = c.query(sql + " LIMIT ?", 10);
    BOOST_REQUIRE(text.size() == 3u);
    BOOST_REQUIRE(prepared.size() == 3u);
    for (std::size_t r = 0; r < text.size(); ++r)
        for (std::size_t i = 0; i < text[r].size(); ++i)
            BOOST_TEST_CONTEXT("row " << r << " column " << i) {
                BOOST_TEST(text[r].is_null(i) == prepared[r].is_null(i));
                if (!text[r].is_null(i)) BOOST_TEST(text[r].get<std::string>(i) == prepared[r].get<std::string>(i));
            }
    BOOST_TEST(prepared[0].get<std::string>("t0") == "-838:59:59");
    BOOST_TEST(prepared[0].get<std::string>("t3") == "100:00:00.500");
    BOOST_TEST(prepared[0].get<std::string>("dt2") == "1999-12-31 23:59:59.99");
    BOOST_TEST(prepared[0].get<std::string>("dt6") == "2038-01-19 03:14:07.000001");
    BOOST_TEST(prepared[0].get<std::string>("dt4") == "2038-01-19 03:14:07.0000");
    BOOST_TEST(prepared[1].get<std::string>("d") == "0000-00-00");
    BOOST_TEST(prepared[1].get<std::string>("t3") == "-00:00:01.001");
    BOOST_TEST(prepared[1].is_null(6)); // ts3
    BOOST_TEST(prepared[2].get<std::string_view>("back") == "-30:30:00.25");
    BOOST_TEST(prepared[0].get<std::string>("from_text").ends_with(":01.250000"));
    BOOST_TEST(prepared[0].get<std::string>("whole").ends_with(":01"));
    BOOST_TEST(prepared[0].get<std::string>("time_from_text") == "00:00:01.500000");
}

BOOST_AUTO_TEST_CASE(bit_columns_read_as_the_number_their_bits_make_with_or_without_arguments) {
    mdb::Connection c(server_options());
    ScratchTable t(c, "bits", "flag BIT(1), b8 BIT(8), b16 BIT(16), b64 BIT(64), none BIT(8)");
    // 53 and 12594 are the bytes of "5" and "12": read as text, they would pass for those numbers.
    c.execute("INSERT INTO " + t.name() + " VALUES (b'1', 53, 12594, 18446744073709551615, NULL)");
    const std::string sql = "SELECT flag, b8, b16, b64, none FROM " + t.name();
    const auto text = c.query(sql);
    const auto prepared = c.query(sql + " WHERE ? = 1", 1);
    for (const auto* result : {&text, &prepared}) {
        BOOST_REQUIRE(result->size() == 1u);
        const auto& row = (*result)[0];
        BOOST_TEST(row.get<bool>("flag"));
        BOOST_TEST(row.get<int>("b8") == 53);
        BOOST_TEST(row.get<int>("b16") == 12594);
        BOOST_TEST(row.get<std::uint64_t>("b64") == std::numeric_limits<std::uint64_t>::max());
        BOOST_TEST(row.get<std::string>("b16") == "12594");
        BOOST_TEST(!row.get<std::optional<int>>("none").has_value());
        BOOST_CHECK_THROW((void)row.get<std::int64_t>("b64"), mdb::Error); // out of range, not wrapped
        BOOST_CHECK_THROW((void)row.get<std::string_view>("b8"), mdb::Error);
    }
}

BOOST_AUTO_TEST_CASE(load_data_local_infile_is_refused_unless_asked_for) {
    const std::string path = "/tmp/" + respool_test::unique_name("respool_local_infile") + ".txt";
    std::ofstream(path) << "only if asked\n";
    struct Remove {
        std::string path;
        ~Remove() { std::remove(path.c_str()); }
    } remove{path};
    auto load = [&](mdb::Connection& c) {
        c.execute("CREATE TEMPORARY TABLE IF NOT EXISTS loaded (s TEXT)");
        c.execute("LOAD DATA LOCAL INFILE '" + path + "' INTO TABLE loaded");
        return c.query("SELECT s FROM loaded")[0].get<std::string>(0);
    };
    {
        mdb::Connection c(server_options()); // a server that asks for a file gets none
        try {
            (void)load(c);
            BOOST_ERROR("LOAD DATA LOCAL INFILE read a file without local_infile");
        } catch (const mdb::Error& e) {
            BOOST_TEST(e.server_errno() == 4166u, e.what()); // ER_LOAD_INFILE_CAPABILITY_DISABLED
        }
        BOOST_TEST(c.query("SELECT COUNT(*) FROM loaded")[0].get<int>(0) == 0); // and the session goes on
    }
    auto allowed = server_options();
    allowed.local_infile = true;
    mdb::Connection c(allowed);
    BOOST_TEST(load(c) == "only if asked");
    BOOST_TEST(mdb::ConnectOptions::from_url("mariadb://u@h/d?local_infile=true").local_infile);
    BOOST_TEST(!mdb::ConnectOptions::from_url("mariadb://u@h/d").local_infile);
}

BOOST_AUTO_TEST_CASE(placeholders_without_arguments_are_reported_as_an_argument_count_error) {
    mdb::Connection c(server_options());
    for (const char* sql : {"SELECT ?", "SELECT 1 FROM DUAL WHERE 1 = ? /* ? */", "SELECT /*! ? */ 1"}) {
        try {
            c.execute(sql);
            BOOST_ERROR("no error for " << sql);
        } catch (const mdb::Error& e) {
            BOOST_TEST((e.code() == mdb::errc::argument_count));
            BOOST_TEST(std::string(e.what()).find("0 arguments") != std::string::npos);
            BOOST_TEST(std::string(e.what()).find("SQL syntax") != std::string::npos, e.what()); // the server's word
        }
    }
    BOOST_TEST(!c.is_broken());
    // A '?' the server accepts is never refused: in quotes, comments, or SQL whose quoting depends on the session.
    const auto row = c.query("SELECT '?', \"?\", `?` FROM (SELECT 1 AS `?`) AS t /* ? */ -- ?\n# ?\n")[0];
    BOOST_TEST(row.get<std::string>(0) == "?");
    BOOST_TEST(row.get<std::string>(1) == "?");
    BOOST_TEST(c.query("SELECT 'it''s ?', 'a\\'?'")[0].get<std::string>(0) == "it's ?");
    BOOST_TEST(c.query("SELECT 1 /*!999999 , ? */")[0].get<int>(0) == 1); // a comment to this server's version
    c.execute("SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES')");
    BOOST_TEST(c.query("SELECT 'C:\\' AS dir, 'why?' AS q")[0].get<std::string>("q") == "why?");
    // There a backslash ends nothing: the '?' after 'C:\' is a placeholder, and the refusal says so.
    try {
        c.execute("SELECT 'C:\\' = ?");
        BOOST_ERROR("no error for a placeholder without an argument under NO_BACKSLASH_ESCAPES");
    } catch (const mdb::Error& e) {
        BOOST_TEST((e.code() == mdb::errc::argument_count), e.what());
        BOOST_TEST(std::string(e.what()).find("has 1 placeholders") != std::string::npos, e.what());
    }
}

BOOST_AUTO_TEST_CASE(a_nul_byte_in_the_sql_does_not_cut_the_servers_message_off) {
    mdb::Connection c(server_options());
    try {
        c.execute(std::string("SELEC \0 1", 10));
        BOOST_ERROR("accepted");
    } catch (const mdb::Error& e) {
        BOOST_TEST(e.server_errno() == 1064u);
        BOOST_TEST(std::string(e.what()).find("SQL syntax") != std::string::npos, e.what());
        BOOST_TEST(std::string(e.what()).find("\\0") != std::string::npos, e.what());
    }
}

// Character types are integers to C++, but a character is never meant as its code; long double could overflow.
static_assert(!mdb::detail::Bindable<char>);
static_assert(!mdb::detail::Bindable<wchar_t>);
static_assert(!mdb::detail::Bindable<char8_t>);
static_assert(!mdb::detail::Bindable<char16_t>);
static_assert(!mdb::detail::Bindable<char32_t>);
static_assert(!mdb::detail::Bindable<long double>);
static_assert(!mdb::detail::Bindable<std::optional<std::optional<int>>>);
static_assert(!mdb::detail::Bindable<std::optional<char>>);
static_assert(mdb::detail::Bindable<std::int8_t> && mdb::detail::Bindable<std::uint8_t>);
static_assert(mdb::detail::Bindable<std::optional<std::string>> && mdb::detail::Bindable<const char*>);

BOOST_AUTO_TEST_CASE(negative_timeouts_are_refused_naming_the_field) {
    auto refused = [](auto make, const char* field) {
        try {
            make();
            BOOST_ERROR("accepted a negative " << field);
        } catch (const std::invalid_argument& e) {
            BOOST_TEST(std::string(e.what()).find(field) != std::string::npos, e.what());
        }
    };
    auto with = [](auto change) {
        mdb::ConnectOptions o = server_options();
        change(o);
        return o;
    };
    refused([&] { mdb::Connection c(with([](auto& o) { o.connect_timeout = -1s; })); }, "connect_timeout");
    refused([&] { mdb::Connection c(with([](auto& o) { o.read_timeout = mdb::ConnectOptions::max_timeout + 1s; })); },
            "read_timeout");
    refused([&] { mdb::Factory f(with([](auto& o) { o.read_timeout = -5s; })); }, "read_timeout");
    refused([&] { (void)mdb::make_pool(with([](auto& o) { o.write_timeout = -1s; })); }, "write_timeout");
    refused([&] { (void)mdb::make_pool(server_options(), {}, {.ping_after = -1ms}); }, "ping_after");
}

BOOST_AUTO_TEST_CASE(arguments_are_bound_not_spliced) {
    mdb::Connection c(server_options());
    ScratchTable t(c, "bound", "id INT AUTO_INCREMENT PRIMARY KEY, s VARCHAR(200), n BIGINT, u BIGINT UNSIGNED, "
                              "d DOUBLE, b TINYINT");
    const std::string nasty = "x'); DROP TABLE " + t.name() + "; --";
    BOOST_TEST(c.execute("INSERT INTO " + t.name() + "(s, n, u, d, b) VALUES (?, ?, ?, ?, ?)", nasty,
                         std::int64_t{-5}, std::numeric_limits<std::uint64_t>::max(), 0.25, true) == 1u);
    BOOST_TEST(c.execute("INSERT INTO " + t.name() + "(s, n, u, d, b) VALUES (?, ?, ?, ?, ?)", std::nullopt,
                         std::optional<int>{}, nullptr, std::optional<double>{1.5}, false) == 1u);
    BOOST_TEST(c.last_insert_id() == 2u);
    const auto rows = c.query("SELECT s, n, u, d, b FROM " + t.name() + " ORDER BY id");
    BOOST_REQUIRE(rows.size() == 2u);
    BOOST_TEST(rows[0].get<std::string>("s") == nasty);
    BOOST_TEST(rows[0].get<long long>("n") == -5);
    BOOST_TEST(rows[0].get<std::uint64_t>("u") == std::numeric_limits<std::uint64_t>::max());
    BOOST_TEST(rows[0].get<double>("d") == 0.25);
    BOOST_TEST(rows[0].get<bool>("b"));
    BOOST_TEST(rows[1].is_null(0));
    BOOST_TEST(rows[1].is_null(1));
    BOOST_TEST(rows[1].is_null(2));
    BOOST_TEST(rows[1].get<double>("d") == 1.5);
    BOOST_TEST(!rows[1].get<bool>("b"));
    BOOST_TEST(c.execute("UPDATE " + t.name() + " SET s = ? WHERE n IS NULL OR n < ?", "changed", 0) == 2u);
}

BOOST_AUTO_TEST_CASE(an_empty_string_is_bound_as_an_empty_string_not_null) {
    mdb::Connection c(server_options());
    ScratchTable t(c, "empty_strings", "id INT AUTO_INCREMENT PRIMARY KEY, s VARCHAR(10) NOT NULL");
    const std::string insert = "INSERT INTO " + t.name() + "(s) VALUES (?)";
    BOOST_TEST(c.execute(insert, std::string_view{}) == 1u); // data() is null: still '', not NULL
    BOOST_TEST(c.execute(insert, std::optional<std::string_view>{std::string_view{}}) == 1u);
    BOOST_TEST(c.execute(insert, std::string{}) == 1u);
    BOOST_TEST(c.execute(insert, "") == 1u);
    const auto rows = c.query("SELECT COUNT(*) FROM " + t.name() + " WHERE s = ?", std::string_view{});
    BOOST_TEST(rows[0].get<int>(0) == 4);
    BOOST_TEST(c.query("SELECT ? IS NULL", std::string_view{})[0].get<int>(0) == 0);
    BOOST_TEST(c.query("SELECT ? IS NULL", std::optional<std::string_view>{})[0].get<int>(0) == 1);
}

BOOST_AUTO_TEST_CASE(server_errors_carry_errno_sqlstate_and_message) {
    mdb::Connection c(server_options());
    try {
        c.execute("SELEKT 1");
        BOOST_ERROR("a syntax error was accepted");
    } catch (const mdb::Error& e) {
        BOOST_TEST(e.server_errno() == 1064u);
        BOOST_TEST(e.sqlstate() == "42000");
        BOOST_TEST(std::string(e.what()).find("SELEKT") != std::string::npos);
        BOOST_TEST(!e.is_disconnect());
    }
    BOOST_TEST(!c.is_broken());
    BOOST_TEST(c.query("SELECT 1")[0].get<int>(0) == 1); // still usable
    try {
        c.execute("SELECT ?, ?", 1);
        BOOST_ERROR("a missing argument was accepted");
    } catch (const mdb::Error& e) {
        BOOST_TEST((e.code() == mdb::errc::argument_count));
    }
}

BOOST_AUTO_TEST_CASE(an_error_a_procedure_raises_after_its_first_result_set_reaches_the_caller) {
    mdb::Connection c(server_options());
    c.execute("DROP PROCEDURE IF EXISTS respool_select_then_fail");
    c.execute("CREATE PROCEDURE respool_select_then_fail(x INT) BEGIN SELECT x; SELECT x + 1; "
              "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'failed after two result sets'; END");
    auto expect_signal = [](const mdb::Error& e) {
        BOOST_TEST(e.server_errno() == 1644u); // ER_SIGNAL_EXCEPTION
        BOOST_TEST(e.sqlstate() == "45000");
        BOOST_TEST(std::string(e.what()).find("failed after two result sets") != std::string::npos, e.what());
    };
    for (int form = 0; form < 3; ++form) {
        BOOST_TEST_CONTEXT("form " << form) {
            try {
                if (form == 0) (void)c.query("CALL respool_select_then_fail(1)");
                if (form == 1) (void)c.query("CALL respool_select_then_fail(?)", 1);
                if (form == 2) (void)c.execute("CALL respool_select_then_fail(?)", 1);
                BOOST_ERROR("the procedure's error was lost");
            } catch (const mdb::Error& e) {
                expect_signal(e);
            }
            BOOST_TEST(!c.is_broken());
            BOOST_TEST(c.query("SELECT ? + 1", 1)[0].get<int>(0) == 2); // the session is in sync
        }
    }
    c.execute("DROP PROCEDURE respool_select_then_fail");
}

BOOST_AUTO_TEST_CASE(tls_required_from_a_server_without_tls_is_refused_not_plain_text) {
    mdb::Connection probe(server_options());
    const std::string have_ssl = probe.query("SELECT @@have_ssl").at(0).get<std::string>(0);
    if (have_ssl == "YES") return; // this check needs a server without TLS (the test scripts start one)
    auto options = server_options();
    options.tls.mode = mdb::ConnectOptions::TlsMode::required;
    try {
        mdb::Connection c(options);
        BOOST_ERROR("connected in plain text although TLS was required (uses_tls " << c.uses_tls() << ")");
    } catch (const mdb::Error& e) {
        BOOST_TEST(e.server_errno() == 2026u, e.what());
        BOOST_TEST(std::string(e.what()).find("TLS") != std::string::npos, e.what());
    }
}

BOOST_AUTO_TEST_CASE(wrong_password_fails_fast_with_the_servers_message) {
    auto options = server_options();
    options.password = "definitely-wrong";
    auto pool = mdb::make_pool(options, respool::PoolOptions{.pool_size = 1, .max_overflow = 0});
    const auto start = std::chrono::steady_clock::now();
    try {
        (void)pool.acquire();
        BOOST_ERROR("connected with a wrong password");
    } catch (const mdb::Error& e) {
        BOOST_TEST(e.server_errno() == mdb::server_errno::access_denied);
        BOOST_TEST(e.sqlstate() == "28000");
        BOOST_TEST(std::string(e.what()).find("Access denied") != std::string::npos, e.what());
        BOOST_TEST(!e.is_disconnect());
    }
    BOOST_TEST((std::chrono::steady_clock::now() - start < 500ms));
    const auto st = pool.stats();
    BOOST_TEST(st.create_failures == 1u); // one attempt: no retry storm
    BOOST_TEST(st.created == 0u);
    BOOST_TEST(st.size == 0u);
}

BOOST_AUTO_TEST_CASE(closed_port_fails_within_connect_timeout) {
    // A port nobody listens on: bind one, read its number, close it.
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    BOOST_REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    BOOST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    BOOST_REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    ::close(fd);

    auto options = server_options();
    options.port = ntohs(addr.sin_port);
    options.connect_timeout = 2s;
    const auto start = std::chrono::steady_clock::now();
    try {
        mdb::Connection c(options);
        BOOST_ERROR("connected to a closed port");
    } catch (const mdb::Error& e) {
        BOOST_TEST((e.server_errno() == 2002u || e.server_errno() == 2003u), e.what());
        BOOST_TEST(std::string(e.what()).find(std::to_string(options.port)) != std::string::npos, e.what());
    }
    BOOST_TEST((std::chrono::steady_clock::now() - start < options.connect_timeout + 500ms));
}

BOOST_AUTO_TEST_CASE(transaction_commits_or_rolls_back_at_scope_end) {
    mdb::Connection c(server_options());
    mdb::Connection other(server_options());
    ScratchTable t(c, "tx", "id INT PRIMARY KEY");
    {
        mdb::Transaction tx(c);
        c.execute("INSERT INTO " + t.name() + " VALUES (?)", 1);
        BOOST_TEST(c.in_transaction());
        tx.commit();
        BOOST_TEST(!tx.active());
        BOOST_CHECK_THROW(tx.commit(), mdb::Error); // already ended
    }
    {
        mdb::Transaction tx(c);
        c.execute("INSERT INTO " + t.name() + " VALUES (?)", 2);
    } // not committed: rolled back
    BOOST_TEST(!c.in_transaction());
    try {
        mdb::Transaction tx(c);
        c.execute("INSERT INTO " + t.name() + " VALUES (?)", 3);
        throw std::runtime_error("boom");
    } catch (const std::runtime_error&) {
    }
    BOOST_TEST(!c.in_transaction());
    const auto rows = other.query("SELECT id FROM " + t.name() + " ORDER BY id");
    BOOST_REQUIRE(rows.size() == 1u);
    BOOST_TEST(rows[0].get<int>(0) == 1);
}
