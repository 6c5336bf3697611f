// A factory whose destroy() may throw would never be called as the release hook: Pool refuses it by name.
#include <respool/respool.hpp>

struct Factory {
    int create() { return 1; }
    void destroy(int& r) { r = 0; }
};

int main() {
    respool::Pool<int, Factory> pool;
    (void)pool;
}
