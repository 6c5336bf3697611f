// Pool metrics in Prometheus' text format, named like OpenTelemetry's db.client.connection.* metrics: a pool with the
// PoolMetrics events policy, some contended work, then the scrape output an HTTP /metrics handler would serve.
#include <respool/respool.hpp>

#include <atomic>
#include <chrono>
#include <iostream>
#include <thread>
#include <vector>

namespace {
struct Session {
    int id;
};
struct SessionFactory {
    Session create() { // may run on several threads at once
        static std::atomic<int> made{0};
        return Session{++made};
    }
};
using MeteredPool = respool::Pool<Session, SessionFactory, respool::AlwaysValid, respool::policies::SteadyClock,
                                  respool::policies::PoolMetrics>;
} // namespace

int main() {
    using namespace std::chrono_literals;
    respool::policies::PoolMetrics metrics; // our copy reads what the pool's copy records
    const respool::PoolOptions options{.pool_size = 2, .max_overflow = 1, .timeout = 5ms};
    MeteredPool pool(options, SessionFactory{}, respool::AlwaysValid{}, {}, metrics);

    std::vector<std::jthread> workers;
    for (int t = 0; t < 6; ++t) {
        workers.emplace_back([&pool] {
            for (int i = 0; i < 200; ++i) {
                try {
                    auto session = pool.acquire();
                    std::this_thread::sleep_for(50us); // hold it a while, so that others wait
                } catch (const respool::TimeoutError&) {
                    // counted in db_client_connection_timeouts_total
                }
            }
        });
    }
    workers.clear();

    metrics.write_prometheus(std::cout, pool.stats(), pool.options(), "example");
}
