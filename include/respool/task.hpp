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
//
// A Task is one pointer: moving it never moves the job. A callable given to it is kept on the heap; a Task::Job lives
// wherever its owner keeps it (the pool's deliveries live in the acquire they complete, so handing a result to an
// executor allocates nothing of respool's).
class Task {
public:
    // A job that outlives the Task referring to it. The Task calls exactly one of these, exactly once.
    class Job {
    public:
        // Runs the job; the Task has already forgotten it (so the job may move or destroy that Task meanwhile).
        virtual void run_once() = 0;
        // The Task ends without running it.
        virtual void discard() noexcept = 0;

    protected:
        Job() = default;
        Job(const Job&) = default;
        Job& operator=(const Job&) = default;
        ~Job() = default;
    };

    Task() noexcept = default;

    // Keeps `f` on the heap (may throw std::bad_alloc).
    template <class F>
        requires(!std::is_same_v<std::decay_t<F>, Task> && !std::is_base_of_v<Job, std::decay_t<F>> &&
                 std::is_invocable_r_v<void, std::decay_t<F>&>)
    Task(F&& f) : job_(new Callable<std::decay_t<F>>(std::forward<F>(f))) {}

    // Refers to `job`, which must stay alive until the Task runs or discards it.
    explicit Task(Job& job) noexcept : job_(&job) {}

    Task(Task&& other) noexcept : job_(std::exchange(other.job_, nullptr)) {}
    Task& operator=(Task&& other) noexcept {
        // Takes the incoming job before ending its own: `other` may live inside the job this Task ends.
        Job* ending = std::exchange(job_, std::exchange(other.job_, nullptr));
        if (ending != nullptr) ending->discard();
        return *this;
    }
    ~Task() {
        if (Job* job = std::exchange(job_, nullptr)) job->discard();
    }

    // Runs the job; precondition: not empty. A Task runs at most once: it is empty afterwards, even if the job throws.
    void operator()() {
        assert(job_ && "precondition: the task holds a job");
        std::exchange(job_, nullptr)->run_once();
    }

    explicit operator bool() const noexcept { return job_ != nullptr; }

private:
    template <class F>
    struct Callable final : Job {
        template <class G>
        explicit Callable(G&& g) : f(std::forward<G>(g)) {}
        void run_once() override {
            const std::unique_ptr<Callable> ends_after_run(this); // even if f throws
            f();
        }
        void discard() noexcept override { delete this; }
        F f;
    };

    Job* job_ = nullptr;
};

} // namespace respool
#endif // RESPOOL_TASK_HPP_INCLUDED
