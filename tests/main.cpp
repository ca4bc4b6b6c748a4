// The libsmem unit-test binary: doctest's own main. Select suites with -ts, e.g.
// `smem_tests -ts='core/concurrency*'` for the thread stress tests alone.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
