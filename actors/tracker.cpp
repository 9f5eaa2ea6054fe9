// The tracker: the only writer of job state on a node. Progress is coalesced (Redis at
// once per mailbox drain, Postgres at most every 250 ms); terminal states are written
// in batches as soon as the mailbox drains and are never dropped: while Postgres is
// down they wait and are written when it returns.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <chrono>
#include <ctime>
#include <set>
#include <unordered_map>

#include "actors/messages.hpp"
#include "actors/runtime.hpp"
#include "config/log.hpp"
#include "config/metrics.hpp"

namespace jobserver::actors {

using namespace persistence;
using clock_type = std::chrono::steady_clock;

struct tracker_state {
  runtime_ptr rt;
  std::unique_ptr<redis_client> redis;
  std::unordered_map<std::string, job_row> running;
  std::unordered_map<std::string, clock_type::time_point> started;
  std::set<std::string> dirty_redis;
  std::map<std::string, std::string> partials;  // streamed text not yet in Redis
  std::map<std::string, progress_update> dirty_pg;
  std::vector<std::pair<job_outcome, caf::typed_response_promise<bool>>> finishing;
  std::vector<job_outcome> redis_backlog;  // queue updates that waited for Redis
  std::map<std::string, job_row> cache_backlog;  // status writes that waited for Redis
  bool flush_scheduled = false;
  bool timer_armed = false;
  clock_type::time_point last_pg_progress{};
  clock_type::time_point last_warning{};
  static inline const char* name = "tracker";
};

namespace {

using self_ptr = caf::stateful_actor<tracker_state>*;

auto log() { return logger("tracker"); }

void warn_limited(self_ptr self, const std::string& what) {
  auto now = clock_type::now();
  if (now - self->state.last_warning > std::chrono::seconds(5)) {
    self->state.last_warning = now;
    log()->warn("{}", what);
  }
}

void schedule_flush(self_ptr self) {
  if (!self->state.flush_scheduled) {
    self->state.flush_scheduled = true;
    self->send(self, flush_atom::value);  // after the messages already queued
  }
}

void arm_timer(self_ptr self, std::chrono::milliseconds after) {
  if (!self->state.timer_armed) {
    self->state.timer_armed = true;
    self->delayed_send(self, after, beat_atom::value);
  }
}

// ---- metrics (docs/operations.md) ----------------------------------------------------

metrics::counter& jobs_counter(const char* name, const char* help, const std::string& type) {
  return metrics::global().get_counter(name, help, {{"type", type}});
}

metrics::gauge& running_gauge(const std::string& type) {
  return metrics::global().get_gauge("jobserver_jobs_running", "Jobs running on this node",
                                     {{"type", type}});
}

/// Seconds since an ISO-8601 UTC timestamp ("2026-11-28T14:30:11.936Z"); -1 when unreadable.
double seconds_since(const std::string& iso) {
  std::tm tm{};
  int ms = 0;
  if (iso.size() < 19 || std::sscanf(iso.c_str(), "%d-%d-%dT%d:%d:%d.%d", &tm.tm_year, &tm.tm_mon,
                                     &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) < 6)
    return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  auto at = std::chrono::system_clock::from_time_t(timegm(&tm)) + std::chrono::milliseconds(ms);
  return std::chrono::duration<double>(std::chrono::system_clock::now() - at).count();
}

void count_outcome(const job_outcome& o, double run_seconds) {
  if (o.what == job_outcome::completed)
    jobs_counter("jobserver_jobs_completed_total", "Jobs completed", o.type).inc();
  else if (o.what == job_outcome::retry)
    jobs_counter("jobserver_jobs_retried_total", "Failed attempts queued again for a retry", o.type).inc();
  else
    jobs_counter("jobserver_jobs_failed_total", "Jobs failed for good (cancelled included)", o.type).inc();
  if (run_seconds >= 0)
    metrics::global()
        .get_histogram("jobserver_job_run_seconds", "Run time of an attempt, start to outcome",
                       {{"type", o.type}})
        .observe(run_seconds);
}

/// `{"id":..,"text":..}` of a partial event.
std::string partial_json(const std::string& id, const std::string& text) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w{buf};
  w.StartObject();
  w.Key("id");
  w.String(id.c_str(), static_cast<rapidjson::SizeType>(id.size()));
  w.Key("text");
  w.String(text.c_str(), static_cast<rapidjson::SizeType>(text.size()));
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

/// Writes job status to Redis and publishes each row as an event (in the same round
/// trip); what cannot be written now (Redis down) is kept and written when Redis
/// returns, so a status never stays behind Postgres.
void write_cache(self_ptr self, const std::vector<job_row>& rows) {
  auto& st = self->state;
  if (rows.empty()) return;
  try {
    std::vector<std::vector<std::string>> cmds;
    for (const auto& r : rows) {
      for (auto& c : st.rt->cache->write_commands(r)) cmds.push_back(std::move(c));
      cmds.push_back(st.rt->events->status_command(r));
    }
    for (const auto& r : st.rt->events->run(*st.redis, cmds))
      if (r.type == redis_reply::kind::error) throw app_error(errc::unavailable, "status write failed", true);
    // A newer state is written: an older one waiting in the backlog must not replace it.
    if (!st.cache_backlog.empty())
      for (const auto& r : rows) st.cache_backlog.erase(r.id);
  } catch (const app_error&) {
    warn_limited(self, "Redis unavailable: job status served from Postgres until it returns");
    for (const auto& r : rows) st.cache_backlog[r.id] = r;
    arm_timer(self, std::chrono::milliseconds(1000));
  }
  // A request on this node that follows the change must not be answered from memory
  // before Redis' own invalidation arrives.
  for (const auto& r : rows) st.rt->memory->invalidate(r.id);
}

/// Tells the queue how runs ended (one round trip per job type); returns the runs that
/// could not be told because Redis is unreachable.
std::vector<job_outcome> settle_in_queue(self_ptr self, const std::vector<job_outcome>& runs) {
  std::map<std::string, std::vector<const job_outcome*>> by_type;
  for (const auto& o : runs) by_type[o.type].push_back(&o);
  std::vector<job_outcome> unsent;
  for (const auto& [type, outcomes] : by_type) {
    auto q = self->state.rt->queues.find(type);
    if (q == self->state.rt->queues.end()) continue;
    std::vector<job_queue::settlement> ops;
    for (const auto* o : outcomes)
      ops.push_back({o->id, o->token, o->what == job_outcome::retry, o->retry_delay_ms});
    try {
      q->second.settle(*self->state.redis, ops);
    } catch (const app_error&) {
      for (const auto* o : outcomes) unsent.push_back(*o);
    }
  }
  return unsent;
}

void log_outcome(self_ptr self, const job_outcome& o, const job_row& row) {
  double secs = 0;
  if (auto i = self->state.started.find(o.id); i != self->state.started.end())
    secs = std::chrono::duration<double>(clock_type::now() - i->second).count();
  if (o.what == job_outcome::completed)
    log()->info("job {} ({}) completed in {:.3f} s", o.id, row.type, secs);
  else if (o.what == job_outcome::retry)
    log()->warn("job {} ({}) attempt {}/{} failed: {}; retrying in {} ms", o.id, row.type,
                row.attempts, row.max_attempts, o.error, o.retry_delay_ms);
  else if (o.cancelled)
    log()->info("job {} ({}) cancelled after {:.3f} s", o.id, row.type, secs);
  else
    log()->warn("job {} ({}) failed after attempt {}/{}: {}", o.id, row.type, row.attempts,
                row.max_attempts, o.error);
}

void flush_finishes(self_ptr self) {
  auto& st = self->state;
  if (st.finishing.empty()) return;
  auto batch = std::move(st.finishing);
  st.finishing.clear();
  std::vector<job_outcome> outcomes;
  outcomes.reserve(batch.size());
  for (auto& b : batch) outcomes.push_back(b.first);
  std::vector<job_row> rows;
  try {
    rows = st.rt->store->finish(outcomes);
  } catch (const app_error& e) {
    // Postgres is down: keep every terminal state and try again shortly.
    warn_limited(self, std::string{"cannot record finished jobs yet: "} + e.what());
    for (auto& b : batch) st.finishing.push_back(std::move(b));
    arm_timer(self, std::chrono::milliseconds(500));
    return;
  }
  std::unordered_map<std::string, const job_row*> by_id;
  for (const auto& r : rows) by_id[r.id] = &r;
  std::vector<job_outcome> written_runs;
  for (auto& [o, promise] : batch)
    if (by_id.count(o.id) != 0) written_runs.push_back(o);
  for (auto& o : settle_in_queue(self, written_runs)) st.redis_backlog.push_back(std::move(o));
  for (auto& [o, promise] : batch) {
    auto i = by_id.find(o.id);
    bool written = i != by_id.end();
    if (st.running.count(o.id) != 0) running_gauge(o.type).add(-1);
    if (written) {
      log_outcome(self, o, *i->second);
      auto s = st.started.find(o.id);
      count_outcome(o, s == st.started.end() ? -1.0
                       : std::chrono::duration<double>(clock_type::now() - s->second).count());
    } else {
      log()->warn("job {}: lease lost, result of this run discarded", o.id);
    }
    st.running.erase(o.id);
    st.started.erase(o.id);
    st.dirty_redis.erase(o.id);
    st.dirty_pg.erase(o.id);
    st.partials.erase(o.id);
    promise.deliver(written);
  }
  write_cache(self, rows);
  if (!st.redis_backlog.empty()) arm_timer(self, std::chrono::milliseconds(1000));
}

void flush_progress(self_ptr self) {
  auto& st = self->state;
  if (!st.partials.empty()) {
    std::vector<std::vector<std::string>> cmds;
    for (auto& [id, text] : st.partials) {
      cmds.push_back({"HSET", st.rt->cache->key(id), "partial", text});
      cmds.push_back(st.rt->events->publish_command(id, "partial", partial_json(id, text)));
    }
    st.partials.clear();
    try {
      st.rt->events->run(*st.redis, cmds);
    } catch (const app_error&) {
      // Partial text is only a preview; the lesson itself is what counts.
    }
  }
  if (!st.dirty_redis.empty()) {
    std::vector<job_row> rows;
    for (const auto& id : st.dirty_redis)
      if (auto i = st.running.find(id); i != st.running.end()) rows.push_back(i->second);
    st.dirty_redis.clear();
    write_cache(self, rows);
  }
  if (st.dirty_pg.empty()) return;
  auto since = clock_type::now() - st.last_pg_progress;
  if (since < std::chrono::milliseconds(250)) {
    arm_timer(self, std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::milliseconds(250) - since) + std::chrono::milliseconds(1));
    return;
  }
  std::vector<progress_update> updates;
  for (auto& [id, u] : st.dirty_pg) updates.push_back(u);
  try {
    st.rt->store->store_progress(updates);
    st.dirty_pg.clear();
    st.last_pg_progress = clock_type::now();
  } catch (const app_error&) {
    warn_limited(self, "Postgres unavailable: progress kept in memory until it returns");
    arm_timer(self, std::chrono::milliseconds(500));
  }
}

void replay_backlog(self_ptr self) {
  auto& st = self->state;
  if (!st.cache_backlog.empty()) {
    std::vector<job_row> rows;
    for (auto& [id, r] : st.cache_backlog) rows.push_back(r);
    st.cache_backlog.clear();
    write_cache(self, rows);  // keeps them again if Redis is still down
  }
  if (st.redis_backlog.empty()) return;
  auto backlog = std::move(st.redis_backlog);
  st.redis_backlog = settle_in_queue(self, backlog);
  if (!st.redis_backlog.empty()) arm_timer(self, std::chrono::milliseconds(1000));
}

void flush(self_ptr self) {
  flush_finishes(self);
  flush_progress(self);
  replay_backlog(self);
}

caf::result<std::vector<job_row>> start_jobs(self_ptr self, const std::vector<claimed_job>& claims) {
  auto& st = self->state;
  std::vector<job_row> rows;
  try {
    rows = st.rt->store->start(claims, st.rt->node_id);
  } catch (const app_error& e) {
    // Postgres is down: hand the jobs back; they run when it returns.
    for (const auto& c : claims) {
      try {
        st.rt->queue(c.type).retry_later(*st.redis, c.id, c.token, 1000);
      } catch (const app_error&) {
      }
    }
    warn_limited(self, std::string{"cannot start jobs: "} + e.what());
    return make_error(e.code(), e.what());
  }
  std::set<std::string> seen;
  std::vector<job_row> runnable;
  std::vector<job_outcome> dropped;
  for (auto& r : rows) {
    seen.insert(r.id);
    if (r.status == status::processing) {
      log()->info("processing {} job {} (attempt {}/{}) for {}", r.type, r.id, r.attempts,
                  r.max_attempts, r.owner_id);
      if (st.running.count(r.id) == 0) running_gauge(r.type).add(1);
      st.running[r.id] = r;
      st.started[r.id] = clock_type::now();
      if (r.attempts == 1)
        if (double waited = seconds_since(r.created_at); waited >= 0)
          metrics::global()
              .get_histogram("jobserver_job_claim_seconds",
                             "Wait from creation to the start of a first attempt", {{"type", r.type}})
              .observe(waited);
      runnable.push_back(r);
    } else {
      log()->info("job {} was cancelled before it started", r.id);
      dropped.push_back({r.id, r.type, r.lease_token, job_outcome::failed, {}, {}, true, 0});
    }
  }
  for (const auto& c : claims) {
    if (seen.count(c.id) != 0) continue;
    // Finished, deleted or superseded meanwhile: take it off the queue, and make sure the
    // status in Redis is Postgres' (a node that died after its commit left it behind).
    dropped.push_back({c.id, c.type, c.token, job_outcome::failed, {}, {}, false, 0});
    try {
      if (auto now = st.rt->store->find_any(c.id); now && now->terminal()) rows.push_back(std::move(*now));
    } catch (const app_error&) {
    }
  }
  settle_in_queue(self, dropped);
  write_cache(self, rows);
  return runnable;
}

caf::result<std::string> cancel_job(self_ptr self, const std::string& owner, const std::string& id) {
  auto& st = self->state;
  try {
    auto row = st.rt->store->find(owner, id);
    if (!row) return make_error(errc::not_found, "Job not found");
    if (row->terminal()) return make_error(errc::conflict, "Job already finished");
    if (auto q = st.rt->queues.find(row->type); q != st.rt->queues.end()) {
      try {
        q->second.remove(*st.redis, id);
      } catch (const app_error&) {
        warn_limited(self, "Redis unavailable during cancel; Postgres decides");
      }
    }
    auto updated = st.rt->store->cancel(owner, id);
    if (!updated) {
      updated = st.rt->store->find(owner, id);
      if (!updated) return make_error(errc::not_found, "Job not found");
      return to_api_json(*updated);
    }
    if (updated->status == status::processing) {
      // To the node that runs it, through the cluster (this node or a peer).
      if (auto m = st.rt->actors.get(directory::member))
        self->send(m, cancel_atom::value, id, updated->node_id);
      else if (auto d = st.rt->actors.get(directory::dispatcher))
        self->send(d, cancel_atom::value, id);
      log()->info("job {} cancel requested by {}", id, owner);
    } else {
      log()->info("job {} cancelled by {} before it ran", id, owner);
    }
    write_cache(self, {*updated});
    // Cancelling a batch cancels the children it is waiting for.
    for (const auto& child : st.rt->store->unfinished_children(owner, id)) cancel_job(self, owner, child);
    return to_api_json(*updated);
  } catch (const app_error& e) {
    return make_error(e.code(), e.what());
  }
}

caf::result<std::string> retry_job(self_ptr self, const std::string& owner, const std::string& id) {
  auto& st = self->state;
  try {
    auto before = st.rt->store->find(owner, id);
    if (!before) return make_error(errc::not_found, "Job not found");
    auto q = st.rt->queues.find(before->type);
    if (q == st.rt->queues.end())
      return make_error(errc::conflict, "Jobs of this type cannot run on this server");
    auto row = st.rt->store->retry(owner, id);
    if (!row) return make_error(errc::conflict, "Only failed jobs can be retried");
    try {
      q->second.enqueue(*st.redis, {{row->id, row->owner_id, row->priority, row->max_attempts,
                                     0, before->lease_token}});
    } catch (const app_error&) {
      st.rt->store->undo_retry(id, before->has_error ? before->error : "Job queue unavailable");
      return make_error(errc::unavailable, "Job queue unavailable");
    }
    write_cache(self, {*row});
    if (auto d = st.rt->actors.get(directory::dispatcher)) self->send(d, wake_atom::value);
    log()->info("job {} ({}) queued again by {}", id, row->type, owner);
    return to_api_json(*row);
  } catch (const app_error& e) {
    return make_error(e.code(), e.what());
  }
}

void record_stalled(self_ptr self, const std::string& type, const std::vector<stalled_job>& jobs,
                    bool handed_back = false) {
  auto& st = self->state;
  std::vector<job_row> rows;
  for (const auto& s : jobs) {
    try {
      auto row = st.rt->store->requeue_stalled(
          s.id, s.new_token, s.failed, "Job stalled too many times (its worker stopped responding)");
      if (!row) {
        // Finished meanwhile: the node may have committed the result and died before it
        // wrote the status to Redis, so write what Postgres holds.
        if (auto now = st.rt->store->find_any(s.id)) rows.push_back(std::move(*now));
        continue;
      }
      if (s.failed) log()->warn("job {} ({}) failed: stalled too many times", s.id, type);
      else if (handed_back) log()->info("job {} ({}) handed back to the queue by a stopping node", s.id, type);
      else log()->warn("job {} ({}) stalled: its node stopped or lost the lease, queued again", s.id, type);
      rows.push_back(std::move(*row));
    } catch (const app_error& e) {
      warn_limited(self, std::string{"cannot record stalled job: "} + e.what());
    }
  }
  write_cache(self, rows);
}

}  // namespace

caf::actor spawn_tracker(caf::actor_system& sys, runtime_ptr rt) {
  return sys.spawn<caf::detached>([rt](self_ptr self) -> caf::behavior {
    self->state.rt = rt;
    self->state.redis = rt->make_redis();
    return {
        [=](start_atom, const std::vector<claimed_job>& claims) {
          return start_jobs(self, claims);
        },
        [=](progress_atom, const std::string& id, int64_t token, int pct) {
          auto& st = self->state;
          auto i = st.running.find(id);
          if (i == st.running.end() || i->second.lease_token != token) return;
          pct = std::clamp(pct, 0, 99);  // 100 only once the result is committed
          if (pct <= i->second.progress) return;
          i->second.progress = pct;
          st.dirty_redis.insert(id);
          st.dirty_pg[id] = progress_update{id, token, pct};
          schedule_flush(self);
        },
        [=](partial_atom, const std::string& id, int64_t token, const std::string& text) {
          auto& st = self->state;
          auto i = st.running.find(id);
          if (i == st.running.end() || i->second.lease_token != token) return;
          st.partials[id] = text.size() > 65536 ? text.substr(text.size() - 65536) : text;
          schedule_flush(self);
        },
        [=](problem_atom, const std::string& id, int64_t token, const std::string& text) {
          auto& st = self->state;
          auto i = st.running.find(id);
          if (i == st.running.end() || i->second.lease_token != token) return;
          i->second.error = text.substr(0, 1000);
          i->second.has_error = true;
          st.dirty_redis.insert(id);
          schedule_flush(self);
        },
        [=](finish_atom, const job_outcome& o) -> caf::result<bool> {
          auto rp = self->make_response_promise<bool>();
          self->state.finishing.emplace_back(o, rp);
          schedule_flush(self);
          return rp;
        },
        [=](flush_atom) {
          self->state.flush_scheduled = false;
          flush(self);
        },
        [=](beat_atom) {
          self->state.timer_armed = false;
          flush(self);
        },
        [=](cancel_atom, const std::string& owner, const std::string& id) {
          return cancel_job(self, owner, id);
        },
        [=](retry_atom, const std::string& owner, const std::string& id) {
          return retry_job(self, owner, id);
        },
        [=](stalled_atom, const std::string& type, const std::vector<stalled_job>& jobs) {
          record_stalled(self, type, jobs);
        },
        // The same, answered once written (a stopping node hands its jobs back).
        [=](stalled_atom, const std::string& type, const std::vector<stalled_job>& jobs,
            bool handed_back) -> bool {
          record_stalled(self, type, jobs, handed_back);
          return true;
        },
        [=](stats_atom) -> size_t { return self->state.running.size(); },
    };
  });
}

}  // namespace jobserver::actors
