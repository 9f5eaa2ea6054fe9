#pragma once

#include <functional>
#include <string>

#include "http/router.hpp"

namespace jobserver::actors {
class node;
}

namespace jobserver::http {

/// docs/openapi.yaml as embedded at build time.
const std::string& openapi_yaml();

/// `GET /metrics` (Prometheus text format) and `GET /openapi.yaml`. `cluster_members`
/// feeds the `jobserver_cluster_members` gauge (1 without clustering).
void add_ops_routes(router& r, actors::node& node, std::function<int()> cluster_members);

}  // namespace jobserver::http
