// The upload route's delimiter search (http/multipart.cpp) against glibc's memmem, which
// it replaced: 20 MB of file content fed in 4 KB pieces (as cpp-httplib hands the body
// over), for 1,000 random boundaries of the form curl sends, over three contents: a run of
// zeros (padding, blank image data), random bytes (compressed streams), carriage returns.
// Baseline, in the same run: memmem over the same 20 MB at once, for the same needles.
// glibc's memmem skips by a hash of byte pairs; a boundary holding a pair whose hash
// equals that of the content's repeated pair (for zeros: "00" or "18", one boundary in ten)
// slows it, the more the nearer that pair is to the end. Prints one line per content:
// "CONTENT name=.. ours_p50_ms=.. ours_p99_ms=.. ours_max_ms=.. memmem_..=.. max_ratio=..".
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_util.hpp"
#include "http/multipart.hpp"

namespace {

using jobserver::bench::percentile;
using clock_type = std::chrono::steady_clock;

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

}  // namespace

int main() {
  constexpr size_t size = 20u << 20;
  constexpr size_t piece = 4096;
  std::mt19937_64 rng{20261206};
  std::vector<std::pair<std::string, std::string>> contents;
  contents.emplace_back("zeros", std::string(size, '0'));
  std::string random(size, '\0');
  for (auto& c : random) c = static_cast<char>(rng() & 0xff);
  contents.emplace_back("random", std::move(random));
  contents.emplace_back("carriage-returns", std::string(size, '\r'));
  std::vector<std::string> boundaries;
  const char* hex = "0123456789abcdef";
  for (int b = 0; b < 1000; ++b) {
    std::string s(24, '-');
    for (int i = 0; i < 16; ++i) s += hex[rng() & 15];
    boundaries.push_back(s);
  }
  for (const auto& [name, content] : contents) {
    std::vector<double> ours, base;
    size_t sink = 0;
    for (const auto& boundary : boundaries) {
      std::string head = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n";
      std::string tail = "\r\n--" + boundary + "--\r\n";
      size_t got = 0;
      jobserver::http::multipart_parser parser{
          boundary, [](const jobserver::http::multipart_parser::part&) { return true; },
          [&](const char*, size_t len) {
            got += len;
            return true;
          }};
      auto t0 = clock_type::now();
      parser.feed(head.data(), head.size());
      for (size_t i = 0; i < content.size(); i += piece)
        parser.feed(content.data() + i, std::min(piece, content.size() - i));
      parser.feed(tail.data(), tail.size());
      ours.push_back(ms_since(t0));
      if (!parser.complete() || got != content.size()) {
        std::fprintf(stderr, "parser lost bytes: %zu of %zu\n", got, content.size());
        return 1;
      }
      std::string needle = "\r\n--" + boundary;
      t0 = clock_type::now();
      const void* hit = ::memmem(content.data(), content.size(), needle.data(), needle.size());
      base.push_back(ms_since(t0));
      sink += hit == nullptr ? 1 : 0;
    }
    std::sort(ours.begin(), ours.end());
    std::sort(base.begin(), base.end());
    std::printf("CONTENT name=%s boundaries=%zu memmem_not_found=%zu ours_p50_ms=%.2f ours_p99_ms=%.2f ours_max_ms=%.2f "
                "memmem_p50_ms=%.2f memmem_p99_ms=%.2f memmem_max_ms=%.2f max_ratio=%.2f\n",
                name.c_str(), boundaries.size(), sink, percentile(ours, 50), percentile(ours, 99), percentile(ours, 100),
                percentile(base, 50), percentile(base, 99), percentile(base, 100), percentile(ours, 100) / percentile(base, 100));
  }
  return 0;
}
