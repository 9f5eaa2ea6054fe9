// The REST contract: isolation between users, bad input, auth (issues 2 and 3).
#include <catch2/catch.hpp>
#include <jwt.h>

#include <ctime>

#include "tests/e2e/e2e_support.hpp"

using namespace jobserver::testing;

TEST_CASE("health answers 200 and every route is also served under /api", "[api]") {
  service_fixture f;
  server_process s{f};
  s.start();
  auto c = s.client();
  CHECK(call(*c, "GET", "/health").status == 200);
  CHECK(call(*c, "GET", "/api/health").status == 200);
  CHECK(call(*c, "GET", "/ready").status == 200);
  auto id = create_job(*c, "noop");
  CHECK(call(*c, "GET", "/api/jobs/" + id).status == 200);
  auto unknown = call(*c, "GET", "/no/such/route");
  CHECK(unknown.status == 404);
  CHECK(std::string{unknown.body["code"].GetString()} == "not_found");
}

TEST_CASE("another user gets 404 for a job through every route", "[api][isolation]") {
  service_fixture f;
  server_process s{f};
  s.start();
  auto c = s.client();
  auto id = create_job(*c, "sleep", R"({"ms":300,"steps":1})", "user-a");
  auto theirs = call(*c, "GET", "/jobs/" + id, {}, "user-b");
  CHECK(theirs.status == 404);
  CHECK(std::string{theirs.body["error"].GetString()} == "Job not found");
  auto poll = call(*c, "POST", "/jobs/poll", R"({"job_ids":[")" + id + R"("]})", "user-b");
  CHECK(poll.status == 200);
  CHECK(poll.body["jobs"].Size() == 0);
  auto history = call(*c, "GET", "/jobs", {}, "user-b");
  CHECK(history.body["jobs"].Size() == 0);
  CHECK(call(*c, "POST", "/jobs/" + id + "/cancel", "", "user-b").status == 404);
  wait_for_status(*c, id, "completed", "user-a");
  CHECK(call(*c, "POST", "/jobs/" + id + "/retry", "", "user-b").status == 404);
  // ...while the owner sees it everywhere.
  CHECK(call(*c, "POST", "/jobs/poll", R"({"job_ids":[")" + id + R"("]})", "user-a").body["jobs"].Size() == 1);
  CHECK(call(*c, "GET", "/jobs", {}, "user-a").body["jobs"].Size() == 1);
}

TEST_CASE("poll answers 400 to bad bodies and the server keeps serving", "[api][input]") {
  service_fixture f;
  server_process s{f};
  s.start();
  auto c = s.client();
  auto id = create_job(*c, "noop");
  std::string many = R"({"job_ids":[)";
  for (int i = 0; i < 101; ++i) many += std::string{i ? "," : ""} + "\"" + id + "\"";
  many += "]}";
  for (const std::string& body : {std::string{"not json"}, std::string{R"({"job_ids":"x"})"},
                                  std::string{R"({})"}, std::string{R"([1,2])"}, many,
                                  std::string{R"({"job_ids":["not-a-uuid"]})"},
                                  std::string{R"({"job_ids":[1]})"},
                                  std::string{R"({"job_ids":["')); DROP TABLE jobs; --"]})"}}) {
    auto a = call(*c, "POST", "/jobs/poll", body);
    INFO(body.substr(0, 60));
    CHECK(a.status == 400);
    CHECK(a.body.IsObject());
    CHECK(a.body.HasMember("error"));
    CHECK(a.body.HasMember("code"));
  }
  auto missing = call(*c, "POST", "/jobs/poll", R"({"job_ids":[]})");
  CHECK(missing.status == 200);
  CHECK(call(*c, "POST", "/jobs/poll", R"({"job_ids":[")" + id + R"("]})").body["jobs"].Size() == 1);
  CHECK(call(*c, "GET", "/jobs/not-a-uuid").status == 400);
  CHECK(count_jobs(f) == 1);
}

TEST_CASE("history lists a user's jobs newest first with filters and a cursor", "[api]") {
  service_fixture f;
  server_process s{f};
  s.start();
  auto c = s.client();
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(create_job(*c, "noop"));
  auto failing = create_job(*c, "fail", R"({"transient":false})");
  wait_for_status(*c, failing, "failed");
  for (const auto& id : ids) wait_for_status(*c, id, "completed");
  auto page1 = call(*c, "GET", "/jobs?type=noop&limit=3");
  REQUIRE(page1.body["jobs"].Size() == 3);
  CHECK(std::string{page1.body["jobs"][0]["id"].GetString()} == ids[4]);
  std::string cursor = page1.body["next_before"].GetString();
  auto page2 = call(*c, "GET", "/jobs?type=noop&limit=3&before=" + cursor);
  REQUIRE(page2.body["jobs"].Size() == 2);
  CHECK(std::string{page2.body["jobs"][1]["id"].GetString()} == ids[0]);
  auto failed = call(*c, "GET", "/jobs?status=failed");
  REQUIRE(failed.body["jobs"].Size() == 1);
  CHECK(std::string{failed.body["jobs"][0]["id"].GetString()} == failing);
  CHECK(call(*c, "GET", "/jobs?status=bogus").status == 400);
  CHECK(call(*c, "GET", "/jobs?limit=abc").status == 400);
}

TEST_CASE("creating a job rejects bad input with a clear 4xx", "[api][input]") {
  service_fixture f;
  server_process s{f};
  s.start();
  auto c = s.client();
  CHECK(call(*c, "POST", "/jobs", R"({"type":"no-such-type"})").status == 400);
  CHECK(call(*c, "POST", "/jobs", R"({"data":{}})").status == 400);
  CHECK(call(*c, "POST", "/jobs", R"({"type":"noop","data":[1]})").status == 400);
  CHECK(call(*c, "POST", "/jobs", R"({"type":"noop","data":{"a":"x\u0000y"}})").status == 400);
  std::string deep = R"({"type":"noop","data":)";
  for (int i = 0; i < 5000; ++i) deep += "[";
  CHECK(call(*c, "POST", "/jobs", deep).status == 400);
  CHECK(call(*c, "POST", "/jobs", std::string{"{\"type\":\"noop\",\"x\":\"\xff\xfe\"}"}).status == 400);
  auto wrong_type = c->Post("/jobs", {{"X-User-ID", "user-a"}}, R"({"type":"noop"})", "text/plain");
  REQUIRE(wrong_type);
  CHECK(wrong_type->status == 415);
  CHECK(call(*c, "GET", "/health", {}, "bad user id with spaces").status == 200);
  CHECK(call(*c, "GET", "/jobs", {}, "bad user id with spaces").status == 401);
  CHECK(count_jobs(f) == 0);
}

TEST_CASE("test job types are refused unless ENABLE_TEST_JOBS is set", "[api]") {
  service_fixture f;
  server_process s{f, {{"ENABLE_TEST_JOBS", "0"}}};
  s.start();
  auto c = s.client();
  CHECK(call(*c, "POST", "/jobs", R"({"type":"noop"})").status == 404);
}

namespace {

std::string hs256(const std::string& secret, long exp_offset, const std::string& sub = "jwt-user") {
  jwt_t* jwt = nullptr;
  jwt_new(&jwt);
  if (!sub.empty()) jwt_add_grant(jwt, "sub", sub.c_str());
  jwt_add_grant_int(jwt, "exp", std::time(nullptr) + exp_offset);
  jwt_set_alg(jwt, JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(secret.data()),
              static_cast<int>(secret.size()));
  char* s = jwt_encode_str(jwt);
  std::string out = s;
  free(s);
  jwt_free(jwt);
  return out;
}

int status_with(httplib::Client& c, const std::string& authorization) {
  httplib::Headers h;
  if (!authorization.empty()) h.emplace("Authorization", authorization);
  auto r = c.Get("/jobs", h);
  return r ? r->status : 0;
}

}  // namespace

TEST_CASE("in jwt mode every bad token is answered 401 and a good one names the user", "[api][auth]") {
  service_fixture f;
  const std::string secret = "a-test-secret-of-at-least-32-bytes!!";
  server_process s{f, {{"AUTH_MODE", "jwt"}, {"AUTH_JWT_SECRET", secret}}};
  s.start();
  auto c = s.client();
  CHECK(status_with(*c, "") == 401);
  CHECK(status_with(*c, "Bearer") == 401);
  CHECK(status_with(*c, "Bearer not.a.token") == 401);
  CHECK(status_with(*c, "Bearer " + hs256(secret, -3600)) == 401);              // expired
  CHECK(status_with(*c, "Bearer " + hs256("another-secret-of-32-bytes-long!!", 3600)) == 401);
  CHECK(status_with(*c, "Bearer " + hs256(secret, 3600, "")) == 401);           // no subject
  // alg "none": header {"alg":"none","typ":"JWT"}, payload {"sub":"x","exp":9999999999}
  CHECK(status_with(*c, "Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."
                        "eyJzdWIiOiJ4IiwiZXhwIjo5OTk5OTk5OTk5fQ.") == 401);
  auto r = c->Get("/jobs", {{"Authorization", "Bearer " + hs256(secret, 3600)}});
  REQUIRE(r);
  CHECK(r->status == 200);
  auto bad = c->Get("/jobs", {{"Authorization", "Bearer " + hs256(secret, -3600)}});
  CHECK(bad->body.find("Token expired") != std::string::npos);
  CHECK(bad->body.find(secret) == std::string::npos);
}
