#pragma once
#ifndef RESPOOL_POLICIES_ALWAYS_VALID_HPP_INCLUDED
#define RESPOOL_POLICIES_ALWAYS_VALID_HPP_INCLUDED
// AlwaysValid: the default validator, which accepts every resource and has no reset hook.

namespace respool {

struct AlwaysValid {
    template <class R>
    constexpr bool validate(R&) const noexcept {
        return true;
    }
};

} // namespace respool
#endif // RESPOOL_POLICIES_ALWAYS_VALID_HPP_INCLUDED
