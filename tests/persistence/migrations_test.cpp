#include "persistence/migrations.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <exception>
#include <future>
#include <thread>

#include "persistence/database.hpp"
#include "tests/support/test_env.hpp"

using jobserver::persistence::apply_migrations;
using jobserver::persistence::database;
using jobserver::persistence::embedded_migrations;
namespace t = jobserver::testing;

namespace {

/// An empty schema of its own (no migrations applied), dropped at destruction.
struct empty_schema {
  std::string name = t::unique_name("m");
  std::string url = t::url_with_schema(t::database_url(), name);

  empty_schema() {
    database admin{{t::database_url(), 1}};
    admin.run([&](pqxx::work& tx) { tx.exec("CREATE SCHEMA " + tx.quote_name(name)); });
  }
  ~empty_schema() {
    try {
      database admin{{t::database_url(), 1}};
      admin.run([&](pqxx::work& tx) {
        tx.exec("DROP SCHEMA IF EXISTS " + tx.quote_name(name) + " CASCADE");
      });
    } catch (...) {
    }
  }
};

/// version -> how many rows `schema_migrations` holds for it.
std::map<int, int> recorded(database& db) {
  return db.run([](pqxx::work& tx) {
    std::map<int, int> out;
    for (const auto& r : tx.exec("SELECT version, count(*) FROM schema_migrations GROUP BY version"))
      out[r[0].as<int>()] = r[1].as<int>();
    return out;
  });
}

bool has_table(database& db, const std::string& table) {
  return db.run([&](pqxx::work& tx) {
    return tx.exec_params1("SELECT to_regclass($1) IS NOT NULL", table)[0].as<bool>();
  });
}

}  // namespace

TEST_CASE("the embedded migrations are numbered from 1 without gaps", "[migrations]") {
  const auto& all = embedded_migrations();
  REQUIRE_FALSE(all.empty());
  for (size_t i = 0; i < all.size(); ++i) {
    CHECK(all[i].version == static_cast<int>(i) + 1);
    CHECK_FALSE(all[i].sql.empty());
  }
}

TEST_CASE("migrations applied to an empty schema create the tables and record each version",
          "[migrations]") {
  empty_schema schema;
  database db{{schema.url, 2}};
  REQUIRE_FALSE(has_table(db, "jobs"));

  int applied = apply_migrations(db);

  CHECK(applied == static_cast<int>(embedded_migrations().size()));
  for (const char* table : {"jobs", "courses", "documents", "sections", "lessons"})
    CHECK(has_table(db, table));
  auto rows = recorded(db);
  CHECK(rows.size() == embedded_migrations().size());
  for (const auto& m : embedded_migrations()) CHECK(rows[m.version] == 1);
}

TEST_CASE("applying the migrations a second time changes nothing", "[migrations]") {
  t::service_fixture fx;  // the fixture has applied them once already
  auto before = recorded(*fx.db);
  REQUIRE(before.size() == embedded_migrations().size());

  CHECK(apply_migrations(*fx.db) == 0);
  CHECK(apply_migrations(*fx.db) == 0);

  auto after = recorded(*fx.db);
  CHECK(after == before);
  for (const auto& [version, count] : after) {
    INFO("version " << version);
    CHECK(count == 1);
  }
}

TEST_CASE("two nodes migrating a fresh schema at once both succeed and apply each file once",
          "[migrations]") {
  // A few rounds, each in a new schema, so the race has more than one chance to show.
  for (int round = 0; round < 3; ++round) {
    empty_schema schema;
    database db_a{{schema.url, 1}};
    database db_b{{schema.url, 1}};
    REQUIRE(db_a.ping());  // connect both before the start line
    REQUIRE(db_b.ping());

    std::promise<void> go;
    std::shared_future<void> start = go.get_future().share();
    auto migrate = [start](database* db) {
      start.wait();
      return apply_migrations(*db);
    };
    auto a = std::async(std::launch::async, migrate, &db_a);
    auto b = std::async(std::launch::async, migrate, &db_b);
    go.set_value();

    int applied_a = -1;
    int applied_b = -1;
    REQUIRE_NOTHROW(applied_a = a.get());
    REQUIRE_NOTHROW(applied_b = b.get());

    INFO("round " << round << ": a applied " << applied_a << ", b applied " << applied_b);
    CHECK(applied_a + applied_b == static_cast<int>(embedded_migrations().size()));
    auto rows = recorded(db_a);
    CHECK(rows.size() == embedded_migrations().size());
    for (const auto& m : embedded_migrations()) CHECK(rows[m.version] == 1);
    CHECK(has_table(db_b, "jobs"));
  }
}
