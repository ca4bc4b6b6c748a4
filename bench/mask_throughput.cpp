// mask_throughput: how fast the streaming masker (src/mask) passes ordinary output through.
//
// 100 secrets of 16 to 64 printable bytes (their base64, URL and JSON forms are masked too, as
// `smem run` does), a log-like text of Budget::mask_bytes that leaks one of them about every
// 250 KB, fed in 64 KiB pieces the way the supervisor reads a pipe. One sample is one pass over
// the whole text with a fresh Masker on a table built once (untimed): 10^6 bytes per second.
#include "bench/scenarios.hpp"

#include "mask/masker.hpp"

#include <smem/smem.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace smem::bench {
namespace {

constexpr std::size_t k_secrets = 100;
constexpr std::size_t k_chunk = k_mask_chunk;

std::string random_token(std::mt19937_64& rng, std::size_t n)
{
  static constexpr char k_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-";
  std::string s(n, ' ');
  for (char& c : s) {
    c = k_alphabet[rng() % (sizeof k_alphabet - 1)];
  }
  return s;
}

// Lines like a web service's log: timestamps, levels, paths, numbers, hex request ids.
std::string log_text(std::mt19937_64& rng, std::size_t size, const std::vector<std::string>& secrets)
{
  static constexpr const char* k_levels[] = {"INFO ", "DEBUG", "WARN ", "ERROR"};
  static constexpr const char* k_paths[] = {"/api/v1/users",  "/api/v1/orders", "/healthz", "/static/app.js",
                                            "/api/v2/search", "/login",         "/metrics"};
  static constexpr const char* k_words[] = {"request",    "completed", "cache",   "miss",   "retrying",
                                            "connection", "pool",      "timeout", "user",   "session",
                                            "started",    "worker",    "queue",   "flushed"};
  std::string text;
  text.reserve(size + 512);
  char line[512];
  std::size_t lines = 0;
  while (text.size() < size) {
    const int length = std::snprintf(
        line, sizeof line,
        "2026-06-%02u %02u:%02u:%02u.%03u %s [worker-%u] %s %s?page=%u %u %.1fms %s %s req=%016llx\n",
        static_cast<unsigned>(rng() % 28 + 1), static_cast<unsigned>(rng() % 24),
        static_cast<unsigned>(rng() % 60), static_cast<unsigned>(rng() % 60),
        static_cast<unsigned>(rng() % 1000), k_levels[rng() % 4], static_cast<unsigned>(rng() % 16),
        rng() % 2 != 0 ? "GET" : "POST", k_paths[rng() % 7], static_cast<unsigned>(rng() % 50),
        rng() % 5 != 0 ? 200U : 404U, static_cast<double>(rng() % 10000) / 10.0, k_words[rng() % 14],
        k_words[rng() % 14], static_cast<unsigned long long>(rng()));
    text.append(line, static_cast<std::size_t>(std::max(length, 0)));
    if (++lines % 2000 == 0) {
      text += "token=" + secrets[rng() % secrets.size()] + "\n";
    }
  }
  text.resize(size);
  return text;
}

} // namespace

Outcome mask_throughput(const Context& context)
{
  std::mt19937_64 rng(42);
  std::vector<std::string> values;
  for (std::size_t i = 0; i < k_secrets; ++i) {
    values.push_back(random_token(rng, 16 + rng() % 49));
  }
  const SecretFactory factory(context.options);
  std::vector<Secret> secrets;
  std::vector<const Secret*> pointers;
  for (const std::string& value : values) {
    std::vector<std::byte> bytes(reinterpret_cast<const std::byte*>(value.data()),
                                 reinterpret_cast<const std::byte*>(value.data()) + value.size());
    secrets.push_back(factory.create(bytes));
  }
  for (const Secret& secret : secrets) {
    pointers.push_back(&secret);
  }
  const auto table = mask::MaskTable::build(factory, pointers);
  const std::string text = log_text(rng, context.budget.mask_bytes, values);
  const auto* bytes = reinterpret_cast<const std::byte*>(text.data());

  std::vector<std::byte> out;
  out.reserve(k_chunk + 4096);
  std::size_t masked_size = 0;
  auto pass = [&] {
    mask::Masker masker(table);
    masked_size = 0;
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t at = 0; at < text.size(); at += k_chunk) {
      out.clear();
      masker.feed({bytes + at, std::min(k_chunk, text.size() - at)}, out);
      masked_size += out.size();
    }
    out.clear();
    masker.flush(out);
    masked_size += out.size();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return static_cast<double>(text.size()) / seconds / 1e6;
  };
  for (int i = 0; i < 2; ++i) {
    (void)pass();
  }
  std::vector<double> rates;
  rates.reserve(context.budget.mask_samples);
  for (std::size_t i = 0; i < context.budget.mask_samples; ++i) {
    rates.push_back(pass());
    if (context.budget.on_sample) {
      context.budget.on_sample(i + 1, context.budget.mask_samples);
    }
  }
  Outcome result;
  result.rows.push_back(Row{"mask_throughput", "MB/s", std::move(rates), "floor_copy", 1});
  char note[256];
  std::snprintf(
      note, sizeof note,
      "mask_throughput: %zu patterns from %zu secrets, %.1f MiB of log text per pass in 64 KiB feeds; "
      "%zu bytes out (leaked secrets became ***). Higher is better; min is the slowest pass.",
      table->pattern_count(), k_secrets, static_cast<double>(text.size()) / (1 << 20), masked_size);
  result.notes.emplace_back(note);
  return result;
}

} // namespace smem::bench
