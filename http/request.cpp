#include "http/request.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>

#include "config/errors.hpp"
#include "http/errors.hpp"
#include "persistence/job.hpp"

namespace jobserver::http {

rapidjson::Document parse_json_object(const httplib::Request& req) {
  if (req.body.size() > max_json_body) throw app_error(errc::too_large, "Request body too large");
  auto type = req.get_header_value("Content-Type");
  if (!type.empty() && type.find("json") == std::string::npos)
    throw app_error(errc::unsupported, "Content-Type must be application/json");
  rapidjson::Document d;
  d.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(
      req.body.c_str(), req.body.size());
  if (d.HasParseError()) throw app_error(errc::invalid_input, "Request body is not valid JSON");
  if (!d.IsObject()) throw app_error(errc::invalid_input, "Request body must be a JSON object");
  check_storable(d);
  return d;
}

void check_storable(const rapidjson::Value& v, int depth) {
  if (depth > 32) throw app_error(errc::invalid_input, "JSON nested too deeply");
  auto check_string = [](const rapidjson::Value& s) {
    if (std::memchr(s.GetString(), '\0', s.GetStringLength()) != nullptr)
      throw app_error(errc::invalid_input, "Strings must not contain NUL characters");
    // RapidJSON 1.1 turns a lone low-surrogate escape ("\udc00") into invalid UTF-8,
    // which Postgres refuses (issue 9: it answered 500, and 503 for a job).
    if (!is_valid_utf8({s.GetString(), s.GetStringLength()}))
      throw app_error(errc::invalid_input, "Strings must be valid Unicode");
  };
  if (v.IsString()) {
    check_string(v);
  } else if (v.IsDouble() && !std::isfinite(v.GetDouble())) {
    // RapidJSON 1.1 checks only the written exponent: 1234...e307 becomes infinity,
    // which its writer drops, leaving JSON that Postgres refuses (issue 9: 503).
    throw app_error(errc::invalid_input, "Number out of range");
  } else if (v.IsArray()) {
    for (const auto& x : v.GetArray()) check_storable(x, depth + 1);
  } else if (v.IsObject()) {
    for (const auto& m : v.GetObject()) {
      check_string(m.name);
      check_storable(m.value, depth + 1);
    }
  }
}

bool is_valid_utf8(const std::string& s) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  size_t i = 0, n = s.size();
  while (i < n) {
    unsigned char c = byte(i);
    size_t len = c < 0x80 ? 1 : (c >= 0xC2 && c <= 0xDF) ? 2 : (c >> 4) == 0xE ? 3
               : (c >= 0xF0 && c <= 0xF4) ? 4 : 0;
    if (len == 0 || i + len > n) return false;
    for (size_t k = 1; k < len; ++k)
      if ((byte(i + k) & 0xC0) != 0x80) return false;
    if ((c == 0xE0 && byte(i + 1) < 0xA0) || (c == 0xED && byte(i + 1) >= 0xA0) ||
        (c == 0xF0 && byte(i + 1) < 0x90) || (c == 0xF4 && byte(i + 1) >= 0x90))
      return false;
    i += len;
  }
  return true;
}

bool reject_declared_length(const httplib::Request& req, httplib::Response& res) {
  if (!req.has_header("Content-Length")) return false;
  const auto v = req.get_header_value("Content-Length");
  const bool number = !v.empty() && v.size() <= 18 &&
                      std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); });
  const bool upload = req.path == "/upload/pdf-structured" || req.path == "/api/upload/pdf-structured";
  if (number && (upload || std::stoull(v) <= max_json_body)) return false;
  res.set_header("Connection", "close");  // the body is never read
  if (!number) send_error(res, 400, "Invalid Content-Length", "invalid_input");
  else send_error(res, 413, "Request body too large", "too_large");
  return true;
}

std::string owner_of(const authenticator& auth, const httplib::Request& req) {
  return auth.authenticate(req.get_header_value("Authorization"), req.get_header_value("X-User-ID"))
      .user_id;
}

std::string path_uuid(const httplib::Request& req, size_t index, const char* what) {
  if (req.matches.size() <= index) throw app_error(errc::invalid_input, std::string{"Missing "} + what);
  std::string id = req.matches[index].str();
  if (!persistence::is_uuid(id)) throw app_error(errc::invalid_input, std::string{"Invalid "} + what);
  std::transform(id.begin(), id.end(), id.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return id;
}

std::string string_member(const rapidjson::Value& obj, const char* key, size_t max_len) {
  if (!obj.HasMember(key) || obj[key].IsNull()) return {};
  const auto& v = obj[key];
  if (!v.IsString()) throw app_error(errc::invalid_input, std::string{key} + " must be a string");
  if (v.GetStringLength() > max_len) throw app_error(errc::invalid_input, std::string{key} + " is too long");
  return {v.GetString(), v.GetStringLength()};
}

}  // namespace jobserver::http
