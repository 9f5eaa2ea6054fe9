// docs/openapi.yaml against the routes the server registers (issue 8), and the metrics
// text format.
//
// The rule for what must be documented: every route registered through http::router
// (the JSON API, /metrics, /openapi.yaml) is an API route and must appear under
// `paths:`; static files of the web UI are served by a mount point, not the router, and
// are not part of the API reference.
#include <catch2/catch.hpp>

#include <regex>
#include <set>
#include <sstream>

#include "actors/node.hpp"
#include "config/metrics.hpp"
#include "http/ops_routes.hpp"
#include "http/server.hpp"
#include "tests/support/test_env.hpp"

using namespace jobserver;

namespace {

/// (method, path) of every operation under `paths:` of an OpenAPI YAML document.
std::set<http::route> documented_routes(const std::string& yaml) {
  std::set<http::route> out;
  std::istringstream in(yaml);
  std::string line, path;
  bool in_paths = false;
  static const std::regex path_line(R"(^  (/[^:\s]*):\s*$)");
  static const std::regex method_line(R"(^    (get|put|post|delete|patch|head|options):\s*$)");
  while (std::getline(in, line)) {
    if (line == "paths:") {
      in_paths = true;
      continue;
    }
    if (!in_paths) continue;
    if (!line.empty() && line[0] != ' ' && line[0] != '#') break;  // the next top-level key
    std::smatch m;
    if (std::regex_match(line, m, path_line)) path = m[1];
    else if (std::regex_match(line, m, method_line) && !path.empty()) out.insert({m[1], path});
  }
  return out;
}

std::string list(const std::set<http::route>& routes) {
  std::string out;
  for (const auto& r : routes) out += "  " + r.method + " " + r.path + "\n";
  return out.empty() ? "  (none)\n" : out;
}

}  // namespace

TEST_CASE("every route the server serves is in docs/openapi.yaml and every documented route is served",
          "[openapi]") {
  testing::service_fixture f;
  config::settings s;
  s.database_url = f.url;
  s.redis_url = testing::redis_url();
  s.redis_prefix = f.prefix;
  s.enable_test_jobs = true;
  actors::node node{s};
  http::server web{s, node};  // routes are registered at construction; nothing listens
  std::set<http::route> served(web.routes().begin(), web.routes().end());
  REQUIRE(served.size() > 20);
  auto documented = documented_routes(http::openapi_yaml());
  std::set<http::route> missing, extra;
  for (const auto& r : served)
    if (documented.count(r) == 0) missing.insert(r);
  for (const auto& r : documented)
    if (served.count(r) == 0) extra.insert(r);
  INFO("served but not documented:\n" << list(missing) << "documented but not served:\n" << list(extra));
  CHECK(missing.empty());
  CHECK(extra.empty());
  // The SSE routes and the operations routes are among them.
  CHECK(served.count({"get", "/jobs/{id}/events"}) == 1);
  CHECK(served.count({"get", "/jobs/events"}) == 1);
  CHECK(served.count({"get", "/metrics"}) == 1);
}

TEST_CASE("the OpenAPI path reader finds operations and stops at the next top-level key", "[openapi]") {
  auto found = documented_routes(
      "openapi: 3.0.3\npaths:\n  /a/{id}:\n    get:\n      x: 1\n    delete:\n  /b:\n    post:\n"
      "components:\n  /c:\n    get:\n");
  CHECK(found == std::set<http::route>{{"get", "/a/{id}"}, {"delete", "/a/{id}"}, {"post", "/b"}});
  CHECK(http::router::template_of("/jobs/([^/]+)/cancel") == "/jobs/{id}/cancel");
}

TEST_CASE("metrics render in the Prometheus text format with cumulative histogram buckets",
          "[metrics]") {
  metrics::registry reg;
  reg.get_counter("x_total", "Xs", {{"type", "a\"b"}}).inc(2);
  reg.get_gauge("y", "Ys").set(-1.5);
  auto& h = reg.get_histogram("z_seconds", "Zs", {{"route", "/r"}}, {0.1, 1});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(5);
  auto text = reg.render();
  INFO(text);
  CHECK(text.find("# TYPE x_total counter\nx_total{type=\"a\\\"b\"} 2\n") != std::string::npos);
  CHECK(text.find("# TYPE y gauge\ny -1.5\n") != std::string::npos);
  CHECK(text.find("z_seconds_bucket{route=\"/r\",le=\"0.1\"} 1\n") != std::string::npos);
  CHECK(text.find("z_seconds_bucket{route=\"/r\",le=\"1\"} 2\n") != std::string::npos);
  CHECK(text.find("z_seconds_bucket{route=\"/r\",le=\"+Inf\"} 3\n") != std::string::npos);
  CHECK(text.find("z_seconds_sum{route=\"/r\"} 5.55\n") != std::string::npos);
  CHECK(text.find("z_seconds_count{route=\"/r\"} 3\n") != std::string::npos);
}
