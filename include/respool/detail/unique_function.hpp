#pragma once
#ifndef RESPOOL_DETAIL_UNIQUE_FUNCTION_HPP_INCLUDED
#define RESPOOL_DETAIL_UNIQUE_FUNCTION_HPP_INCLUDED
// A move-only type-erased callable (std::move_only_function arrives only in C++23).
#include <cassert>
#include <memory>
#include <type_traits>
#include <utility>

namespace respool::detail {

template <class Signature>
class UniqueFunction;

template <class R, class... Args>
class UniqueFunction<R(Args...)> {
public:
    UniqueFunction() noexcept = default;

    template <class F>
        requires(!std::is_same_v<std::decay_t<F>, UniqueFunction> && std::is_invocable_r_v<R, std::decay_t<F>&, Args...>)
    UniqueFunction(F&& f) : impl_(std::make_unique<Model<std::decay_t<F>>>(std::forward<F>(f))) {}

    UniqueFunction(UniqueFunction&&) noexcept = default;
    UniqueFunction& operator=(UniqueFunction&&) noexcept = default;

    R operator()(Args... args) {
        assert(impl_ && "precondition: holds a callable");
        return impl_->call(std::forward<Args>(args)...);
    }

    explicit operator bool() const noexcept { return impl_ != nullptr; }

private:
    struct Concept {
        virtual ~Concept() = default;
        virtual R call(Args... args) = 0;
    };
    template <class F>
    struct Model final : Concept {
        template <class G>
        explicit Model(G&& g) : f(std::forward<G>(g)) {}
        R call(Args... args) override { return f(std::forward<Args>(args)...); }
        F f;
    };
    std::unique_ptr<Concept> impl_;
};

} // namespace respool::detail
#endif // RESPOOL_DETAIL_UNIQUE_FUNCTION_HPP_INCLUDED
