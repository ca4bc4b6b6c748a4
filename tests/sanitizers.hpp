// Whether this build runs with sanitizer runtimes, for the tests that must allow for them (their
// runtimes map memory, need descriptors and threads, and handle fatal signals of their own).
#pragma once

namespace smem::test {

#if defined(__has_feature)
#define SMEM_TEST_HAS_FEATURE(x) __has_feature(x)
#else
#define SMEM_TEST_HAS_FEATURE(x) 0
#endif

#if defined(__SANITIZE_ADDRESS__) || SMEM_TEST_HAS_FEATURE(address_sanitizer)
inline constexpr bool k_asan = true;
#else
inline constexpr bool k_asan = false;
#endif

#if defined(__SANITIZE_THREAD__) || SMEM_TEST_HAS_FEATURE(thread_sanitizer)
inline constexpr bool k_tsan = true;
#else
inline constexpr bool k_tsan = false;
#endif

} // namespace smem::test
