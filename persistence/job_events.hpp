#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "persistence/job.hpp"
#include "persistence/redis.hpp"

struct redisContext;
struct redisReply;

namespace jobserver::persistence {

/// One event of a job, as Server-Sent Events carry it: `progress` (the job's JSON after a
/// change that is not terminal), `partial` (`{"id","text"}`: the text an LLM has streamed
/// so far), `completed` / `failed` (the job's final JSON). `seq` rises by one per event
/// of a job, across nodes and attempts; it is the SSE `id:`.
struct job_event {
  std::string job_id;
  int64_t seq = 0;
  std::string type;
  std::string data;

  bool terminal() const { return type == "completed" || type == "failed"; }
};

/// What Redis holds for a job's events: the last `seq` handed out, and the most recent
/// events (oldest first) that a resuming client can be given.
struct event_log {
  int64_t seq = 0;
  std::vector<job_event> events;
};

/// Job events through Redis: each event is numbered, kept in a short per-job list (for
/// `Last-Event-ID`), and published on one channel `<prefix>:events` that every node
/// subscribes to, all in one Lua script. The tracker sends these commands in the same
/// pipeline as its status writes, so an event costs no extra round trip.
class job_events {
 public:
  job_events(std::string prefix, int retention_hours, int keep = 64);

  const std::string& channel() const { return channel_; }

  /// The EVALSHA command that records and publishes one event.
  std::vector<std::string> publish_command(const std::string& job_id, const std::string& type,
                                           const std::string& data) const;
  /// The events of a job's status row: `completed`, `failed` or `progress`.
  std::vector<std::string> status_command(const job_row& row) const;
  /// Runs `commands` (status writes and publish commands) in one round trip, loading the
  /// script once if Redis does not know it; returns the replies.
  std::vector<redis_reply> run(redis_client& redis,
                               const std::vector<std::vector<std::string>>& commands) const;

  /// The job's last seq and its kept events.
  event_log read(redis_client& redis, const std::string& job_id) const;

  /// Parses a published message ("<id> <seq> <type> <data>"); false when malformed.
  static bool parse_message(const std::string& message, job_event& out);

 private:
  std::string prefix_;
  std::string channel_;
  int ttl_seconds_;
  int keep_;
};

class status_memory;

/// The one subscriber connection of a node: a thread that reads `channel` and hands
/// every message to `on_message`; when Redis goes away it reconnects (with backoff) and
/// then calls `on_resync`, because messages published meanwhile were lost.
///
/// With a `memory`, the same connection also asks Redis to track every key that starts
/// with `tracked_prefix` (`CLIENT TRACKING ... BCAST`, invalidations redirected to
/// itself) and drops the matching entries of `memory` as Redis reports writes to them;
/// `memory` is enabled only while that tracking is in place.
class event_subscriber {
 public:
  event_subscriber(redis_options opts, std::string channel,
                   std::function<void(const std::string&)> on_message,
                   std::function<void()> on_resync, status_memory* memory = nullptr,
                   std::string tracked_prefix = {});
  ~event_subscriber();
  void start();
  void stop();
  bool connected() const { return connected_; }

 private:
  void run();
  /// CLIENT TRACKING on the subscriber's own connection; false when Redis refuses it.
  bool start_tracking(redisContext* c);
  void invalidated(const redisReply& keys);

  redis_options opts_;
  std::string channel_;
  std::function<void(const std::string&)> on_message_;
  std::function<void()> on_resync_;
  status_memory* memory_;
  std::string tracked_prefix_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> connected_{false};
  std::thread thread_;
};

/// One open event stream's inbox, filled by the hub, drained by the stream's thread.
class event_inbox {
 public:
  /// Waits up to `timeout` for events; `resync` is set when events may have been lost.
  /// Returns false when the hub shut down.
  bool wait(std::chrono::milliseconds timeout, std::vector<job_event>& out, bool& resync);
  void push(job_event e);
  void mark_resync();
  void close();

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<job_event> events_;
  bool resync_ = false;
  bool closed_ = false;
};

/// Fans events out to the open streams of this node, by job id.
class event_hub {
 public:
  std::shared_ptr<event_inbox> subscribe(const std::vector<std::string>& job_ids);
  void unsubscribe(const std::shared_ptr<event_inbox>& inbox, const std::vector<std::string>& job_ids);
  /// A message from the subscriber.
  void deliver(const std::string& message);
  /// Every stream catches up from the event logs (the subscriber reconnected).
  void resync_all();
  /// Ends every stream (server stopping).
  void shutdown();
  size_t open_streams() const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::vector<std::shared_ptr<event_inbox>>> by_job_;
  std::unordered_map<event_inbox*, std::shared_ptr<event_inbox>> all_;
  bool closed_ = false;
};

}  // namespace jobserver::persistence
