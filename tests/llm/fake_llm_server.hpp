#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace jobserver::testing {

/// What the fake LLM does with one request.
enum class llm_reply {
  good_lesson,     // a valid lesson (streamed in chunks when the request asks for a stream)
  slow_lesson,     // the good lesson, after first_byte_delay and with chunk_delay between chunks
  rate_limited,    // 429 with Retry-After: retry_after_s
  server_error,    // 500
  malformed_json,  // 200, but the model's text is not JSON
  invalid_lesson,  // 200, a JSON lesson whose first check-in has 3 options
  dropped,         // 200, two chunks of the stream, then the connection is closed
  bad_request,     // 400, with a message that echoes the API key it received
};

struct scripted_reply {
  llm_reply kind = llm_reply::good_lesson;
  std::chrono::milliseconds first_byte_delay{0};
  std::chrono::milliseconds chunk_delay{0};
  int retry_after_s = 1;
};

/// One request as the fake received it.
struct recorded_request {
  std::string path;    // without the query
  std::string target;  // path and query, as sent
  std::string body;
  httplib::Headers headers;
  bool streamed = false;
  std::chrono::steady_clock::time_point at;

  std::string header(const std::string& name) const;
};

/// A fake LLM server on 127.0.0.1 (a free port, its own thread) that speaks the real
/// wire formats: Gemini `POST /v1beta/models/{model}:generateContent` and
/// `:streamGenerateContent?alt=sse`, and OpenAI `POST /v1/chat/completions` with and
/// without `"stream": true` (SSE chunks ending with `data: [DONE]`).
class fake_llm_server {
 public:
  fake_llm_server();
  ~fake_llm_server();
  fake_llm_server(const fake_llm_server&) = delete;
  fake_llm_server& operator=(const fake_llm_server&) = delete;

  /// "http://127.0.0.1:<port>"
  std::string url() const;
  /// The replies to the next requests, in order; when they are used up: good_lesson.
  void script(std::vector<scripted_reply> replies);
  /// The lesson JSON that good replies carry (default: good_lesson_json()).
  void set_lesson(std::string json);

  std::vector<recorded_request> requests() const;
  size_t request_count() const;

  /// A valid lesson about photosynthesis with 2 concepts and 2 check-ins.
  static std::string good_lesson_json();
  /// The same lesson with a check-in of 3 options.
  static std::string invalid_lesson_json();

 private:
  void handle(const httplib::Request& req, httplib::Response& res, bool gemini);
  void reply_text(const httplib::Request& req, httplib::Response& res, bool gemini, bool stream,
                  const std::string& text, const scripted_reply& how);
  bool pause(std::chrono::milliseconds ms) const;  // false when the server is stopping

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::deque<scripted_reply> script_;
  std::vector<recorded_request> requests_;
  std::string lesson_;
};

}  // namespace jobserver::testing
