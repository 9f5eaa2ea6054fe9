#pragma once
// A closed-loop HTTP/1.1 load client on one thread: N keep-alive connections, each sending
// its next request as soon as the last one is answered, all driven by one epoll loop.
//
// The benchmark client shares the machine with the server under test. A thread per
// connection (cpp-httplib's client) costs two context switches and a handful of syscalls
// per request, about 50 us of CPU per POST here: a quarter of a core at 5,000 req/s,
// taken from whichever server is measured. One loop answers many ready connections per
// wake-up.
//
// Answers must carry Content-Length (both servers measured here send it); one that does
// not, a closed connection or no answer within the timeout is reported as a transport
// error (status 0) and the connection is opened again.
#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace jobserver::bench {

struct http_answer {
  int status = 0;      // 0: transport error, `body` says what happened
  std::string body;
  double ms = 0;       // from sending the request to the end of the answer
};

class http_loop {
 public:
  using clock_type = std::chrono::steady_clock;

  http_loop(std::string host, int port, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~http_loop();
  http_loop(const http_loop&) = delete;
  http_loop& operator=(const http_loop&) = delete;

  /// Opens `n` connections, each checked with one blocking GET `probe_path` answered 200
  /// (up to 5 attempts each). Returns the failed attempts; throws when a connection
  /// cannot be opened at all.
  int open(int n, const std::string& probe_path, const std::function<void(const std::string&)>& say);

  /// The request text a connection sends next; false when it has nothing more to send.
  using next_fn = std::function<bool(size_t connection, std::string& request)>;
  /// An answer (or transport error) on a connection; returns how long that connection
  /// waits before asking `next` again (zero: at once).
  using done_fn = std::function<std::chrono::milliseconds(size_t connection, http_answer&& answer)>;

  /// Runs until every connection has nothing more to send and nothing in flight, or
  /// `stop` is set.
  void run(const next_fn& next, const done_fn& done, const bool& stop);

  /// `METHOD PATH HTTP/1.1` with Host, the given headers and a body.
  std::string request(const std::string& method, const std::string& path,
                      const std::vector<std::pair<std::string, std::string>>& headers,
                      const std::string& body = {}, const std::string& content_type = {}) const;

 private:
  struct connection {
    int fd = -1;
    std::string in;
    std::string out;  // request text still to write
    bool busy = false;
    bool finished = false;
    clock_type::time_point sent_at{}, resume_at{};
  };

  int connect_socket() const;
  void reopen(connection& c);
  bool flush_out(connection& c);
  /// A complete answer at the front of `in`: 1 (removed and stored in `a`), 0 (more
  /// bytes needed) or -1 (not HTTP this client can read; `a.body` says why).
  static int take_answer(std::string& in, http_answer& a, bool& close_after);

  std::string host_;
  int port_;
  std::chrono::milliseconds timeout_;
  int epoll_ = -1;
  std::vector<connection> conns_;
};

}  // namespace jobserver::bench
