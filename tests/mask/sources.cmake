# The masker's unit tests, for the single doctest binary smem_tests (include()d from
# tests/CMakeLists.txt after add_executable(smem_tests ...)):
#   mask/patterns_test.cpp  src/mask/patterns.hpp: the derived forms      (TEST_SUITE "mask/patterns")
#   mask/table_test.cpp     src/mask/table.hpp: building the table         (TEST_SUITE "mask/table")
#   mask/masker_test.cpp    src/mask/masker.hpp: streaming replacement     (TEST_SUITE "mask/masker")
#   mask/mask_test_util.hpp helpers shared by those
set(SMEM_MASK_TESTS_DIR ${CMAKE_CURRENT_LIST_DIR})
target_sources(smem_tests PRIVATE
  ${SMEM_MASK_TESTS_DIR}/patterns_test.cpp
  ${SMEM_MASK_TESTS_DIR}/table_test.cpp
  ${SMEM_MASK_TESTS_DIR}/masker_test.cpp
)
# tests/ for mask/mask_test_util.hpp, the repository root for fuzz/naive_masker.hpp (the reference
# implementation the fuzzer also uses).
target_include_directories(smem_tests PRIVATE ${SMEM_MASK_TESTS_DIR}/.. ${SMEM_MASK_TESTS_DIR}/../..)
target_link_libraries(smem_tests PRIVATE smem_mask)
