#pragma once
// What hidden_visibility_test and its shared library share: the resource and the pool type.
#include <respool/respool.hpp>

#include <cstddef>

struct PluginResource {
    int id = 0;
};
struct PluginFactory {
    int next = 0;
    PluginResource create() { return PluginResource{++next}; }
};
using PluginPool = respool::Pool<PluginResource, PluginFactory>;

extern "C" PluginPool* plugin_make_pool(std::size_t size);
extern "C" void plugin_destroy_pool(PluginPool* pool);
