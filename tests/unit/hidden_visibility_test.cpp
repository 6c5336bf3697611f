// Pools made by a shared library built with -fvisibility=hidden and pools made here, used from one thread: each side
// numbers its pools from 1 and keeps its own per-thread affinity cache, so the cache may name the other side's pool
// by the same id. A lease returned here of the library's 8-slot pool must never send a checkout of this program's
// 1-slot pool to slot 7. Nor may the library's code, called from a maintenance pass the program runs, lose track of
// that pass.
#define BOOST_TEST_MODULE hidden_visibility
#include <boost/test/unit_test.hpp>

#include <vector>

#include "hidden_visibility_lib.hpp"

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
