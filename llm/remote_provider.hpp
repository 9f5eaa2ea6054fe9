#pragma once

#include <rapidjson/document.h>

#include <string>

#include "llm/http_client.hpp"
#include "llm/prompt.hpp"
#include "llm/provider.hpp"

namespace jobserver::llm {

/// What one server-sent event, or one whole answer, carried.
struct answer_chunk {
  std::string text;     // a piece of the model's answer
  std::string error;    // an error object's message (the attempt failed)
  std::string refusal;  // the model declined (block reason, refusal text)
};

/// The loop shared by the remote providers: prompt, HTTP with retries and backoff,
/// streaming, parsing and validation with up to 3 answers. A subclass only knows its
/// wire format.
class remote_provider : public provider {
 public:
  explicit remote_provider(provider_options options) : options_(std::move(options)) {}

  lesson generate(const lesson_request& request, const generation_hooks& hooks) override;

 protected:
  /// The HTTP request that asks for one answer.
  virtual http_request make_request(const prompt& p, bool include_check_ins) const = 0;
  /// What one JSON document of the wire format (a streamed event or a whole answer)
  /// carries. `streamed` tells which.
  virtual answer_chunk read_chunk(const std::string& json, bool streamed) const = 0;

  const provider_options& options() const { return options_; }
  /// An http_request with the options' timeouts and `url`.
  http_request base_request(std::string url) const;

 private:
  struct answer {
    std::string text;
    std::string problem;  // why there is no usable text (too large, refused)
  };
  answer fetch_answer(const http_request& request, const generation_hooks& hooks,
                      int& requests_made) const;
  std::string error_message(const http_result& r) const;
  long backoff_ms(int retry) const;

  provider_options options_;
};

/// The message of an API error document ({"error":{"message":...}}), or "".
std::string api_error_message(const std::string& json);

/// Parses one answer or stream event into `doc`; false when there is nothing more to read
/// from it: not JSON, an API error object (both noted in `out.error`), or not an object.
bool parse_event(const std::string& json, rapidjson::Document& doc, answer_chunk& out);

}  // namespace jobserver::llm
