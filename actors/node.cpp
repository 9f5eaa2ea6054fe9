#include "actors/node.hpp"

#include <thread>

#include "actors/node_impl.hpp"
#include "actors/node_supervisor.hpp"
#include "config/log.hpp"

namespace jobserver::actors {

using namespace persistence;

namespace {
std::atomic<uint64_t> next_serial{1};
}

node::impl::impl(const config::settings& s)
  : rt(make_runtime(s)), cfg(s), sys(cfg), reads(rt->redis_options, 16), serial(next_serial++) {}

redis_client& node::impl::thread_redis() {
  struct local {
    uint64_t serial = 0;
    std::unique_ptr<redis_client> client;
  };
  thread_local local mine;
  if (mine.serial != serial || !mine.client) {
    mine.client = rt->make_redis();
    mine.serial = serial;
  }
  return *mine.client;
}

node::node(const config::settings& settings) : impl_(std::make_unique<impl>(settings)) {}

node::~node() { stop(); }

void node::start() {
  if (impl_->supervisor) return;
  auto& rt = impl_->rt;
  // Leases still held under this node's id belong to an earlier run of it (killed before it
  // could hand them back): requeue them now rather than at lease expiry.
  auto old = requeue_leases_of(*rt, impl_->thread_redis(), rt->node_id, false);
  impl_->supervisor = spawn_node_supervisor(impl_->sys, rt);
  // The supervisor registers its children as it runs: wait for them, so that a request
  // arriving just after start-up (the API starts next) finds them.
  for (int i = 0; i < 1000; ++i) {
    if (rt->actors.get(directory::creator) && rt->actors.get(directory::tracker) &&
        rt->actors.get(directory::dispatcher))
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!old.empty()) {
    size_t n = 0;
    for (auto& [type, jobs] : old) {
      n += jobs.size();
      caf::anon_send(rt->actors.get(directory::tracker), stalled_atom::value, type, jobs);
    }
    logger("node")->warn("requeued {} job(s) leased to an earlier run of node {}", n, rt->node_id);
  }
  auto member = spawn_cluster_member(impl_->sys, rt);
  rt->actors.set(directory::member, member);
  if (rt->settings.cluster_port != 0) {
    const auto& s = rt->settings;
    auto port = impl_->sys.middleman().publish(member, static_cast<uint16_t>(s.cluster_port),
                                               s.cluster_bind.c_str(), true);
    if (!port) {
      stop();
      throw app_error(errc::unavailable, "cannot publish the cluster member on " + s.cluster_bind +
                                             ":" + std::to_string(s.cluster_port) + ": " +
                                             impl_->sys.render(port.error()));
    }
    logger("cluster")->info("node {} in the cluster at {}:{} (seeds: {})", rt->node_id,
                            s.cluster_bind, *port, s.cluster_seeds.empty() ? "none" : s.cluster_seeds);
  }
  if (rt->settings.http_port != 0) {  // a worker-only node serves no streams
    auto* hub = &impl_->hub;
    impl_->subscriber = std::make_unique<event_subscriber>(
        rt->redis_options, rt->events->channel(),
        [hub](const std::string& m) { hub->deliver(m); }, [hub] { hub->resync_all(); },
        rt->settings.status_memory_entries > 0 ? rt->memory.get() : nullptr,
        rt->cache->key_prefix());
    impl_->subscriber->start();
  }
  logger("node")->info("node {} started; job types:{}", impl_->rt->node_id, [&] {
    std::string list;
    for (const auto& [name, t] : impl_->rt->registry.all())
      list += " " + name + "(" + std::to_string(t.concurrency) + ")";
    return list.empty() ? std::string{" none"} : list;
  }());
}

void node::drain() {
  auto& rt = impl_->rt;
  if (!impl_->supervisor) return;
  rt->draining = true;  // the dispatcher claims no more
  auto grace = std::chrono::seconds(rt->settings.shutdown_grace_seconds);
  auto until = std::chrono::steady_clock::now() + grace;
  if (rt->load.total() > 0)
    logger("node")->info("draining: waiting up to {} s for {} running job(s)", grace.count(),
                         rt->load.total());
  while (rt->load.total() > 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (int left = rt->load.total(); left > 0) {
    // New tokens first (the runs here can no longer write), then stop the runs.
    size_t handed = 0;
    for (auto& [type, jobs] : requeue_leases_of(*rt, impl_->thread_redis(), rt->node_id, true)) {
      handed += jobs.size();
      try {
        ask<bool>(impl_->asks, rt->actors.get(directory::tracker), stalled_atom::value, type, jobs, true);
      } catch (const app_error& e) {
        logger("node")->warn("cannot record the {} jobs handed back ({})", type, e.what());
      }
    }
    try {
      ask<size_t>(impl_->asks, rt->actors.get(directory::dispatcher), handback_atom::value);
    } catch (const app_error&) {
    }
    logger("node")->warn("grace period over: {} job(s) still running, {} handed back to the queue",
                         left, handed);
  }
  try {
    ask<bool>(impl_->asks, rt->actors.get(directory::member), leave_atom::value);
  } catch (const app_error&) {
  }
}

std::string node::cluster_json() {
  return ask<std::string>(impl_->asks, impl_->rt->actors.get(directory::member), cluster_atom::value);
}

void node::stop() {
  impl_->hub.shutdown();
  if (impl_->subscriber) impl_->subscriber->stop();
  if (!impl_->supervisor) return;
  impl_->rt->draining = true;
  // Statuses still on their way to Redis are written before the actors stop.
  try {
    ask<bool>(impl_->asks, impl_->rt->actors.get(directory::writer), flush_atom::value);
  } catch (const app_error& e) {
    logger("node")->warn("job statuses not written to Redis before stopping: {}", e.what());
  }
  caf::scoped_actor self{impl_->sys};
  self->monitor(impl_->supervisor);
  self->send_exit(impl_->supervisor, caf::exit_reason::user_shutdown);
  self->receive([](caf::down_msg&) {}, caf::after(std::chrono::seconds(10)) >> [] {
    logger("node")->warn("supervisor did not stop within 10 s");
  });
  impl_->supervisor = nullptr;
}

const config::settings& node::settings() const { return impl_->rt->settings; }
const std::string& node::id() const { return impl_->rt->node_id; }

bool node::accepts_type(const std::string& type) const {
  return impl_->rt->queues.count(type) != 0;
}

std::string node::create_job(new_job job) {
  return create_jobs({std::move(job)}).front();
}

std::vector<std::string> node::create_jobs(std::vector<new_job> jobs) {
  for (auto& job : jobs) {
    if (job.id.empty()) job.id = make_uuid();
    if (job.max_attempts <= 0) {
      auto* t = impl_->rt->registry.find(job.type);
      job.max_attempts = t != nullptr ? t->retry.max_attempts : 1;
    }
  }
  return ask<std::vector<std::string>>(impl_->asks, impl_->rt->actors.get(directory::creator),
                                       create_atom::value, std::move(jobs));
}

std::vector<std::string> node::jobs_json(const std::string& owner,
                                         const std::vector<std::string>& ids) {
  auto& memory = *impl_->rt->memory;
  // `known[i]`: the JSON, "" for someone else's job, nullopt when still to be looked up.
  std::vector<std::optional<std::string>> known(ids.size());
  std::vector<std::string> to_read;
  std::vector<size_t> read_at;
  std::vector<uint64_t> tickets;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (auto e = memory.get(ids[i])) {
      known[i] = e->owner == owner ? std::move(e->json) : std::string{};
    } else {
      tickets.push_back(memory.begin_fill(ids[i]));  // before the read, see status_memory
      to_read.push_back(ids[i]);
      read_at.push_back(i);
    }
  }
  if (!to_read.empty()) {
    try {
      auto entries = impl_->rt->cache->read_entries(impl_->thread_redis(), to_read);
      for (size_t k = 0; k < entries.size(); ++k) {
        auto& e = entries[k];
        if (!e) continue;
        known[read_at[k]] = e->first == owner ? e->second : std::string{};
        memory.fill(to_read[k], tickets[k], std::move(e->first), std::move(e->second));
      }
    } catch (const app_error&) {
      // Redis down: the answers come from Postgres.
    }
  }
  std::vector<std::string> missing;
  for (size_t i = 0; i < ids.size(); ++i)
    if (!known[i]) missing.push_back(ids[i]);
  std::map<std::string, std::string> from_db;
  if (!missing.empty())
    for (const auto& row : impl_->rt->store->find_many(owner, missing))
      from_db[row.id] = to_api_json(row);
  std::vector<std::string> out;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (known[i]) {
      if (!known[i]->empty()) out.push_back(std::move(*known[i]));
    } else if (auto f = from_db.find(ids[i]); f != from_db.end()) {
      out.push_back(f->second);
    }
  }
  return out;
}

std::optional<std::string> node::job_json(const std::string& owner, const std::string& id) {
  auto all = jobs_json(owner, {id});
  if (all.empty()) return std::nullopt;
  return std::move(all.front());
}

std::vector<std::string> node::history(const std::string& owner, const job_filter& filter) {
  std::vector<std::string> out;
  for (const auto& row : impl_->rt->store->list(owner, filter)) out.push_back(to_api_json(row));
  return out;
}

std::string node::cancel(const std::string& owner, const std::string& id) {
  return ask<std::string>(impl_->asks, impl_->rt->actors.get(directory::tracker),
                          cancel_atom::value, owner, id);
}

std::string node::retry(const std::string& owner, const std::string& id) {
  return ask<std::string>(impl_->asks, impl_->rt->actors.get(directory::tracker),
                          retry_atom::value, owner, id);
}

node::readiness node::check_ready() {
  readiness r;
  r.postgres = impl_->rt->db->ping();
  try {
    r.redis = impl_->reads.with([](redis_client& c) { return c.ping(); });
  } catch (const app_error&) {
    r.redis = false;
  }
  return r;
}

void node::run_maintenance() {
  ask<bool>(impl_->asks, impl_->rt->actors.get(directory::janitor), flush_atom::value);
}

}  // namespace jobserver::actors
