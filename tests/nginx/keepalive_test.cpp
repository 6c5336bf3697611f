// Keepalive below nginx's proxy_timeout: idle connections survive 3 × proxy_timeout without being replaced.
#define BOOST_TEST_MODULE nginx_keepalive
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "nginx_lb.hpp"

using namespace respool_test;

namespace {

constexpr auto proxy_timeout = 2s; // as the fixture starts nginx

template <class Pool>
std::vector<SessionId> sessions_of_all(Pool& pool, std::size_t n) {
    std::vector<typename Pool::Lease> leases;
    std::vector<SessionId> out;
    for (std::size_t i = 0; i < n; ++i) {
        leases.push_back(pool.acquire());
        out.push_back(session_of(*leases.back()));
    }
    std::sort(out.begin(), out.end());
    return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(keepalive_keeps_idle_connections_through_three_proxy_timeouts) {
    // Through make_pool(url): the keys a deployment would write. keepalive 1 s is half the proxy's timeout; the
    // validator pings a connection idle 0.5 s or more, so every keepalive pass (at 0.8-1.25 s idle) pings.
    auto pool = mdb::make_pool(lb_url() + "?connect_timeout=2&read_timeout=10&pool_size=4&max_overflow=0"
                                          "&pool_timeout=5&pool_pre_ping=true&pool_keepalive=1&pool_ping_after=0.5"
                                          "&pool_order=fifo");
    BOOST_REQUIRE(pool.options().keepalive == 1000ms);
    BOOST_REQUIRE(pool.options().order == respool::CheckoutOrder::fifo);

    const auto before = sessions_of_all(pool, 4);
    const std::uint64_t pings_before = admin_commands();
    std::this_thread::sleep_for(3 * proxy_timeout);
    const std::uint64_t pings = admin_commands() - pings_before;
    const auto after = sessions_of_all(pool, 4);

    const auto s = pool.stats();
    BOOST_TEST_MESSAGE("keepalive 1 s, " << 3 * proxy_timeout.count() << " s idle behind proxy_timeout "
                                         << proxy_timeout.count() << " s: " << pings << " keepalive pings for 4 "
                                         << "connections, created " << s.created << ", destroyed " << s.destroyed);
    for (const auto& id : after) BOOST_TEST_MESSAGE("  session " << id.id << " on port " << id.port);
    BOOST_TEST(after == before, "the same server sessions before and after the idle period");
    BOOST_TEST(s.created == 4u);
    BOOST_TEST(s.destroyed == 0u);
    BOOST_TEST(s.validation_failures == 0u);
    BOOST_TEST(pings >= 4u * 4u); // each connection pinged about once a second
}
