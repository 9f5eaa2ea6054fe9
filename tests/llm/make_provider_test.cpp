#include <catch2/catch.hpp>

#include "llm/provider.hpp"
#include "tests/support/catch_errc.hpp"

using namespace jobserver;
using namespace jobserver::llm;
using Catch::Matchers::Contains;

namespace {

const std::string secret = "sk-SECRET-4711-do-not-log";

/// The app_error make_provider throws for `o`.
app_error error_of(const provider_options& o) {
  try {
    make_provider(o);
  } catch (const app_error& e) {
    return e;
  }
  FAIL("make_provider did not throw");
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("the default provider is the offline one and needs no key", "[llm][factory]") {
  CHECK(make_provider({})->name() == "offline");
  provider_options o;
  o.provider = "extractive";
  CHECK(make_provider(o)->name() == "offline");
  o.provider = "";
  CHECK(make_provider(o)->name() == "offline");
}

TEST_CASE("gemini without a key names GEMINI_API_KEY", "[llm][factory]") {
  provider_options o;
  o.provider = "gemini";
  auto e = error_of(o);
  CHECK(e.code() == errc::invalid_input);
  CHECK_FALSE(e.transient());
  CHECK_THAT(e.what(), Contains("GEMINI_API_KEY"));
  o.api_key = secret;
  CHECK(make_provider(o)->name() == "gemini");
}

TEST_CASE("openai without a key and without a base URL names OPENAI_API_KEY", "[llm][factory]") {
  provider_options o;
  o.provider = "openai";
  auto e = error_of(o);
  CHECK(e.code() == errc::invalid_input);
  CHECK_THAT(e.what(), Contains("OPENAI_API_KEY") && Contains("LLM_BASE_URL"));
}

TEST_CASE("openai against a local server needs no key", "[llm][factory]") {
  provider_options o;
  o.provider = "openai";
  o.base_url = "http://127.0.0.1:11434/v1/";
  CHECK(make_provider(o)->name() == "openai");
}

TEST_CASE("bad provider options name their variable and never contain the key", "[llm][factory]") {
  provider_options o;
  o.api_key = secret;
  o.provider = "claude";
  CHECK_THAT(error_of(o).what(), Contains("LLM_PROVIDER"));

  o.provider = "openai";
  o.base_url = "ftp://example.com/" + secret;
  auto e = error_of(o);
  CHECK_THAT(e.what(), Contains("LLM_BASE_URL"));
  CHECK_THAT(e.what(), !Contains(secret));

  o.base_url = "https://example.com/v1";
  o.model = "gpt 4 " + secret;
  e = error_of(o);
  CHECK_THAT(e.what(), Contains("LLM_MODEL"));
  CHECK_THAT(e.what(), !Contains(secret));

  o.model = "gpt-4o-mini";
  o.api_key = secret + "\r\nX-Injected: 1";
  e = error_of(o);
  CHECK_THAT(e.what(), Contains("OPENAI_API_KEY"));
  CHECK_THAT(e.what(), !Contains(secret));

  o.api_key = secret;
  o.total_timeout_ms = 0;
  CHECK(error_of(o).code() == errc::invalid_input);
}

TEST_CASE("the settings give the provider its own key and no other", "[llm][factory]") {
  config::settings s;
  s.gemini_api_key = "gemini-" + secret;
  s.openai_api_key = "openai-" + secret;
  s.llm_model = "gemini-2.0-flash";
  CHECK(options_from_settings(s).provider == "offline");
  CHECK(options_from_settings(s).api_key.empty());

  s.llm_provider = "gemini";
  auto o = options_from_settings(s);
  CHECK(o.api_key == "gemini-" + secret);
  CHECK(o.model == "gemini-2.0-flash");
  CHECK(make_provider(o)->name() == "gemini");

  s.llm_provider = "openai";
  s.llm_base_url = "http://127.0.0.1:8000/v1";
  o = options_from_settings(s);
  CHECK(o.api_key == "openai-" + secret);
  CHECK(o.base_url == "http://127.0.0.1:8000/v1");
}
