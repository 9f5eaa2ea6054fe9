#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/errors.hpp"
#include "config/settings.hpp"

namespace jobserver::llm {

/// One multiple-choice question: exactly 4 distinct options, one of them the answer.
struct check_in {
  std::string question;
  std::vector<std::string> options;
  std::string expected_answer;
  std::string hint;
};

struct concept_t {
  std::string name;
  std::string explanation;
  std::vector<std::string> examples;
  std::vector<std::string> formulas;
  std::vector<std::string> important_notes;
  std::vector<check_in> check_ins;
};

struct lesson {
  std::string topic;
  std::string summary;
  std::string explanation;
  std::vector<concept_t> concepts;
};

struct lesson_request {
  std::string topic;
  std::string text;  // the section's markdown or the document's text
  bool include_check_ins = true;
  /// Optional: the whole document's text. The offline provider uses it to prefer terms
  /// that are frequent in `text` but rarer elsewhere, and as a source of distractors.
  std::string document_text;
};

/// How a running generation talks back to its job. Every member may be empty.
struct generation_hooks {
  /// Streaming providers call this as text arrives (once per received chunk, which can be
  /// one token: throttle what you do with it): the text of the current attempt so far and
  /// its length. It starts again from empty when an attempt is retried.
  std::function<void(const std::string& partial_text, size_t chars_so_far)> on_partial;
  /// Polled often; when it returns true the HTTP transfer is aborted within a second and
  /// generate() throws app_error(errc::cancelled).
  std::function<bool()> should_stop;
  /// Called before each retry with the number of the request about to be made (2, 3, ...)
  /// and the reason the previous one failed (never containing an API key).
  std::function<void(int attempt, const std::string& error)> on_retry;
};

class provider {
 public:
  virtual ~provider() = default;
  virtual std::string name() const = 0;

  /// Returns a validated lesson, or throws app_error:
  /// - transient (errc::unavailable for network errors and timeouts, errc::upstream_failed
  ///   for 429, 408 and 5xx; transient() == true) when the HTTP retries are exhausted;
  /// - permanent (errc::upstream_failed) for a 4xx other than 429, or an answer that is not
  ///   a valid lesson 3 times in a row ("... (after 3 attempts)");
  /// - errc::cancelled when hooks.should_stop() returned true;
  /// - errc::invalid_input when the request has no text to teach from.
  virtual lesson generate(const lesson_request& request, const generation_hooks& hooks) = 0;
};

struct provider_options {
  std::string provider = "offline";  // offline (alias extractive) | gemini | openai
  std::string base_url;              // empty: the provider's public endpoint
  std::string model;                 // empty: gemini-1.5-flash / gpt-4o-mini
  std::string api_key;
  long connect_timeout_ms = 5000;
  long total_timeout_ms = 120000;
  /// A streamed transfer that receives nothing for this long (the wait for the first
  /// byte included) is aborted and retried. A whole answer has only the total timeout.
  long stall_timeout_ms = 30000;
  int max_http_retries = 4;
  long backoff_base_ms = 500;
  /// Upper bound of one wait between retries, including a server's Retry-After.
  long max_retry_wait_ms = 60000;
  /// Stream the answer (SSE) so that on_partial sees the text as it arrives.
  bool stream = true;
};

/// The options the server's settings give: LLM_PROVIDER, LLM_BASE_URL, LLM_MODEL and the
/// key of that provider (GEMINI_API_KEY or OPENAI_API_KEY); timeouts keep their defaults.
provider_options options_from_settings(const config::settings& s);

/// The provider named by `options.provider`. Throws app_error(errc::invalid_input, one
/// line naming the variable) when a key is needed and missing: gemini needs
/// GEMINI_API_KEY; openai needs OPENAI_API_KEY unless base_url points at a local server.
std::unique_ptr<provider> make_provider(const provider_options& options);

/// "" when `l` is a usable lesson, else a human reason: 1-15 concepts; no empty topic,
/// summary, explanation, concept name or concept explanation; every check-in has a
/// question, a hint and exactly 4 distinct non-empty options of which exactly one equals
/// expected_answer.
std::string validate(const lesson& l);

/// {"topic","summary","explanation","concepts":[{"name","explanation","examples",
/// "formulas","important_notes","check_ins":[{"question","options","expected_answer",
/// "hint"}]}]}
std::string to_json(const lesson& l);

/// A tolerant parser of a model's answer: strips ```json fences and prose around the
/// object, accepts common aliases of the field names; nullopt when unusable.
std::optional<lesson> from_json(const std::string& text);

}  // namespace jobserver::llm
