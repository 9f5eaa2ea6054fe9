// Job statuses answered from the node's memory (persistence/status_memory.hpp): never
// older than what Redis holds, never someone else's.
#include <catch2/catch.hpp>

#include "tests/e2e/e2e_support.hpp"

using namespace jobserver::testing;
using namespace std::chrono_literals;

namespace {

/// `json` with `"priority":5` turned into `"priority":<p>`, as another node's write of a
/// changed status would look.
std::string with_priority(std::string json, int p) {
  auto at = json.find(R"("priority":5)");
  REQUIRE(at != std::string::npos);
  return json.replace(at, 12, R"("priority":)" + std::to_string(p));
}

int priority_of(const answer& a) {
  return a.body.IsObject() && a.body.HasMember("priority") ? a.body["priority"].GetInt() : -1;
}

}  // namespace

TEST_CASE("reads answer what another node wrote to Redis, not the copy held in memory",
          "[api][status_memory]") {
  service_fixture f;
  server_process s{f};
  s.start();
  auto c = s.client();
  auto id = create_job(*c, "noop");
  auto done = wait_for_status(*c, id, "completed");
  for (int i = 0; i < 3; ++i) CHECK(get_job(*c, id).raw == done.raw);  // now held in memory

  // Another node rewrites the status (as its tracker would after a change).
  auto key = f.prefix + ":job:" + id;
  f.redis->command({"HSET", key, "json", with_priority(done.raw, 7)});
  // Well within the memory's own 5 s limit: only Redis' invalidation can explain it.
  CHECK(eventually([&] { return priority_of(get_job(*c, id)) == 7; }, 2s));
  auto poll = call(*c, "POST", "/jobs/poll", R"({"job_ids":[")" + id + R"("]})");
  REQUIRE(poll.body["jobs"].Size() == 1);
  CHECK(poll.body["jobs"][0]["priority"].GetInt() == 7);

  // Deleted from Redis: the answer comes from Postgres again.
  f.redis->command({"DEL", key});
  CHECK(eventually([&] { return priority_of(get_job(*c, id)) == 5; }, 2s));

  auto metrics = call(*c, "GET", "/metrics").raw;
  CHECK(metric(metrics, "jobserver_status_memory_enabled") == 1);
  CHECK(metric(metrics, "jobserver_status_memory_hits_total") >= 2);
}

TEST_CASE("a job held in memory is still 404 for another user, through GET and poll",
          "[api][status_memory][isolation]") {
  service_fixture f;
  server_process s{f};
  s.start();
  auto c = s.client();
  auto id = create_job(*c, "noop");
  wait_for_status(*c, id, "completed");
  get_job(*c, id);
  get_job(*c, id);
  CHECK(call(*c, "GET", "/jobs/" + id, {}, "user-b").status == 404);
  CHECK(call(*c, "POST", "/jobs/poll", R"({"job_ids":[")" + id + R"("]})", "user-b").body["jobs"].Size() == 0);
  CHECK(call(*c, "GET", "/jobs/" + id, {}, "user-a").status == 200);
}

TEST_CASE("a read right after a retry on the same node answers the retried job, not the failed one",
          "[api][status_memory]") {
  service_fixture f;
  server_process s{f};
  s.start();
  auto c = s.client();
  for (int round = 0; round < 10; ++round) {
    auto id = create_job(*c, "fail", R"({"transient":false})");
    wait_for_status(*c, id, "failed");
    auto before = get_job(*c, id);  // held in memory as failed
    auto retried = call(*c, "POST", "/jobs/" + id + "/retry");
    REQUIRE(retried.status == 202);
    auto now = get_job(*c, id);
    INFO("round " << round << ": before the retry " << before.raw << ", after it " << now.raw);
    // The retried run may have failed again already (a fail job takes no time, and the
    // dispatcher is woken by the retry); what must never come back is the answer from
    // before the retry, whose run times are those of the first run.
    CHECK(now.raw != before.raw);
    if (std::string{now.body["status"].GetString()} == "failed")
      CHECK(std::string{now.body["started_at"].GetString()} >=
            std::string{before.body["completed_at"].GetString()});
    CHECK(now.body["attempts"].GetInt() <= 1);
  }
}

TEST_CASE("with STATUS_MEMORY_ENTRIES=0 every read goes to Redis", "[api][status_memory]") {
  service_fixture f;
  server_process s{f, {{"STATUS_MEMORY_ENTRIES", "0"}}};
  s.start();
  auto c = s.client();
  auto id = create_job(*c, "noop");
  auto done = wait_for_status(*c, id, "completed");
  get_job(*c, id);
  f.redis->command({"HSET", f.prefix + ":job:" + id, "json", with_priority(done.raw, 9)});
  CHECK(priority_of(get_job(*c, id)) == 9);  // at once: nothing in between
  CHECK(metric(call(*c, "GET", "/metrics").raw, "jobserver_status_memory_hits_total") <= 0);
}
