// The browser UI served by jobserver itself (issue 7): embedded files, their headers,
// no path outside them, and the API paths left to the API.
#include <catch2/catch.hpp>

#include "tests/e2e/e2e_support.hpp"

using namespace jobserver::testing;

namespace {

httplib::Result get(httplib::Client& c, const std::string& path, httplib::Headers headers = {}) {
  return c.Get(path.c_str(), headers);
}

}  // namespace

TEST_CASE("the web UI is served from the binary with its content types and revalidation headers",
          "[web]") {
  service_fixture f;
  server_process s{f};
  s.start();
  auto c = s.client();

  auto root = get(*c, "/");
  REQUIRE(root);
  CHECK(root->status == 200);
  CHECK(root->get_header_value("Content-Type") == "text/html; charset=utf-8");
  CHECK(root->body.find("<title>Upload a PDF") != std::string::npos);
  CHECK(root->get_header_value("Cache-Control") == "no-cache");
  CHECK(root->get_header_value("X-Content-Type-Options") == "nosniff");
  CHECK(root->get_header_value("Content-Security-Policy").find("default-src 'self'") != std::string::npos);
  auto etag = root->get_header_value("ETag");
  CHECK(etag.size() == 18);

  auto index = get(*c, "/index.html");
  REQUIRE(index);
  CHECK(index->body == root->body);

  auto again = get(*c, "/", {{"If-None-Match", etag}});
  REQUIRE(again);
  CHECK(again->status == 304);
  CHECK(again->body.empty());

  for (const auto& [path, type] : std::vector<std::pair<std::string, std::string>>{
           {"/jobs.js", "text/javascript; charset=utf-8"},
           {"/app.css", "text/css; charset=utf-8"},
           {"/course.html", "text/html; charset=utf-8"},
           {"/learn.html", "text/html; charset=utf-8"}}) {
    INFO(path);
    auto r = get(*c, path);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->get_header_value("Content-Type") == type);
    CHECK(!r->body.empty());
  }
  auto js = get(*c, "/jobs.js");
  REQUIRE(js);
  CHECK(js->body.find("export function subscribeJob") != std::string::npos);
}

TEST_CASE("no request path reaches a file outside the embedded web UI", "[web]") {
  service_fixture f;
  server_process s{f};
  s.start();
  auto c = s.client();
  for (const std::string path :
       {"/../CMakeLists.txt", "/%2e%2e/CMakeLists.txt", "/..%2fCMakeLists.txt", "/web/index.html",
        "/CMakeLists.txt", "/main.cpp", "/missing.html", "/index.html/", "/api/index.html",
        "/.%2e/.%2e/etc/passwd"}) {
    INFO(path);
    auto r = get(*c, path);
    REQUIRE(r);
    CHECK((r->status == 404 || r->status == 400));
    CHECK(r->get_header_value("Content-Type") == "application/json");
  }
}

TEST_CASE("the web routes leave every API path to the API, with and without /api", "[web]") {
  service_fixture f;
  server_process s{f};
  s.start();
  auto c = s.client();
  for (const std::string prefix : {"", "/api"}) {
    INFO(prefix);
    auto jobs = call(*c, "GET", prefix + "/jobs");
    CHECK(jobs.status == 200);
    CHECK(jobs.body.HasMember("jobs"));
    auto courses = call(*c, "GET", prefix + "/courses");
    CHECK(courses.status == 200);
    CHECK(courses.body.HasMember("courses"));
    auto missing = call(*c, "GET", prefix + "/courses/00000000-0000-0000-0000-000000000000");
    CHECK(missing.status == 404);
    CHECK(std::string{missing.body["error"].GetString()} == "Course not found");
  }
}

TEST_CASE("GET /me names the user the request authenticates as and the auth mode", "[web]") {
  service_fixture f;
  server_process s{f};
  s.start();
  auto c = s.client();
  auto me = call(*c, "GET", "/api/me", {}, "alice");
  REQUIRE(me.status == 200);
  CHECK(std::string{me.body["user_id"].GetString()} == "alice");
  CHECK(std::string{me.body["auth_mode"].GetString()} == "dev");
  auto bad = call(*c, "GET", "/me", {}, "not a valid id!");
  CHECK(bad.status == 401);
  CHECK(std::string{bad.body["error"].GetString()} == "Invalid X-User-ID");
}

TEST_CASE("in jwt mode GET /me without a token is refused, so the UI asks for one", "[web]") {
  service_fixture f;
  server_process s{f, {{"AUTH_MODE", "jwt"}, {"AUTH_JWT_SECRET", std::string(40, 'k')}}};
  s.start();
  auto c = s.client();
  auto r = c->Get("/api/me");
  REQUIRE(r);
  CHECK(r->status == 401);
  auto page = c->Get("/");
  REQUIRE(page);
  CHECK(page->status == 200);  // the page itself needs no identity
}
