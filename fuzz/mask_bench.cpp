// Throughput of the masker in-process: 100 secrets of 16 to 64 bytes, a log-like text that rarely
// contains one, fed in chunks the way the supervisor reads a pipe. Prints the median of several
// runs in MB/s (10^6 bytes per second). Measures only; never fails on time.
//
//   mask_bench [--chunk BYTES] [--runs N] [--mib SIZE] [--secrets N] [--binary] [--hex] [--short]
//              [--no-guard] [--mlock]
//
// --no-guard and --mlock choose Guard::none and Backend::mlock for the table (to see the cost of
// opening the table once per feed).
// --binary makes the secrets random bytes instead of printable tokens, --hex lowercase hex like
// the text's request ids; --short adds one 4-byte secret (the worst case: the step drops to 1).
#include "mask/masker.hpp"

#include <smem/smem.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

std::string random_token(std::mt19937_64& rng, std::size_t n)
{
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-";
  std::string s(n, ' ');
  for (char& c : s) {
    c = alphabet[rng() % (sizeof alphabet - 1)];
  }
  return s;
}

std::string log_text(std::mt19937_64& rng, std::size_t size, const std::vector<std::string>& secrets)
{
  static const char* levels[] = {"INFO ", "DEBUG", "WARN ", "ERROR"};
  static const char* paths[] = {"/api/v1/users",  "/api/v1/orders", "/healthz", "/static/app.js",
                                "/api/v2/search", "/login",         "/metrics"};
  static const char* words[] = {"request",    "completed", "cache",   "miss",   "retrying",
                                "connection", "pool",      "timeout", "user",   "session",
                                "started",    "worker",    "queue",   "flushed"};
  std::string text;
  text.reserve(size + 512);
  char line[512];
  std::size_t n = 0;
  while (text.size() < size) {
    const int len = std::snprintf(
        line, sizeof line,
        "2024-06-%02u %02u:%02u:%02u.%03u %s [worker-%u] %s %s?page=%u %u %.1fms %s %s req=%08llx%08llx\n",
        unsigned(rng() % 28 + 1), unsigned(rng() % 24), unsigned(rng() % 60), unsigned(rng() % 60),
        unsigned(rng() % 1000), levels[rng() % 4], unsigned(rng() % 16), rng() % 2 ? "GET" : "POST",
        paths[rng() % 7], unsigned(rng() % 50), rng() % 5 ? 200U : 404U, double(rng() % 10000) / 10.0,
        words[rng() % 14], words[rng() % 14], static_cast<unsigned long long>(rng() & 0xffffffffU),
        static_cast<unsigned long long>(rng() & 0xffffffffU));
    text.append(line, static_cast<std::size_t>(len));
    if (++n % 2000 == 0 && !secrets.empty()) { // a leaked secret now and then (~ every 250 KB)
      text += "token=" + secrets[rng() % secrets.size()] + "\n";
    }
  }
  text.resize(size);
  return text;
}

} // namespace

int main(int argc, char** argv)
{
  std::size_t chunk = 65536;
  int runs = 9;
  std::size_t mib = 64;
  std::size_t secret_count = 100;
  bool binary = false;
  bool hex = false;
  bool add_short = false;
  smem::Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--chunk" && i + 1 < argc) {
      chunk = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--runs" && i + 1 < argc) {
      runs = std::atoi(argv[++i]);
    } else if (a == "--mib" && i + 1 < argc) {
      mib = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--secrets" && i + 1 < argc) {
      secret_count = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--binary") {
      binary = true;
    } else if (a == "--hex") {
      hex = true;
    } else if (a == "--no-guard") {
      options.guard = smem::Guard::none;
    } else if (a == "--mlock") {
      options.backend = smem::Backend::mlock;
    } else if (a == "--short") {
      add_short = true;
    } else {
      std::fprintf(stderr, "usage: mask_bench [--chunk BYTES] [--runs N] [--mib SIZE] [--secrets N] "
                           "[--binary] [--hex] [--short] [--no-guard] [--mlock]\n");
      return 2;
    }
  }

  std::mt19937_64 rng(42);
  std::vector<std::string> values;
  for (std::size_t i = 0; i < secret_count; ++i) {
    std::string v = random_token(rng, 16 + rng() % 49);
    for (char& c : v) {
      if (binary) {
        c = static_cast<char>(rng());
      } else if (hex) {
        c = "0123456789abcdef"[rng() % 16];
      }
    }
    values.push_back(v);
  }
  if (add_short) {
    values.emplace_back("k3Y9");
  }
  const smem::SecretFactory factory(options);
  std::vector<smem::Secret> secrets;
  for (std::string v : values) {
    std::vector<std::byte> bytes(reinterpret_cast<const std::byte*>(v.data()),
                                 reinterpret_cast<const std::byte*>(v.data()) + v.size());
    secrets.push_back(factory.create(bytes));
  }
  std::vector<const smem::Secret*> pointers;
  for (const smem::Secret& s : secrets) {
    pointers.push_back(&s);
  }
  const auto table = smem::mask::MaskTable::build(factory, pointers);
  const std::string text = log_text(rng, mib << 20, values);
  const auto* bytes = reinterpret_cast<const std::byte*>(text.data());

  std::vector<std::byte> out;
  out.reserve(chunk + 4096);
  std::vector<double> rates;
  std::size_t masked_output = 0;
  for (int r = 0; r < runs; ++r) {
    smem::mask::Masker masker(table);
    masked_output = 0;
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t at = 0; at < text.size(); at += chunk) {
      out.clear();
      masker.feed({bytes + at, std::min(chunk, text.size() - at)}, out);
      masked_output += out.size();
    }
    out.clear();
    masker.flush(out);
    masked_output += out.size();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    rates.push_back(static_cast<double>(text.size()) / seconds / 1e6);
  }
  std::sort(rates.begin(), rates.end());
  std::printf("patterns %zu (shortest %zu, longest %zu), table %zu bytes, text %zu MiB, chunk %zu B, "
              "output %zu bytes\n",
              table->pattern_count(), table->shortest(), table->longest(), table->memory_size(), mib, chunk,
              masked_output);
  std::printf("mask_throughput: median %.0f MB/s, min %.0f, max %.0f (%d runs)\n", rates[rates.size() / 2],
              rates.front(), rates.back(), runs);
  return 0;
}
