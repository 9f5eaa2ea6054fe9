#include "actors/node.hpp"

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
  impl_->supervisor = spawn_node_supervisor(impl_->sys, impl_->rt);
  logger("node")->info("node {} started; job types:{}", impl_->rt->node_id, [&] {
    std::string list;
    for (const auto& [name, t] : impl_->rt->registry.all())
      list += " " + name + "(" + std::to_string(t.concurrency) + ")";
    return list.empty() ? std::string{" none"} : list;
  }());
}

void node::stop() {
  if (!impl_->supervisor) return;
  impl_->rt->draining = true;
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
  return ask<std::vector<std::string>>(impl_->sys, impl_->rt->actors.get(directory::creator),
                                       create_atom::value, std::move(jobs));
}

std::vector<std::string> node::jobs_json(const std::string& owner,
                                         const std::vector<std::string>& ids) {
  std::vector<std::optional<std::string>> cached(ids.size());
  try {
    cached = impl_->rt->cache->read(impl_->thread_redis(), owner, ids);
  } catch (const app_error&) {
    // Redis down: the answers come from Postgres.
  }
  std::vector<std::string> missing;
  for (size_t i = 0; i < ids.size(); ++i)
    if (!cached[i]) missing.push_back(ids[i]);
  std::map<std::string, std::string> from_db;
  if (!missing.empty())
    for (const auto& row : impl_->rt->store->find_many(owner, missing))
      from_db[row.id] = to_api_json(row);
  std::vector<std::string> out;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (cached[i]) {
      if (!cached[i]->empty()) out.push_back(std::move(*cached[i]));
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
  return ask<std::string>(impl_->sys, impl_->rt->actors.get(directory::tracker),
                          cancel_atom::value, owner, id);
}

std::string node::retry(const std::string& owner, const std::string& id) {
  return ask<std::string>(impl_->sys, impl_->rt->actors.get(directory::tracker),
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
  ask<bool>(impl_->sys, impl_->rt->actors.get(directory::janitor), flush_atom::value);
}

}  // namespace jobserver::actors
