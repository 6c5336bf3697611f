// A validator whose reset() returns neither bool nor void would never be called as the return hook: Pool refuses it
// by name.
#include <respool/respool.hpp>

#include <string>

struct Factory {
    int create() { return 1; }
};
struct Validator {
    bool validate(int&) { return true; }
    std::string reset(int&) { return "cleaned"; }
};

int main() {
    respool::Pool<int, Factory, Validator> pool;
    (void)pool;
}
