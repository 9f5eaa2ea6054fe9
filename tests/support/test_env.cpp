#include "tests/support/test_env.hpp"

#include <cstdlib>
#include <random>

#include "persistence/migrations.hpp"

namespace jobserver::testing {

std::string database_url() {
  const char* v = std::getenv("DATABASE_URL");
  return v != nullptr ? v : "postgresql://jobserver:jobserver@127.0.0.1:54329/jobserver";
}

std::string redis_url() {
  const char* v = std::getenv("REDIS_URL");
  return v != nullptr ? v : "redis://127.0.0.1:63799/0";
}

std::string unique_name(const std::string& stem) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* hex = "0123456789abcdef";
  std::string out = stem + "_";
  for (int i = 0; i < 10; ++i) out += hex[rng() % 16];
  return out;
}

std::string url_with_schema(const std::string& url, const std::string& schema) {
  char sep = url.find('?') == std::string::npos ? '?' : '&';
  return url + sep + "options=-csearch_path%3D" + schema;
}

service_fixture::service_fixture()
  : schema(unique_name("t")), url(url_with_schema(database_url(), schema)),
    prefix(unique_name("jt")) {
  {
    persistence::database admin{{database_url(), 1}};
    admin.run([&](pqxx::work& tx) { tx.exec("CREATE SCHEMA " + tx.quote_name(schema)); });
  }
  db = std::make_unique<persistence::database>(persistence::database::options{url, 4});
  persistence::apply_migrations(*db);
  redis = std::make_unique<persistence::redis_client>(persistence::parse_redis_url(redis_url()));
}

service_fixture::~service_fixture() {
  try {
    clear_redis();
  } catch (...) {
  }
  try {
    db.reset();
    persistence::database admin{{database_url(), 1}};
    admin.run([&](pqxx::work& tx) {
      tx.exec("DROP SCHEMA IF EXISTS " + tx.quote_name(schema) + " CASCADE");
    });
  } catch (...) {
  }
}

void service_fixture::clear_redis() {
  for (const auto& pattern : {prefix + ":*", "{" + prefix + ":*"}) {
    std::string cursor = "0";
    do {
      auto r = redis->command({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
      if (r.elements.size() != 2) break;
      cursor = r.elements[0].str;
      std::vector<std::string> del{"DEL"};
      for (const auto& k : r.elements[1].elements) del.push_back(k.str);
      if (del.size() > 1) redis->command(del);
    } while (cursor != "0");
  }
}

}  // namespace jobserver::testing
