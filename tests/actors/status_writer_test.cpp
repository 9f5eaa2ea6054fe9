// The tracker and its output stage, the status writer, on the real Postgres and Redis:
// the writer keeps the tracker's order, and an answer that must not come before the new
// status can be read (cancel, retry) is given by the writer once it has written it.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "actors/node_impl.hpp"
#include "tests/support/server_process.hpp"  // eventually()
#include "tests/support/test_env.hpp"

using namespace jobserver;
using namespace jobserver::actors;
using namespace jobserver::testing;
using namespace std::chrono_literals;

namespace {

/// An actor system and a runtime on a fresh schema and key prefix, with the built-in
/// test job types.
struct runtime_fixture {
  service_fixture f;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  runtime_ptr rt;

  runtime_fixture() {
    register_message_types(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
    config::settings s;
    s.database_url = f.url;
    s.redis_url = redis_url();
    s.redis_prefix = f.prefix;
    s.storage_dir = (std::filesystem::temp_directory_path() / f.prefix).string();
    s.enable_test_jobs = true;
    rt = make_runtime(s);
  }
};

/// A queued `sleep` job of `owner`, in Postgres and in its Redis queue.
persistence::job_row queued_job(runtime& rt, const std::string& owner) {
  persistence::new_job j;
  j.id = persistence::make_uuid();
  j.owner_id = owner;
  j.type = "sleep";
  j.data = R"({"ms":10000})";
  j.max_attempts = 1;
  auto rows = rt.store->insert({j});
  REQUIRE(rows.size() == 1);
  auto redis = rt.make_redis();
  rt.queue("sleep").enqueue(*redis, {{j.id, owner, j.priority, 1, 0, 0}});
  return rows[0];
}

/// What a stand-in writer saw: the rows of each write, and whether it had finished the
/// write that carried an answer.
struct writer_log {
  std::mutex mtx;
  std::vector<persistence::job_row> rows;
  std::atomic<bool> answered_write_done{false};
};

/// A status writer that takes its time (200 ms) over writes that carry an answer.
caf::actor slow_writer(caf::actor_system& sys, std::shared_ptr<writer_log> log) {
  return sys.spawn<caf::detached>([log](caf::event_based_actor*) -> caf::behavior {
    auto keep = [log](const std::vector<persistence::job_row>& rows) {
      std::lock_guard<std::mutex> guard{log->mtx};
      log->rows.insert(log->rows.end(), rows.begin(), rows.end());
    };
    return {
        [keep](write_atom, const std::vector<persistence::job_row>& rows) { keep(rows); },
        [keep, log](write_atom, const std::vector<persistence::job_row>& rows,
                    const std::string& answer) {
          std::this_thread::sleep_for(200ms);
          keep(rows);
          log->answered_write_done = true;
          return answer;
        },
    };
  });
}

}  // namespace

TEST_CASE("a cancel is answered only once the status writer has written the cancelled status",
          "[actors]") {
  runtime_fixture fx;
  auto& sys = *fx.sys;
  auto& rt = fx.rt;
  auto log = std::make_shared<writer_log>();
  rt->actors.set(directory::writer, slow_writer(sys, log));
  rt->actors.set(directory::tracker, spawn_tracker(sys, rt));
  auto job = queued_job(*rt, "user-a");

  caf::scoped_actor self{sys};
  std::string answer;
  bool written_before_answer = false;
  self->request(rt->actors.get(directory::tracker), 10s, cancel_atom::value,
                std::string{"user-a"}, job.id)
      .receive(
          [&](std::string& a) {
            written_before_answer = log->answered_write_done.load();
            answer = std::move(a);
          },
          [&](caf::error& e) { FAIL("cancel failed: " << sys.render(e)); });
  CHECK(written_before_answer);
  CHECK(answer.find("\"cancelled\":true") != std::string::npos);
  {
    std::lock_guard<std::mutex> guard{log->mtx};
    REQUIRE(log->rows.size() == 1);
    CHECK(log->rows[0].id == job.id);
    CHECK(log->rows[0].status == persistence::status::failed);
    CHECK(log->rows[0].cancel_requested);
  }
  for (auto r : {directory::tracker, directory::writer}) self->send_exit(rt->actors.get(r), caf::exit_reason::user_shutdown);
}

TEST_CASE("the status writer writes a job's statuses and events in the order it was sent them",
          "[actors]") {
  runtime_fixture fx;
  auto& sys = *fx.sys;
  auto& rt = fx.rt;
  auto writer = spawn_status_writer(sys, rt);
  auto job = queued_job(*rt, "user-a");

  // Fifty batches, each a newer state of the same job; the last one is `completed`.
  caf::scoped_actor self{sys};
  for (int pct = 1; pct <= 50; ++pct) {
    auto row = job;
    row.status = pct < 50 ? persistence::status::processing : persistence::status::completed;
    row.progress = pct < 50 ? pct : 100;
    self->send(writer, write_atom::value, std::vector<persistence::job_row>{row});
  }
  bool flushed = false;
  self->request(writer, 10s, flush_atom::value)
      .receive([&](bool) { flushed = true; },
               [&](caf::error& e) { FAIL("flush failed: " << sys.render(e)); });
  REQUIRE(flushed);

  auto redis = rt->make_redis();
  auto status = rt->cache->read(*redis, "user-a", {job.id});
  REQUIRE(status.size() == 1);
  REQUIRE(status[0].has_value());
  CHECK(status[0]->find("\"status\":\"completed\"") != std::string::npos);
  CHECK(status[0]->find("\"progress\":100") != std::string::npos);
  // The kept events: numbered in order, each one's progress above the one before.
  auto events = rt->events->read(*redis, job.id);
  CHECK(events.seq == 50);
  REQUIRE(events.events.size() >= 2);
  int last_progress = -1;
  int64_t last_seq = 0;
  for (const auto& e : events.events) {
    CHECK(e.seq > last_seq);
    last_seq = e.seq;
    auto at = e.data.find("\"progress\":");
    REQUIRE(at != std::string::npos);
    int progress = std::stoi(e.data.substr(at + 11));
    CHECK(progress > last_progress);
    last_progress = progress;
  }
  CHECK(last_progress == 100);
  CHECK(events.events.back().type == "completed");
  self->send_exit(writer, caf::exit_reason::user_shutdown);
}

namespace {

/// A status writer that notes, when a finished run's status reaches it, whether the run
/// still holds its lease in the queue, then hands everything to the real one.
struct lease_witness {
  std::atomic<int> writes_with_runs{0};
  std::atomic<bool> lease_held_at_write{false};
  std::atomic<int> wakes{0};  // of the stand-in dispatcher
};

caf::actor witnessing_writer(caf::actor_system& sys, runtime_ptr rt, std::string id,
                             std::shared_ptr<lease_witness> seen) {
  auto real = spawn_status_writer(sys, rt);
  return sys.spawn<caf::detached>([=](caf::event_based_actor* self) -> caf::behavior {
    self->link_to(real);  // it stops with this one
    auto redis = std::shared_ptr<persistence::redis_client>(rt->make_redis());
    return {
        [=](write_atom, std::vector<persistence::job_row>& rows,
            std::vector<persistence::job_outcome>& runs) {
          bool ours = false;
          for (const auto& o : runs) ours = ours || o.id == id;
          if (ours) {
            seen->lease_held_at_write = rt->queue("sleep").leased(*redis) == 1;
            seen->writes_with_runs++;  // after: the test reads the other once it sees this
          }
          self->send(real, write_atom::value, std::move(rows), std::move(runs));
        },
        [=](write_atom, std::vector<persistence::job_row>& rows) {
          self->send(real, write_atom::value, std::move(rows));
        },
        [=](flush_atom) { return self->delegate(real, flush_atom::value); },
    };
  });
}

}  // namespace

TEST_CASE("a finished run leaves its queue only once its status is in Redis, and then the "
          "dispatcher is woken",
          "[actors]") {
  // A node killed between the two must leave a lease the others recover, never a finished
  // job whose Redis status reads `processing` with no lease left to expire.
  runtime_fixture fx;
  auto& sys = *fx.sys;
  auto& rt = fx.rt;
  auto job = queued_job(*rt, "user-a");
  auto seen = std::make_shared<lease_witness>();
  rt->actors.set(directory::writer, witnessing_writer(sys, rt, job.id, seen));
  rt->actors.set(directory::tracker, spawn_tracker(sys, rt));
  rt->actors.set(directory::dispatcher, sys.spawn([seen](caf::event_based_actor*) -> caf::behavior {
    return {[seen](wake_atom) { seen->wakes++; }};
  }));
  auto redis = rt->make_redis();
  auto claims = rt->queue("sleep").claim(*redis, rt->node_id, 1, 30000, 8);
  REQUIRE(claims.size() == 1);
  REQUIRE(claims[0].id == job.id);

  caf::scoped_actor self{sys};
  auto tracker = rt->actors.get(directory::tracker);
  bool started = false;
  self->request(tracker, 10s, start_atom::value, claims)
      .receive([&](const std::vector<persistence::job_row>& rows) { started = rows.size() == 1; },
               [&](caf::error& e) { FAIL("start failed: " << sys.render(e)); });
  REQUIRE(started);
  int wakes_before = seen->wakes;

  persistence::job_outcome done{job.id, "sleep", claims[0].token, persistence::job_outcome::completed,
                                R"({"slept_ms":1})", {}, false, 0};
  bool written = false;
  self->request(tracker, 10s, finish_atom::value, done)
      .receive([&](bool w) { written = w; },
               [&](caf::error& e) { FAIL("finish failed: " << sys.render(e)); });
  CHECK(written);
  REQUIRE(eventually([&] { return seen->writes_with_runs.load() == 1; }, 10s));
  CHECK(seen->lease_held_at_write);  // the tracker did not settle the run before the write
  bool flushed = false;
  self->request(rt->actors.get(directory::writer), 10s, flush_atom::value)
      .receive([&](bool) { flushed = true; },
               [&](caf::error& e) { FAIL("flush failed: " << sys.render(e)); });
  REQUIRE(flushed);
  auto status = rt->cache->read(*redis, "user-a", {job.id})[0];
  REQUIRE(status.has_value());
  CHECK(status->find("\"status\":\"completed\"") != std::string::npos);
  CHECK(rt->queue("sleep").leased(*redis) == 0);
  CHECK(eventually([&] { return seen->wakes.load() > wakes_before; }, 10s));
  for (auto r : {directory::tracker, directory::writer, directory::dispatcher})
    self->send_exit(rt->actors.get(r), caf::exit_reason::user_shutdown);
}
