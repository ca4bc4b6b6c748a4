// hello_secret: libsmem in one page.
//
//   printf 'correct horse' | hello_secret    the secret is standard input, byte-exact
//   hello_secret                             (stdin a terminal) a random 32-byte secret instead
//   hello_secret --random                    a random 32-byte secret whatever stdin is
//
// It shows which protections this machine gave the secret, derives its length and a BLAKE2b
// fingerprint inside with_bytes (the only place the bytes are readable), closes it, and shows
// that a closed secret refuses access. It never prints the secret itself.
#include <smem/smem.hpp>

#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>

#include <unistd.h>

namespace {

const char* name(smem::Backend backend)
{
  switch (backend) {
  case smem::Backend::automatic:
    return "automatic";
  case smem::Backend::secretmem:
    return "secretmem (memfd_secret: not even root can read it)";
  case smem::Backend::mlock:
    return "mlock (locked in RAM, never swapped or dumped)";
  }
  return "?";
}

const char* name(smem::Guard guard)
{
  switch (guard) {
  case smem::Guard::automatic:
    return "automatic";
  case smem::Guard::pkey:
    return "pkey (readable by the accessing thread only)";
  case smem::Guard::mprotect:
    return "mprotect (PROT_NONE while nobody reads it)";
  case smem::Guard::none:
    return "none (always readable, never writable)";
  }
  return "?";
}

const char* name(smem::Layout layout)
{
  switch (layout) {
  case smem::Layout::automatic:
    return "automatic";
  case smem::Layout::isolated:
    return "isolated (own pages between guard pages, canary checked at close)";
  case smem::Layout::pooled:
    return "pooled (a slot in a shared locked arena)";
  }
  return "?";
}

// The first bytes of a BLAKE2b-256 hash, in hex: enough to tell two secrets apart, too short to
// serve as a stand-in for the secret.
std::string fingerprint(std::span<const std::byte> bytes)
{
  std::array<unsigned char, crypto_generichash_BYTES> hash{};
  crypto_generichash(hash.data(), hash.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                     bytes.size(), nullptr, 0);
  std::array<char, 2 * 6 + 1> hex{};
  sodium_bin2hex(hex.data(), hex.size(), hash.data(), 6);
  return hex.data();
}

} // namespace

int main(int argc, char** argv)
{
  const bool random = argc > 1 && std::string_view(argv[1]) == "--random";
  if (sodium_init() < 0) {
    std::fputs("hello_secret: error: libsodium failed to initialise\n", stderr);
    return 1;
  }
  try {
    // Library users opt in to hardening: no core dumps, no ptrace by other processes of this user.
    smem::harden_process();

    const smem::SecretFactory factory; // every strategy automatic: the best this machine offers
    const smem::Options chosen = factory.options();
    std::printf("strategies chosen for this machine:\n");
    std::printf("  backend  %s\n", name(chosen.backend));
    std::printf("  guard    %s\n", name(chosen.guard));
    std::printf("  layout   %s\n", name(chosen.layout));

    const bool from_stdin = !random && ::isatty(STDIN_FILENO) == 0;
    // read_from reads straight into protected memory: no heap or stack copy of the value.
    smem::Secret secret =
        from_stdin ? factory.read_from(STDIN_FILENO, std::size_t{1} << 20) : factory.create_random(32);
    std::printf("\nsecret: %zu bytes from %s\n", secret.size(), from_stdin ? "standard input" : "the CSPRNG");

    // The bytes are readable only inside the callback; what it returns is all that leaves it.
    const std::string print =
        secret.with_bytes([](std::span<const std::byte> bytes) { return fingerprint(bytes); });
    const std::size_t newlines = secret.with_bytes([](std::span<const std::byte> bytes) {
      std::size_t count = 0;
      for (const std::byte b : bytes) {
        count += b == std::byte{'\n'} ? 1 : 0;
      }
      return count;
    });
    std::printf("  BLAKE2b fingerprint  %s...\n", print.c_str());
    if (from_stdin) {
      std::printf("  newline bytes        %zu (kept: values are byte-exact)\n", newlines);
    }
    std::printf("  is_closed            %s\n", secret.is_closed() ? "yes" : "no");

    secret.close(); // waits for readers, checks the canary, wipes, frees
    std::printf("\nafter close():\n");
    std::printf("  is_closed            %s\n", secret.is_closed() ? "yes" : "no");
    try {
      secret.with_bytes([](std::span<const std::byte>) {});
      std::printf("  with_bytes           allowed (unexpected!)\n");
      return 1;
    } catch (const smem::Error& e) {
      std::printf("  with_bytes           refused: %s\n",
                  e.code() == smem::Errc::closed ? "Errc::closed" : "another error (unexpected!)");
      if (e.code() != smem::Errc::closed) {
        return 1;
      }
    }
  } catch (const smem::Error& e) {
    std::fprintf(stderr, "hello_secret: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
