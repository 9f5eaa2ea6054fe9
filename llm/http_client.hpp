#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace jobserver::llm {

/// One POST to an LLM API.
struct http_request {
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  long connect_timeout_ms = 5000;
  long total_timeout_ms = 120000;
  long stall_timeout_ms = 30000;  // abort when nothing arrives for this long; 0: never
  size_t max_response_bytes = size_t{4} << 20;
};

enum class http_outcome {
  done,           // a complete answer arrived (any status)
  network_error,  // could not connect, connection dropped, bad TLS, ...
  timed_out,      // connect, total or stall timeout
  cancelled,      // should_stop returned true
  too_large,      // the answer passed max_response_bytes
};

struct http_result {
  http_outcome outcome = http_outcome::network_error;
  long status = 0;           // HTTP status, 0 when none arrived
  long retry_after_ms = -1;  // the answer's Retry-After, -1 when absent
  std::string error_body;    // the first 64 KB of a non-2xx answer
  std::string error;         // what went wrong, for outcomes other than done
};

/// POSTs `request` with libcurl. The bytes of a 2xx answer go to `on_data` as they arrive;
/// `should_stop` is polled at least once a second and aborts the transfer. Exceptions
/// thrown by the callbacks are rethrown after the transfer was torn down.
http_result http_post(const http_request& request,
                      const std::function<void(std::string_view)>& on_data,
                      const std::function<bool()>& should_stop);

}  // namespace jobserver::llm
