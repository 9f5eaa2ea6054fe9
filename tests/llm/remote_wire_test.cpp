// The Gemini and OpenAI wire formats, spoken by the real libcurl client to the fake server.
#include <rapidjson/document.h>

#include "llm/http_client.hpp"
#include "tests/llm/remote_fixture.hpp"

using namespace jobserver;
using namespace jobserver::testing;
using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;

namespace {

rapidjson::Document parse(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  REQUIRE_FALSE(doc.HasParseError());
  return doc;
}

std::string good_lesson_normalized() {
  return llm::to_json(*llm::from_json(fake_llm_server::good_lesson_json()));
}

void check_growing(const std::vector<size_t>& sizes, size_t final_size) {
  REQUIRE(sizes.size() > 3);  // many chunks, not one
  for (size_t i = 1; i < sizes.size(); ++i) CHECK(sizes[i] > sizes[i - 1]);
  CHECK(sizes.back() == final_size);
}

}  // namespace

TEST_CASE("a streamed Gemini answer arrives as a validated lesson, text growing on the way",
          "[llm][gemini]") {
  remote_fixture f;
  auto out = remote_fixture::run(f.options("gemini"));
  REQUIRE(out.lesson);
  CHECK(llm::to_json(*out.lesson) == good_lesson_normalized());
  check_growing(out.partial_sizes, fake_llm_server::good_lesson_json().size());
  CHECK(out.retries.empty());

  auto requests = f.server.requests();
  REQUIRE(requests.size() == 1);
  const auto& r = requests[0];
  CHECK(r.path == "/v1beta/models/gemini-test:streamGenerateContent");
  CHECK_THAT(r.target, Contains("alt=sse"));
  CHECK(r.streamed);
  // The key travels in its header, never in the URL, and no other header carries it.
  CHECK(r.header("x-goog-api-key") == test_api_key);
  CHECK_THAT(r.target, !Contains(test_api_key));
  CHECK(r.header("Authorization").empty());
  CHECK(r.header("Content-Type") == "application/json");

  auto body = parse(r.body);
  CHECK_THAT(body["contents"][0]["parts"][0]["text"].GetString(),
             Contains("Chlorophyll is a green pigment") && Contains("Topic: Photosynthesis"));
  CHECK_THAT(body["systemInstruction"]["parts"][0]["text"].GetString(),
             Contains("exactly 4 options"));
  const auto& config = body["generationConfig"];
  CHECK(std::string(config["responseMimeType"].GetString()) == "application/json");
  CHECK(std::string(config["responseSchema"]["type"].GetString()) == "OBJECT");
  CHECK(config["responseSchema"]["properties"].HasMember("concepts"));
}

TEST_CASE("a streamed OpenAI answer arrives as a validated lesson, text growing on the way",
          "[llm][openai]") {
  remote_fixture f;
  auto out = remote_fixture::run(f.options("openai"));
  REQUIRE(out.lesson);
  CHECK(llm::to_json(*out.lesson) == good_lesson_normalized());
  check_growing(out.partial_sizes, fake_llm_server::good_lesson_json().size());

  auto requests = f.server.requests();
  REQUIRE(requests.size() == 1);
  const auto& r = requests[0];
  CHECK(r.path == "/v1/chat/completions");
  CHECK(r.header("Authorization") == "Bearer " + test_api_key);
  CHECK_THAT(r.target, !Contains(test_api_key));
  CHECK(r.header("x-goog-api-key").empty());

  auto body = parse(r.body);
  CHECK(std::string(body["model"].GetString()) == "gpt-test");
  CHECK(body["stream"].GetBool());
  CHECK(std::string(body["response_format"]["type"].GetString()) == "json_object");
  REQUIRE(body["messages"].Size() == 2);
  CHECK(std::string(body["messages"][0]["role"].GetString()) == "system");
  CHECK(std::string(body["messages"][1]["role"].GetString()) == "user");
  CHECK_THAT(body["messages"][1]["content"].GetString(), Contains("The Calvin cycle"));
}

TEST_CASE("an OpenAI-compatible local server without a key gets no Authorization header",
          "[llm][openai]") {
  remote_fixture f;
  auto o = f.options("openai");
  o.api_key.clear();
  auto out = remote_fixture::run(o);
  REQUIRE(out.lesson);
  REQUIRE(f.server.request_count() == 1);
  CHECK(f.server.requests()[0].header("Authorization").empty());
}

TEST_CASE("without streaming, Gemini calls generateContent and OpenAI asks for one answer",
          "[llm][gemini][openai]") {
  auto kind = GENERATE(as<std::string>{}, "gemini", "openai");
  remote_fixture f;
  auto o = f.options(kind);
  o.stream = false;
  auto out = remote_fixture::run(o);
  REQUIRE(out.lesson);
  CHECK(llm::to_json(*out.lesson) == good_lesson_normalized());
  auto r = f.server.requests().at(0);
  CHECK_FALSE(r.streamed);
  if (kind == "gemini") {
    CHECK_THAT(r.path, EndsWith(":generateContent"));
    CHECK_THAT(r.target, !Contains("alt=sse"));
  } else {
    CHECK_FALSE(parse(r.body)["stream"].GetBool());
  }
}

TEST_CASE("a lesson wrapped in Markdown code fences is accepted", "[llm][gemini][openai]") {
  auto kind = GENERATE(as<std::string>{}, "gemini", "openai");
  remote_fixture f;
  f.server.set_lesson("```json\n" + fake_llm_server::good_lesson_json() + "\n```\n");
  auto out = remote_fixture::run(f.options(kind));
  REQUIRE(out.lesson);
  CHECK(out.lesson->concepts.size() == 2);
  CHECK(f.server.request_count() == 1);
}

TEST_CASE("check-ins are left out when the request wants none", "[llm][gemini][openai]") {
  auto kind = GENERATE(as<std::string>{}, "gemini", "openai");
  remote_fixture f;
  auto out = remote_fixture::run(f.options(kind), remote_fixture::request(false));
  REQUIRE(out.lesson);
  for (const auto& c : out.lesson->concepts) CHECK(c.check_ins.empty());
  auto body = f.server.requests().at(0).body;
  CHECK_THAT(body, Contains("check_ins is an empty array"));
}

TEST_CASE("the HTTP client stops reading an answer larger than its cap", "[llm][http]") {
  remote_fixture f;
  llm::http_request r;
  r.url = f.server.url() + "/v1/chat/completions";
  r.headers = {"Content-Type: application/json"};
  r.body = R"({"model":"m","stream":true,"messages":[]})";
  r.max_response_bytes = 300;
  size_t delivered = 0;
  auto result = llm::http_post(
      r, [&](std::string_view bytes) { delivered += bytes.size(); }, [] { return false; });
  CHECK(result.outcome == llm::http_outcome::too_large);
  CHECK(delivered <= 300);
  CHECK_THAT(result.error, Contains("larger than"));
}

TEST_CASE("the HTTP client reports the status, body and Retry-After of a refusal", "[llm][http]") {
  remote_fixture f;
  f.server.script({{llm_reply::rate_limited, {}, {}, 7}});
  llm::http_request r;
  r.url = f.server.url() + "/v1/chat/completions";
  r.body = R"({"stream":false})";
  bool data_seen = false;
  auto result = llm::http_post(r, [&](std::string_view) { data_seen = true; }, {});
  CHECK(result.outcome == llm::http_outcome::done);
  CHECK(result.status == 429);
  CHECK(result.retry_after_ms == 7000);
  CHECK_THAT(result.error_body, Contains("RESOURCE_EXHAUSTED"));
  CHECK_FALSE(data_seen);  // an error body is not the answer
}
