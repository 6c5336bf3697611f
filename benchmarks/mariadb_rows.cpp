// MariaDB: what the adapter costs over Connector/C itself when a query returns real rows, on one connection each
// (RESPOOL_MARIADB_URL). The table has six columns (INT, VARCHAR, INT, DOUBLE, DATETIME, TEXT NULL in every other
// row); every contender reads every value of every row into owned C++ values (int, std::string, double,
// std::optional<std::string>), so that none is credited for skipping work.
//
//   rows_text/N        respool Connection::query(sql) (text protocol), N = 1, 100, 1000 rows
//   raw_text/N         mysql_real_query + mysql_store_result + mysql_fetch_row, values parsed with std::from_chars
//   rows_prepared/N    respool Connection::query(sql, arg): a statement with one argument
//   raw_prepared/N     mysql_stmt_* with the statement prepared once and reused, integers and the double bound in
//                      binary form, the rest as text (the least a careful user of Connector/C does)
//   raw_prepared_each/N  the same, preparing and closing the statement on every call
//   insert             respool Connection::execute(sql, args...): one row, four arguments
//   raw_insert         mysql_stmt_execute of a statement prepared once; raw_insert_each prepares it every call
//
// respool keeps statements run with arguments prepared (ConnectOptions::statement_cache_size), so rows_prepared and
// insert are measured against the reused statement. Run with --benchmark_repetitions and
// --benchmark_enable_random_interleaving=true: the summary gives each respool time over its raw counterpart's
// (medians), side by side in one run.
#include <mysql.h>
#include <unistd.h>

#include <respool/mariadb.hpp>

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iomanip>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "bench_support.hpp"
#include "mariadb_support.hpp"

namespace {

namespace mdb = respool::mariadb;

constexpr const char* columns = "id, name, age, score, created, note";
constexpr int table_rows = 1000;

std::string table_name() { return "respool_bench_rows_" + std::to_string(::getpid()); }

const mdb::ConnectOptions& server_options() {
    static const mdb::ConnectOptions options = [] {
        const std::string url = respool_bench::server_url();
        if (url.empty()) throw std::runtime_error("set RESPOOL_MARIADB_URL (tools/bench_mariadb.sh does)");
        return mdb::ConnectOptions::from_url(url);
    }();
    return options;
}

// What every contender makes of a row, and a fold of it that the optimiser cannot drop.
struct Customer {
    int id = 0;
    std::string name;
    int age = 0;
    double score = 0;
    std::string created;
    std::optional<std::string> note;

    std::uint64_t fold() const noexcept {
        return static_cast<std::uint64_t>(id) + name.size() + static_cast<std::uint64_t>(age) +
               static_cast<std::uint64_t>(score) + created.size() + (note ? note->size() : 0);
    }
};

template <class T>
T parse(const char* text, unsigned long length) {
    T value{};
    std::from_chars(text, text + length, value);
    return value;
}

using respool_bench::RawConnection;

// One respool Connection and one raw MYSQL*, and the table, made once for the whole run.
struct Fixture {
    mdb::Connection conn{server_options()};
    RawConnection raw = respool_bench::raw_connect(server_options());
    std::string table = table_name();

    Fixture() {
        conn.execute("CREATE TABLE " + table + " (id INT PRIMARY KEY, name VARCHAR(64) NOT NULL, age INT NOT NULL, "
                     "score DOUBLE NOT NULL, created DATETIME NOT NULL, note TEXT NULL) ENGINE=InnoDB");
        conn.execute("CREATE TABLE " + table + "_ins (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(64), age INT, "
                     "score DOUBLE, note TEXT NULL) ENGINE=InnoDB");
        std::string insert = "INSERT INTO " + table + " VALUES ";
        for (int i = 1; i <= table_rows; ++i) {
            char row[200];
            std::snprintf(row, sizeof row, "%s(%d, 'Customer %s%d', %d, %d.%03d, '2024-%02d-%02d %02d:%02d:00', %s)",
                          i > 1 ? "," : "", i, i % 3 == 0 ? "with a longer name " : "", i, 18 + i % 60, i % 100,
                          (i * 37) % 1000, 1 + i % 12, 1 + i % 28, i % 24, i % 60,
                          i % 2 ? "'a note of about forty characters, or NULL'" : "NULL");
            insert += row;
        }
        conn.execute(insert);
    }
    ~Fixture() {
        try {
            conn.execute("DROP TABLE IF EXISTS " + table + ", " + table + "_ins");
        } catch (...) {
        }
    }

    std::string text_sql(std::int64_t n) const {
        return std::string("SELECT ") + columns + " FROM " + table + " ORDER BY id LIMIT " + std::to_string(n);
    }
    std::string prepared_sql(std::int64_t n) const {
        return std::string("SELECT ") + columns + " FROM " + table + " WHERE id > ? ORDER BY id LIMIT " +
               std::to_string(n);
    }
    std::string insert_sql() const { return "INSERT INTO " + table + "_ins (name, age, score, note) VALUES (?, ?, ?, ?)"; }
};

Fixture& fixture() {
    static Fixture f;
    return f;
}

std::uint64_t fold_rows(const mdb::Result& rows) {
    std::uint64_t sum = 0;
    for (const mdb::Row& row : rows)
        sum += Customer{row.get<int>(0),    row.get<std::string>(1), row.get<int>(2),
                        row.get<double>(3), row.get<std::string>(4), row.get<std::optional<std::string>>(5)}
                   .fold();
    return sum;
}

void rows_text(benchmark::State& state) {
    Fixture& f = fixture();
    const std::string sql = f.text_sql(state.range(0));
    for (auto _ : state) benchmark::DoNotOptimize(fold_rows(f.conn.query(sql)));
}

void raw_text(benchmark::State& state) {
    Fixture& f = fixture();
    MYSQL* m = f.raw.get();
    const std::string sql = f.text_sql(state.range(0));
    for (auto _ : state) {
        if (mysql_real_query(m, sql.data(), sql.size()) != 0) throw std::runtime_error(mysql_error(m));
        MYSQL_RES* res = mysql_store_result(m);
        std::uint64_t sum = 0;
        while (MYSQL_ROW r = mysql_fetch_row(res)) {
            const unsigned long* len = mysql_fetch_lengths(res);
            sum += Customer{parse<int>(r[0], len[0]),
                            std::string(r[1], len[1]),
                            parse<int>(r[2], len[2]),
                            parse<double>(r[3], len[3]),
                            std::string(r[4], len[4]),
                            r[5] ? std::optional<std::string>(std::in_place, r[5], len[5]) : std::nullopt}
                       .fold();
        }
        mysql_free_result(res);
        benchmark::DoNotOptimize(sum);
    }
}

void rows_prepared(benchmark::State& state) {
    Fixture& f = fixture();
    const std::string sql = f.prepared_sql(state.range(0));
    for (auto _ : state) benchmark::DoNotOptimize(fold_rows(f.conn.query(sql, 0)));
}

// A raw prepared SELECT with its result bound once: integers and the double in binary form, text into buffers.
class RawSelect {
public:
    RawSelect(MYSQL* m, const std::string& sql) : sql_(sql), stmt_(mysql_stmt_init(m)) {
        prepare();
    }
    RawSelect(const RawSelect&) = delete;
    RawSelect& operator=(const RawSelect&) = delete;
    ~RawSelect() { mysql_stmt_close(stmt_); }

    std::uint64_t run() {
        if (mysql_stmt_execute(stmt_) != 0 || mysql_stmt_store_result(stmt_) != 0)
            throw std::runtime_error(mysql_stmt_error(stmt_));
        std::uint64_t sum = 0;
        while (mysql_stmt_fetch(stmt_) == 0)
            sum += Customer{id_,    std::string(name_, length_[1]),
                            age_,   score_,
                            std::string(created_, length_[4]),
                            null_[5] ? std::nullopt : std::optional<std::string>(std::in_place, note_, length_[5])}
                       .fold();
        mysql_stmt_free_result(stmt_);
        return sum;
    }

private:
    void prepare() {
        if (mysql_stmt_prepare(stmt_, sql_.data(), sql_.size()) != 0) throw std::runtime_error(mysql_stmt_error(stmt_));
        MYSQL_BIND param{};
        param.buffer_type = MYSQL_TYPE_LONG;
        param.buffer = &argument_;
        mysql_stmt_bind_param(stmt_, &param);
        MYSQL_BIND out[6]{};
        auto bind = [&](int i, enum_field_types type, void* buffer, unsigned long size) {
            out[i].buffer_type = type;
            out[i].buffer = buffer;
            out[i].buffer_length = size;
            out[i].length = &length_[i];
            out[i].is_null = &null_[i];
        };
        bind(0, MYSQL_TYPE_LONG, &id_, 0);
        bind(1, MYSQL_TYPE_STRING, name_, sizeof name_);
        bind(2, MYSQL_TYPE_LONG, &age_, 0);
        bind(3, MYSQL_TYPE_DOUBLE, &score_, 0);
        bind(4, MYSQL_TYPE_STRING, created_, sizeof created_);
        bind(5, MYSQL_TYPE_STRING, note_, sizeof note_);
        mysql_stmt_bind_result(stmt_, out);
    }

    std::string sql_;
    MYSQL_STMT* stmt_;
    int argument_ = 0;
    int id_ = 0, age_ = 0;
    double score_ = 0;
    char name_[80]{}, created_[32]{}, note_[80]{};
    unsigned long length_[6]{};
    my_bool null_[6]{};
};

void raw_prepared(benchmark::State& state) {
    Fixture& f = fixture();
    RawSelect select(f.raw.get(), f.prepared_sql(state.range(0)));
    for (auto _ : state) benchmark::DoNotOptimize(select.run());
}

void raw_prepared_each(benchmark::State& state) {
    Fixture& f = fixture();
    const std::string sql = f.prepared_sql(state.range(0));
    for (auto _ : state) {
        RawSelect select(f.raw.get(), sql);
        benchmark::DoNotOptimize(select.run());
    }
}

void rows_insert(benchmark::State& state) {
    Fixture& f = fixture();
    const std::string sql = f.insert_sql();
    int i = 0;
    for (auto _ : state)
        benchmark::DoNotOptimize(f.conn.execute(sql, "Customer", ++i % 90, 1.5, std::optional<std::string>{}));
}

// A raw prepared INSERT with four bound arguments.
class RawInsert {
public:
    RawInsert(MYSQL* m, const std::string& sql) : stmt_(mysql_stmt_init(m)) {
        if (mysql_stmt_prepare(stmt_, sql.data(), sql.size()) != 0) throw std::runtime_error(mysql_stmt_error(stmt_));
    }
    RawInsert(const RawInsert&) = delete;
    RawInsert& operator=(const RawInsert&) = delete;
    ~RawInsert() { mysql_stmt_close(stmt_); }

    std::uint64_t run(int age) {
        MYSQL_BIND params[4]{};
        char name[] = "Customer";
        unsigned long name_length = sizeof name - 1;
        double score = 1.5;
        my_bool note_null = 1;
        params[0].buffer_type = MYSQL_TYPE_STRING;
        params[0].buffer = name;
        params[0].length = &name_length;
        params[1].buffer_type = MYSQL_TYPE_LONG;
        params[1].buffer = &age;
        params[2].buffer_type = MYSQL_TYPE_DOUBLE;
        params[2].buffer = &score;
        params[3].buffer_type = MYSQL_TYPE_NULL;
        params[3].is_null = &note_null;
        if (mysql_stmt_bind_param(stmt_, params) != 0 || mysql_stmt_execute(stmt_) != 0)
            throw std::runtime_error(mysql_stmt_error(stmt_));
        return mysql_stmt_affected_rows(stmt_);
    }

private:
    MYSQL_STMT* stmt_;
};

void raw_insert(benchmark::State& state) {
    Fixture& f = fixture();
    RawInsert insert(f.raw.get(), f.insert_sql());
    int i = 0;
    for (auto _ : state) benchmark::DoNotOptimize(insert.run(++i % 90));
}

void raw_insert_each(benchmark::State& state) {
    Fixture& f = fixture();
    const std::string sql = f.insert_sql();
    int i = 0;
    for (auto _ : state) {
        RawInsert insert(f.raw.get(), sql);
        benchmark::DoNotOptimize(insert.run(++i % 90));
    }
}

void register_all() {
    using Function = void (*)(benchmark::State&);
    const std::pair<const char*, Function> row_counts[] = {{"rows_text", rows_text},
                                                           {"raw_text", raw_text},
                                                           {"rows_prepared", rows_prepared},
                                                           {"raw_prepared", raw_prepared},
                                                           {"raw_prepared_each", raw_prepared_each}};
    for (const auto& [name, fn] : row_counts)
        benchmark::RegisterBenchmark(name, fn)->Arg(1)->Arg(100)->Arg(table_rows)->Unit(benchmark::kMicrosecond);
    const std::pair<const char*, Function> inserts[] = {
        {"rows_insert", rows_insert}, {"raw_insert", raw_insert}, {"raw_insert_each", raw_insert_each}};
    for (const auto& [name, fn] : inserts) benchmark::RegisterBenchmark(name, fn)->Unit(benchmark::kMicrosecond);
}

void summary(const respool_bench::Collected& c, std::ostream& out) {
    out << std::fixed << std::setprecision(2);
    auto ratio = [&](const std::string& ours, const std::string& theirs) {
        const double a = c.median_time(ours), b = c.median_time(theirs);
        out << "  " << std::left << std::setw(22) << ours << std::right << " / " << std::left << std::setw(24)
            << theirs << std::right << std::setw(6) << a / b << "x\n";
    };
    out << "  respool time over raw Connector/C (wall time per call, medians; 1.00 = no overhead):\n";
    for (const char* n : {"/1", "/100", "/1000"}) {
        ratio(std::string("rows_text") + n, std::string("raw_text") + n);
        ratio(std::string("rows_prepared") + n, std::string("raw_prepared") + n);
        ratio(std::string("rows_prepared") + n, std::string("raw_prepared_each") + n);
    }
    ratio("rows_insert", "raw_insert");
    ratio("rows_insert", "raw_insert_each");
}

} // namespace

int main(int argc, char** argv) {
    try {
        (void)fixture();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_mariadb_rows: %s\n", e.what());
        return 1;
    }
    register_all();
    return respool_bench::run_main(argc, argv, summary);
}
