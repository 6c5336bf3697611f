// The single header and the multi-header form in one translation unit, single header first: as when one library
// vendors single_include/respool/respool.hpp and another uses the installed headers. Each inlined header carries
// the include guard of the file it came from, so whichever form comes second adds nothing.
#include "single_include/respool/respool.hpp"
#include "include/respool/respool.hpp"

#include "mixed.hpp"

int sum_from_single_first() {
    respool::Pool<int, mixed::CountingFactory> pool(respool::PoolOptions{.pool_size = 2, .max_overflow = 0});
    auto first = pool.acquire();
    auto second = pool.acquire();
    return *first + *second;
}
