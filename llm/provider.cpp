// make_provider: checks the options (one clear line naming the variable) and picks the
// implementation.
#include <cctype>

#include "config/log.hpp"
#include "llm/providers.hpp"
#include "llm/text_util.hpp"

namespace jobserver::llm {
namespace {

[[noreturn]] void invalid(const std::string& message) {
  throw app_error(errc::invalid_input, message, false);
}

/// The base URL without trailing slashes; empty stays empty.
std::string checked_base_url(const std::string& url) {
  std::string u = trim(url);
  if (u.empty()) return u;
  std::string lower = to_lower(u);
  if (lower.rfind("http://", 0) != 0 && lower.rfind("https://", 0) != 0)
    invalid("LLM_BASE_URL must start with http:// or https://");
  for (char ch : u)
    if (std::isspace(static_cast<unsigned char>(ch)) || ch == '?' || ch == '#')
      invalid("LLM_BASE_URL must be a plain URL without spaces, query or fragment");
  while (!u.empty() && u.back() == '/') u.pop_back();
  return u;
}

void check_model(const std::string& model) {
  for (char ch : model) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) &&
        std::string_view("-_.:/@").find(ch) == std::string_view::npos)
      invalid("LLM_MODEL may only contain letters, digits and - _ . : / @");
  }
}

void check_timeouts(const provider_options& o) {
  if (o.connect_timeout_ms <= 0 || o.total_timeout_ms <= 0 || o.stall_timeout_ms <= 0)
    invalid("LLM timeouts must be positive");
  if (o.max_http_retries < 0 || o.backoff_base_ms < 0 || o.max_retry_wait_ms < 0)
    invalid("LLM retry settings must not be negative");
}

}  // namespace

provider_options options_from_settings(const config::settings& s) {
  provider_options o;
  o.provider = s.llm_provider;
  o.base_url = s.llm_base_url;
  o.model = s.llm_model;
  std::string kind = to_lower(trim(s.llm_provider));
  if (kind == "gemini") o.api_key = s.gemini_api_key;
  if (kind == "openai") o.api_key = s.openai_api_key;
  o.connect_timeout_ms = s.llm_connect_timeout_ms;
  o.total_timeout_ms = s.llm_timeout_ms;
  o.stall_timeout_ms = s.llm_stall_timeout_ms;
  o.max_http_retries = s.llm_max_retries;
  return o;
}

std::unique_ptr<provider> make_provider(const provider_options& options) {
  std::string kind = to_lower(trim(options.provider));
  if (kind.empty() || kind == "offline" || kind == "extractive") return make_offline_provider();
  if (kind != "gemini" && kind != "openai")
    invalid("LLM_PROVIDER must be offline, gemini or openai");

  provider_options checked = options;
  checked.provider = kind;
  checked.base_url = checked_base_url(options.base_url);
  checked.model = trim(options.model);
  checked.api_key = trim(options.api_key);
  check_model(checked.model);
  check_timeouts(checked);
  if (checked.api_key.find_first_of("\r\n") != std::string::npos)
    invalid(kind == "gemini" ? "GEMINI_API_KEY contains a line break"
                             : "OPENAI_API_KEY contains a line break");

  if (kind == "gemini") {
    if (checked.api_key.empty()) invalid("LLM_PROVIDER=gemini needs GEMINI_API_KEY");
    logger("llm")->debug("gemini provider, model {}",
                         checked.model.empty() ? "(default)" : checked.model);
    return make_gemini_provider(checked);
  }
  if (checked.api_key.empty() && checked.base_url.empty())
    invalid("LLM_PROVIDER=openai needs OPENAI_API_KEY (or LLM_BASE_URL for a local server)");
  logger("llm")->debug("openai provider, model {}",
                       checked.model.empty() ? "(default)" : checked.model);
  return make_openai_provider(checked);
}

}  // namespace jobserver::llm
