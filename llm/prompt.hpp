#pragma once

#include <string>

#include "llm/provider.hpp"

namespace jobserver::llm {

/// The section text sent to a remote model is cut to this many bytes.
constexpr size_t max_prompt_text_bytes = 60000;

struct prompt {
  std::string system;  // the instructions: JSON shape and rules
  std::string user;    // the topic and the text to teach from
};

/// The prompt of one attempt. `previous_problem`, when not empty, tells the model why its
/// last answer was rejected, so that it can do better.
prompt build_prompt(const lesson_request& request, const std::string& previous_problem = "");

/// The lesson's JSON schema in the OpenAPI subset Gemini's `responseSchema` accepts.
std::string gemini_response_schema(bool include_check_ins);

/// `text` cut to `max_bytes`, at a paragraph or sentence end when one is near, with a
/// marker saying it was cut.
std::string truncate_text(const std::string& text, size_t max_bytes);

}  // namespace jobserver::llm
