// The status writer: the tracker's output stage. Every job status the tracker decides on
// (and every streamed partial text) is written to Redis here, as the status hash plus an
// event, in the order the tracker sent it: one actor, one connection, one mailbox, so a
// newer status is never overtaken by an older one. The tracker goes on with its next
// Postgres batch while this writes the last one. What Redis cannot take now waits and is
// written when it returns (the newest status of each job), so a status never stays
// behind Postgres.
//
// A finished run leaves the queue (its lease is settled) here too, and only after its
// final status is in Redis: a node killed between the two leaves a lease that the other
// nodes recover (and, finding the job finished in Postgres, write its status again),
// never a finished job whose Redis status still reads `processing` with no lease left
// to expire.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "actors/messages.hpp"
#include "actors/runtime.hpp"
#include "config/log.hpp"

namespace jobserver::actors {

using namespace persistence;

struct status_writer_state {
  runtime_ptr rt;
  std::unique_ptr<redis_client> redis;
  std::map<std::string, job_row> backlog;  // status writes that waited for Redis
  std::vector<job_outcome> unsettled;      // runs to take off the queue once written
  bool timer_armed = false;
  std::chrono::steady_clock::time_point last_warning{};
  static inline const char* name = "status_writer";
};

namespace {

using self_ptr = caf::stateful_actor<status_writer_state>*;

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

void arm_timer(self_ptr self) {
  if (!self->state.timer_armed) {
    self->state.timer_armed = true;
    self->delayed_send(self, std::chrono::seconds(1), beat_atom::value);
  }
}

void write_rows(self_ptr self, const std::vector<job_row>& rows) {
  auto& st = self->state;
  if (rows.empty()) return;
  try {
    std::vector<std::vector<std::string>> cmds;
    cmds.reserve(rows.size() * 3);
    for (const auto& r : rows) {
      for (auto& c : st.rt->cache->write_commands(r)) cmds.push_back(std::move(c));
      cmds.push_back(st.rt->events->status_command(r));
    }
    for (const auto& r : st.rt->events->run(*st.redis, cmds))
      if (r.type == redis_reply::kind::error) throw app_error(errc::unavailable, "status write failed", true);
    // A newer state is written: an older one waiting in the backlog must not replace it.
    if (!st.backlog.empty())
      for (const auto& r : rows) st.backlog.erase(r.id);
  } catch (const app_error&) {
    auto now = std::chrono::steady_clock::now();
    if (now - st.last_warning > std::chrono::seconds(5)) {
      st.last_warning = now;
      logger("tracker")->warn("Redis unavailable: job status served from Postgres until it returns");
    }
    for (const auto& r : rows) st.backlog[r.id] = r;
    arm_timer(self);
  }
  // A request on this node that follows the change must not be answered from memory
  // before Redis' own invalidation arrives.
  for (const auto& r : rows) st.rt->memory->invalidate(r.id);
}

/// Takes finished runs off their queues (one round trip per job type), except those whose
/// status still waits for Redis; what Redis cannot take now waits for the next beat.
void settle(self_ptr self) {
  auto& st = self->state;
  if (st.unsettled.empty()) return;
  std::map<std::string, std::vector<job_outcome>> by_type;
  std::vector<job_outcome> keep;
  for (auto& o : st.unsettled)
    (st.backlog.count(o.id) != 0 ? keep : by_type[o.type]).push_back(std::move(o));
  for (auto& [type, runs] : by_type) {
    auto q = st.rt->queues.find(type);
    if (q == st.rt->queues.end()) continue;
    std::vector<job_queue::settlement> ops;
    ops.reserve(runs.size());
    for (const auto& o : runs)
      ops.push_back({o.id, o.token, o.what == job_outcome::retry, o.retry_delay_ms});
    try {
      q->second.settle(*st.redis, ops);
    } catch (const app_error&) {
      for (auto& o : runs) keep.push_back(std::move(o));
    }
  }
  bool settled = st.unsettled.size() > keep.size();
  st.unsettled = std::move(keep);
  if (!st.unsettled.empty()) arm_timer(self);
  // Their owners' running counts dropped: jobs the dispatcher's last claim had to leave
  // for a user at the per-user limit can start now, not at its next poll.
  if (settled)
    if (auto dispatcher = st.rt->actors.get(directory::dispatcher))
      caf::anon_send(dispatcher, wake_atom::value);
}

void write_partials(self_ptr self, const std::vector<std::string>& ids,
                    const std::vector<std::string>& texts) {
  auto& st = self->state;
  std::vector<std::vector<std::string>> cmds;
  for (size_t i = 0; i < ids.size() && i < texts.size(); ++i) {
    cmds.push_back({"HSET", st.rt->cache->key(ids[i]), "partial", texts[i]});
    cmds.push_back(st.rt->events->publish_command(ids[i], "partial", partial_json(ids[i], texts[i])));
  }
  if (cmds.empty()) return;
  try {
    st.rt->events->run(*st.redis, cmds);
  } catch (const app_error&) {
    // Partial text is only a preview; the lesson itself is what counts.
  }
}

void replay(self_ptr self) {
  auto& st = self->state;
  if (st.backlog.empty()) return;
  std::vector<job_row> rows;
  for (auto& [id, r] : st.backlog) rows.push_back(r);
  st.backlog.clear();
  write_rows(self, rows);  // keeps them again if Redis is still down
}

}  // namespace

caf::actor spawn_status_writer(caf::actor_system& sys, runtime_ptr rt) {
  return sys.spawn<caf::detached>([rt](self_ptr self) -> caf::behavior {
    self->state.rt = rt;
    self->state.redis = rt->make_redis();
    return {
        [=](write_atom, const std::vector<job_row>& rows) { write_rows(self, rows); },
        // Written, then the answer the tracker delegated here goes to its requester.
        [=](write_atom, const std::vector<job_row>& rows, const std::string& answer) {
          write_rows(self, rows);
          return answer;
        },
        [=](write_atom, const std::vector<job_row>& rows, bool answer) {
          write_rows(self, rows);
          return answer;
        },
        // Written, then these runs leave their queues.
        [=](write_atom, const std::vector<job_row>& rows, std::vector<job_outcome>& runs) {
          write_rows(self, rows);
          auto& unsettled = self->state.unsettled;
          unsettled.insert(unsettled.end(), std::make_move_iterator(runs.begin()),
                           std::make_move_iterator(runs.end()));
          settle(self);
        },
        [=](partial_atom, const std::vector<std::string>& ids, const std::vector<std::string>& texts) {
          write_partials(self, ids, texts);
        },
        // Answered once everything sent before it is written (a stopping node).
        [=](flush_atom) {
          replay(self);
          settle(self);
          return true;
        },
        [=](beat_atom) {
          self->state.timer_armed = false;
          replay(self);
          settle(self);
        },
    };
  });
}

}  // namespace jobserver::actors
