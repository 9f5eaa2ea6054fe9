#pragma once
// Cluster membership: what nodes tell each other, and the load board the dispatcher
// keeps for them.

#include <caf/all.hpp>

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace jobserver::actors {

/// What one node says about itself to its peers (on joining, then every heartbeat).
struct member_info {
  std::string node_id;
  std::string cluster_address;  // host:port of its published cluster_member; "" = none
  std::string http_address;     // host:port of its API; "" = worker-only
  std::vector<std::string> types;  // job types, in order
  std::vector<int32_t> capacity;   // per type: concurrency on that node (0 = runs none)
  std::vector<int32_t> running;    // per type: jobs running now
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_info& x) {
  return f(caf::meta::type_name("member_info"), x.node_id, x.cluster_address, x.http_address,
           x.types, x.capacity, x.running);
}

/// Jobs running on this node per type; written by the dispatcher, read by the member and
/// by the graceful stop.
class load_board {
 public:
  void add(const std::string& type, int delta) {
    std::lock_guard<std::mutex> guard{mutex_};
    running_[type] += delta;
  }
  int running(const std::string& type) const {
    std::lock_guard<std::mutex> guard{mutex_};
    auto i = running_.find(type);
    return i == running_.end() ? 0 : i->second;
  }
  int total() const {
    std::lock_guard<std::mutex> guard{mutex_};
    int n = 0;
    for (const auto& [type, count] : running_) n += count;
    return n;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, int> running_;
};

}  // namespace jobserver::actors
