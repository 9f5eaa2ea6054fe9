// Job actors in an actor system of their own: no Postgres, no Redis — a stand-in tracker
// answers their outcomes, and a stand-in scheduler spawns them the way a user_scheduler
// does, so what a finished job leaves behind in its scheduler can be counted.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "actors/messages.hpp"
#include "actors/runtime.hpp"
#include "tests/support/server_process.hpp"  // eventually()

using namespace jobserver;
using namespace jobserver::actors;
using jobserver::testing::eventually;

namespace {

/// An event-based actor that reports how many monitors and other attachables it holds
/// (CAF keeps them in the monitored actor until it ends).
class attachables_probe : public caf::event_based_actor {
 public:
  using caf::event_based_actor::event_based_actor;

 protected:
  size_t attachables() const {
    std::unique_lock<std::mutex> guard{mtx_};
    size_t n = 0;
    for (auto* a = attachables_head_.get(); a != nullptr; a = a->next.get()) ++n;
    return n;
  }
};

/// Spawns job actors as a user_scheduler does.
class scheduler_probe : public attachables_probe {
 public:
  scheduler_probe(caf::actor_config& cfg, runtime_ptr rt) : attachables_probe(cfg), rt_(std::move(rt)) {}

  caf::behavior make_behavior() override {
    set_down_handler([this](caf::down_msg&) { ++ended_; });
    return {
        [this](run_atom, const persistence::job_row& job) {
          auto a = spawn_job_actor(this, rt_, job);
          spawned_.push_back(caf::actor_cast<caf::weak_actor_ptr>(a));
          monitor(a);
        },
        [this](done_atom) -> int { return ended_; },
        // How many of the job actors it spawned still exist (a strong reference anywhere).
        [this](retain_atom) -> int {
          int n = 0;
          for (auto& w : spawned_) n += w.lock() != nullptr ? 1 : 0;
          return n;
        },
        [this](stats_atom) -> size_t { return attachables(); },
    };
  }

 private:
  runtime_ptr rt_;
  int ended_ = 0;
  std::vector<caf::weak_actor_ptr> spawned_;
};

/// Takes outcomes as the tracker does: answers each (true: recorded) and counts the
/// completed ones; or, made with `answer` false, keeps every outcome unanswered, as a
/// tracker that cannot write to Postgres does.
class tracker_probe : public attachables_probe {
 public:
  tracker_probe(caf::actor_config& cfg, bool answer) : attachables_probe(cfg), answer_(answer) {}

  caf::behavior make_behavior() override {
    return {
        [this](finish_atom, const persistence::job_outcome& o) -> caf::result<bool> {
          if (o.what == persistence::job_outcome::completed) ++completed_;
          else errors_.push_back(o.error);
          if (answer_) return true;
          held_.push_back(make_response_promise<bool>());
          return held_.back();
        },
        [this](done_atom) -> int { return completed_; },
        [this](stats_atom) -> size_t { return attachables(); },
        // The errors of the outcomes that were not completions, in order.
        [this](problem_atom) -> std::vector<std::string> { return errors_; },
    };
  }

  // The held promises point at the job actors, whose spawn function holds the runtime
  // that points back here: let go of them when stopped, or neither would ever be freed.
  void on_exit() override { held_.clear(); }

 private:
  bool answer_;
  int completed_ = 0;
  std::vector<std::string> errors_;
  std::vector<caf::typed_response_promise<bool>> held_;
};

template <class T, class... Ts>
T ask(caf::scoped_actor& self, const caf::actor& to, Ts&&... xs) {
  T out{};
  self->request(to, std::chrono::seconds(10), std::forward<Ts>(xs)...)
      .receive([&](T value) { out = value; },
               [&](caf::error& e) { FAIL("request failed: " << self->system().render(e)); });
  return out;
}

/// Sends `n` jobs named PREFIX-i to the scheduler, of the type `type_of(i)`.
template <class TypeOf>
void run_jobs(caf::scoped_actor& self, const caf::actor& scheduler, const std::string& prefix, int n,
              TypeOf type_of) {
  for (int i = 0; i < n; ++i) {
    persistence::job_row job;
    job.id = prefix + "-" + std::to_string(i);
    job.type = type_of(i);
    job.lease_token = i + 1;
    job.attempts = 1;
    self->send(scheduler, run_atom::value, job);
  }
}

/// Waits (at most 30 s) until the probe's count (its answer to `done_atom`) reaches `n`;
/// returns the count.
int wait_for_count(caf::scoped_actor& self, const caf::actor& probe, int n) {
  int count = 0;
  eventually([&] { return (count = ask<int>(self, probe, done_atom::value)) >= n; },
             std::chrono::seconds(30));
  return count;
}

/// A job type whose processor is `run`.
job_type make_type(std::string name, bool blocking, processor_fn run = [](job_context&) { return std::string{"{}"}; }) {
  job_type t;
  t.name = std::move(name);
  t.blocking = blocking;
  t.run = std::move(run);
  return t;
}

caf::actor_system_config& with_message_types(caf::actor_system_config& cfg) {
  register_message_types(cfg);
  return cfg;
}

/// An actor system of its own with the job types given, a stand-in tracker (answering
/// outcomes or holding them, see tracker_probe) and a stand-in scheduler; both are
/// stopped at the end.
struct job_actors {
  caf::actor_system_config cfg;
  caf::actor_system sys{with_message_types(cfg)};
  runtime_ptr rt = std::make_shared<runtime>();
  caf::actor tracker;
  caf::actor scheduler;
  caf::scoped_actor self{sys};

  explicit job_actors(const std::vector<job_type>& types, bool tracker_answers = true) {
    for (const auto& t : types) rt->registry.add(t);
    tracker = sys.spawn<tracker_probe>(tracker_answers);
    rt->actors.set(directory::tracker, tracker);
    scheduler = sys.spawn<scheduler_probe>(rt);
  }
  ~job_actors() {
    self->send_exit(scheduler, caf::exit_reason::user_shutdown);
    self->send_exit(tracker, caf::exit_reason::user_shutdown);
  }
};

}  // namespace

TEST_CASE("a finished job actor leaves nothing behind in its scheduler or in the tracker", "[actors]") {
  // One type that runs inside the job actor, one in a detached actor of its own.
  job_actors f{{make_type("inline", false), make_type("threaded", true)}};
  auto before = ask<size_t>(f.self, f.scheduler, stats_atom::value);
  auto tracker_before = ask<size_t>(f.self, f.tracker, stats_atom::value);

  constexpr int jobs = 40;
  run_jobs(f.self, f.scheduler, "job", jobs, [](int i) { return i % 2 == 0 ? "inline" : "threaded"; });

  REQUIRE(wait_for_count(f.self, f.scheduler, jobs) == jobs);
  CHECK(ask<int>(f.self, f.tracker, done_atom::value) == jobs);
  // Each job actor monitored the scheduler while it ran, and the tracker while it waited
  // for the outcome to be recorded; none of those monitors stays.
  CHECK(ask<size_t>(f.self, f.scheduler, stats_atom::value) == before);
  CHECK(ask<size_t>(f.self, f.tracker, stats_atom::value) == tracker_before);
}

TEST_CASE("a job actor keeps its slot until the tracker answers, and ends when the tracker stops without answering",
          "[actors]") {
  job_actors f{{make_type("inline", false)}, false};

  constexpr int jobs = 4;
  run_jobs(f.self, f.scheduler, "held", jobs, [](int) { return "inline"; });
  REQUIRE(wait_for_count(f.self, f.tracker, jobs) == jobs);
  // Every outcome is with the tracker, unanswered: the job actors are still there.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(ask<int>(f.self, f.scheduler, done_atom::value) == 0);

  f.self->send_exit(f.tracker, caf::exit_reason::user_shutdown);
  CHECK(wait_for_count(f.self, f.scheduler, jobs) == jobs);
}

TEST_CASE("a finished job actor of a type that runs in its own thread is freed at once, not kept until its time limit",
          "[actors]") {
  auto t = make_type("threaded", true);
  t.timeout = std::chrono::minutes(10);
  job_actors f{{t}};

  constexpr int jobs = 20;
  run_jobs(f.self, f.scheduler, "freed", jobs, [](int) { return "threaded"; });
  REQUIRE(wait_for_count(f.self, f.scheduler, jobs) == jobs);
  CHECK(ask<int>(f.self, f.tracker, done_atom::value) == jobs);
  // Every job ended; what still refers to one is let go of within moments (CAF's clock
  // drops an ended actor's timeouts on its own thread), not ten minutes later.
  int alive = 0;
  eventually([&] { return (alive = ask<int>(f.self, f.scheduler, retain_atom::value)) == 0; },
             std::chrono::seconds(5));
  CHECK(alive == 0);
}

TEST_CASE("a processor that runs past its type's time limit is told to stop, and its job is handed on as timed out",
          "[actors]") {
  auto saw_stop = std::make_shared<std::atomic<bool>>(false);
  auto t = make_type("slow", true, [saw_stop](job_context& ctx) {
    // Far longer than the limit, unless told to stop.
    for (int i = 0; i < 3000 && !ctx.stopping(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    saw_stop->store(ctx.stopping());
    return std::string{"{}"};
  });
  t.timeout = std::chrono::seconds(1);
  job_actors f{{t}};

  auto started = std::chrono::steady_clock::now();
  run_jobs(f.self, f.scheduler, "slow", 1, [](int) { return "slow"; });
  REQUIRE(wait_for_count(f.self, f.scheduler, 1) == 1);
  auto took = std::chrono::steady_clock::now() - started;
  auto errors = ask<std::vector<std::string>>(f.self, f.tracker, problem_atom::value);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0] == "Job timed out after 1 s");
  CHECK(ask<int>(f.self, f.tracker, done_atom::value) == 0);
  CHECK(took >= std::chrono::seconds(1));
  // The processor saw the stop flag (it checks it every 10 ms) instead of running 30 s.
  CHECK(eventually([&] { return saw_stop->load(); }, std::chrono::seconds(5)));
}
