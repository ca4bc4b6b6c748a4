# The `smem bench` tests, for the single doctest binary smem_tests (include()d from
# tests/CMakeLists.txt after add_executable(smem_tests ...)):
#   bench/stats_test.cpp          bench/stats.hpp: order statistics, Mann-Whitney U  (TEST_SUITE "bench/stats")
#   bench/json_test.cpp           bench/json.hpp: writer and strict parser           (TEST_SUITE "bench/json")
#   bench/report_test.cpp         bench/report.hpp: the SPEC 1.2 object, read back    (TEST_SUITE "bench/report")
#   bench/compare_test.cpp        bench/compare.hpp: verdicts                         (TEST_SUITE "bench/compare")
#   bench/scenarios_test.cpp      bench/scenarios.hpp: every scenario, tiny budget    (TEST_SUITE "bench/scenarios")
#   bench/bench_command_test.cpp  black-box tests of `smem bench` (the real binary)   (TEST_SUITE "bench/command")
# No test asserts a time.
set(SMEM_BENCH_TESTS_DIR ${CMAKE_CURRENT_LIST_DIR})
target_sources(smem_tests PRIVATE
  ${SMEM_BENCH_TESTS_DIR}/stats_test.cpp
  ${SMEM_BENCH_TESTS_DIR}/json_test.cpp
  ${SMEM_BENCH_TESTS_DIR}/report_test.cpp
  ${SMEM_BENCH_TESTS_DIR}/compare_test.cpp
  ${SMEM_BENCH_TESTS_DIR}/scenarios_test.cpp
  ${SMEM_BENCH_TESTS_DIR}/bench_command_test.cpp
)
target_link_libraries(smem_tests PRIVATE smem_bench_scenarios)
# SMEM_BINARY (the smem binary these tests run) is defined by tests/run/sources.cmake.
# The black-box test expects mask_throughput to run when the masker is part of the build.
if(TARGET smem_mask)
  target_compile_definitions(smem_tests PRIVATE SMEM_BENCH_HAS_MASKER=1)
endif()
