#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "config/settings.hpp"
#include "http/router.hpp"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace jobserver::actors {
class node;
}

namespace jobserver::http {

class authenticator;

/// The cpp-httplib front end: every route at `/<path>` and again at `/api/<path>`, JSON
/// errors, a last-resort handler for anything unexpected. Runs on its own threads.
class server {
 public:
  server(const config::settings& settings, actors::node& node);
  ~server();

  /// Binds and starts serving in the background; returns the bound port.
  int start();
  void stop();

  /// Every API route registered (the OpenAPI coverage test compares them with the spec).
  const std::vector<route>& routes() const { return routes_; }
  /// Feeds the `jobserver_cluster_members` gauge (1 until clustering sets it).
  void set_cluster_members(std::function<int()> count);

 private:
  void install_routes();

  const config::settings& settings_;
  actors::node& node_;
  std::unique_ptr<authenticator> auth_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  int listen_fd_ = -1;
  std::vector<route> routes_;
  std::shared_ptr<std::function<int()>> cluster_members_ = std::make_shared<std::function<int()>>();
};

}  // namespace jobserver::http
