// Row-level security of every owned table (persistence/migrations/001_schema.sql): a
// transaction run as one user sees and writes only that user's rows, even with a query
// that forgets the owner filter.
#include <catch2/catch.hpp>

#include "config/errors.hpp"
#include "persistence/database.hpp"
#include "persistence/job_store.hpp"
#include "tests/support/catch_errc.hpp"
#include "tests/support/test_env.hpp"


using jobserver::app_error;
using jobserver::errc;
using jobserver::persistence::job_store;
using jobserver::persistence::make_uuid;
using jobserver::persistence::new_job;
namespace t = jobserver::testing;

namespace {

new_job job_for(const std::string& owner) {
  new_job j;
  j.id = make_uuid();
  j.owner_id = owner;
  j.type = "noop";
  return j;
}

long long count_as(jobserver::persistence::database& db, const std::string& user,
                   const std::string& table) {
  return db.as_user(user, [&](pqxx::work& tx) {
    return tx.exec1("SELECT count(*) FROM " + tx.quote_name(table))[0].as<long long>();
  });
}

long long count_as_system(jobserver::persistence::database& db, const std::string& table) {
  return db.as_system([&](pqxx::work& tx) {
    return tx.exec1("SELECT count(*) FROM " + tx.quote_name(table))[0].as<long long>();
  });
}

/// Inserts one course and one document for `owner` (engine context); returns the course id.
std::string add_course_and_document(jobserver::persistence::database& db,
                                    const std::string& owner) {
  auto course = make_uuid();
  db.as_system([&](pqxx::work& tx) {
    tx.exec_params("INSERT INTO courses (id, owner_id, name) VALUES ($1::uuid, $2, 'Course')",
                   course, owner);
    tx.exec_params(
        "INSERT INTO documents (id, owner_id, course_id, title) VALUES ($1::uuid, $2, $3::uuid, 'Doc')",
        make_uuid(), owner, course);
  });
  return course;
}

}  // namespace

TEST_CASE("the application role is neither superuser nor exempt from row-level security",
          "[rls]") {
  t::service_fixture fx;
  auto [super, bypass] = fx.db->run([](pqxx::work& tx) {
    auto r = tx.exec1(
        "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user");
    return std::make_pair(r[0].as<bool>(), r[1].as<bool>());
  });
  CHECK_FALSE(super);
  CHECK_FALSE(bypass);
}

TEST_CASE("a user counting all jobs without an owner filter sees only their own", "[rls]") {
  t::service_fixture fx;
  job_store store{*fx.db};
  store.insert({job_for("A")});
  store.insert({job_for("B"), job_for("B")});

  CHECK(count_as(*fx.db, "A", "jobs") == 1);
  CHECK(count_as(*fx.db, "B", "jobs") == 2);
  CHECK(count_as(*fx.db, "C", "jobs") == 0);
  CHECK(count_as_system(*fx.db, "jobs") == 3);
  // No user context at all: nothing is visible.
  CHECK(fx.db->run([](pqxx::work& tx) {
    return tx.exec1("SELECT count(*) FROM jobs")[0].as<long long>();
  }) == 0);
}

TEST_CASE("a user counting all courses and documents sees only their own", "[rls]") {
  t::service_fixture fx;
  add_course_and_document(*fx.db, "A");
  add_course_and_document(*fx.db, "B");

  for (const char* table : {"courses", "documents"}) {
    INFO(table);
    CHECK(count_as(*fx.db, "A", table) == 1);
    CHECK(count_as(*fx.db, "B", table) == 1);
    CHECK(count_as(*fx.db, "C", table) == 0);
    CHECK(count_as_system(*fx.db, table) == 2);
  }
}

TEST_CASE("a user cannot insert a row owned by someone else", "[rls]") {
  t::service_fixture fx;
  auto insert_course = [&](const std::string& as, const std::string& owner) {
    fx.db->as_user(as, [&](pqxx::work& tx) {
      tx.exec_params("INSERT INTO courses (id, owner_id, name) VALUES ($1::uuid, $2, 'X')",
                     make_uuid(), owner);
    });
  };
  auto insert_job = [&](const std::string& as, const std::string& owner) {
    fx.db->as_user(as, [&](pqxx::work& tx) {
      tx.exec_params("INSERT INTO jobs (id, owner_id, type) VALUES ($1::uuid, $2, 'noop')",
                     make_uuid(), owner);
    });
  };

  REQUIRE_NOTHROW(insert_course("A", "A"));
  REQUIRE_NOTHROW(insert_job("A", "A"));
  try {
    insert_course("A", "B");
    FAIL("inserting a course owned by B as A succeeded");
  } catch (const app_error& e) {
    CHECK(e.code() == errc::internal);
    CHECK_FALSE(e.transient());
  }
  CHECK_THROWS_AS(insert_job("A", "B"), app_error);

  CHECK(count_as_system(*fx.db, "courses") == 1);
  CHECK(count_as_system(*fx.db, "jobs") == 1);
  CHECK(count_as(*fx.db, "B", "courses") == 0);
}

TEST_CASE("a user can neither change nor give away another user's rows", "[rls]") {
  t::service_fixture fx;
  add_course_and_document(*fx.db, "A");
  add_course_and_document(*fx.db, "B");

  // B's row is invisible to A, so an update without an owner filter touches only A's.
  auto renamed = fx.db->as_user("A", [](pqxx::work& tx) {
    return tx.exec("UPDATE courses SET name = 'renamed'").affected_rows();
  });
  CHECK(renamed == 1);
  auto b_name = fx.db->as_system([](pqxx::work& tx) {
    return tx.exec1("SELECT name FROM courses WHERE owner_id = 'B'")[0].as<std::string>();
  });
  CHECK(b_name == "Course");

  // Handing one's own row to another owner violates WITH CHECK.
  CHECK_THROWS_AS(fx.db->as_user("A", [](pqxx::work& tx) {
    tx.exec("UPDATE courses SET owner_id = 'B'");
  }), app_error);
  CHECK(count_as(*fx.db, "A", "courses") == 1);

  auto deleted = fx.db->as_user("A", [](pqxx::work& tx) {
    return tx.exec("DELETE FROM documents").affected_rows();
  });
  CHECK(deleted == 1);
  CHECK(count_as(*fx.db, "B", "documents") == 1);
}

TEST_CASE("the system context sees every owner's rows", "[rls]") {
  t::service_fixture fx;
  job_store store{*fx.db};
  auto a = job_for("A");
  auto b = job_for("B");
  store.insert({a, b});

  auto owners = fx.db->as_system([](pqxx::work& tx) {
    std::vector<std::string> out;
    for (const auto& r : tx.exec("SELECT owner_id FROM jobs ORDER BY owner_id"))
      out.push_back(r[0].as<std::string>());
    return out;
  });
  CHECK(owners == std::vector<std::string>{"A", "B"});
  REQUIRE(store.find_any(a.id).has_value());
  REQUIRE(store.find_any(b.id).has_value());
  CHECK(store.find_any(b.id)->owner_id == "B");
}

TEST_CASE("a system pool sees every owner's rows, refuses per-user transactions and commits "
          "autocommit inserts durably",
          "[rls]") {
  t::service_fixture fx;
  jobserver::persistence::database::options o{fx.url, 2};
  o.system_session = true;
  jobserver::persistence::database creation{o};
  job_store store{*fx.db, *fx.db, creation};
  auto a = job_for("A");
  auto b = job_for("B");
  auto rows = store.insert({a, b});
  CHECK(rows.size() == 2);

  // Committed on their own: another pool's users each see their own row at once.
  CHECK(count_as(*fx.db, "A", "jobs") == 1);
  CHECK(count_as(*fx.db, "B", "jobs") == 1);
  // The system pool's sessions see both without asking for it.
  CHECK(creation.autocommit([](pqxx::transaction_base& tx) {
    return tx.exec1("SELECT count(*) FROM jobs")[0].as<long long>();
  }) == 2);
  CHECK(creation.autocommit([](pqxx::transaction_base& tx) {
    return tx.exec1("SELECT current_setting('synchronous_commit')")[0].as<std::string>();
  }) == "on");
  CHECK_THROWS_AS(count_as(creation, "A", "jobs"), app_error);
  // And a per-user pool has no autocommit: a statement outside a transaction block could
  // not be given its user.
  CHECK_THROWS_AS(fx.db->autocommit([](pqxx::transaction_base& tx) { tx.exec("SELECT 1"); }),
                  app_error);
}
