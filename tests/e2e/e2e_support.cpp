#include "tests/e2e/e2e_support.hpp"

#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdlib>

namespace jobserver::testing {

answer call(httplib::Client& c, const std::string& method, const std::string& path,
            const std::string& body, const std::string& user) {
  httplib::Headers h{{"X-User-ID", user}};
  httplib::Result r{nullptr, httplib::Error::Unknown};
  if (method == "GET") r = c.Get(path.c_str(), h);
  else if (method == "POST") r = c.Post(path.c_str(), h, body, "application/json");
  else if (method == "DELETE") r = c.Delete(path.c_str(), h);
  answer a;
  if (!r) return a;
  a.status = r->status;
  a.raw = r->body;
  a.body.Parse(a.raw.c_str());
  return a;
}

double metric(const std::string& text, const std::string& series) {
  auto p = text.find("\n" + series + " ");
  if (p == std::string::npos) return -1;
  return std::stod(text.substr(p + series.size() + 2));
}

std::string create_job(httplib::Client& c, const std::string& type, const std::string& data,
                       const std::string& user, int priority) {
  auto a = call(c, "POST", "/jobs",
                R"({"type":")" + type + R"(","data":)" + data + R"(,"priority":)" +
                    std::to_string(priority) + "}",
                user);
  INFO(a.raw);
  REQUIRE(a.status == 202);
  REQUIRE(a.body.HasMember("job_id"));
  return a.body["job_id"].GetString();
}

answer get_job(httplib::Client& c, const std::string& id, const std::string& user) {
  auto a = call(c, "GET", "/jobs/" + id, {}, user);
  INFO(a.raw);
  REQUIRE(a.status == 200);
  return a;
}

answer wait_for_status(httplib::Client& c, const std::string& id, const std::string& status,
                       const std::string& user, std::chrono::milliseconds timeout) {
  answer last;
  bool ok = eventually([&] {
    last = call(c, "GET", "/jobs/" + id, {}, user);
    return last.status == 200 && last.body.IsObject() &&
           std::string{last.body["status"].GetString()} == status;
  }, timeout);
  INFO("waiting for " << status << ", last answer: " << last.raw);
  REQUIRE(ok);
  return last;
}

long count_jobs(service_fixture& f) {
  return f.db->as_system([](pqxx::work& tx) { return tx.exec("SELECT count(*) FROM jobs")[0][0].as<long>(); });
}

std::string job_column(service_fixture& f, const std::string& id, const std::string& expr) {
  return f.db->as_system([&](pqxx::work& tx) {
    auto r = tx.exec_params("SELECT (" + expr + ")::text FROM jobs WHERE id = $1::uuid", id);
    if (r.empty() || r[0][0].is_null()) return std::string{};
    return std::string{r[0][0].c_str()};
  });
}

temp_storage::temp_storage() : path("/tmp/" + unique_name("storage")) {}

temp_storage::~temp_storage() { std::system(("rm -rf '" + path + "'").c_str()); }

int run_script(const std::string& command) {
  std::string full = std::string{"cd '"} + JOBSERVER_SOURCE_DIR + "' && " + command + " >/dev/null 2>&1";
  return std::system(full.c_str());
}

int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{30, 0};  // far above any bound a test sets: a hung server shows as slow
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  return fd;
}

void send_all(int fd, const char* data, size_t len) {
  while (len > 0) {
    ssize_t n = ::send(fd, data, len, MSG_NOSIGNAL);
    if (n <= 0) return;  // the server may close early (413): read its answer anyway
    data += n;
    len -= static_cast<size_t>(n);
  }
}

}  // namespace jobserver::testing
