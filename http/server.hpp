#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "config/settings.hpp"

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

 private:
  void install_routes();

  const config::settings& settings_;
  actors::node& node_;
  std::unique_ptr<authenticator> auth_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  int listen_fd_ = -1;
};

}  // namespace jobserver::http
