#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "llm/provider.hpp"
#include "tests/llm/fake_llm_server.hpp"
#include "tests/llm/sample_texts.hpp"

namespace jobserver::testing {

inline const std::string test_api_key = "test-KEY-0123456789-secret";

/// What one generate() call did, seen from its hooks.
struct generation_outcome {
  std::optional<llm::lesson> lesson;
  std::optional<app_error> error;
  std::vector<std::pair<int, std::string>> retries;  // on_retry calls
  std::vector<size_t> partial_sizes;                 // on_partial calls
  std::chrono::steady_clock::time_point stop_at{};   // when should_stop first said yes
  std::chrono::steady_clock::time_point ended{};
  double seconds = 0;

  /// Seconds from the stop request to the end of generate().
  double seconds_after_stop() const {
    return std::chrono::duration<double>(ended - stop_at).count();
  }
};

/// A fake LLM server and options for a provider of `kind` ("gemini" or "openai") talking
/// to it, with short backoffs so that retries are quick.
struct remote_fixture {
  fake_llm_server server;

  llm::provider_options options(const std::string& kind) const {
    llm::provider_options o;
    o.provider = kind;
    o.api_key = test_api_key;
    o.model = kind == "gemini" ? "gemini-test" : "gpt-test";
    o.base_url = kind == "gemini" ? server.url() : server.url() + "/v1";
    o.connect_timeout_ms = 2000;
    o.total_timeout_ms = 10000;
    o.max_http_retries = 3;
    o.backoff_base_ms = 10;
    o.max_retry_wait_ms = 3000;
    return o;
  }

  static llm::lesson_request request(bool check_ins = true) {
    llm::lesson_request r;
    r.topic = "Photosynthesis";
    r.text = photosynthesis_section;
    r.include_check_ins = check_ins;
    return r;
  }

  /// Runs generate() with recording hooks; `stop_when` decides when to cancel.
  template <class StopWhen>
  static generation_outcome run(const llm::provider_options& o, StopWhen stop_when,
                                const llm::lesson_request& r = request()) {
    generation_outcome out;
    llm::generation_hooks hooks;
    hooks.on_partial = [&](const std::string& text, size_t n) {
      CHECK(text.size() == n);
      out.partial_sizes.push_back(n);
    };
    hooks.on_retry = [&](int attempt, const std::string& e) { out.retries.emplace_back(attempt, e); };
    auto start = std::chrono::steady_clock::now();
    hooks.should_stop = [&] {
      if (out.stop_at != std::chrono::steady_clock::time_point{}) return true;
      if (!stop_when(out, std::chrono::steady_clock::now() - start)) return false;
      out.stop_at = std::chrono::steady_clock::now();
      return true;
    };
    try {
      out.lesson = llm::make_provider(o)->generate(r, hooks);
    } catch (const app_error& e) {
      out.error = e;
    }
    out.ended = std::chrono::steady_clock::now();
    out.seconds = std::chrono::duration<double>(out.ended - start).count();
    // Whatever happened, the key is in no message.
    if (out.error) CHECK(std::string(out.error->what()).find(test_api_key) == std::string::npos);
    for (const auto& [attempt, e] : out.retries) CHECK(e.find(test_api_key) == std::string::npos);
    return out;
  }

  static generation_outcome run(const llm::provider_options& o,
                                const llm::lesson_request& r = request()) {
    return run(o, [](const generation_outcome&, auto) { return false; }, r);
  }
};

}  // namespace jobserver::testing
