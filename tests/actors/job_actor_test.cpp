// Job actors in an actor system of their own: no Postgres, no Redis — a stand-in tracker
// answers their outcomes, and a stand-in scheduler spawns them the way a user_scheduler
// does, so what a finished job leaves behind in its scheduler can be counted.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "actors/messages.hpp"
#include "actors/runtime.hpp"

using namespace jobserver;
using namespace jobserver::actors;

namespace {

/// Spawns job actors as a user_scheduler does and reports how many monitors and other
/// attachables it holds (CAF keeps them in the monitored actor until it ends).
class scheduler_probe : public caf::event_based_actor {
 public:
  scheduler_probe(caf::actor_config& cfg, runtime_ptr rt)
    : caf::event_based_actor(cfg), rt_(std::move(rt)) {}

  caf::behavior make_behavior() override {
    set_down_handler([this](caf::down_msg&) { ++ended_; });
    return {
        [this](run_atom, const persistence::job_row& job) { monitor(spawn_job_actor(this, rt_, job)); },
        [this](done_atom) -> int { return ended_; },
        [this](stats_atom) -> size_t { return attachables(); },
    };
  }

 private:
  size_t attachables() const {
    std::unique_lock<std::mutex> guard{mtx_};
    size_t n = 0;
    for (auto* a = attachables_head_.get(); a != nullptr; a = a->next.get()) ++n;
    return n;
  }

  runtime_ptr rt_;
  int ended_ = 0;
};

template <class T, class... Ts>
T ask(caf::scoped_actor& self, const caf::actor& to, Ts&&... xs) {
  T out{};
  self->request(to, std::chrono::seconds(10), std::forward<Ts>(xs)...)
      .receive([&](T value) { out = value; },
               [&](caf::error& e) { FAIL("request failed: " << self->system().render(e)); });
  return out;
}

}  // namespace

TEST_CASE("a finished job actor leaves nothing behind in its scheduler", "[actors]") {
  caf::actor_system_config cfg;
  register_message_types(cfg);
  caf::actor_system sys{cfg};
  auto rt = std::make_shared<runtime>();
  // One type that runs inside the job actor, one in a detached actor of its own.
  for (bool blocking : {false, true}) {
    job_type t;
    t.name = blocking ? "threaded" : "inline";
    t.blocking = blocking;
    t.run = [](job_context&) { return std::string{"{}"}; };
    rt->registry.add(t);
  }
  auto outcomes = std::make_shared<std::atomic<int>>(0);
  rt->actors.set(directory::tracker, sys.spawn([outcomes](caf::event_based_actor*) -> caf::behavior {
    return {[outcomes](finish_atom, const persistence::job_outcome& o) {
      if (o.what == persistence::job_outcome::completed) ++*outcomes;
      return true;
    }};
  }));
  auto scheduler = sys.spawn<scheduler_probe>(rt);
  caf::scoped_actor self{sys};
  auto before = ask<size_t>(self, scheduler, stats_atom::value);

  constexpr int jobs = 40;
  for (int i = 0; i < jobs; ++i) {
    persistence::job_row job;
    job.id = "job-" + std::to_string(i);
    job.type = i % 2 == 0 ? "inline" : "threaded";
    job.lease_token = i + 1;
    job.attempts = 1;
    self->send(scheduler, run_atom::value, job);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (ask<int>(self, scheduler, done_atom::value) < jobs && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));

  REQUIRE(ask<int>(self, scheduler, done_atom::value) == jobs);
  CHECK(outcomes->load() == jobs);
  // Each job actor monitored the scheduler while it ran; none of those monitors stays.
  CHECK(ask<size_t>(self, scheduler, stats_atom::value) == before);
  self->send_exit(scheduler, caf::exit_reason::user_shutdown);
  self->send_exit(rt->actors.get(directory::tracker), caf::exit_reason::user_shutdown);
}
