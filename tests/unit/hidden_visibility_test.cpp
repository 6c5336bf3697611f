// Pools made by a shared library built with -fvisibility=hidden and pools made here, used from one thread: each side
// numbers its pools from 1 and keeps its own per-thread affinity cache, so the cache may name the other side's pool
// by the same id. A lease returned here of the library's 8-slot pool must never send a checkout of this program's
// 1-slot pool to slot 7. Nor may the library's code, called from a maintenance pass the program runs, lose track of
// that pass. What must be one per process is: error codes made by the library's code compare equal to respool::errc
// values spelled here, and the library's code sees a fork() although it made no pool before it.
#define BOOST_TEST_MODULE hidden_visibility
#include <boost/test/unit_test.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

#include "hidden_visibility_lib.hpp"

#ifdef RESPOOL_TEST_WITH_MARIADB
#include <respool/mariadb/error.hpp>
#endif

// First in this file: the library must not have made a pool of its own yet, as a plugin that only uses the
// program's pools has not.
BOOST_AUTO_TEST_CASE(in_a_forked_child_the_librarys_code_uses_the_childs_pool_and_gives_its_resource_back) {
    PluginPool parents({.pool_size = 1, .max_overflow = 0});
    parents.acquire().reset(); // the program has made and used a pool before the fork
    const pid_t pid = ::fork();
    if (pid == 0) {
        int failures = 0;
        {
            PluginPool own({.pool_size = 1, .max_overflow = 0});
            for (int round = 0; round < 3; ++round) plugin_acquire_and_return(&own);
            const auto st = own.stats();
            if (st.created != 1 || st.size != 1 || st.idle != 1 || st.in_use != 0) {
                std::fprintf(stderr, "child: created %zu size %zu idle %zu in_use %zu (want 1 1 1 0)\n",
                             static_cast<std::size_t>(st.created), st.size, st.idle, st.in_use);
                ++failures;
            }
            own.close();
            if (own.stats().destroyed != 1) {
                std::fprintf(stderr, "child: destroyed %zu after close (want 1)\n",
                             static_cast<std::size_t>(own.stats().destroyed));
                ++failures;
            }
        }
        ::_exit(failures);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    BOOST_TEST(parents.stats().created == 1u); // the parent's pool is untouched
}

BOOST_AUTO_TEST_CASE(error_codes_made_by_the_librarys_code_compare_equal_to_respools_errc_here) {
    const std::error_code ec = plugin_timeout_code();
    BOOST_TEST(ec.value() == static_cast<int>(respool::errc::timeout));
    BOOST_TEST(&ec.category() == &respool::error_category());
    BOOST_TEST((ec == respool::errc::timeout));
    bool caught = false;
    try {
        plugin_throw_timeout();
    } catch (const respool::TimeoutError& e) {
        caught = true;
        BOOST_TEST((e.code() == respool::errc::timeout));
    }
    BOOST_TEST(caught);
#ifdef RESPOOL_TEST_WITH_MARIADB
    BOOST_TEST(plugin_server_category() == &respool::mariadb::server_category());
    BOOST_TEST(plugin_adapter_category() == &respool::mariadb::error_category());
#endif
}

BOOST_AUTO_TEST_CASE(pools_of_a_hidden_visibility_library_and_of_the_program_keep_their_slots_apart) {
    PluginPool* plugin = plugin_make_pool(8); // the library's first pool
    {
        std::vector<PluginPool::Lease> leases;
        for (int i = 0; i < 8; ++i) leases.push_back(plugin->acquire());
        for (auto& lease : leases) lease.reset(); // the last one returned stays parked for this thread
    }
    {
        PluginPool own({.pool_size = 1, .max_overflow = 0}); // this program's first pool
        for (int round = 0; round < 3; ++round) {
            auto lease = own.acquire();
            BOOST_TEST(lease->id == 1);
        }
        BOOST_TEST(own.stats().created == 1u);
        BOOST_TEST(own.stats().size == 1u);
    }
    BOOST_TEST(plugin->stats().size == 8u);
    BOOST_TEST(plugin->stats().in_use == 0u);
    plugin_destroy_pool(plugin);
}

BOOST_AUTO_TEST_CASE(close_run_by_the_librarys_code_inside_a_pass_the_program_runs_does_not_wait_for_that_pass) {
    using namespace std::chrono_literals;
    respool::policies::ManualClock clock;
    ScriptedCheck check;
    CheckedPool pool({.pool_size = 1, .max_overflow = 0, .keepalive = 100ms, .maintenance_thread = false},
                     PluginFactory{}, check, clock);
    *check.on_check = [&] { plugin_close(&pool); };
    pool.acquire().reset();
    clock.advance(200ms);
    pool.maintain(); // its check closes the pool through the library
    BOOST_TEST(pool.stats().size == 0u);
    BOOST_TEST(pool.stats().destroyed == 1u);
}
