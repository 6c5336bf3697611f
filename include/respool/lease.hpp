#pragma once
#ifndef RESPOOL_LEASE_HPP_INCLUDED
#define RESPOOL_LEASE_HPP_INCLUDED
// Lease: the move-only handle to a resource checked out of a pool. Ending it gives the resource back.
#include <cassert>
#include <cstdint>
#include <memory>
#include <utility>

namespace respool {

// `Owner` is the pool's shared state; users name this type as Pool<...>::Lease.
// A Lease is used by one thread at a time, but may end on another thread than the one that acquired it.
template <class Owner>
class Lease {
public:
    using resource_type = typename Owner::resource_type;

    // An empty lease: holds nothing, converts to false.
    Lease() noexcept = default;

    Lease(Lease&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)), slot_(other.slot_) {}

    // Gives back what this lease held, then takes over `other`'s resource.
    Lease& operator=(Lease&& other) noexcept {
        if (this != &other) {
            reset();
            owner_ = std::exchange(other.owner_, nullptr);
            slot_ = other.slot_;
        }
        return *this;
    }

    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;

    // Gives the resource back (see reset()).
    ~Lease() { reset(); }

    // The resource; precondition: the lease is not empty.
    resource_type* operator->() const noexcept {
        assert(owner_ && "precondition: the lease holds a resource");
        return get();
    }
    resource_type& operator*() const noexcept {
        assert(owner_ && "precondition: the lease holds a resource");
        return *get();
    }

    // The resource, or nullptr when the lease is empty (as std::unique_ptr::get).
    resource_type* get() const noexcept { return owner_ ? std::addressof(owner_->resource(slot_)) : nullptr; }

    explicit operator bool() const noexcept { return owner_ != nullptr; }

    // Gives the resource back now and leaves the lease empty. Never throws; runs the validator's reset hook, and may
    // hand the resource to a waiter or destroy it (on this thread) when it is too old, invalidated or above pool_size.
    void reset() noexcept {
        if (owner_) std::exchange(owner_, nullptr)->check_in(slot_, false);
    }

    // Destroys the resource (on this thread) instead of giving it back, and leaves the lease empty; its room is
    // free for a new one. For a resource found broken while in use.
    void invalidate() noexcept {
        if (owner_) std::exchange(owner_, nullptr)->check_in(slot_, true);
    }

    // Takes the resource out of the pool for good: the pool forgets it (its room is free for another) and the
    // caller owns it. Precondition: the lease is not empty. Throws what moving the resource throws, and
    // std::logic_error in a child process after fork() (the resource is the parent's); the lease then still holds it.
    resource_type detach() {
        assert(owner_ && "precondition: the lease holds a resource");
        resource_type out = owner_->detach(slot_); // a throwing move leaves the lease holding the resource
        owner_ = nullptr;
        return out;
    }

private:
    friend Owner;
    Lease(Owner* owner, std::uint32_t slot) noexcept : owner_(owner), slot_(slot) {}

    Owner* owner_ = nullptr;
    std::uint32_t slot_ = 0;
};

} // namespace respool
#endif // RESPOOL_LEASE_HPP_INCLUDED
