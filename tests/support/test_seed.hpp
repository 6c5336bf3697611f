#pragma once
// The seed of a randomised concurrency test: RESPOOL_TEST_SEED when set, so that a failing run can be repeated
// (each test prints the seed it used), otherwise a fresh one.
#include <cstdint>
#include <cstdlib>
#include <random>

namespace respool_test {

inline std::uint64_t seed_from_env() {
    if (const char* s = std::getenv("RESPOOL_TEST_SEED")) return std::strtoull(s, nullptr, 10);
    return std::random_device{}();
}

} // namespace respool_test
