// A shared library built with -fvisibility=hidden that makes its own pools: its copies of respool's per-module state
// (pool ids, the per-thread affinity cache) are its own, as in a plugin; the error categories and the fork count
// are the program's.
#include "hidden_visibility_lib.hpp"

#ifdef RESPOOL_TEST_WITH_MARIADB
#include <respool/mariadb/error.hpp>
#endif

#include <chrono>

extern "C" __attribute__((visibility("default"))) PluginPool* plugin_make_pool(std::size_t size) {
    return new PluginPool({.pool_size = size, .max_overflow = 0});
}
extern "C" __attribute__((visibility("default"))) void plugin_destroy_pool(PluginPool* pool) { delete pool; }
extern "C" __attribute__((visibility("default"))) void plugin_close(CheckedPool* pool) { pool->close(); }
extern "C" __attribute__((visibility("default"))) void plugin_acquire_and_return(PluginPool* pool) {
    auto lease = pool->acquire();
}
__attribute__((visibility("default"))) std::error_code plugin_timeout_code() {
    PluginPool pool({.pool_size = 1, .max_overflow = 0});
    auto held = pool.acquire();
    std::error_code ec;
    auto none = pool.acquire_for(std::chrono::milliseconds(0), ec);
    return ec;
}
extern "C" __attribute__((visibility("default"))) void plugin_throw_timeout() {
    PluginPool pool({.pool_size = 1, .max_overflow = 0});
    auto held = pool.acquire();
    auto none = pool.acquire_for(std::chrono::milliseconds(0));
}
#ifdef RESPOOL_TEST_WITH_MARIADB
extern "C" __attribute__((visibility("default"))) const std::error_category* plugin_server_category() {
    return &respool::mariadb::server_category();
}
extern "C" __attribute__((visibility("default"))) const std::error_category* plugin_adapter_category() {
    return &respool::mariadb::error_category();
}
#endif
