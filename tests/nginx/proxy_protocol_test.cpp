// PROXY protocol: behind nginx the server sees nginx's address for every session, unless nginx sends a PROXY
// header (`proxy_protocol on;`) and the server accepts it from nginx (proxy_protocol_networks).
#define BOOST_TEST_MODULE nginx_proxy_protocol
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <string>

#include "nginx_lb.hpp"

using namespace respool_test;

namespace {

// "127.0.0.1:<port>" of this end of the connection's socket.
std::string local_address(const mdb::Connection& c) {
    sockaddr_in addr{};
    socklen_t len = sizeof addr;
    BOOST_REQUIRE(::getsockname(mysql_get_socket(c.native_handle()), reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    char text[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &addr.sin_addr, text, sizeof text);
    return std::string(text) + ":" + std::to_string(ntohs(addr.sin_port));
}

// The client address the server records for the session (SHOW PROCESSLIST's Host).
std::string address_seen_by_server(mdb::Connection& c) {
    return c.query("SELECT host FROM information_schema.processlist WHERE id = CONNECTION_ID()")
        .at(0)
        .get<std::string>(0);
}

mdb::ConnectOptions proxy_protocol_options() {
    auto o = mdb::ConnectOptions::from_url(read_line(std::string(RESPOOL_NGINX_LB_DIR) + "/proxy_protocol_url"));
    o.connect_timeout = 2s;
    o.read_timeout = 10s;
    return o;
}

} // namespace

BOOST_AUTO_TEST_CASE(with_proxy_protocol_the_server_sees_the_clients_own_address) {
    auto pool = mdb::make_pool(proxy_protocol_options(), {.pool_size = 2, .max_overflow = 0, .timeout = 5s});
    auto lease = pool.acquire();
    const std::string client = local_address(*lease), seen = address_seen_by_server(*lease);
    BOOST_TEST_MESSAGE("proxy_protocol on: client " << client << ", the server sees " << seen);
    BOOST_TEST(seen == client);
}

BOOST_AUTO_TEST_CASE(without_it_the_server_sees_nginx) {
    mdb::Connection c(lb_options());
    const std::string client = local_address(c), seen = address_seen_by_server(c);
    BOOST_TEST_MESSAGE("proxy_protocol off: client " << client << ", the server sees " << seen);
    BOOST_TEST(seen != client);
}
