// The browser UI (web/*, embedded at build time) and the identity route it starts from.
#include "http/web_routes.hpp"

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>

#include "http/auth.hpp"
#include "http/errors.hpp"
#include "http/json.hpp"
#include "http/request.hpp"
#include "http/web_assets.hpp"

namespace jobserver::http {
namespace {

// Every file is revalidated (no-cache + ETag): an upgraded binary is seen at once, and an
// unchanged file costs a 304 without a body.
constexpr const char* cache_control = "no-cache";
constexpr const char* page_policy =
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

struct served_file {
  std::string_view body;
  std::string content_type;
  std::string etag;
};

std::string content_type_of(std::string_view path) {
  auto dot = path.rfind('.');
  auto ext = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "js" || ext == "mjs") return "text/javascript; charset=utf-8";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "json") return "application/json";
  return "text/plain; charset=utf-8";
}

/// A strong validator: FNV-1a 64 of the bytes.
std::string etag_of(std::string_view body) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : body) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[24];
  std::snprintf(buf, sizeof buf, "\"%016llx\"", static_cast<unsigned long long>(h));
  return buf;
}

const std::map<std::string, served_file, std::less<>>& files() {
  static const auto table = [] {
    std::map<std::string, served_file, std::less<>> t;
    for (const auto& a : embedded_web_assets())
      t[std::string{a.path}] = {a.body, content_type_of(a.path), etag_of(a.body)};
    return t;
  }();
  return table;
}

void serve(const httplib::Request& req, httplib::Response& res, const served_file& f) {
  res.set_header("Cache-Control", cache_control);
  res.set_header("ETag", f.etag);
  res.set_header("X-Content-Type-Options", "nosniff");
  if (f.content_type.rfind("text/html", 0) == 0) {
    res.set_header("Content-Security-Policy", page_policy);
    res.set_header("Referrer-Policy", "no-referrer");
  }
  if (req.get_header_value("If-None-Match") == f.etag) {
    res.status = 304;
    return;
  }
  res.status = 200;
  res.set_content(f.body.data(), f.body.size(), f.content_type.c_str());
}

}  // namespace

void add_identity_route(router& r, const config::settings& settings, const authenticator& auth) {
  r.get("/me", [&](const httplib::Request& req, httplib::Response& res) {
    auto user = owner_of(auth, req);
    rapidjson::Document d;
    d.SetObject();
    auto& a = d.GetAllocator();
    d.AddMember("user_id", rapidjson::Value(user.c_str(), a), a);
    d.AddMember("auth_mode", rapidjson::Value(settings.auth_mode.c_str(), a), a);
    send_json(res, 200, to_json(d));
  });
}

void add_web_routes(httplib::Server& server) {
  server.Get("/", [](const httplib::Request& req, httplib::Response& res) {
    auto f = files().find("/index.html");
    if (f == files().end()) return send_error(res, 404, "Not found", "not_found");
    serve(req, res, f->second);
  });
  server.Get(R"(/[A-Za-z0-9_-]+\.(html|css|js|mjs|svg|txt|json))",
             [](const httplib::Request& req, httplib::Response& res) {
               auto f = files().find(req.path);
               if (f == files().end()) return send_error(res, 404, "Not found", "not_found");
               serve(req, res, f->second);
             });
}

}  // namespace jobserver::http
