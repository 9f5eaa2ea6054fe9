#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

struct redisContext;

namespace jobserver::persistence {

/// A Redis reply, copied out of hiredis.
struct redis_reply {
  enum class kind { nil, string, integer, array, status, error };
  kind type = kind::nil;
  std::string str;
  long long integer = 0;
  std::vector<redis_reply> elements;

  bool is_nil() const { return type == kind::nil; }
};

struct redis_options {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password;
  int db = 0;
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds command_timeout{2000};
};

/// Parses redis://[:password@]host[:port][/db]; throws app_error(invalid_input).
redis_options parse_redis_url(const std::string& url);

/// One synchronous hiredis connection with timeouts. A failed command (the server
/// went away, a timeout) drops the connection and throws `app_error(unavailable)`;
/// the next command reconnects, at most once per `retry_interval` so a dead server is
/// not hammered. Not thread-safe: one per thread, or guard it.
class redis_client {
 public:
  explicit redis_client(redis_options opts);
  ~redis_client();
  redis_client(const redis_client&) = delete;
  redis_client& operator=(const redis_client&) = delete;

  /// Runs one command. A Redis error reply is returned (type error), not thrown.
  redis_reply command(const std::vector<std::string>& argv);

  /// Sends several commands in one round trip; returns their replies in order.
  std::vector<redis_reply> pipeline(const std::vector<std::vector<std::string>>& commands);

  /// EVALSHA with an automatic SCRIPT LOAD on NOSCRIPT.
  redis_reply eval(const std::string& script, const std::string& sha1,
                   const std::vector<std::string>& keys, const std::vector<std::string>& args);

  /// Many EVALSHA calls of one script in one round trip (loading the script once if
  /// Redis does not know it); one reply per argument set, in order.
  std::vector<redis_reply> eval_many(const std::string& script, const std::string& sha1,
                                     const std::vector<std::vector<std::string>>& keys_and_args,
                                     size_t key_count);

  bool ping();
  bool connected() const { return ctx_ != nullptr; }

 private:
  void ensure_connected();
  void drop(const char* why);

  redis_options opts_;
  redisContext* ctx_ = nullptr;
  std::chrono::steady_clock::time_point last_attempt_{};
  std::chrono::milliseconds retry_interval_{200};
};

/// A fixed set of clients shared by many threads; each call borrows one.
class redis_pool {
 public:
  redis_pool(redis_options opts, size_t size);

  template <class F>
  auto with(F&& fn) {
    auto& slot = acquire();
    struct release_guard {
      redis_pool* pool;
      size_t index;
      ~release_guard() { pool->release(index); }
    } guard{this, static_cast<size_t>(&slot - slots_.data())};
    return fn(*slot.client);
  }

  redis_reply command(const std::vector<std::string>& argv) {
    return with([&](redis_client& c) { return c.command(argv); });
  }

 private:
  struct slot_t {
    std::unique_ptr<redis_client> client;
    bool busy = false;
  };
  slot_t& acquire();
  void release(size_t index);

  std::vector<slot_t> slots_;
  std::mutex mutex_;
  std::condition_variable cv_;
};

/// SHA-1 of a Lua script, hex, for EVALSHA.
std::string script_sha1(const std::string& script);

}  // namespace jobserver::persistence
