# The fault-injection and load suites of issue 8 (parts 3 and 4), for the single doctest binary
# smem_tests (include()d OPTIONALly from tests/CMakeLists.txt after tests/run/sources.cmake, which
# brings the black-box helpers of tests/cli/ and SMEM_BINARY):
#   fault/fault_util.hpp/.cpp   limits, uids, leftover checks shared by the suites
#   fault/fault_children.cpp    child programs the binary runs as when SMEM_FAULT_CHILD is set
#   fault/limits_test.cpp       RLIMIT_MEMLOCK, RLIMIT_NOFILE, RLIMIT_NPROC   (TEST_SUITE "fault/limits")
#   fault/signals_test.cpp      a signal every millisecond during a run       (TEST_SUITE "fault/signals")
#   fault/io_test.cpp           descriptors closed early, a reader that quits (TEST_SUITE "fault/io")
#   fault/sources_test.cpp      no terminal, a hanging or flooding provider   (TEST_SUITE "fault/sources")
#   fault/load_test.cpp         1000 runs of smem, 100 at a time              (TEST_SUITE "load/run")
set(SMEM_FAULT_TESTS_DIR ${CMAKE_CURRENT_LIST_DIR})
target_sources(smem_tests PRIVATE
  ${SMEM_FAULT_TESTS_DIR}/fault_util.cpp
  ${SMEM_FAULT_TESTS_DIR}/fault_children.cpp
  ${SMEM_FAULT_TESTS_DIR}/limits_test.cpp
  ${SMEM_FAULT_TESTS_DIR}/sources_test.cpp
  ${SMEM_FAULT_TESTS_DIR}/io_test.cpp
  ${SMEM_FAULT_TESTS_DIR}/signals_test.cpp
  ${SMEM_FAULT_TESTS_DIR}/load_test.cpp
)
