// The tracker: the only writer of job state on a node. Progress is coalesced (Redis at
// once per mailbox drain, Postgres at most every 250 ms); terminal states are written
// in batches as soon as the mailbox drains and are never dropped: while Postgres is
// down they wait and are written when it returns. The statuses it decides on go to
// Redis through its output stage, the status writer (actors/status_writer.cpp), in
// order, and so do finished runs' queue updates (after their statuses); an answer that
// must not come before the status is readable (cancel, retry, a hand-back) is delegated
// to the writer, which gives it once the status is written.
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
  std::vector<job_row> unsent;  // statuses waiting for the status writer (being restarted)
  std::vector<job_outcome> unsettled;  // runs to take off the queue, waiting the same way
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

/// Sends statuses to the status writer, after any that waited for it, with the runs that
/// leave their queues once those statuses are written. Without a writer (it is being
/// restarted) they wait here; the next flush sends them.
void write_cache(self_ptr self, std::vector<job_row> rows, std::vector<job_outcome> runs = {}) {
  auto& st = self->state;
  for (auto& r : rows) st.unsent.push_back(std::move(r));
  for (auto& o : runs) st.unsettled.push_back(std::move(o));
  if (st.unsent.empty() && st.unsettled.empty()) return;
  auto writer = st.rt->actors.get(directory::writer);
  if (!writer) {
    arm_timer(self, std::chrono::milliseconds(500));
    return;
  }
  if (st.unsettled.empty())
    self->send(writer, write_atom::value, std::move(st.unsent));
  else
    self->send(writer, write_atom::value, std::move(st.unsent), std::move(st.unsettled));
  st.unsent.clear();
  st.unsettled.clear();
}

/// The answer to the current request, given once `rows` are written to Redis: a client
/// that reads the job after this answer sees the new status.
template <class T>
caf::result<T> answer_when_written(self_ptr self, std::vector<job_row> rows, T answer) {
  auto& st = self->state;
  auto writer = st.rt->actors.get(directory::writer);
  if (rows.empty() || !writer) {
    write_cache(self, std::move(rows));
    return answer;
  }
  write_cache(self, {});  // the older ones first
  auto rp = self->make_response_promise();
  rp.delegate(writer, write_atom::value, std::move(rows), std::move(answer));
  return rp;
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
  // The status writer writes the statuses, then takes the runs off their queues (in that
  // order: status_writer.cpp) and wakes the dispatcher, whose owners' counts drop then.
  write_cache(self, std::move(rows), std::move(written_runs));
}

void flush_progress(self_ptr self) {
  auto& st = self->state;
  if (!st.partials.empty()) {
    // Partial text is only a preview: without a writer it is dropped.
    if (auto writer = st.rt->actors.get(directory::writer)) {
      std::vector<std::string> ids, texts;
      for (auto& [id, text] : st.partials) {
        ids.push_back(id);
        texts.push_back(std::move(text));
      }
      write_cache(self, {});  // statuses sent before these stay before them
      self->send(writer, partial_atom::value, std::move(ids), std::move(texts));
    }
    st.partials.clear();
  }
  if (!st.dirty_redis.empty()) {
    std::vector<job_row> rows;
    for (const auto& id : st.dirty_redis)
      if (auto i = st.running.find(id); i != st.running.end()) rows.push_back(i->second);
    st.dirty_redis.clear();
    write_cache(self, std::move(rows));
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

void flush(self_ptr self) {
  flush_finishes(self);
  flush_progress(self);
  write_cache(self, {});  // what waited for a restarted writer
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
  write_cache(self, std::move(rows), std::move(dropped));
  return runnable;
}

/// Cancels a job and the unfinished children of a batch; the statuses to write go to
/// `changed`. Throws app_error (not found, already finished, a store down).
std::string cancel_one(self_ptr self, const std::string& owner, const std::string& id,
                       std::vector<job_row>& changed) {
  auto& st = self->state;
  auto row = st.rt->store->find(owner, id);
  if (!row) throw app_error(errc::not_found, "Job not found");
  if (row->terminal()) throw app_error(errc::conflict, "Job already finished");
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
    if (!updated) throw app_error(errc::not_found, "Job not found");
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
  changed.push_back(*updated);
  // Cancelling a batch cancels the children it is waiting for.
  for (const auto& child : st.rt->store->unfinished_children(owner, id)) {
    try {
      cancel_one(self, owner, child, changed);
    } catch (const app_error&) {
      // Finished or gone meanwhile: nothing to cancel.
    }
  }
  return to_api_json(*updated);
}

caf::result<std::string> cancel_job(self_ptr self, const std::string& owner, const std::string& id) {
  std::vector<job_row> changed;
  try {
    auto answer = cancel_one(self, owner, id, changed);
    return answer_when_written(self, std::move(changed), std::move(answer));
  } catch (const app_error& e) {
    write_cache(self, std::move(changed));
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
    if (auto d = st.rt->actors.get(directory::dispatcher)) self->send(d, wake_atom::value);
    log()->info("job {} ({}) queued again by {}", id, row->type, owner);
    return answer_when_written(self, {*row}, to_api_json(*row));
  } catch (const app_error& e) {
    return make_error(e.code(), e.what());
  }
}

/// Records jobs whose leases ended without a result; returns their statuses to write.
std::vector<job_row> record_stalled(self_ptr self, const std::string& type,
                                    const std::vector<stalled_job>& jobs, bool handed_back = false) {
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
  return rows;
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
          write_cache(self, record_stalled(self, type, jobs));
        },
        // The same, answered once written (a stopping node hands its jobs back).
        [=](stalled_atom, const std::string& type, const std::vector<stalled_job>& jobs,
            bool handed_back) -> caf::result<bool> {
          return answer_when_written(self, record_stalled(self, type, jobs, handed_back), true);
        },
        [=](stats_atom) -> size_t { return self->state.running.size(); },
    };
  });
}

}  // namespace jobserver::actors
