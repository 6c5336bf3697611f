#pragma once
// AlwaysValid: the default validator, which accepts every resource and has no reset hook.

namespace respool {

struct AlwaysValid {
    template <class R>
    constexpr bool validate(R&) const noexcept {
        return true;
    }
};

} // namespace respool
