#pragma once

#include <optional>
#include <string>
#include <vector>

#include "persistence/job.hpp"

namespace jobserver::persistence {

class redis_client;

/// The live status of each job in Redis: one hash `<prefix>:job:<id>` with the owner and
/// the job's API JSON, so `GET /jobs/:id` is one round trip and no JSON work. Written by
/// the tracker (and the creator) after each change; finished jobs expire with retention.
class status_cache {
 public:
  status_cache(std::string prefix, int retention_hours);

  /// The commands that store `job` (for a pipeline).
  std::vector<std::vector<std::string>> write_commands(const job_row& job) const;
  void write(redis_client& redis, const std::vector<job_row>& jobs) const;
  void erase(redis_client& redis, const std::vector<std::string>& ids) const;

  /// The JSON of each job that `owner` owns, in `ids` order; nullopt where the cache has
  /// no entry (the caller asks Postgres) and "" where the job is someone else's.
  std::vector<std::optional<std::string>> read(redis_client& redis, const std::string& owner,
                                               const std::vector<std::string>& ids) const;
  /// The owner and JSON of each job, in `ids` order; nullopt where there is no entry.
  std::vector<std::optional<std::pair<std::string, std::string>>> read_entries(
      redis_client& redis, const std::vector<std::string>& ids) const;
  /// What every key of this cache starts with (for Redis key tracking).
  std::string key_prefix() const { return prefix_ + ":job:"; }

  std::string key(const std::string& id) const { return key_prefix() + id; }

 private:
  std::string prefix_;
  int ttl_seconds_;
};

}  // namespace jobserver::persistence
