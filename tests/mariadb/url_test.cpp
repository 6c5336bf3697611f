// ConnectOptions::from_url and make_pool(url): good URLs, and malformed ones whose error names the bad part.
#define BOOST_TEST_MODULE mariadb_url
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <stdexcept>
#include <string>

#include <respool/mariadb.hpp>

// The adapter leaves Connector/C's error-number headers out of the user's code: their macros (ER(), CR_...) would
// clash with the user's names.
#if defined(ER) || defined(CR_SERVER_LOST) || defined(ER_LOCK_DEADLOCK)
#error "respool/mariadb.hpp brought in errmsg.h or mysqld_error.h"
#endif

#include <errmsg.h>
#include <mysqld_error.h>

namespace mdb = respool::mariadb;

// Its own spelling of the error numbers it acts on agrees with Connector/C's headers.
static_assert(mdb::server_errno::access_denied == ER_ACCESS_DENIED_ERROR);
static_assert(mdb::server_errno::server_shutdown == ER_SERVER_SHUTDOWN);
static_assert(mdb::server_errno::aborting_connection == ER_ABORTING_CONNECTION);
static_assert(mdb::server_errno::net_packet_too_large == ER_NET_PACKET_TOO_LARGE);
static_assert(mdb::server_errno::net_read_error_from_pipe == ER_NET_READ_ERROR_FROM_PIPE);
static_assert(mdb::server_errno::net_fcntl_error == ER_NET_FCNTL_ERROR);
static_assert(mdb::server_errno::net_packets_out_of_order == ER_NET_PACKETS_OUT_OF_ORDER);
static_assert(mdb::server_errno::net_uncompress_error == ER_NET_UNCOMPRESS_ERROR);
static_assert(mdb::server_errno::net_read_error == ER_NET_READ_ERROR);
static_assert(mdb::server_errno::net_read_interrupted == ER_NET_READ_INTERRUPTED);
static_assert(mdb::server_errno::net_error_on_write == ER_NET_ERROR_ON_WRITE);
static_assert(mdb::server_errno::net_write_interrupted == ER_NET_WRITE_INTERRUPTED);
static_assert(mdb::server_errno::new_aborting_connection == ER_NEW_ABORTING_CONNECTION);
static_assert(mdb::server_errno::lock_wait_timeout == ER_LOCK_WAIT_TIMEOUT);
static_assert(mdb::server_errno::deadlock == ER_LOCK_DEADLOCK);
static_assert(mdb::server_errno::not_supported_yet == ER_NOT_SUPPORTED_YET);
static_assert(mdb::server_errno::savepoint_does_not_exist == ER_SP_DOES_NOT_EXIST);
static_assert(mdb::server_errno::query_interrupted == ER_QUERY_INTERRUPTED);
static_assert(mdb::server_errno::too_many_prepared_statements == ER_MAX_PREPARED_STMT_COUNT_REACHED);
static_assert(mdb::server_errno::connection_killed == ER_CONNECTION_KILLED);
static_assert(mdb::server_errno::unknown_client_error == CR_UNKNOWN_ERROR);
static_assert(mdb::server_errno::connection_error == CR_CONNECTION_ERROR);
static_assert(mdb::server_errno::conn_host_error == CR_CONN_HOST_ERROR);
static_assert(mdb::server_errno::server_gone == CR_SERVER_GONE_ERROR);
static_assert(mdb::server_errno::out_of_memory == CR_OUT_OF_MEMORY);
static_assert(mdb::server_errno::server_lost == CR_SERVER_LOST);
static_assert(mdb::server_errno::commands_out_of_sync == CR_COMMANDS_OUT_OF_SYNC);
static_assert(mdb::server_errno::ssl_connection_error == CR_SSL_CONNECTION_ERROR);
static_assert(mdb::server_errno::server_lost_extended == CR_SERVER_LOST_EXTENDED);
static_assert(mdb::server_errno::new_statement_metadata == CR_NEW_STMT_METADATA);
static_assert(mdb::server_errno::net_read == CR_ERR_NET_READ);
static_assert(mdb::server_errno::net_write == CR_ERR_NET_WRITE);
using namespace std::chrono_literals;

namespace {
// The URL is refused with std::invalid_argument whose message contains `part`.
void check_refused(const std::string& url, const std::string& part, bool via_pool = false) {
    try {
        if (via_pool)
            (void)mdb::make_pool(url);
        else
            (void)mdb::ConnectOptions::from_url(url);
        BOOST_ERROR("accepted: " << url);
    } catch (const std::invalid_argument& e) {
        BOOST_TEST(std::string(e.what()).find(part) != std::string::npos, "'" << e.what() << "' should name '"
                                                                              << part << "'");
    }
}
} // namespace

BOOST_AUTO_TEST_CASE(full_url_fills_every_connection_field) {
    const auto o = mdb::ConnectOptions::from_url(
        "mariadb://app:s3cret@db.example:3307/shop?connect_timeout=5&read_timeout=7&write_timeout=9&charset=latin1"
        "&ssl_mode=required&ssl_ca=%2Fetc%2Fca.pem&init_command=SET%20time_zone%3D%27%2B00%3A00%27"
        "&init_command=SET%20@a%3D1");
    BOOST_TEST(o.user == "app");
    BOOST_TEST(o.password == "s3cret");
    BOOST_TEST(o.host == "db.example");
    BOOST_TEST(o.port == 3307);
    BOOST_TEST(o.database == "shop");
    BOOST_TEST(o.connect_timeout.count() == 5);
    BOOST_TEST(o.read_timeout.count() == 7);
    BOOST_TEST(o.write_timeout.count() == 9);
    BOOST_TEST(o.charset == "latin1");
    BOOST_TEST((o.tls.mode == mdb::ConnectOptions::TlsMode::required));
    BOOST_TEST(o.tls.ca == "/etc/ca.pem");
    BOOST_TEST(o.init_statements.size() == 2u);
    BOOST_TEST(o.init_statements.at(0) == "SET time_zone='+00:00'");
    BOOST_TEST(o.init_statements.at(1) == "SET @a=1");
}

BOOST_AUTO_TEST_CASE(credentials_are_percent_decoded) {
    const auto o = mdb::ConnectOptions::from_url("mariadb://us%40er:p%40ss%2Fw%3Ard%25@127.0.0.1/db%2D1");
    BOOST_TEST(o.user == "us@er");
    BOOST_TEST(o.password == "p@ss/w:rd%");
    BOOST_TEST(o.database == "db-1");
    BOOST_TEST(o.port == 3306); // the default
    // '#' is an ordinary character, as in SQLAlchemy's URLs: no fragment.
    const auto hashed = mdb::ConnectOptions::from_url("mariadb://u:pa#ss@127.0.0.1/db#1");
    BOOST_TEST(hashed.password == "pa#ss");
    BOOST_TEST(hashed.database == "db#1");
}

BOOST_AUTO_TEST_CASE(defaults_ipv6_socket_and_sqlalchemy_schemes) {
    const auto a = mdb::ConnectOptions::from_url("mariadb://[::1]:3310");
    BOOST_TEST(a.host == "::1");
    BOOST_TEST(a.port == 3310);
    BOOST_TEST(a.charset == "utf8mb4");
    BOOST_TEST(a.user.empty());
    const auto b = mdb::ConnectOptions::from_url("mysql+mysqldb://u@localhost/db?unix_socket=%2Frun%2Fmysqld.sock");
    BOOST_TEST(b.host == "localhost");
    BOOST_TEST(b.unix_socket == "/run/mysqld.sock");
    BOOST_TEST(b.password.empty());
    const auto c = mdb::ConnectOptions::from_url("MariaDB://u@h/d"); // schemes are case-insensitive
    BOOST_TEST(c.host == "h");
    // SQLAlchemy's socket form names no host: the socket is used, not TCP to the default host.
    const auto s = mdb::ConnectOptions::from_url("mysql+pymysql://u:p@/db?unix_socket=/run/mysqld/mysqld.sock");
    BOOST_TEST(s.host.empty());
    BOOST_TEST(s.unix_socket == "/run/mysqld/mysqld.sock");
    BOOST_TEST(mdb::ConnectOptions::from_url("mariadb://u@/db").host == "127.0.0.1"); // no socket: the default host
}

BOOST_AUTO_TEST_CASE(query_values_read_plus_as_space_as_sqlalchemy_writes_them) {
    // What SQLAlchemy's URL.render_as_string() writes for init_command="SET time_zone = '+00:00'".
    const auto o = mdb::ConnectOptions::from_url(
        "mysql+pymysql://u:pa+ss@h/d?init_command=SET+time_zone+%3D+%27%2B00%3A00%27");
    BOOST_REQUIRE(o.init_statements.size() == 1u);
    BOOST_TEST(o.init_statements[0] == "SET time_zone = '+00:00'");
    BOOST_TEST(o.password == "pa+ss"); // outside the query a '+' stays a '+'
}

BOOST_AUTO_TEST_CASE(a_ca_without_ssl_mode_checks_the_certificate_and_host_name) {
    using Mode = mdb::ConnectOptions::TlsMode;
    BOOST_TEST((mdb::ConnectOptions::from_url("mysql+pymysql://u@h/d?ssl_ca=/ca.pem").tls.mode == Mode::verify_identity));
    BOOST_TEST((mdb::ConnectOptions::from_url("mariadb://u@h/d?ssl_capath=/cas").tls.mode == Mode::verify_identity));
    BOOST_TEST((mdb::ConnectOptions::from_url("mariadb://u@h/d?ssl_ca=/ca.pem&ssl_mode=required").tls.mode ==
                Mode::required));
    BOOST_TEST((mdb::ConnectOptions::from_url("mariadb://u@h/d").tls.mode == Mode::disabled));
}

BOOST_AUTO_TEST_CASE(from_url_leaves_pool_keys_to_make_pool) {
    const std::string url = "mariadb://u:p@127.0.0.1:3306/app?pool_size=10&max_overflow=5&pool_timeout=30"
                            "&pool_recycle=3600&pool_pre_ping=true&connect_timeout=3";
    const auto o = mdb::ConnectOptions::from_url(url);
    BOOST_TEST(o.connect_timeout.count() == 3);
    auto pool = mdb::make_pool(url); // connects to nothing yet
    BOOST_TEST(pool.options().pool_size == 10u);
    BOOST_TEST(pool.options().max_overflow == 5u);
    BOOST_TEST(pool.options().timeout.count() == 30'000);
    BOOST_TEST(pool.options().recycle.count() == 3'600'000);
    BOOST_TEST(pool.options().pre_ping);
    BOOST_TEST(pool.stats().size == 0u);
}

BOOST_AUTO_TEST_CASE(pool_recycle_minus_one_means_never_and_fractions_work) {
    auto pool = mdb::make_pool("mariadb://u@h/d?pool_recycle=-1&pool_timeout=2.5");
    BOOST_TEST(pool.options().recycle.count() == 0);
    BOOST_TEST(pool.options().timeout.count() == 2500);
    auto defaults = mdb::make_pool("mariadb://u@h/d");
    BOOST_TEST(defaults.options().pool_size == 5u);
    BOOST_TEST(defaults.options().max_overflow == 10u);
    BOOST_TEST(!defaults.options().pre_ping);
}

BOOST_AUTO_TEST_CASE(the_load_balancer_keys_reach_the_pool_options) {
    auto pool = mdb::make_pool("mariadb://u@h/d?pool_recycle=3600&pool_recycle_jitter=60&pool_order=fifo"
                               "&pool_keepalive=120&pool_idle_timeout=600&pool_max_connecting=4&pool_fair_queue=true");
    const respool::PoolOptions& o = pool.options();
    BOOST_TEST(o.recycle.count() == 3'600'000);
    BOOST_TEST(o.recycle_jitter.count() == 60'000);
    BOOST_TEST((o.order == respool::CheckoutOrder::fifo));
    BOOST_TEST(o.keepalive.count() == 120'000);
    BOOST_TEST(o.idle_timeout.count() == 600'000);
    BOOST_TEST(o.max_connecting == 4u);
    BOOST_TEST(o.fair_queue);
    check_refused("mariadb://u@h/d?pool_order=sideways", "pool_order", true);
    check_refused("mariadb://u@h/d?pool_fair_queue=maybe", "pool_fair_queue", true);
    // A positive time that would round to 0 ms would turn the option off.
    check_refused("mariadb://u@h/d?pool_idle_timeout=0.0004", "pool_idle_timeout", true);
    check_refused("mariadb://u@h/d?pool_keepalive=0.0001", "pool_keepalive", true);
    check_refused("mariadb://u@h/d?pool_timeout=0.0002", "pool_timeout", true);
    BOOST_TEST(mdb::make_pool("mariadb://u@h/d?pool_keepalive=0.0006").options().keepalive.count() == 1);
    BOOST_TEST(mdb::make_pool("mariadb://u@h/d?pool_idle_timeout=0").options().idle_timeout.count() == 0);
}

BOOST_AUTO_TEST_CASE(malformed_urls_name_the_bad_part) {
    check_refused("postgres://u@h/d", "scheme 'postgres'");
    check_refused("mariadb:/u@h/d", "://");
    check_refused("mariadb://u@h:abc/d", "port 'abc'");
    check_refused("mariadb://u@h:70000/d", "port '70000'");
    check_refused("mariadb://u@h:/d", "port ''");
    check_refused("mariadb://u:p%zz@h/d", "bad percent escape in the password");
    check_refused("mariadb://u@h/d%zz", "'%zz' in the database");
    // A password with an unescaped '/' or '?' splits the URL: refused without showing any of it.
    for (const char* split : {"mariadb://u:zq/xw@h:3306/d", "mariadb://u:zq?xw@h/d", "mariadb://u:z/q?xw@h"}) {
        check_refused(split, "must be percent-encoded");
        try {
            (void)mdb::ConnectOptions::from_url(split);
        } catch (const std::invalid_argument& e) {
            BOOST_TEST(std::string(e.what()).find("xw") == std::string::npos, e.what());
        }
    }
    BOOST_TEST(mdb::ConnectOptions::from_url("mariadb://u:p@h/d?init_command=SET+@a%3D1").init_statements.size() == 1u);
    check_refused("mariadb://u@h/d?colour=blue", "unknown key 'colour'");
    check_refused("mariadb://u@h/d?connect_timeout=soon", "connect_timeout");
    check_refused("mariadb://u@h/d?charset", "'charset'");
    check_refused("mariadb://u@h/d?ssl_mode=maybe", "ssl_mode");
    check_refused("mariadb://u@h/d?charset=a&charset=b", "'charset' given twice");
    check_refused("mariadb://u@[::1/d", "'['");
    check_refused("mariadb://u@h/d/e", "database 'd/e'");
    check_refused("mariadb://u@::1/d", "IPv6 address goes in brackets");
    check_refused("mariadb://u@2001:db8::5:3306/d", "IPv6 address goes in brackets");
    check_refused("mariadb://u@[]:3306/d", "empty brackets '[]'");
    check_refused("mariadb://u:respool%00anything@h/d", "'%00' (a NUL byte) in the password");
}

BOOST_AUTO_TEST_CASE(flags_are_read_in_any_case) {
    for (const char* yes : {"true", "True", "TRUE", "yes", "YES", "on", "On", "1"}) {
        auto pool = respool::mariadb::make_pool(std::string("mariadb://u@h/d?pool_pre_ping=") + yes);
        BOOST_TEST(pool.options().pre_ping, yes);
    }
    for (const char* no : {"false", "False", "NO", "off", "Off", "0"}) {
        auto pool = respool::mariadb::make_pool(std::string("mariadb://u@h/d?pool_pre_ping=") + no);
        BOOST_TEST(!pool.options().pre_ping, no);
    }
}

BOOST_AUTO_TEST_CASE(bad_pool_keys_are_refused_by_make_pool) {
    check_refused("mariadb://u@h/d?max_overflow=-1", "a bound is needed", true);
    check_refused("mariadb://u@h/d?pool_size=ten", "pool_size", true);
    check_refused("mariadb://u@h/d?pool_timeout=-3", "pool_timeout", true);
    check_refused("mariadb://u@h/d?pool_recycle=-2", "pool_recycle", true);
    check_refused("mariadb://u@h/d?pool_timeout=1000000001", "pool_timeout (expected seconds from 0 to 1000000000)",
                  true);
    check_refused("mariadb://u@h/d?pool_recycle=1e10", "pool_recycle (expected seconds from 0 to 1000000000, or -1",
                  true);
    // Values whose SQLAlchemy meaning a bounded pool cannot have: refused, saying so.
    check_refused("mariadb://u@h/d?pool_size=0&max_overflow=5", "pool_size=0 (no limit in SQLAlchemy)", true);
    check_refused("mariadb://u@h/d?pool_size=00&max_overflow=5", "pool_size=0 (no limit in SQLAlchemy)", true);
    check_refused("mariadb://u@h/d?read_timeout=2147484", "read_timeout", false); // Connector/C would overflow it
    check_refused("mariadb://u@h/d?pool_recycle=0", "pool_recycle=0", true);
    check_refused("mariadb://u@h/d?pool_pre_ping=perhaps", "pool_pre_ping", true);
    check_refused("mariadb://u@h/d?pool_size=0&max_overflow=0", "pool_size", true); // PoolOptions::validate
}

// What a statement may leave in the session for the return-time cleaning (no server needed: text only).
BOOST_AUTO_TEST_CASE(statements_that_leave_session_state_are_recognised_from_their_text) {
    namespace d = respool::mariadb::detail;
    BOOST_TEST(d::session_marks("SELECT 1") == 0u);
    BOOST_TEST(d::session_marks("SELECT GET_LOCK('x', 0)") == unsigned{d::named_locks_mark});
    BOOST_TEST(d::session_marks("lock tables t write") == unsigned{d::table_locks_mark});
    BOOST_TEST(d::session_marks("LOCK\n\tTABLE t READ") == unsigned{d::table_locks_mark});
    BOOST_TEST(d::session_marks("UNLOCK TABLES") == 0u); // "lock" inside a word does not count
    BOOST_TEST(d::session_marks("FLUSH TABLES WITH READ LOCK") == unsigned{d::table_locks_mark});
    BOOST_TEST(d::session_marks("SELECT * FROM block_tables") == 0u);
    BOOST_TEST(d::session_marks("SELECT padlock tablet FROM t") == 0u);
    BOOST_TEST(d::session_marks("SET TRANSACTION READ ONLY") == unsigned{d::next_transaction_mark});
    BOOST_TEST(d::session_marks("set  transaction isolation level serializable") == unsigned{d::next_transaction_mark});
    BOOST_TEST(d::session_marks("SET SESSION TRANSACTION READ ONLY") == 0u); // a session default: stays, as SET does
    BOOST_TEST(d::session_marks("SET @@tx_read_only = 1") == unsigned{d::next_transaction_mark});
    BOOST_TEST(d::session_marks("set @@TX_ISOLATION='SERIALIZABLE'") == unsigned{d::next_transaction_mark});
    BOOST_TEST(d::session_marks("SET @@transaction_read_only = ON") == unsigned{d::next_transaction_mark});
    BOOST_TEST(d::session_marks("SET @@session.tx_read_only = 1") == 0u); // session state, as SET SESSION
    BOOST_TEST(d::session_marks("SET @@`session`.`tx_read_only` = 1") == 0u);
    // What only a session reset undoes; BACKUP LOCK wherever its text can be seen.
    BOOST_TEST(d::session_marks("HANDLER t OPEN") == unsigned{d::session_reset_mark});
    BOOST_TEST(d::session_marks("backup stage start") == unsigned{d::session_reset_mark});
    BOOST_TEST(d::session_marks("PREPARE s FROM 'SELECT 1'") == unsigned{d::session_reset_mark});
    BOOST_TEST((d::session_marks("EXECUTE IMMEDIATE @q") & d::session_reset_mark) != 0u); // unseen text
    BOOST_TEST((d::session_marks("EXECUTE IMMEDIATE 'HANDLER t OPEN'") & d::session_reset_mark) != 0u);
    // EXECUTE IMMEDIATE of one plain literal: its text read as a statement of its own.
    BOOST_TEST(d::session_marks("EXECUTE IMMEDIATE 'SELECT 1'") == 0u);
    BOOST_TEST(d::session_marks("execute immediate \"SELECT ?\" USING 1;") == 0u);
    BOOST_TEST(d::session_marks("EXECUTE IMMEDIATE 'CALL p()'") == unsigned{d::session_reset_mark});
    BOOST_TEST(d::session_marks("EXECUTE IMMEDIATE 'EXECUTE IMMEDIATE \"LOCK TABLES t WRITE\"'") ==
               unsigned{d::table_locks_mark});
    BOOST_TEST((d::session_marks("EXECUTE IMMEDIATE 'SET STATEMENT a=1 FOR CALL p()'") & d::session_reset_mark) != 0u);
    BOOST_TEST((d::session_marks("execute immediate 'SELECT ''a'''") & d::session_reset_mark) != 0u); // doubled
    // Words in data are not statements.
    BOOST_TEST(d::session_marks("INSERT INTO log (msg) VALUES ('EXECUTE IMMEDIATE failed')") == 0u);
    BOOST_TEST(d::session_marks("SET @note = 'nightly backup lock window'") == 0u);
    // Text that is not what is written: an expression, adjacent literals, escapes.
    for (const char* unseen : {"EXECUTE IMMEDIATE CONCAT('LOCK TAB', 'LES t WRITE')",
                               "EXECUTE IMMEDIATE 'LOCK TAB' 'LES t WRITE'",
                               "EXECUTE IMMEDIATE 'LOCK\\tTABLES t WRITE'",
                               "EXECUTE IMMEDIATE 'BACKUP\\tLOCK t'",
                               "EXECUTE IMMEDIATE _latin1'HANDLER t OPEN'",
                               "SET STATEMENT max_statement_time=1 FOR EXECUTE IMMEDIATE CONCAT('HAND', 'LER t OPEN')",
                               "EXECUTE IMMEDIATE 'unterminated"})
        BOOST_TEST((d::session_marks(unseen) & d::session_reset_mark) != 0u, unseen);
    BOOST_TEST(d::session_marks("SET STATEMENT max_statement_time=100 FOR BACKUP LOCK t") ==
               unsigned{d::backup_lock_mark});
    BOOST_TEST(d::session_marks("SET @handler = 1") == 0u);
    BOOST_TEST(d::session_marks("SELECT handler FROM t") == 0u);
    BOOST_TEST(d::session_marks("SET @@`tx_read_only` = 1") == unsigned{d::next_transaction_mark}); // quoted name
    BOOST_TEST(d::session_marks("SET @@`TX_ISOLATION`='READ-UNCOMMITTED'") == unsigned{d::next_transaction_mark});
    BOOST_TEST(d::session_marks("SET @a = 1, @@`transaction_read_only` = 1") == unsigned{d::next_transaction_mark});
    BOOST_TEST(d::session_marks("SET @@session.tx_isolation = 'SERIALIZABLE', @@tx_read_only = 1") ==
               unsigned{d::next_transaction_mark});
    BOOST_TEST(d::session_marks("SELECT @@tx_isolation") == 0u);          // reading it sets nothing
    BOOST_TEST(d::session_marks("SELECT * FROM t FOR UPDATE") == 0u);        // a row lock ends with the transaction
    // Comments and every kind of blank separate words as the server reads them; executable comments count.
    BOOST_TEST(d::session_marks("LOCK/**/TABLES t WRITE") == unsigned{d::table_locks_mark});
    BOOST_TEST(d::session_marks("/*!50000LOCK TABLES t WRITE*/") == unsigned{d::table_locks_mark});
    BOOST_TEST(d::session_marks("/*M!100000 LOCK TABLES t READ */") == unsigned{d::table_locks_mark});
    BOOST_TEST(d::session_marks("LOCK\vTABLES t WRITE") == unsigned{d::table_locks_mark});
    BOOST_TEST(d::session_marks("LOCK -- why\n TABLES t WRITE") == unsigned{d::table_locks_mark});
    BOOST_TEST(d::session_marks("LOCK # why\n TABLES t WRITE") == unsigned{d::table_locks_mark});
    BOOST_TEST(d::session_marks("FLUSH TABLES t FOR EXPORT") == unsigned{d::table_locks_mark});
    BOOST_TEST(d::session_marks("SET/**/TRANSACTION READ ONLY") == unsigned{d::next_transaction_mark});
    BOOST_TEST(d::session_marks("SELECT 1 /* lock */ -- tables") == 0u);
    // A procedure or a compound statement runs text this cannot see: only a session reset is sure to undo it.
    for (const char* opaque : {"CALL p(1)", " /* x */ call p", "BEGIN NOT ATOMIC SET @@tx_read_only = 1; END",
                               "IF 1 THEN CALL p(); END IF", "CASE WHEN 1 THEN PREPARE s FROM 'SELECT 1'; END CASE",
                               "lbl: REPEAT PREPARE s FROM 'SELECT 1'; UNTIL 1 END REPEAT lbl",
                               "WHILE 0 DO SELECT 1; END WHILE", "FOR i IN 1..2 DO SELECT 1; END FOR",
                               "SET STATEMENT max_statement_time=10 FOR CALL p()",
                               "SET STATEMENT max_statement_time=10 FOR HANDLER t OPEN AS h",
                               "SET STATEMENT lock_wait_timeout=5 FOR PREPARE s FROM 'SELECT 1'",
                               "EXECUTE IMMEDIATE 'LOCK /* x */ TABLES t WRITE'",
                               "EXECUTE IMMEDIATE 'LOCK # x\nTABLES t'", "`lbl`: LOOP CALL p(); END LOOP",
                               "lbl /* c */ : LOOP CALL p(); LEAVE lbl; END LOOP", "BEGIN CALL p(); END",
                               "<<lbl>> LOOP CALL p(); EXIT lbl; END LOOP",
                               "SET STATEMENT default_master_connection='\\' FOR CALL p()"})
        BOOST_TEST((d::session_marks(opaque) & d::session_reset_mark) != 0u, opaque);
    for (const char* plain : {"BEGIN", "BEGIN WORK", "SET @a := 1", "SELECT IF(1, 2, 3)", "SELECT 'a:b'"})
        BOOST_TEST(d::session_marks(plain) == 0u, plain);
    // What looks like a comment inside quotes is not one: it hides nothing after it.
    BOOST_TEST(d::session_marks("FLUSH TABLES `x#y`, t WITH READ LOCK") == unsigned{d::table_locks_mark});
    BOOST_TEST(d::session_marks("FLUSH TABLES `x/*y`, t FOR EXPORT") == unsigned{d::table_locks_mark});
    BOOST_TEST(d::session_marks("LOCK TABLES `a--` WRITE, t READ") == unsigned{d::table_locks_mark});
    BOOST_TEST(d::session_marks("SET STATEMENT default_master_connection = '#' FOR SET TRANSACTION READ ONLY") ==
               unsigned{d::next_transaction_mark});
    BOOST_TEST(d::session_marks("SELECT 'it''s # not', \"a\\\" -- \" FROM t") == 0u);
    // A statement prepared in SQL (whose PREPARE asked for a session reset) may take named locks unseen.
    constexpr unsigned unseen = d::named_locks_mark | d::next_transaction_mark;
    BOOST_TEST(d::session_marks("EXECUTE stmt USING @a") == unseen);
    BOOST_TEST(d::session_marks("SELECT recall FROM t") == 0u);
    BOOST_TEST(d::session_marks("BACKUP LOCK t") == unsigned{d::backup_lock_mark});
    BOOST_TEST(d::session_marks("backup  /* */ lock db.t") == unsigned{d::backup_lock_mark});
    BOOST_TEST(d::session_marks("BACKUP UNLOCK") == 0u);
    // BACKUP UNLOCK needs a privilege: no false alarm from the words elsewhere.
    BOOST_TEST(d::session_marks("SELECT 'nightly backup lock window'") == 0u);
    BOOST_TEST(d::session_marks("SELECT backup, lock FROM t") == 0u);
    BOOST_TEST(d::session_marks("EXECUTE IMMEDIATE 'BACKUP LOCK t'") & unsigned{d::backup_lock_mark});
    BOOST_TEST(d::session_marks("PREPARE s FROM 'backup lock t'") & unsigned{d::backup_lock_mark});
}

BOOST_AUTO_TEST_CASE(placeholders_are_counted_outside_quotes_and_comments) {
    namespace d = respool::mariadb::detail;
    BOOST_TEST(d::count_placeholders("SELECT 1") == 0u);
    BOOST_TEST(d::count_placeholders("SELECT ?, ?") == 2u);
    BOOST_TEST(d::count_placeholders("SELECT '?', \"?\", `?`, ?") == 1u);
    BOOST_TEST(d::count_placeholders("SELECT 'it''s ?', 'a\\'?', ?") == 1u);
    BOOST_TEST(d::count_placeholders("SELECT 'a\\' = ?", /*backslash_escapes=*/false) == 1u); // NO_BACKSLASH_ESCAPES
    BOOST_TEST(d::count_placeholders("SELECT 'a\\' = ?") == 0u);
    BOOST_TEST(d::count_placeholders("SELECT 1 /* ? */ -- ?\n# ?\n, ?") == 1u);
    BOOST_TEST(d::count_placeholders("SELECT /*! ? */ 1") == 1u); // executable comments run
    BOOST_TEST(d::count_placeholders("SELECT 1 --?") == 1u);      // "--" without a blank is no comment
    BOOST_TEST(d::count_placeholders("SELECT 1 --\x01?") == 0u);  // a control character after it makes one
    BOOST_TEST(d::count_placeholders("SELECT '?") == 0u);         // unterminated: nothing after counts
    BOOST_TEST(d::sql_excerpt(std::string_view("a\0b\nc", 5)) == "'a\\0b c'");
    BOOST_TEST(d::sql_excerpt(std::string(79, 'x') + "\xC3\xA9z") == "'" + std::string(79, 'x') + "...'");
}
