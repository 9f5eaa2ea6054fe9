// The janitor: requeues jobs whose lease ran out (stalled), restores into Redis the
// jobs Postgres holds as unfinished but Redis lacks (Redis lost its data), and deletes
// finished jobs past retention from both stores.
#include "actors/messages.hpp"
#include "actors/runtime.hpp"
#include "config/log.hpp"

namespace jobserver::actors {

using namespace persistence;
using clock_type = std::chrono::steady_clock;

struct janitor_state {
  runtime_ptr rt;
  std::unique_ptr<redis_client> redis;
  clock_type::time_point last_warning{};
  static inline const char* name = "janitor";
};

namespace {

using self_ptr = caf::stateful_actor<janitor_state>*;

auto log() { return logger("janitor"); }

void warn_limited(self_ptr self, const std::string& what) {
  auto now = clock_type::now();
  if (now - self->state.last_warning > std::chrono::seconds(10)) {
    self->state.last_warning = now;
    log()->warn("{}", what);
  }
}

void reap(self_ptr self) {
  auto& st = self->state;
  for (const auto& [type, q] : st.rt->queues) {
    try {
      auto stalled = q.reap(*st.redis, st.rt->settings.max_stalls);
      if (stalled.empty()) continue;
      if (auto t = st.rt->actors.get(directory::tracker))
        self->send(t, stalled_atom::value, type, stalled);
      if (auto d = st.rt->actors.get(directory::dispatcher)) self->send(d, wake_atom::value);
    } catch (const app_error& e) {
      warn_limited(self, std::string{"cannot check leases: "} + e.what());
    }
  }
}

std::string alive_key(const runtime& rt, const std::string& node) {
  return rt.settings.redis_prefix + ":node:" + node;
}

/// Says in Redis that this node is alive (a key that expires after two heartbeats).
void mark_alive(self_ptr self) {
  auto& st = self->state;
  try {
    st.redis->command({"SET", alive_key(*st.rt, st.rt->node_id), "1", "PX",
                       std::to_string(2 * st.rt->settings.cluster_heartbeat_ms)});
  } catch (const app_error&) {
    // Redis down: nothing to fail over to either.
  }
}

/// A peer was seen down: its leased jobs go back to the queue now, not at lease expiry.
/// A peer cut off from this node but still alive to Redis (a link or partition problem,
/// not a dead process) keeps its jobs: their leases decide. `check` counts re-checks.
void requeue_lost_node(self_ptr self, const std::string& node, int check) {
  auto& st = self->state;
  try {
    auto ttl = st.redis->command({"PTTL", alive_key(*st.rt, node)});
    if (ttl.type == redis_reply::kind::integer && ttl.integer > 0) {
      if (check >= 3) {
        log()->warn("node {} is unreachable through the cluster but still alive in Redis; its "
                    "leases decide over its jobs", node);
        return;
      }
      self->delayed_send(self, std::chrono::milliseconds(ttl.integer + 20), nodedown_atom::value,
                         node, check + 1);
      return;
    }
  } catch (const app_error&) {
  }
  size_t moved = 0;
  for (auto& [type, stalled] : requeue_leases_of(*st.rt, *st.redis, node, false)) {
    moved += stalled.size();
    if (auto t = st.rt->actors.get(directory::tracker)) self->send(t, stalled_atom::value, type, stalled);
  }
  log()->warn("node {} down: {} job(s) requeued", node, moved);
  if (moved > 0)
    if (auto d = st.rt->actors.get(directory::dispatcher)) self->send(d, wake_atom::value);
}

}  // namespace

requeued_jobs requeue_leases_of(const runtime& rt, redis_client& redis, const std::string& node,
                                bool handed_back) {
  requeued_jobs out;
  for (const auto& [type, q] : rt.queues) {
    try {
      auto jobs = q.requeue_node(redis, node, rt.settings.max_stalls, handed_back);
      if (!jobs.empty()) out.emplace_back(type, std::move(jobs));
    } catch (const app_error& e) {
      log()->warn("cannot requeue the {} jobs of node {} now ({}); their leases will expire", type,
                  node, e.what());
    }
  }
  return out;
}

namespace {

void reconcile(self_ptr self) {
  auto& st = self->state;
  try {
    auto rows = st.rt->store->unfinished(2000, 10000);
    std::map<std::string, std::vector<const job_row*>> by_type;
    for (const auto& r : rows) by_type[r.type].push_back(&r);
    int restored = 0;
    for (const auto& [type, jobs] : by_type) {
      auto q = st.rt->queues.find(type);
      if (q == st.rt->queues.end()) continue;
      std::vector<std::string> ids;
      for (const auto* j : jobs) ids.push_back(j->id);
      auto known = q->second.known(*st.redis, ids);
      std::vector<queue_entry> missing;
      for (size_t i = 0; i < jobs.size(); ++i)
        if (!known[i])
          missing.push_back({jobs[i]->id, jobs[i]->owner_id, jobs[i]->priority,
                             jobs[i]->max_attempts, jobs[i]->attempts, jobs[i]->lease_token});
      if (!missing.empty()) restored += q->second.enqueue(*st.redis, missing);
    }
    if (restored > 0) {
      log()->warn("restored {} unfinished job(s) from Postgres into the Redis queue", restored);
      if (auto d = st.rt->actors.get(directory::dispatcher)) self->send(d, wake_atom::value);
    }
  } catch (const app_error& e) {
    warn_limited(self, std::string{"cannot reconcile Postgres and Redis: "} + e.what());
  }
}

void retain(self_ptr self) {
  auto& st = self->state;
  try {
    size_t total = 0;
    for (;;) {
      auto gone = st.rt->store->delete_finished(st.rt->settings.job_retention_hours, 1000);
      std::vector<std::string> ids;
      for (const auto& [id, type] : gone) {
        ids.push_back(id);
        if (auto q = st.rt->queues.find(type); q != st.rt->queues.end()) q->second.forget(*st.redis, id);
      }
      st.rt->cache->erase(*st.redis, ids);
      for (const auto& id : ids) st.rt->memory->invalidate(id);
      total += gone.size();
      if (gone.size() < 1000) break;
    }
    if (total > 0) log()->info("deleted {} finished job(s) older than {} h", total,
                               st.rt->settings.job_retention_hours);
  } catch (const app_error& e) {
    warn_limited(self, std::string{"retention postponed: "} + e.what());
  }
}

}  // namespace

caf::actor spawn_janitor(caf::actor_system& sys, runtime_ptr rt) {
  return sys.spawn<caf::detached>([rt](self_ptr self) -> caf::behavior {
    self->state.rt = rt;
    self->state.redis = rt->make_redis();
    const auto& s = rt->settings;
    auto reap_every = std::chrono::milliseconds(std::clamp(s.lease_ms / 4, 100, 1000));
    auto reconcile_every = std::chrono::seconds(s.reconcile_interval_seconds);
    auto retain_every = std::chrono::minutes(s.cleanup_interval_minutes);
    self->delayed_send(self, reap_every, reap_atom::value);
    auto alive_every = std::chrono::milliseconds(s.cluster_heartbeat_ms);
    if (s.cluster_port != 0) self->send(self, alive_atom::value);
    self->delayed_send(self, std::chrono::seconds(1), reconc_atom::value);
    self->delayed_send(self, std::chrono::seconds(5), retain_atom::value);
    return {
        [=](reap_atom) {
          reap(self);
          self->delayed_send(self, reap_every, reap_atom::value);
        },
        [=](reconc_atom) {
          reconcile(self);
          self->delayed_send(self, reconcile_every, reconc_atom::value);
        },
        [=](nodedown_atom, const std::string& node) { requeue_lost_node(self, node, 0); },
        [=](nodedown_atom, const std::string& node, int check) { requeue_lost_node(self, node, check); },
        [=](alive_atom) {
          mark_alive(self);
          self->delayed_send(self, alive_every, alive_atom::value);
        },
        [=](retain_atom) {
          retain(self);
          self->delayed_send(self, retain_every, retain_atom::value);
        },
        // Runs one pass of everything now (tests, operators); answers when done.
        [=](flush_atom) -> bool {
          reap(self);
          reconcile(self);
          retain(self);
          return true;
        },
    };
  });
}

}  // namespace jobserver::actors
