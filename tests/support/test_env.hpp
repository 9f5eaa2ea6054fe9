#pragma once

#include <memory>
#include <string>

#include "persistence/database.hpp"
#include "persistence/redis.hpp"

namespace jobserver::testing {

/// DATABASE_URL / REDIS_URL from the environment (set by scripts/test.sh), or the
/// defaults of scripts/services.sh.
std::string database_url();
std::string redis_url();

/// A random lower-case name fragment, for schemas and key prefixes.
std::string unique_name(const std::string& stem);

/// `url` with `search_path` set to `schema` (libpq `options`), so every connection made
/// from it works inside that schema.
std::string url_with_schema(const std::string& url, const std::string& schema);

/// A fresh Postgres schema with every migration applied, dropped at destruction, and a
/// database handle bound to it; plus a Redis key prefix of its own whose keys are
/// deleted at destruction.
struct service_fixture {
  service_fixture();
  ~service_fixture();

  std::string schema;
  std::string url;  // DATABASE_URL bound to `schema`
  std::string prefix;
  std::unique_ptr<persistence::database> db;
  std::unique_ptr<persistence::redis_client> redis;

  /// Deletes every Redis key under `prefix` (and the queue keys `{prefix:*}`).
  void clear_redis();
};

}  // namespace jobserver::testing
