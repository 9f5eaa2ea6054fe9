#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "config/settings.hpp"
#include "persistence/job.hpp"

namespace jobserver::actors {

/// What a processor sees of its job: the row, a progress callback, and whether it has
/// been asked to stop (cancel, lost lease, timeout). A processor checks `stopping()`
/// between steps and then throws `app_error(errc::cancelled, ...)`.
struct job_context {
  persistence::job_row job;
  std::function<void(int)> report_progress;
  std::shared_ptr<std::atomic<bool>> stop_flag;
  /// Text produced so far (an LLM's streamed answer), for clients that follow the job.
  std::function<void(const std::string&)> report_partial;
  /// A problem the run is working around (an upstream retry), shown as the job's error
  /// while it runs.
  std::function<void(const std::string&)> report_problem;

  bool stopping() const { return stop_flag && stop_flag->load(); }
  void partial(const std::string& text) const {
    if (report_partial) report_partial(text);
  }
  void problem(const std::string& text) const {
    if (report_problem) report_problem(text);
  }
  void progress(int pct) const {
    if (report_progress) report_progress(pct);
  }
};

/// Runs one job and returns its result as JSON text. Failures are `app_error`s: a
/// transient one is retried (with backoff, up to the type's attempts), any other fails
/// the job at once. Any other exception counts as transient.
using processor_fn = std::function<std::string(job_context&)>;

/// One job type: its processor and how the engine treats it.
struct job_type {
  std::string name;
  processor_fn run;
  bool blocking = true;  // runs in a detached actor (own thread)
  int concurrency = 1;   // at once on this node; 0 = this node does not run it
  config::retry_policy retry;
  std::chrono::milliseconds timeout{std::chrono::minutes(10)};
  int priority = 5;
};

/// The job types a node knows, by name.
class job_registry {
 public:
  void add(job_type t) { types_[t.name] = std::move(t); }
  const job_type* find(const std::string& name) const {
    auto i = types_.find(name);
    return i == types_.end() ? nullptr : &i->second;
  }
  const std::map<std::string, job_type>& all() const { return types_; }

 private:
  std::map<std::string, job_type> types_;
};

/// Adds the built-in test types `noop`, `sleep` and `fail` (ENABLE_TEST_JOBS=1 only).
void add_test_job_types(job_registry& registry, const config::settings& s);

/// Backoff before attempt `attempts + 1`: base * 2^(attempts-1), plus up to 20 % jitter,
/// at most ten minutes.
int64_t retry_delay_ms(const config::retry_policy& policy, int attempts);

}  // namespace jobserver::actors
