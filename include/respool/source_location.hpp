#pragma once
#ifndef RESPOOL_SOURCE_LOCATION_HPP_INCLUDED
#define RESPOOL_SOURCE_LOCATION_HPP_INCLUDED
// SourceLocation: where an acquire was called, for leak reports. std::source_location is not available with Clang 14
// and libstdc++ 12, so this is built on the compiler builtins both have.
#include <cstdint>

namespace respool {

struct SourceLocation {
    const char* file = "";
    const char* function = "";
    std::uint_least32_t line = 0;

    // The caller's location, when used as a default argument.
    static constexpr SourceLocation current(const char* file = __builtin_FILE(),
                                            const char* function = __builtin_FUNCTION(),
                                            std::uint_least32_t line = __builtin_LINE()) noexcept {
        return SourceLocation{file, function, line};
    }
};

} // namespace respool
#endif // RESPOOL_SOURCE_LOCATION_HPP_INCLUDED
