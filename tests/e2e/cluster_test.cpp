// Clustering (issue 6): several jobserver processes on one Postgres and one Redis that
// find each other through CAF, share the work, fail over when one dies or hangs, carry
// cancels to the node running a job, and stop gracefully.
#include <catch2/catch.hpp>
#include <signal.h>

#include <atomic>
#include <set>
#include <thread>

#include "tests/e2e/cluster_support.hpp"

using namespace jobserver::testing;
using namespace std::chrono_literals;

TEST_CASE("nodes join through a seed, learn each other, and /cluster shows roles and capacity",
          "[cluster]") {
  service_fixture f;
  cluster c{f, 3, {}, {{}, api_only, {{"TEST_JOB_CONCURRENCY", "5"}}}};
  std::set<std::string> all{"node-0", "node-1", "node-2"};
  // node-2 only knows the seed (node-0) and learns node-1 from it.
  REQUIRE(eventually([&] { return c.all_see(all, {0, 1, 2}); }, 10s));
  auto client = c[2].client();
  auto a = call(*client, "GET", "/cluster");
  REQUIRE(a.status == 200);
  CHECK(std::string{a.body["node"].GetString()} == "node-2");
  CHECK(a.body["clustered"].GetBool());
  for (const auto& n : a.body["nodes"].GetArray()) {
    std::string id = n["id"].GetString();
    CHECK(n["address"].IsString());
    CHECK(n["cluster_address"].IsString());
    CHECK(n["last_contact"].IsString());
    int cap = n["capacity"]["sleep"].GetInt();
    CHECK(n["running"]["sleep"].GetInt() == 0);
    std::set<std::string> roles;
    for (const auto& r : n["roles"].GetArray()) roles.insert(r.GetString());
    CHECK(roles.count("api") == 1);
    if (id == "node-1") {
      CHECK(cap == 0);
      CHECK(n["capacity"]["upload_pdf"].GetInt() == 0);
      CHECK(roles.count("worker") == 0);  // an API-only node
    } else {
      CHECK(roles.count("worker") == 1);
      CHECK(cap == (id == "node-2" ? 5 : 8));
    }
  }
}

TEST_CASE("an API-only node runs nothing and its jobs run on worker nodes", "[cluster]") {
  service_fixture f;
  cluster c{f, 2, {}, {api_only, {}}};
  auto api = c[0].client();
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(create_job(*api, "noop"));
  for (const auto& id : ids) {
    auto job = wait_for_status(*api, id, "completed");
    CHECK(node_of(job) == "node-1");
  }
}

TEST_CASE("kill -9 of a node: its jobs are requeued within 3 s, every job completes exactly once, "
          "and the survivors drop it from /cluster",
          "[cluster][failover]") {
  service_fixture f;
  // Leases long enough that only CAF's detection (not lease expiry) can explain a quick move.
  constexpr size_t slots = 4;  // jobs a node runs at once
  cluster c{f, 3, {{"LEASE_MS", "20000"}, {"TEST_JOB_CONCURRENCY", std::to_string(slots)},
                   {"PER_USER_CONCURRENCY", "8"}}};
  std::set<std::string> all{"node-0", "node-1", "node-2"};
  REQUIRE(eventually([&] { return c.all_see(all, {0, 1, 2}); }, 10s));
  auto api = c[0].client();
  std::vector<std::pair<std::string, std::string>> jobs;  // id, user
  for (int i = 0; i < 60; ++i) {
    std::string user = "user-" + std::to_string(i % 3);
    jobs.emplace_back(create_job(*api, "sleep", R"({"ms":1200,"steps":6})", user), user);
  }
  // Wait until node-1 runs some of them, then kill it.
  std::vector<std::pair<std::string, std::string>> on_victim;
  REQUIRE(eventually([&] {
    on_victim.clear();
    for (const auto& [id, user] : jobs) {
      auto j = get_job(*api, id, user);
      if (status_of(j) == "processing" && node_of(j) == "node-1") on_victim.emplace_back(id, user);
    }
    return !on_victim.empty();
  }, 20s));
  c[1].kill9();
  auto killed_at = std::chrono::steady_clock::now();
  bool moved = eventually([&] {
    for (const auto& [id, user] : on_victim) {
      auto j = get_job(*api, id, user);
      if (status_of(j) == "processing" && node_of(j) == "node-1") return false;
    }
    return true;
  }, 10s);
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - killed_at);
  INFO("jobs of the killed node moved after " << took.count() << " ms");
  CHECK(moved);
  CHECK(took < 3s);
  REQUIRE(eventually([&] { return c.all_see({"node-0", "node-2"}, {0, 2}); }, 10s));
  for (const auto& [id, user] : jobs) wait_for_status(*api, id, "completed", user, 60s);
  // Each job has at most one completion line. A job may have none only if node-1 recorded
  // its completion in Postgres and was killed before writing the line (the line follows the
  // commit); a survivor always writes it, and at most node-1's running jobs can be cut so.
  auto logs = c.all_logs();
  size_t cut_off = 0;
  for (const auto& [id, user] : jobs) {
    INFO("job " << id);
    auto lines = count_of(logs, "job " + id + " (sleep) completed in");
    CHECK(lines <= 1);
    if (lines == 0) {
      CHECK(job_column(f, id, "node_id") == "node-1");
      ++cut_off;
    }
  }
  CHECK(cut_off <= slots);
  CHECK(count_of(logs, "node node-1 is down") >= 1);
}

TEST_CASE("a node stopped longer than its lease loses its jobs to the others and its late "
          "writes change nothing",
          "[cluster][failover][fencing]") {
  service_fixture f;
  cluster c{f, 2, {{"LEASE_MS", "2000"}, {"TEST_JOB_CONCURRENCY", "3"}, {"PER_USER_CONCURRENCY", "8"}},
            {{{"TEST_JOB_CONCURRENCY", "0"}}, {}}};
  REQUIRE(eventually([&] { return c.all_see({"node-0", "node-1"}, {0, 1}); }, 10s));
  auto api = c[0].client();
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(create_job(*api, "sleep", R"({"ms":2500,"steps":25})"));
  for (const auto& id : ids) wait_for_status(*api, id, "processing");
  c[1].pause();
  // node-0 runs nothing itself; a third node takes the work once node-1's jobs are freed.
  auto helper = c.make(2, {{"LEASE_MS", "2000"}, {"TEST_JOB_CONCURRENCY", "3"}, {"PER_USER_CONCURRENCY", "8"}}, {});
  helper->start();
  std::this_thread::sleep_for(3s);  // longer than the lease
  std::map<std::string, std::string> finished_at;
  for (const auto& id : ids) {
    auto job = wait_for_status(*api, id, "completed", "user-a", 30s);
    CHECK(node_of(job) == "node-2");
    finished_at[id] = job.body["completed_at"].GetString();
  }
  c[1].signal(SIGCONT);
  // node-1 wakes with stale tokens: it learns the leases are gone and writes nothing.
  CHECK(eventually([&] { return read_file(c[1].log_path()).find("lease lost") != std::string::npos; }, 10s));
  std::this_thread::sleep_for(1s);
  auto logs = c.all_logs() + read_file(helper->log_path());
  for (const auto& id : ids) {
    CHECK(job_column(f, id, "status") == "completed");
    CHECK(job_column(f, id, "iso_utc(completed_at)") == finished_at[id]);
    CHECK(count_of(logs, "job " + id + " (sleep) completed in") == 1);
  }
  helper->kill9();
}

TEST_CASE("cancelling through one node stops the job running on another within a second or two",
          "[cluster]") {
  service_fixture f;
  // Lease renewals every 10 s: a stop within 5 s can only come through the cluster.
  cluster c{f, 2, {{"LEASE_MS", "30000"}}, {{{"TEST_JOB_CONCURRENCY", "0"}}, {}}};
  REQUIRE(eventually([&] { return c.all_see({"node-0", "node-1"}, {0, 1}); }, 10s));
  auto api = c[0].client();
  auto id = create_job(*api, "sleep", R"({"ms":60000,"steps":600})");
  auto running = wait_for_status(*api, id, "processing");
  REQUIRE(node_of(running) == "node-1");
  auto cancelled_at = std::chrono::steady_clock::now();
  REQUIRE(call(*api, "POST", "/jobs/" + id + "/cancel").status == 200);
  auto job = wait_for_status(*api, id, "failed", "user-a", 5s);
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - cancelled_at);
  INFO("stopped after " << took.count() << " ms");
  CHECK(job.body["cancelled"].GetBool());
  CHECK(std::string{job.body["error"].GetString()} == "Cancelled");
}

TEST_CASE("progress of a job running on one node is visible through another node's API",
          "[cluster]") {
  service_fixture f;
  cluster c{f, 2, {}, {{{"TEST_JOB_CONCURRENCY", "0"}}, {}}};
  auto api = c[0].client();
  auto id = create_job(*api, "sleep", R"({"ms":3000,"steps":10})");
  std::set<int> seen;
  wait_for_status(*api, id, "processing");
  eventually([&] {
    auto j = get_job(*api, id);
    seen.insert(j.body["progress"].GetInt());
    return status_of(j) == "completed";
  }, 20s);
  CHECK(seen.size() >= 3);  // several distinct values between 0 and 100
}

TEST_CASE("a batch of work spreads over the worker nodes and all of it completes", "[cluster]") {
  service_fixture f;
  cluster c{f, 3, {{"TEST_JOB_CONCURRENCY", "2"}, {"PER_USER_CONCURRENCY", "8"}}};
  REQUIRE(eventually([&] { return c.all_see({"node-0", "node-1", "node-2"}, {0, 1, 2}); }, 10s));
  auto api = c[1].client();
  std::vector<std::string> ids;
  for (int i = 0; i < 24; ++i) ids.push_back(create_job(*api, "sleep", R"({"ms":300,"steps":3})"));
  std::set<std::string> ran_on;
  for (const auto& id : ids) ran_on.insert(node_of(wait_for_status(*api, id, "completed", "user-a", 30s)));
  CHECK(ran_on.size() == 3);
}

TEST_CASE("SIGTERM lets running jobs finish, leaves the cluster without a failover, and exits 0",
          "[cluster][shutdown]") {
  service_fixture f;
  cluster c{f, 2, {{"SHUTDOWN_GRACE_SECONDS", "20"}}, {{{"TEST_JOB_CONCURRENCY", "0"}}, {}}};
  REQUIRE(eventually([&] { return c.all_see({"node-0", "node-1"}, {0, 1}); }, 10s));
  auto api = c[0].client();
  std::vector<std::string> ids;
  for (int i = 0; i < 2; ++i) ids.push_back(create_job(*api, "sleep", R"({"ms":2000,"steps":10})"));
  for (const auto& id : ids) wait_for_status(*api, id, "processing");
  CHECK(c[1].stop(30s) == 0);
  for (const auto& id : ids) {
    auto job = get_job(*api, id);
    CHECK(status_of(job) == "completed");  // finished during the grace period, on node-1
    CHECK(job.body["attempts"].GetInt() == 1);
  }
  CHECK(eventually([&] { return c.all_see({"node-0"}, {0}); }, 5s));
  auto log0 = read_file(c[0].log_path());
  INFO("node-0's log:\n" << log0);
  CHECK(log0.find("node node-1 left the cluster") != std::string::npos);
  CHECK(log0.find("node node-1 is down") == std::string::npos);
}

TEST_CASE("a stopping node waits only a bounded time for a peer that does not acknowledge its "
          "departure, and still exits 0",
          "[cluster][shutdown]") {
  service_fixture f;
  // A cluster timeout long enough that node-1 is still waiting for the answer when it
  // stops, not already counting node-0 as down.
  cluster c{f, 2, {{"SHUTDOWN_GRACE_SECONDS", "5"}, {"CLUSTER_TIMEOUT_MS", "4000"}}};
  REQUIRE(eventually([&] { return c.all_see({"node-0", "node-1"}, {0, 1}); }, 10s));
  c[0].pause();  // hung: its connections stay open, nothing answers
  auto stopped_at = std::chrono::steady_clock::now();
  CHECK(c[1].stop(30s) == 0);
  auto took = std::chrono::steady_clock::now() - stopped_at;
  c[0].signal(SIGCONT);
  INFO("node-1 stopped after " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                               << " ms");
  CHECK(took < 10s);
  auto log1 = read_file(c[1].log_path());
  INFO("node-1's log:\n" << log1);
  CHECK(log1.find("node node-0 did not acknowledge this node's departure") != std::string::npos);
  // The hung node, once it runs again, drops the departed one.
  CHECK(eventually([&] { return c.all_see({"node-0"}, {0}); }, 10s));
}

TEST_CASE("SIGTERM past the grace period hands unfinished jobs back and another node runs them",
          "[cluster][shutdown]") {
  service_fixture f;
  cluster c{f, 2, {{"SHUTDOWN_GRACE_SECONDS", "1"}, {"MAX_STALLS", "0"}},
            {{{"TEST_JOB_CONCURRENCY", "0"}}, {}}};
  auto api = c[0].client();
  auto id = create_job(*api, "sleep", R"({"ms":8000,"steps":80})");
  REQUIRE(node_of(wait_for_status(*api, id, "processing")) == "node-1");
  auto stopped_at = std::chrono::steady_clock::now();
  CHECK(c[1].stop(30s) == 0);
  CHECK(std::chrono::steady_clock::now() - stopped_at < 10s);
  // Handed back, not stalled: with MAX_STALLS=0 a stall would have failed it.
  CHECK(job_column(f, id, "status") == "queued");
  auto worker = c.make(2, {}, {});
  worker->start();
  auto job = wait_for_status(*api, id, "completed", "user-a", 30s);
  CHECK(node_of(job) == "node-2");
  CHECK(read_file(c[1].log_path()).find("handed back") != std::string::npos);
  worker->kill9();
}

TEST_CASE("Redis and then Postgres restart under load: 503s only during the outages, every "
          "accepted job finishes, no restart of jobserver needed",
          "[cluster][outage]") {
  service_fixture f;
  cluster c{f, 2, {{"TEST_JOB_CONCURRENCY", "4"}, {"PER_USER_CONCURRENCY", "8"}}};
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<std::string> accepted;
  std::vector<std::chrono::steady_clock::time_point> refusals;
  std::vector<std::pair<std::chrono::steady_clock::time_point, std::chrono::steady_clock::time_point>> outages;
  int other_errors = 0;
  std::thread load([&] {
    auto client = c[0].client();
    client->set_read_timeout(15, 0);
    while (!stop) {
      auto a = call(*client, "POST", "/jobs", R"({"type":"noop"})");
      std::lock_guard<std::mutex> g{mu};
      if (a.status == 202) accepted.push_back(a.body["job_id"].GetString());
      else if (a.status == 503) refusals.push_back(std::chrono::steady_clock::now());
      else ++other_errors;
      if (!accepted.empty()) call(*client, "GET", "/jobs/" + accepted.back());
      std::this_thread::sleep_for(20ms);
    }
  });
  auto outage = [&](const std::string& stop_cmd, const std::string& start_cmd) {
    std::this_thread::sleep_for(1500ms);
    auto from = std::chrono::steady_clock::now();
    REQUIRE(run_script(stop_cmd) == 0);
    std::this_thread::sleep_for(1500ms);
    REQUIRE(run_script(start_cmd) == 0);
    // Reconnection is throttled; allow a few seconds after the service is back.
    outages.emplace_back(from, std::chrono::steady_clock::now() + 5s);
  };
  outage("scripts/services.sh stop-redis", "scripts/services.sh start-redis");
  outage("scripts/services.sh stop-postgres", "scripts/services.sh start-postgres");
  std::this_thread::sleep_for(3s);
  stop = true;
  load.join();
  CHECK(other_errors == 0);
  CHECK_FALSE(refusals.empty());
  for (auto t : refusals) {
    bool inside = false;
    for (const auto& [from, to] : outages) inside = inside || (t >= from && t <= to);
    CHECK(inside);
  }
  auto api = c[1].client();
  for (const auto& id : accepted) wait_for_status(*api, id, "completed", "user-a", 60s);
  CHECK(accepted.size() > 50);
}
