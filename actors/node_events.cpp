// The node's side of Server-Sent Events and metrics: event logs, snapshots and counts
// read for the HTTP layer.
#include "actors/node.hpp"
#include "actors/node_impl.hpp"

namespace jobserver::actors {

event_hub& node::events() { return impl_->hub; }

const status_memory& node::statuses_in_memory() const { return *impl_->rt->memory; }

event_log node::event_log(const std::string& id) {
  return impl_->reads.with([&](redis_client& r) { return impl_->rt->events->read(r, id); });
}

std::optional<std::string> node::job_snapshot(const std::string& owner, const std::string& id) {
  std::optional<std::string> cached;
  try {
    auto read = impl_->reads.with(
        [&](redis_client& r) { return impl_->rt->cache->read(r, owner, {id}); });
    cached = std::move(read.front());
  } catch (const app_error&) {
    // Redis down: Postgres answers.
  }
  if (cached) {
    if (cached->empty()) return std::nullopt;  // someone else's job
    return cached;
  }
  auto rows = impl_->rt->store->find_many(owner, {id});
  if (rows.empty()) return std::nullopt;
  return to_api_json(rows.front());
}

std::vector<job_store::type_count> node::unfinished_counts() {
  return impl_->rt->store->count_unfinished();
}

int node::cluster_members() {
  try {
    return 1 + static_cast<int>(ask<size_t>(impl_->asks, impl_->rt->actors.get(directory::member),
                                            stats_atom::value));
  } catch (const app_error&) {
    return 1;
  }
}

std::vector<std::string> node::job_types() const {
  std::vector<std::string> out;
  for (const auto& [name, q] : impl_->rt->queues) out.push_back(name);
  return out;
}

}  // namespace jobserver::actors
