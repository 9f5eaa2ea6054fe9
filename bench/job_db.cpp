#include "bench/job_db.hpp"

#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

namespace jobserver::bench {
namespace {

using clock_type = std::chrono::steady_clock;

constexpr const char* system_sql = "SELECT set_config('app.system', 'on', false)";
constexpr const char* count_sql =
    "SELECT count(*) FILTER (WHERE status = 'completed'),"
    "       count(*) FILTER (WHERE status = 'failed'),"
    "       count(*) FILTER (WHERE status IN ('queued', 'processing')) FROM jobs";
constexpr const char* unfinished_sql =
    "SELECT count(*) FROM jobs WHERE status IN ('queued', 'processing')";
constexpr const char* by_status_sql =
    "SELECT status, count(*) FROM jobs GROUP BY status ORDER BY status";
// Where the time of the run's jobs went: waiting in the queue, then running (ms).
// `attempts` is read through to_jsonb so the query also runs on the Node baseline's
// table (bench/baselines/node-bull), which has only the original's columns.
constexpr const char* phases_sql =
    "SELECT percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP"
    "         (ORDER BY extract(epoch FROM started_at - created_at) * 1000),"
    "       percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP"
    "         (ORDER BY extract(epoch FROM completed_at - started_at) * 1000),"
    "       max((to_jsonb(jobs) ->> 'attempts')::int)"
    "  FROM jobs WHERE status = 'completed' AND id = ANY($1::uuid[])";

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

}  // namespace

void make_system_session(pqxx::connection& db) {
  pqxx::nontransaction tx{db};
  tx.exec(system_sql);
}

counts read_counts(pqxx::connection& db) {
  pqxx::nontransaction tx{db};
  auto row = tx.exec1(count_sql);
  return {row[0].as<long>(), row[1].as<long>(), row[2].as<long>()};
}

long read_unfinished(pqxx::connection& db) {
  pqxx::nontransaction tx{db};
  return tx.exec1(unfinished_sql)[0].as<long>();
}

void print_by_status(pqxx::connection& db) {
  pqxx::nontransaction tx{db};
  std::cerr << "job_load: jobs by status in this schema:";
  for (const auto& row : tx.exec(by_status_sql))
    std::cerr << " " << row[0].c_str() << "=" << row[1].c_str();
  std::cerr << "\n";
}

bool wait_completed(pqxx::connection& db, counts base, long expected, const wait_limits& limits) {
  auto t0 = clock_type::now();
  auto last_change = t0;
  long last = -1;
  auto report = [&](const char* what) {
    auto c = read_counts(db);
    std::cerr << "job_load: " << what << ": " << c.completed - base.completed << "/" << expected
              << " completed\n";
    print_by_status(db);
    return false;
  };
  for (;;) {
    long pending = read_unfinished(db);
    if (pending <= base.unfinished) {  // looks drained: count what became of them
      auto c = read_counts(db);
      long done = c.completed - base.completed, failed = c.failed - base.failed;
      if (done >= expected) return true;
      if (done + failed >= expected)
        return report((std::to_string(failed) + " job(s) failed").c_str());
    }
    if (pending != last) last = pending, last_change = clock_type::now();
    if (ms_since(last_change) > limits.stall_s * 1000.0)
      return report(("stalled, no progress for " + std::to_string(limits.stall_s) + " s").c_str());
    if (ms_since(t0) > limits.timeout_s * 1000.0)
      return report(("timeout after " + std::to_string(limits.timeout_s) + " s").c_str());
    // Fine-grained near the end, where it sets the measured time.
    std::this_thread::sleep_for(std::chrono::milliseconds(pending > 2000 ? 100 : 20));
  }
}

std::string job_phases(pqxx::connection& db, const std::vector<std::string>& ids) {
  std::string array = "{";
  for (size_t i = 0; i < ids.size(); ++i) array += (i ? "," : "") + ids[i];
  array += "}";
  pqxx::nontransaction tx{db};
  auto row = tx.exec_params1(phases_sql, array);
  if (row[0].is_null()) return "";
  auto two = [](const pqxx::field& f) {
    auto v = f.as_array();
    std::vector<double> out;
    for (auto e = v.get_next(); e.first != pqxx::array_parser::done; e = v.get_next())
      if (e.first == pqxx::array_parser::string_value) out.push_back(std::stod(e.second));
    out.resize(2, 0);
    return out;
  };
  auto wait = two(row[0]), runs = two(row[1]);
  std::printf("queue wait             p50 %.1f ms, p99 %.1f ms (created_at -> started_at)\n",
              wait[0], wait[1]);
  std::printf("run                    p50 %.1f ms, p99 %.1f ms (started_at -> completed_at), "
              "max attempts %s\n", runs[0], runs[1], row[2].is_null() ? "n/a" : row[2].c_str());
  char out[200];
  std::snprintf(out, sizeof out, " wait_p50_ms=%.1f wait_p99_ms=%.1f run_p50_ms=%.1f run_p99_ms=%.1f",
                wait[0], wait[1], runs[0], runs[1]);
  return out;
}

}  // namespace jobserver::bench
