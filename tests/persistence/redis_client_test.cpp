#include "persistence/redis.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <thread>

#include "config/errors.hpp"
#include "tests/support/catch_errc.hpp"
#include "tests/support/test_env.hpp"


using jobserver::app_error;
using jobserver::errc;
using jobserver::persistence::parse_redis_url;
using jobserver::persistence::redis_client;
using jobserver::persistence::redis_options;
using jobserver::persistence::redis_reply;
using jobserver::persistence::script_sha1;
using namespace std::chrono_literals;
namespace t = jobserver::testing;

namespace {

using clock_type = std::chrono::steady_clock;

/// A TCP socket on 127.0.0.1 bound to a free port. With `listen_too`, connections are
/// accepted by the kernel but never answered (a hung server); without, nothing listens.
struct local_port {
  int fd = -1;
  int port = 0;
  explicit local_port(bool listen_too) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    socklen_t len = sizeof(addr);
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port = ntohs(addr.sin_port);
    if (listen_too) REQUIRE(::listen(fd, 16) == 0);
  }
  ~local_port() { ::close(fd); }
};

/// Runs `fn`, which must throw app_error(unavailable); returns how long it took.
template <class F>
clock_type::duration time_unavailable(F&& fn) {
  auto t0 = clock_type::now();
  try {
    fn();
    FAIL("the command succeeded against a server that is down");
  } catch (const app_error& e) {
    CHECK(e.code() == errc::unavailable);
    CHECK(e.transient());
  }
  return clock_type::now() - t0;
}

/// The message of the app_error that `fn` throws ("" when it throws none).
template <class F>
std::string error_of(F&& fn) {
  try {
    fn();
  } catch (const app_error& e) {
    return e.what();
  }
  return {};
}

}  // namespace

TEST_CASE("parse_redis_url reads host, port, password and database", "[redis]") {
  auto full = parse_redis_url("redis://:s3cret@10.1.2.3:6390/4");
  CHECK(full.host == "10.1.2.3");
  CHECK(full.port == 6390);
  CHECK(full.password == "s3cret");
  CHECK(full.db == 4);

  auto user = parse_redis_url("redis://default:pw@cache.internal/2");
  CHECK(user.host == "cache.internal");
  CHECK(user.port == 6379);
  CHECK(user.password == "pw");
  CHECK(user.db == 2);

  auto bare = parse_redis_url("redis://cache");
  CHECK(bare.host == "cache");
  CHECK(bare.port == 6379);
  CHECK(bare.password.empty());
  CHECK(bare.db == 0);

  CHECK(parse_redis_url("redis://h:1234/").db == 0);
  CHECK(parse_redis_url("redis://").host == "127.0.0.1");
  CHECK(parse_redis_url("redis://:p@ss@h:1/0").password == "p@ss");
}

TEST_CASE("parse_redis_url rejects a URL that is not redis:// or has a bad number",
          "[redis]") {
  for (const char* url : {"http://h:6379/0", "h:6379", "redis://h:port/0", "redis://h:1/db"}) {
    INFO(url);
    try {
      parse_redis_url(url);
      FAIL("accepted");
    } catch (const app_error& e) {
      CHECK(e.code() == errc::invalid_input);
    }
  }
}

TEST_CASE("a command to a server that refuses connections fails fast as unavailable",
          "[redis]") {
  local_port closed{false};  // bound, not listening: connections are refused
  redis_options opts;
  opts.port = closed.port;
  redis_client client{opts};

  CHECK(time_unavailable([&] { client.command({"PING"}); }) < 2s);
  CHECK_FALSE(client.connected());
  // Within the reconnect throttle the next call fails at once, without trying.
  CHECK(time_unavailable([&] { client.command({"PING"}); }) < 100ms);
  CHECK_FALSE(client.ping());
}

TEST_CASE("a failed Redis command says why: the refused connect, or the timeout", "[redis]") {
  {
    local_port closed{false};
    redis_options opts;
    opts.port = closed.port;
    redis_client client{opts};
    CHECK_THAT(error_of([&] { client.command({"PING"}); }),
               Catch::StartsWith("redis unavailable (connect: ") && Catch::Contains("refused"));
  }
  {
    local_port silent{true};
    redis_options opts;
    opts.port = silent.port;
    opts.command_timeout = 200ms;
    redis_client client{opts};
    CHECK_THAT(error_of([&] { client.command({"PING"}); }),
               Catch::Equals("redis unavailable (Resource temporarily unavailable)"));
  }
}

TEST_CASE("a command to a server that accepts but never answers gives up after its timeout",
          "[redis]") {
  local_port silent{true};
  redis_options opts;
  opts.port = silent.port;
  opts.command_timeout = 300ms;
  redis_client client{opts};

  auto took = time_unavailable([&] { client.command({"PING"}); });
  CHECK(took >= 250ms);
  CHECK(took < 3s);
  CHECK_FALSE(client.connected());
}

TEST_CASE("pipelined commands return their replies in order", "[redis]") {
  t::service_fixture fx;
  const std::string key = fx.prefix + ":pipe";
  auto replies = fx.redis->pipeline({{"SET", key, "10"},
                                     {"INCRBY", key, "5"},
                                     {"GET", key},
                                     {"GET", fx.prefix + ":missing"},
                                     {"RPUSH", key + ":list", "a", "b"},
                                     {"LRANGE", key + ":list", "0", "-1"},
                                     {"HGET", key, "field"}});
  REQUIRE(replies.size() == 7);
  CHECK(replies[0].type == redis_reply::kind::status);
  CHECK(replies[0].str == "OK");
  CHECK(replies[1].type == redis_reply::kind::integer);
  CHECK(replies[1].integer == 15);
  CHECK(replies[2].type == redis_reply::kind::string);
  CHECK(replies[2].str == "15");
  CHECK(replies[3].is_nil());
  CHECK(replies[4].integer == 2);
  REQUIRE(replies[5].elements.size() == 2);
  CHECK(replies[5].elements[0].str == "a");
  CHECK(replies[5].elements[1].str == "b");
  // A Redis error reply is returned in its place, not thrown.
  CHECK(replies[6].type == redis_reply::kind::error);
  CHECK_THAT(replies[6].str, Catch::Contains("WRONGTYPE"));
  // The connection is still usable afterwards.
  CHECK(fx.redis->command({"GET", key}).str == "15");
}

TEST_CASE("eval loads a script again after the server's script cache was flushed",
          "[redis]") {
  t::service_fixture fx;
  const std::string script = "return ARGV[1] .. ':' .. KEYS[1] .. ':jobserver-test'";
  const std::string sha = script_sha1(script);
  auto loaded = fx.redis->command({"SCRIPT", "LOAD", script});
  REQUIRE(loaded.type == redis_reply::kind::string);
  CHECK(loaded.str == sha);  // script_sha1 computes what Redis computes

  REQUIRE(fx.redis->command({"SCRIPT", "FLUSH"}).type == redis_reply::kind::status);
  auto exists = fx.redis->command({"SCRIPT", "EXISTS", sha});
  REQUIRE(exists.elements.size() == 1);
  REQUIRE(exists.elements[0].integer == 0);

  auto r = fx.redis->eval(script, sha, {fx.prefix + ":k"}, {"v"});
  CHECK(r.type == redis_reply::kind::string);
  CHECK(r.str == "v:" + fx.prefix + ":k:jobserver-test");
  // EVAL cached it: EVALSHA alone works now.
  auto again = fx.redis->command({"EVALSHA", sha, "1", "x", "y"});
  CHECK(again.str == "y:x:jobserver-test");
}

// [outage]: restarts the Redis that scripts/services.sh runs for this checkout, which
// every test using it at the same time shares (they see it down for about a second).
TEST_CASE("the client reconnects by itself after Redis restarts", "[redis][outage]") {
  t::service_fixture fx;
  const std::string key = fx.prefix + ":survivor";
  REQUIRE(fx.redis->command({"SET", key, "still-here"}).str == "OK");

  const std::string cmd = std::string{"'"} + JOBSERVER_SOURCE_DIR +
                          "/scripts/services.sh' restart-redis >/dev/null 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);

  auto t0 = clock_type::now();
  int failures = 0;
  std::optional<redis_reply> reply;
  while (!reply && clock_type::now() - t0 < 2s) {
    try {
      reply = fx.redis->command({"GET", key});
    } catch (const app_error& e) {
      CHECK(e.code() == errc::unavailable);
      ++failures;
      std::this_thread::sleep_for(50ms);
    }
  }
  INFO("failed attempts before the reconnect: " << failures);
  REQUIRE(reply.has_value());
  CHECK(failures <= 5);
  CHECK(reply->str == "still-here");  // the restart kept the data (append-only file)
  CHECK(fx.redis->ping());
}
