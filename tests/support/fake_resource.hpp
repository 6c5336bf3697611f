#pragma once
// A scripted factory and validator for unit tests of the generic core: they count what the pool does with them, and
// fail when told to.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace respool_test {

struct Script {
    std::atomic<int> next_id{1};
    std::atomic<int> created{0};
    std::atomic<int> destroyed{0};
    std::atomic<int> alive{0};     // from the start of create() to the end of destroy()
    std::atomic<int> max_alive{0}; // the most ever alive at once
    std::atomic<int> validations{0};
    std::atomic<int> resets{0};
    std::atomic<int> fail_next_creates{0};  // this many create() calls throw
    std::atomic<int> fail_next_validates{0}; // this many validate() calls say false
    std::atomic<int> throw_next_validates{0};
    std::atomic<int> fail_next_resets{0};
    std::atomic<int> throw_next_resets{0};
    std::atomic<bool> hold_creates{false}; // create() spins (yielding) while this is set
    std::atomic<int> creating{0};          // create() calls in progress
    std::atomic<int> max_creating{0};
    std::function<void()> on_create; // run at the start of every create() (set while no create() runs)
    std::mutex mutex;
    std::vector<int> validated_ids;
    std::vector<int> destroyed_ids;

    static bool take(std::atomic<int>& budget) {
        int n = budget.load();
        while (n > 0)
            if (budget.compare_exchange_weak(n, n - 1)) return true;
        return false;
    }
};

class CreateFailed : public std::runtime_error {
public:
    CreateFailed() : std::runtime_error("scripted create failure") {}
};

struct Fake {
    int id = 0;
    std::shared_ptr<std::atomic<int>> holders = std::make_shared<std::atomic<int>>(0);
};

struct FakeFactory {
    std::shared_ptr<Script> script = std::make_shared<Script>();

    Fake create() {
        if (script->on_create) script->on_create();
        const int now_creating = script->creating.fetch_add(1) + 1;
        int peak_creating = script->max_creating.load();
        while (now_creating > peak_creating && !script->max_creating.compare_exchange_weak(peak_creating, now_creating)) {
        }
        while (script->hold_creates.load()) std::this_thread::yield();
        struct Done {
            std::atomic<int>& n;
            ~Done() { n.fetch_sub(1); }
        } done{script->creating};
        const int alive = script->alive.fetch_add(1) + 1;
        int peak = script->max_alive.load();
        while (alive > peak && !script->max_alive.compare_exchange_weak(peak, alive)) {
        }
        if (Script::take(script->fail_next_creates)) {
            script->alive.fetch_sub(1);
            throw CreateFailed();
        }
        script->created.fetch_add(1);
        return Fake{script->next_id.fetch_add(1)};
    }

    void destroy(Fake& f) noexcept {
        script->destroyed.fetch_add(1);
        script->alive.fetch_sub(1);
        std::lock_guard lock(script->mutex);
        script->destroyed_ids.push_back(f.id);
    }
};

struct FakeValidator {
    std::shared_ptr<Script> script;

    bool validate(Fake& f) {
        script->validations.fetch_add(1);
        {
            std::lock_guard lock(script->mutex);
            script->validated_ids.push_back(f.id);
        }
        if (Script::take(script->throw_next_validates)) throw std::runtime_error("scripted validate throw");
        return !Script::take(script->fail_next_validates);
    }

    bool reset(Fake&) {
        script->resets.fetch_add(1);
        if (Script::take(script->throw_next_resets)) throw std::runtime_error("scripted reset throw");
        return !Script::take(script->fail_next_resets);
    }
};

} // namespace respool_test
