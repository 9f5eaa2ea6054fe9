// The creator turns create requests into jobs: the rows are inserted into Postgres, then
// queued in Redis with their live status, in batches (all requests waiting in the
// mailbox go in one INSERT and one Redis pipeline). If Redis cannot take them, the rows
// are removed again and every request in the batch gets 503: nothing is left behind.
#include "actors/messages.hpp"
#include "actors/runtime.hpp"
#include "config/log.hpp"
#include "config/metrics.hpp"

namespace jobserver::actors {

using namespace persistence;

struct creator_state {
  runtime_ptr rt;
  std::unique_ptr<redis_client> redis;
  /// Requests waiting for the next batch: each one or more jobs created together (a
  /// batch's parent and its children go in the same INSERT).
  std::vector<std::pair<std::vector<new_job>, caf::typed_response_promise<std::vector<std::string>>>> pending;
  bool flush_scheduled = false;
  std::chrono::steady_clock::time_point last_warning{};
  static inline const char* name = "creator";
};

namespace {

using self_ptr = caf::stateful_actor<creator_state>*;

auto log() { return logger("queue"); }

/// Queues the rows and writes their status; throws app_error when Redis fails.
void push_to_redis(self_ptr self, const std::vector<job_row>& rows) {
  auto& st = self->state;
  std::map<std::string, std::vector<queue_entry>> by_type;
  for (const auto& r : rows)
    by_type[r.type].push_back({r.id, r.owner_id, r.priority, r.max_attempts, 0, 0});
  std::vector<std::vector<std::string>> cmds;
  for (const auto& [type, entries] : by_type)
    for (auto& c : st.rt->queue(type).enqueue_commands(entries)) cmds.push_back(std::move(c));
  size_t queue_cmds = cmds.size();
  for (const auto& r : rows)
    for (auto& c : st.rt->cache->write_commands(r)) cmds.push_back(std::move(c));
  auto replies = st.redis->pipeline(cmds);
  for (size_t i = 0; i < queue_cmds; ++i)
    if (replies[i].type == redis_reply::kind::error)
      throw app_error(errc::unavailable, "queue script failed", true);
}

void flush(self_ptr self) {
  auto& st = self->state;
  auto batch = std::move(st.pending);
  st.pending.clear();
  if (batch.empty()) return;
  std::vector<new_job> jobs;
  for (auto& b : batch)
    for (auto& j : b.first) jobs.push_back(j);
  auto fail_all = [&](errc code, const std::string& message) {
    for (auto& b : batch) b.second.deliver(make_error(code, message));
  };
  std::vector<job_row> rows;
  try {
    rows = st.rt->store->insert(jobs);
  } catch (const app_error& e) {
    log()->warn("cannot create {} job(s): {}", jobs.size(), e.what());
    fail_all(errc::unavailable, "Job store unavailable");
    return;
  }
  try {
    push_to_redis(self, rows);
  } catch (const app_error&) {
    auto now = std::chrono::steady_clock::now();
    if (now - st.last_warning > std::chrono::seconds(5)) {
      st.last_warning = now;
      log()->warn("Redis unavailable: job creation answers 503 ({} refused just now)", rows.size());
    }
    std::vector<std::string> ids;
    for (const auto& r : rows) ids.push_back(r.id);
    try {
      st.rt->store->remove(ids);
    } catch (const app_error& e) {
      log()->error("could not remove unqueued jobs (the reconciler will queue them): {}", e.what());
    }
    fail_all(errc::unavailable, "Job queue unavailable");
    return;
  }
  std::map<std::string, const job_row*> by_id;
  for (const auto& r : rows) by_id[r.id] = &r;
  // Requests whose dedup key an unfinished job already held get that job.
  std::vector<std::string> taken;
  for (const auto& job : jobs)
    if (by_id.count(job.id) == 0 && !job.dedup_key.empty()) taken.push_back(job.dedup_key);
  std::map<std::string, job_row> existing;
  try {
    existing = st.rt->store->find_by_dedup(taken);
  } catch (const app_error& e) {
    log()->warn("cannot look up existing jobs: {}", e.what());
  }
  for (auto& [group, promise] : batch) {
    std::vector<std::string> answers;
    bool ok = true;
    for (const auto& job : group) {
      auto i = by_id.find(job.id);
      if (i != by_id.end()) {
        log()->info("queued {} job {} for {}", job.type, job.id, job.owner_id);
        metrics::global()
            .get_counter("jobserver_jobs_created_total", "Jobs created", {{"type", job.type}})
            .inc();
        answers.push_back(to_api_json(*i->second));
      } else if (auto e = existing.find(job.dedup_key); e != existing.end()) {
        answers.push_back(to_api_json(e->second));
      } else {
        ok = false;
      }
    }
    if (ok) promise.deliver(std::move(answers));
    else promise.deliver(make_error(errc::conflict, "The job could not be created; try again"));
  }
  if (auto d = st.rt->actors.get(directory::dispatcher)) self->send(d, wake_atom::value);
}

}  // namespace

caf::actor spawn_creator(caf::actor_system& sys, runtime_ptr rt) {
  return sys.spawn<caf::detached>([rt](self_ptr self) -> caf::behavior {
    self->state.rt = rt;
    self->state.redis = rt->make_redis();
    return {
        [=](create_atom, std::vector<new_job> jobs) -> caf::result<std::vector<std::string>> {
          auto& st = self->state;
          for (auto& job : jobs) {
            if (st.rt->queues.count(job.type) == 0)
              return make_error(errc::invalid_input, "Unknown job type");
            if (job.id.empty()) job.id = make_uuid();
          }
          auto rp = self->make_response_promise<std::vector<std::string>>();
          st.pending.emplace_back(std::move(jobs), rp);
          if (!st.flush_scheduled) {
            st.flush_scheduled = true;
            self->send(self, flush_atom::value);
          }
          return rp;
        },
        [=](flush_atom) {
          self->state.flush_scheduled = false;
          flush(self);
        },
    };
  });
}

}  // namespace jobserver::actors
