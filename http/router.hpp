#pragma once

#include <httplib.h>

#include <string>
#include <vector>

namespace jobserver::http {

/// An API route as registered: the method and its path in OpenAPI form (`/jobs/{id}`).
struct route {
  std::string method;
  std::string path;
  bool operator==(const route& o) const { return method == o.method && path == o.path; }
  bool operator<(const route& o) const { return path != o.path ? path < o.path : method < o.method; }
};

/// Registers each handler at `pattern` and at `/api` + `pattern`, with a last-resort
/// catch that answers a generic 500 and logs the cause. Every route is recorded (the
/// OpenAPI coverage test compares them with docs/openapi.yaml) and counted in the
/// `jobserver_http_requests_total` / `_seconds` metrics under its path template.
/// A path parameter is written `([^/]+)` and documented as `{id}`.
class router {
 public:
  explicit router(httplib::Server& s) : server_(s) {}

  void get(const std::string& pattern, httplib::Server::Handler h);
  void post(const std::string& pattern, httplib::Server::Handler h);
  void del(const std::string& pattern, httplib::Server::Handler h);
  /// A POST whose body the handler reads itself, as it arrives (uploads).
  void post_stream(const std::string& pattern, httplib::Server::HandlerWithContentReader h);

  const std::vector<route>& routes() const { return routes_; }

  /// `/jobs/([^/]+)/cancel` -> `/jobs/{id}/cancel`.
  static std::string template_of(const std::string& pattern);

 private:
  std::string record(const char* method, const std::string& pattern);

  httplib::Server& server_;
  std::vector<route> routes_;
};

}  // namespace jobserver::http
