#pragma once

#include <string>
#include <vector>

namespace jobserver::persistence {

class database;

struct migration {
  int version;
  std::string name;
  std::string sql;
};

/// The numbered SQL files of persistence/migrations/, in order (built into the binary).
const std::vector<migration>& embedded_migrations();

/// Applies every migration not yet recorded in `schema_migrations`, each in its own
/// transaction, holding an advisory lock so two nodes starting at once apply each file
/// exactly once. Returns how many were applied (0 when the schema is current).
int apply_migrations(database& db, const std::vector<migration>& all = embedded_migrations());

}  // namespace jobserver::persistence
