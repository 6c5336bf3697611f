// fork() against the real server: the child gets connections of its own; after it exits, the parent's pooled
// connections still answer, with the same server connection ids.
#define BOOST_TEST_MODULE mariadb_fork
#include <boost/test/unit_test.hpp>

#include <respool/mariadb.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <set>

#include "test_server.hpp"

BOOST_AUTO_TEST_CASE(the_child_connects_afresh_and_the_parents_sessions_survive) {
    auto pool = respool::mariadb::make_pool(respool_test::server_options(),
                                            respool::PoolOptions{.pool_size = 2, .max_overflow = 0});
    std::set<long long> parent_ids;
    {
        auto a = pool.acquire();
        auto b = pool.acquire();
        for (auto* c : {&*a, &*b})
            for (const auto& row : c->query("SELECT CONNECTION_ID()")) parent_ids.insert(row.get<long long>(0));
    }
    BOOST_REQUIRE(parent_ids.size() == 2u);

    const pid_t pid = ::fork();
    if (pid == 0) {
        int code = 0;
        try {
            auto mine = pool.acquire();
            for (const auto& row : mine->query("SELECT CONNECTION_ID()"))
                if (parent_ids.count(row.get<long long>(0))) code = 1; // used an inherited session
        } catch (...) {
            code = 2;
        }
        pool.close(); // closes the child's own connection; closing an inherited one would end the parent's session
        ::_exit(code);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    BOOST_TEST(WIFEXITED(status));
    BOOST_TEST(WEXITSTATUS(status) == 0);

    std::set<long long> after;
    auto a = pool.acquire();
    auto b = pool.acquire();
    for (auto* c : {&*a, &*b})
        for (const auto& row : c->query("SELECT CONNECTION_ID()")) after.insert(row.get<long long>(0));
    BOOST_TEST(after == parent_ids);
    BOOST_TEST(pool.stats().created == 2u);
}
