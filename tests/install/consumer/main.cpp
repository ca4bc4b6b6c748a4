// A program outside the smem tree: it sees libsmem only through the installed headers and package.
#include <smem/smem.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdio>
#include <cstring>

int main()
{
  try {
    const smem::SecretFactory factory;
    constexpr char k_text[] = "installed and working";
    std::array<std::byte, sizeof k_text - 1> source{};
    std::memcpy(source.data(), k_text, source.size());

    smem::Secret secret = factory.create(source);
    const bool source_wiped =
        std::all_of(source.begin(), source.end(), [](std::byte b) { return b == std::byte{0}; });
    const bool same = secret.with_bytes([&](std::span<const std::byte> bytes) {
      return bytes.size() == sizeof k_text - 1 && std::memcmp(bytes.data(), k_text, bytes.size()) == 0;
    });
    secret.close();

    if (!source_wiped || !same || !secret.is_closed()) {
      std::printf("consumer: FAILED (source wiped: %d, bytes kept: %d, closed: %d)\n", source_wiped, same,
                  secret.is_closed());
      return 1;
    }
    std::printf("consumer: ok\n");
    return 0;
  } catch (const smem::Error& e) {
    std::printf("consumer: FAILED: %s\n", e.what());
    return 1;
  }
}
