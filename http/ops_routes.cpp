#include "http/ops_routes.hpp"

#include <map>
#include <set>

#include "actors/node.hpp"
#include "config/metrics.hpp"

namespace jobserver::http {
namespace {

/// Sets the gauges read at scrape time: dependencies, queues, streams, cluster size.
void refresh_gauges(actors::node& node, const std::function<int()>& cluster_members) {
  auto& reg = metrics::global();
  auto ready = node.check_ready();
  reg.get_gauge("jobserver_dependency_up", "1 when the dependency answers, else 0",
                {{"dependency", "postgres"}})
      .set(ready.postgres ? 1 : 0);
  reg.get_gauge("jobserver_dependency_up", "1 when the dependency answers, else 0",
                {{"dependency", "redis"}})
      .set(ready.redis ? 1 : 0);
  reg.get_gauge("jobserver_sse_streams_open", "Event streams open on this node")
      .set(static_cast<double>(node.events().open_streams()));
  reg.get_gauge("jobserver_cluster_members", "Nodes in the cluster as this node sees it")
      .set(cluster_members ? cluster_members() : 1);
  const auto& memory = node.statuses_in_memory();
  reg.get_gauge("jobserver_status_memory_entries", "Job statuses held in memory for reads")
      .set(static_cast<double>(memory.size()));
  reg.get_gauge("jobserver_status_memory_enabled",
                "1 while Redis key tracking keeps the in-memory statuses current, else 0")
      .set(memory.enabled() ? 1 : 0);
  // Counters from the totals the cache keeps: add what came since the last scrape.
  auto catch_up = [&](const char* name, const char* help, uint64_t total) {
    auto& c = reg.get_counter(name, help);
    if (static_cast<double>(total) > c.value()) c.inc(static_cast<double>(total) - c.value());
  };
  catch_up("jobserver_status_memory_hits_total", "Status reads answered from memory", memory.hits());
  catch_up("jobserver_status_memory_misses_total", "Status reads that went to Redis",
           memory.misses());
  if (!ready.postgres) return;
  try {
    // Every type this node knows starts at 0, so a drained queue reads 0, not absent.
    std::map<std::pair<std::string, std::string>, long> counts;
    for (const auto& c : node.unfinished_counts()) counts[{c.type, c.status}] = c.count;
    auto set = [&](const std::string& type, const char* status, const char* name, const char* help) {
      auto i = counts.find({type, status});
      reg.get_gauge(name, help, {{"type", type}}).set(i == counts.end() ? 0 : static_cast<double>(i->second));
    };
    std::set<std::string> types;
    for (const auto& [k, v] : counts) types.insert(k.first);
    for (const auto& t : node.job_types()) types.insert(t);
    for (const auto& t : types) {
      set(t, "queued", "jobserver_queue_depth", "Jobs waiting to run (all nodes; Postgres)");
      set(t, "processing", "jobserver_jobs_processing", "Jobs processing (all nodes; Postgres)");
    }
  } catch (const std::exception&) {
    // Postgres went away mid-scrape: the up gauge says so next time.
  }
}

}  // namespace

void add_ops_routes(router& r, actors::node& node, std::function<int()> cluster_members) {
  r.get("/metrics", [&node, cluster_members](const httplib::Request&, httplib::Response& res) {
    refresh_gauges(node, cluster_members);
    res.set_content(metrics::global().render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  r.get("/openapi.yaml", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(openapi_yaml(), "application/yaml");
  });
}

}  // namespace jobserver::http
