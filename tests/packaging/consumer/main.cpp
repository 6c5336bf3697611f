// What a first-time user writes: a pool of ints. Every packaging and single-header consumer builds this file, so it
// touches the throwing, error_code and stop_token forms and the Lease operations, which instantiates most of the
// pool's templates under the consumer's warning flags.
#include <respool/respool.hpp>

#include <chrono>
#include <cstdint>
#include <iostream>
#include <stop_token>
#include <system_error>

namespace {

// Called from the acquiring thread only; this program acquires from one thread, so a plain counter is enough.
struct CountingFactory {
    int next = 0;
    int create() { return ++next; }
};

// A validator with the optional reset hook, so that a consumer build also checks the hook's detection.
struct KeepPositive {
    bool validate(int& value) const noexcept { return value > 0; }
    bool reset(int& value) const noexcept { return value > 0; }
};

} // namespace

int main() {
    using IntPool = respool::Pool<int, CountingFactory, KeepPositive>;
    IntPool pool(respool::PoolOptions{.pool_size = 2, .max_overflow = 1, .timeout = std::chrono::milliseconds{50},
                                      .pre_ping = true});

    int sum = 0;
    {
        IntPool::Lease first = pool.acquire();
        auto second = pool.acquire_for(std::chrono::milliseconds{10});
        std::stop_source stop;
        auto third = pool.acquire(stop.get_token());
        sum = *first + *second + *third;

        // The pool is full: try_acquire gives an empty lease and the error_code form reports the timeout.
        if (pool.try_acquire()) return 1;
        std::error_code ec;
        auto none = pool.acquire_for(std::chrono::milliseconds{0}, ec);
        if (none || ec != respool::errc::timeout) return 2;

        third.invalidate();     // destroyed instead of returned
        int kept = second.detach(); // the pool forgets it
        sum += kept;
    }

    const respool::PoolStats stats = pool.stats();
    pool.close();
    bool closed = false;
    try {
        (void)pool.acquire();
    } catch (const respool::PoolClosedError&) {
        closed = true;
    }

    std::cout << "respool consumer: sum=" << sum << " created=" << stats.created << " idle=" << stats.idle
              << " timeouts=" << stats.timeouts << " closed=" << (closed ? "yes" : "no") << '\n';
    return 0;
}
