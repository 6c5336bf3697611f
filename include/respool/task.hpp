#pragma once
#ifndef RESPOOL_TASK_HPP_INCLUDED
#define RESPOOL_TASK_HPP_INCLUDED
// Task: a move-only, type-erased `void()` job that an asynchronous acquire hands to an executor to run.
#include <cassert>
#include <memory>
#include <type_traits>
#include <utility>

namespace respool {

// An executor for the generic asynchronous acquire is any callable that accepts a Task and runs it later, once, on a
// thread of its choosing (a thread pool's post, an event loop's queue). A Task that is destroyed without running gives
// back whatever it carries (a resource granted to a cancelled or abandoned waiter goes back to the pool).
class Task {
public:
    Task() noexcept = default;

    template <class F>
        requires(!std::is_same_v<std::decay_t<F>, Task> && std::is_invocable_r_v<void, std::decay_t<F>&>)
    Task(F&& f) : impl_(std::make_unique<Model<std::decay_t<F>>>(std::forward<F>(f))) {}

    Task(Task&&) noexcept = default;
    Task& operator=(Task&&) noexcept = default;

    // Runs the job; precondition: not empty. A Task runs at most once.
    void operator()() {
        assert(impl_ && "precondition: the task holds a job");
        std::exchange(impl_, nullptr)->run();
    }

    explicit operator bool() const noexcept { return impl_ != nullptr; }

private:
    struct Concept {
        virtual ~Concept() = default;
        virtual void run() = 0;
    };
    template <class F>
    struct Model final : Concept {
        template <class G>
        explicit Model(G&& g) : f(std::forward<G>(g)) {}
        void run() override { f(); }
        F f;
    };
    std::unique_ptr<Concept> impl_;
};

} // namespace respool
#endif // RESPOOL_TASK_HPP_INCLUDED
