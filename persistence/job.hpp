#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace jobserver::persistence {

/// The four statuses the original front end knows; a cancelled job is `failed` with
/// `cancelled: true`, a job waiting for a retry is `queued` with `attempts` > 0.
namespace status {
inline constexpr const char* queued = "queued";
inline constexpr const char* processing = "processing";
inline constexpr const char* completed = "completed";
inline constexpr const char* failed = "failed";
}  // namespace status

/// One row of `jobs`. JSON columns are kept as JSON text ("" = null); timestamps as
/// ISO-8601 UTC text ("" = null).
struct job_row {
  std::string id;
  std::string owner_id;
  std::string type;
  std::string status;
  int progress = 0;
  std::string data;
  std::string result;
  std::string error;
  bool has_error = false;  // error is NULL when false
  std::string created_at;
  std::string started_at;
  std::string completed_at;
  int attempts = 0;
  int max_attempts = 1;
  int priority = 5;
  std::string parent_id;
  std::string node_id;
  int64_t lease_token = 0;
  bool cancel_requested = false;
  std::string updated_at;

  bool terminal() const { return status == status::completed || status == status::failed; }
  bool cancelled() const { return cancel_requested && status == status::failed; }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_row& x) {
  return f(x.id, x.owner_id, x.type, x.status, x.progress, x.data, x.result, x.error, x.has_error,
           x.created_at, x.started_at, x.completed_at, x.attempts, x.max_attempts, x.priority,
           x.parent_id, x.node_id, x.lease_token, x.cancel_requested, x.updated_at);
}

/// What a client asks for when it creates a job.
struct new_job {
  std::string id;  // filled by the creator (UUID v4)
  std::string owner_id;
  std::string type;
  std::string data = "{}";  // JSON text
  int priority = 5;
  int max_attempts = 0;  // 0: the job type's default
  std::string parent_id;
  /// When set, at most one unfinished job has this key: creating another answers the
  /// existing job instead.
  std::string dedup_key;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, new_job& x) {
  return f(x.id, x.owner_id, x.type, x.data, x.priority, x.max_attempts, x.parent_id, x.dedup_key);
}

/// The job as `GET /jobs/:id` returns it: the original's ten fields plus `attempts`,
/// `max_attempts`, `priority`, `cancelled` (and `parent_id` when set).
std::string to_api_json(const job_row& job);

/// A new random UUID (v4), lower-case text.
std::string make_uuid();

/// True for a canonical 8-4-4-4-12 hexadecimal UUID.
bool is_uuid(const std::string& s);

/// Current time as ISO-8601 UTC with milliseconds, as Postgres text of timestamps here.
std::string now_iso8601();

}  // namespace jobserver::persistence
