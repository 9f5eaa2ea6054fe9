// Request parsing found wanting by fuzzing and the bad-input suite (issue 9).
#include <catch2/catch.hpp>

#include "config/errors.hpp"
#include "http/jwks.hpp"
#include "http/request.hpp"
#include "tests/support/catch_errc.hpp"

using jobserver::app_error;
using jobserver::errc;
namespace http = jobserver::http;

namespace {

httplib::Request json_request(const std::string& body) {
  httplib::Request req;
  req.set_header("Content-Type", "application/json");
  req.body = body;
  return req;
}

errc parse_error(const std::string& body) {
  try {
    http::parse_json_object(json_request(body));
  } catch (const app_error& e) {
    return e.code();
  }
  return errc::ok;
}

}  // namespace

TEST_CASE("a lone surrogate escape in any string or name is refused as invalid input (issue 9)",
          "[http][input]") {
  // RapidJSON turns these into bytes that are not UTF-8; Postgres refused them with 500/503.
  CHECK(parse_error(R"({"name":"x\ude00y"})") == errc::invalid_input);
  CHECK(parse_error(R"({"data":{"k":["\udfff"]}})") == errc::invalid_input);
  CHECK(parse_error(R"({"\udc00":1})") == errc::invalid_input);
  CHECK(parse_error(R"({"name":"\ud800"})") == errc::invalid_input);  // RapidJSON's own check
  // ...while a proper pair and plain non-ASCII text pass.
  CHECK(parse_error(R"({"name":"\ud83d\ude00 caf\u00e9"})") == errc::ok);
  CHECK(parse_error("{\"name\":\"caf\xc3\xa9\"}") == errc::ok);
}

TEST_CASE("a number beyond a double's range is refused as invalid input (issue 9)", "[http][input]") {
  // The written exponent is in range, the value is not: RapidJSON yields infinity.
  CHECK(parse_error(R"({"data":{"e":123000000802914994194783e307}})") == errc::invalid_input);
  CHECK(parse_error(R"({"x":[-99999999999999999999999999e300]})") == errc::invalid_input);
  CHECK(parse_error(R"({"x":1e400})") == errc::invalid_input);  // RapidJSON's own check
  CHECK(parse_error(R"({"x":1.7e308,"y":-2.5e-320,"z":18446744073709551616})") == errc::ok);
}

TEST_CASE("base64url text with bits left over after its last byte is refused (issue 9)",
          "[http][auth]") {
  CHECK(http::decode_base64url("QQ") == std::optional<std::string>{"A"});
  CHECK_FALSE(http::decode_base64url("QR"));  // the same byte with a stray low bit
  CHECK(http::decode_base64url("QUI") == std::optional<std::string>{"AB"});
  CHECK_FALSE(http::decode_base64url("QUJ"));
  CHECK_FALSE(http::decode_base64url("beciOiJub25trIi"));  // the input fuzzing found
}

TEST_CASE("a declared body too large or not a number is answered before it is read (issue 9)",
          "[http][input]") {
  auto check = [](const std::string& path, const std::string& length) {
    httplib::Request req;
    req.path = path;
    req.set_header("Content-Length", length);
    httplib::Response res;
    bool rejected = http::reject_declared_length(req, res);
    return rejected ? res.status : 0;
  };
  CHECK(check("/courses", "1048576") == 0);
  CHECK(check("/courses", "1048577") == 413);
  CHECK(check("/jobs/poll", "99999999999999999999") == 400);  // over 18 digits
  CHECK(check("/courses", "-5") == 400);
  CHECK(check("/courses", "12abc") == 400);
  CHECK(check("/courses", "") == 400);
  // The upload route checks its own (larger) limit.
  CHECK(check("/upload/pdf-structured", "40000000") == 0);
  CHECK(check("/api/upload/pdf-structured", "40000000") == 0);
  httplib::Request none;
  httplib::Response res;
  CHECK_FALSE(http::reject_declared_length(none, res));
}
