// The built-in job types used by tests and benchmarks; POST /jobs creates them only
// when ENABLE_TEST_JOBS=1.
#include <rapidjson/document.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>

#include "actors/job_types.hpp"
#include "config/errors.hpp"

namespace jobserver::actors {
namespace {

rapidjson::Document parse_data(const job_context& ctx) {
  rapidjson::Document d;
  d.Parse(ctx.job.data.c_str());
  if (d.HasParseError() || !d.IsObject()) d.SetObject();
  return d;
}

int64_t int_field(const rapidjson::Document& d, const char* key, int64_t fallback, int64_t lo,
                  int64_t hi) {
  if (!d.HasMember(key) || !d[key].IsInt64()) return fallback;
  return std::clamp<int64_t>(d[key].GetInt64(), lo, hi);
}

std::string noop(job_context&) { return R"({"ok":true})"; }

/// Sleeps `ms` in `steps` steps, reporting progress after each; stops when asked.
std::string sleep_job(job_context& ctx) {
  auto d = parse_data(ctx);
  auto ms = int_field(d, "ms", 1000, 0, 600000);
  auto steps = int_field(d, "steps", 10, 1, 1000);
  // With "stamp": each step also streams the wall clock (microseconds) as partial text,
  // so a client can measure how long an update takes to reach it (bench/sse_bench).
  bool stamp = d.HasMember("stamp") && d["stamp"].IsBool() && d["stamp"].GetBool();
  for (int64_t i = 1; i <= steps; ++i) {
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms / steps);
    while (std::chrono::steady_clock::now() < until) {
      if (ctx.stopping()) throw app_error(errc::cancelled, "stopped");
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          std::chrono::milliseconds(20), until - std::chrono::steady_clock::now()));
    }
    if (i < steps) ctx.progress(static_cast<int>(i * 100 / steps));
    if (stamp)
      ctx.partial(std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count()));
  }
  return R"({"slept_ms":)" + std::to_string(ms) + "}";
}

/// Fails transiently or permanently; with `succeed_on_attempt` it succeeds from then on.
/// With `"crash": true` it throws something that is not an exception class at all, as a
/// bug in a processor might: the job actor running it dies and its supervisor steps in.
std::string fail_job(job_context& ctx) {
  auto d = parse_data(ctx);
  auto succeed_on = int_field(d, "succeed_on_attempt", 0, 0, 1000);
  if (succeed_on > 0 && ctx.job.attempts >= succeed_on)
    return R"({"succeeded_on_attempt":)" + std::to_string(ctx.job.attempts) + "}";
  if (d.HasMember("crash") && d["crash"].IsBool() && d["crash"].GetBool()) throw 42;
  bool transient = d.HasMember("transient") && d["transient"].IsBool() && d["transient"].GetBool();
  std::string message = "fail job: requested failure";
  if (d.HasMember("message") && d["message"].IsString()) message = d["message"].GetString();
  throw app_error(errc::internal, message, transient);
}

}  // namespace

void add_test_job_types(job_registry& registry, const config::settings& s) {
  auto base = [&](std::string name, processor_fn fn, bool blocking) {
    job_type t;
    t.name = std::move(name);
    t.run = std::move(fn);
    t.blocking = blocking;
    t.concurrency = s.test_job_concurrency;
    t.retry = s.test_retry;
    t.timeout = std::chrono::minutes(11);
    return t;
  };
  registry.add(base("noop", noop, false));
  registry.add(base("sleep", sleep_job, true));
  registry.add(base("fail", fail_job, false));
}

int64_t retry_delay_ms(const config::retry_policy& policy, int attempts) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  double delay = policy.backoff_ms * std::pow(2.0, std::max(0, attempts - 1));
  delay = std::min(delay, 600000.0);
  std::uniform_real_distribution<double> jitter{0.0, 0.2};
  return static_cast<int64_t>(delay * (1.0 + jitter(rng)));
}

}  // namespace jobserver::actors
