#pragma once
// What bench/job_load reads from Postgres: job counts and timings of the bench schema.
// The jobs table has row-level security: `connect` turns on app.system for the session
// so every row is visible.
#include <pqxx/pqxx>
#include <string>
#include <vector>

namespace jobserver::bench {

struct counts {
  long completed = 0;
  long failed = 0;
  long unfinished = 0;  // queued or processing
};

struct wait_limits {
  int stall_s = 30;     // no progress for this long: give up
  int timeout_s = 300;  // the whole wait
};

/// A session that sees every job (app.system = on).
void make_system_session(pqxx::connection& db);

/// Completed, failed and unfinished jobs in the schema (reads the whole table).
counts read_counts(pqxx::connection& db);

/// Prints the number of jobs per status to stderr.
void print_by_status(pqxx::connection& db);

/// Waits until `expected` more jobs than `base` are completed. Returns false (after
/// saying why on stderr) on failed jobs, a stall or the overall timeout. While jobs are
/// unfinished it polls only their number, which an index answers (on jobserver's schema
/// and the Node baseline's alike): counting every row each time would take more and more
/// of the CPU the servers under test need as the table grows.
bool wait_completed(pqxx::connection& db, counts base, long expected, const wait_limits& limits);

/// Queue wait and run time of the given jobs from their timestamps: prints two lines
/// and returns a fragment for the `RESULT` line (" wait_p50_ms=... run_p99_ms=...").
std::string job_phases(pqxx::connection& db, const std::vector<std::string>& ids);

}  // namespace jobserver::bench
