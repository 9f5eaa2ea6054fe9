// The cluster member: publishes this node through CAF's middleman, joins the seed nodes
// (asynchronously, through the middleman actor), learns the other nodes from them and
// monitors each. Peers exchange a member_info every heartbeat (load for GET /cluster).
// When a peer goes down (its process died: the link closes; it hangs or is cut off:
// CAF's heartbeat timeout), the surviving node with the smallest id has the janitor
// requeue that node's leased jobs at once. It also carries cancels to the node that runs
// the job, and tells the peers when this node leaves on purpose.
#include <caf/io/all.hpp>

#include <algorithm>
#include <memory>
#include <set>

#include "actors/cluster.hpp"
#include "actors/messages.hpp"
#include "actors/runtime.hpp"
#include "config/log.hpp"
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace jobserver::actors {

using clock_type = std::chrono::steady_clock;
using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

struct member_state {
  struct peer {
    caf::actor handle;
    member_info info;
    clock_type::time_point last_contact;
    std::chrono::system_clock::time_point last_contact_wall;
  };
  runtime_ptr rt;
  member_info me;
  std::map<std::string, peer> peers;       // by node id
  std::set<std::string> addresses;         // cluster addresses to stay connected to
  std::set<std::string> connecting;        // connects in flight
  std::set<std::string> leaving;           // peers that announced a graceful stop
  clock_type::time_point last_tick = clock_type::now();
  clock_type::time_point last_connect_round{};
  bool left = false;
  static inline const char* name = "cluster_member";
};

namespace {

using self_ptr = caf::stateful_actor<member_state>*;
using tick_atom = caf::atom_constant<caf::atom("mtick")>;

auto log() { return logger("cluster"); }

bool clustered(self_ptr self) { return self->state.rt->settings.cluster_port != 0; }

member_info current_info(self_ptr self) {
  auto& st = self->state;
  member_info info = st.me;
  info.running.clear();
  for (const auto& type : info.types) info.running.push_back(st.rt->load.running(type));
  return info;
}

std::vector<std::string> known_addresses(self_ptr self) {
  std::vector<std::string> out;
  for (const auto& [id, p] : self->state.peers)
    if (!p.info.cluster_address.empty()) out.push_back(p.info.cluster_address);
  return out;
}

/// A peer was heard from.
void touch(member_state::peer& p, const member_info& info) {
  p.info = info;
  p.last_contact = clock_type::now();
  p.last_contact_wall = std::chrono::system_clock::now();
}

void add_peer(self_ptr self, const caf::actor& handle, const member_info& info) {
  auto& st = self->state;
  if (info.node_id == st.me.node_id || !handle || st.left) return;
  auto now = clock_type::now();
  auto i = st.peers.find(info.node_id);
  if (i != st.peers.end() && i->second.handle == handle) {
    touch(i->second, info);
    return;
  }
  if (i != st.peers.end()) self->demonitor(i->second.handle.address());  // it came back
  self->monitor(handle);
  st.leaving.erase(info.node_id);
  st.peers[info.node_id] = {handle, info, now, std::chrono::system_clock::now()};
  if (!info.cluster_address.empty()) st.addresses.insert(info.cluster_address);
  log()->info("node {} joined the cluster ({}; {} peer(s))", info.node_id,
              info.cluster_address.empty() ? "-" : info.cluster_address, st.peers.size());
}

void learn(self_ptr self, const std::vector<std::string>& addresses) {
  for (const auto& a : addresses)
    if (a != self->state.me.cluster_address) self->state.addresses.insert(a);
}

void connect_to(self_ptr self, const std::string& address) {
  auto& st = self->state;
  if (address == st.me.cluster_address || st.connecting.count(address) != 0 || st.left) return;
  for (const auto& [id, p] : st.peers)
    if (p.info.cluster_address == address) return;
  auto colon = address.rfind(':');
  if (colon == std::string::npos) return;
  std::string host = address.substr(0, colon);
  auto port = static_cast<uint16_t>(std::stoi(address.substr(colon + 1)));
  st.connecting.insert(address);
  auto timeout = std::chrono::milliseconds(std::max(1000, st.rt->settings.cluster_timeout_ms));
  auto mm = self->system().middleman().actor_handle();
  // The middleman actor connects for us; never the blocking remote_actor() in an actor.
  self->request(mm, timeout, caf::connect_atom::value, host, port)
      .then(
          [=](const caf::node_id&, caf::strong_actor_ptr& ptr, const std::set<std::string>&) {
            auto h = caf::actor_cast<caf::actor>(ptr);
            if (!h) {
              self->state.connecting.erase(address);
              return;
            }
            self->request(h, timeout, hello_atom::value, current_info(self), known_addresses(self))
                .then(
                    [=](const member_info& info, const std::vector<std::string>& theirs) {
                      self->state.connecting.erase(address);
                      add_peer(self, h, info);
                      learn(self, theirs);
                    },
                    [=](caf::error&) { self->state.connecting.erase(address); });
          },
          [=](caf::error&) { self->state.connecting.erase(address); });
}

/// A peer is gone. `announced`: it said it was leaving (its jobs were handed back).
void drop_peer(self_ptr self, const std::string& id, const caf::error& reason) {
  auto& st = self->state;
  auto i = st.peers.find(id);
  if (i == st.peers.end()) return;
  st.peers.erase(i);
  if (st.leaving.erase(id) != 0) {
    log()->info("node {} left the cluster ({} peer(s))", id, st.peers.size());
    return;
  }
  if (st.left) return;
  // If this node itself was stopped or starved (no tick for longer than the timeout), the
  // peer most likely timed *us* out; our own lease checks decide, not a failover.
  auto silent = clock_type::now() - st.last_tick;
  if (silent > std::chrono::milliseconds(st.rt->settings.cluster_timeout_ms)) {
    log()->warn("lost node {} after this node was unresponsive itself; leaving its jobs to lease expiry", id);
    return;
  }
  // Deterministic choice: the surviving node with the smallest id requeues the jobs.
  std::string chosen = st.me.node_id;
  for (const auto& [pid, p] : st.peers)
    if (pid < chosen) chosen = pid;
  log()->warn("node {} is down ({}); {} takes care of its jobs", id,
              self->system().render(reason), chosen == st.me.node_id ? "this node" : chosen);
  if (chosen != st.me.node_id) return;
  if (auto j = st.rt->actors.get(directory::janitor)) self->send(j, nodedown_atom::value, id);
}

void tick(self_ptr self) {
  auto& st = self->state;
  st.last_tick = clock_type::now();
  if (!clustered(self) || st.left) return;
  auto info = current_info(self);
  for (const auto& [id, p] : st.peers) self->send(p.handle, mstatus_atom::value, info);
  // (Re)join: seeds and every address learned, at most every two heartbeats.
  auto every = std::chrono::milliseconds(2 * st.rt->settings.cluster_heartbeat_ms);
  if (st.last_tick - st.last_connect_round < every) return;
  st.last_connect_round = st.last_tick;
  for (const auto& a : std::set<std::string>{st.addresses}) connect_to(self, a);
}

void string(json_writer& w, const std::string& s) {
  w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
}

void write_node(json_writer& w, const member_info& info, bool self_node,
                std::optional<std::chrono::system_clock::time_point> contact,
                std::optional<int64_t> ago_ms) {
  w.StartObject();
  w.Key("id");
  string(w, info.node_id);
  w.Key("self");
  w.Bool(self_node);
  w.Key("address");
  if (info.http_address.empty()) w.Null();
  else string(w, info.http_address);
  w.Key("cluster_address");
  if (info.cluster_address.empty()) w.Null();
  else string(w, info.cluster_address);
  w.Key("roles");
  w.StartArray();
  if (!info.http_address.empty()) w.String("api");
  int capacity_total = 0;
  for (auto c : info.capacity) capacity_total += c;
  if (capacity_total > 0) w.String("worker");
  w.EndArray();
  w.Key("capacity");
  w.StartObject();
  for (size_t i = 0; i < info.types.size() && i < info.capacity.size(); ++i) {
    w.Key(info.types[i].c_str(), static_cast<rapidjson::SizeType>(info.types[i].size()));
    w.Int(info.capacity[i]);
  }
  w.EndObject();
  w.Key("running");
  w.StartObject();
  for (size_t i = 0; i < info.types.size() && i < info.running.size(); ++i) {
    w.Key(info.types[i].c_str(), static_cast<rapidjson::SizeType>(info.types[i].size()));
    w.Int(info.running[i]);
  }
  w.EndObject();
  w.Key("last_contact");
  if (contact) {
    auto t = std::chrono::system_clock::to_time_t(*contact);
    char buf[32];
    std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    w.String(buf);
  } else {
    w.Null();
  }
  w.Key("last_contact_ms_ago");
  if (ago_ms) w.Int64(*ago_ms);
  else w.Int(0);
  w.EndObject();
}

std::string cluster_json(self_ptr self) {
  auto& st = self->state;
  rapidjson::StringBuffer buf;
  json_writer w{buf};
  w.StartObject();
  w.Key("node");
  string(w, st.me.node_id);
  w.Key("clustered");
  w.Bool(clustered(self));
  w.Key("nodes");
  w.StartArray();
  write_node(w, current_info(self), true, std::chrono::system_clock::now(), std::nullopt);
  auto now = clock_type::now();
  for (const auto& [id, p] : st.peers)
    write_node(w, p.info, false, p.last_contact_wall,
               std::chrono::duration_cast<std::chrono::milliseconds>(now - p.last_contact).count());
  w.EndArray();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

}  // namespace

member_info own_member_info(const runtime& rt) {
  const auto& s = rt.settings;
  member_info me;
  me.node_id = rt.node_id;
  if (s.cluster_port != 0) me.cluster_address = s.cluster_bind + ":" + std::to_string(s.cluster_port);
  if (s.http_port != 0) me.http_address = s.bind + ":" + std::to_string(s.http_port);
  for (const auto& [name, type] : rt.registry.all()) {
    me.types.push_back(name);
    me.capacity.push_back(type.concurrency);
  }
  return me;
}

caf::actor spawn_cluster_member(caf::actor_system& sys, runtime_ptr rt) {
  return sys.spawn([rt](self_ptr self) -> caf::behavior {
    auto& st = self->state;
    st.rt = rt;
    st.me = own_member_info(*rt);
    if (auto seeds = config::parse_seeds(rt->settings.cluster_seeds))
      for (const auto& [host, port] : *seeds) st.addresses.insert(host + ":" + std::to_string(port));
    st.addresses.erase(st.me.cluster_address);
    self->set_default_handler(caf::drop);
    self->set_down_handler([=](caf::down_msg& dm) {
      for (const auto& [id, p] : self->state.peers)
        if (p.handle.address() == dm.source) {
          std::string gone = id;  // drop_peer erases the entry
          drop_peer(self, gone, dm.reason);
          return;
        }
    });
    auto every = std::chrono::milliseconds(rt->settings.cluster_heartbeat_ms);
    self->send(self, tick_atom::value);
    return {
        [=](tick_atom) {
          tick(self);
          self->delayed_send(self, every, tick_atom::value);
        },
        [=](hello_atom, const member_info& info, const std::vector<std::string>& theirs)
            -> caf::result<member_info, std::vector<std::string>> {
          add_peer(self, caf::actor_cast<caf::actor>(self->current_sender()), info);
          learn(self, theirs);
          return {current_info(self), known_addresses(self)};
        },
        [=](mstatus_atom, const member_info& info) {
          auto i = self->state.peers.find(info.node_id);
          if (i == self->state.peers.end())
            add_peer(self, caf::actor_cast<caf::actor>(self->current_sender()), info);
          else
            touch(i->second, info);
        },
        [=](leave_atom, const std::string& id) -> bool {
          self->state.leaving.insert(id);
          return true;
        },
        // This node stops: tell every peer and answer once each has acknowledged (or did
        // not within the timeout), so that no peer can see this process exit before it
        // has learnt that the exit is a departure, not a failure.
        [=](leave_atom) -> caf::result<bool> {
          auto& st = self->state;
          st.left = true;
          if (st.peers.empty()) return true;
          auto rp = self->make_response_promise<bool>();
          auto waiting = std::make_shared<size_t>(st.peers.size());
          auto timeout = std::chrono::milliseconds(std::clamp(st.rt->settings.cluster_timeout_ms, 1000, 5000));
          for (const auto& [id, p] : st.peers) {
            auto answered = [=]() mutable {
              if (--*waiting == 0) rp.deliver(true);
            };
            self->request(p.handle, timeout, leave_atom::value, st.me.node_id)
                .then([=](bool) mutable { answered(); },
                      [=, peer = id](caf::error& err) mutable {
                        log()->warn("node {} did not acknowledge this node's departure ({})", peer,
                                    self->system().render(err));
                        answered();
                      });
          }
          return rp;
        },
        // A cancel for a running job: to the node that runs it (this one or a peer).
        [=](cancel_atom, const std::string& id, const std::string& node) {
          auto& st = self->state;
          if (node.empty() || node == st.me.node_id) {
            if (auto d = st.rt->actors.get(directory::dispatcher)) self->send(d, cancel_atom::value, id);
            return;
          }
          auto i = st.peers.find(node);
          if (i != st.peers.end()) self->send(i->second.handle, cancel_atom::value, id, node);
          // Unknown node: its lease renewal sees the cancel flag in Redis instead.
        },
        [=](cluster_atom) -> std::string { return cluster_json(self); },
        [=](stats_atom) -> size_t { return self->state.peers.size(); },
    };
  });
}

}  // namespace jobserver::actors
