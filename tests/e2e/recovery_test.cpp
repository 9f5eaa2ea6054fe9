// Recovery: crashes, stalled leases, fencing, Redis losing its data or going away,
// readiness, retention (issues 2 and 3).
#include <catch2/catch.hpp>
#include <signal.h>


#include "tests/e2e/cluster_support.hpp"  // read_file

using namespace jobserver::testing;

TEST_CASE("after kill -9 mid-job and a restart the job completes and attempts counts both runs",
          "[recovery]") {
  service_fixture f;
  std::map<std::string, std::string> env{{"LEASE_MS", "1500"}};
  std::string id;
  {
    server_process s{f, env};
    s.start();
    auto c = s.client();
    id = create_job(*c, "sleep", R"({"ms":2000,"steps":20})");
    wait_for_status(*c, id, "processing");
    s.kill9();
  }
  server_process again{f, env};
  again.start();
  auto c = again.client();
  auto job = wait_for_status(*c, id, "completed", "user-a", std::chrono::seconds(20));
  CHECK(job.body["attempts"].GetInt() == 2);
  CHECK(job.body["progress"].GetInt() == 100);
}

TEST_CASE("a node that stalls past its lease loses the job and its late writes are rejected",
          "[recovery][fencing]") {
  service_fixture f;
  std::map<std::string, std::string> env{{"LEASE_MS", "1000"}};
  server_process a{f, env};
  a.start();
  auto ca = a.client();
  auto id = create_job(*ca, "sleep", R"({"ms":2500,"steps":25})");
  wait_for_status(*ca, id, "processing");
  a.pause();  // hung, not dead: its TCP connections stay open
  server_process b{f, env};
  b.start();
  auto cb = b.client();
  // B's reaper finds the expired lease, requeues the job with a new token, runs it.
  auto job = wait_for_status(*cb, id, "completed", "user-a", std::chrono::seconds(20));
  CHECK(job.body["attempts"].GetInt() == 2);
  auto completed_at = std::string{job.body["completed_at"].GetString()};
  a.signal(SIGCONT);
  // A wakes up with a stale token: it learns it lost the lease and changes nothing.
  bool noticed = eventually([&] {
    auto log = read_file(a.log_path());
    return log.find("lease lost") != std::string::npos;
  }, std::chrono::seconds(10));
  CHECK(noticed);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CHECK(job_column(f, id, "iso_utc(completed_at)") == completed_at);
  CHECK(job_column(f, id, "attempts") == "2");
  CHECK(job_column(f, id, "status") == "completed");
}

TEST_CASE("jobs are restored from Postgres when Redis loses the queue", "[recovery]") {
  service_fixture f;
  server_process s{f, {{"TEST_JOB_CONCURRENCY", "1"}, {"RECONCILE_INTERVAL_SECONDS", "1"}}};
  s.start();
  auto c = s.client();
  auto first = create_job(*c, "sleep", R"({"ms":1500,"steps":5})");
  wait_for_status(*c, first, "processing");
  std::vector<std::string> waiting;
  for (int i = 0; i < 4; ++i) waiting.push_back(create_job(*c, "noop"));
  // Every key of this server, queue and status alike, is gone (as after FLUSHALL).
  f.clear_redis();
  for (const auto& id : waiting) wait_for_status(*c, id, "completed", "user-a", std::chrono::seconds(20));
  wait_for_status(*c, first, "completed", "user-a", std::chrono::seconds(20));
}

TEST_CASE("retention deletes finished jobs older than JOB_RETENTION_HOURS from both stores",
          "[recovery][retention]") {
  service_fixture f;
  std::string old_id, fresh_id;
  {
    server_process s{f};
    s.start();
    auto c = s.client();
    old_id = create_job(*c, "noop");
    fresh_id = create_job(*c, "noop");
    wait_for_status(*c, old_id, "completed");
    wait_for_status(*c, fresh_id, "completed");
    s.stop();
  }
  f.db->as_system([&](pqxx::work& tx) {
    tx.exec_params("UPDATE jobs SET completed_at = now() - interval '25 hours' WHERE id = $1::uuid", old_id);
  });
  // The janitor runs retention shortly after start, then every CLEANUP_INTERVAL_MINUTES.
  server_process s{f, {{"JOB_RETENTION_HOURS", "24"}}};
  s.start();
  auto c = s.client();
  bool gone = eventually([&] { return call(*c, "GET", "/jobs/" + old_id).status == 404; },
                         std::chrono::seconds(15));
  CHECK(gone);
  CHECK(job_column(f, old_id, "status").empty());
  CHECK(f.redis->command({"EXISTS", f.prefix + ":job:" + old_id}).integer == 0);
  CHECK(get_job(*c, fresh_id).status == 200);
}

TEST_CASE("while Redis is down creation answers 503 and leaves nothing, running jobs go on, "
          "and all works again when it returns",
          "[recovery][outage]") {
  service_fixture f;
  server_process s{f, {{"LEASE_MS", "8000"}}};
  s.start();
  auto c = s.client();
  auto running = create_job(*c, "sleep", R"({"ms":2500,"steps":25})");
  wait_for_status(*c, running, "processing");
  long before = count_jobs(f);
  REQUIRE(run_script("scripts/services.sh stop-redis") == 0);
  auto refused = call(*c, "POST", "/jobs", R"({"type":"noop"})");
  CHECK(refused.status == 503);
  CHECK(std::string{refused.body["error"].GetString()} == "Job queue unavailable");
  CHECK(count_jobs(f) == before);
  auto ready = call(*c, "GET", "/ready");
  CHECK(ready.status == 503);
  CHECK(std::string{ready.body["checks"]["redis"].GetString()} == "down");
  CHECK(std::string{ready.body["checks"]["postgres"].GetString()} == "up");
  // Status reads fall back to Postgres.
  CHECK(call(*c, "GET", "/jobs/" + running).status == 200);
  REQUIRE(run_script("scripts/services.sh start-redis") == 0);
  auto job = wait_for_status(*c, running, "completed", "user-a", std::chrono::seconds(20));
  CHECK(job.body["attempts"].GetInt() == 1);  // it went on; it did not start over
  bool ready_again = eventually([&] { return call(*c, "GET", "/ready").status == 200; });
  CHECK(ready_again);
  auto id = create_job(*c, "noop");
  wait_for_status(*c, id, "completed");
}

TEST_CASE("the server stops cleanly on SIGTERM and exits 0", "[recovery]") {
  service_fixture f;
  server_process s{f};
  s.start();
  CHECK(s.stop() == 0);
}
