#pragma once
// Running a coroutine to its end on an io_context in a MariaDB async test, and killing a session from another one.
#include <utility> // before Asio (Boost 1.74 under GCC 12)

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <exception>
#include <stdexcept>
#include <string>
#include <thread>

#include <respool/mariadb_asio.hpp>

#include "test_server.hpp"

namespace respool_test {

// Runs `work` on `io` (this thread) until the io_context has nothing left to do; rethrows what it threw.
inline void run_on(boost::asio::io_context& io, boost::asio::awaitable<void> work) {
    std::exception_ptr failure;
    bool done = false;
    boost::asio::co_spawn(io, std::move(work), [&](std::exception_ptr e) {
        failure = e;
        done = true;
    });
    io.restart();
    io.run();
    if (failure) std::rethrow_exception(failure);
    if (!done) throw std::runtime_error("the coroutine did not finish");
}

// KILLs a session from a blocking admin connection and waits (bounded) until the server has dropped it.
inline void kill_session(respool::mariadb::Connection& admin, unsigned long id) {
    admin.execute("KILL CONNECTION " + std::to_string(id));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (admin.query("SELECT COUNT(*) FROM information_schema.processlist WHERE id = ?",
                       static_cast<std::uint64_t>(id))[0]
               .get<int>(0) != 0) {
        if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("KILL did not take effect");
        std::this_thread::yield();
    }
}

} // namespace respool_test
