# The attacker's-eye tests, for the single doctest binary smem_tests (include()d from
# tests/CMakeLists.txt after add_executable(smem_tests ...) and tests/run/sources.cmake, whose
# cli/process.cpp helpers and SMEM_BINARY they use):
#   attack/attack_util.hpp/.cpp  the attacker's tools: smaps, memory scans, other users, seccomp
#   attack/proc_test.cpp         /proc/PID/{environ,cmdline,mem,maps}    (TEST_SUITE "attack/proc")
#   attack/memory_test.cpp       root scans smem's memory and smaps      (TEST_SUITE "attack/memory")
#   attack/crash_test.cpp        SIGSEGV / SIGABRT and core files        (TEST_SUITE "attack/crash")
#   attack/ptrace_test.cpp       ptrace and process_vm_readv, same user  (TEST_SUITE "attack/ptrace")
set(SMEM_ATTACK_TESTS_DIR ${CMAKE_CURRENT_LIST_DIR})
target_sources(smem_tests PRIVATE
  ${SMEM_ATTACK_TESTS_DIR}/attack_util.cpp
  ${SMEM_ATTACK_TESTS_DIR}/proc_test.cpp
  ${SMEM_ATTACK_TESTS_DIR}/memory_test.cpp
  ${SMEM_ATTACK_TESTS_DIR}/crash_test.cpp
  ${SMEM_ATTACK_TESTS_DIR}/ptrace_test.cpp
)
