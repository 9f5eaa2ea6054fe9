// Server-Sent Events of jobs, across nodes, and what a stream costs the server (issue 8).
#include <catch2/catch.hpp>
#include <dirent.h>

#include <fstream>

#include "tests/e2e/e2e_support.hpp"
#include "tests/e2e/sse_client.hpp"

using namespace jobserver::testing;

namespace {

int status_field(const sse_event& e, std::string& status) {
  rapidjson::Document d;
  d.Parse(e.data.c_str());
  if (!d.IsObject()) return -1;
  if (d.HasMember("status") && d["status"].IsString()) status = d["status"].GetString();
  return d.HasMember("progress") && d["progress"].IsInt() ? d["progress"].GetInt() : -1;
}

std::string dump(const std::vector<sse_event>& events) {
  std::string out;
  for (const auto& e : events) out += e.id + " " + e.type + " " + e.data.substr(0, 120) + "\n";
  return out;
}

/// Entries of /proc/<pid>/<what> (threads: task, descriptors: fd).
int proc_count(pid_t pid, const char* what) {
  std::string path = "/proc/" + std::to_string(pid) + "/" + what;
  DIR* d = ::opendir(path.c_str());
  if (d == nullptr) return -1;
  int n = 0;
  while (auto* e = ::readdir(d))
    if (e->d_name[0] != '.') ++n;
  ::closedir(d);
  return n;
}


}  // namespace

TEST_CASE("an event stream sends the job's snapshot first, then progress, then completed, and ends",
          "[events]") {
  service_fixture f;
  server_process s{f};
  s.start();
  auto c = s.client();
  auto id = create_job(*c, "sleep", R"({"ms":800,"steps":8})");
  sse_client sse{s.port(), "/jobs/" + id + "/events", "user-a"};
  REQUIRE(sse.wait_end());
  CHECK(sse.status() == 200);
  auto events = sse.events();
  INFO(dump(events));
  REQUIRE(events.size() >= 3);
  CHECK(events.front().type == "snapshot");
  CHECK(events.back().type == "completed");
  int progress_events = 0, last_progress = -1;
  long last_id = -1;
  for (size_t i = 0; i < events.size(); ++i) {
    std::string status;
    int p = status_field(events[i], status);
    CHECK(p >= last_progress);  // progress never goes back
    last_progress = p;
    long id_now = std::stol(events[i].id);
    CHECK(id_now >= last_id);  // ids only rise (the snapshot shares the id of the event it saw)
    if (i > 0) CHECK(id_now > last_id);
    last_id = id_now;
    if (i > 0 && i + 1 < events.size()) {
      CHECK(events[i].type == "progress");
      ++progress_events;
    }
  }
  CHECK(progress_events >= 3);
  std::string final_status;
  CHECK(status_field(events.back(), final_status) == 100);
  CHECK(final_status == "completed");
  // The /api alias serves the same stream; a finished job's stream is its snapshot alone.
  sse_client again{s.port(), "/api/jobs/" + id + "/events", "user-a"};
  REQUIRE(again.wait_end());
  REQUIRE(again.events().size() == 1);
  CHECK(again.events()[0].type == "snapshot");
  CHECK(again.events()[0].id == events.back().id);
}

TEST_CASE("a client resuming with Last-Event-ID receives exactly the events it missed",
          "[events]") {
  service_fixture f;
  server_process s{f};
  s.start();
  auto c = s.client();
  auto id = create_job(*c, "sleep", R"({"ms":600,"steps":6})");
  sse_client first{s.port(), "/jobs/" + id + "/events", "user-a"};
  REQUIRE(first.wait_end());
  auto all = first.events();
  INFO(dump(all));
  REQUIRE(all.size() >= 4);
  // Resume after the second event: no snapshot, the rest in order, the same ids.
  sse_client resumed{s.port(), "/jobs/" + id + "/events", "user-a", all[1].id};
  REQUIRE(resumed.wait_end());
  auto rest = resumed.events();
  INFO("resumed:\n" << dump(rest));
  REQUIRE(rest.size() == all.size() - 2);
  for (size_t i = 0; i < rest.size(); ++i) {
    CHECK(rest[i].id == all[i + 2].id);
    CHECK(rest[i].type == all[i + 2].type);
  }
  // Resuming at the last event of a finished job: nothing is missing, the stream ends.
  sse_client at_end{s.port(), "/jobs/" + id + "/events", "user-a", all.back().id};
  REQUIRE(at_end.wait_end());
  CHECK(at_end.events().empty());
}

TEST_CASE("a Last-Event-ID older than the kept events is answered with a fresh snapshot",
          "[events]") {
  service_fixture f;
  server_process s{f};
  s.start();
  auto c = s.client();
  // More events than Redis keeps per job (64): progress 1..99 and the end.
  auto id = create_job(*c, "sleep", R"({"ms":3000,"steps":100})");
  sse_client first{s.port(), "/jobs/" + id + "/events", "user-a"};
  REQUIRE(first.wait_end());
  auto all = first.events();
  REQUIRE(std::stol(all.back().id) > 66);
  sse_client resumed{s.port(), "/jobs/" + id + "/events", "user-a", "1"};
  REQUIRE(resumed.wait_end());
  auto rest = resumed.events();
  INFO(dump(rest));
  REQUIRE(rest.size() == 1);
  CHECK(rest[0].type == "snapshot");
  CHECK(rest[0].id == all.back().id);
  std::string status;
  status_field(rest[0], status);
  CHECK(status == "completed");
}

TEST_CASE("an idle event stream sends heartbeat comments at the configured interval", "[events]") {
  service_fixture f;
  server_process s{f, {{"SSE_HEARTBEAT_MS", "100"}}};
  s.start();
  auto c = s.client();
  auto id = create_job(*c, "sleep", R"({"ms":1200,"steps":1})");
  sse_client sse{s.port(), "/jobs/" + id + "/events", "user-a"};
  REQUIRE(sse.wait_end());
  INFO(sse.body());
  CHECK(sse.heartbeats() >= 4);
  CHECK(sse.body().find(": heartbeat\n\n") != std::string::npos);
  CHECK(sse.events().back().type == "completed");
}

TEST_CASE("a user cannot subscribe to another user's job", "[events]") {
  service_fixture f;
  server_process s{f, {{"TEST_JOB_CONCURRENCY", "0"}}};  // jobs stay queued
  s.start();
  auto c = s.client();
  auto a_job = create_job(*c, "noop", "{}", "user-a");
  auto b_job = create_job(*c, "noop", "{}", "user-b");
  sse_client foreign{s.port(), "/jobs/" + a_job + "/events", "user-b"};
  REQUIRE(foreign.wait_end());
  CHECK(foreign.status() == 404);
  CHECK(foreign.body().find("\"code\":\"not_found\"") != std::string::npos);
  // The multi-job form leaves the foreign job out.
  sse_client multi{s.port(), "/jobs/events?ids=" + a_job + "," + b_job, "user-b"};
  REQUIRE(multi.wait_events(1));
  auto events = multi.events();
  CHECK(events[0].type == "snapshot");
  CHECK(events[0].data.find(b_job) != std::string::npos);
  CHECK(multi.body().find(a_job) == std::string::npos);
  multi.close();
  // Bad ids are rejected.
  auto bad = call(*c, "GET", "/jobs/events?ids=not-a-uuid", {}, "user-b");
  CHECK(bad.status == 400);
  CHECK(call(*c, "GET", "/jobs/events", {}, "user-b").status == 400);
}

TEST_CASE("a multi-job stream follows every job and ends when the last one finishes", "[events]") {
  service_fixture f;
  server_process s{f};
  s.start();
  auto c = s.client();
  auto quick = create_job(*c, "noop");
  auto slow = create_job(*c, "sleep", R"({"ms":500,"steps":5})");
  sse_client sse{s.port(), "/api/jobs/events?ids=" + quick + "," + slow, "user-a"};
  REQUIRE(sse.wait_end());
  auto events = sse.events();
  INFO(dump(events));
  int snapshots = 0, ends = 0;
  for (const auto& e : events) {
    if (e.type == "snapshot") ++snapshots;
    if (e.type == "completed") ++ends;
    CHECK(e.id.find('.') != std::string::npos);  // one number per job
  }
  CHECK(snapshots == 2);
  CHECK(events.back().type == "completed");
  CHECK(events.back().data.find(slow) != std::string::npos);
  // Resuming with the last id misses nothing and ends at once.
  sse_client again{s.port(), "/jobs/events?ids=" + quick + "," + slow, "user-a", events.back().id};
  REQUIRE(again.wait_end());
  CHECK(again.events().empty());
}

TEST_CASE("a client on one node receives the events of a job run by another node", "[events][cluster]") {
  service_fixture f;
  server_process a{f, {{"TEST_JOB_CONCURRENCY", "0"}, {"NODE_ID", "node-a"}}};
  server_process b{f, {{"NODE_ID", "node-b"}}};
  a.start();
  b.start();
  auto ca = a.client();
  auto id = create_job(*ca, "sleep", R"({"ms":600,"steps":6})");
  sse_client sse{a.port(), "/jobs/" + id + "/events", "user-a"};
  REQUIRE(sse.wait_end());
  auto events = sse.events();
  INFO(dump(events));
  CHECK(events.front().type == "snapshot");
  CHECK(events.back().type == "completed");
  int progress = 0;
  for (const auto& e : events) progress += e.type == "progress" ? 1 : 0;
  CHECK(progress >= 3);
  CHECK(job_column(f, id, "node_id") == "node-b");
}

TEST_CASE("streams that disconnect free their threads and descriptors (1,000 cycles)", "[events]") {
  service_fixture f;
  server_process s{f, {{"TEST_JOB_CONCURRENCY", "0"}, {"SSE_HEARTBEAT_MS", "200"}}};
  s.start();
  auto c = s.client();
  auto id = create_job(*c, "noop");  // stays queued: its stream never ends by itself
  auto warm = [&] {
    sse_client sse{s.port(), "/jobs/" + id + "/events", "user-a"};
    REQUIRE(sse.wait_events(1));
  };
  for (int i = 0; i < 20; ++i) warm();
  auto open_streams = [&] {
    return metric(call(*c, "GET", "/metrics").raw, "jobserver_sse_streams_open");
  };
  REQUIRE(eventually([&] { return open_streams() == 0; }));
  int threads0 = proc_count(s.pid(), "task"), fds0 = proc_count(s.pid(), "fd");
  REQUIRE(threads0 > 0);
  for (int i = 0; i < 1000; ++i) {
    sse_client sse{s.port(), "/jobs/" + id + "/events", "user-a"};
    REQUIRE(sse.wait_events(1));
  }
  // A dropped stream is noticed at its next write (heartbeat): then all is back.
  bool settled = eventually([&] {
    return open_streams() == 0 && proc_count(s.pid(), "task") <= threads0 + 2 &&
           proc_count(s.pid(), "fd") <= fds0 + 2;
  }, std::chrono::seconds(20));
  INFO("threads " << threads0 << " -> " << proc_count(s.pid(), "task") << ", fds " << fds0 << " -> "
                  << proc_count(s.pid(), "fd"));
  CHECK(settled);
  CHECK(call(*c, "GET", "/jobs/" + id).status == 200);  // still serving
}

TEST_CASE("metrics count created, completed, failed and retried jobs and HTTP requests by route",
          "[metrics]") {
  service_fixture f;
  server_process s{f, {{"TEST_BACKOFF_MS", "50"}}};
  s.start();
  auto c = s.client();
  auto before = call(*c, "GET", "/metrics");
  REQUIRE(before.status == 200);
  CHECK(metric(before.raw, R"(jobserver_jobs_created_total{type="noop"})") == -1);
  auto n1 = create_job(*c, "noop"), n2 = create_job(*c, "noop");
  auto bad = create_job(*c, "fail", R"({"transient":true})");  // 3 attempts, then failed
  wait_for_status(*c, n1, "completed");
  wait_for_status(*c, n2, "completed");
  wait_for_status(*c, bad, "failed");
  auto after = call(*c, "GET", "/api/metrics");
  INFO(after.raw);
  CHECK(after.status == 200);
  CHECK(metric(after.raw, R"(jobserver_jobs_created_total{type="noop"})") == 2);
  CHECK(metric(after.raw, R"(jobserver_jobs_completed_total{type="noop"})") == 2);
  CHECK(metric(after.raw, R"(jobserver_jobs_failed_total{type="fail"})") == 1);
  CHECK(metric(after.raw, R"(jobserver_jobs_retried_total{type="fail"})") == 2);
  CHECK(metric(after.raw, R"(jobserver_job_run_seconds_count{type="noop"})") == 2);
  CHECK(metric(after.raw, R"(jobserver_job_claim_seconds_count{type="noop"})") == 2);
  CHECK(metric(after.raw, R"(jobserver_jobs_running{type="noop"})") == 0);
  CHECK(metric(after.raw, R"(jobserver_queue_depth{type="noop"})") == 0);
  CHECK(metric(after.raw, R"(jobserver_http_requests_total{method="GET",route="/jobs/{id}",status="200"})") >= 3);
  CHECK(metric(after.raw, R"(jobserver_http_requests_total{method="POST",route="/jobs",status="202"})") == 3);
  CHECK(after.raw.find(R"(jobserver_http_request_seconds_bucket{method="GET",route="/jobs/{id}",le="+Inf"})") !=
        std::string::npos);
  CHECK(metric(after.raw, R"(jobserver_dependency_up{dependency="redis"})") == 1);
  CHECK(metric(after.raw, R"(jobserver_dependency_up{dependency="postgres"})") == 1);
  CHECK(metric(after.raw, "jobserver_sse_streams_open") == 0);
  CHECK(metric(after.raw, "jobserver_cluster_members") == 1);
  // A raw path never becomes a label: unknown routes count as one series.
  call(*c, "GET", "/no/such/route/123");
  auto last = call(*c, "GET", "/metrics");
  CHECK(last.raw.find("/no/such") == std::string::npos);
  CHECK(metric(last.raw, R"(jobserver_http_requests_total{method="any",route="unmatched",status="404"})") == 1);
}

TEST_CASE("GET /openapi.yaml serves docs/openapi.yaml as built into the binary", "[openapi]") {
  service_fixture f;
  server_process s{f};
  s.start();
  auto c = s.client();
  auto a = call(*c, "GET", "/openapi.yaml");
  REQUIRE(a.status == 200);
  std::ifstream in(std::string{JOBSERVER_SOURCE_DIR} + "/docs/openapi.yaml");
  std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(a.raw == file);
}

TEST_CASE("the cluster members gauge counts this node and the peers it sees", "[metrics][cluster]") {
  service_fixture f;
  int seed_port = free_port(), second_port = free_port();
  auto node_env = [&](const std::string& id, int port) {
    return std::map<std::string, std::string>{{"NODE_ID", id},
                                              {"CLUSTER_PORT", std::to_string(port)},
                                              {"CLUSTER_SEEDS", "127.0.0.1:" + std::to_string(seed_port)},
                                              {"CLUSTER_HEARTBEAT_MS", "250"},
                                              {"CLUSTER_TIMEOUT_MS", "1500"}};
  };
  server_process a{f, node_env("node-0", seed_port)};
  server_process b{f, node_env("node-1", second_port)};
  a.start();
  b.start();
  auto c = a.client();
  auto members = [&] { return metric(call(*c, "GET", "/metrics").raw, "jobserver_cluster_members"); };
  CHECK(eventually([&] { return members() == 2; }));
  b.stop();
  CHECK(eventually([&] { return members() == 1; }));
}

TEST_CASE("beyond SSE_MAX_STREAMS a stream request answers 503 and ordinary requests still work",
          "[events]") {
  service_fixture f;
  server_process s{f, {{"SSE_MAX_STREAMS", "2"}, {"TEST_JOB_CONCURRENCY", "0"}, {"HTTP_THREADS", "4"}}};
  s.start();
  auto c = s.client();
  auto id = create_job(*c, "noop");  // stays queued
  std::vector<std::unique_ptr<sse_client>> open;
  for (int i = 0; i < 2; ++i) {
    open.push_back(std::make_unique<sse_client>(s.port(), "/jobs/" + id + "/events", "user-a"));
    REQUIRE(open.back()->wait_events(1));
  }
  sse_client third{s.port(), "/jobs/" + id + "/events", "user-a"};
  REQUIRE(third.wait_end());
  CHECK(third.status() == 503);
  CHECK(third.body().find("\"code\":\"unavailable\"") != std::string::npos);
  third.close();  // its keep-alive connection would hold a pool thread
  // The two open streams hold no thread of the pool of 4: four keep-alive clients (`c`
  // and three more) are all answered at once. Were the streams on the pool, the last two
  // would wait for a keep-alive timeout (5 s) and give up after 2 s.
  std::vector<std::unique_ptr<httplib::Client>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(s.client());
    clients.back()->set_read_timeout(2, 0);
    CHECK(call(*clients.back(), "GET", "/jobs/" + id).status == 200);
  }
  CHECK(call(*c, "GET", "/jobs/" + id).status == 200);
}
