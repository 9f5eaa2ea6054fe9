// rate_get: GET /jobs/:id at a fixed rate, to compare servers' latency at the same load
// (scripts/bench.sh compare). wrk keeps every connection busy, so each server is measured
// at its own saturation and its p99 is mostly its own queue; here every server gets the
// same requests per second. The load is open: request k is due at start + k / rate
// whatever happened to the ones before, and its latency runs from that due time, so a
// server that stalls is charged for every request it delayed, not only the one it held.
//
//   rate_get --url URL --ids FILE --user ID [--rate 2000] [--seconds 10] [--warmup 2]
//            [--connections 16]
//
// The due times are dealt round-robin to CONNECTIONS keep-alive connections (one thread
// each); a connection still busy with an earlier request sends the next one late, and
// that lateness counts. Prints one line:
//   RATE target_rps=.. achieved_rps=.. requests=.. errors=.. p50_ms=.. p90_ms=.. p99_ms=..
//        p999_ms=.. max_ms=..
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.hpp"

namespace {

using jobserver::bench::percentile;

using clock_type = std::chrono::steady_clock;

struct options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string ids_file;
  std::string user;
  double rate = 2000;
  double seconds = 10;
  double warmup = 2;
  int connections = 16;
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "rate_get: " << why << "\n"
            << "usage: rate_get --url http://127.0.0.1:PORT --ids FILE --user ID [--rate R]\n"
               "       [--seconds S] [--warmup S] [--connections N]\n";
  std::exit(2);
}

options parse_args(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--url") {
      if (!jobserver::bench::parse_http_url(value(), o.host, o.port))
        usage("--url must be http://HOST:PORT");
    } else if (a == "--ids") {
      o.ids_file = value();
    } else if (a == "--user") {
      o.user = value();
    } else if (a == "--rate") {
      o.rate = std::atof(value().c_str());
    } else if (a == "--seconds") {
      o.seconds = std::atof(value().c_str());
    } else if (a == "--warmup") {
      o.warmup = std::atof(value().c_str());
    } else if (a == "--connections") {
      o.connections = std::atoi(value().c_str());
    } else {
      usage("unknown argument " + a);
    }
  }
  if (o.port <= 0) usage("--url is required");
  if (o.ids_file.empty() || o.user.empty()) usage("--ids and --user are required");
  if (o.rate <= 0 || o.seconds <= 0 || o.warmup < 0 || o.connections <= 0)
    usage("--rate, --seconds and --connections must be positive");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  auto o = parse_args(argc, argv);
  std::vector<std::string> paths;
  {
    std::ifstream in{o.ids_file};
    for (std::string id; std::getline(in, id);)
      if (!id.empty()) paths.push_back("/jobs/" + id);
  }
  if (paths.empty()) usage("no ids in " + o.ids_file);

  const auto interval = std::chrono::duration<double>(1.0 / o.rate);
  const auto total = static_cast<long long>(o.rate * (o.warmup + o.seconds));
  const auto first_counted = static_cast<long long>(o.rate * o.warmup);
  const auto start = clock_type::now() + std::chrono::milliseconds(200);  // connections first
  std::vector<std::vector<double>> latencies(static_cast<size_t>(o.connections));
  std::atomic<long long> errors{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < o.connections; ++c) {
    threads.emplace_back([&, c] {
      httplib::Client client{o.host, o.port};
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      client.set_read_timeout(10, 0);
      httplib::Headers headers{{"X-User-ID", o.user}};
      auto& mine = latencies[static_cast<size_t>(c)];
      for (long long k = c; k < total; k += o.connections) {
        auto due = start + std::chrono::duration_cast<clock_type::duration>(interval * static_cast<double>(k));
        std::this_thread::sleep_until(due);
        auto res = client.Get(paths[static_cast<size_t>(k) % paths.size()].c_str(), headers);
        auto took = std::chrono::duration<double, std::milli>(clock_type::now() - due).count();
        if (!res || res->status != 200) {
          errors++;
          continue;
        }
        if (k >= first_counted) mine.push_back(took);
      }
    });
  }
  for (auto& t : threads) t.join();
  auto measured_from = start + std::chrono::duration_cast<clock_type::duration>(
                                   interval * static_cast<double>(first_counted));
  double elapsed = std::chrono::duration<double>(clock_type::now() - measured_from).count();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  std::printf("RATE target_rps=%.0f achieved_rps=%.0f requests=%zu errors=%lld p50_ms=%.3f "
              "p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f\n",
              o.rate, static_cast<double>(all.size()) / elapsed, all.size(), errors.load(),
              percentile(all, 50), percentile(all, 90), percentile(all, 99), percentile(all, 99.9), percentile(all, 100));
  return all.empty() ? 1 : 0;
}
