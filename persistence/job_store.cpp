#include "persistence/job_store.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "persistence/database.hpp"

namespace jobserver::persistence {
namespace {

#define JOB_COLUMNS                                                                        \
  "j.id::text, j.owner_id, j.type, j.status, j.progress, coalesce(j.data::text, ''), "    \
  "coalesce(j.result::text, ''), j.error, iso_utc(j.created_at), "                         \
  "coalesce(iso_utc(j.started_at), ''), coalesce(iso_utc(j.completed_at), ''), "           \
  "j.attempts, j.max_attempts, j.priority, coalesce(j.parent_id::text, ''), "              \
  "coalesce(j.node_id, ''), j.lease_token, j.cancel_requested, iso_utc(j.updated_at)"

constexpr const char* insert_sql =
    "INSERT INTO jobs AS j (id, owner_id, type, status, data, priority, max_attempts, parent_id, "
    "dedup_key) "
    "SELECT r.id, r.owner_id, r.type, 'queued', r.data, r.priority, r.max_attempts, r.parent_id, "
    "r.dedup_key FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, owner_id text, type text, "
    "data jsonb, priority int, max_attempts int, parent_id uuid, dedup_key text) "
    "ON CONFLICT (dedup_key) WHERE dedup_key IS NOT NULL AND status IN ('queued', 'processing') "
    "DO NOTHING RETURNING " JOB_COLUMNS;
constexpr const char* find_dedup_sql =
    "SELECT " JOB_COLUMNS ", j.dedup_key FROM jobs j WHERE j.dedup_key IN "
    "(SELECT value FROM jsonb_array_elements_text($1::jsonb)) "
    "AND j.status IN ('queued', 'processing')";
constexpr const char* delete_sql =
    "DELETE FROM jobs WHERE id IN (SELECT value::uuid FROM jsonb_array_elements_text($1::jsonb))";
constexpr const char* find_sql =
    "SELECT " JOB_COLUMNS " FROM jobs j WHERE j.id = $1::uuid AND j.owner_id = $2";
constexpr const char* find_any_sql = "SELECT " JOB_COLUMNS " FROM jobs j WHERE j.id = $1::uuid";
constexpr const char* find_many_sql =
    "SELECT " JOB_COLUMNS " FROM jobs j WHERE j.owner_id = $2 AND j.id IN "
    "(SELECT value::uuid FROM jsonb_array_elements_text($1::jsonb))";
constexpr const char* list_sql =
    "SELECT " JOB_COLUMNS " FROM jobs j WHERE j.owner_id = $1 "
    "AND ($2 = '' OR j.type = $2) AND ($3 = '' OR j.status = $3) "
    "AND ($4 = '' OR (j.created_at, j.id) < "
    "  (SELECT b.created_at, b.id FROM jobs b WHERE b.id = NULLIF($4, '')::uuid AND b.owner_id = $1)) "
    "ORDER BY j.created_at DESC, j.id DESC LIMIT $5";
// The batch statements below (start, progress, finish) find their rows by primary key, one
// per claim or outcome. Their status conditions are written as NOT IN on purpose: they must
// not imply the predicate of the partial index of unfinished jobs (jobs_unfinished_idx),
// or the planner may drive the join from that index. It judges the index by statistics
// taken when few jobs waited; behind a backlog of 15,000 queued jobs it then scanned every
// unfinished job for each batch (100-240 ms per batch of 256 claims, end-to-end throughput
// halved; bench/RESULTS.md, "Engine"). By primary key a batch costs what its size costs.
#define STATUS_UNFINISHED "j.status NOT IN ('completed', 'failed')"
#define STATUS_PROCESSING "j.status NOT IN ('queued', 'completed', 'failed')"

constexpr const char* start_sql =
    "UPDATE jobs j SET status = 'processing', started_at = coalesce(j.started_at, now()), "
    "attempts = c.attempts, lease_token = c.token, node_id = $2, updated_at = now() "
    "FROM jsonb_to_recordset($1::jsonb) AS c(id uuid, token bigint, attempts int) "
    "WHERE j.id = c.id AND j.lease_token < c.token AND " STATUS_UNFINISHED " "
    "AND NOT j.cancel_requested RETURNING " JOB_COLUMNS;
constexpr const char* start_cancelled_sql =
    "UPDATE jobs j SET status = 'failed', error = 'Cancelled', completed_at = now(), "
    "lease_token = c.token, updated_at = now() "
    "FROM jsonb_to_recordset($1::jsonb) AS c(id uuid, token bigint) "
    "WHERE j.id = c.id AND j.lease_token < c.token AND " STATUS_UNFINISHED " "
    "AND j.cancel_requested RETURNING " JOB_COLUMNS;
constexpr const char* progress_sql =
    "UPDATE jobs j SET progress = u.progress, updated_at = now() "
    "FROM jsonb_to_recordset($1::jsonb) AS u(id uuid, token bigint, progress int) "
    "WHERE j.id = u.id AND j.lease_token = u.token AND " STATUS_PROCESSING " "
    "AND j.progress < u.progress";
constexpr const char* finish_sql =
    "UPDATE jobs j SET "
    "status = CASE o.what WHEN 'completed' THEN 'completed' WHEN 'failed' THEN 'failed' "
    "         ELSE 'queued' END, "
    "progress = CASE WHEN o.what = 'completed' THEN 100 ELSE j.progress END, "
    "result = CASE WHEN o.what = 'completed' THEN o.result ELSE j.result END, "
    "error = CASE WHEN o.what = 'completed' THEN NULL ELSE o.error END, "
    "completed_at = CASE WHEN o.what = 'retry' THEN NULL ELSE now() END, "
    "cancel_requested = j.cancel_requested OR o.cancelled, updated_at = now() "
    "FROM jsonb_to_recordset($1::jsonb) AS o(id uuid, token bigint, what text, result jsonb, "
    "error text, cancelled bool) "
    "WHERE j.id = o.id AND j.lease_token = o.token AND " STATUS_PROCESSING " "
    "RETURNING " JOB_COLUMNS;
constexpr const char* stalled_sql =
    "UPDATE jobs j SET status = CASE WHEN $3 THEN 'failed' ELSE 'queued' END, lease_token = $2, "
    "error = CASE WHEN $3 THEN $4 ELSE j.error END, "
    "completed_at = CASE WHEN $3 THEN now() ELSE NULL END, updated_at = now() "
    "WHERE j.id = $1::uuid AND j.lease_token < $2 AND j.status IN ('queued', 'processing') "
    "RETURNING " JOB_COLUMNS;
constexpr const char* cancel_queued_sql =
    "UPDATE jobs j SET status = 'failed', cancel_requested = true, error = 'Cancelled', "
    "completed_at = now(), updated_at = now() "
    "WHERE j.id = $1::uuid AND j.owner_id = $2 AND j.status = 'queued' RETURNING " JOB_COLUMNS;
constexpr const char* cancel_running_sql =
    "UPDATE jobs j SET cancel_requested = true, updated_at = now() "
    "WHERE j.id = $1::uuid AND j.owner_id = $2 AND j.status = 'processing' RETURNING " JOB_COLUMNS;
constexpr const char* retry_sql =
    "UPDATE jobs j SET status = 'queued', progress = 0, result = NULL, error = NULL, "
    "attempts = 0, started_at = NULL, completed_at = NULL, cancel_requested = false, "
    "updated_at = now() WHERE j.id = $1::uuid AND j.owner_id = $2 AND j.status = 'failed' "
    "RETURNING " JOB_COLUMNS;
constexpr const char* undo_retry_sql =
    "UPDATE jobs SET status = 'failed', error = $2, completed_at = now(), updated_at = now() "
    "WHERE id = $1::uuid AND status = 'queued'";
constexpr const char* count_unfinished_sql =
    "SELECT type, status, count(*) FROM jobs WHERE status IN ('queued', 'processing') "
    "GROUP BY type, status";
constexpr const char* unfinished_sql =
    "SELECT " JOB_COLUMNS " FROM jobs j WHERE j.status IN ('queued', 'processing') "
    "AND j.updated_at < now() - $1 * interval '1 millisecond' ORDER BY j.created_at LIMIT $2";
constexpr const char* unfinished_with_sql =
    "SELECT id::text FROM jobs WHERE owner_id = $1 AND type = $2 AND data->>$3 = $4 "
    "AND (NOT $5 OR status IN ('queued', 'processing'))";
constexpr const char* children_sql =
    "SELECT count(*), count(*) FILTER (WHERE status IN ('completed', 'failed')), "
    "count(*) FILTER (WHERE status = 'failed') FROM jobs WHERE parent_id = $1::uuid";
constexpr const char* unfinished_children_sql =
    "SELECT id::text FROM jobs WHERE parent_id = $1::uuid AND owner_id = $2 "
    "AND status IN ('queued', 'processing')";
constexpr const char* delete_finished_sql =
    "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE status IN ('completed', 'failed') "
    "AND completed_at < now() - $1 * interval '1 hour' LIMIT $2) RETURNING id::text, type";

job_row to_job(const pqxx::row& r) {
  job_row j;
  j.id = r[0].c_str();
  j.owner_id = r[1].c_str();
  j.type = r[2].c_str();
  j.status = r[3].c_str();
  j.progress = r[4].as<int>();
  j.data = r[5].c_str();
  j.result = r[6].c_str();
  if (!r[7].is_null()) {
    j.error = r[7].c_str();
    j.has_error = true;
  }
  j.created_at = r[8].c_str();
  j.started_at = r[9].c_str();
  j.completed_at = r[10].c_str();
  j.attempts = r[11].as<int>();
  j.max_attempts = r[12].as<int>();
  j.priority = r[13].as<int>();
  j.parent_id = r[14].c_str();
  j.node_id = r[15].c_str();
  j.lease_token = r[16].as<int64_t>();
  j.cancel_requested = r[17].as<bool>();
  j.updated_at = r[18].c_str();
  return j;
}

std::vector<job_row> to_jobs(const pqxx::result& res) {
  std::vector<job_row> out;
  out.reserve(res.size());
  for (const auto& r : res) out.push_back(to_job(r));
  return out;
}

/// A JSON array built with a writer callback per element.
template <class Range, class F>
std::string json_array(const Range& items, F&& write_one) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w{buf};
  w.StartArray();
  for (const auto& x : items) write_one(w, x);
  w.EndArray();
  return {buf.GetString(), buf.GetSize()};
}

template <class W>
void str(W& w, const char* key, const std::string& v) {
  w.Key(key);
  w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
}

std::string id_array(const std::vector<std::string>& ids) {
  return json_array(ids, [](auto& w, const std::string& id) {
    w.String(id.c_str(), static_cast<rapidjson::SizeType>(id.size()));
  });
}

const char* what_name(uint8_t k) {
  switch (k) {
    case job_outcome::completed: return "completed";
    case job_outcome::failed: return "failed";
    case job_outcome::retry: return "retry";
  }
  return "failed";
}

}  // namespace

job_store::job_store(database& db, database& engine, database& creation)
  : db_(db), engine_(engine), creation_(creation) {
  creation_.prepare("jobs_insert", insert_sql);
  db_.prepare("jobs_find", find_sql);
  db_.prepare("jobs_find_many", find_many_sql);
  for (const auto& [name, sql] : batch_statements()) engine_.prepare(name, sql);
}

std::vector<std::pair<std::string, std::string>> job_store::batch_statements() {
  return {{"jobs_start", start_sql},
          {"jobs_start_cancelled", start_cancelled_sql},
          {"jobs_progress", progress_sql},
          {"jobs_finish", finish_sql}};
}

std::map<std::string, job_row> job_store::find_by_dedup(const std::vector<std::string>& keys) {
  std::map<std::string, job_row> out;
  if (keys.empty()) return out;
  return db_.as_system([&](pqxx::work& tx) {
    for (const auto& r : tx.exec_params(find_dedup_sql, id_array(keys))) out[r[19].c_str()] = to_job(r);
    return out;
  });
}

std::vector<job_row> job_store::insert(const std::vector<new_job>& jobs) {
  if (jobs.empty()) return {};
  auto json = json_array(jobs, [](auto& w, const new_job& j) {
    w.StartObject();
    str(w, "id", j.id);
    str(w, "owner_id", j.owner_id);
    str(w, "type", j.type);
    w.Key("data");
    w.RawValue(j.data.c_str(), j.data.size(), rapidjson::kObjectType);
    w.Key("priority");
    w.Int(j.priority);
    w.Key("max_attempts");
    w.Int(j.max_attempts);
    w.Key("parent_id");
    if (j.parent_id.empty()) w.Null();
    else w.String(j.parent_id.c_str());
    w.Key("dedup_key");
    if (j.dedup_key.empty()) w.Null();
    else w.String(j.dedup_key.c_str(), static_cast<rapidjson::SizeType>(j.dedup_key.size()));
    w.EndObject();
  });
  // One statement: on a system pool it commits on its own, in one round trip.
  auto insert = [&](pqxx::transaction_base& tx) { return to_jobs(tx.exec_prepared("jobs_insert", json)); };
  if (creation_.sees_all_owners()) return creation_.autocommit(insert);
  return creation_.as_system(insert);
}

void job_store::remove(const std::vector<std::string>& ids) {
  if (ids.empty()) return;
  db_.as_system([&](pqxx::work& tx) { tx.exec_params(delete_sql, id_array(ids)); });
}

std::optional<job_row> job_store::find(const std::string& owner, const std::string& id) {
  return db_.as_user(owner, [&](pqxx::work& tx) -> std::optional<job_row> {
    auto r = tx.exec_prepared("jobs_find", id, owner);
    if (r.empty()) return std::nullopt;
    return to_job(r[0]);
  });
}

std::optional<job_row> job_store::find_any(const std::string& id) {
  return engine_.as_system([&](pqxx::work& tx) -> std::optional<job_row> {
    auto r = tx.exec_params(find_any_sql, id);
    if (r.empty()) return std::nullopt;
    return to_job(r[0]);
  });
}

std::vector<job_row> job_store::find_many(const std::string& owner,
                                          const std::vector<std::string>& ids) {
  if (ids.empty()) return {};
  return db_.as_user(owner, [&](pqxx::work& tx) {
    return to_jobs(tx.exec_prepared("jobs_find_many", id_array(ids), owner));
  });
}

std::vector<job_row> job_store::list(const std::string& owner, const job_filter& f) {
  return db_.as_user(owner, [&](pqxx::work& tx) {
    return to_jobs(tx.exec_params(list_sql, owner, f.type, f.status, f.before, f.limit));
  });
}

std::vector<job_row> job_store::start(const std::vector<claimed_job>& claims,
                                      const std::string& node) {
  if (claims.empty()) return {};
  auto json = json_array(claims, [](auto& w, const claimed_job& c) {
    w.StartObject();
    str(w, "id", c.id);
    w.Key("token");
    w.Int64(c.token);
    w.Key("attempts");
    w.Int(c.attempts);
    w.EndObject();
  });
  return engine_.as_system([&](pqxx::work& tx) {
    auto rows = to_jobs(tx.exec_prepared("jobs_start", json, node));
    for (auto& r : to_jobs(tx.exec_prepared("jobs_start_cancelled", json))) rows.push_back(std::move(r));
    return rows;
  });
}

void job_store::store_progress(const std::vector<progress_update>& updates) {
  if (updates.empty()) return;
  auto json = json_array(updates, [](auto& w, const progress_update& u) {
    w.StartObject();
    str(w, "id", u.id);
    w.Key("token");
    w.Int64(u.token);
    w.Key("progress");
    w.Int(u.progress);
    w.EndObject();
  });
  engine_.as_system([&](pqxx::work& tx) { tx.exec_prepared("jobs_progress", json); });
}

std::vector<job_row> job_store::finish(const std::vector<job_outcome>& outcomes) {
  if (outcomes.empty()) return {};
  auto json = json_array(outcomes, [](auto& w, const job_outcome& o) {
    w.StartObject();
    str(w, "id", o.id);
    w.Key("token");
    w.Int64(o.token);
    w.Key("what");
    w.String(what_name(o.what));
    w.Key("result");
    if (o.result.empty()) w.Null();
    else w.RawValue(o.result.c_str(), o.result.size(), rapidjson::kObjectType);
    str(w, "error", o.error);
    w.Key("cancelled");
    w.Bool(o.cancelled);
    w.EndObject();
  });
  return engine_.as_system([&](pqxx::work& tx) { return to_jobs(tx.exec_prepared("jobs_finish", json)); });
}

std::optional<job_row> job_store::requeue_stalled(const std::string& id, int64_t new_token,
                                                  bool fail, const std::string& error) {
  return engine_.as_system([&](pqxx::work& tx) -> std::optional<job_row> {
    auto r = tx.exec_params(stalled_sql, id, new_token, fail, error);
    if (r.empty()) return std::nullopt;
    return to_job(r[0]);
  });
}

std::optional<job_row> job_store::cancel(const std::string& owner, const std::string& id) {
  return db_.as_user(owner, [&](pqxx::work& tx) -> std::optional<job_row> {
    auto r = tx.exec_params(cancel_queued_sql, id, owner);
    if (r.empty()) r = tx.exec_params(cancel_running_sql, id, owner);
    if (r.empty()) return std::nullopt;
    return to_job(r[0]);
  });
}

std::optional<job_row> job_store::retry(const std::string& owner, const std::string& id) {
  return db_.as_user(owner, [&](pqxx::work& tx) -> std::optional<job_row> {
    auto r = tx.exec_params(retry_sql, id, owner);
    if (r.empty()) return std::nullopt;
    return to_job(r[0]);
  });
}

void job_store::undo_retry(const std::string& id, const std::string& error) {
  db_.as_system([&](pqxx::work& tx) { tx.exec_params(undo_retry_sql, id, error); });
}

std::vector<std::string> job_store::jobs_with(const std::string& owner, const std::string& type,
                                             const std::string& key, const std::string& value,
                                             bool unfinished_only) {
  return db_.as_user(owner, [&](pqxx::work& tx) {
    std::vector<std::string> ids;
    for (const auto& r : tx.exec_params(unfinished_with_sql, owner, type, key, value, unfinished_only))
      ids.emplace_back(r[0].c_str());
    return ids;
  });
}

job_store::children_state job_store::children(const std::string& parent_id) {
  return engine_.as_system([&](pqxx::work& tx) {
    auto r = tx.exec_params(children_sql, parent_id)[0];
    return children_state{r[0].as<int>(), r[1].as<int>(), r[2].as<int>()};
  });
}

std::vector<std::string> job_store::unfinished_children(const std::string& owner,
                                                        const std::string& parent_id) {
  return db_.as_user(owner, [&](pqxx::work& tx) {
    std::vector<std::string> ids;
    for (const auto& r : tx.exec_params(unfinished_children_sql, parent_id, owner)) ids.emplace_back(r[0].c_str());
    return ids;
  });
}

std::vector<job_row> job_store::unfinished(int min_age_ms, int limit) {
  return engine_.as_system(
      [&](pqxx::work& tx) { return to_jobs(tx.exec_params(unfinished_sql, min_age_ms, limit)); });
}

std::vector<std::pair<std::string, std::string>> job_store::delete_finished(int hours, int limit) {
  // On the request pool: retention finds old finished jobs by scanning the table, which the
  // engine's sessions do not allow themselves (database::options::engine_session).
  return db_.as_system([&](pqxx::work& tx) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& r : tx.exec_params(delete_finished_sql, hours, limit))
      out.emplace_back(r[0].c_str(), r[1].c_str());
    return out;
  });
}

std::vector<job_store::type_count> job_store::count_unfinished() {
  return engine_.as_system([&](pqxx::work& tx) {
    std::vector<type_count> out;
    for (const auto& r : tx.exec(count_unfinished_sql))
      out.push_back({r[0].c_str(), r[1].c_str(), r[2].as<long>()});
    return out;
  });
}

}  // namespace jobserver::persistence
