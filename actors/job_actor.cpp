// One job actor per running job: runs the processor (in a detached actor when it
// blocks), relays its progress to the tracker, enforces the timeout of a type that runs in
// its own thread, reacts to cancel and to a lost lease, and hands the outcome to the tracker.
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "actors/messages.hpp"
#include "actors/runtime.hpp"
#include "config/log.hpp"

namespace jobserver::actors {

using namespace persistence;

struct job_state {
  runtime_ptr rt;
  job_row job;
  const job_type* type = nullptr;
  std::shared_ptr<std::atomic<bool>> stop = std::make_shared<std::atomic<bool>>(false);
  bool concluded = false;
  bool cancelled = false;
  caf::actor worker;
  caf::actor scheduler;  // the user_scheduler that spawned this actor (monitored)
  caf::actor tracker;    // the tracker that has the outcome, until it answers (monitored)
  caf::response_promise deadline;  // answered when the job concludes (arm_deadline)
  static inline const char* name = "job_actor";
};

namespace {

using self_ptr = caf::stateful_actor<job_state>*;

/// What a processor run produced.
struct run_result {
  bool ok = false;
  std::string payload;  // result JSON, or the error message
  errc code = errc::ok;
  bool transient = false;
};

run_result run_processor(const processor_fn& fn, job_context& ctx) {
  try {
    return {true, fn(ctx)};
  } catch (const app_error& e) {
    return {false, e.what(), e.code(), e.transient()};
  } catch (const std::exception& e) {
    logger("worker")->error("job {}: unexpected error: {}", ctx.job.id, e.what());
    return {false, "Unexpected error while processing the job", errc::internal, true};
  }
}

/// Quits normally. The monitor on the scheduler is taken back first: CAF keeps a monitor
/// in the monitored actor until that one ends, and a user's scheduler lives as long as the
/// user has jobs running, so under steady load it would collect one per job.
void leave(self_ptr self) {
  self->demonitor(self->state.scheduler.address());
  if (self->state.tracker) self->demonitor(self->state.tracker.address());
  self->quit();
}

void conclude(self_ptr self, const run_result& r) {
  auto& st = self->state;
  if (st.concluded) return;
  st.concluded = true;
  st.stop->store(true);
  if (st.deadline.pending()) st.deadline.deliver(done_atom::value);  // the time limit no longer applies
  const auto& job = st.job;
  job_outcome o{job.id, job.type, job.lease_token, job_outcome::completed, {}, {}, false, 0};
  if (r.ok) {
    o.result = r.payload;
  } else if (st.cancelled) {
    o.what = job_outcome::failed;
    o.cancelled = true;
    o.error = "Cancelled";
  } else if (r.transient && job.attempts < job.max_attempts && st.type != nullptr) {
    o.what = job_outcome::retry;
    o.error = r.payload;
    o.retry_delay_ms = retry_delay_ms(st.type->retry, job.attempts);
  } else {
    o.what = job_outcome::failed;
    o.error = r.payload;
  }
  // The actor lives on (holding the job's slot) until the tracker has recorded the outcome:
  // its answer to this message comes back as a message of its own (handled below). Not a
  // request: CAF 0.17 sets and cancels a request's timeout on its clock thread, waking
  // that thread twice per job; the monitor ends the wait if the tracker stops before it
  // answers (the lease then runs out and the job is queued again).
  auto tracker = st.rt->actors.get(directory::tracker);
  if (!tracker) {
    leave(self);
    return;
  }
  st.tracker = tracker;
  self->monitor(tracker);
  self->send(tracker, finish_atom::value, o);
}

/// The processor's view of its job; progress and partial text come back as messages.
job_context make_context(self_ptr self) {
  caf::actor me = caf::actor_cast<caf::actor>(self->ctrl());
  job_context ctx;
  ctx.job = self->state.job;
  ctx.report_progress = [me](int pct) { caf::anon_send(me, progress_atom::value, pct); };
  ctx.report_partial = [me](const std::string& text) { caf::anon_send(me, partial_atom::value, text); };
  ctx.report_problem = [me](const std::string& text) { caf::anon_send(me, problem_atom::value, text); };
  ctx.stop_flag = self->state.stop;
  return ctx;
}

/// Background work yields the CPU to requests: the processor's own thread (a detached
/// actor's thread lives and dies with it) gets a higher nice value. Linux applies
/// setpriority() with a thread id to that thread alone.
void lower_thread_priority(int nice) {
  if (nice <= 0) return;
  auto tid = static_cast<id_t>(::syscall(SYS_gettid));
  if (::setpriority(PRIO_PROCESS, tid, nice) != 0)
    logger("worker")->warn("could not lower a processor thread's priority: {}", std::strerror(errno));
}

/// The type's time limit for a processor in its own thread: a request to this actor that
/// is answered when the job concludes, so that CAF drops its timer then (or when the actor
/// ends). A `delayed_send` cannot be taken back in CAF 0.17, and its clock holds a strong
/// reference to the receiver until it is due: every finished job actor of such a type
/// stayed in memory for its type's whole limit (15 minutes for uploads, 6 hours for batch
/// lessons), about 1.6 KB each.
void arm_deadline(self_ptr self) {
  auto limit = self->state.type->timeout;
  self->request(caf::actor_cast<caf::actor>(self->ctrl()), limit, deadline_atom::value)
      .then([](done_atom) {},
            [self, limit](caf::error& e) {
              if (e != caf::sec::request_timeout) return;
              auto secs = std::chrono::duration_cast<std::chrono::seconds>(limit);
              conclude(self, {false, "Job timed out after " + std::to_string(secs.count()) + " s",
                              errc::unavailable, true});
            });
}

void start_worker(self_ptr self) {
  auto& st = self->state;
  caf::actor me = caf::actor_cast<caf::actor>(self->ctrl());
  auto ctx = make_context(self);
  processor_fn fn = st.type->run;
  int nice = st.rt->settings.processor_nice;
  st.worker = self->spawn<caf::detached>([ctx, fn, me, nice](caf::event_based_actor* w) mutable {
    lower_thread_priority(nice);
    auto r = run_processor(fn, ctx);
    caf::anon_send(me, result_atom::value, r.ok, r.payload, static_cast<uint8_t>(r.code),
                   r.transient);
    w->quit();
    return caf::behavior{};
  });
  self->monitor(st.worker);
}

}  // namespace

caf::actor spawn_job_actor(caf::local_actor* parent, runtime_ptr rt, job_row job) {
  caf::actor scheduler = caf::actor_cast<caf::actor>(parent->ctrl());
  return parent->spawn([rt, job, scheduler](self_ptr self) -> caf::behavior {
    auto& st = self->state;
    st.rt = rt;
    st.job = job;
    st.type = rt->registry.find(job.type);
    st.scheduler = scheduler;
    auto stop = st.stop;
    self->attach_functor([stop](const caf::error&) { stop->store(true); });
    self->monitor(scheduler);
    self->set_down_handler([=](caf::down_msg& dm) {
      if (dm.source == scheduler.address()) {  // our scheduler is gone: stop too
        self->quit(dm.reason);
        return;
      }
      if (dm.source == self->state.tracker.address()) {  // no answer will come
        self->state.tracker = nullptr;
        leave(self);
        return;
      }
      if (dm.source == self->state.worker.address() && dm.reason)
        conclude(self, {false, "The job's processor crashed", errc::internal, true});
    });
    if (st.type == nullptr) {
      conclude(self, {false, "Unknown job type: " + job.type, errc::invalid_input, false});
    } else if (st.type->blocking) {
      arm_deadline(self);
      start_worker(self);
    } else {
      // Runs inside this actor's handler: no timeout message could interrupt it, and a
      // timer per job would sit in CAF's clock for the whole timeout after the job ended.
      self->send(self, run_atom::value);
    }
    return {
        [=](run_atom) {
          auto& st = self->state;
          auto ctx = make_context(self);
          conclude(self, run_processor(st.type->run, ctx));
        },
        [=](progress_atom, int pct) {
          auto& st = self->state;
          if (st.concluded) return;
          if (auto t = st.rt->actors.get(directory::tracker))
            self->send(t, progress_atom::value, st.job.id, st.job.lease_token, pct);
        },
        [=](partial_atom, const std::string& text) {
          auto& st = self->state;
          if (st.concluded) return;
          if (auto t = st.rt->actors.get(directory::tracker))
            self->send(t, partial_atom::value, st.job.id, st.job.lease_token, text);
        },
        [=](problem_atom, const std::string& text) {
          auto& st = self->state;
          if (st.concluded) return;
          if (auto t = st.rt->actors.get(directory::tracker))
            self->send(t, problem_atom::value, st.job.id, st.job.lease_token, text);
        },
        // The tracker's answer to the outcome sent by conclude() (true: recorded; false: the
        // lease had gone): a handler's result goes back to a plain message's sender.
        [=](bool) { leave(self); },
        [=](result_atom, bool ok, const std::string& payload, uint8_t code, bool transient) {
          conclude(self, {ok, payload, static_cast<errc>(code), transient});
        },
        [=](cancel_atom, const std::string&) {
          self->state.cancelled = true;
          self->state.stop->store(true);
        },
        [=](lost_atom, const std::string&) {
          // Another node owns the job now; whatever this run writes would be rejected.
          logger("worker")->warn("job {}: lease lost, stopping this run", self->state.job.id);
          self->state.stop->store(true);
          leave(self);
        },
        // arm_deadline's request: answered by conclude(), or never, and then it times out.
        [=](deadline_atom) { self->state.deadline = self->make_response_promise(); },
    };
  });
}

}  // namespace jobserver::actors
