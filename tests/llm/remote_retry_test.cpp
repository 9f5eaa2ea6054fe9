// Retries, failures, timeouts and cancellation of the remote providers, through the real
// libcurl client against the fake LLM server.
#include "tests/llm/remote_fixture.hpp"
#include "tests/support/catch_errc.hpp"
#include "tests/support/server_process.hpp"

using namespace jobserver;
using namespace jobserver::testing;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

double seconds_between(const recorded_request& a, const recorded_request& b) {
  return std::chrono::duration<double>(b.at - a.at).count();
}

scripted_reply reply(llm_reply kind) {
  return scripted_reply{kind};
}

}  // namespace

TEST_CASE("a 429 is retried after the server's Retry-After", "[llm][retry]") {
  auto kind = GENERATE(as<std::string>{}, "gemini", "openai");
  remote_fixture f;
  f.server.script({{llm_reply::rate_limited, {}, {}, 1}});
  auto out = remote_fixture::run(f.options(kind));
  REQUIRE(out.lesson);
  auto requests = f.server.requests();
  REQUIRE(requests.size() == 2);
  CHECK(seconds_between(requests[0], requests[1]) >= 0.9);
  REQUIRE(out.retries.size() == 1);
  CHECK(out.retries[0].first == 2);
  CHECK_THAT(out.retries[0].second, Contains("rate limited") && Contains("HTTP 429"));
}

TEST_CASE("a Retry-After longer than the cap waits only the cap", "[llm][retry]") {
  remote_fixture f;
  f.server.script({{llm_reply::rate_limited, {}, {}, 3600}});
  auto o = f.options("gemini");
  o.max_retry_wait_ms = 200;
  auto out = remote_fixture::run(o);
  REQUIRE(out.lesson);
  auto requests = f.server.requests();
  REQUIRE(requests.size() == 2);
  CHECK(seconds_between(requests[0], requests[1]) >= 0.15);
  CHECK(seconds_between(requests[0], requests[1]) < 2.0);
}

TEST_CASE("a 500 is retried and the next good answer is the result", "[llm][retry]") {
  auto kind = GENERATE(as<std::string>{}, "gemini", "openai");
  remote_fixture f;
  f.server.script({reply(llm_reply::server_error), reply(llm_reply::server_error)});
  auto out = remote_fixture::run(f.options(kind));
  REQUIRE(out.lesson);
  CHECK(f.server.request_count() == 3);
  REQUIRE(out.retries.size() == 2);
  CHECK(out.retries[0].first == 2);
  CHECK(out.retries[1].first == 3);
  CHECK_THAT(out.retries[0].second, Contains("HTTP 500") && Contains("internal error"));
}

TEST_CASE("when every request fails with 500 the error is transient after all retries",
          "[llm][retry]") {
  auto kind = GENERATE(as<std::string>{}, "gemini", "openai");
  remote_fixture f;
  f.server.script(std::vector<scripted_reply>(10, reply(llm_reply::server_error)));
  auto out = remote_fixture::run(f.options(kind));  // max_http_retries = 3
  REQUIRE(out.error);
  CHECK(out.error->code() == errc::upstream_failed);
  CHECK(out.error->transient());
  CHECK_THAT(out.error->what(), Contains("HTTP 500") && Contains("after 4 requests"));
  CHECK(f.server.request_count() == 4);
  CHECK(out.retries.size() == 3);
}

TEST_CASE("when every request is rate limited the error is transient", "[llm][retry]") {
  remote_fixture f;
  f.server.script(std::vector<scripted_reply>(10, {llm_reply::rate_limited, {}, {}, 0}));
  auto o = f.options("openai");
  o.max_http_retries = 2;
  auto out = remote_fixture::run(o);
  REQUIRE(out.error);
  CHECK(out.error->code() == errc::upstream_failed);
  CHECK(out.error->transient());
  CHECK(f.server.request_count() == 3);
}

TEST_CASE("a connection dropped mid-stream is retried", "[llm][retry]") {
  auto kind = GENERATE(as<std::string>{}, "gemini", "openai");
  remote_fixture f;
  f.server.script({reply(llm_reply::dropped)});
  auto out = remote_fixture::run(f.options(kind));
  REQUIRE(out.lesson);
  CHECK(f.server.request_count() == 2);
  REQUIRE(out.retries.size() == 1);
  CHECK_THAT(out.retries[0].second, Contains("cannot reach the server"));
  // The dropped attempt had streamed some text; the retry streamed it again from zero.
  auto restart = std::adjacent_find(out.partial_sizes.begin(), out.partial_sizes.end(),
                                    [](size_t a, size_t b) { return b < a; });
  CHECK(restart != out.partial_sizes.end());
  CHECK(out.partial_sizes.back() == fake_llm_server::good_lesson_json().size());
}

TEST_CASE("a server that cannot be reached gives a transient unavailable error", "[llm][retry]") {
  remote_fixture f;
  auto o = f.options("openai");
  o.base_url = "http://127.0.0.1:" + std::to_string(free_port()) + "/v1";
  o.max_http_retries = 2;
  auto out = remote_fixture::run(o);
  REQUIRE(out.error);
  CHECK(out.error->code() == errc::unavailable);
  CHECK(out.error->transient());
  CHECK_THAT(out.error->what(),
             Contains("cannot reach the server") && Contains("after 3 requests"));
  CHECK(out.retries.size() == 2);
}

TEST_CASE("an answer that is not JSON three times fails permanently", "[llm][validation]") {
  auto kind = GENERATE(as<std::string>{}, "gemini", "openai");
  remote_fixture f;
  f.server.script(std::vector<scripted_reply>(5, reply(llm_reply::malformed_json)));
  auto out = remote_fixture::run(f.options(kind));
  REQUIRE(out.error);
  CHECK(out.error->code() == errc::upstream_failed);
  CHECK_FALSE(out.error->transient());
  CHECK_THAT(out.error->what(), Contains("not a JSON lesson") && Contains("(after 3 attempts)"));
  CHECK(f.server.request_count() == 3);
  CHECK(out.retries.size() == 2);
}

TEST_CASE("after a malformed answer the model is asked again, told what was wrong",
          "[llm][validation]") {
  auto kind = GENERATE(as<std::string>{}, "gemini", "openai");
  remote_fixture f;
  f.server.script({reply(llm_reply::malformed_json)});
  auto out = remote_fixture::run(f.options(kind));
  REQUIRE(out.lesson);
  auto requests = f.server.requests();
  REQUIRE(requests.size() == 2);
  CHECK_THAT(requests[0].body, !Contains("previous answer was rejected"));
  CHECK_THAT(requests[1].body, Contains("previous answer was rejected"));
  REQUIRE(out.retries.size() == 1);
  CHECK_THAT(out.retries[0].second, Contains("invalid answer"));
}

TEST_CASE("a lesson that fails validation three times fails permanently with the reason",
          "[llm][validation]") {
  auto kind = GENERATE(as<std::string>{}, "gemini", "openai");
  remote_fixture f;
  f.server.script(std::vector<scripted_reply>(5, reply(llm_reply::invalid_lesson)));
  auto out = remote_fixture::run(f.options(kind));
  REQUIRE(out.error);
  CHECK(out.error->code() == errc::upstream_failed);
  CHECK_FALSE(out.error->transient());
  CHECK_THAT(out.error->what(),
             Contains("3 options instead of 4") && Contains("(after 3 attempts)"));
  CHECK(f.server.request_count() == 3);
}

TEST_CASE("a 400 fails at once, permanently, without the key the server echoed", "[llm][retry]") {
  auto kind = GENERATE(as<std::string>{}, "gemini", "openai");
  remote_fixture f;
  f.server.script({reply(llm_reply::bad_request)});
  auto out = remote_fixture::run(f.options(kind));
  REQUIRE(out.error);
  CHECK(out.error->code() == errc::upstream_failed);
  CHECK_FALSE(out.error->transient());
  CHECK_THAT(out.error->what(), Contains("HTTP 400") && Contains("API key not valid") &&
                                    Contains("***") && !Contains(test_api_key));
  CHECK(f.server.request_count() == 1);
  CHECK(out.retries.empty());
}

TEST_CASE("cancelling while the server has not answered aborts within a second", "[llm][cancel]") {
  auto kind = GENERATE(as<std::string>{}, "gemini", "openai");
  remote_fixture f;
  f.server.script({{llm_reply::slow_lesson, 10s, {}, 0}});
  auto out = remote_fixture::run(f.options(kind), stop_plan::after_300ms);
  REQUIRE(out.error);
  CHECK(out.error->code() == errc::cancelled);
  CHECK(out.seconds_after_stop() < 1.0);
  CHECK(out.seconds < 1.5);
  CHECK(f.server.request_count() == 1);
}

TEST_CASE("cancelling in the middle of a stream aborts within a second", "[llm][cancel]") {
  auto kind = GENERATE(as<std::string>{}, "gemini", "openai");
  remote_fixture f;
  f.server.script({{llm_reply::slow_lesson, {}, 400ms, 0}});
  auto out = remote_fixture::run(f.options(kind), stop_plan::after_first_text);
  REQUIRE(out.error);
  CHECK(out.error->code() == errc::cancelled);
  CHECK_FALSE(out.partial_sizes.empty());
  CHECK(out.seconds_after_stop() < 1.0);
  CHECK(out.seconds < 3.0);  // the whole slow stream would take over 10 s
}

TEST_CASE("cancelling during the wait before a retry ends the wait", "[llm][cancel]") {
  remote_fixture f;
  f.server.script({reply(llm_reply::server_error)});
  auto o = f.options("gemini");
  o.backoff_base_ms = 20000;
  o.max_retry_wait_ms = 20000;
  auto out = remote_fixture::run(o, stop_plan::after_300ms);
  REQUIRE(out.error);
  CHECK(out.error->code() == errc::cancelled);
  CHECK(out.seconds_after_stop() < 1.0);
  CHECK(f.server.request_count() == 1);
}

TEST_CASE("a server slower than the total timeout is given up on as unavailable",
          "[llm][timeout]") {
  remote_fixture f;
  f.server.script({{llm_reply::slow_lesson, 3s, {}, 0}, {llm_reply::slow_lesson, 3s, {}, 0}});
  auto o = f.options("openai");
  o.total_timeout_ms = 300;
  o.max_http_retries = 1;
  auto out = remote_fixture::run(o);
  REQUIRE(out.error);
  CHECK(out.error->code() == errc::unavailable);
  CHECK(out.error->transient());
  CHECK(f.server.request_count() == 2);
  CHECK(out.seconds < 2.5);
}

TEST_CASE("a stream that stalls is aborted and retried", "[llm][timeout]") {
  remote_fixture f;
  f.server.script({{llm_reply::slow_lesson, {}, 5s, 0}});
  auto o = f.options("gemini");
  o.stall_timeout_ms = 1000;
  auto out = remote_fixture::run(o);
  REQUIRE(out.lesson);
  CHECK(f.server.request_count() == 2);
  REQUIRE(out.retries.size() == 1);
  CHECK_THAT(out.retries[0].second, Contains("cannot reach the server"));
  CHECK(out.seconds < 3.5);
}

TEST_CASE("a whole answer may take longer than the stall timeout", "[llm][timeout]") {
  remote_fixture f;
  f.server.script({{llm_reply::slow_lesson, 1500ms, {}, 0}});
  auto o = f.options("openai");
  o.stream = false;
  o.stall_timeout_ms = 500;
  auto out = remote_fixture::run(o);
  REQUIRE(out.lesson);
  CHECK(f.server.request_count() == 1);
  CHECK(out.retries.empty());
}
