// The in-memory statuses of a node and the Redis key tracking that keeps them current.
#include "persistence/status_memory.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <sstream>

#include "persistence/job_events.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/test_env.hpp"

using jobserver::persistence::event_subscriber;
using jobserver::persistence::status_memory;
using namespace std::chrono_literals;
namespace t = jobserver::testing;

namespace {

/// Fills `id` as a read from Redis would.
void read_into(status_memory& m, const std::string& id, const std::string& json = "{}") {
  auto ticket = m.begin_fill(id);
  m.fill(id, ticket, "user-a", json);
}

/// The Redis client id of the connection named `name`; -1 when there is none.
long long client_id_named(jobserver::persistence::redis_client& r, const std::string& name) {
  std::istringstream lines{r.command({"CLIENT", "LIST", "TYPE", "pubsub"}).str};
  std::string line;
  while (std::getline(lines, line))
    if (line.find(" name=" + name + " ") != std::string::npos)
      return std::stoll(line.substr(3, line.find(' ') - 3));
  return -1;
}

}  // namespace

TEST_CASE("a status read into memory is answered from memory until it is invalidated", "[status_memory]") {
  status_memory m{1000, 1h};
  m.set_enabled(true);
  CHECK_FALSE(m.get("j1"));
  read_into(m, "j1", R"({"status":"completed"})");
  auto e = m.get("j1");
  REQUIRE(e);
  CHECK(e->owner == "user-a");
  CHECK(e->json == R"({"status":"completed"})");
  m.invalidate("j1");
  CHECK_FALSE(m.get("j1"));
  CHECK(m.hits() == 1);
  CHECK(m.misses() == 2);
}

TEST_CASE("a read that an invalidation overtakes does not fill the memory", "[status_memory]") {
  status_memory m{1000, 1h};
  m.set_enabled(true);
  auto ticket = m.begin_fill("j1");
  m.invalidate("j1");  // Redis reports a write while the read is under way
  m.fill("j1", ticket, "user-a", "old");
  CHECK_FALSE(m.get("j1"));
  // A later reader's ticket wins over an earlier one still under way.
  auto first = m.begin_fill("j2");
  auto second = m.begin_fill("j2");
  m.fill("j2", first, "user-a", "older");
  CHECK_FALSE(m.get("j2"));
  m.fill("j2", second, "user-a", "newer");
  REQUIRE(m.get("j2"));
  CHECK(m.get("j2")->json == "newer");
}

TEST_CASE("a disabled memory answers nothing, and disabling it empties it", "[status_memory]") {
  status_memory m{1000, 1h};
  CHECK(m.begin_fill("j1") == 0);  // disabled until tracking is in place
  m.set_enabled(true);
  read_into(m, "j1");
  auto pending = m.begin_fill("j2");
  m.set_enabled(false);
  CHECK_FALSE(m.get("j1"));
  m.set_enabled(true);
  CHECK_FALSE(m.get("j1"));  // what was held before the gap is gone
  m.fill("j2", pending, "user-a", "{}");
  CHECK_FALSE(m.get("j2"));  // and so are reads begun before it
  CHECK(m.size() == 0);
}

TEST_CASE("an entry older than the time limit is not answered", "[status_memory]") {
  status_memory m{1000, 0ms};
  m.set_enabled(true);
  read_into(m, "j1");
  CHECK_FALSE(m.get("j1"));
}

TEST_CASE("the memory holds no more entries than its capacity, and capacity 0 turns it off", "[status_memory]") {
  status_memory m{64, 1h};
  m.set_enabled(true);
  for (int i = 0; i < 5000; ++i) read_into(m, "job-" + std::to_string(i));
  CHECK(m.size() <= 64);
  CHECK(m.size() > 0);
  status_memory off{0, 1h};
  off.set_enabled(true);
  read_into(off, "j1");
  CHECK_FALSE(off.get("j1"));
}

TEST_CASE("the event subscriber drops an entry when any connection writes or deletes its Redis key",
          "[status_memory][redis]") {
  t::service_fixture f;
  status_memory m{1000, 1h};
  std::string prefix = f.prefix + ":job:";
  event_subscriber sub{jobserver::persistence::parse_redis_url(t::redis_url()), f.prefix + ":events",
                       [](const std::string&) {}, [] {}, &m, prefix};
  sub.start();
  REQUIRE(t::eventually([&] { return m.enabled(); }, 10s));

  read_into(m, "j1");
  read_into(m, "j2");
  read_into(m, "other");
  f.redis->command({"HSET", prefix + "j1", "json", "{}"});
  CHECK(t::eventually([&] { return !m.get("j1"); }, 5s));
  f.redis->command({"SET", prefix + "j2", "x"});
  f.redis->command({"DEL", prefix + "j2"});
  CHECK(t::eventually([&] { return !m.get("j2"); }, 5s));
  // Keys outside the prefix are not reported.
  f.redis->command({"SET", f.prefix + ":unrelated", "x"});
  std::this_thread::sleep_for(100ms);
  CHECK(m.get("other"));
  sub.stop();
}

TEST_CASE("when the subscriber loses its connection the memory is emptied and used again once it is back",
          "[status_memory][redis]") {
  t::service_fixture f;
  status_memory m{1000, 1h};
  std::string channel = f.prefix + ":events";
  event_subscriber sub{jobserver::persistence::parse_redis_url(t::redis_url()), channel,
                       [](const std::string&) {}, [] {}, &m, f.prefix + ":job:"};
  sub.start();
  REQUIRE(t::eventually([&] { return m.enabled(); }, 10s));
  read_into(m, "j1");
  auto id = client_id_named(*f.redis, channel);
  REQUIRE(id > 0);
  f.redis->command({"CLIENT", "KILL", "ID", std::to_string(id)});
  // Writes while it is away are never reported, so nothing from before may be answered.
  CHECK(t::eventually([&] { return !m.get("j1"); }, 5s));
  REQUIRE(t::eventually([&] { return client_id_named(*f.redis, channel) > 0 && m.enabled(); }, 10s));
  CHECK(client_id_named(*f.redis, channel) != id);
  read_into(m, "j2");
  CHECK(m.get("j2"));
  sub.stop();
}

TEST_CASE("entries past their time are swept out instead of filling the memory to capacity",
          "[status_memory]") {
  status_memory m{100000, 0ms};
  m.set_enabled(true);
  for (int i = 0; i < 20000; ++i) read_into(m, "job-" + std::to_string(i));
  // Every entry expired at once; each shard keeps at most the ones since its last sweep.
  CHECK(m.size() < 16 * 256);
}
