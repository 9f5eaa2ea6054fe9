// job_load: creates noop jobs through the HTTP API and waits until Postgres has them
// all completed. Run by scripts/bench.sh; prints a human summary and one `RESULT` line.
//
//   job_load throughput --url URL --db DATABASE_URL [--clients 32] [--jobs 20000] [--users 32]
//   job_load seed       --url URL --db DATABASE_URL --user ID [--jobs 1000] [--clients 8]
//                       --ids-out FILE [--sample-out FILE]
//
// Every client is one keep-alive connection; one thread drives them all
// (bench/http_loop.hpp). A request that fails is retried
// (same job slot) up to 3 times; more than --max-errors failures stop the run.
#include <httplib.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "bench/bench_util.hpp"
#include "bench/http_loop.hpp"
#include "bench/job_db.hpp"

namespace {

using namespace jobserver::bench;

using clock_type = std::chrono::steady_clock;

constexpr const char* noop_body = "{\"type\":\"noop\"}";

struct options {
  std::string mode;
  std::string host = "127.0.0.1";
  int port = 0;
  std::string db;
  int clients = 32;
  int jobs = 20000;
  int users = 32;
  std::string user;               // seed: every job for this one user
  std::string user_prefix = "bench-user";
  int max_errors = 100;
  int wait_timeout_s = 300;       // whole wait for completion
  int stall_s = 30;               // no progress for this long: give up
  std::string ids_out;
  std::string sample_out;
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "job_load: " << why << "\n"
            << "usage: job_load throughput|seed --url http://127.0.0.1:PORT --db DATABASE_URL\n"
               "       [--clients N] [--jobs N] [--users N] [--user ID] [--max-errors N]\n"
               "       [--wait-timeout S] [--stall S] [--ids-out FILE] [--sample-out FILE]\n";
  std::exit(2);
}

options parse_args(int argc, char** argv) {
  options o;
  if (argc < 2) usage("missing mode");
  o.mode = argv[1];
  if (o.mode != "throughput" && o.mode != "seed") usage("unknown mode " + o.mode);
  std::map<std::string, std::string> kv;
  for (int i = 2; i < argc; i += 2) {
    std::string k = argv[i];
    if (k.rfind("--", 0) != 0 || i + 1 >= argc) usage("bad argument " + k);
    kv[k.substr(2)] = argv[i + 1];
  }
  auto num = [&](const char* k, int& out) {
    if (auto it = kv.find(k); it != kv.end()) {
      out = std::stoi(it->second);
      if (out <= 0) usage(std::string{k} + " must be positive");
      kv.erase(it);
    }
  };
  auto text = [&](const char* k, std::string& out) {
    if (auto it = kv.find(k); it != kv.end()) out = it->second, kv.erase(it);
  };
  std::string url;
  text("url", url);
  text("db", o.db);
  text("user", o.user);
  text("user-prefix", o.user_prefix);
  text("ids-out", o.ids_out);
  text("sample-out", o.sample_out);
  num("clients", o.clients);
  num("jobs", o.jobs);
  num("users", o.users);
  num("max-errors", o.max_errors);
  num("wait-timeout", o.wait_timeout_s);
  num("stall", o.stall_s);
  if (!kv.empty()) usage("unknown flag --" + kv.begin()->first);
  if (!parse_http_url(url, o.host, o.port)) usage("--url must be http://HOST:PORT");
  if (o.db.empty()) usage("--db is required");
  if (o.mode == "seed" && (o.user.empty() || o.ids_out.empty()))
    usage("seed needs --user and --ids-out");
  return o;
}

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

std::unique_ptr<httplib::Client> make_client(const options& o) {
  auto c = std::make_unique<httplib::Client>(o.host, o.port);
  c->set_keep_alive(true);
  c->set_tcp_nodelay(true);
  c->set_connection_timeout(5, 0);
  c->set_read_timeout(30, 0);
  c->set_write_timeout(10, 0);
  return c;
}

std::string user_for(const options& o, int slot) {
  if (!o.user.empty()) return o.user;
  return o.user_prefix + "-" + std::to_string(slot % o.users);
}

/// What the create phase produced.
struct create_result {
  std::vector<std::string> ids;
  std::vector<double> latencies_ms;
  int errors = 0;
  int connect_errors = 0;
  double connect_ms = 0;
  double seconds = 0;
  clock_type::time_point started;
};

/// The create phase: `o.clients` keep-alive connections, driven by one thread
/// (bench/http_loop.hpp), POST noop jobs until `o.jobs` are created; each connection sends
/// its next POST once the last is answered. Every connection is opened (GET /health)
/// before the clock starts, so a burst of connects is not part of the figures (failures
/// are counted).
class create_phase {
 public:
  explicit create_phase(const options& o) : o_(o), loop_(o.host, o.port) {
    ids_.reserve(static_cast<size_t>(o.jobs));
    latencies_.reserve(static_cast<size_t>(o.jobs));
  }

  create_result run() {
    create_result r;
    auto connect_start = clock_type::now();
    r.connect_errors = loop_.open(o_.clients, "/health", say);
    r.connect_ms = ms_since(connect_start);
    std::vector<std::string> requests;  // one per user: the text of its POST
    for (int u = 0; u < (o_.user.empty() ? o_.users : 1); ++u)
      requests.push_back(loop_.request("POST", "/jobs", {{"X-User-ID", user_for(o_, u)}}, noop_body,
                                       "application/json"));
    std::vector<slot_state> slots(static_cast<size_t>(o_.clients));
    started_ = clock_type::now();
    auto next = [&](size_t c, std::string& request) {
      auto& s = slots[c];
      if (s.slot < 0 || s.attempt == 3) {  // the next job (after 3 failed attempts too)
        if (next_ >= o_.jobs || abort_) return false;
        s = {next_++, 0};
      }
      request = requests[static_cast<size_t>(s.slot % static_cast<int>(requests.size()))];
      return true;
    };
    auto done = [&](size_t c, http_answer&& a) {
      auto& s = slots[c];
      ++sent_;
      auto why = job_id_or_error(a);
      if (why.rfind("id:", 0) == 0) {
        ids_.push_back(why.substr(3));
        latencies_.push_back(a.ms);
        s.slot = -1;
        return std::chrono::milliseconds(0);
      }
      failed(why, a.ms);
      ++s.attempt;
      return std::chrono::milliseconds(20 * s.attempt);
    };
    loop_.run(next, done, abort_);
    r.started = started_;
    r.seconds = ms_since(started_) / 1000.0;
    r.ids = std::move(ids_);
    r.latencies_ms = std::move(latencies_);
    r.errors = errors_;
    return r;
  }

 private:
  struct slot_state {
    int slot = -1;  // the job this connection is creating, -1 for none
    int attempt = 0;
  };

  /// "id:<job id>" for a 202 with a job id, else what went wrong.
  static std::string job_id_or_error(const http_answer& a) {
    if (a.status == 0) return "transport error: " + a.body;
    if (a.status != 202) return "HTTP " + std::to_string(a.status) + ": " + a.body.substr(0, 200);
    rapidjson::Document d;
    d.Parse(a.body.c_str());
    if (d.IsObject() && d.HasMember("job_id") && d["job_id"].IsString())
      return std::string{"id:"} + d["job_id"].GetString();
    return "202 without job_id: " + a.body.substr(0, 200);
  }

  void failed(const std::string& why, double ms) {
    int n = ++errors_;
    if (n <= 5) {
      char when[160];
      std::snprintf(when, sizeof when, "request %d of the run, %.0f ms into it, after %.1f ms", sent_,
                    ms_since(started_), ms);
      say("POST /jobs failed (" + why + "; " + when + ")");
    }
    if (n == o_.max_errors + 1) {
      say("more than " + std::to_string(o_.max_errors) + " errors, stopping");
      abort_ = true;
    }
  }

  static void say(const std::string& line) { std::cerr << "job_load: " + line + "\n" << std::flush; }

  const options& o_;
  http_loop loop_;
  clock_type::time_point started_;
  int next_ = 0, errors_ = 0, sent_ = 0;
  bool abort_ = false;
  std::vector<std::string> ids_;
  std::vector<double> latencies_;
};

/// Seed only: the answers wrk will measure must be real ones. Writes the ids and one
/// `GET /jobs/:id` body.
bool check_and_write_seed(const options& o, const std::vector<std::string>& ids) {
  auto cli = make_client(o);
  httplib::Headers h{{"X-User-ID", o.user}};
  auto res = cli->Get(("/jobs/" + ids.front()).c_str(), h);
  if (!res || res->status != 200 || res->body.find("\"status\":\"completed\"") == std::string::npos) {
    std::cerr << "job_load: GET /jobs/" << ids.front() << " did not answer a completed job: "
              << (res ? std::to_string(res->status) + " " + res->body.substr(0, 300)
                      : httplib::to_string(res.error()))
              << "\n";
    return false;
  }
  std::string poll = "{\"job_ids\":[";
  for (size_t i = 0; i < 20 && i < ids.size(); ++i) poll += (i ? ",\"" : "\"") + ids[i] + "\"";
  poll += "]}";
  auto pres = cli->Post("/jobs/poll", h, poll, "application/json");
  if (!pres || pres->status != 200) {
    std::cerr << "job_load: POST /jobs/poll failed: "
              << (pres ? std::to_string(pres->status) + " " + pres->body.substr(0, 300)
                       : httplib::to_string(pres.error()))
              << "\n";
    return false;
  }
  std::ofstream ids_file(o.ids_out);
  for (const auto& id : ids) ids_file << id << "\n";
  if (!o.sample_out.empty()) std::ofstream(o.sample_out, std::ios::binary) << res->body;
  std::printf("GET /jobs/:id answer   %zu bytes\nPOST /jobs/poll answer %zu bytes (20 ids)\n",
              res->body.size(), pres->body.size());
  std::printf("RESULT get_bytes=%zu poll_bytes=%zu\n", res->body.size(), pres->body.size());
  return true;
}

int run(const options& o) {
  pqxx::connection db{o.db};
  make_system_session(db);
  auto base = read_counts(db);

  auto created = create_phase{o}.run();
  long n = static_cast<long>(created.ids.size());
  std::printf("connections            %d opened in %.0f ms (%d failed connect attempts)\n",
              o.clients, created.connect_ms, created.connect_errors);
  std::printf("jobs created           %ld of %d (%d failed requests, %d clients)\n", n, o.jobs,
              created.errors, o.clients);
  if (n == 0) return 1;
  double create_rps = static_cast<double>(n) / created.seconds;
  std::sort(created.latencies_ms.begin(), created.latencies_ms.end());
  double p50 = percentile(created.latencies_ms, 50), p99 = percentile(created.latencies_ms, 99);
  std::printf("create phase           %.2f s, %.0f req/s\n", created.seconds, create_rps);
  std::printf("create latency         p50 %.2f ms, p99 %.2f ms\n", p50, p99);
  std::fflush(stdout);

  bool ok = wait_completed(db, base, n, {o.stall_s, o.wait_timeout_s});
  double e2e_s = ms_since(created.started) / 1000.0;
  auto now = read_counts(db);
  long done = now.completed - base.completed;
  double e2e_rate = static_cast<double>(done) / e2e_s;
  std::printf("completed              %ld of %ld, %.2f s after the first POST\n", done, n, e2e_s);
  std::printf("end-to-end             %.0f jobs/s\n", e2e_rate);
  auto phases = job_phases(db, created.ids);
  std::printf("RESULT created=%ld errors=%d create_s=%.3f create_rps=%.0f p50_ms=%.2f p99_ms=%.2f "
              "completed=%ld e2e_s=%.3f e2e_jobs_per_s=%.0f ok=%d connect_ms=%.0f connect_errors=%d%s\n",
              n, created.errors, created.seconds, create_rps, p50, p99, done, e2e_s, e2e_rate, ok,
              created.connect_ms, created.connect_errors, phases.c_str());
  std::fflush(stdout);
  if (!ok || n < o.jobs) return 1;
  if (o.mode == "seed" && !check_and_write_seed(o, created.ids)) return 1;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  auto o = parse_args(argc, argv);
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::cerr << "job_load: " << e.what() << "\n";
    return 1;
  }
}
