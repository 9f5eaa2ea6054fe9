#pragma once
// A cluster of real jobserver processes on loopback for tests and the chaos benchmark.

#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/e2e/e2e_support.hpp"

namespace jobserver::testing {

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++n;
  return n;
}

/// Settings of a node that serves the API and runs no jobs at all.
inline const std::map<std::string, std::string> api_only{
    {"TEST_JOB_CONCURRENCY", "0"}, {"UPLOAD_CONCURRENCY", "0"}, {"LESSON_CONCURRENCY", "0"},
    {"BATCH_CONCURRENCY", "0"}};

/// Nodes "node-<i>" on one Postgres schema and Redis prefix, joined through node-0's
/// cluster port; short heartbeats so that failures are seen within about a second.
struct cluster {
  service_fixture& f;
  std::vector<int> cluster_ports;
  std::vector<std::unique_ptr<server_process>> nodes;
  std::vector<std::string> old_logs;  // of nodes replaced by restart()

  cluster(service_fixture& fx, int n, std::map<std::string, std::string> common,
          std::vector<std::map<std::string, std::string>> per_node = {})
    : f(fx), common_(std::move(common)), per_node_(std::move(per_node)) {
    for (int i = 0; i < n; ++i) nodes.push_back(make(i, common_, extra(i)));
    for (auto& node : nodes) node->start();
  }

  /// A node process (not started) with the cluster's settings plus `extra`.
  std::unique_ptr<server_process> make(size_t i, std::map<std::string, std::string> env,
                                       const std::map<std::string, std::string>& more) {
    while (cluster_ports.size() <= i) cluster_ports.push_back(free_port());
    env["NODE_ID"] = "node-" + std::to_string(i);
    env["CLUSTER_PORT"] = std::to_string(cluster_ports[i]);
    env["CLUSTER_SEEDS"] = "127.0.0.1:" + std::to_string(cluster_ports[0]);
    env.emplace("CLUSTER_HEARTBEAT_MS", "250");
    env.emplace("CLUSTER_TIMEOUT_MS", "1500");
    env.emplace("LOG_LEVEL", "info");
    for (const auto& [k, v] : more) env[k] = v;
    return std::make_unique<server_process>(f, env);
  }

  /// Starts node i again (after kill9/stop) with the same id and cluster port.
  void restart(size_t i) {
    old_logs.push_back(nodes[i]->log_path());
    nodes[i] = make(i, common_, extra(i));
    nodes[i]->start();
  }

  server_process& operator[](size_t i) { return *nodes[i]; }

  /// The node ids `/cluster` on node i lists.
  std::set<std::string> members_seen_by(size_t i) {
    auto c = nodes[i]->client();
    auto a = call(*c, "GET", "/cluster");
    std::set<std::string> out;
    if (a.status != 200 || !a.body.IsObject() || !a.body.HasMember("nodes")) return out;
    for (const auto& n : a.body["nodes"].GetArray()) out.insert(n["id"].GetString());
    return out;
  }

  bool all_see(const std::set<std::string>& expected, const std::vector<size_t>& which) {
    for (auto i : which)
      if (members_seen_by(i) != expected) return false;
    return true;
  }

  /// Every log written by this cluster's processes, restarted ones included.
  std::string all_logs() {
    std::string out;
    for (const auto& l : old_logs) out += read_file(l);
    for (auto& n : nodes) out += read_file(n->log_path());
    return out;
  }

 private:
  std::map<std::string, std::string> extra(size_t i) const {
    return i < per_node_.size() ? per_node_[i] : std::map<std::string, std::string>{};
  }
  std::map<std::string, std::string> common_;
  std::vector<std::map<std::string, std::string>> per_node_;
};

/// The node a job JSON says ran it last ("" when none).
inline std::string node_of(const answer& job) {
  return job.body.HasMember("node") ? job.body["node"].GetString() : "";
}

inline std::string status_of(const answer& job) { return job.body["status"].GetString(); }

}  // namespace jobserver::testing
