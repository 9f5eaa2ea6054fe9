#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "persistence/job.hpp"

namespace jobserver::persistence {

class database;

/// A job this node claimed from the queue, with the lease's fencing token.
struct claimed_job {
  std::string id;
  std::string owner_id;
  std::string type;
  int64_t token = 0;
  int attempts = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, claimed_job& x) {
  return f(x.id, x.owner_id, x.type, x.token, x.attempts);
}

/// How a run of a job ended, as the tracker writes it.
struct job_outcome {
  enum kind : uint8_t { completed = 0, failed = 1, retry = 2 };
  std::string id;
  std::string type;
  int64_t token = 0;
  uint8_t what = completed;
  std::string result;  // JSON text, for completed
  std::string error;   // for failed / retry
  bool cancelled = false;
  int64_t retry_delay_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_outcome& x) {
  return f(x.id, x.type, x.token, x.what, x.result, x.error, x.cancelled, x.retry_delay_ms);
}

/// A progress value to store.
struct progress_update {
  std::string id;
  int64_t token;
  int progress;
};

/// Filters of `GET /jobs`.
struct job_filter {
  std::string type;
  std::string status;
  int limit = 50;
  std::string before;  // a job id: list jobs created before that one
};

/// The Postgres side of jobs. Reads run under the owner's RLS context and also filter by
/// owner; engine writes carry the lease token, so a node that lost its lease changes
/// nothing (`WHERE lease_token = $token`).
class job_store {
 public:
  /// `db` serves requests (RLS per user; durable commits), `engine` the engine's own
  /// writes (an engine pool: see database::options::engine_session), `creation` the
  /// inserts of new jobs (durable; a system pool makes each insert one round trip). They
  /// may be the same pool when it is not an engine pool.
  job_store(database& db, database& engine, database& creation);
  job_store(database& db, database& engine) : job_store(db, engine, db) {}
  explicit job_store(database& db) : job_store(db, db, db) {}

  /// Inserts the rows (status queued) in one statement; returns them as stored. A row
  /// whose dedup key an unfinished job already holds is not inserted (not returned).
  std::vector<job_row> insert(const std::vector<new_job>& jobs);
  void remove(const std::vector<std::string>& ids);
  /// The unfinished jobs holding these dedup keys, by key.
  std::map<std::string, job_row> find_by_dedup(const std::vector<std::string>& keys);

  std::optional<job_row> find(const std::string& owner, const std::string& id);
  std::vector<job_row> find_many(const std::string& owner, const std::vector<std::string>& ids);
  std::vector<job_row> list(const std::string& owner, const job_filter& filter);
  std::optional<job_row> find_any(const std::string& id);  // engine use: no owner context

  /// Marks claimed jobs processing with their new token and returns those rows; a claimed
  /// job whose cancel was requested is failed instead (returned with status failed).
  /// Claims not returned at all are not runnable (finished, deleted, or a stale token).
  std::vector<job_row> start(const std::vector<claimed_job>& claims, const std::string& node);

  /// Stores progress (never lowering it) where the token still holds.
  void store_progress(const std::vector<progress_update>& updates);

  /// Writes terminal states and retries, token-guarded; returns the rows written.
  std::vector<job_row> finish(const std::vector<job_outcome>& outcomes);

  /// The statements that change a batch of jobs by id (start, progress, finish), as
  /// (name, SQL), for checks of their plans: each must reach its rows by primary key.
  static std::vector<std::pair<std::string, std::string>> batch_statements();

  /// A stalled job was given a new token by the queue: queued again, or failed.
  std::optional<job_row> requeue_stalled(const std::string& id, int64_t new_token, bool fail,
                                         const std::string& error);

  /// Cancel on behalf of `owner`: a queued job fails at once, a running one is flagged.
  std::optional<job_row> cancel(const std::string& owner, const std::string& id);
  /// A failed job is queued again from the start; nullopt when it is not failed.
  std::optional<job_row> retry(const std::string& owner, const std::string& id);
  /// Undoes `retry` when the job could not be queued.
  void undo_retry(const std::string& id, const std::string& error);

  /// Ids of `owner`'s jobs of `type` whose data field `key` equals `value`: the
  /// unfinished ones, or all of them.
  std::vector<std::string> jobs_with(const std::string& owner, const std::string& type,
                                     const std::string& key, const std::string& value,
                                     bool unfinished_only);

  /// How the children of a batch job stand: all of them, finished, failed.
  struct children_state {
    int total = 0, finished = 0, failed = 0;
  };
  children_state children(const std::string& parent_id);
  /// Ids of a job's unfinished children.
  std::vector<std::string> unfinished_children(const std::string& owner, const std::string& parent_id);

  /// Queued and processing jobs of every user, by type and status (metrics).
  struct type_count {
    std::string type;
    std::string status;
    long count = 0;
  };
  std::vector<type_count> count_unfinished();
  /// Jobs Postgres holds as unfinished, created before `min_age_ms` ago.
  std::vector<job_row> unfinished(int min_age_ms, int limit);
  /// Deletes finished jobs completed more than `hours` ago; returns their (id, type).
  std::vector<std::pair<std::string, std::string>> delete_finished(int hours, int limit);

 private:
  database& db_;
  database& engine_;
  database& creation_;
};

}  // namespace jobserver::persistence
