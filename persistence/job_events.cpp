#include "persistence/job_events.hpp"

#include <hiredis/hiredis.h>
#include <poll.h>

#include <algorithm>

#include "config/errors.hpp"
#include "config/log.hpp"
#include "persistence/status_memory.hpp"

namespace jobserver::persistence {
namespace {

// KEYS[1] the job's event counter, KEYS[2] its kept events (both share the job's hash
// tag). ARGV: channel, job id, type, data, how many events to keep, TTL of the counter
// (retention: it must outlive the job, or ids would start again), TTL of the kept
// events (an hour after the last one: a later resume gets a snapshot instead).
constexpr const char* publish_script = R"lua(
local seq = redis.call('INCR', KEYS[1])
local entry = string.format('%d', seq) .. ' ' .. ARGV[3] .. ' ' .. ARGV[4]
redis.call('RPUSH', KEYS[2], entry)
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[5]), -1)
redis.call('EXPIRE', KEYS[1], ARGV[6])
redis.call('EXPIRE', KEYS[2], ARGV[7])
redis.call('PUBLISH', ARGV[1], ARGV[2] .. ' ' .. entry)
return seq
)lua";

const std::string& script_sha() {
  static const std::string sha = script_sha1(publish_script);
  return sha;
}

/// "<seq> <type> <data>" into `out` (job id left alone).
bool parse_entry(const std::string& s, size_t from, job_event& out) {
  auto sp1 = s.find(' ', from);
  if (sp1 == std::string::npos) return false;
  auto sp2 = s.find(' ', sp1 + 1);
  if (sp2 == std::string::npos) return false;
  try {
    out.seq = std::stoll(s.substr(from, sp1 - from));
  } catch (const std::exception&) {
    return false;
  }
  out.type = s.substr(sp1 + 1, sp2 - sp1 - 1);
  out.data = s.substr(sp2 + 1);
  return true;
}

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

}  // namespace

job_events::job_events(std::string prefix, int retention_hours, int keep)
  : prefix_(std::move(prefix)), channel_(prefix_ + ":events"),
    ttl_seconds_(retention_hours * 3600), keep_(keep) {}

std::vector<std::string> job_events::publish_command(const std::string& job_id,
                                                     const std::string& type,
                                                     const std::string& data) const {
  std::string base = prefix_ + ":ev:{" + job_id + "}";
  return {"EVALSHA", script_sha(), "2", base + ":seq", base + ":log", channel_, job_id, type, data,
          std::to_string(keep_), std::to_string(ttl_seconds_), "3600"};
}

std::vector<std::string> job_events::status_command(const job_row& row) const {
  const char* type = row.status == status::completed ? "completed"
                     : row.status == status::failed  ? "failed"
                                                     : "progress";
  return publish_command(row.id, type, to_api_json(row));
}

std::vector<redis_reply> job_events::run(redis_client& redis,
                                         const std::vector<std::vector<std::string>>& commands) const {
  auto replies = redis.pipeline(commands);
  std::vector<std::vector<std::string>> again;
  for (size_t i = 0; i < replies.size(); ++i)
    if (replies[i].type == redis_reply::kind::error && replies[i].str.rfind("NOSCRIPT", 0) == 0)
      again.push_back(commands[i]);
  if (again.empty()) return replies;
  redis.command({"SCRIPT", "LOAD", publish_script});
  auto retried = redis.pipeline(again);
  size_t k = 0;
  for (size_t i = 0; i < replies.size() && k < retried.size(); ++i)
    if (replies[i].type == redis_reply::kind::error && replies[i].str.rfind("NOSCRIPT", 0) == 0)
      replies[i] = std::move(retried[k++]);
  return replies;
}

event_log job_events::read(redis_client& redis, const std::string& job_id) const {
  std::string base = prefix_ + ":ev:{" + job_id + "}";
  auto replies = redis.pipeline({{"GET", base + ":seq"}, {"LRANGE", base + ":log", "0", "-1"}});
  event_log out;
  if (replies[0].type == redis_reply::kind::string) {
    try {
      out.seq = std::stoll(replies[0].str);
    } catch (const std::exception&) {
    }
  }
  for (const auto& e : replies[1].elements) {
    job_event ev;
    ev.job_id = job_id;
    if (parse_entry(e.str, 0, ev)) out.events.push_back(std::move(ev));
  }
  return out;
}

bool job_events::parse_message(const std::string& message, job_event& out) {
  auto sp = message.find(' ');
  if (sp == std::string::npos) return false;
  out.job_id = message.substr(0, sp);
  return parse_entry(message, sp + 1, out);
}

// ---- subscriber -----------------------------------------------------------------------

namespace {
constexpr const char* invalidation_channel = "__redis__:invalidate";

bool is_string(const redisReply* r, const char* s) {
  return r != nullptr && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) &&
         std::string(r->str, r->len) == s;
}
}  // namespace

event_subscriber::event_subscriber(redis_options opts, std::string channel,
                                   std::function<void(const std::string&)> on_message,
                                   std::function<void()> on_resync, status_memory* memory,
                                   std::string tracked_prefix)
  : opts_(std::move(opts)), channel_(std::move(channel)), on_message_(std::move(on_message)),
    on_resync_(std::move(on_resync)), memory_(memory), tracked_prefix_(std::move(tracked_prefix)) {}

bool event_subscriber::start_tracking(redisContext* c) {
  auto* id = static_cast<redisReply*>(redisCommand(c, "CLIENT ID"));
  bool ok = id != nullptr && id->type == REDIS_REPLY_INTEGER;
  if (ok) {
    auto own = std::to_string(id->integer);
    auto* r = static_cast<redisReply*>(redisCommand(c, "CLIENT TRACKING ON REDIRECT %s BCAST PREFIX %b",
                                                    own.c_str(), tracked_prefix_.data(),
                                                    tracked_prefix_.size()));
    ok = is_string(r, "OK");
    if (r != nullptr) freeReplyObject(r);
  }
  if (id != nullptr) freeReplyObject(id);
  return ok;
}

void event_subscriber::invalidated(const redisReply& keys) {
  if (keys.type != REDIS_REPLY_ARRAY) {  // nil: the whole database was flushed
    memory_->invalidate_all();
    return;
  }
  for (size_t i = 0; i < keys.elements; ++i) {
    const auto* k = keys.element[i];
    if (k->type != REDIS_REPLY_STRING || k->len <= tracked_prefix_.size()) continue;
    memory_->invalidate(std::string(k->str + tracked_prefix_.size(), k->len - tracked_prefix_.size()));
  }
}

event_subscriber::~event_subscriber() { stop(); }

void event_subscriber::start() {
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { run(); });
}

void event_subscriber::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void event_subscriber::run() {
  auto log = logger("events");
  bool ever_connected = false;
  auto backoff = std::chrono::milliseconds(100);
  auto last_warning = std::chrono::steady_clock::time_point{};
  while (!stop_) {
    redisContext* c = redisConnectWithTimeout(opts_.host.c_str(), opts_.port,
                                              to_timeval(opts_.connect_timeout));
    auto fail = [&](const char* why) {
      if (c != nullptr) redisFree(c);
      c = nullptr;
      connected_ = false;
      auto now = std::chrono::steady_clock::now();
      if (now - last_warning > std::chrono::seconds(30)) {
        last_warning = now;
        log->warn("event subscriber: {}; retrying", why);
      }
    };
    bool ok = c != nullptr && c->err == 0;
    if (ok) {
      redisSetTimeout(c, to_timeval(opts_.command_timeout));
      redisEnableKeepAlive(c);
      if (!opts_.password.empty()) {
        auto* r = static_cast<redisReply*>(redisCommand(c, "AUTH %s", opts_.password.c_str()));
        ok = r != nullptr && r->type != REDIS_REPLY_ERROR;
        if (r != nullptr) freeReplyObject(r);
      }
    }
    if (ok) {
      // Named after its channel, so an operator finds it in CLIENT LIST (errors ignored).
      auto* r = static_cast<redisReply*>(redisCommand(c, "CLIENT SETNAME %b", channel_.data(), channel_.size()));
      if (r != nullptr) freeReplyObject(r);
    }
    bool tracking = false;
    if (ok && memory_ != nullptr) {
      tracking = start_tracking(c);
      if (!tracking) log->warn("Redis refused key tracking (CLIENT TRACKING); job statuses are not kept in memory");
    }
    if (ok) {
      auto* r = static_cast<redisReply*>(
          tracking ? redisCommand(c, "SUBSCRIBE %b %s", channel_.data(), channel_.size(), invalidation_channel)
                   : redisCommand(c, "SUBSCRIBE %b", channel_.data(), channel_.size()));
      ok = r != nullptr && r->type == REDIS_REPLY_ARRAY;
      if (r != nullptr) freeReplyObject(r);
    }
    if (!ok) {
      fail("cannot subscribe to Redis");
      for (auto waited = std::chrono::milliseconds(0); waited < backoff && !stop_;
           waited += std::chrono::milliseconds(50))
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
      continue;
    }
    connected_ = true;
    // From here on every write to a tracked key is reported on this connection.
    if (tracking) memory_->set_enabled(true);
    backoff = std::chrono::milliseconds(100);
    if (ever_connected) {
      log->info("event subscriber reconnected; streams catch up from the event logs");
      if (on_resync_) on_resync_();
    }
    ever_connected = true;
    while (!stop_) {
      void* raw = nullptr;
      if (redisGetReplyFromReader(c, &raw) != REDIS_OK) break;
      if (raw != nullptr) {
        auto* r = static_cast<redisReply*>(raw);
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 && is_string(r->element[0], "message")) {
          if (tracking && is_string(r->element[1], invalidation_channel))
            invalidated(*r->element[2]);
          else if (r->element[2]->type == REDIS_REPLY_STRING)
            on_message_(std::string(r->element[2]->str, r->element[2]->len));
        }
        freeReplyObject(r);
        continue;
      }
      pollfd p{c->fd, POLLIN, 0};
      int n = ::poll(&p, 1, 200);
      if (n < 0 && errno != EINTR) break;
      if (n > 0 && redisBufferRead(c) != REDIS_OK) break;
    }
    // Invalidations may be missed from now on.
    if (tracking) memory_->set_enabled(false);
    if (!stop_) fail("lost the Redis connection");
    else redisFree(c);
  }
  connected_ = false;
}

// ---- inbox and hub ------------------------------------------------------------------------

bool event_inbox::wait(std::chrono::milliseconds timeout, std::vector<job_event>& out, bool& resync) {
  std::unique_lock<std::mutex> lock{mutex_};
  cv_.wait_for(lock, timeout, [&] { return closed_ || resync_ || !events_.empty(); });
  if (closed_) return false;
  resync = resync_;
  resync_ = false;
  out.assign(std::make_move_iterator(events_.begin()), std::make_move_iterator(events_.end()));
  events_.clear();
  return true;
}

void event_inbox::push(job_event e) {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    // A stream that does not read is not allowed to grow without bound: it catches up
    // from the event log instead.
    if (events_.size() >= 1000) {
      events_.clear();
      resync_ = true;
    } else {
      events_.push_back(std::move(e));
    }
  }
  cv_.notify_one();
}

void event_inbox::mark_resync() {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    resync_ = true;
  }
  cv_.notify_one();
}

void event_inbox::close() {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    closed_ = true;
  }
  cv_.notify_all();
}

std::shared_ptr<event_inbox> event_hub::subscribe(const std::vector<std::string>& job_ids) {
  auto inbox = std::make_shared<event_inbox>();
  std::lock_guard<std::mutex> guard{mutex_};
  if (closed_) {
    inbox->close();
    return inbox;
  }
  all_[inbox.get()] = inbox;
  for (const auto& id : job_ids) by_job_[id].push_back(inbox);
  return inbox;
}

void event_hub::unsubscribe(const std::shared_ptr<event_inbox>& inbox,
                            const std::vector<std::string>& job_ids) {
  std::lock_guard<std::mutex> guard{mutex_};
  all_.erase(inbox.get());
  for (const auto& id : job_ids) {
    auto i = by_job_.find(id);
    if (i == by_job_.end()) continue;
    auto& v = i->second;
    v.erase(std::remove(v.begin(), v.end(), inbox), v.end());
    if (v.empty()) by_job_.erase(i);
  }
}

void event_hub::deliver(const std::string& message) {
  job_event e;
  if (!job_events::parse_message(message, e)) return;
  std::lock_guard<std::mutex> guard{mutex_};
  auto i = by_job_.find(e.job_id);
  if (i == by_job_.end()) return;
  for (const auto& inbox : i->second) inbox->push(e);
}

void event_hub::resync_all() {
  std::lock_guard<std::mutex> guard{mutex_};
  for (auto& [p, inbox] : all_) inbox->mark_resync();
}

void event_hub::shutdown() {
  std::lock_guard<std::mutex> guard{mutex_};
  closed_ = true;
  for (auto& [p, inbox] : all_) inbox->close();
}

size_t event_hub::open_streams() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return all_.size();
}

}  // namespace jobserver::persistence
