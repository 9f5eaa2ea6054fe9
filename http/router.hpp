#pragma once

#include <httplib.h>

#include <string>

namespace jobserver::http {

/// Registers each handler at `pattern` and at `/api` + `pattern`, with a last-resort
/// catch that answers a generic 500 and logs the cause.
class router {
 public:
  explicit router(httplib::Server& s) : server_(s) {}

  void get(const std::string& pattern, httplib::Server::Handler h);
  void post(const std::string& pattern, httplib::Server::Handler h);
  void del(const std::string& pattern, httplib::Server::Handler h);
  /// A POST whose body the handler reads itself, as it arrives (uploads).
  void post_stream(const std::string& pattern, httplib::Server::HandlerWithContentReader h);

 private:
  httplib::Server& server_;
};

}  // namespace jobserver::http
