#include "http/router.hpp"

#include "config/log.hpp"
#include "http/errors.hpp"

namespace jobserver::http {
namespace {

/// Runs `body`, turning any exception into the JSON error it stands for.
template <class F>
void run_guarded(const httplib::Request& req, httplib::Response& res, F&& body) {
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
}

httplib::Server::Handler guarded(httplib::Server::Handler h) {
  return [h = std::move(h)](const httplib::Request& req, httplib::Response& res) {
    run_guarded(req, res, [&] { h(req, res); });
  };
}

}  // namespace

void router::get(const std::string& pattern, httplib::Server::Handler h) {
  auto g = guarded(std::move(h));
  server_.Get(pattern, g);
  server_.Get("/api" + pattern, g);
}

void router::post(const std::string& pattern, httplib::Server::Handler h) {
  auto g = guarded(std::move(h));
  server_.Post(pattern, g);
  server_.Post("/api" + pattern, g);
}

void router::post_stream(const std::string& pattern, httplib::Server::HandlerWithContentReader h) {
  httplib::Server::HandlerWithContentReader g =
      [h = std::move(h)](const httplib::Request& req, httplib::Response& res,
                         const httplib::ContentReader& reader) {
        run_guarded(req, res, [&] { h(req, res, reader); });
      };
  server_.Post(pattern, g);
  server_.Post("/api" + pattern, g);
}

void router::del(const std::string& pattern, httplib::Server::Handler h) {
  auto g = guarded(std::move(h));
  server_.Delete(pattern, g);
  server_.Delete("/api" + pattern, g);
}

}  // namespace jobserver::http
