#include "http/router.hpp"

#include <chrono>

#include "config/log.hpp"
#include "config/metrics.hpp"
#include "http/errors.hpp"

namespace jobserver::http {
namespace {

/// Counts the request under its route template and status, and times the handler.
void observe(const std::string& route, const httplib::Request& req, const httplib::Response& res,
             std::chrono::steady_clock::time_point started) {
  auto& reg = metrics::global();
  int status = res.status <= 0 ? 200 : res.status;
  reg.get_counter("jobserver_http_requests_total", "HTTP requests by route template and status",
                  {{"method", req.method}, {"route", route}, {"status", std::to_string(status)}})
      .inc();
  reg.get_histogram("jobserver_http_request_seconds",
                    "Handler time of HTTP requests (an event stream: until its first byte)",
                    {{"method", req.method}, {"route", route}})
      .observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

/// Runs `body`, turning any exception into the JSON error it stands for.
template <class F>
void run_guarded(const std::string& route, const httplib::Request& req, httplib::Response& res,
                 F&& body) {
  auto started = std::chrono::steady_clock::now();
  try {
    body();
  } catch (const app_error& e) {
    if (e.code() == errc::internal)
      logger("http")->error("{} {}: {}", req.method, req.path, e.what());
    send_error(res, e.code(), e.code() == errc::internal ? "Internal server error" : e.what());
  } catch (const std::exception& e) {
    logger("http")->error("{} {}: unexpected: {}", req.method, req.path, e.what());
    send_error(res, 500, "Internal server error", "internal");
  }
  observe(route, req, res, started);
}

httplib::Server::Handler guarded(std::string route, httplib::Server::Handler h) {
  return [route = std::move(route), h = std::move(h)](const httplib::Request& req, httplib::Response& res) {
    run_guarded(route, req, res, [&] { h(req, res); });
  };
}

}  // namespace

std::string router::template_of(const std::string& pattern) {
  std::string out = pattern;
  const std::string param = "([^/]+)";
  for (auto p = out.find(param); p != std::string::npos; p = out.find(param, p))
    out.replace(p, param.size(), "{id}");
  return out;
}

std::string router::record(const char* method, const std::string& pattern) {
  auto path = template_of(pattern);
  routes_.push_back({method, path});
  return path;
}

void router::get(const std::string& pattern, httplib::Server::Handler h) {
  auto g = guarded(record("get", pattern), std::move(h));
  server_.Get(pattern, g);
  server_.Get("/api" + pattern, g);
}

void router::post(const std::string& pattern, httplib::Server::Handler h) {
  auto g = guarded(record("post", pattern), std::move(h));
  server_.Post(pattern, g);
  server_.Post("/api" + pattern, g);
}

void router::post_stream(const std::string& pattern, httplib::Server::HandlerWithContentReader h) {
  httplib::Server::HandlerWithContentReader g =
      [route = record("post", pattern), h = std::move(h)](const httplib::Request& req, httplib::Response& res,
                                                          const httplib::ContentReader& reader) {
        run_guarded(route, req, res, [&] { h(req, res, reader); });
      };
  server_.Post(pattern, g);
  server_.Post("/api" + pattern, g);
}

void router::del(const std::string& pattern, httplib::Server::Handler h) {
  auto g = guarded(record("delete", pattern), std::move(h));
  server_.Delete(pattern, g);
  server_.Delete("/api" + pattern, g);
}

}  // namespace jobserver::http
