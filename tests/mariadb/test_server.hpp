#pragma once
// Where the MariaDB tests find their server: RESPOOL_MARIADB_URL, else the URL file the mariadb_server fixture wrote.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>

#include <respool/mariadb.hpp>

namespace respool_test {

inline std::string server_url() {
    if (const char* env = std::getenv("RESPOOL_MARIADB_URL"); env && *env) return env;
    std::ifstream in(RESPOOL_MARIADB_URL_FILE);
    std::string url;
    if (!(in >> url))
        throw std::runtime_error("no MariaDB server: set RESPOOL_MARIADB_URL or run the mariadb_server_start test (" +
                                 std::string(RESPOOL_MARIADB_URL_FILE) + " is missing)");
    return url;
}

inline respool::mariadb::ConnectOptions server_options() {
    return respool::mariadb::ConnectOptions::from_url(server_url());
}

// Polls `condition` (on this thread) until it holds or `limit` passes; whether it held. For waiting on the server's
// side of things (its process list, a session's state), which nothing here can be told of.
inline bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1)); // a poll interval: the condition decides
    }
    return true;
}

// A name no other test, and no concurrent run, uses: prefix_<pid>_<n>.
inline std::string unique_name(const std::string& prefix) {
    static std::atomic<int> counter{0};
    return prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter.fetch_add(1) + 1);
}

// Drops a table when the test ends, whatever happens.
class ScratchTable {
public:
    ScratchTable(respool::mariadb::Connection& admin, const std::string& prefix, const std::string& columns)
        : admin_(admin), name_(unique_name(prefix)) {
        admin_.execute("CREATE TABLE " + name_ + " (" + columns + ") ENGINE=InnoDB");
    }
    ~ScratchTable() {
        try {
            admin_.execute("DROP TABLE IF EXISTS " + name_);
        } catch (...) {
        }
    }
    ScratchTable(const ScratchTable&) = delete;
    ScratchTable& operator=(const ScratchTable&) = delete;
    const std::string& name() const { return name_; }

private:
    respool::mariadb::Connection& admin_;
    std::string name_;
};

// Creates a stored procedure `prefix_<pid>_<n>(parameters) body` and drops it when the test ends, whatever happens.
class ScratchProcedure {
public:
    ScratchProcedure(respool::mariadb::Connection& admin, const std::string& prefix, const std::string& parameters,
                     const std::string& body)
        : admin_(admin), name_(unique_name(prefix)) {
        admin_.execute("CREATE PROCEDURE " + name_ + "(" + parameters + ") " + body);
    }
    ~ScratchProcedure() {
        try {
            admin_.execute("DROP PROCEDURE IF EXISTS " + name_);
        } catch (...) {
        }
    }
    ScratchProcedure(const ScratchProcedure&) = delete;
    ScratchProcedure& operator=(const ScratchProcedure&) = delete;
    const std::string& name() const { return name_; }

private:
    respool::mariadb::Connection& admin_;
    std::string name_;
};

} // namespace respool_test
