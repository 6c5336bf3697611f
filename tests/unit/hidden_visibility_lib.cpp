// A shared library built with -fvisibility=hidden that makes its own pools: its copies of respool's per-process
// state (pool ids, the per-thread affinity cache) are its own, as in a plugin.
#include "hidden_visibility_lib.hpp"

extern "C" __attribute__((visibility("default"))) PluginPool* plugin_make_pool(std::size_t size) {
    return new PluginPool({.pool_size = size, .max_overflow = 0});
}
extern "C" __attribute__((visibility("default"))) void plugin_destroy_pool(PluginPool* pool) { delete pool; }
extern "C" __attribute__((visibility("default"))) void plugin_close(CheckedPool* pool) { pool->close(); }
