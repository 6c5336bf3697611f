// fork(): a child process never uses nor destroys what it inherited from its parent's pool; it starts afresh.
#define BOOST_TEST_MODULE fork
#include <boost/test/unit_test.hpp>

#include <respool/respool.hpp>

#include <sys/wait.h>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <vector>
#include <unistd.h>

#include "fake_resource.hpp"

using respool_test::Fake;
using respool_test::FakeFactory;
using respool_test::FakeValidator;
using ForkPool = respool::Pool<Fake, FakeFactory, FakeValidator>;

namespace {
// Runs `child` in a forked process; its exit code (0 for success) comes back.
template <class Fn>
int in_child(Fn child) {
    const pid_t pid = ::fork();
    if (pid == 0) ::_exit(child());
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}
} // namespace

BOOST_AUTO_TEST_CASE(a_child_gets_resources_of_its_own_and_never_destroys_the_parents) {
    FakeFactory factory;
    ForkPool pool({.pool_size = 2, .max_overflow = 0}, factory, FakeValidator{factory.script});
    auto held = pool.acquire(); // leased across the fork
    const int held_id = held->id;
    const int idle_id = pool.acquire()->id; // idle across the fork
    const int code = in_child([&] {
        int failures = 0;
        const int destroyed_before = factory.script->destroyed;
        {
            auto mine = pool.acquire();
            if (mine->id == held_id || mine->id == idle_id) ++failures; // must be new
            if (pool.stats().size != 1) ++failures;                     // the child's pool starts empty
        }
        held.reset();   // the inherited lease ends in the child: its resource must not be destroyed here
        pool.close();   // closes the child's own pool only
        if (factory.script->destroyed != destroyed_before + 1) ++failures; // only the child's own one
        return failures;
    });
    BOOST_TEST(code == 0);
    // The parent's pool is untouched: the same resources, none destroyed.
    BOOST_TEST(held->id == held_id);
    BOOST_TEST(pool.acquire()->id == idle_id);
    BOOST_TEST(factory.script->destroyed == 0);
}

BOOST_AUTO_TEST_CASE(an_asynchronous_grant_inherited_by_a_child_neither_hands_out_nor_destroys_the_parents_resource) {
    // An idle resource granted to an async acquire whose completion had not run at fork(): the child may run that
    // completion (its executor's queue was copied too); the resource stays the parent's.
    FakeFactory factory;
    ForkPool pool({.pool_size = 1, .max_overflow = 0}, factory, FakeValidator{factory.script});
    pool.acquire().reset(); // one idle resource
    std::vector<respool::Task> queued;
    bool got_lease = false, got_closed = false;
    pool.async_acquire([&](respool::Task task) { queued.push_back(std::move(task)); },
                       [&](std::exception_ptr error, ForkPool::Lease lease) {
                           got_lease = static_cast<bool>(lease);
                           try {
                               if (error) std::rethrow_exception(error);
                           } catch (const respool::PoolClosedError&) {
                               got_closed = true;
                           } catch (...) {
                           }
                       });
    BOOST_REQUIRE(queued.size() == 1u);
    const int code = in_child([&] {
        const int destroyed_before = factory.script->destroyed;
        const int validations_before = factory.script->validations;
        for (respool::Task& task : queued) task();
        int failures = 0;
        if (got_lease || !got_closed) ++failures;                                // not handed out here
        if (factory.script->destroyed != destroyed_before) ++failures;            // nor destroyed
        if (factory.script->validations != validations_before) ++failures;        // nor used at all
        return failures;
    });
    BOOST_TEST(code == 0);
    for (respool::Task& task : queued) task(); // the parent's completion: the resource, untouched
    BOOST_TEST(got_lease);
    BOOST_TEST(factory.script->destroyed == 0);
}

BOOST_AUTO_TEST_CASE(a_child_that_ends_an_inherited_pool_leaves_nothing_for_a_leak_checker_to_report) {
    FakeFactory factory;
    auto pool = std::make_unique<ForkPool>(respool::PoolOptions{.pool_size = 2, .max_overflow = 0}, factory,
                                           FakeValidator{factory.script});
    auto held = pool->acquire(); // leased across the fork
    pool->acquire().reset();     // idle across the fork
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
        pool->acquire().reset(); // the child starts afresh: the parent's pool state is given up, never freed
        held.reset();
        pool.reset();
        // A normal exit: thread-local and static destructors run, then LeakSanitizer (in ASan builds) checks, and
        // would make the exit code 23 had it found the abandoned state unreachable.
        std::exit(0);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    BOOST_TEST(WIFEXITED(status));
    BOOST_TEST(WEXITSTATUS(status) == 0);
    BOOST_TEST(factory.script->destroyed == 0);
}

BOOST_AUTO_TEST_CASE(a_child_cannot_detach_a_lease_it_inherited) {
    FakeFactory factory;
    ForkPool pool({.pool_size = 1, .max_overflow = 0}, factory, FakeValidator{factory.script});
    auto held = pool.acquire(); // leased across the fork
    const int held_id = held->id;
    const int code = in_child([&] {
        int failures = 1;
        try {
            Fake taken = held.detach(); // would hand the child the parent's resource to use and destroy
            (void)taken;
        } catch (const std::logic_error&) {
            failures = 0;
        }
        if (!held || held->id != held_id) ++failures; // the lease still holds it, and forgets it when it ends
        held.reset();
        if (factory.script->destroyed != 0) ++failures;
        return failures;
    });
    BOOST_TEST(code == 0);
    BOOST_TEST(held->id == held_id); // the parent's lease is untouched
    BOOST_TEST(factory.script->destroyed == 0);
}
