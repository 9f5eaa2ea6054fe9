#include "persistence/status_cache.hpp"

#include "config/errors.hpp"
#include "persistence/redis.hpp"

namespace jobserver::persistence {

status_cache::status_cache(std::string prefix, int retention_hours)
  : prefix_(std::move(prefix)), ttl_seconds_(retention_hours * 3600) {}

std::vector<std::vector<std::string>> status_cache::write_commands(const job_row& job) const {
  std::vector<std::vector<std::string>> out;
  auto k = key(job.id);
  out.push_back({"HSET", k, "owner", job.owner_id, "json", to_api_json(job)});
  // Unfinished jobs live until they finish; finished ones as long as retention keeps them.
  if (job.terminal()) out.push_back({"EXPIRE", k, std::to_string(ttl_seconds_)});
  else out.push_back({"PERSIST", k});
  return out;
}

void status_cache::write(redis_client& redis, const std::vector<job_row>& jobs) const {
  if (jobs.empty()) return;
  std::vector<std::vector<std::string>> cmds;
  for (const auto& j : jobs)
    for (auto& c : write_commands(j)) cmds.push_back(std::move(c));
  for (const auto& r : redis.pipeline(cmds))
    if (r.type == redis_reply::kind::error) throw app_error(errc::unavailable, "status write failed", true);
}

void status_cache::erase(redis_client& redis, const std::vector<std::string>& ids) const {
  if (ids.empty()) return;
  std::vector<std::string> cmd{"DEL"};
  for (const auto& id : ids) cmd.push_back(key(id));
  redis.command(cmd);
}

std::vector<std::optional<std::pair<std::string, std::string>>> status_cache::read_entries(
    redis_client& redis, const std::vector<std::string>& ids) const {
  std::vector<std::vector<std::string>> cmds;
  cmds.reserve(ids.size());
  for (const auto& id : ids) cmds.push_back({"HMGET", key(id), "owner", "json"});
  auto replies = redis.pipeline(cmds);
  std::vector<std::optional<std::pair<std::string, std::string>>> out;
  out.reserve(ids.size());
  for (auto& r : replies) {
    if (r.elements.size() != 2 || r.elements[0].is_nil() || r.elements[1].is_nil())
      out.emplace_back(std::nullopt);
    else
      out.emplace_back(std::make_pair(std::move(r.elements[0].str), std::move(r.elements[1].str)));
  }
  return out;
}

std::vector<std::optional<std::string>> status_cache::read(
    redis_client& redis, const std::string& owner, const std::vector<std::string>& ids) const {
  std::vector<std::optional<std::string>> out;
  out.reserve(ids.size());
  for (auto& e : read_entries(redis, ids)) {
    if (!e) out.emplace_back(std::nullopt);
    else if (e->first != owner) out.emplace_back(std::string{});
    else out.emplace_back(std::move(e->second));
  }
  return out;
}

}  // namespace jobserver::persistence
