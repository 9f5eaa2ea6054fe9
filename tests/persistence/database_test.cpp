// How persistence::database reports Postgres failures: transient ones (worth a retry)
// as errc::unavailable, the rest as errc::internal.
#include "persistence/database.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <thread>
#include <utility>

#include "config/errors.hpp"
#include "persistence/job_store.hpp"
#include "tests/support/catch_errc.hpp"
#include "tests/support/test_env.hpp"


using jobserver::app_error;
using jobserver::errc;
using jobserver::persistence::database;
namespace t = jobserver::testing;

namespace {

/// Runs `fn` through `db`; it must throw app_error, which is returned.
template <class F>
app_error error_from(database& db, F&& fn) {
  try {
    db.run(std::forward<F>(fn));
  } catch (const app_error& e) {
    return e;
  }
  FAIL("no error was raised");
  return app_error{errc::ok, ""};
}

/// A statement that fails with the given SQLSTATE.
std::string raise_sql(const std::string& sqlstate) {
  return "DO $$ BEGIN RAISE EXCEPTION 'test failure' USING ERRCODE = '" + sqlstate +
         "'; END $$";
}

}  // namespace

// Regression: libpqxx 6 (Debian 12) throws serialization failures and deadlocks as
// pqxx::transaction_rollback, which is not a pqxx::sql_error; database::translate
// reported them as permanent internal errors, so a job failed instead of retrying.
TEST_CASE("a serialization failure or deadlock is reported as transient", "[database]") {
  t::service_fixture fx;
  for (const char* state : {"40001", "40P01"}) {
    INFO("SQLSTATE " << state);
    auto e = error_from(*fx.db, [&](pqxx::work& tx) { tx.exec(raise_sql(state)); });
    CHECK(e.code() == errc::unavailable);
    CHECK(e.transient());
  }
  CHECK(fx.db->ping());  // the connection is still good
}

TEST_CASE("two transactions locking the same jobs in opposite order end in one transient failure",
          "[database]") {
  t::service_fixture fx;
  jobserver::persistence::job_store store{*fx.db};
  auto a = jobserver::persistence::make_uuid();
  auto b = jobserver::persistence::make_uuid();
  jobserver::persistence::new_job ja;
  ja.id = a;
  ja.owner_id = "A";
  ja.type = "noop";
  auto jb = ja;
  jb.id = b;
  store.insert({ja, jb});

  std::promise<void> first_locked_a;
  std::promise<void> second_locked_b;
  auto first_ready = first_locked_a.get_future().share();
  auto second_ready = second_locked_b.get_future().share();
  const std::string touch = "UPDATE jobs SET progress = progress + 1 WHERE id = $1::uuid";
  auto run = [&](const std::string& mine, const std::string& theirs, std::promise<void>& locked,
                 std::shared_future<void> other) {
    // Catch2 assertions are not thread-safe: the thread only reports what happened.
    return std::async(std::launch::async, [&, mine, theirs, other] {
      try {
        fx.db->as_system([&](pqxx::work& tx) {
          tx.exec_params(touch, mine);
          locked.set_value();
          other.wait_for(std::chrono::seconds(10));
          tx.exec_params(touch, theirs);
        });
        return std::make_pair(errc::ok, false);
      } catch (const app_error& e) {
        return std::make_pair(e.code(), e.transient());
      }
    });
  };
  auto first = run(a, b, first_locked_a, second_ready);
  auto second = run(b, a, second_locked_b, first_ready);
  auto r1 = first.get();
  auto r2 = second.get();

  // Postgres aborts exactly one of them (after deadlock_timeout); the other commits.
  INFO("first: " << jobserver::to_string(r1.first) << (r1.second ? " (transient)" : "")
                 << ", second: " << jobserver::to_string(r2.first)
                 << (r2.second ? " (transient)" : ""));
  const auto ok = std::make_pair(errc::ok, false);
  const auto transient = std::make_pair(errc::unavailable, true);
  CHECK(((r1 == ok && r2 == transient) || (r1 == transient && r2 == ok)));
  CHECK(store.find_any(a)->progress + store.find_any(b)->progress == 2);
}

TEST_CASE("a statement timeout is transient and a constraint violation is permanent",
          "[database]") {
  t::service_fixture fx;
  auto timeout = error_from(*fx.db, [](pqxx::work& tx) { tx.exec(raise_sql("57014")); });
  CHECK(timeout.code() == errc::unavailable);
  CHECK(timeout.transient());

  auto unique = error_from(*fx.db, [](pqxx::work& tx) { tx.exec(raise_sql("23505")); });
  CHECK(unique.code() == errc::internal);
  CHECK_FALSE(unique.transient());
}

TEST_CASE("a client frozen inside a transaction loses its session and row locks after the "
          "idle-in-transaction timeout",
          "[database]") {
  t::service_fixture fx;
  database::options frozen_opts{fx.url, 1};
  frozen_opts.idle_in_transaction_timeout_ms = 300;
  database frozen{frozen_opts};
  frozen.as_system([](pqxx::work& tx) {
    tx.exec("CREATE TABLE locked_rows (id int PRIMARY KEY, v int)");
    tx.exec("INSERT INTO locked_rows VALUES (1, 0)");
  });
  // The "frozen" side takes a row lock and then does nothing, as a stopped process would.
  std::promise<void> locked;
  int attempts = 0;
  auto held = std::async(std::launch::async, [&] {
    return error_from(frozen, [&](pqxx::work& tx) {
      tx.exec("UPDATE locked_rows SET v = 1 WHERE id = 1");
      if (++attempts == 1) locked.set_value();
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
      tx.exec("SELECT 1");  // the session is gone by now
    });
  });
  locked.get_future().wait();
  // Another client gets the row; the frozen transaction never commits (without the
  // timeout it would, after its sleep, and error_from would find no error).
  fx.db->as_system([](pqxx::work& tx) { tx.exec("UPDATE locked_rows SET v = 2 WHERE id = 1"); });
  auto lost = held.get();
  INFO(lost.what());
  CHECK(lost.code() == errc::unavailable);
  CHECK(fx.db->as_system([](pqxx::work& tx) {
    return tx.exec("SELECT v FROM locked_rows")[0][0].as<int>();
  }) == 2);
}
