#include "tests/e2e/sse_client.hpp"

#include "tests/support/server_process.hpp"

namespace jobserver::testing {

sse_client::sse_client(int port, std::string path, std::string user, std::string last_event_id)
  : client_(std::make_unique<httplib::Client>("127.0.0.1", port)) {
  client_->set_read_timeout(30, 0);
  client_->set_connection_timeout(5, 0);
  thread_ = std::thread([this, path, user, last_event_id] {
    httplib::Headers h{{"X-User-ID", user}, {"Accept", "text/event-stream"}};
    if (!last_event_id.empty()) h.emplace("Last-Event-ID", last_event_id);
    auto r = client_->Get(path.c_str(), h,
                          [&](const httplib::Response& res) {
                            status_ = res.status;
                            return true;
                          },
                          [&](const char* data, size_t len) {
                            feed(data, len);
                            return !closing_.load();
                          });
    if (r) status_ = r->status;
    ended_ = true;
  });
}

sse_client::~sse_client() { close(); }

void sse_client::close() {
  closing_ = true;
  if (client_) client_->stop();
  if (thread_.joinable()) thread_.join();
}

void sse_client::feed(const char* data, size_t len) {
  std::lock_guard<std::mutex> guard{mutex_};
  raw_.append(data, len);
  buffer_.append(data, len);
  size_t nl;
  while ((nl = buffer_.find('\n')) != std::string::npos) {
    std::string line = buffer_.substr(0, nl);
    buffer_.erase(0, nl + 1);
    if (line.empty()) {
      if (!current_.type.empty() || !current_.data.empty()) events_.push_back(current_);
      current_ = {};
    } else if (line[0] == ':') {
      if (line.find("heartbeat") != std::string::npos) ++heartbeats_;
    } else if (line.rfind("id: ", 0) == 0) {
      current_.id = line.substr(4);
    } else if (line.rfind("event: ", 0) == 0) {
      current_.type = line.substr(7);
    } else if (line.rfind("data: ", 0) == 0) {
      if (!current_.data.empty()) current_.data += '\n';
      current_.data += line.substr(6);
    }
  }
}

std::vector<sse_event> sse_client::events() {
  std::lock_guard<std::mutex> guard{mutex_};
  return events_;
}

std::string sse_client::body() {
  std::lock_guard<std::mutex> guard{mutex_};
  return raw_;
}

bool sse_client::wait_events(size_t n, std::chrono::milliseconds timeout) {
  return eventually([&] { return events().size() >= n || ended_; }, timeout) && events().size() >= n;
}

bool sse_client::wait_end(std::chrono::milliseconds timeout) {
  return eventually([&] { return ended_.load(); }, timeout);
}

}  // namespace jobserver::testing
