// MariaDB: respool next to other C and C++ connection pools, on the same server (RESPOOL_MARIADB_URL), through each
// library's public API only. Built with whichever of POCO Data (SessionPool, MySQL connector), SOCI
// (connection_pool, mysql backend) and libzdb (ConnectionPool, mysql) CMake found; all three link the same
// libmariadb as respool's adapter on Debian 12.
//
// Three scenarios at 1 and 8 threads with a pool as large as the thread count, and one where threads outnumber the
// connections, every connection created before measuring:
//   other_pools_select1    checkout + `SELECT 1` (read back as an int) + return, per library, next to the floor (one
//                          raw persistent MYSQL* per thread, text protocol) and, for POCO and SOCI, the same query
//                          on one session per thread with no pool (the library's own cost without its pool).
//   other_pools_by_id      checkout + `SELECT name FROM <table> WHERE id = ?` with the id bound as an argument,
//                          the name read back as a string, + return; each library's own way of binding (POCO
//                          and libzdb prepare a server-side statement per call, SOCI's MySQL backend substitutes
//                          the escaped value into the text, respool keeps the statement prepared), next to the
//                          floor: one raw MYSQL* per thread with the statement prepared once.
//   other_pools_checkout   checkout + return with no query: the pool's own overhead.
//   other_pools_32_threads_8_connections
//                          32 threads over pools of 8, checkout + `SELECT 1` + return, each query timed: throughput,
//                          p99 and p99.9 next to the floor of 32 raw connections, for respool (default and
//                          fair_queue) and SOCI (which waits); POCO and libzdb do not wait when every connection is in
//                          use, so their callers retry (see shared_contenders()).
//
// Before the benchmarks, a one-thread pass counts what each library sends the server per operation (from the
// server's global status counters: Com_select, Com_admin_commands for COM_PING, the prepared-statement commands),
// because some pools talk to the server on checkout and some drivers prepare every statement: a ratio without those
// counts would be misread as pool overhead.
//
// Method as in mariadb_select1.cpp: each benchmark iteration runs every contender once, in an order that rotates
// between iterations, each on its own threads for a fixed time; throughput is every successful operation over the
// wall time of the whole run (respool_bench::run_threads_for).
#include <mysql.h>
#include <unistd.h>

#include <respool/mariadb.hpp>

#if RESPOOL_BENCH_HAS_POCO
#include <Poco/Data/MySQL/Connector.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/SessionPool.h>
#endif
#if RESPOOL_BENCH_HAS_SOCI
#include <soci/connection-pool.h>
#include <soci/mysql/soci-mysql.h>
#include <soci/soci.h>
#endif
#if RESPOOL_BENCH_HAS_ZDB
#include <zdb.h>
#endif

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench_support.hpp"
#include "mariadb_support.hpp"
#include "query_latency.hpp"

namespace {

using namespace std::chrono_literals;
using respool_bench::RawConnection;
using respool_bench::raw_select1;
using respool_bench::run_threads_for;
using respool_bench::server_url;
namespace mdb = respool::mariadb;

constexpr auto select_run_length = 100ms;
constexpr auto checkout_run_length = 50ms;
constexpr int iterations = 20; // short runs, finely interleaved: load from other processes falls on all


const mdb::ConnectOptions& server_options() {
    static const mdb::ConnectOptions options = mdb::ConnectOptions::from_url(server_url());
    return options;
}

// ---- raw libmariadb: the floor, and the monitor that reads the server's counters --------------------------------

RawConnection raw_connect() { return respool_bench::raw_connect(server_options()); }

// The table other_pools_by_id reads: ids 1..by_id_rows, each with a name.
constexpr int by_id_rows = 1000;
const std::string& by_id_table() {
    static const std::string name = "respool_bench_by_id_" + std::to_string(::getpid());
    return name;
}
std::string by_id_sql() { return "SELECT name FROM " + by_id_table() + " WHERE id = ?"; }
int next_id(std::size_t thread) { // spread over the table, different per thread
    thread_local int n = 0;
    return 1 + static_cast<int>((static_cast<std::size_t>(++n) * 7 + thread * 131) % by_id_rows);
}

struct ByIdTable {
    ByIdTable() {
        RawConnection m = raw_connect();
        std::string sql = "CREATE TABLE " + by_id_table() + " (id INT PRIMARY KEY, name VARCHAR(64) NOT NULL)";
        if (mysql_real_query(m.get(), sql.data(), sql.size()) != 0) throw std::runtime_error(mysql_error(m.get()));
        sql = "INSERT INTO " + by_id_table() + " SELECT seq, CONCAT('customer ', seq) FROM seq_1_to_" +
              std::to_string(by_id_rows);
        if (mysql_real_query(m.get(), sql.data(), sql.size()) != 0) throw std::runtime_error(mysql_error(m.get()));
    }
    ~ByIdTable() {
        RawConnection m = raw_connect();
        const std::string sql = "DROP TABLE IF EXISTS " + by_id_table();
        mysql_real_query(m.get(), sql.data(), sql.size());
    }
    ByIdTable(const ByIdTable&) = delete;
    ByIdTable& operator=(const ByIdTable&) = delete;
};

// The floor of other_pools_by_id: a raw connection with the statement prepared once, its argument and result bound.
class RawById {
public:
    RawById() : m_(raw_connect()), stmt_(mysql_stmt_init(m_.get())) {
        const std::string sql = by_id_sql();
        if (!stmt_ || mysql_stmt_prepare(stmt_, sql.data(), sql.size()) != 0)
            throw std::runtime_error(std::string("preparing: ") + mysql_error(m_.get()));
        MYSQL_BIND param{};
        param.buffer_type = MYSQL_TYPE_LONG;
        param.buffer = &id_;
        MYSQL_BIND result{};
        result.buffer_type = MYSQL_TYPE_STRING;
        result.buffer = name_;
        result.buffer_length = sizeof name_;
        result.length = &length_;
        if (mysql_stmt_bind_param(stmt_, &param) != 0 || mysql_stmt_bind_result(stmt_, &result) != 0)
            throw std::runtime_error(std::string("binding: ") + mysql_stmt_error(stmt_));
    }
    ~RawById() {
        if (stmt_) mysql_stmt_close(stmt_);
    }
    RawById(const RawById&) = delete;
    RawById& operator=(const RawById&) = delete;

    bool run(int id) {
        id_ = id;
        if (mysql_stmt_execute(stmt_) != 0 || mysql_stmt_store_result(stmt_) != 0) return false;
        const bool ok = mysql_stmt_fetch(stmt_) == 0 && std::string(name_, length_).size() > 9;
        mysql_stmt_free_result(stmt_);
        return ok;
    }

private:
    RawConnection m_;
    MYSQL_STMT* stmt_;
    int id_ = 0;
    char name_[80]{};
    unsigned long length_ = 0;
};

// The server's command counters that tell what a client sent (MariaDB keeps none for COM_RESET_CONNECTION or
// COM_CHANGE_USER). They count every client's commands: run this on a server no other client uses.
constexpr std::array<const char*, 9> watched_counters{"Com_select",       "Com_admin_commands", "Com_stmt_prepare",
                                                      "Com_stmt_execute", "Com_stmt_close",     "Com_rollback",
                                                      "Com_stmt_reset",   "Com_set_option",     "Com_change_db"};

std::map<std::string, double> read_counters(MYSQL* monitor) {
    std::map<std::string, double> out;
    static constexpr char sql[] = "SHOW GLOBAL STATUS WHERE Variable_name IN ('Com_select', 'Com_admin_commands', "
                                  "'Com_stmt_prepare', 'Com_stmt_execute', 'Com_stmt_close', 'Com_rollback', "
                                  "'Com_stmt_reset', 'Com_set_option', 'Com_change_db')";
    if (mysql_real_query(monitor, sql, sizeof sql - 1) != 0)
        throw std::runtime_error(std::string("SHOW GLOBAL STATUS: ") + mysql_error(monitor));
    MYSQL_RES* res = mysql_store_result(monitor);
    if (!res) throw std::runtime_error(std::string("SHOW GLOBAL STATUS: ") + mysql_error(monitor));
    while (MYSQL_ROW row = mysql_fetch_row(res)) out[row[0]] = std::strtod(row[1], nullptr);
    mysql_free_result(res);
    return out;
}

// ---- one contender: a name, setup done, and an operation for thread t --------------------------------------------

struct Contender {
    std::string name;
    std::function<bool(std::size_t)> op; // true: the operation succeeded
    std::shared_ptr<void> state;         // what op refers to; kept alive as long as the contender
};

template <class State>
Contender make_contender(std::string name, std::shared_ptr<State> state,
                         std::function<bool(State&, std::size_t)> op) {
    Contender c{std::move(name), nullptr, state};
    c.op = [s = state.get(), op = std::move(op)](std::size_t t) { return op(*s, t); };
    return c;
}

// ---- respool -----------------------------------------------------------------------------------------------------

struct RespoolState {
    explicit RespoolState(std::size_t size, bool fair_queue = false)
        : pool(mdb::make_pool(server_options(), respool::PoolOptions{.pool_size = size,
                                                                     .max_overflow = 0,
                                                                     .timeout = 30s,
                                                                     .fair_queue = fair_queue})) {
        std::vector<mdb::ConnectionPool::Lease> all;
        for (std::size_t i = 0; i < size; ++i) all.push_back(pool.acquire());
    }
    mdb::ConnectionPool pool;
};

Contender respool_by_id_contender(std::size_t size) {
    return make_contender<RespoolState>("respool", std::make_shared<RespoolState>(size), [](RespoolState& s, std::size_t t) {
        auto lease = s.pool.acquire();
        static const std::string sql = by_id_sql();
        const mdb::Result r = lease->query(sql, next_id(t));
        return r.size() == 1 && r[0].get<std::string>(0).size() > 9;
    });
}

Contender floor_by_id_contender(std::size_t threads) {
    auto state = std::make_shared<std::vector<std::unique_ptr<RawById>>>();
    for (std::size_t t = 0; t < threads; ++t) state->push_back(std::make_unique<RawById>());
    return make_contender<std::vector<std::unique_ptr<RawById>>>(
        "floor", state, [](std::vector<std::unique_ptr<RawById>>& raw, std::size_t t) { return raw[t]->run(next_id(t)); });
}

Contender respool_contender(std::size_t size, bool query, bool fair_queue = false) {
    auto state = std::make_shared<RespoolState>(size, fair_queue);
    if (!query)
        return make_contender<RespoolState>("respool", state, [](RespoolState& s, std::size_t) {
            auto lease = s.pool.acquire();
            benchmark::DoNotOptimize(lease.get());
            return true;
        });
    const char* name = fair_queue ? "respool_fair_queue" : "respool";
    return make_contender<RespoolState>(name, state, [](RespoolState& s, std::size_t) {
        auto lease = s.pool.acquire();
        const mdb::Result r = lease->query("SELECT 1");
        return r.size() == 1 && r[0].get<int>(0) == 1;
    });
}

Contender floor_contender(std::size_t threads) {
    auto state = std::make_shared<std::vector<RawConnection>>();
    for (std::size_t t = 0; t < threads; ++t) state->push_back(raw_connect());
    return make_contender<std::vector<RawConnection>>(
        "floor", state, [](std::vector<RawConnection>& raw, std::size_t t) { return raw_select1(raw[t].get()); });
}

// ---- POCO Data ---------------------------------------------------------------------------------------------------

#if RESPOOL_BENCH_HAS_POCO
std::string poco_connection_string() {
    const mdb::ConnectOptions& o = server_options();
    return "host=" + o.host + ";port=" + std::to_string(o.port) + ";user=" + o.user + ";password=" + o.password +
           ";db=" + o.database + ";auto-reconnect=false";
}

struct PocoPoolState {
    explicit PocoPoolState(std::size_t size)
        : pool("MySQL", poco_connection_string(), static_cast<int>(size), static_cast<int>(size), 3600) {
        std::vector<Poco::Data::Session> all;
        for (std::size_t i = 0; i < size; ++i) all.push_back(pool.get());
    }
    Poco::Data::SessionPool pool;
};

bool poco_select1(Poco::Data::Session& session) {
    using Poco::Data::Keywords::into;
    using Poco::Data::Keywords::now;
    Poco::Int64 value = 0;
    session << "SELECT 1", into(value), now;
    return value == 1;
}

Contender poco_pool_contender(std::size_t size, bool query) {
    auto state = std::make_shared<PocoPoolState>(size);
    if (!query)
        return make_contender<PocoPoolState>("poco", state, [](PocoPoolState& s, std::size_t) {
            Poco::Data::Session session = s.pool.get();
            benchmark::DoNotOptimize(&session);
            return true;
        });
    return make_contender<PocoPoolState>("poco", state, [](PocoPoolState& s, std::size_t) {
        Poco::Data::Session session = s.pool.get();
        return poco_select1(session);
    });
}

Contender poco_by_id_contender(std::size_t size) {
    return make_contender<PocoPoolState>("poco", std::make_shared<PocoPoolState>(size), [](PocoPoolState& s, std::size_t t) {
        using Poco::Data::Keywords::into;
        using Poco::Data::Keywords::now;
        using Poco::Data::Keywords::use;
        Poco::Data::Session session = s.pool.get();
        int id = next_id(t);
        std::string name;
        static const std::string sql = by_id_sql();
        session << sql, use(id), into(name), now;
        return name.size() > 9;
    });
}

Contender poco_session_contender(std::size_t threads) {
    auto state = std::make_shared<std::vector<Poco::Data::Session>>();
    for (std::size_t t = 0; t < threads; ++t) state->emplace_back("MySQL", poco_connection_string());
    return make_contender<std::vector<Poco::Data::Session>>(
        "poco_no_pool", state, [](std::vector<Poco::Data::Session>& s, std::size_t t) { return poco_select1(s[t]); });
}
#endif

// ---- SOCI --------------------------------------------------------------------------------------------------------

#if RESPOOL_BENCH_HAS_SOCI
std::string soci_connection_string() {
    const mdb::ConnectOptions& o = server_options();
    return "host=" + o.host + " port=" + std::to_string(o.port) + " user=" + o.user + " password=" + o.password +
           " db=" + o.database + " charset=" + o.charset;
}

struct SociPoolState {
    explicit SociPoolState(std::size_t size) : pool(size) {
        for (std::size_t i = 0; i < size; ++i) pool.at(i).open(soci::mysql, soci_connection_string());
    }
    soci::connection_pool pool;
};

bool soci_select1(soci::session& session) {
    int value = 0;
    session << "SELECT 1", soci::into(value);
    return value == 1;
}

Contender soci_pool_contender(std::size_t size, bool query) {
    auto state = std::make_shared<SociPoolState>(size);
    if (!query)
        return make_contender<SociPoolState>("soci", state, [](SociPoolState& s, std::size_t) {
            soci::session session(s.pool);
            benchmark::DoNotOptimize(&session);
            return true;
        });
    return make_contender<SociPoolState>("soci", state, [](SociPoolState& s, std::size_t) {
        soci::session session(s.pool);
        return soci_select1(session);
    });
}

Contender soci_by_id_contender(std::size_t size) {
    return make_contender<SociPoolState>("soci", std::make_shared<SociPoolState>(size), [](SociPoolState& s, std::size_t t) {
        soci::session session(s.pool);
        const int id = next_id(t);
        std::string name;
        static const std::string sql = "SELECT name FROM " + by_id_table() + " WHERE id = :id";
        session << sql, soci::use(id), soci::into(name);
        return name.size() > 9;
    });
}

Contender soci_session_contender(std::size_t threads) {
    auto state = std::make_shared<std::vector<std::unique_ptr<soci::session>>>();
    for (std::size_t t = 0; t < threads; ++t)
        state->push_back(std::make_unique<soci::session>(soci::mysql, soci_connection_string()));
    return make_contender<std::vector<std::unique_ptr<soci::session>>>(
        "soci_no_pool", state,
        [](std::vector<std::unique_ptr<soci::session>>& s, std::size_t t) { return soci_select1(*s[t]); });
}
#endif

// ---- libzdb ------------------------------------------------------------------------------------------------------

#if RESPOOL_BENCH_HAS_ZDB
// libzdb reports errors by longjmp-based exceptions; none is caught here: an error aborts the run with its message.
struct ZdbPoolState {
    explicit ZdbPoolState(std::size_t size) {
        const mdb::ConnectOptions& o = server_options();
        const std::string text = "mysql://" + o.host + ":" + std::to_string(o.port) + "/" + o.database +
                                 "?user=" + o.user + "&password=" + o.password + "&charset=" + o.charset;
        url = URL_new(text.c_str());
        if (!url) throw std::runtime_error("libzdb: bad URL " + text);
        pool = ConnectionPool_new(url);
        ConnectionPool_setInitialConnections(pool, static_cast<int>(size));
        ConnectionPool_setMaxConnections(pool, static_cast<int>(size));
        ConnectionPool_start(pool);
    }
    ~ZdbPoolState() {
        ConnectionPool_free(&pool);
        URL_free(&url);
    }
    ZdbPoolState(const ZdbPoolState&) = delete;
    ZdbPoolState& operator=(const ZdbPoolState&) = delete;

    URL_T url = nullptr;
    ConnectionPool_T pool = nullptr;
};

Contender zdb_pool_contender(std::size_t size, bool query) {
    auto state = std::make_shared<ZdbPoolState>(size);
    if (!query)
        return make_contender<ZdbPoolState>("libzdb", state, [](ZdbPoolState& s, std::size_t) {
            Connection_T c = ConnectionPool_getConnection(s.pool);
            if (!c) return false; // NULL: all connections in use (libzdb does not wait)
            Connection_close(c);
            return true;
        });
    return make_contender<ZdbPoolState>("libzdb", state, [](ZdbPoolState& s, std::size_t) {
        Connection_T c = ConnectionPool_getConnection(s.pool);
        if (!c) return false;
        ResultSet_T r = Connection_executeQuery(c, "SELECT 1");
        const bool ok = ResultSet_next(r) && ResultSet_getInt(r, 1) == 1;
        Connection_close(c);
        return ok;
    });
}
#endif

#if RESPOOL_BENCH_HAS_ZDB
Contender zdb_by_id_contender(std::size_t size) {
    return make_contender<ZdbPoolState>("libzdb", std::make_shared<ZdbPoolState>(size), [](ZdbPoolState& s, std::size_t t) {
        Connection_T c = ConnectionPool_getConnection(s.pool);
        if (!c) return false;
        static const std::string sql = by_id_sql();
        PreparedStatement_T p = Connection_prepareStatement(c, "%s", sql.c_str());
        PreparedStatement_setInt(p, 1, next_id(t));
        ResultSet_T r = PreparedStatement_executeQuery(p);
        const bool ok = ResultSet_next(r) && std::string(ResultSet_getString(r, 1)).size() > 9;
        Connection_close(c);
        return ok;
    });
}
#endif

// ---- the contenders of each scenario -----------------------------------------------------------------------------

std::vector<Contender> by_id_contenders(std::size_t threads) {
    std::vector<Contender> out;
    out.push_back(floor_by_id_contender(threads));
    out.push_back(respool_by_id_contender(threads));
#if RESPOOL_BENCH_HAS_POCO
    out.push_back(poco_by_id_contender(threads));
#endif
#if RESPOOL_BENCH_HAS_SOCI
    out.push_back(soci_by_id_contender(threads));
#endif
#if RESPOOL_BENCH_HAS_ZDB
    out.push_back(zdb_by_id_contender(threads));
#endif
    return out;
}

std::vector<Contender> select_contenders(std::size_t threads) {
    std::vector<Contender> out;
    out.push_back(floor_contender(threads));
    out.push_back(respool_contender(threads, true));
#if RESPOOL_BENCH_HAS_POCO
    out.push_back(poco_pool_contender(threads, true));
    out.push_back(poco_session_contender(threads));
#endif
#if RESPOOL_BENCH_HAS_SOCI
    out.push_back(soci_pool_contender(threads, true));
    out.push_back(soci_session_contender(threads));
#endif
#if RESPOOL_BENCH_HAS_ZDB
    out.push_back(zdb_pool_contender(threads, true));
#endif
    return out;
}

std::vector<Contender> checkout_contenders(std::size_t threads) {
    std::vector<Contender> out;
    out.push_back(respool_contender(threads, false));
#if RESPOOL_BENCH_HAS_POCO
    out.push_back(poco_pool_contender(threads, false));
#endif
#if RESPOOL_BENCH_HAS_SOCI
    out.push_back(soci_pool_contender(threads, false));
#endif
#if RESPOOL_BENCH_HAS_ZDB
    out.push_back(zdb_pool_contender(threads, false));
#endif
    return out;
}

// ---- threads that outnumber the connections ---------------------------------------------------------------------

// 32 threads over 8 connections, the case a pool exists for: the floor is one raw connection per thread (32, no
// sharing at all, as in bench_mariadb_select1); respool by default and with fair_queue; SOCI's connection_pool, which
// blocks until a session is free. POCO's SessionPool and libzdb's ConnectionPool do not wait: when every connection is
// in use POCO throws SessionPoolExhaustedException and libzdb returns NULL, so their caller must retry; here it yields
// and tries again, the least such a caller can write, and the retries count in the latency.
constexpr std::size_t shared_threads = 32;
constexpr std::size_t shared_connections = 8;

std::vector<Contender> shared_contenders(std::size_t threads) {
    std::vector<Contender> out;
    out.push_back(floor_contender(threads));
    out.push_back(respool_contender(shared_connections, true));
    out.push_back(respool_contender(shared_connections, true, /*fair_queue=*/true));
#if RESPOOL_BENCH_HAS_SOCI
    out.push_back(soci_pool_contender(shared_connections, true));
#endif
#if RESPOOL_BENCH_HAS_POCO
    out.push_back(make_contender<PocoPoolState>(
        "poco_retrying", std::make_shared<PocoPoolState>(shared_connections), [](PocoPoolState& s, std::size_t) {
            for (;;) {
                try {
                    Poco::Data::Session session = s.pool.get();
                    return poco_select1(session);
                } catch (const Poco::Data::SessionPoolExhaustedException&) {
                    std::this_thread::yield();
                }
            }
        }));
#endif
#if RESPOOL_BENCH_HAS_ZDB
    out.push_back(make_contender<ZdbPoolState>(
        "libzdb_retrying", std::make_shared<ZdbPoolState>(shared_connections), [](ZdbPoolState& s, std::size_t) {
            Connection_T c = nullptr;
            while (!(c = ConnectionPool_getConnection(s.pool))) std::this_thread::yield();
            ResultSet_T r = Connection_executeQuery(c, "SELECT 1");
            const bool ok = ResultSet_next(r) && ResultSet_getInt(r, 1) == 1;
            Connection_close(c);
            return ok;
        }));
#endif
    return out;
}

// ---- the benchmarks ----------------------------------------------------------------------------------------------

struct Totals {
    std::uint64_t ops = 0;
    std::uint64_t failures = 0;
    double wall_seconds = 0;
    double ops_per_second() const { return wall_seconds > 0 ? double(ops) / wall_seconds : 0; }
};

// Per thread, on its own cache line.
struct alignas(64) Counts {
    std::uint64_t ok = 0;
    std::uint64_t failed = 0;
};

double run_contender(const Contender& c, std::size_t threads, std::chrono::milliseconds length, Totals& totals) {
    std::vector<Counts> counts(threads);
    const respool_bench::WallRun run = run_threads_for(threads, length, [&](std::size_t t) {
        bool ok = false;
        try {
            ok = c.op(t);
        } catch (const std::exception&) {
            ok = false;
        }
        ++(ok ? counts[t].ok : counts[t].failed);
    });
    totals.wall_seconds += run.wall_seconds;
    for (const Counts& n : counts) {
        totals.ops += n.ok;
        totals.failures += n.failed;
    }
    return run.wall_seconds;
}

// Each benchmark iteration runs every contender once (`run(contender, its totals)`, returning the run's wall time), in
// an order that rotates between iterations; the iteration's time is respool's run, the results are in the counters.
template <class ContenderTotals, class Run>
void run_rotating(benchmark::State& state, const std::vector<Contender>& contenders,
                  std::vector<ContenderTotals>& totals, Run&& run) {
    std::size_t first = 0;
    for (auto _ : state) {
        double respool_wall = 0;
        for (std::size_t k = 0; k < contenders.size(); ++k) {
            const std::size_t which = (first + k) % contenders.size();
            const double wall = run(contenders[which], totals[which]);
            if (contenders[which].name == "respool") respool_wall = wall;
        }
        first = (first + 1) % contenders.size();
        state.SetIterationTime(respool_wall);
    }
}

// Runs every contender once per iteration, rotating the order; counters: each contender's operations per second,
// respool's throughput over each (how many times faster respool is), and failures.
void compare(benchmark::State& state, std::vector<Contender> (*make)(std::size_t), std::chrono::milliseconds length,
             const char* baseline) {
    const auto threads = static_cast<std::size_t>(state.range(0));
    std::vector<Contender> contenders;
    try {
        contenders = make(threads);
    } catch (const std::exception& e) {
        state.SkipWithError(e.what());
        return;
    }
    std::vector<Totals> totals(contenders.size());
    run_rotating(state, contenders, totals,
                 [&](const Contender& c, Totals& t) { return run_contender(c, threads, length, t); });
    double respool_ops = 0, baseline_ops = 0;
    for (std::size_t i = 0; i < contenders.size(); ++i) {
        if (contenders[i].name == "respool") respool_ops = totals[i].ops_per_second();
        if (contenders[i].name == baseline) baseline_ops = totals[i].ops_per_second();
    }
    for (std::size_t i = 0; i < contenders.size(); ++i) {
        const std::string& n = contenders[i].name;
        const double ops = totals[i].ops_per_second();
        state.counters[n + "_ops"] = ops;
        state.counters[n + "_vs_" + baseline] = baseline_ops > 0 ? ops / baseline_ops : 0;
        state.counters["respool_over_" + n] = ops > 0 ? respool_ops / ops : 0;
        state.counters[n + "_failures"] = double(totals[i].failures);
    }
    state.counters["threads"] = double(threads);
}

void other_pools_select1(benchmark::State& state) { compare(state, select_contenders, select_run_length, "floor"); }
void other_pools_by_id(benchmark::State& state) { compare(state, by_id_contenders, select_run_length, "floor"); }
void other_pools_checkout(benchmark::State& state) {
    compare(state, checkout_contenders, checkout_run_length, "respool");
}

// Every contender once per iteration, rotating the order, each query timed (respool_bench::timed_run): throughput
// over the floor's, p50, p99 and p99.9, the client's CPU time per query.
void other_pools_32_threads_8_connections(benchmark::State& state) {
    std::vector<Contender> contenders;
    try {
        contenders = shared_contenders(shared_threads);
    } catch (const std::exception& e) {
        state.SkipWithError(e.what());
        return;
    }
    std::vector<respool_bench::QueryTotals> totals(contenders.size());
    run_rotating(state, contenders, totals, [](const Contender& c, respool_bench::QueryTotals& t) {
        return respool_bench::timed_run(shared_threads, select_run_length, t, [&c](std::size_t i) { return c.op(i); });
    });
    const double floor_qps = totals[0].queries_per_second(); // shared_contenders() puts the floor first
    const double floor_p99 = totals[0].quantile_us(0.99);
    for (std::size_t i = 0; i < contenders.size(); ++i) {
        const std::string& n = contenders[i].name;
        respool_bench::QueryTotals& t = totals[i];
        state.counters[n + "_qps"] = t.queries_per_second();
        state.counters[n + "_vs_floor"] = floor_qps > 0 ? t.queries_per_second() / floor_qps : 0;
        state.counters[n + "_p50_us"] = t.quantile_us(0.50);
        state.counters[n + "_p99_us"] = t.quantile_us(0.99);
        state.counters[n + "_p99_vs_floor"] = floor_p99 > 0 ? t.quantile_us(0.99) / floor_p99 : 0;
        state.counters[n + "_p999_us"] = t.quantile_us(0.999);
        state.counters[n + "_cpu_us_per_q"] = t.per_query(t.client_cpu_seconds * 1e6);
        state.counters[n + "_sleeps_per_q"] = t.per_query(double(t.voluntary_switches));
        state.counters[n + "_failures"] = double(t.failures);
    }
    state.counters["threads"] = double(shared_threads);
    state.counters["connections"] = double(shared_connections);
}

// Every scenario at 1 and 8 threads, timed by the wall time of respool's runs (see compare()).
void at_1_and_8_threads(benchmark::internal::Benchmark* b) {
    b->ArgName("threads")->Arg(1)->Arg(8)->Iterations(iterations)->UseManualTime()->Unit(benchmark::kMillisecond);
}
BENCHMARK(other_pools_select1)->Apply(at_1_and_8_threads);
BENCHMARK(other_pools_by_id)->Apply(at_1_and_8_threads);
BENCHMARK(other_pools_checkout)->Apply(at_1_and_8_threads);
BENCHMARK(other_pools_32_threads_8_connections)
    ->Iterations(iterations)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// ---- what each library sends the server ---------------------------------------------------------------------------

// One thread, `n` operations of each contender, bracketed by reads of the server's counters. The monitor's own SHOW
// adds nothing to the watched counters.
void print_server_commands(std::ostream& out) {
    constexpr int n = 1000;
    RawConnection monitor = raw_connect();
    out << "Server commands per operation (one thread, " << n << " operations each; Com_admin_commands counts "
        << "COM_PING)\n";
    auto measure = [&](const char* scenario, std::vector<Contender> contenders) {
        for (const Contender& c : contenders) {
            const auto before = read_counters(monitor.get());
            for (int i = 0; i < n; ++i) c.op(0);
            const auto after = read_counters(monitor.get());
            out << "  " << std::left << std::setw(10) << scenario << std::setw(14) << c.name << std::right;
            bool any = false;
            for (const char* counter : watched_counters) {
                const double per_op = (after.at(counter) - before.at(counter)) / n;
                if (per_op < 0.005) continue;
                out << " " << counter << "=" << std::fixed << std::setprecision(2) << per_op;
                any = true;
            }
            out << (any ? "\n" : " (none)\n");
        }
    };
    measure("select1", select_contenders(1));
    measure("by_id", by_id_contenders(1));
    measure("checkout", checkout_contenders(1));
    out << "\n";
}

// The 32-thread scenario's table: throughput and p99, each over the floor's, and p99.9.
void shared_summary(const respool_bench::Collected& c, const std::string& name,
                    const std::map<std::string, std::vector<double>>& counters, std::ostream& out) {
    auto get = [&](const std::string& key) { return c.median_counter(name, key); };
    out << "  " << name << " (" << static_cast<int>(get("threads")) << " threads, pools of "
        << static_cast<int>(get("connections")) << ", " << c.repetitions(name) << " reps)\n";
    out << "    " << std::left << std::setw(18) << "contender" << std::right << std::setw(11) << "queries/s"
        << std::setw(10) << "/ floor" << std::setw(10) << "p50 us" << std::setw(10) << "p99 us" << std::setw(13)
        << "p99 / floor" << std::setw(11) << "p99.9 us" << std::setw(11) << "cpu us/q" << std::setw(10)
        << "sleeps/q" << std::setw(10) << "failures" << "\n";
    for (const auto& entry : counters) {
        const std::string& key = entry.first;
        const auto end = key.rfind("_qps");
        if (end == std::string::npos || end + 4 != key.size()) continue;
        const std::string who = key.substr(0, end);
        out << "    " << std::left << std::setw(18) << who << std::right << std::setprecision(0) << std::setw(11)
            << get(key) << std::setprecision(3) << std::setw(10) << get(who + "_vs_floor") << std::setprecision(1)
            << std::setw(10) << get(who + "_p50_us") << std::setw(10) << get(who + "_p99_us") << std::setprecision(2)
            << std::setw(13) << get(who + "_p99_vs_floor") << std::setprecision(0) << std::setw(11)
            << get(who + "_p999_us") << std::setprecision(1) << std::setw(11) << get(who + "_cpu_us_per_q")
            << std::setprecision(2) << std::setw(10) << get(who + "_sleeps_per_q")
            << std::setprecision(0) << std::setw(10) << get(who + "_failures") << "\n";
    }
}

void summary(const respool_bench::Collected& c, std::ostream& out) {
    out << std::fixed;
    for (const auto& [name, counters] : c.counters) {
        if (name.find("32_threads") != std::string::npos) {
            shared_summary(c, name, counters, out);
            continue;
        }
        const bool select = name.find("checkout") == std::string::npos;
        const std::string baseline = select ? "floor" : "respool";
        out << "  " << name << " (" << c.repetitions(name) << " reps)\n";
        for (const auto& [key, values] : counters) {
            const auto end = key.rfind("_ops");
            if (end == std::string::npos || end + 4 != key.size()) continue;
            const std::string who = key.substr(0, end);
            out << "    " << std::left << std::setw(14) << who << std::right << std::setprecision(0) << std::setw(10)
                << c.median_counter(name, key) << " ops/s" << std::setprecision(3) << std::setw(8)
                << c.median_counter(name, who + "_vs_" + baseline) << " of " << baseline
                << "   respool is " << std::setprecision(2) << c.median_counter(name, "respool_over_" + who)
                << "x this   failures " << std::setprecision(0) << c.median_counter(name, who + "_failures")
                << "\n";
        }
    }
}

} // namespace

int main(int argc, char** argv) {
    if (server_url().empty()) {
        std::fprintf(stderr, "bench_mariadb_vs_other_pools: set RESPOOL_MARIADB_URL (tools/bench_mariadb.sh starts a "
                             "throwaway server and sets it)\n");
        return 2;
    }
    if (mysql_library_init(0, nullptr, nullptr) != 0) return 2;
#if RESPOOL_BENCH_HAS_POCO
    Poco::Data::MySQL::Connector::registerConnector();
#endif
    std::optional<ByIdTable> table;
    try {
        table.emplace();
        print_server_commands(std::cout);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_mariadb_vs_other_pools: %s\n", e.what());
        return 1;
    }
    const int rc = respool_bench::run_main(argc, argv, summary);
    table.reset();
    mysql_library_end();
    return rc;
}
