# The `smem run` tests, for the single doctest binary smem_tests (include()d from
# tests/CMakeLists.txt after add_executable(smem_tests ...)):
#   run/spec_test.cpp       unit tests of src/run/spec.hpp          (TEST_SUITE "run/spec")
#   run/line_reader_test.cpp unit tests of src/run/line_reader.hpp  (TEST_SUITE "run/line_reader")
#   run/command_line_test.cpp unit tests of src/cli/command_line.hpp (TEST_SUITE "cli/command_line")
#   cli/run_test.cpp        black-box tests of the smem binary       (TEST_SUITE "cli/run")
#   cli/process.hpp/.cpp    fork/exec helper with a hang detector for those
#   cli/child_programs.cpp  small child programs the binary runs as when SMEM_TEST_CHILD is set
# The black-box tests run the real binary, so smem_tests depends on it and knows its path.
set(SMEM_TESTS_DIR ${CMAKE_CURRENT_LIST_DIR}/..)
target_sources(smem_tests PRIVATE
  ${SMEM_TESTS_DIR}/run/spec_test.cpp
  ${SMEM_TESTS_DIR}/run/line_reader_test.cpp
  ${SMEM_TESTS_DIR}/run/command_line_test.cpp
  ${SMEM_TESTS_DIR}/cli/child_programs.cpp
  ${SMEM_TESTS_DIR}/cli/process.cpp
  ${SMEM_TESTS_DIR}/cli/run_test.cpp
  ${SMEM_TESTS_DIR}/cli/mask_test.cpp
  ${SMEM_TESTS_DIR}/cli/cli_test.cpp
)
# src/ for run/spec.hpp, tests/ for cli/process.hpp.
target_include_directories(smem_tests PRIVATE ${PROJECT_SOURCE_DIR}/src ${SMEM_TESTS_DIR})
# util: openpty() for the prompt tests; smem_cli for command_line_test.cpp.
target_link_libraries(smem_tests PRIVATE smem_run smem_cli util)
target_compile_definitions(smem_tests PRIVATE SMEM_BINARY="$<TARGET_FILE:smem>")
add_dependencies(smem_tests smem)
