// Requests from threads outside the actor system (HTTP handlers): the answer when it
// comes, a clear error when it does not come in time.
#include <catch2/catch.hpp>

#include <chrono>

#include "actors/node_impl.hpp"

using namespace jobserver;
using namespace jobserver::actors;
using namespace std::chrono_literals;

namespace {

struct system_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::unique_ptr<scoped_pool> asks;  // after sys: destroyed first
  system_fixture() {
    register_message_types(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
    asks = std::make_unique<scoped_pool>(*sys);
  }
};

/// Answers `ping` with its argument doubled; `flush_atom` is taken and never answered.
caf::behavior slow_partner(caf::event_based_actor* self) {
  auto kept = std::make_shared<std::vector<caf::response_promise>>();
  return {
    [](int x) { return 2 * x; },
    [self, kept](flush_atom) {
      kept->push_back(self->make_response_promise());
      return caf::delegated<bool>{};
    },
  };
}

}  // namespace

TEST_CASE_METHOD(system_fixture, "a request from outside the actors returns the actor's answer",
                 "[ask]") {
  auto partner = sys->spawn(slow_partner);
  CHECK(ask_within<int>(1s, *asks, partner, 21) == 42);
  caf::anon_send_exit(partner, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(system_fixture,
                 "a request from outside the actors gives up with a busy error when no answer "
                 "comes in time",
                 "[ask]") {
  auto partner = sys->spawn(slow_partner);
  auto t0 = std::chrono::steady_clock::now();
  try {
    ask_within<bool>(300ms, *asks, partner, flush_atom::value);
    FAIL("an answer came from an actor that never answers");
  } catch (const app_error& e) {
    CHECK(e.code() == errc::unavailable);
    CHECK(std::string(e.what()).find("timed out") != std::string::npos);
  }
  auto waited = std::chrono::steady_clock::now() - t0;
  CHECK(waited >= 300ms);
  CHECK(waited < 5s);  // it gave up; the partner still holds the request
  // The scoped actor that waited is not reused: the late answer would stay in its mailbox.
  CHECK(asks->idle() == 0);
  // The partner still works, and a late answer to the abandoned request harms no one.
  CHECK(ask_within<int>(1s, *asks, partner, 5) == 10);
  CHECK(asks->idle() == 1);
  caf::anon_send_exit(partner, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(system_fixture,
                 "requests from outside the actors reuse their scoped actors instead of making one "
                 "per request",
                 "[ask]") {
  auto partner = sys->spawn(slow_partner);
  CHECK(ask_within<int>(1s, *asks, partner, 1) == 2);
  auto before = sys->latest_actor_id();
  for (int i = 0; i < 100; ++i) REQUIRE(ask_within<int>(1s, *asks, partner, i) == 2 * i);
  // No actor was made for any of the hundred (each would have taken a new actor id).
  CHECK(sys->latest_actor_id() == before);
  CHECK(asks->idle() == 1);
  caf::anon_send_exit(partner, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(system_fixture, "a request to an actor that is not there fails at once",
                 "[ask]") {
  caf::actor none;
  CHECK_THROWS_AS(ask_within<int>(1s, *asks, none, 1), app_error);
}
