#include "actors/node.hpp"

#include "actors/messages.hpp"
#include "actors/node_supervisor.hpp"
#include "actors/runtime.hpp"
#include "config/log.hpp"

namespace jobserver::actors {

using namespace persistence;

namespace {

constexpr auto request_timeout = std::chrono::seconds(10);

struct node_config : caf::actor_system_config {
  explicit node_config(const config::settings&) {
    register_message_types(*this);
    // Blocking work runs in detached actors; the scheduler only runs quick handlers.
    set("scheduler.max-threads", size_t{2});
    set("logger.verbosity", caf::atom("quiet"));
  }
};

std::shared_ptr<runtime> make_runtime(const config::settings& s) {
  auto rt = std::make_shared<runtime>();
  rt->settings = s;
  rt->node_id = config::effective_node_id(s);
  rt->redis_options = parse_redis_url(s.redis_url);
  rt->db = std::make_unique<database>(database::options{s.database_url,
                                                        static_cast<size_t>(s.db_pool_size)});
  rt->store = std::make_unique<job_store>(*rt->db);
  rt->cache = std::make_unique<status_cache>(s.redis_prefix, s.job_retention_hours);
  if (s.enable_test_jobs) add_test_job_types(rt->registry, s);
  for (const auto& [name, type] : rt->registry.all()) rt->queues.emplace(name, job_queue{s.redis_prefix, name});
  return rt;
}

/// Sends a request from a non-actor thread and waits for the reply, at most `timeout`.
template <class T, class... Ts>
T ask(caf::actor_system& sys, const caf::actor& to, Ts&&... xs) {
  if (!to) throw app_error(errc::unavailable, "server is starting or stopping", true);
  caf::scoped_actor self{sys};
  std::optional<T> out;
  std::optional<app_error> failure;
  self->request(to, request_timeout, std::forward<Ts>(xs)...)
      .receive([&](T& value) { out = std::move(value); },
               [&](caf::error& err) { failure = to_app_error(err); });
  if (failure) throw *failure;
  return std::move(*out);
}

}  // namespace

struct node::impl {
  std::shared_ptr<runtime> rt;
  node_config cfg;
  caf::actor_system sys;
  redis_pool reads;
  caf::actor supervisor;

  explicit impl(const config::settings& s)
    : rt(make_runtime(s)), cfg(s), sys(cfg), reads(rt->redis_options, 16) {}
};

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
  if (job.id.empty()) job.id = make_uuid();
  if (job.max_attempts <= 0) {
    auto* t = impl_->rt->registry.find(job.type);
    job.max_attempts = t != nullptr ? t->retry.max_attempts : 1;
  }
  return ask<std::string>(impl_->sys, impl_->rt->actors.get(directory::creator),
                          create_atom::value, std::move(job));
}

std::vector<std::string> node::jobs_json(const std::string& owner,
                                         const std::vector<std::string>& ids) {
  std::vector<std::optional<std::string>> cached(ids.size());
  try {
    cached = impl_->reads.with(
        [&](redis_client& r) { return impl_->rt->cache->read(r, owner, ids); });
  } catch (const app_error&) {
    // Redis down: every answer comes from Postgres.
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
