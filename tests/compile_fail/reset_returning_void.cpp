// A validator whose reset() returns nothing would never be called as the return hook: Pool refuses it by name.
#include <respool/respool.hpp>

struct Factory {
    int create() { return 1; }
};
struct Validator {
    bool validate(int&) { return true; }
    void reset(int& r) { r = 0; }
};

int main() {
    respool::Pool<int, Factory, Validator> pool;
    (void)pool;
}
