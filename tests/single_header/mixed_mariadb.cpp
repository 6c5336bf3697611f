// The adapter in both forms in one translation unit: the multi-header form first, then the single header, which
// brings the core single header with it.
#include "include/respool/mariadb.hpp"
#include "single_include/respool/mariadb.hpp"

int main() {
    return respool::make_error_code(respool::errc::timeout) == respool::errc::timeout ? 0 : 1;
}
