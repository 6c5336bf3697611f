#pragma once
// What the MariaDB benchmarks share: the server they measure against and raw Connector/C connections made as the
// adapter makes its own, so that a raw contender differs from respool only in what runs on the client.
#include <mysql.h>

#include <respool/mariadb.hpp>

#include <cstdlib>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>

namespace respool_bench {

// RESPOOL_MARIADB_URL, or empty when it is not set (tools/bench_mariadb.sh sets it).
inline std::string server_url() {
    const char* env = std::getenv("RESPOOL_MARIADB_URL");
    return env ? env : "";
}

struct RawCloser {
    void operator()(MYSQL* m) const noexcept { mysql_close(m); }
};
using RawConnection = std::unique_ptr<MYSQL, RawCloser>;

// A MYSQL* connected as the adapter connects (reconnect off, its connect timeout and character set). Throws
// std::runtime_error with the client's message.
inline RawConnection raw_connect(const respool::mariadb::ConnectOptions& o) {
    RawConnection m(mysql_init(nullptr));
    if (!m) throw std::bad_alloc();
    my_bool reconnect = 0;
    mysql_optionsv(m.get(), MYSQL_OPT_RECONNECT, &reconnect);
    unsigned int connect_timeout = static_cast<unsigned int>(o.connect_timeout.count());
    mysql_optionsv(m.get(), MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
    mysql_optionsv(m.get(), MYSQL_SET_CHARSET_NAME, o.charset.c_str());
    auto or_null = [](const std::string& s) { return s.empty() ? nullptr : s.c_str(); };
    if (!mysql_real_connect(m.get(), or_null(o.host), o.user.c_str(), o.password.c_str(), or_null(o.database), o.port,
                            or_null(o.unix_socket), 0))
        throw std::runtime_error(std::string("connecting: ") + mysql_error(m.get()));
    return m;
}

// SELECT 1 and its one value, read as the adapter reads it (mysql_store_result). false on any failure.
inline bool raw_select1(MYSQL* m) {
    static constexpr char sql[] = "SELECT 1";
    if (mysql_real_query(m, sql, sizeof sql - 1) != 0) return false;
    MYSQL_RES* res = mysql_store_result(m);
    if (!res) return false;
    const MYSQL_ROW row = mysql_fetch_row(res);
    const bool ok = row && row[0] && row[0][0] == '1';
    mysql_free_result(res);
    return ok;
}

} // namespace respool_bench
