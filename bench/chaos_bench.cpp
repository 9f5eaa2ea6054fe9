// Chaos benchmark (scripts/bench.sh chaos): three nodes, rounds of work in which one
// worker node is killed with SIGKILL while it runs jobs and then restarted. Measures the
// time from the kill to the moment none of the killed node's jobs is still held by it
// (requeued with new tokens), and checks that no job is lost and none completes twice.
//
// Env: CHAOS_ROUNDS (20), CHAOS_JOBS per round (24), CHAOS_OUT (a file for the figures),
//      DATABASE_URL / REDIS_URL as for the tests.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "bench/bench_util.hpp"
#include "tests/e2e/cluster_support.hpp"

using namespace jobserver::testing;
using namespace std::chrono_literals;
using jobserver::bench::percentile;

namespace {

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

}  // namespace

TEST_CASE("chaos: kill -9 and restart a worker node every round; nothing lost, nothing twice",
          "[chaos]") {
  const int rounds = env_int("CHAOS_ROUNDS", 20);
  const int per_round = env_int("CHAOS_JOBS", 24);
  service_fixture f;
  // Long leases: only the cluster's own detection can move jobs quickly.
  std::map<std::string, std::string> common{{"LEASE_MS", "20000"}, {"TEST_JOB_CONCURRENCY", "4"},
                                            {"PER_USER_CONCURRENCY", "8"}, {"LOG_LEVEL", "info"},
                                            {"CLUSTER_HEARTBEAT_MS", "500"}, {"CLUSTER_TIMEOUT_MS", "3000"}};
  cluster c{f, 3, common, {api_only}};
  REQUIRE(eventually([&] { return c.all_see({"node-0", "node-1", "node-2"}, {0, 1, 2}); }, 15s));
  auto api = c[0].client();
  std::vector<std::pair<std::string, std::string>> all_jobs;
  std::vector<double> failover_ms;
  int missed = 0;  // rounds in which the victim ran nothing when it was killed
  for (int r = 0; r < rounds; ++r) {
    size_t victim = 1 + static_cast<size_t>(r % 2);
    std::string victim_id = "node-" + std::to_string(victim);
    std::vector<std::pair<std::string, std::string>> jobs;
    for (int i = 0; i < per_round; ++i) {
      std::string user = "user-" + std::to_string(i % 3);
      jobs.emplace_back(create_job(*api, "sleep", R"({"ms":800,"steps":4})", user), user);
    }
    std::vector<std::pair<std::string, std::string>> held;
    bool busy = eventually([&] {
      held.clear();
      for (const auto& [id, user] : jobs) {
        auto j = get_job(*api, id, user);
        if (status_of(j) == "processing" && node_of(j) == victim_id) held.emplace_back(id, user);
      }
      return !held.empty();
    }, 10s);
    c[victim].kill9();
    auto killed = std::chrono::steady_clock::now();
    if (busy) {
      bool moved = eventually([&] {
        for (const auto& [id, user] : held) {
          auto j = get_job(*api, id, user);
          if (status_of(j) == "processing" && node_of(j) == victim_id) return false;
        }
        return true;
      }, 30s);
      CHECK(moved);
      failover_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - killed).count());
    } else {
      ++missed;
    }
    c.restart(victim);
    for (const auto& [id, user] : jobs) wait_for_status(*api, id, "completed", user, 60s);
    all_jobs.insert(all_jobs.end(), jobs.begin(), jobs.end());
    std::printf("round %2d: killed %s holding %zu job(s); moved after %.0f ms\n", r + 1,
                victim_id.c_str(), held.size(), busy ? failover_ms.back() : 0.0);
    std::fflush(stdout);
  }
  auto logs = c.all_logs();
  int lost = 0, twice = 0;
  for (const auto& [id, user] : all_jobs) {
    if (job_column(f, id, "status") != "completed") ++lost;
    if (count_of(logs, "job " + id + " (sleep) completed in") > 1) ++twice;
  }
  std::sort(failover_ms.begin(), failover_ms.end());
  char line[512];
  std::snprintf(line, sizeof(line),
                "rounds=%d jobs=%zu lost=%d completed_twice=%d failover_median_ms=%.0f "
                "failover_p90_ms=%.0f failover_max_ms=%.0f rounds_without_running_jobs=%d",
                rounds, all_jobs.size(), lost, twice, percentile(failover_ms, 50),
                percentile(failover_ms, 90), percentile(failover_ms, 100), missed);
  std::printf("%s\n", line);
  if (const char* out = std::getenv("CHAOS_OUT"); out != nullptr && *out != '\0') std::ofstream(out) << line << "\n";
  CHECK(lost == 0);
  CHECK(twice == 0);
}
