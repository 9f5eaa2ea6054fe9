#include "persistence/job_queue.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "persistence/redis.hpp"
#include "tests/support/test_env.hpp"

using jobserver::persistence::claimed_job;
using jobserver::persistence::job_queue;
using jobserver::persistence::lease_state;
using jobserver::persistence::queue_entry;
using namespace std::chrono_literals;

namespace {

constexpr int no_limit = 1000000;
constexpr int long_lease = 60000;

/// A queue of type "noop" under the fixture's own key prefix.
struct queue_fixture : jobserver::testing::service_fixture {
  job_queue q{prefix, "noop"};

  int add(const std::string& id, const std::string& owner, int prio = 5, int64_t min_token = 0) {
    queue_entry e;
    e.id = id;
    e.owner_id = owner;
    e.priority = prio;
    e.max_attempts = 3;
    e.min_token = min_token;
    return q.enqueue(*redis, {e});
  }

  std::vector<claimed_job> claim(int count, int limit = no_limit, int lease_ms = long_lease,
                                 const std::string& node = "node-1") {
    return q.claim(*redis, node, count, lease_ms, limit);
  }

  claimed_job claim_one(int limit = no_limit, int lease_ms = long_lease,
                        const std::string& node = "node-1") {
    auto got = claim(1, limit, lease_ms, node);
    REQUIRE(got.size() == 1);
    return got.front();
  }

  lease_state beat(const std::string& id, int64_t token) {
    return q.heartbeat(*redis, {{id, token}}, long_lease).at(0);
  }
};

std::vector<std::string> ids_of(const std::vector<claimed_job>& jobs) {
  std::vector<std::string> out;
  for (const auto& j : jobs) out.push_back(j.id);
  return out;
}

std::vector<std::string> owners_of(const std::vector<claimed_job>& jobs) {
  std::vector<std::string> out;
  for (const auto& j : jobs) out.push_back(j.owner_id);
  return out;
}

}  // namespace

TEST_CASE_METHOD(queue_fixture,
                 "a user with one job is served within two claims while another has a thousand queued",
                 "[queue]") {
  std::vector<queue_entry> many;
  for (int i = 0; i < 1000; ++i) many.push_back({"a-" + std::to_string(i), "A"});
  REQUIRE(q.enqueue(*redis, many) == 1000);
  REQUIRE(add("b-0", "B") == 1);

  auto first = claim_one();
  auto second = claim_one();
  CHECK((first.id == "b-0" || second.id == "b-0"));
  CHECK(first.owner_id != second.owner_id);
}

TEST_CASE_METHOD(queue_fixture, "claims go round robin over the users with waiting jobs",
                 "[queue]") {
  for (const char* owner : {"A", "B", "C"})
    for (int i = 0; i < 3; ++i) add(std::string{owner} + std::to_string(i), owner);

  auto batch = claim(6);
  CHECK(owners_of(batch) == std::vector<std::string>{"A", "B", "C", "A", "B", "C"});
  std::vector<std::string> rest;
  for (int i = 0; i < 3; ++i) rest.push_back(claim_one().owner_id);
  CHECK(rest == std::vector<std::string>{"A", "B", "C"});
  CHECK(claim(10).empty());
}

TEST_CASE_METHOD(queue_fixture, "a job of higher priority is claimed before older jobs of lower priority",
                 "[queue]") {
  add("low-a", "A", 1);
  add("low-b", "B", 1);
  add("mid-b", "B", 5);
  add("high-a", "A", 9);

  CHECK(ids_of(claim(4)) == std::vector<std::string>{"high-a", "mid-b", "low-a", "low-b"});
}

TEST_CASE_METHOD(queue_fixture, "one user's jobs are claimed in the order they were queued",
                 "[queue]") {
  for (int i = 0; i < 5; ++i) add("a-" + std::to_string(i), "A");
  std::vector<std::string> got;
  for (int i = 0; i < 5; ++i) got.push_back(claim_one().id);
  CHECK(got == std::vector<std::string>{"a-0", "a-1", "a-2", "a-3", "a-4"});
}

TEST_CASE_METHOD(queue_fixture, "a user running as many jobs as the limit gets no more until one ends",
                 "[queue]") {
  for (int i = 0; i < 5; ++i) add("a-" + std::to_string(i), "A");
  auto running = claim(5, 2);
  REQUIRE(running.size() == 2);
  CHECK(claim(5, 2).empty());

  add("b-0", "B");  // another user is not held up by A's limit
  CHECK(ids_of(claim(5, 2)) == std::vector<std::string>{"b-0"});

  REQUIRE(q.ack(*redis, running[0].id, running[0].token));
  auto next = claim(5, 2);
  REQUIRE(next.size() == 1);
  CHECK(next[0].id == "a-2");
  CHECK(q.leased(*redis) == 3);
}

TEST_CASE_METHOD(queue_fixture, "every claim hands out a larger token than any before and than the stored one",
                 "[queue]") {
  const int64_t stored = 4'000'000'000'000'000;  // far above the clock-based tokens
  add("a-0", "A", 5, stored);
  add("a-1", "A");
  add("a-2", "A");

  auto t0 = claim_one().token;
  auto t1 = claim_one().token;
  auto t2 = claim_one().token;
  CHECK(t0 > stored);
  CHECK(t1 > t0);
  CHECK(t2 > t1);
}

TEST_CASE_METHOD(queue_fixture, "a heartbeat with a token that no longer holds reports the lease lost",
                 "[queue]") {
  add("a-0", "A");
  auto job = claim_one();
  auto states = q.heartbeat(*redis, {{job.id, job.token}, {job.id, job.token - 1}, {"nope", 1}},
                            long_lease);
  CHECK(states == std::vector<lease_state>{lease_state::held, lease_state::lost, lease_state::lost});
  CHECK(q.heartbeat(*redis, {}, long_lease).empty());
}

TEST_CASE_METHOD(queue_fixture, "heartbeats keep a lease from expiring", "[queue]") {
  add("a-0", "A");
  auto job = claim_one(no_limit, 300);
  for (int i = 0; i < 6; ++i) {
    std::this_thread::sleep_for(100ms);
    REQUIRE(q.heartbeat(*redis, {{job.id, job.token}}, 300).at(0) == lease_state::held);
  }
  CHECK(q.reap(*redis, 5).empty());
  std::this_thread::sleep_for(450ms);
  CHECK(q.reap(*redis, 5).size() == 1);
}

TEST_CASE_METHOD(queue_fixture, "an ack with a stale token is refused and the job stays leased",
                 "[queue]") {
  add("a-0", "A");
  auto job = claim_one();
  CHECK_FALSE(q.ack(*redis, job.id, job.token - 1));
  CHECK(q.leased(*redis) == 1);
  CHECK(beat(job.id, job.token) == lease_state::held);

  CHECK(q.ack(*redis, job.id, job.token));
  CHECK(q.leased(*redis) == 0);
  CHECK_FALSE(q.ack(*redis, job.id, job.token));
  CHECK(q.known(*redis, {job.id}) == std::vector<bool>{false});
}

TEST_CASE_METHOD(queue_fixture, "a job put back with retry_later is claimable again only after the delay",
                 "[queue]") {
  add("a-0", "A");
  add("a-1", "A");
  auto job = claim_one(1);
  REQUIRE(job.id == "a-0");
  REQUIRE(job.attempts == 1);

  CHECK_FALSE(q.retry_later(*redis, job.id, job.token - 1, 400));
  REQUIRE(q.retry_later(*redis, job.id, job.token, 400));
  CHECK(q.delayed(*redis) == 1);
  CHECK(q.leased(*redis) == 0);
  CHECK(beat(job.id, job.token) == lease_state::lost);

  // The user's running slot was freed: the next job runs meanwhile.
  auto other = claim_one(1);
  CHECK(other.id == "a-1");
  REQUIRE(q.ack(*redis, other.id, other.token));
  CHECK(claim(5, 1).empty());

  std::this_thread::sleep_for(500ms);
  auto again = claim(5, 1);
  REQUIRE(again.size() == 1);
  CHECK(again[0].id == "a-0");
  CHECK(again[0].attempts == 2);
  CHECK(again[0].token > other.token);
  CHECK(q.delayed(*redis) == 0);
}

TEST_CASE_METHOD(queue_fixture, "an expired lease is requeued first with a new token until it stalled too often",
                 "[queue]") {
  const int max_stalls = 1;
  add("a-0", "A");
  add("a-1", "A");
  auto job = claim_one(1, 200);
  CHECK(q.reap(*redis, max_stalls).empty());  // not expired yet

  std::this_thread::sleep_for(300ms);
  auto stalled = q.reap(*redis, max_stalls);
  REQUIRE(stalled.size() == 1);
  CHECK(stalled[0].id == "a-0");
  CHECK(stalled[0].new_token > job.token);
  CHECK_FALSE(stalled[0].failed);
  CHECK(q.leased(*redis) == 0);
  CHECK(beat(job.id, job.token) == lease_state::lost);

  auto second = claim_one(1, 200);  // back at the front, ahead of a-1
  CHECK(second.id == "a-0");
  CHECK(second.attempts == 2);
  CHECK(second.token > stalled[0].new_token);

  std::this_thread::sleep_for(300ms);
  auto failed = q.reap(*redis, max_stalls);
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].id == "a-0");
  CHECK(failed[0].failed);
  CHECK(q.known(*redis, {"a-0"}) == std::vector<bool>{false});

  // Gone for good, and its running slot is free again (limit 1).
  auto next = claim(5, 1);
  CHECK(ids_of(next) == std::vector<std::string>{"a-1"});
}

TEST_CASE_METHOD(queue_fixture, "requeue_node takes back only the jobs of that node", "[queue]") {
  add("a-0", "A");
  add("b-0", "B");
  auto on_one = claim_one(no_limit, long_lease, "node-1");
  auto on_two = claim_one(no_limit, long_lease, "node-2");

  auto moved = q.requeue_node(*redis, "node-1", 5);
  REQUIRE(moved.size() == 1);
  CHECK(moved[0].id == on_one.id);
  CHECK_FALSE(moved[0].failed);
  CHECK(q.leased(*redis) == 1);
  CHECK(beat(on_two.id, on_two.token) == lease_state::held);
  CHECK(beat(on_one.id, on_one.token) == lease_state::lost);

  auto taken = claim_one(no_limit, long_lease, "node-3");
  CHECK(taken.id == on_one.id);
  CHECK(q.requeue_node(*redis, "node-1", 5).empty());
}

TEST_CASE_METHOD(queue_fixture, "jobs handed back by a stopping node are not counted as stalls",
                 "[queue]") {
  add("a-0", "A");
  // With max_stalls 0 a single stall fails the job; handing it back must not.
  for (int round = 0; round < 3; ++round) {
    auto held = claim_one(no_limit, long_lease, "node-1");
    auto back = q.requeue_node(*redis, "node-1", 0, true);
    REQUIRE(back.size() == 1);
    CHECK_FALSE(back[0].failed);
    CHECK(back[0].new_token > held.token);
    CHECK(beat(held.id, held.token) == lease_state::lost);
  }
  claim_one(no_limit, long_lease, "node-1");
  auto down = q.requeue_node(*redis, "node-1", 0);
  REQUIRE(down.size() == 1);
  CHECK(down[0].failed);
}

TEST_CASE_METHOD(queue_fixture, "removing a waiting job drops it and removing a running job flags it",
                 "[queue]") {
  add("a-0", "A");
  add("a-1", "A");
  CHECK(q.remove(*redis, "a-0") == 1);
  CHECK(q.known(*redis, {"a-0", "a-1"}) == std::vector<bool>{false, true});

  auto running = claim(10);
  REQUIRE(ids_of(running) == std::vector<std::string>{"a-1"});
  CHECK(q.remove(*redis, "a-1") == 2);
  CHECK(beat("a-1", running[0].token) == lease_state::cancel_requested);
  CHECK(q.known(*redis, {"a-1"}) == std::vector<bool>{true});
  CHECK(q.remove(*redis, "nope") == 0);
}

TEST_CASE_METHOD(queue_fixture, "removing a job that waits for a retry keeps it from coming back",
                 "[queue]") {
  add("a-0", "A");
  auto job = claim_one();
  REQUIRE(q.retry_later(*redis, job.id, job.token, 200));
  CHECK(q.remove(*redis, job.id) == 1);
  CHECK(q.delayed(*redis) == 0);
  std::this_thread::sleep_for(300ms);
  CHECK(claim(10).empty());
}

TEST_CASE_METHOD(queue_fixture, "enqueueing a job the queue already knows adds nothing", "[queue]") {
  CHECK(add("a-0", "A") == 1);
  CHECK(add("a-0", "A") == 0);
  CHECK(q.enqueue(*redis, {{"a-0", "A"}, {"a-1", "A"}, {"a-1", "A"}}) == 1);

  auto got = claim(10);
  CHECK(ids_of(got) == std::vector<std::string>{"a-0", "a-1"});
  // A running job enqueued again is neither queued twice nor disturbed.
  CHECK(add("a-0", "A") == 0);
  CHECK(claim(10).empty());
  CHECK(beat("a-0", got[0].token) == lease_state::held);
}

TEST_CASE_METHOD(queue_fixture, "known tells which jobs the queue holds", "[queue]") {
  CHECK(q.known(*redis, {"a-0", "a-1"}) == std::vector<bool>{false, false});
  add("a-0", "A");
  CHECK(q.known(*redis, {"a-0", "a-1"}) == std::vector<bool>{true, false});
  auto job = claim_one();
  CHECK(q.known(*redis, {"a-0"}) == std::vector<bool>{true});
  REQUIRE(q.ack(*redis, job.id, job.token));
  CHECK(q.known(*redis, {"a-0", "a-1"}) == std::vector<bool>{false, false});
}

TEST_CASE_METHOD(queue_fixture, "forgetting a running job frees its user's slot and forgets it everywhere",
                 "[queue]") {
  add("a-0", "A");
  add("a-1", "A");
  add("a-2", "A");
  auto first = claim_one(1);
  REQUIRE(first.id == "a-0");
  REQUIRE(claim(5, 1).empty());  // A is at the limit

  q.forget(*redis, "a-0");
  CHECK(q.leased(*redis) == 0);
  CHECK(q.known(*redis, {"a-0"}) == std::vector<bool>{false});
  CHECK(beat("a-0", first.token) == lease_state::lost);

  q.forget(*redis, "a-1");  // a waiting job: never claimed
  auto next = claim(5, 1);
  CHECK(ids_of(next) == std::vector<std::string>{"a-2"});
  REQUIRE(q.ack(*redis, next[0].id, next[0].token));
  CHECK(claim(5, 1).empty());
}

TEST_CASE_METHOD(queue_fixture, "settling a batch acks and delays the runs whose token holds and refuses the stale one, answering in order",
                 "[queue]") {
  add("a-0", "A");
  add("b-0", "B");
  add("c-0", "C");
  auto running = claim(3);
  REQUIRE(running.size() == 3);
  std::map<std::string, claimed_job> by_id;
  for (const auto& j : running) by_id[j.id] = j;
  const auto &a = by_id.at("a-0"), &b = by_id.at("b-0"), &c = by_id.at("c-0");

  auto out = q.settle(*redis, {{a.id, a.token, false, 0},
                               {b.id, b.token - 1, false, 0},  // stale: another run's token
                               {c.id, c.token, true, 60000}});
  CHECK(out == std::vector<bool>{true, false, true});
  CHECK(q.known(*redis, {a.id, b.id, c.id}) == std::vector<bool>{false, true, true});
  CHECK(beat(b.id, b.token) == lease_state::held);  // the stale ack changed nothing
  CHECK(q.leased(*redis) == 1);
  CHECK(q.delayed(*redis) == 1);
}

TEST_CASE_METHOD(queue_fixture, "settling more runs than one script call takes acks every one of them",
                 "[queue]") {
  constexpr int n = 1234;  // several chunks of the ack script
  for (int i = 0; i < n; ++i) add("j-" + std::to_string(i), "U" + std::to_string(i % 7));
  std::vector<claimed_job> running;
  while (static_cast<int>(running.size()) < n) {
    auto got = claim(300);
    REQUIRE_FALSE(got.empty());
    running.insert(running.end(), got.begin(), got.end());
  }
  std::vector<job_queue::settlement> runs;
  for (const auto& j : running) runs.push_back({j.id, j.token, false, 0});
  auto out = q.settle(*redis, runs);
  REQUIRE(out.size() == static_cast<size_t>(n));
  CHECK(std::all_of(out.begin(), out.end(), [](bool ok) { return ok; }));
  CHECK(q.leased(*redis) == 0);
}

TEST_CASE_METHOD(queue_fixture, "the fencing tokens of one claim are distinct and above every earlier token",
                 "[queue]") {
  for (int i = 0; i < 50; ++i) add("t-" + std::to_string(i), "U" + std::to_string(i % 5));
  auto first = claim(10);
  REQUIRE(first.size() == 10);
  int64_t highest = 0;
  for (const auto& j : first) highest = std::max(highest, j.token);
  auto second = claim(40);
  REQUIRE(second.size() == 40);
  std::set<int64_t> seen;
  for (const auto& j : second) {
    CHECK(j.token > highest);
    seen.insert(j.token);
  }
  CHECK(seen.size() == second.size());
  // A job enqueued afterwards with a minimum token above them all still gets a newer one.
  add("late", "Z", 5, *seen.rbegin() + 1000);
  CHECK(claim_one().token > *seen.rbegin() + 1000);
}
