// The retry, streaming and validation loop shared by the Gemini and OpenAI providers.
#include "llm/remote_provider.hpp"

#include <rapidjson/document.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include "config/log.hpp"
#include "llm/sse_parser.hpp"
#include "llm/text_util.hpp"

namespace jobserver::llm {
namespace {

constexpr int max_answers = 3;
constexpr size_t max_error_excerpt = 200;

bool stop_requested(const generation_hooks& hooks) {
  return hooks.should_stop && hooks.should_stop();
}

[[noreturn]] void throw_cancelled(const std::string& who) {
  throw app_error(errc::cancelled, who + ": generation cancelled", false);
}

/// Sleeps `ms`, waking every 50 ms to check should_stop; false when stopped.
bool sleep_unless_stopped(long ms, const generation_hooks& hooks) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < until) {
    if (stop_requested(hooks)) return false;
    auto left = until - std::chrono::steady_clock::now();
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(left, std::chrono::milliseconds(50)));
  }
  return !stop_requested(hooks);
}

/// "" when `l` answers `request`, else why not.
std::string check_answer(lesson& l, const lesson_request& request) {
  if (trim(l.topic).empty()) l.topic = trim(request.topic);
  size_t check_ins = 0;
  for (auto& c : l.concepts) {
    if (!request.include_check_ins) c.check_ins.clear();
    check_ins += c.check_ins.size();
  }
  auto reason = validate(l);
  if (reason.empty() && request.include_check_ins && check_ins == 0)
    reason = "the lesson has no check-ins";
  return reason;
}

}  // namespace

bool parse_event(const std::string& json, rapidjson::Document& doc, answer_chunk& out) {
  doc.Parse<rapidjson::kParseIterativeFlag>(json.c_str(), json.size());
  if (doc.HasParseError()) {
    out.error = "an event that is not JSON";
    return false;
  }
  out.error = api_error_message(json);
  return out.error.empty() && doc.IsObject();
}

std::string api_error_message(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(json.c_str(), json.size());
  if (doc.HasParseError()) return "";
  const rapidjson::Value* v = &doc;
  if (v->IsArray() && !v->Empty()) v = &(*v)[0];  // Gemini wraps errors in an array
  if (!v->IsObject() || !v->HasMember("error")) return "";
  const auto& e = (*v)["error"];
  if (e.IsString()) return e.GetString();
  if (e.IsObject() && e.HasMember("message") && e["message"].IsString())
    return e["message"].GetString();
  return "error";
}

http_request remote_provider::base_request(std::string url) const {
  http_request r;
  r.url = std::move(url);
  r.connect_timeout_ms = options_.connect_timeout_ms;
  r.total_timeout_ms = options_.total_timeout_ms;
  // A whole (not streamed) answer may take long to write: only the total timeout applies.
  r.stall_timeout_ms = options_.stream ? options_.stall_timeout_ms : 0;
  return r;
}

std::string remote_provider::error_message(const http_result& r) const {
  std::string message = api_error_message(r.error_body);
  if (message.empty()) message = r.error_body;
  message = safe_excerpt(message, max_error_excerpt, options_.api_key);
  std::string out = "HTTP " + std::to_string(r.status);
  return message.empty() ? out : out + ": " + message;
}

long remote_provider::backoff_ms(int retry) const {
  thread_local std::mt19937 rng{std::random_device{}()};
  double base = static_cast<double>(std::max(0L, options_.backoff_base_ms));
  double delay = base * static_cast<double>(1L << std::min(retry, 20));
  delay = std::min(delay, static_cast<double>(options_.max_retry_wait_ms));
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  return static_cast<long>(delay * jitter(rng));
}

remote_provider::answer remote_provider::fetch_answer(const http_request& request,
                                                      const generation_hooks& hooks,
                                                      int& requests_made) const {
  auto log = logger("llm");
  for (int retry = 0;; ++retry) {
    if (stop_requested(hooks)) throw_cancelled(name());
    ++requests_made;

    std::string text, raw, stream_error, refusal;
    sse_parser parser([&](const std::string& data) {
      if (data == "[DONE]") return;
      answer_chunk chunk = read_chunk(data, true);
      if (!chunk.error.empty()) stream_error = chunk.error;
      if (!chunk.refusal.empty()) refusal = chunk.refusal;
      if (chunk.text.empty()) return;
      text += chunk.text;
      if (hooks.on_partial) hooks.on_partial(text, text.size());
    });
    auto on_data = [&](std::string_view bytes) {
      raw.append(bytes);
      if (options_.stream) parser.feed(bytes);
    };
    http_result r = http_post(request, on_data, hooks.should_stop);

    std::string failure;
    errc code = errc::upstream_failed;
    long wait = -1;
    switch (r.outcome) {
      case http_outcome::cancelled:
        throw_cancelled(name());
      case http_outcome::too_large:
        return {"", r.error};
      case http_outcome::timed_out:
      case http_outcome::network_error:
        code = errc::unavailable;
        failure = "cannot reach the server (" + safe_excerpt(r.error, 200, options_.api_key) + ")";
        break;
      case http_outcome::done:
        if (r.status >= 200 && r.status <= 299) {
          if (options_.stream) parser.finish();
          if (stream_error.empty()) {
            if (parser.events() == 0) {  // not streamed: one JSON answer
              answer_chunk whole = read_chunk(raw, false);
              if (!whole.error.empty()) {
                stream_error = whole.error;
              } else {
                text = whole.text;
                refusal = whole.refusal;
                if (!text.empty() && hooks.on_partial) hooks.on_partial(text, text.size());
              }
            }
          }
          if (stream_error.empty()) {
            if (text.empty() && !refusal.empty())
              return {"",
                      "the model declined (" + safe_excerpt(refusal, 120, options_.api_key) + ")"};
            return {text, ""};
          }
          failure = "error in the answer (" +
                    safe_excerpt(stream_error, max_error_excerpt, options_.api_key) + ")";
        } else if (r.status == 429) {
          failure = "rate limited (" + error_message(r) + ")";
          if (r.retry_after_ms >= 0) wait = std::min(r.retry_after_ms, options_.max_retry_wait_ms);
        } else if (r.status >= 500 || r.status == 408) {
          failure = "server error (" + error_message(r) + ")";
        } else {
          throw app_error(errc::upstream_failed,
                          name() + ": request rejected (" + error_message(r) + ")", false);
        }
        break;
    }

    if (retry >= options_.max_http_retries) {
      throw app_error(
          code, name() + ": " + failure + " (after " + std::to_string(requests_made) + " requests)",
          true);
    }
    if (wait < 0) wait = backoff_ms(retry);
    log->warn("{}: request {} failed: {}; retrying in {} ms", name(), requests_made, failure, wait);
    if (hooks.on_retry) hooks.on_retry(requests_made + 1, failure);
    if (!sleep_unless_stopped(wait, hooks)) throw_cancelled(name());
  }
}

lesson remote_provider::generate(const lesson_request& request, const generation_hooks& hooks) {
  if (trim(request.text).empty())
    throw app_error(errc::invalid_input, "there is no text to write a lesson from", false);
  auto log = logger("llm");
  int requests_made = 0;
  std::string problem;
  for (int attempt = 1; attempt <= max_answers; ++attempt) {
    prompt p = build_prompt(request, problem);
    answer a = fetch_answer(make_request(p, request.include_check_ins), hooks, requests_made);
    problem = a.problem;
    if (problem.empty()) {
      std::optional<lesson> parsed = from_json(a.text);
      problem =
          parsed ? check_answer(*parsed, request)
                 : (a.text.empty() ? "the answer was empty" : "the answer was not a JSON lesson");
      if (problem.empty()) return std::move(*parsed);
    }
    if (attempt == max_answers) break;
    log->warn("{}: answer {} rejected: {}; asking again", name(), attempt, problem);
    if (hooks.on_retry) hooks.on_retry(requests_made + 1, "invalid answer: " + problem);
    if (stop_requested(hooks)) throw_cancelled(name());
  }
  problem = safe_excerpt(problem, 300, options_.api_key);
  throw app_error(errc::upstream_failed,
                  name() + ": the model did not write a valid lesson: " + problem + " (after " +
                      std::to_string(max_answers) + " attempts)",
                  false);
}

}  // namespace jobserver::llm
