// The benchmark's load client (bench/http_loop.hpp) against a real HTTP server on
// 127.0.0.1: every request answered and read whole, keep-alive kept, connections the
// server closes opened again, and what it cannot read reported instead of misread.
#include "bench/http_loop.hpp"

#include <httplib.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace {

using jobserver::bench::http_answer;
using jobserver::bench::http_loop;

/// A cpp-httplib server on a free port of 127.0.0.1, stopped when it goes out of scope.
struct test_server {
  httplib::Server svr;
  int port = 0;
  std::thread thread;
  std::mutex mu;
  std::set<int> client_ports;  // of the POSTs
  std::atomic<int> posts{0};

  test_server() {
    svr.set_tcp_nodelay(true);  // else each answer waits out a delayed ACK (40 ms)
    svr.set_keep_alive_max_count(100000);
    svr.Get("/health", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok", "text/plain");
    });
    svr.Post("/echo", [this](const httplib::Request& req, httplib::Response& res) {
      int n = ++posts;
      {
        std::lock_guard<std::mutex> lock(mu);
        client_ports.insert(req.remote_port);
      }
      res.status = 202;
      res.set_content(req.get_header_value("X-N") + ":" + req.body + ":" + std::to_string(n),
                      "text/plain");
    });
  }
  void start() {
    port = svr.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { svr.listen_after_bind(); });
    while (!svr.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~test_server() {
    svr.stop();
    if (thread.joinable()) thread.join();
  }
};

struct run_log {
  std::vector<http_answer> answers;
  std::map<size_t, int> per_connection;
};

/// Sends `total` POST /echo requests over the loop's connections; returns what came back.
run_log post_all(http_loop& loop, int total, std::chrono::milliseconds pause_after_error = {}) {
  run_log log;
  int sent = 0;
  bool stop = false;
  auto next = [&](size_t, std::string& request) {
    if (sent == total) return false;
    request = loop.request("POST", "/echo", {{"X-N", std::to_string(sent++)}}, "body", "text/plain");
    return true;
  };
  auto done = [&](size_t c, http_answer&& a) {
    log.per_connection[c]++;
    bool failed = a.status == 0;
    log.answers.push_back(std::move(a));
    return failed ? pause_after_error : std::chrono::milliseconds(0);
  };
  loop.run(next, done, stop);
  return log;
}

}  // namespace

TEST_CASE("the load client gets every request answered, each read whole, over connections it keeps open",
          "[bench]") {
  test_server server;
  server.start();
  http_loop loop{"127.0.0.1", server.port};
  REQUIRE(loop.open(4, "/health", [](const std::string&) {}) == 0);
  auto log = post_all(loop, 400);
  REQUIRE(log.answers.size() == 400);
  std::set<std::string> numbers;
  for (const auto& a : log.answers) {
    REQUIRE(a.status == 202);
    auto colon = a.body.find(':');
    REQUIRE(a.body.substr(colon, 6) == ":body:");
    numbers.insert(a.body.substr(0, colon));
    CHECK(a.ms >= 0);
  }
  CHECK(numbers.size() == 400);  // every request's own answer, none twice
  CHECK(server.posts == 400);
  CHECK(server.client_ports.size() == 4);  // keep-alive: the four connections opened first
  CHECK(log.per_connection.size() == 4);   // all of them used
}

TEST_CASE("a connection the server closes after an answer is opened again, and no request is lost",
          "[bench]") {
  test_server server;
  server.svr.set_keep_alive_max_count(3);  // the server closes each connection after 3 requests
  server.start();
  http_loop loop{"127.0.0.1", server.port};
  REQUIRE(loop.open(2, "/health", [](const std::string&) {}) == 0);
  auto log = post_all(loop, 60);
  REQUIRE(log.answers.size() == 60);
  for (const auto& a : log.answers) CHECK(a.status == 202);
  CHECK(server.posts == 60);
  CHECK(server.client_ports.size() > 2);  // new connections were opened
}

TEST_CASE("an answer that does not come in time, or that the client cannot read, is reported as an error",
          "[bench]") {
  test_server server;
  server.svr.Post("/slow", [](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    res.set_content("late", "text/plain");
  });
  server.svr.Post("/chunked", [](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider("text/plain", [](size_t, httplib::DataSink& sink) {
      sink.write("abc", 3);
      sink.done();
      return true;
    });
  });
  server.start();
  http_loop loop{"127.0.0.1", server.port, std::chrono::milliseconds(150)};
  REQUIRE(loop.open(1, "/health", [](const std::string&) {}) == 0);
  std::vector<std::string> paths{"/slow", "/chunked", "/echo"};
  std::vector<http_answer> answers;
  bool stop = false;
  size_t i = 0;
  loop.run(
      [&](size_t, std::string& request) {
        if (i == paths.size()) return false;
        request = loop.request("POST", paths[i++], {{"X-N", "7"}}, "body", "text/plain");
        return true;
      },
      [&](size_t, http_answer&& a) {
        answers.push_back(std::move(a));
        return std::chrono::milliseconds(0);
      },
      stop);
  REQUIRE(answers.size() == 3);
  CHECK(answers[0].status == 0);
  CHECK(answers[0].body.find("timeout") != std::string::npos);
  CHECK(answers[1].status == 0);
  CHECK(answers[1].body.find("chunked") != std::string::npos);
  CHECK(answers[2].status == 202);  // the connection was opened again after each error
  CHECK(answers[2].body.rfind("7:body:", 0) == 0);
}

TEST_CASE("opening connections to a port where nothing listens fails instead of waiting forever",
          "[bench]") {
  int port = 0;
  {
    test_server gone;
    gone.start();
    port = gone.port;
  }
  http_loop loop{"127.0.0.1", port};
  std::vector<std::string> said;
  CHECK_THROWS(loop.open(1, "/health", [&](const std::string& s) { said.push_back(s); }));
  CHECK(said.size() == 5);
}
