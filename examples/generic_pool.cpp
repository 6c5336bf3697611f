// A pool of any resource: here a toy "session" whose factory counts what it makes. Shows the options, checkout with
// a timeout, validation on checkout, reset on return, and the statistics.
#include <respool/respool.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Session {
    int id;
    int uses = 0;
};

// create() may run on several threads at once (each acquiring thread creates for itself): the count is atomic.
struct SessionFactory {
    std::shared_ptr<std::atomic<int>> made = std::make_shared<std::atomic<int>>(0);
    Session create() { return Session{++*made}; }
};

// Called on checkout when pre_ping is on (validate) and on return (reset).
struct SessionValidator {
    bool validate(Session& s) { return s.uses < 1000; } // a worn-out session is replaced
    bool reset(Session& s) {
        ++s.uses;
        return true;
    }
};

} // namespace

int main() {
    using namespace std::chrono_literals;
    respool::Pool<Session, SessionFactory, SessionValidator> pool({
        .pool_size = 8,   // kept: one per worker thread below
        .max_overflow = 2, // bursts beyond that get two more, destroyed again when they come back
        .timeout = 2s,
        .recycle = 1h,
        .pre_ping = true,
    });

    std::vector<std::jthread> workers;
    for (int t = 0; t < 8; ++t) {
        workers.emplace_back([&pool] {
            for (int i = 0; i < 10'000; ++i) {
                auto session = pool.acquire(); // waits up to 2 s when all ten are out
                session->uses += 0;            // ... use it; the lease's end gives it back
            }
        });
    }
    workers.clear(); // joins

    const respool::PoolStats st = pool.stats();
    std::printf("80000 checkouts by 8 threads: %zu sessions alive, created %llu, destroyed %llu, waits %llu\n", st.size,
                static_cast<unsigned long long>(st.created), static_cast<unsigned long long>(st.destroyed),
                static_cast<unsigned long long>(st.waits));

    try {
        std::vector<decltype(pool)::Lease> all;
        for (int i = 0; i < 10; ++i) all.push_back(pool.acquire());
        auto one_more = pool.acquire_for(10ms); // all ten are out: times out
    } catch (const respool::TimeoutError& e) {
        std::printf("an eleventh checkout: %s\n", e.what());
    }
}
