// respool's headers compile after macros that widely used headers define: Xlib's Status, Qt's keywords (emit, slots,
// signals, foreach, forever), function-like min/max (windows.h) and check (AssertMacros.h).
#define Status int
#define emit
#define slots
#define signals public
#define foreach(variable, container) for (variable : container)
#define forever for (;;)
#define min(a, b) ((a) < (b) ? (a) : (b))
#define max(a, b) ((a) < (b) ? (b) : (a))
#define check(assertion, message) ((void)(assertion))

#include <respool/respool.hpp>
#ifdef RESPOOL_TEST_WITH_MARIADB
#include <respool/mariadb.hpp>
#endif

#undef Status
#undef emit
#undef slots
#undef signals
#undef foreach
#undef forever
#undef min
#undef max
#undef check

#define BOOST_TEST_MODULE foreign_macros
#include <boost/test/unit_test.hpp>

namespace {
struct Counter {
    int next = 0;
    int create() { return ++next; }
};
} // namespace

BOOST_AUTO_TEST_CASE(a_pool_built_after_those_macros_works) {
    respool::Pool<int, Counter> pool({.pool_size = 1, .max_overflow = 0});
    BOOST_TEST(*pool.acquire() == 1);
    BOOST_TEST(pool.stats().created == 1u);
}
