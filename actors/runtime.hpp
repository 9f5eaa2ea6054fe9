#pragma once

#include <caf/all.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "actors/cluster.hpp"
#include "actors/job_types.hpp"
#include "config/settings.hpp"
#include "persistence/content_store.hpp"
#include "persistence/database.hpp"
#include "persistence/file_storage.hpp"
#include "llm/provider.hpp"
#include "persistence/job_events.hpp"
#include "persistence/job_queue.hpp"
#include "persistence/lesson_store.hpp"
#include "persistence/job_store.hpp"
#include "persistence/redis.hpp"
#include "persistence/status_cache.hpp"
#include "persistence/status_memory.hpp"

namespace jobserver::actors {

/// The long-lived actors of a node. The supervisor replaces a handle when it restarts
/// that actor, so everyone reads handles from here at send time.
class directory {
 public:
  // `member` is not restarted by the supervisor (it is published once); the others are.
  enum role { writer, tracker, dispatcher, creator, janitor, member, role_count };

  caf::actor get(role r) const {
    std::lock_guard<std::mutex> guard{mutex_};
    return actors_[r];
  }
  void set(role r, caf::actor a) {
    std::lock_guard<std::mutex> guard{mutex_};
    actors_[r] = std::move(a);
  }

 private:
  mutable std::mutex mutex_;
  caf::actor actors_[role_count];
};

/// Everything a node's actors share: settings, the stores, the queues of each job type.
/// Blocking adapters are used only from detached actors (each makes its own
/// `redis_client`; the database pool is thread-safe).
struct runtime {
  config::settings settings;
  std::string node_id;
  persistence::redis_options redis_options;
  std::unique_ptr<persistence::database> db;         // requests (RLS per user)
  std::unique_ptr<persistence::database> engine_db;  // the engine's own writes
  std::unique_ptr<persistence::database> creation_db;  // inserts of new jobs (durable)
  std::unique_ptr<persistence::job_store> store;
  std::unique_ptr<persistence::status_cache> cache;
  std::unique_ptr<persistence::status_memory> memory;  // recent statuses, kept right by Redis
  std::unique_ptr<persistence::job_events> events;  // SSE events through Redis pub/sub
  std::unique_ptr<persistence::content_store> content;
  std::unique_ptr<persistence::file_storage> files;
  std::unique_ptr<persistence::lesson_store> lessons;
  llm::provider_options llm_options;
  std::map<std::string, persistence::job_queue> queues;  // by job type
  job_registry registry;
  directory actors;
  std::atomic<bool> draining{false};
  load_board load;  // jobs running on this node, per type

  const persistence::job_queue& queue(const std::string& type) const { return queues.at(type); }
  std::unique_ptr<persistence::redis_client> make_redis() const {
    return std::make_unique<persistence::redis_client>(redis_options);
  }
};

using runtime_ptr = std::shared_ptr<runtime>;

/// Registers `upload_pdf` (actors/upload_job.cpp); `rt` must outlive the registry's use.
void add_upload_job_type(job_registry& registry, runtime& rt);
/// Registers `generate_lesson` and `generate_lesson_batch` (actors/lesson_job.cpp).
void add_lesson_job_types(job_registry& registry, runtime& rt);

// The node's actors; each lives in its own .cpp with its state.
caf::actor spawn_status_writer(caf::actor_system& sys, runtime_ptr rt);  // detached
caf::actor spawn_tracker(caf::actor_system& sys, runtime_ptr rt);        // detached
caf::actor spawn_dispatcher(caf::actor_system& sys, runtime_ptr rt);     // detached
caf::actor spawn_creator(caf::actor_system& sys, runtime_ptr rt);        // detached
caf::actor spawn_janitor(caf::actor_system& sys, runtime_ptr rt);        // detached
/// The jobs of each type whose leases `node` held, requeued with new fencing tokens
/// (job_queue::requeue_node); a type whose script fails is logged and left to lease expiry.
/// `handed_back`: the node gives them back as it stops (not counted as a stall).
using requeued_jobs = std::vector<std::pair<std::string, std::vector<persistence::stalled_job>>>;
requeued_jobs requeue_leases_of(const runtime& rt, persistence::redis_client& redis,
                                const std::string& node, bool handed_back);

/// The cluster member (actors/cluster_member.cpp): scheduled, never blocks.
caf::actor spawn_cluster_member(caf::actor_system& sys, runtime_ptr rt);
/// What this node tells its peers about itself (no running counts).
member_info own_member_info(const runtime& rt);
/// A user's scheduler, spawned by (and monitored by) the dispatcher.
caf::actor spawn_user_scheduler(caf::local_actor* parent, runtime_ptr rt, std::string owner);
/// One job's actor, spawned by (and monitored by) its user's scheduler.
caf::actor spawn_job_actor(caf::local_actor* parent, runtime_ptr rt, persistence::job_row job);

}  // namespace jobserver::actors
