#pragma once
// What hidden_visibility_test and its shared library share: the resource and the pool type.
#include <respool/respool.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <system_error>

struct PluginResource {
    int id = 0;
};
struct PluginFactory {
    int next = 0;
    PluginResource create() { return PluginResource{++next}; }
};
using PluginPool = respool::Pool<PluginResource, PluginFactory>;

// A keepalive check that runs what the test gives it.
struct ScriptedCheck {
    std::shared_ptr<std::function<void()>> on_check = std::make_shared<std::function<void()>>();
    bool validate(PluginResource&) { return true; }
    bool keepalive(PluginResource&) {
        (*on_check)();
        return true;
    }
};
using CheckedPool = respool::Pool<PluginResource, PluginFactory, ScriptedCheck, respool::policies::ManualClock>;

extern "C" PluginPool* plugin_make_pool(std::size_t size);
extern "C" void plugin_destroy_pool(PluginPool* pool);
extern "C" void plugin_close(CheckedPool* pool); // close() run by the library's code
// Checks out of `pool` and gives back, in the library's code.
extern "C" void plugin_acquire_and_return(PluginPool* pool);
// The error a timed-out acquire reports, made by the library's code.
std::error_code plugin_timeout_code(); // C++ linkage: it returns a class
// Throws the TimeoutError of a timed-out acquire from the library's code.
extern "C" void plugin_throw_timeout();
#ifdef RESPOOL_TEST_WITH_MARIADB
// The MariaDB adapter's categories as the library sees them.
extern "C" const std::error_category* plugin_server_category();
extern "C" const std::error_category* plugin_adapter_category();
#endif
