#pragma once
// The inside of actors::node, shared by node.cpp and node_content.cpp.

#include <caf/io/all.hpp>

#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "actors/messages.hpp"
#include "actors/node.hpp"
#include "actors/runtime.hpp"

namespace jobserver::actors {

using namespace persistence;

inline constexpr auto request_timeout = std::chrono::seconds(10);
/// However it was filled, an in-memory status is asked of Redis again after this long.
inline constexpr auto status_memory_ttl = std::chrono::seconds(5);

struct node_config : caf::actor_system_config {
  explicit node_config(const config::settings& s) {
    register_message_types(*this);
    if (s.cluster_port != 0) {
      load<caf::io::middleman>();
      // Heartbeats so that a hung or cut-off peer is detected, not only a closed socket.
      set("middleman.heartbeat-interval",
          caf::timespan{std::chrono::milliseconds(s.cluster_heartbeat_ms)});
      set("middleman.connection-timeout",
          caf::timespan{std::chrono::milliseconds(s.cluster_timeout_ms)});
      set("middleman.app-identifiers", std::vector<std::string>{"jobserver"});
    }
    // Blocking work runs in detached actors; the scheduler only runs quick handlers.
    set("scheduler.max-threads", size_t{2});
    set("logger.verbosity", caf::atom("quiet"));
    // An idle worker spins briefly, then sleeps on its condition variable (woken by the
    // next message). CAF's default puts 500 polls with 50 us sleeps in between: under a
    // steady trickle of messages that is ~20,000 wake-ups a second per worker, about a
    // quarter of the server's CPU in the end-to-end benchmark (bench/RESULTS.md).
    set("work-stealing.moderate-poll-attempts", size_t{0});
  }
};

inline std::shared_ptr<runtime> make_runtime(const config::settings& s) {
  auto rt = std::make_shared<runtime>();
  rt->settings = s;
  rt->node_id = config::effective_node_id(s);
  rt->redis_options = parse_redis_url(s.redis_url);
  rt->db = std::make_unique<database>(database::options{s.database_url,
                                                        static_cast<size_t>(s.db_pool_size)});
  database::options engine{s.database_url, 4};
  engine.engine_session = true;
  rt->engine_db = std::make_unique<database>(engine);
  database::options creation{s.database_url, 2};
  creation.system_session = true;
  rt->creation_db = std::make_unique<database>(creation);
  rt->store = std::make_unique<job_store>(*rt->db, *rt->engine_db, *rt->creation_db);
  rt->cache = std::make_unique<status_cache>(s.redis_prefix, s.job_retention_hours);
  rt->memory = std::make_unique<status_memory>(static_cast<size_t>(s.status_memory_entries),
                                               status_memory_ttl);
  rt->events = std::make_unique<job_events>(s.redis_prefix, s.job_retention_hours);
  rt->content = std::make_unique<content_store>(*rt->db);
  rt->files = std::make_unique<file_storage>(s.storage_dir);
  rt->lessons = std::make_unique<lesson_store>(*rt->db);
  rt->llm_options = llm::options_from_settings(s);
  llm::make_provider(rt->llm_options);  // a missing key stops start-up here, naming it
  add_upload_job_type(rt->registry, *rt);
  add_lesson_job_types(rt->registry, *rt);
  if (s.enable_test_jobs) add_test_job_types(rt->registry, s);
  for (const auto& [name, type] : rt->registry.all()) rt->queues.emplace(name, job_queue{s.redis_prefix, name});
  return rt;
}

/// Scoped actors for ask_within(), kept and reused: a scoped actor made for each call is an
/// actor registered and ended per HTTP request, and when one ends CAF 0.17 wakes its clock
/// thread to drop the actor's timeouts (a context switch per request). One thread uses a
/// scoped actor at a time. One whose wait timed out is not reused: its late reply would
/// stay in its mailbox, skipped by every later receive for another request.
class scoped_pool {
 public:
  explicit scoped_pool(caf::actor_system& sys) : sys_(sys) {}

  /// A scoped actor for one call; given back to the pool by the caller (give_back).
  std::unique_ptr<caf::scoped_actor> take() {
    {
      std::lock_guard<std::mutex> lock{mutex_};
      if (!free_.empty()) {
        auto out = std::move(free_.back());
        free_.pop_back();
        return out;
      }
    }
    return std::make_unique<caf::scoped_actor>(sys_);
  }

  void give_back(std::unique_ptr<caf::scoped_actor> self) {
    std::lock_guard<std::mutex> lock{mutex_};
    free_.push_back(std::move(self));
  }

  /// Scoped actors waiting to be reused.
  size_t idle() {
    std::lock_guard<std::mutex> lock{mutex_};
    return free_.size();
  }

 private:
  caf::actor_system& sys_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<caf::scoped_actor>> free_;
};

/// Sends a request from a non-actor thread and waits for the reply, at most `timeout`;
/// throws app_error (unavailable) when none came. The wait is the scoped actor's own
/// timed wait on its mailbox, not a request timeout: CAF 0.17 hands every request timeout
/// to its clock thread and wakes that thread to set it and again to cancel it, two
/// context switches per HTTP request.
template <class T, class... Ts>
T ask_within(std::chrono::milliseconds timeout, scoped_pool& pool, const caf::actor& to, Ts&&... xs) {
  if (!to) throw app_error(errc::unavailable, "server is starting or stopping", true);
  auto self = pool.take();
  std::optional<T> out;
  std::optional<app_error> failure;
  bool timed_out = false;
  auto handle = (*self)->request(to, caf::infinite, std::forward<Ts>(xs)...);
  caf::blocking_actor::accept_one_cond once;
  (*self)->varargs_receive(once, handle.id(), [&](T& value) { out = std::move(value); },
                           [&](caf::error& err) { failure = to_app_error(err); },
                           caf::after(timeout) >> [&] {
                             timed_out = true;
                             failure = to_app_error(caf::make_error(caf::sec::request_timeout));
                           });
  if (!timed_out) pool.give_back(std::move(self));  // else a late reply dies with it
  if (failure) throw *failure;
  return std::move(*out);
}

/// ask_within() with the node's request timeout.
template <class T, class... Ts>
T ask(scoped_pool& pool, const caf::actor& to, Ts&&... xs) {
  return ask_within<T>(request_timeout, pool, to, std::forward<Ts>(xs)...);
}

struct node::impl {
  std::shared_ptr<runtime> rt;
  node_config cfg;
  caf::actor_system sys;
  scoped_pool asks{sys};  // after sys: its scoped actors end before the actor system
  redis_pool reads;
  uint64_t serial;  // tells this node's thread-local Redis connections from others'
  caf::actor supervisor;
  event_hub hub;
  std::unique_ptr<event_subscriber> subscriber;

  explicit impl(const config::settings& s);
  /// A Redis connection of the calling thread for status reads.
  redis_client& thread_redis();
};

}  // namespace jobserver::actors
