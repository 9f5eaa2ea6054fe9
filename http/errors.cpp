#include "http/errors.hpp"

#include "http/json.hpp"

namespace jobserver::http {

std::string error_body(const std::string& message, const std::string& code) {
  rapidjson::Document d;
  d.SetObject();
  auto& a = d.GetAllocator();
  d.AddMember("error", rapidjson::Value(message.c_str(), a), a);
  d.AddMember("code", rapidjson::Value(code.c_str(), a), a);
  return to_json(d);
}

int status_of(errc code) {
  switch (code) {
    case errc::ok: return 200;
    case errc::invalid_input: return 400;
    case errc::unauthorized: return 401;
    case errc::not_found: return 404;
    case errc::conflict: return 409;
    case errc::too_large: return 413;
    case errc::unsupported: return 415;
    case errc::unavailable: return 503;
    case errc::upstream_failed: return 502;
    case errc::cancelled: return 409;
    case errc::internal: return 500;
  }
  return 500;
}

void send_json(httplib::Response& res, int status, std::string body) {
  res.status = status;
  res.set_content(std::move(body), "application/json");
}

void send_error(httplib::Response& res, errc code, const std::string& message) {
  send_json(res, status_of(code), error_body(message, to_string(code)));
}

void send_error(httplib::Response& res, int status, const std::string& message,
                const std::string& code) {
  send_json(res, status, error_body(message, code));
}

}  // namespace jobserver::http
