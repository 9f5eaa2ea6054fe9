#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace jobserver::testing {

/// One Server-Sent Event as received.
struct sse_event {
  std::string id;
  std::string type;
  std::string data;
};

/// A Server-Sent Events client on its own thread: connects, parses events and comment
/// lines as they arrive, and records when the server ends the stream.
class sse_client {
 public:
  sse_client(int port, std::string path, std::string user, std::string last_event_id = {});
  ~sse_client();

  std::vector<sse_event> events();
  int heartbeats() const { return heartbeats_; }
  bool ended() const { return ended_; }
  int status() const { return status_; }
  std::string body();
  /// Waits until `n` events arrived (or the stream ended); true when they did.
  bool wait_events(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(20));
  bool wait_end(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  /// Closes the connection from this side.
  void close();

 private:
  void feed(const char* data, size_t len);

  std::unique_ptr<httplib::Client> client_;
  std::thread thread_;
  std::mutex mutex_;
  std::string buffer_, raw_;
  sse_event current_;
  std::vector<sse_event> events_;
  std::atomic<int> heartbeats_{0};
  std::atomic<bool> ended_{false};
  std::atomic<bool> closing_{false};
  std::atomic<int> status_{0};
};

}  // namespace jobserver::testing
