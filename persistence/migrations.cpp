#include "persistence/migrations.hpp"

#include "config/log.hpp"
#include "persistence/database.hpp"

namespace jobserver::persistence {
namespace {

// One lock per schema, so test suites in their own schemas do not wait for each other.
constexpr const char* lock_sql =
    "SELECT pg_advisory_xact_lock(hashtext('jobserver.migrate:' || current_schema()))";
constexpr const char* create_table_sql =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
    " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())";
constexpr const char* is_applied_sql = "SELECT 1 FROM schema_migrations WHERE version = $1";
constexpr const char* record_sql =
    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)";

}  // namespace

int apply_migrations(database& db, const std::vector<migration>& all) {
  int applied = 0;
  for (const auto& m : all) {
    bool done = db.run([&](pqxx::work& tx) {
      tx.exec(lock_sql);
      tx.exec(create_table_sql);
      if (!tx.exec_params(is_applied_sql, m.version).empty()) return false;
      tx.exec(m.sql);
      tx.exec_params(record_sql, m.version, m.name);
      return true;
    });
    if (done) {
      ++applied;
      logger("db")->info("applied migration {} ({})", m.version, m.name);
    }
  }
  return applied;
}

}  // namespace jobserver::persistence
