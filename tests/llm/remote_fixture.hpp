#pragma once

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
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
  std::chrono::steady_clock::time_point stop_at{};   // when the cancel was requested
  std::chrono::steady_clock::time_point ended{};
  double seconds = 0;

  /// Seconds from the stop request to the end of generate().
  double seconds_after_stop() const {
    return std::chrono::duration<double>(ended - stop_at).count();
  }
};

/// When a test cancels the generation.
enum class stop_plan { never, after_300ms, after_first_text };

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

  /// Runs generate() with recording hooks, cancelling as `plan` says. The stop time is
  /// when the cancel was requested, not when the provider first noticed it.
  static generation_outcome run(const llm::provider_options& o, stop_plan plan,
                                const llm::lesson_request& r = request()) {
    generation_outcome out;
    std::atomic<bool> stop{false};
    auto request_stop = [&] {
      if (stop) return;
      out.stop_at = std::chrono::steady_clock::now();
      stop = true;
    };
    llm::generation_hooks hooks;
    hooks.on_partial = [&](const std::string& text, size_t n) {
      CHECK(text.size() == n);
      out.partial_sizes.push_back(n);
      if (plan == stop_plan::after_first_text) request_stop();
    };
    hooks.on_retry = [&](int attempt, const std::string& e) {
      out.retries.emplace_back(attempt, e);
    };
    hooks.should_stop = [&] { return stop.load(); };
    auto start = std::chrono::steady_clock::now();
    std::thread timer;
    if (plan == stop_plan::after_300ms) {
      timer = std::thread([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        request_stop();
      });
    }
    try {
      out.lesson = llm::make_provider(o)->generate(r, hooks);
    } catch (const app_error& e) {
      out.error = e;
    }
    out.ended = std::chrono::steady_clock::now();
    out.seconds = std::chrono::duration<double>(out.ended - start).count();
    if (timer.joinable()) timer.join();
    // Whatever happened, the key is in no message.
    if (out.error) CHECK(std::string(out.error->what()).find(test_api_key) == std::string::npos);
    for (const auto& [attempt, e] : out.retries) CHECK(e.find(test_api_key) == std::string::npos);
    return out;
  }

  static generation_outcome run(const llm::provider_options& o,
                                const llm::lesson_request& r = request()) {
    return run(o, stop_plan::never, r);
  }
};

}  // namespace jobserver::testing
