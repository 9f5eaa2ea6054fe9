#include "persistence/job_store.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "persistence/database.hpp"
#include "tests/support/test_env.hpp"

using jobserver::persistence::claimed_job;
using jobserver::persistence::job_filter;
using jobserver::persistence::job_outcome;
using jobserver::persistence::job_row;
using jobserver::persistence::job_store;
using jobserver::persistence::make_uuid;
using jobserver::persistence::new_job;
using jobserver::persistence::progress_update;
namespace status = jobserver::persistence::status;
using kind = job_outcome::kind;

namespace {

struct store_fixture : jobserver::testing::service_fixture {
  job_store store{*db};

  std::string add(const std::string& owner, const std::string& type = "noop",
                  const std::string& data = "{}") {
    new_job j;
    j.id = make_uuid();
    j.owner_id = owner;
    j.type = type;
    j.data = data;
    j.priority = 7;
    j.max_attempts = 3;
    store.insert({j});
    return j.id;
  }

  job_row get(const std::string& id) {
    auto row = store.find_any(id);
    REQUIRE(row.has_value());
    return *row;
  }

  /// Starts `id` with `token` (as a claim from the queue would); returns the row.
  job_row start(const std::string& id, int64_t token, int attempts = 1) {
    auto rows = store.start({claimed_job{id, "", "noop", token, attempts}}, "node-1");
    REQUIRE(rows.size() == 1);
    return rows[0];
  }

  std::vector<job_row> finish(const std::string& id, int64_t token, kind what,
                              const std::string& result = "", const std::string& error = "") {
    job_outcome o;
    o.id = id;
    o.type = "noop";
    o.token = token;
    o.what = what;
    o.result = result;
    o.error = error;
    return store.finish({o});
  }

  /// Runs one UPDATE on job `id` ($1) in the engine's context.
  void sql(const std::string& statement, const std::string& id) {
    db->as_system([&](pqxx::work& tx) { tx.exec_params(statement, id); });
  }
};

std::vector<std::string> ids_of(const std::vector<job_row>& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.id);
  return out;
}

}  // namespace

TEST_CASE("make_uuid gives distinct version 4 ids in lower-case canonical form", "[job]") {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    auto id = make_uuid();
    REQUIRE(jobserver::persistence::is_uuid(id));
    REQUIRE(id[14] == '4');                                  // version
    REQUIRE(std::string{"89ab"}.find(id[19]) != std::string::npos);  // RFC 4122 variant
    REQUIRE(std::none_of(id.begin(), id.end(), [](char c) { return c >= 'A' && c <= 'F'; }));
    seen.insert(id);
  }
  CHECK(seen.size() == 10000);
}

TEST_CASE_METHOD(store_fixture, "an inserted job is found by its owner and by nobody else",
                 "[store]") {
  auto id = add("A", "noop", R"({"seconds": 3})");
  auto row = store.find("A", id);
  REQUIRE(row.has_value());
  CHECK(row->id == id);
  CHECK(row->owner_id == "A");
  CHECK(row->type == "noop");
  CHECK(row->status == status::queued);
  CHECK(row->progress == 0);
  CHECK(row->data == R"({"seconds": 3})");
  CHECK(row->result.empty());
  CHECK_FALSE(row->has_error);
  CHECK(row->priority == 7);
  CHECK(row->max_attempts == 3);
  CHECK(row->attempts == 0);
  CHECK(row->started_at.empty());
  CHECK(row->completed_at.empty());
  CHECK(row->created_at.size() == 24);  // 2024-01-02T03:04:05.678Z
  CHECK(row->created_at.back() == 'Z');

  CHECK_FALSE(store.find("B", id).has_value());
  CHECK_FALSE(store.find("A", make_uuid()).has_value());
}

TEST_CASE_METHOD(store_fixture, "find_many returns the owner's jobs and leaves out foreign and unknown ids",
                 "[store]") {
  auto mine1 = add("A");
  auto mine2 = add("A");
  auto foreign = add("B");
  auto rows = store.find_many("A", {mine1, foreign, make_uuid(), mine2});
  auto ids = ids_of(rows);
  std::sort(ids.begin(), ids.end());
  std::vector<std::string> expected{mine1, mine2};
  std::sort(expected.begin(), expected.end());
  CHECK(ids == expected);
  CHECK(store.find_many("A", {}).empty());
}

TEST_CASE_METHOD(store_fixture, "list shows the owner's jobs newest first with filters and a before cursor",
                 "[store]") {
  std::vector<std::string> ids;  // oldest first
  for (int i = 0; i < 5; ++i) {
    ids.push_back(add("A", i % 2 == 0 ? "noop" : "sleep"));
    db->as_system([&](pqxx::work& tx) {
      tx.exec_params("UPDATE jobs SET created_at = now() - $2::int * interval '1 minute' "
                     "WHERE id = $1::uuid", ids.back(), 10 - i);
    });
  }
  add("B");
  sql("UPDATE jobs SET status = 'completed', completed_at = now() WHERE id = $1::uuid", ids[1]);

  auto all = store.list("A", job_filter{});
  CHECK(ids_of(all) == std::vector<std::string>{ids[4], ids[3], ids[2], ids[1], ids[0]});

  CHECK(ids_of(store.list("A", job_filter{"sleep", "", 50, ""})) ==
        std::vector<std::string>{ids[3], ids[1]});
  CHECK(ids_of(store.list("A", job_filter{"", status::completed, 50, ""})) ==
        std::vector<std::string>{ids[1]});
  CHECK(ids_of(store.list("A", job_filter{"noop", status::queued, 50, ""})) ==
        std::vector<std::string>{ids[4], ids[2], ids[0]});

  auto page1 = store.list("A", job_filter{"", "", 2, ""});
  CHECK(ids_of(page1) == std::vector<std::string>{ids[4], ids[3]});
  auto page2 = store.list("A", job_filter{"", "", 2, page1.back().id});
  CHECK(ids_of(page2) == std::vector<std::string>{ids[2], ids[1]});
  auto page3 = store.list("A", job_filter{"", "", 2, page2.back().id});
  CHECK(ids_of(page3) == std::vector<std::string>{ids[0]});
  CHECK(store.list("A", job_filter{"", "", 2, ids[0]}).empty());
}

TEST_CASE_METHOD(store_fixture, "paging through jobs created at the same instant shows each once",
                 "[store]") {
  std::vector<new_job> batch;  // one statement: one created_at for all
  for (int i = 0; i < 7; ++i) {
    batch.emplace_back();
    batch.back().id = make_uuid();
    batch.back().owner_id = "A";
    batch.back().type = "noop";
  }
  store.insert(batch);

  std::vector<std::string> seen;
  std::string before;
  for (int page = 0; page < 10; ++page) {
    auto rows = store.list("A", job_filter{"", "", 3, before});
    if (rows.empty()) break;
    for (const auto& r : rows) seen.push_back(r.id);
    before = rows.back().id;
  }
  std::vector<std::string> expected;
  for (const auto& j : batch) expected.push_back(j.id);
  std::sort(expected.rbegin(), expected.rend());  // ties are ordered by id, descending
  CHECK(seen == expected);
}

TEST_CASE_METHOD(store_fixture, "start marks a job processing only with a token larger than the stored one",
                 "[store]") {
  auto id = add("A");
  auto row = start(id, 100);
  CHECK(row.status == status::processing);
  CHECK(row.lease_token == 100);
  CHECK(row.attempts == 1);
  CHECK(row.node_id == "node-1");
  CHECK_FALSE(row.started_at.empty());

  CHECK(store.start({claimed_job{id, "A", "noop", 100, 2}}, "node-2").empty());
  CHECK(store.start({claimed_job{id, "A", "noop", 99, 2}}, "node-2").empty());
  CHECK(get(id).node_id == "node-1");

  auto again = start(id, 200, 2);  // taken over after a stall
  CHECK(again.attempts == 2);
  CHECK(again.lease_token == 200);
  CHECK(again.started_at == row.started_at);
}

TEST_CASE_METHOD(store_fixture, "progress never goes down and a stale token cannot store it",
                 "[store]") {
  auto id = add("A");
  start(id, 10);
  store.store_progress({{id, 10, 40}});
  CHECK(get(id).progress == 40);
  store.store_progress({{id, 10, 30}});
  CHECK(get(id).progress == 40);
  store.store_progress({{id, 9, 90}});
  CHECK(get(id).progress == 40);
  store.store_progress({{id, 10, 60}});
  CHECK(get(id).progress == 60);
}

TEST_CASE_METHOD(store_fixture, "finishing a job as completed stores result, progress 100 and the end time",
                 "[store]") {
  auto id = add("A");
  start(id, 10);
  auto rows = finish(id, 10, kind::completed, R"({"pages": 12})");
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].status == status::completed);
  auto row = get(id);
  CHECK(row.status == status::completed);
  CHECK(row.progress == 100);
  CHECK(row.result == R"({"pages": 12})");
  CHECK_FALSE(row.has_error);
  CHECK_FALSE(row.completed_at.empty());
  CHECK(row.terminal());
}

TEST_CASE_METHOD(store_fixture, "finishing with a stale token writes nothing and returns no row",
                 "[store]") {
  auto id = add("A");
  start(id, 10);
  start(id, 20, 2);  // another node took the job over
  CHECK(finish(id, 10, kind::completed, R"({"late": true})").empty());
  CHECK(finish(id, 10, kind::failed, "", "late failure").empty());
  auto row = get(id);
  CHECK(row.status == status::processing);
  CHECK(row.result.empty());
  CHECK_FALSE(row.has_error);
  CHECK(row.completed_at.empty());
}

TEST_CASE_METHOD(store_fixture, "finishing as failed or for a retry keeps the error", "[store]") {
  auto retried = add("A");
  start(retried, 10);
  auto rows = finish(retried, 10, kind::retry, "", "timeout talking to the LLM");
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].status == status::queued);
  CHECK(rows[0].has_error);
  CHECK(rows[0].error == "timeout talking to the LLM");
  CHECK(rows[0].completed_at.empty());
  CHECK_FALSE(rows[0].terminal());

  auto failed = add("A");
  start(failed, 10);
  REQUIRE(finish(failed, 10, kind::failed, "", "bad PDF").size() == 1);
  auto row = get(failed);
  CHECK(row.status == status::failed);
  CHECK(row.has_error);
  CHECK(row.error == "bad PDF");
  CHECK_FALSE(row.completed_at.empty());
  CHECK_FALSE(row.cancelled());
}

TEST_CASE_METHOD(store_fixture, "a stalled job is queued again or failed only with a newer token",
                 "[store]") {
  auto id = add("A");
  start(id, 10);
  auto queued = store.requeue_stalled(id, 20, false, "");
  REQUIRE(queued.has_value());
  CHECK(queued->status == status::queued);
  CHECK(queued->lease_token == 20);
  CHECK_FALSE(store.requeue_stalled(id, 15, true, "stalled").has_value());
  CHECK(get(id).status == status::queued);

  start(id, 30, 2);
  auto failed = store.requeue_stalled(id, 40, true, "stalled too often");
  REQUIRE(failed.has_value());
  CHECK(failed->status == status::failed);
  CHECK(failed->has_error);
  CHECK(failed->error == "stalled too often");
  CHECK_FALSE(failed->completed_at.empty());
  CHECK_FALSE(store.requeue_stalled(id, 50, false, "").has_value());
}

TEST_CASE_METHOD(store_fixture, "cancelling a queued job fails it at once as cancelled", "[store]") {
  auto id = add("A");
  CHECK_FALSE(store.cancel("B", id).has_value());
  CHECK(get(id).status == status::queued);

  auto row = store.cancel("A", id);
  REQUIRE(row.has_value());
  CHECK(row->status == status::failed);
  CHECK(row->cancelled());
  CHECK_FALSE(row->completed_at.empty());
  // A cancelled job is not started by a late claim.
  CHECK(store.start({claimed_job{id, "A", "noop", 10, 1}}, "node-1").empty());
}

TEST_CASE_METHOD(store_fixture, "cancelling a running job only asks it to stop", "[store]") {
  auto id = add("A");
  start(id, 10);
  auto row = store.cancel("A", id);
  REQUIRE(row.has_value());
  CHECK(row->status == status::processing);
  CHECK(row->cancel_requested);
  CHECK_FALSE(row->cancelled());
  CHECK(get(id).status == status::processing);

  job_outcome o{id, "noop", 10, kind::failed, "", "Cancelled", true, 0};
  REQUIRE(store.finish({o}).size() == 1);
  CHECK(get(id).cancelled());
}

TEST_CASE_METHOD(store_fixture, "a claim of a job whose cancel was requested fails it instead of starting it",
                 "[store]") {
  auto id = add("A");
  start(id, 10);
  REQUIRE(store.cancel("A", id).has_value());

  auto rows = store.start({claimed_job{id, "A", "noop", 20, 2}}, "node-2");  // after a stall
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].status == status::failed);
  CHECK(rows[0].cancelled());
  CHECK(rows[0].lease_token == 20);
  CHECK_FALSE(rows[0].completed_at.empty());
  CHECK(finish(id, 10, kind::completed, "{}").empty());  // the old run's token is void
  CHECK(get(id).cancelled());
}

TEST_CASE_METHOD(store_fixture, "retrying a failed job queues it from the start, other jobs are refused",
                 "[store]") {
  auto failed = add("A");
  start(failed, 10);
  store.store_progress({{failed, 10, 50}});
  REQUIRE(finish(failed, 10, kind::failed, "", "boom").size() == 1);

  CHECK_FALSE(store.retry("B", failed).has_value());
  auto row = store.retry("A", failed);
  REQUIRE(row.has_value());
  CHECK(row->status == status::queued);
  CHECK(row->attempts == 0);
  CHECK(row->progress == 0);
  CHECK_FALSE(row->has_error);
  CHECK(row->started_at.empty());
  CHECK(row->completed_at.empty());

  auto completed = add("A");
  start(completed, 10);
  REQUIRE(finish(completed, 10, kind::completed, "{}").size() == 1);
  CHECK_FALSE(store.retry("A", completed).has_value());
  CHECK(get(completed).status == status::completed);
  CHECK_FALSE(store.retry("A", add("A")).has_value());  // still queued
}

TEST_CASE_METHOD(store_fixture, "unfinished lists old queued and processing jobs only", "[store]") {
  auto old_queued = add("A");
  auto old_running = add("B");
  auto fresh = add("A");
  auto old_done = add("A");
  start(old_running, 10);
  start(old_done, 10);
  REQUIRE(finish(old_done, 10, kind::completed, "{}").size() == 1);
  for (const auto& id : {old_queued, old_running, old_done})
    sql("UPDATE jobs SET updated_at = now() - interval '10 minutes' WHERE id = $1::uuid", id);

  auto ids = ids_of(store.unfinished(60000, 100));
  std::sort(ids.begin(), ids.end());
  std::vector<std::string> expected{old_queued, old_running};
  std::sort(expected.begin(), expected.end());
  CHECK(ids == expected);
  CHECK(store.unfinished(60000, 1).size() == 1);
  CHECK(store.unfinished(0, 100).size() == 3);  // `fresh` too, but never the completed one
}

TEST_CASE_METHOD(store_fixture, "delete_finished removes jobs that finished before the retention window",
                 "[store]") {
  auto old_completed = add("A", "noop");
  auto old_failed = add("B", "sleep");
  auto recent = add("A");
  auto queued = add("A");
  for (const auto& id : {old_completed, old_failed, recent}) start(id, 10);
  REQUIRE(finish(old_completed, 10, kind::completed, "{}").size() == 1);
  REQUIRE(finish(old_failed, 10, kind::failed, "", "x").size() == 1);
  REQUIRE(finish(recent, 10, kind::completed, "{}").size() == 1);
  sql("UPDATE jobs SET completed_at = now() - interval '25 hours' WHERE id = $1::uuid", old_completed);
  sql("UPDATE jobs SET completed_at = now() - interval '48 hours' WHERE id = $1::uuid", old_failed);
  sql("UPDATE jobs SET created_at = now() - interval '48 hours' WHERE id = $1::uuid", queued);

  auto deleted = store.delete_finished(24, 100);
  std::set<std::pair<std::string, std::string>> got(deleted.begin(), deleted.end());
  CHECK(got == std::set<std::pair<std::string, std::string>>{{old_completed, "noop"},
                                                             {old_failed, "sleep"}});
  CHECK_FALSE(store.find_any(old_completed).has_value());
  CHECK_FALSE(store.find_any(old_failed).has_value());
  CHECK(store.find_any(recent).has_value());
  CHECK(store.find_any(queued).has_value());
  CHECK(store.delete_finished(24, 100).empty());
}

TEST_CASE_METHOD(store_fixture,
                 "batch updates reach their jobs by primary key behind a backlog the statistics "
                 "do not show",
                 "[store]") {
  // The statistics are taken while 100 jobs wait; then a backlog of 15,000 arrives. A plan
  // driven by the index of unfinished jobs would read the whole backlog for every batch.
  const char* fill =
      "INSERT INTO jobs (id, owner_id, type, status, max_attempts) "
      "SELECT gen_random_uuid(), 'user-' || (g % 32), 'noop', $1, 3 FROM generate_series(1, $2) g";
  db->as_system([&](pqxx::work& tx) {
    tx.exec_params(fill, "completed", 20000);
    tx.exec_params(fill, "queued", 100);
  });
  db->as_system([&](pqxx::work& tx) { tx.exec("ANALYZE jobs"); });
  db->as_system([&](pqxx::work& tx) { tx.exec_params(fill, "queued", 15000); });

  for (const auto& [name, statement] : job_store::batch_statements()) {
    INFO(name);
    std::string plan;
    db->as_system([&](pqxx::work& tx) {
      // A generic plan, as the server's prepared statements get after a few executions;
      // $2 (the node of a start) is the only parameter besides the batch.
      tx.exec("SET LOCAL plan_cache_mode = force_generic_plan");
      tx.exec("PREPARE plan_check AS " + statement);
      bool two = statement.find("$2") != std::string::npos;
      for (const auto& row : tx.exec(two ? "EXPLAIN EXECUTE plan_check('[]', 'node-1')"
                                         : "EXPLAIN EXECUTE plan_check('[]')"))
        plan += std::string(row[0].c_str()) + "\n";
      tx.exec("DEALLOCATE plan_check");
    });
    INFO(plan);
    CHECK(plan.find("jobs_pkey") != std::string::npos);
    CHECK(plan.find("jobs_unfinished_idx") == std::string::npos);
  }
}

TEST_CASE_METHOD(store_fixture,
                 "the engine's batch statements still reach jobs by primary key after the table "
                 "grew from empty",
                 "[store]") {
  // A server started on an empty table runs its prepared batch statements many times while
  // the table holds a handful of rows; a plan kept from then scans the whole table for
  // every batch once it has grown. One connection, so every run below shares its plans.
  jobserver::persistence::database::options opts{url, 1};
  opts.engine_session = true;
  jobserver::persistence::database engine{opts};
  job_store engine_store{*db, engine};
  for (int64_t token = 1; token <= 8; ++token) {
    auto id = add("user-" + std::to_string(token));
    REQUIRE(engine_store.start({claimed_job{id, "", "noop", token, 1}}, "node-1").size() == 1);
    engine_store.store_progress({progress_update{id, token, 50}});
    job_outcome o;
    o.id = id;
    o.type = "noop";
    o.token = token;
    o.what = kind::completed;
    REQUIRE(engine_store.finish({o}).size() == 1);
  }
  db->as_system([&](pqxx::work& tx) {
    tx.exec("INSERT INTO jobs (id, owner_id, type, status, max_attempts) "
            "SELECT gen_random_uuid(), 'user-' || (g % 32), 'noop', 'queued', 3 "
            "FROM generate_series(1, 20000) g");
  });

  for (const auto& [name, statement] : job_store::batch_statements()) {
    INFO(name);
    std::string plan;
    engine.as_system([&, &name = name, &statement = statement](pqxx::work& tx) {
      bool two = statement.find("$2") != std::string::npos;
      auto explain = "EXPLAIN EXECUTE " + name + (two ? "('[]', 'node-1')" : "('[]')");
      for (const auto& row : tx.exec(explain)) plan += std::string(row[0].c_str()) + "\n";
    });
    INFO(plan);
    CHECK(plan.find("jobs_pkey") != std::string::npos);
    CHECK(plan.find("Seq Scan on jobs") == std::string::npos);
  }
}

TEST_CASE_METHOD(store_fixture,
                 "the API's timestamp format is inlined into the statements that return jobs",
                 "[store]") {
  // A SQL function the planner cannot inline runs as a call of its own for every
  // timestamp of every row returned: four per job at each state change.
  std::string plan, text;
  db->as_system([&](pqxx::work& tx) {
    for (const auto& row : tx.exec("EXPLAIN VERBOSE SELECT iso_utc(created_at) FROM jobs"))
      plan += std::string(row[0].c_str()) + "\n";
    text = tx.exec1("SELECT iso_utc('2026-12-06 10:11:12.345+01')")[0].c_str();
  });
  INFO(plan);
  CHECK(plan.find("to_char") != std::string::npos);
  CHECK(plan.find("iso_utc") == std::string::npos);
  CHECK(text == "2026-12-06T09:11:12.345Z");
}

TEST_CASE_METHOD(store_fixture,
                 "retention deletes through the request pool, not the engine's sessions that "
                 "refuse sequential scans",
                 "[store]") {
  // Retention looks for old finished jobs by scanning the table. An engine pool that cannot
  // even connect shows the delete does not go through it.
  jobserver::persistence::database::options opts{
      "postgresql://jobserver:jobserver@127.0.0.1:1/jobserver", 1};
  opts.engine_session = true;
  jobserver::persistence::database unreachable{opts};
  job_store with_unreachable_engine{*db, unreachable};
  auto id = add("A");
  start(id, 10);
  REQUIRE(finish(id, 10, kind::completed, "{}").size() == 1);
  sql("UPDATE jobs SET completed_at = now() - interval '48 hours' WHERE id = $1::uuid", id);

  auto deleted = with_unreachable_engine.delete_finished(24, 100);
  REQUIRE(deleted.size() == 1);
  CHECK(deleted[0].first == id);
  CHECK_FALSE(store.find_any(id).has_value());
}
