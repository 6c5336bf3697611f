// The other order: the multi-header form first, then the single header. Linked with mixed_single_first.cpp into one
// program, which also checks that both forms give the same inline definitions across translation units.
#include "include/respool/respool.hpp"
#include "single_include/respool/respool.hpp"

#include <iostream>

#include "mixed.hpp"

int sum_from_single_first();

int main() {
    respool::Pool<int, mixed::CountingFactory> pool(respool::PoolOptions{.pool_size = 1, .max_overflow = 0});
    int sum = 0;
    {
        auto lease = pool.acquire();
        sum = *lease;
    }
    sum += *pool.acquire();
    std::cout << "mixed: " << sum_from_single_first() << ' ' << sum << '\n';
    return 0;
}
