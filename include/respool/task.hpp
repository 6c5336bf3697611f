#pragma once
#ifndef RESPOOL_TASK_HPP_INCLUDED
#define RESPOOL_TASK_HPP_INCLUDED
// Task: a move-only, type-erased `void()` job that an asynchronous acquire hands to an executor to run.
#include <cassert>
#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace respool {

// An executor for the generic asynchronous acquire is any callable that accepts a Task and runs it later, once, on a
// thread of its choosing (a thread pool's post, an event loop's queue). A Task that is destroyed without running gives
// back whatever it carries (a resource granted to a cancelled or abandoned waiter goes back to the pool).
class Task {
public:
    Task() noexcept = default;

    // Stores `f` in place when it is small and nothrow-movable (the pool's own deliveries are: posting a result
    // allocates nothing of respool's), on the heap otherwise (which may throw std::bad_alloc).
    template <class F>
        requires(!std::is_same_v<std::decay_t<F>, Task> && std::is_invocable_r_v<void, std::decay_t<F>&>)
    Task(F&& f) {
        using M = Model<std::decay_t<F>>;
        if constexpr (stored_in_place<M>)
            job_ = ::new (static_cast<void*>(buffer_)) M(std::forward<F>(f));
        else
            job_ = new M(std::forward<F>(f));
    }

    Task(Task&& other) noexcept { take_from(other); }
    Task& operator=(Task&& other) noexcept {
        if (this != &other) {
            Task incoming(std::move(other)); // first: `other` may live inside the job this Task ends
            end_job(std::exchange(job_, nullptr));
            take_from(incoming);
        }
        return *this;
    }
    ~Task() { end_job(std::exchange(job_, nullptr)); }

    // Runs the job; precondition: not empty. A Task runs at most once: it is empty afterwards, even if the job throws.
    // The job runs outside this Task's storage, so it may move, reassign or destroy this Task meanwhile (an executor
    // whose queue grows while a task in it runs).
    void operator()() {
        assert(job_ && "precondition: the task holds a job");
        alignas(std::max_align_t) unsigned char local[buffer_size];
        Concept* job = std::exchange(job_, nullptr);
        const bool on_heap = !in_place(job);
        if (!on_heap) {
            Concept* moved = job->move_into(local);
            job->~Concept();
            job = moved;
        }
        struct EndAfterRun {
            Concept* job;
            bool on_heap;
            ~EndAfterRun() {
                if (on_heap)
                    delete job;
                else
                    job->~Concept();
            }
        } end{job, on_heap};
        job->run();
    }

    explicit operator bool() const noexcept { return job_ != nullptr; }

private:
    struct Concept {
        virtual ~Concept() = default;
        virtual void run() = 0;
        // Move-constructs this job into `buffer` and returns it there; only for jobs stored in place.
        virtual Concept* move_into(void* buffer) noexcept = 0;
    };
    template <class F>
    struct Model final : Concept {
        template <class G>
        explicit Model(G&& g) : f(std::forward<G>(g)) {}
        void run() override { f(); }
        Concept* move_into(void* buffer) noexcept override {
            if constexpr (std::is_nothrow_move_constructible_v<F>) return ::new (buffer) Model(std::move(f));
            else return nullptr; // never called: such a job lives on the heap
        }
        F f;
    };

    static constexpr std::size_t buffer_size = 6 * sizeof(void*);
    template <class M>
    static constexpr bool stored_in_place = sizeof(M) <= buffer_size && alignof(M) <= alignof(std::max_align_t) &&
                                            std::is_nothrow_move_constructible_v<M>;

    bool in_place(const Concept* job) const noexcept {
        return static_cast<const void*>(job) == static_cast<const void*>(buffer_);
    }
    void end_job(Concept* job) noexcept {
        if (job == nullptr) return;
        if (in_place(job))
            job->~Concept();
        else
            delete job;
    }
    void take_from(Task& other) noexcept {
        Concept* job = std::exchange(other.job_, nullptr);
        if (job != nullptr && other.in_place(job)) {
            job_ = job->move_into(buffer_);
            job->~Concept();
        } else {
            job_ = job; // a heap job changes hands
        }
    }

    alignas(std::max_align_t) unsigned char buffer_[buffer_size];
    Concept* job_ = nullptr;
};

} // namespace respool
#endif // RESPOOL_TASK_HPP_INCLUDED
