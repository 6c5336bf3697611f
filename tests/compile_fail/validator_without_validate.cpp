// A validator with no validate() does not fit ResourceValidator.
#include <respool/respool.hpp>

struct Factory {
    int create() { return 1; }
};
struct NotAValidator {
    bool check(int&) { return true; }
};

int main() {
    respool::Pool<int, Factory, NotAValidator> pool;
    (void)pool;
}
