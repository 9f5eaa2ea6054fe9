#include "tests/e2e/e2e_support.hpp"

#include <catch2/catch.hpp>

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

}  // namespace jobserver::testing
