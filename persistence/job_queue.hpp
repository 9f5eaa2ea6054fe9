#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "persistence/job_store.hpp"

namespace jobserver::persistence {

class redis_client;

/// A job to put on the queue.
struct queue_entry {
  std::string id;
  std::string owner_id;
  int priority = 5;
  int max_attempts = 1;
  int attempts = 0;
  int64_t min_token = 0;  // the token Postgres holds; new tokens are larger
};

/// A lease that ran out, as the reaper handled it.
struct stalled_job {
  std::string id;
  int64_t new_token = 0;
  bool failed = false;  // stalled too often: removed from the queue
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stalled_job& x) {
  return f(x.id, x.new_token, x.failed);
}

/// What a lease renewal found.
enum class lease_state : uint8_t { lost = 0, held = 1, cancel_requested = 2 };

/// The Redis queue of one job type. Every operation is one Lua script, so it is atomic;
/// all keys of a type share the hash tag `{prefix:type}` (one Redis Cluster slot).
///
/// Claiming is fair: priority levels from high to low; within a level, round-robin over
/// the users who have pending work; a user already running `per_user_limit` jobs of this
/// type (on any node) is skipped. A claim grants a lease (deadline) and a fencing token
/// that only grows, even across a Redis that lost its data (tokens start from the clock).
class job_queue {
 public:
  job_queue(std::string prefix, std::string type);

  const std::string& type() const { return type_; }

  /// Adds jobs (idempotent: a job already known is left alone). Returns how many were new.
  int enqueue(redis_client& redis, const std::vector<queue_entry>& jobs) const;
  /// The commands of `enqueue`, for a caller that pipelines them with others.
  std::vector<std::vector<std::string>> enqueue_commands(const std::vector<queue_entry>& jobs) const;

  /// Claims up to `count` jobs for `node`; due delayed jobs are promoted first.
  std::vector<claimed_job> claim(redis_client& redis, const std::string& node, int count,
                                 int lease_ms, int per_user_limit) const;

  /// Renews leases; one state per (id, token) in order.
  std::vector<lease_state> heartbeat(redis_client& redis,
                                     const std::vector<std::pair<std::string, int64_t>>& leases,
                                     int lease_ms) const;

  /// How a run ended, for `settle`.
  struct settlement {
    std::string id;
    int64_t token = 0;
    bool retry = false;      // false: the job is finished (ack)
    int64_t delay_ms = 0;    // with retry
  };
  /// Acks or delays many jobs in one round trip; one "token still held" per entry.
  std::vector<bool> settle(redis_client& redis, const std::vector<settlement>& runs) const;

  /// Removes a finished job; false when the token no longer holds.
  bool ack(redis_client& redis, const std::string& id, int64_t token) const;
  /// Releases the lease and schedules the job again after `delay_ms`.
  bool retry_later(redis_client& redis, const std::string& id, int64_t token, int64_t delay_ms) const;
  /// Requeues (or, past `max_stalls`, drops) jobs whose lease ran out.
  std::vector<stalled_job> reap(redis_client& redis, int max_stalls, int limit = 500) const;
  /// Requeues every job leased to `node` at once with new tokens: a node seen down (the
  /// run counts as a stall), or a node handing its jobs back as it stops (no stall).
  std::vector<stalled_job> requeue_node(redis_client& redis, const std::string& node,
                                        int max_stalls, bool handed_back = false) const;
  /// Cancel: 1 = it was waiting and is gone, 2 = it is running (flagged), 0 = unknown.
  int remove(redis_client& redis, const std::string& id) const;
  /// Forgets a job (retention): its entry, lease and any waiting place.
  void forget(redis_client& redis, const std::string& id) const;
  /// For each id, whether the queue knows it.
  std::vector<bool> known(redis_client& redis, const std::vector<std::string>& ids) const;

  /// Jobs leased now / waiting for a retry.
  long long leased(redis_client& redis) const;
  long long delayed(redis_client& redis) const;

 private:
  std::string base_;
  std::string type_;
};

}  // namespace jobserver::persistence
