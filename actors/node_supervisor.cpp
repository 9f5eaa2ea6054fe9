#include "actors/node_supervisor.hpp"

#include "actors/messages.hpp"
#include "config/log.hpp"

namespace jobserver::actors {

struct supervisor_state {
  runtime_ptr rt;
  std::map<caf::actor_addr, directory::role> roles;
  std::map<directory::role, int> restarts;
  static inline const char* name = "node_supervisor";
};

namespace {

using self_ptr = caf::stateful_actor<supervisor_state>*;
using restart_atom = caf::atom_constant<caf::atom("restart")>;

const char* role_name(directory::role r) {
  switch (r) {
    case directory::writer: return "status writer";
    case directory::tracker: return "tracker";
    case directory::dispatcher: return "dispatcher";
    case directory::creator: return "creator";
    case directory::janitor: return "janitor";
    default: return "actor";
  }
}

void spawn_child(self_ptr self, directory::role r) {
  auto& sys = self->system();
  auto& rt = self->state.rt;
  caf::actor a;
  switch (r) {
    case directory::writer: a = spawn_status_writer(sys, rt); break;
    case directory::tracker: a = spawn_tracker(sys, rt); break;
    case directory::dispatcher: a = spawn_dispatcher(sys, rt); break;
    case directory::creator: a = spawn_creator(sys, rt); break;
    case directory::janitor: a = spawn_janitor(sys, rt); break;
    default: return;
  }
  self->monitor(a);
  self->state.roles[a.address()] = r;
  rt->actors.set(r, a);
}

}  // namespace

caf::actor spawn_node_supervisor(caf::actor_system& sys, runtime_ptr rt) {
  return sys.spawn([rt](self_ptr self) -> caf::behavior {
    self->state.rt = rt;
    // The status writer and the tracker first: the others send to them from their first
    // message on.
    for (auto r : {directory::writer, directory::tracker, directory::creator, directory::dispatcher,
                   directory::janitor})
      spawn_child(self, r);
    self->set_down_handler([=](caf::down_msg& dm) {
      auto& st = self->state;
      auto i = st.roles.find(dm.source);
      if (i == st.roles.end()) return;
      auto role = i->second;
      st.roles.erase(i);
      if (st.rt->draining.load()) return;
      int n = ++st.restarts[role];
      auto delay = std::chrono::milliseconds(std::min(30000, 250 << std::min(n, 7)));
      logger("node")->error("{} stopped ({}); restarting in {} ms", role_name(role),
                            self->system().render(dm.reason), delay.count());
      self->delayed_send(self, delay, restart_atom::value, static_cast<int>(role));
    });
    self->set_exit_handler([=](caf::exit_msg& em) {
      for (int r = 0; r < directory::role_count; ++r) {
        auto a = self->state.rt->actors.get(static_cast<directory::role>(r));
        if (a) self->send_exit(a, caf::exit_reason::user_shutdown);
        self->state.rt->actors.set(static_cast<directory::role>(r), nullptr);
      }
      self->quit(em.reason);
    });
    return {
        [=](restart_atom, int role) {
          if (!self->state.rt->draining.load()) spawn_child(self, static_cast<directory::role>(role));
        },
    };
  });
}

}  // namespace jobserver::actors
