// libcurl behind http_post: timeouts, cancellation through the progress callback, a cap
// on what the server may send, Retry-After. Nothing here ever logs a header (API keys).
#include "llm/http_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>
#include <exception>
#include <memory>
#include <mutex>

namespace jobserver::llm {
namespace {

constexpr size_t max_error_body = size_t{64} * 1024;

struct transfer {
  CURL* curl = nullptr;
  const std::function<void(std::string_view)>* on_data = nullptr;
  const std::function<bool()>* should_stop = nullptr;
  size_t max_bytes = 0;
  size_t received = 0;
  long retry_after_ms = -1;
  std::string error_body;
  bool cancelled = false;
  bool too_large = false;
  // Stall detection: the time the byte count last changed.
  long stall_ms = 0;
  curl_off_t last_bytes = -1;
  std::chrono::steady_clock::time_point last_change;
  bool stalled = false;
  std::exception_ptr failure;
};

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

/// Retry-After is either delay-seconds or an HTTP date.
long parse_retry_after(std::string value) {
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.pop_back();
  size_t b = value.find_first_not_of(" \t");
  if (b == std::string::npos) return -1;
  value = value.substr(b);
  if (std::isdigit(static_cast<unsigned char>(value[0]))) {
    if (value.size() > 9) return 1000L * 999999999;  // absurd; the caller caps it
    return 1000L * std::stol(value);
  }
  time_t when = curl_getdate(value.c_str(), nullptr);
  if (when < 0) return -1;
  time_t now = std::time(nullptr);
  return when > now ? 1000L * static_cast<long>(when - now) : 0;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<transfer*>(user);
  std::string_view line(data, size * count);
  if (starts_with_ci(line, "http/")) {
    t->retry_after_ms = -1;  // a new response (after 100 Continue, ...)
  } else if (starts_with_ci(line, "retry-after:")) {
    t->retry_after_ms = parse_retry_after(std::string(line.substr(12)));
  }
  return size * count;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<transfer*>(user);
  size_t n = size * count;
  t->received += n;
  if (t->received > t->max_bytes) {
    t->too_large = true;
    return 0;  // aborts with CURLE_WRITE_ERROR
  }
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status > 299) {
    size_t room = max_error_body - std::min(max_error_body, t->error_body.size());
    t->error_body.append(data, std::min(room, n));
    return n;
  }
  try {
    if (*t->on_data) (*t->on_data)(std::string_view(data, n));
  } catch (...) {
    t->failure = std::current_exception();
    return 0;
  }
  return n;
}

int on_progress(void* user, curl_off_t, curl_off_t dlnow, curl_off_t, curl_off_t ulnow) {
  auto* t = static_cast<transfer*>(user);
  auto now = std::chrono::steady_clock::now();
  if (dlnow + ulnow != t->last_bytes) {
    t->last_bytes = dlnow + ulnow;
    t->last_change = now;
  } else if (t->stall_ms > 0 && now - t->last_change > std::chrono::milliseconds(t->stall_ms)) {
    t->stalled = true;
    return 1;
  }
  try {
    if (*t->should_stop && (*t->should_stop)()) {
      t->cancelled = true;
      return 1;  // aborts with CURLE_ABORTED_BY_CALLBACK
    }
  } catch (...) {
    t->failure = std::current_exception();
    return 1;
  }
  return 0;
}

struct curl_deleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct slist_deleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

http_result http_post(const http_request& request,
                      const std::function<void(std::string_view)>& on_data,
                      const std::function<bool()>& should_stop) {
  init_curl_once();
  http_result result;
  std::unique_ptr<CURL, curl_deleter> curl{curl_easy_init()};
  if (!curl) {
    result.error = "cannot create a libcurl handle";
    return result;
  }
  std::unique_ptr<curl_slist, slist_deleter> headers;
  auto add_header = [&headers](const std::string& h) {
    curl_slist* next = curl_slist_append(headers.get(), h.c_str());
    if (next != nullptr) {
      (void)headers.release();
      headers.reset(next);
    }
  };
  for (const auto& h : request.headers) add_header(h);
  add_header("Expect:");  // no 100-continue round trip

  transfer t;
  t.curl = curl.get();
  t.on_data = &on_data;
  t.should_stop = &should_stop;
  t.max_bytes = request.max_response_bytes;
  t.stall_ms = request.stall_timeout_ms;
  t.last_change = std::chrono::steady_clock::now();
  char errbuf[CURL_ERROR_SIZE] = {0};

  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, request.connect_timeout_ms);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, request.total_timeout_ms);
  if (request.stall_timeout_ms > 0) {
    // libcurl's low-speed limit averages over a few seconds; the progress callback
    // below notices a stall sooner and exactly. Both count the wait for the first byte.
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME,
                     std::max(1L, (request.stall_timeout_ms + 999) / 1000));
  }
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);

  CURLcode code = curl_easy_perform(c);
  if (t.failure) std::rethrow_exception(t.failure);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &result.status);
  result.retry_after_ms = t.retry_after_ms;
  result.error_body = std::move(t.error_body);
  if (code == CURLE_OK) {
    result.outcome = http_outcome::done;
    return result;
  }
  std::string detail = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(code);
  if (t.cancelled) {
    result.outcome = http_outcome::cancelled;
    result.error = "cancelled";
  } else if (t.stalled) {
    result.outcome = http_outcome::timed_out;
    result.error = "no data for " + std::to_string(request.stall_timeout_ms) + " ms";
  } else if (t.too_large) {
    result.outcome = http_outcome::too_large;
    result.error =
        "the answer is larger than " + std::to_string(request.max_response_bytes / 1024) + " KB";
  } else if (code == CURLE_OPERATION_TIMEDOUT) {
    result.outcome = http_outcome::timed_out;
    result.error = detail;
  } else {
    result.outcome = http_outcome::network_error;
    result.error = detail;
  }
  return result;
}

}  // namespace jobserver::llm
