#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/settings.hpp"
#include "persistence/content_store.hpp"
#include "persistence/file_storage.hpp"
#include "persistence/job_events.hpp"
#include "persistence/job_store.hpp"
#include "persistence/lesson_store.hpp"
#include "persistence/status_memory.hpp"

namespace jobserver::actors {

/// One jobserver node: its actor system (supervisor, dispatcher, tracker, creator,
/// janitor), its stores, and the calls the HTTP layer makes. Each call that changes a
/// job is a request to an actor with a timeout; failures arrive as `app_error`.
/// Job status reads go straight to Redis (falling back to Postgres) from the calling
/// thread, which is never a scheduler thread of the actor system.
class node {
 public:
  explicit node(const config::settings& settings);
  ~node();
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  /// Spawns the actors; the node starts claiming jobs.
  void start();
  /// Graceful stop, before `stop()`: claims no more jobs, lets running ones finish for up
  /// to SHUTDOWN_GRACE_SECONDS, hands the rest back to the queue (new tokens, not counted
  /// as stalls) and leaves the cluster.
  void drain();
  /// Stops every actor and waits for them.
  void stop();

  /// `GET /cluster`: this node and every peer it knows, with roles and load.
  std::string cluster_json();

  const config::settings& settings() const;
  const std::string& id() const;

  /// Creates a job and answers its API JSON; throws app_error (unavailable when Redis or
  /// Postgres is down, leaving nothing behind).
  std::string create_job(persistence::new_job job);
  /// Creates jobs together (one INSERT: a parent and its children). For a job whose
  /// dedup key an unfinished job holds, that job's JSON is answered instead.
  std::vector<std::string> create_jobs(std::vector<persistence::new_job> jobs);
  /// Whether this server accepts jobs of `type` through `POST /jobs`.
  bool accepts_type(const std::string& type) const;

  std::optional<std::string> job_json(const std::string& owner, const std::string& id);
  /// The JSON of each of `ids` that `owner` owns, in request order, unknown ones left out.
  std::vector<std::string> jobs_json(const std::string& owner, const std::vector<std::string>& ids);
  std::vector<std::string> history(const std::string& owner, const persistence::job_filter& filter);
  std::string cancel(const std::string& owner, const std::string& id);
  std::string retry(const std::string& owner, const std::string& id);

  struct readiness {
    bool postgres = false;
    bool redis = false;
  };
  readiness check_ready();

  // Courses, documents, sections (node_content.cpp). Answers are API JSON; unknown or
  // another user's ids give nullopt / false.
  std::string create_course(const std::string& owner, const persistence::course_input& in);
  std::string list_courses(const std::string& owner);
  std::optional<std::string> find_course(const std::string& owner, const std::string& id);
  /// Deletes a course with its documents (their files too) and cancels its uploads.
  bool delete_course(const std::string& owner, const std::string& id);
  std::string list_documents(const std::string& owner, const std::string& course_id);
  std::optional<std::string> find_document(const std::string& owner, const std::string& id);
  /// Deletes a document, or an upload still being processed: its jobs are cancelled and
  /// its file, sections and lessons removed.
  bool delete_document(const std::string& owner, const std::string& id);
  std::optional<std::string> list_sections(const std::string& owner, const std::string& document_id);

  /// Lessons (node_content.cpp): the store as the HTTP layer needs it.
  persistence::lesson_store& lessons();

  /// Where uploads are written.
  persistence::file_storage& files();
  /// Queues the `upload_pdf` job of a file already stored (`data_json` names it); answers
  /// the job's API JSON. On failure the caller removes the file.
  std::string create_upload(const std::string& owner, const std::string& data_json);

  /// Runs one pass of the janitor (reaper, reconciler, retention) and waits for it.
  void run_maintenance();

  // Job events for Server-Sent Events (node_events.cpp). One subscriber connection per
  // node carries every node's events (Redis pub/sub) into `events()`.
  persistence::event_hub& events();
  /// The statuses kept in memory for reads (jobs_json), for metrics.
  const persistence::status_memory& statuses_in_memory() const;
  /// The job's last event number and its kept events.
  persistence::event_log event_log(const std::string& id);
  /// As job_json, through the node's shared Redis connections (long-lived stream threads
  /// keep no connection of their own).
  std::optional<std::string> job_snapshot(const std::string& owner, const std::string& id);
  /// Queued and processing jobs of all users by type and status (Postgres), for metrics.
  std::vector<persistence::job_store::type_count> unfinished_counts();
  /// Nodes in the cluster as this node sees it (itself and its live peers).
  int cluster_members();
  /// The job types this node knows.
  std::vector<std::string> job_types() const;

  /// The inside (actors/node_impl.hpp); opaque to the HTTP layer.
  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace jobserver::actors
