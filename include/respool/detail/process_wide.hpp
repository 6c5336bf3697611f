#pragma once
#ifndef RESPOOL_DETAIL_PROCESS_WIDE_HPP_INCLUDED
#define RESPOOL_DETAIL_PROCESS_WIDE_HPP_INCLUDED
// RESPOOL_PROCESS_WIDE marks the state that must exist once per process: the error categories (std::error_category
// compares by address) and the count of fork()s. Default visibility keeps one copy even when shared objects are built
// with -fvisibility=hidden or -fvisibility-inlines-hidden: the dynamic linker binds every object's references to one
// definition. (A program that also has them and loads such an object with dlopen must export its own: -rdynamic.)
#if defined(__GNUC__) && !defined(_WIN32)
#define RESPOOL_PROCESS_WIDE __attribute__((visibility("default")))
#else
#define RESPOOL_PROCESS_WIDE
#endif

#endif // RESPOOL_DETAIL_PROCESS_WIDE_HPP_INCLUDED
