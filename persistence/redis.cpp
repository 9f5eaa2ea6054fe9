#include "persistence/redis.hpp"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>

#include <cstdio>

#include "config/errors.hpp"
#include "config/log.hpp"

namespace jobserver::persistence {
namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

redis_reply copy_reply(const redisReply* r) {
  redis_reply out;
  if (r == nullptr) return out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = redis_reply::kind::string;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = redis_reply::kind::status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = redis_reply::kind::error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = redis_reply::kind::integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = redis_reply::kind::array;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(copy_reply(r->element[i]));
      break;
    default:
      break;
  }
  return out;
}

void append(redisContext* ctx, const std::vector<std::string>& argv) {
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  ptrs.reserve(argv.size());
  lens.reserve(argv.size());
  for (const auto& a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  redisAppendCommandArgv(ctx, static_cast<int>(argv.size()), ptrs.data(), lens.data());
}

}  // namespace

redis_options parse_redis_url(const std::string& url) {
  redis_options o;
  const std::string scheme = "redis://";
  if (url.rfind(scheme, 0) != 0) throw app_error(errc::invalid_input, "REDIS_URL must start with redis://");
  std::string rest = url.substr(scheme.size());
  if (auto at = rest.rfind('@'); at != std::string::npos) {
    auto auth = rest.substr(0, at);
    rest = rest.substr(at + 1);
    auto colon = auth.find(':');
    o.password = colon == std::string::npos ? auth : auth.substr(colon + 1);
  }
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    auto db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (!db.empty()) {
      try {
        o.db = std::stoi(db);
      } catch (const std::exception&) {
        throw app_error(errc::invalid_input, "REDIS_URL has an invalid database number");
      }
    }
  }
  if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    auto port = rest.substr(colon + 1);
    bool digits = !port.empty() && port.size() <= 5 &&
                  port.find_first_not_of("0123456789") == std::string::npos;
    if (!digits || std::stoi(port) < 1 || std::stoi(port) > 65535)
      throw app_error(errc::invalid_input, "REDIS_URL has an invalid port");
    o.port = std::stoi(port);
    rest = rest.substr(0, colon);
  }
  if (!rest.empty()) o.host = rest;
  return o;
}

redis_client::redis_client(redis_options opts) : opts_(std::move(opts)) {}

redis_client::~redis_client() {
  if (ctx_ != nullptr) redisFree(ctx_);
}

void redis_client::drop(const char* why) {
  if (ctx_ != nullptr) {
    logger("redis")->debug("dropping connection: {}", why);
    redisFree(ctx_);
    ctx_ = nullptr;
  }
}

void redis_client::ensure_connected() {
  if (ctx_ != nullptr) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_attempt_ < retry_interval_)
    throw app_error(errc::unavailable, "redis unavailable", true);
  last_attempt_ = now;
  redisContext* c = redisConnectWithTimeout(opts_.host.c_str(), opts_.port,
                                            to_timeval(opts_.connect_timeout));
  if (c == nullptr || c->err != 0) {
    std::string why = c != nullptr ? c->errstr : "out of memory";
    if (c != nullptr) redisFree(c);
    throw app_error(errc::unavailable, "redis unavailable (connect: " + why + ")", true);
  }
  redisSetTimeout(c, to_timeval(opts_.command_timeout));
  redisEnableKeepAlive(c);
  ctx_ = c;
  auto check = [&](std::vector<std::string> argv) {
    auto r = command(argv);
    if (r.type == redis_reply::kind::error) {
      drop("setup failed");
      throw app_error(errc::unavailable, "redis rejected the connection setup", true);
    }
  };
  if (!opts_.password.empty()) check({"AUTH", opts_.password});
  if (opts_.db != 0) check({"SELECT", std::to_string(opts_.db)});
}

redis_reply redis_client::command(const std::vector<std::string>& argv) {
  auto replies = pipeline({argv});
  return std::move(replies.front());
}

std::vector<redis_reply> redis_client::pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  ensure_connected();
  for (const auto& argv : commands) append(ctx_, argv);
  std::vector<redis_reply> out;
  out.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(ctx_, &raw) != REDIS_OK || raw == nullptr) {
      // The reason (a timeout, a reset connection) goes with the error: operators see it in
      // the warnings of whoever asked.
      std::string why = ctx_->errstr;
      drop(why.c_str());
      throw app_error(errc::unavailable, "redis unavailable (" + why + ")", true);
    }
    auto* reply = static_cast<redisReply*>(raw);
    out.push_back(copy_reply(reply));
    freeReplyObject(reply);
  }
  // A Redis that is starting (loading its data) or cannot serve answers with an error
  // to every command: that is an outage, not an answer.
  for (const auto& r : out) {
    if (r.type != redis_reply::kind::error) continue;
    for (const char* state : {"LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN"})
      if (r.str.rfind(state, 0) == 0) throw app_error(errc::unavailable, "redis unavailable", true);
  }
  return out;
}

redis_reply redis_client::eval(const std::string& script, const std::string& sha1,
                               const std::vector<std::string>& keys,
                               const std::vector<std::string>& args) {
  std::vector<std::string> argv{"EVALSHA", sha1, std::to_string(keys.size())};
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = command(argv);
  if (r.type == redis_reply::kind::error && r.str.rfind("NOSCRIPT", 0) == 0) {
    argv[0] = "EVAL";
    argv[1] = script;
    r = command(argv);
  }
  return r;
}

std::vector<redis_reply> redis_client::eval_many(
    const std::string& script, const std::string& sha1,
    const std::vector<std::vector<std::string>>& keys_and_args, size_t key_count) {
  auto build = [&] {
    std::vector<std::vector<std::string>> cmds;
    cmds.reserve(keys_and_args.size());
    for (const auto& ka : keys_and_args) {
      std::vector<std::string> argv{"EVALSHA", sha1, std::to_string(key_count)};
      argv.insert(argv.end(), ka.begin(), ka.end());
      cmds.push_back(std::move(argv));
    }
    return cmds;
  };
  auto replies = pipeline(build());
  bool missing = false;
  for (const auto& r : replies)
    if (r.type == redis_reply::kind::error && r.str.rfind("NOSCRIPT", 0) == 0) missing = true;
  if (!missing) return replies;
  command({"SCRIPT", "LOAD", script});
  return pipeline(build());
}

bool redis_client::ping() {
  try {
    auto r = command({"PING"});
    return r.type == redis_reply::kind::status && r.str == "PONG";
  } catch (const app_error&) {
    return false;
  }
}

redis_pool::redis_pool(redis_options opts, size_t size) {
  slots_.resize(size == 0 ? 1 : size);
  for (auto& s : slots_) s.client = std::make_unique<redis_client>(opts);
}

redis_pool::slot_t& redis_pool::acquire() {
  std::unique_lock<std::mutex> lock{mutex_};
  for (;;) {
    for (auto& s : slots_) {
      if (!s.busy) {
        s.busy = true;
        return s;
      }
    }
    if (cv_.wait_for(lock, std::chrono::seconds(5)) == std::cv_status::timeout)
      throw app_error(errc::unavailable, "redis busy: no free connection", true);
  }
}

void redis_pool::release(size_t index) {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    slots_[index].busy = false;
  }
  cv_.notify_one();
}

std::string script_sha1(const std::string& script) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(script.data()), script.size(), digest);
  char hex[SHA_DIGEST_LENGTH * 2 + 1];
  for (int i = 0; i < SHA_DIGEST_LENGTH; ++i) std::snprintf(hex + 2 * i, 3, "%02x", digest[i]);
  return std::string(hex, SHA_DIGEST_LENGTH * 2);
}

}  // namespace jobserver::persistence
