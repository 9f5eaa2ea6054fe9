// One scheduler per user with running jobs on this node: spawns a job actor per job,
// supervises it, and tells the dispatcher when a job's slot is free. A job actor that
// crashes is reported to the tracker as a transient failure (retried or failed).
#include <unordered_map>

#include "actors/messages.hpp"
#include "actors/runtime.hpp"
#include "config/log.hpp"

namespace jobserver::actors {

using namespace persistence;

struct scheduler_state {
  runtime_ptr rt;
  std::string owner;
  caf::actor dispatcher;
  std::unordered_map<std::string, caf::actor> jobs;            // id -> job actor
  std::map<caf::actor_addr, job_row> by_actor;                  // job actor -> its job
  static inline const char* name = "user_scheduler";
};

caf::actor spawn_user_scheduler(caf::local_actor* parent, runtime_ptr rt, std::string owner) {
  caf::actor dispatcher = caf::actor_cast<caf::actor>(parent->ctrl());
  return parent->spawn([rt, owner, dispatcher](caf::stateful_actor<scheduler_state>* self)
                           -> caf::behavior {
    auto& st = self->state;
    st.rt = rt;
    st.owner = owner;
    st.dispatcher = dispatcher;
    // Job actors are monitored (and monitor this scheduler in turn, stopping with it).
    self->set_down_handler([=](caf::down_msg& dm) {
      auto& st = self->state;
      auto i = st.by_actor.find(dm.source);
      if (i == st.by_actor.end()) return;
      job_row job = i->second;
      st.by_actor.erase(i);
      st.jobs.erase(job.id);
      if (dm.reason && dm.reason != caf::exit_reason::user_shutdown) {
        logger("worker")->error("job actor of {} crashed: {}", job.id, self->system().render(dm.reason));
        job_outcome o{job.id, job.type, job.lease_token, job_outcome::failed, {},
                      "The job's worker crashed", false, 0};
        if (job.attempts < job.max_attempts) {
          o.what = job_outcome::retry;
          if (auto* t = st.rt->registry.find(job.type))
            o.retry_delay_ms = retry_delay_ms(t->retry, job.attempts);
        }
        if (auto tr = st.rt->actors.get(directory::tracker)) caf::anon_send(tr, finish_atom::value, o);
      }
      self->send(st.dispatcher, done_atom::value, job.id);
    });
    return {
        [=](run_atom, const job_row& job) {
          auto a = spawn_job_actor(self, self->state.rt, job);
          self->monitor(a);
          self->state.jobs[job.id] = a;
          self->state.by_actor[a.address()] = job;
        },
        [=](cancel_atom, const std::string& id) {
          if (auto i = self->state.jobs.find(id); i != self->state.jobs.end())
            self->send(i->second, cancel_atom::value, id);
        },
        [=](lost_atom, const std::string& id) {
          if (auto i = self->state.jobs.find(id); i != self->state.jobs.end())
            self->send(i->second, lost_atom::value, id);
        },
        [=](retire_atom) {
          if (self->state.jobs.empty()) self->quit();
        },
    };
  });
}

}  // namespace jobserver::actors
