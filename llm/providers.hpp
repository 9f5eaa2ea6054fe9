#pragma once

#include <memory>

#include "llm/provider.hpp"

namespace jobserver::llm {

/// The extractive writer: offline, deterministic, no key.
std::unique_ptr<provider> make_offline_provider();
/// Google Gemini generateContent / streamGenerateContent (options already checked).
std::unique_ptr<provider> make_gemini_provider(const provider_options& options);
/// An OpenAI-compatible chat/completions server (options already checked).
std::unique_ptr<provider> make_openai_provider(const provider_options& options);

}  // namespace jobserver::llm
