#include "http/server.hpp"

#include <httplib.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "actors/node.hpp"
#include "config/log.hpp"
#include "http/auth.hpp"
#include "config/metrics.hpp"
#include "http/connection.hpp"
#include "http/content_routes.hpp"
#include "http/event_routes.hpp"
#include "http/ops_routes.hpp"
#include "http/stream_pool.hpp"
#include "http/lesson_routes.hpp"
#include "http/errors.hpp"
#include "http/job_routes.hpp"
#include "http/request.hpp"
#include "http/router.hpp"
#include "http/web_routes.hpp"

namespace jobserver::http {

server::server(const config::settings& settings, actors::node& node)
  : settings_(settings), node_(node), auth_(make_authenticator(settings)),
    http_(std::make_unique<connection_server>()) {
  // Measured settings (docs/operations.md): without TCP_NODELAY every keep-alive answer
  // waits for a delayed ACK, and the default pool starves open connections. Connections
  // are read and written by http/connection.hpp (fewer system calls than cpp-httplib's).
  // Event streams leave this pool while they are open (http/stream_pool.hpp), so they
  // never take the threads that ordinary requests need.
  size_t threads = static_cast<size_t>(settings.http_threads);
  size_t streams = static_cast<size_t>(settings.sse_max_streams);
  http_->new_task_queue = [threads, streams] { return new stream_pool(threads, streams); };
  http_->set_tcp_nodelay(true);
  http_->set_keep_alive_max_count(100000);
  http_->set_keep_alive_timeout(5);
  http_->set_read_timeout(10, 0);   // a client that stops sending mid-request is dropped
  http_->set_write_timeout(10, 0);
  // Keep the listening socket: Debian's build listens with a backlog of 5, which drops
  // connections when a burst of clients arrives; start() widens it.
  http_->set_socket_options([this](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    listen_fd_ = sock;
  });
  http_->set_payload_max_length(static_cast<size_t>(settings.max_upload_mb) * 1024 * 1024 + (1 << 20));
  install_routes();
}

server::~server() { stop(); }

void server::install_routes() {
  router r{*http_};
  r.get("/health", [this](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, "{\"status\":\"ok\",\"node\":\"" + node_.id() + "\"}");
  });
  r.get("/ready", [this](const httplib::Request&, httplib::Response& res) {
    auto ready = node_.check_ready();
    auto state = [](bool up) { return up ? "\"up\"" : "\"down\""; };
    std::string checks = "{\"postgres\":" + std::string{state(ready.postgres)} +
                         ",\"redis\":" + state(ready.redis) + "}";
    if (ready.postgres && ready.redis)
      return send_json(res, 200, "{\"status\":\"ready\",\"checks\":" + checks + "}");
    std::string down = !ready.postgres && !ready.redis ? "Postgres and Redis are"
                       : !ready.postgres             ? "Postgres is"
                                                     : "Redis is";
    send_json(res, 503, "{\"error\":\"" + down + " unavailable\",\"code\":\"not_ready\",\"checks\":" +
                            checks + "}");
  });
  // Operators' view of the cluster (no user data; like /health, not behind user auth).
  r.get("/cluster", [this](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, node_.cluster_json());
  });
  add_event_routes(r, node_, *auth_);  // before /jobs/:id, which would take /jobs/events
  add_job_routes(r, node_, *auth_);
  add_content_routes(r, node_, *auth_);
  add_upload_route(r, node_, *auth_);
  add_lesson_routes(r, node_, *auth_);
  auto members = cluster_members_;
  add_ops_routes(r, node_, [members] { return *members ? (*members)() : 1; });
  add_identity_route(r, settings_, *auth_);
  add_web_routes(*http_);  // after the API: only `/` and `/<name>.<ext>`, never an API path
  routes_ = r.routes();

  // Oversized or malformed declared bodies are answered before cpp-httplib reads them.
  http_->set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    return reject_declared_length(req, res) ? httplib::Server::HandlerResponse::Handled
                                            : httplib::Server::HandlerResponse::Unhandled;
  });
  http_->set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 404)  // no route matched
      metrics::global()
          .get_counter("jobserver_http_requests_total", "HTTP requests by route template and status",
                       {{"method", "any"}, {"route", "unmatched"}, {"status", "404"}})
          .inc();
    switch (res.status) {
      case 404: send_error(res, 404, "Not found", "not_found"); break;
      case 413: send_error(res, 413, "Request body too large", "too_large"); break;
      case 414: send_error(res, 414, "Request URI too long", "too_large"); break;
      case 400: send_error(res, 400, "Bad request", "invalid_input"); break;
      default: send_error(res, res.status, "Request failed", "error"); break;
    }
  });
  http_->set_exception_handler([](const httplib::Request& req, httplib::Response& res,
                                  std::exception_ptr ep) {
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      logger("http")->error("{} {}: unexpected: {}", req.method, req.path, e.what());
    } catch (...) {
      logger("http")->error("{} {}: unexpected non-standard exception", req.method, req.path);
    }
    send_error(res, 500, "Internal server error", "internal");
  });
}

int server::start() {
  // Each open event stream holds a socket: take every descriptor the hard limit allows.
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  int port = settings_.http_port;
  if (!http_->bind_to_port(settings_.bind.c_str(), port))
    throw app_error(errc::unavailable, "cannot listen on " + settings_.bind + ":" + std::to_string(port));
  if (listen_fd_ >= 0) ::listen(listen_fd_, 1024);  // a second listen() resizes the backlog
  thread_ = std::thread([this] { http_->listen_after_bind(); });
  logger("http")->info("listening on http://{}:{}", settings_.bind, port);
  return port;
}

void server::set_cluster_members(std::function<int()> count) { *cluster_members_ = std::move(count); }

void server::stop() {
  node_.events().shutdown();  // open event streams end; their threads are freed
  if (thread_.joinable()) {
    http_->stop();
    thread_.join();
  }
}

}  // namespace jobserver::http
