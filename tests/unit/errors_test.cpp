// respool::errc, its category and the exception hierarchy.
#define BOOST_TEST_MODULE errors
#include <boost/test/unit_test.hpp>

#include <respool/respool.hpp>

#include <string>
#include <system_error>

BOOST_AUTO_TEST_CASE(errc_values_convert_to_error_codes_of_the_respool_category) {
    const std::error_code ec = respool::errc::timeout;
    BOOST_TEST(std::string(ec.category().name()) == "respool");
    BOOST_TEST(ec.message().find("timed out") != std::string::npos);
    BOOST_TEST((ec == respool::errc::timeout));
    BOOST_TEST((ec != respool::errc::pool_closed));
    BOOST_TEST(respool::make_error_code(respool::errc::create_failed).message().find("creat") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(exceptions_derive_from_respool_error_and_system_error) {
    try {
        throw respool::PoolClosedError();
    } catch (const std::system_error& e) {
        BOOST_TEST((e.code() == respool::errc::pool_closed));
        BOOST_TEST(dynamic_cast<const respool::Error*>(&e) != nullptr);
    }
    BOOST_CHECK_THROW(throw respool::TimeoutError(), respool::Error);
    BOOST_CHECK_THROW(throw respool::CancelledError(), respool::Error);
}
