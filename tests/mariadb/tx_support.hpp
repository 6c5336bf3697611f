#pragma once
// Helpers shared by the transaction, row-lock and retry tests.
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

#include <boost/test/unit_test.hpp>

#include "test_server.hpp"

namespace respool_tx_test {

namespace mdb = respool::mariadb;
using namespace std::chrono_literals;

// Server options whose lock waits end after 10 s, so that a test that goes wrong fails instead of hanging.
inline mdb::ConnectOptions bounded_options() {
    auto options = respool_test::server_options();
    options.init_statements.push_back("SET SESSION innodb_lock_wait_timeout = 10");
    options.read_timeout = std::chrono::seconds(60); // no reply is awaited forever
    return options;
}

// KILLs a session from another one and waits (bounded) until the server has dropped it.
inline void kill_session(mdb::Connection& admin, unsigned long id) {
    admin.execute("KILL CONNECTION " + std::to_string(id)); // KILL is not preparable in every version
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (admin.query("SELECT COUNT(*) FROM information_schema.processlist WHERE id = ?",
                       static_cast<std::uint64_t>(id))[0]
               .get<int>(0) != 0) {
        BOOST_REQUIRE(std::chrono::steady_clock::now() < deadline);
        std::this_thread::sleep_for(1ms);
    }
}

// Seconds since `start`, as a double.
inline double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

} // namespace respool_tx_test
