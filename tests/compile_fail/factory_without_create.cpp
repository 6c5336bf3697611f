// A factory with no create() does not fit ResourceFactory.
#include <respool/respool.hpp>

struct NotAFactory {
    int make() { return 1; }
};

int main() {
    respool::Pool<int, NotAFactory> pool;
    (void)pool;
}
