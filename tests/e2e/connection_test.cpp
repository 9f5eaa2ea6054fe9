// The connection layer (http/connection.cpp) on raw sockets: keep-alive and back-to-back
// requests, 100 Continue, and a connection that ends after an answer that closes it.
#include <catch2/catch.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "tests/e2e/e2e_support.hpp"

using namespace jobserver::testing;

namespace {

/// Everything the server sends until it closes the connection or `answers` complete
/// answers with a Content-Length body have arrived.
std::string read_answers(int fd, int answers) {
  std::string in;
  char buf[65536];
  for (;;) {
    int complete = 0;
    size_t at = 0;
    for (;;) {
      auto end = in.find("\r\n\r\n", at);
      if (end == std::string::npos) break;
      auto cl = in.find("Content-Length: ", at);
      size_t len = cl != std::string::npos && cl < end ? std::stoul(in.substr(cl + 16)) : 0;
      if (in.size() < end + 4 + len) break;
      at = end + 4 + len;
      ++complete;
    }
    if (answers > 0 && complete >= answers) return in;
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return in;
    in.append(buf, static_cast<size_t>(n));
  }
}

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("requests sent back to back on one connection are each answered, in order", "[http][connection]") {
  service_fixture f;
  server_process s{f};
  s.start();
  int fd = connect_to(s.port());
  REQUIRE(fd >= 0);
  std::string two = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
                    "GET /jobs/not-a-uuid HTTP/1.1\r\nHost: x\r\nX-User-ID: user-a\r\n\r\n";
  send_all(fd, two.data(), two.size());
  auto in = read_answers(fd, 2);
  CHECK(in.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(count_of(in, "HTTP/1.1 ") == 2);
  auto second = in.find("HTTP/1.1 ", 1);
  REQUIRE(second != std::string::npos);
  CHECK(in.compare(second, 12, "HTTP/1.1 400") == 0);
  // The connection stays open for a third request.
  std::string third = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  send_all(fd, third.data(), third.size());
  CHECK(read_answers(fd, 1).rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  ::close(fd);
}

TEST_CASE("a client that expects 100 Continue gets it before it sends the body, then its answer",
          "[http][connection]") {
  service_fixture f;
  server_process s{f, {{"ENABLE_TEST_JOBS", "1"}}};
  s.start();
  int fd = connect_to(s.port());
  REQUIRE(fd >= 0);
  std::string body = R"({"type":"noop"})";
  std::string head = "POST /jobs HTTP/1.1\r\nHost: x\r\nX-User-ID: user-a\r\nContent-Type: application/json\r\n"
                     "Expect: 100-continue\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  send_all(fd, head.data(), head.size());
  char buf[256];
  ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
  REQUIRE(n > 0);
  CHECK(std::string(buf, static_cast<size_t>(n)).rfind("HTTP/1.1 100 Continue\r\n", 0) == 0);
  send_all(fd, body.data(), body.size());
  CHECK(read_answers(fd, 1).rfind("HTTP/1.1 202", 0) == 0);
  ::close(fd);
}

TEST_CASE("after an answer that closes the connection, the unread body is never taken for a request",
          "[http][connection]") {
  service_fixture f;
  temp_storage storage;
  server_process s{f, {{"MAX_UPLOAD_MB", "1"}, {"STORAGE_DIR", storage.path}}};
  s.start();
  int fd = connect_to(s.port());
  REQUIRE(fd >= 0);
  // Declared larger than the limit: 413 at once, before the body is read. The body holds
  // what would be a second request if the server went on reading.
  std::string smuggled = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  std::string body = smuggled + std::string(64 * 1024, 'x');
  std::string head = "POST /upload/pdf-structured HTTP/1.1\r\nHost: x\r\nX-User-ID: user-a\r\n"
                     "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 3000000\r\n\r\n";
  send_all(fd, head.data(), head.size());
  send_all(fd, body.data(), body.size());
  auto in = read_answers(fd, 0);  // until the server closes
  CHECK(in.rfind("HTTP/1.1 413", 0) == 0);
  CHECK(count_of(in, "HTTP/1.1 ") == 1);
  ::close(fd);
}
