// The dispatcher claims jobs while the node has free capacity per type, hands each to
// its owner's scheduler, renews the leases of every running job in one script per type,
// and stops jobs whose lease was lost (or whose cancel was requested on another node).
#include <set>
#include <unordered_map>

#include "actors/messages.hpp"
#include "actors/runtime.hpp"
#include "config/log.hpp"

namespace jobserver::actors {

using namespace persistence;
using clock_type = std::chrono::steady_clock;

struct dispatcher_state {
  struct running_job {
    std::string type;
    std::string owner;
    int64_t token = 0;
  };
  runtime_ptr rt;
  std::unique_ptr<redis_client> redis;
  std::map<std::string, int> running_by_type;
  std::unordered_map<std::string, running_job> running;  // by job id
  std::unordered_map<std::string, int> per_owner;
  std::unordered_map<std::string, caf::actor> schedulers;  // by owner
  std::map<std::string, clock_type::time_point> last_renewal;  // by type
  bool claiming = false;
  bool wake_pending = false;  // work arrived while a claim was in flight
  bool poll_armed = false;
  clock_type::time_point last_warning{};
  static inline const char* name = "dispatcher";
};

namespace {

using self_ptr = caf::stateful_actor<dispatcher_state>*;
constexpr auto poll_interval = std::chrono::milliseconds(100);

auto log() { return logger("dispatcher"); }

void warn_limited(self_ptr self, const std::string& what) {
  auto now = clock_type::now();
  if (now - self->state.last_warning > std::chrono::seconds(5)) {
    self->state.last_warning = now;
    log()->warn("{}", what);
  }
}

void arm_poll(self_ptr self, std::chrono::milliseconds after = poll_interval) {
  if (!self->state.poll_armed) {
    self->state.poll_armed = true;
    self->delayed_send(self, after, claim_atom::value);
  }
}

void release(self_ptr self, const std::string& id) {
  auto& st = self->state;
  auto i = st.running.find(id);
  if (i == st.running.end()) return;
  st.running_by_type[i->second.type]--;
  st.rt->load.add(i->second.type, -1);
  auto owner = i->second.owner;
  st.running.erase(i);
  if (--st.per_owner[owner] <= 0) {
    st.per_owner.erase(owner);
    // Retire the user's scheduler if it stays idle for a while.
    self->delayed_send(self, std::chrono::seconds(5), retire_atom::value, owner);
  }
}

caf::actor scheduler_for(self_ptr self, const std::string& owner) {
  auto& st = self->state;
  auto i = st.schedulers.find(owner);
  if (i != st.schedulers.end()) return i->second;
  auto s = spawn_user_scheduler(self, st.rt, owner);
  self->link_to(s);  // it stops when the dispatcher stops
  self->monitor(s);
  st.schedulers.emplace(owner, s);
  return s;
}

void try_claim(self_ptr self) {
  auto& st = self->state;
  if (st.rt->draining.load()) return;
  if (st.claiming) {
    st.wake_pending = true;
    return;
  }
  st.wake_pending = false;
  std::vector<claimed_job> claims;
  bool more = false;
  bool any_free = false;
  for (const auto& [name, type] : st.rt->registry.all()) {
    int free = type.concurrency - st.running_by_type[name];
    if (free <= 0) continue;
    any_free = true;
    try {
      auto got = st.rt->queue(name).claim(*st.redis, st.rt->node_id, free, st.rt->settings.lease_ms,
                                          st.rt->settings.per_user_concurrency);
      if (static_cast<int>(got.size()) == free) more = true;
      for (auto& c : got) claims.push_back(std::move(c));
    } catch (const app_error& e) {
      warn_limited(self, std::string{"cannot claim jobs: "} + e.what());
    }
  }
  if (claims.empty()) {
    if (any_free) arm_poll(self);
    return;
  }
  for (const auto& c : claims) {
    st.running[c.id] = {c.type, c.owner_id, c.token};
    st.running_by_type[c.type]++;
    st.rt->load.add(c.type, 1);
    st.per_owner[c.owner_id]++;
  }
  st.claiming = true;
  auto tracker = st.rt->actors.get(directory::tracker);
  self->request(tracker, std::chrono::seconds(30), start_atom::value, claims)
      .then(
          [=](const std::vector<job_row>& rows) {
            auto& st = self->state;
            st.claiming = false;
            std::set<std::string> runnable;
            for (const auto& r : rows) {
              runnable.insert(r.id);
              self->send(scheduler_for(self, r.owner_id), run_atom::value, r);
            }
            for (const auto& c : claims)
              if (runnable.count(c.id) == 0) release(self, c.id);
            if (more || st.wake_pending) try_claim(self);
            else arm_poll(self);
          },
          [=](caf::error&) {
            self->state.claiming = false;
            for (const auto& c : claims) release(self, c.id);
            arm_poll(self, std::chrono::milliseconds(500));
          });
}

/// Renews every lease this node holds; stops the runs whose lease is gone.
void renew_leases(self_ptr self) {
  auto& st = self->state;
  std::map<std::string, std::vector<std::pair<std::string, int64_t>>> by_type;
  for (const auto& [id, j] : st.running) by_type[j.type].emplace_back(id, j.token);
  auto now = clock_type::now();
  for (auto& [type, leases] : by_type) {
    std::vector<lease_state> states;
    try {
      states = st.rt->queue(type).heartbeat(*st.redis, leases, st.rt->settings.lease_ms);
      st.last_renewal[type] = now;
    } catch (const app_error&) {
      // Redis unreachable: keep running while the lease could still hold; past it,
      // another node may have taken the jobs, so stop them.
      auto last = st.last_renewal.count(type) ? st.last_renewal[type] : now;
      if (st.last_renewal.count(type) == 0) st.last_renewal[type] = now;
      if (now - last < std::chrono::milliseconds(st.rt->settings.lease_ms)) {
        warn_limited(self, "Redis unavailable: cannot renew leases; jobs keep running for now");
        continue;
      }
      log()->warn("leases of {} {} jobs could not be renewed in time; stopping them",
                  leases.size(), type);
      states.assign(leases.size(), lease_state::lost);
    }
    for (size_t i = 0; i < leases.size(); ++i) {
      const auto& id = leases[i].first;
      auto r = st.running.find(id);
      if (r == st.running.end()) continue;
      auto s = st.schedulers.find(r->second.owner);
      if (s == st.schedulers.end()) continue;
      if (states[i] == lease_state::lost) self->send(s->second, lost_atom::value, id);
      else if (states[i] == lease_state::cancel_requested) self->send(s->second, cancel_atom::value, id);
    }
  }
}

}  // namespace

caf::actor spawn_dispatcher(caf::actor_system& sys, runtime_ptr rt) {
  return sys.spawn<caf::detached>([rt](self_ptr self) -> caf::behavior {
    self->state.rt = rt;
    self->state.redis = rt->make_redis();
    // Schedulers are linked; their ends are handled through the down message.
    self->set_exit_handler([=](caf::exit_msg& em) {
      for (const auto& [owner, s] : self->state.schedulers)
        if (s.address() == em.source) return;
      self->quit(em.reason);
    });
    self->set_down_handler([=](caf::down_msg& dm) {
      auto& st = self->state;
      for (auto i = st.schedulers.begin(); i != st.schedulers.end(); ++i) {
        if (i->second.address() != dm.source) continue;
        std::string owner = i->first;
        st.schedulers.erase(i);
        if (dm.reason) log()->error("scheduler of {} stopped: {}", owner, self->system().render(dm.reason));
        // Its jobs stopped with it; their leases run out and they are requeued.
        std::vector<std::string> ids;
        for (const auto& [id, j] : st.running)
          if (j.owner == owner) ids.push_back(id);
        for (const auto& id : ids) release(self, id);
        break;
      }
    });
    auto beat_every = std::chrono::milliseconds(std::max(100, rt->settings.lease_ms / 3));
    self->send(self, claim_atom::value);
    self->delayed_send(self, beat_every, beat_atom::value);
    return {
        [=](claim_atom) {
          self->state.poll_armed = false;
          try_claim(self);
        },
        [=](wake_atom) { try_claim(self); },
        [=](done_atom, const std::string& id) {
          release(self, id);
          try_claim(self);
        },
        [=](beat_atom) {
          renew_leases(self);
          self->delayed_send(self, beat_every, beat_atom::value);
        },
        [=](cancel_atom, const std::string& id) {
          auto& st = self->state;
          auto r = st.running.find(id);
          if (r == st.running.end()) return;
          if (auto s = st.schedulers.find(r->second.owner); s != st.schedulers.end())
            self->send(s->second, cancel_atom::value, id);
        },
        [=](retire_atom, const std::string& owner) {
          auto& st = self->state;
          if (st.per_owner.count(owner) != 0) return;
          auto s = st.schedulers.find(owner);
          if (s == st.schedulers.end()) return;
          self->demonitor(s->second.address());
          self->unlink_from(s->second);
          self->send(s->second, retire_atom::value);
          st.schedulers.erase(s);
        },
        // The node stops and its remaining jobs were requeued with new tokens: stop the
        // local runs without writing anything (their writes would be rejected anyway).
        [=](handback_atom) -> size_t {
          auto& st = self->state;
          for (const auto& [id, j] : st.running)
            if (auto s = st.schedulers.find(j.owner); s != st.schedulers.end())
              self->send(s->second, lost_atom::value, id);
          return st.running.size();
        },
        [=](stats_atom) -> size_t { return self->state.running.size(); },
    };
  });
}

}  // namespace jobserver::actors
