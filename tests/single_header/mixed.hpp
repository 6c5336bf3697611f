#pragma once
// The factory both mixed translation units use.
namespace mixed {
struct CountingFactory {
    int next = 0;
    int create() { return ++next; }
};
} // namespace mixed
