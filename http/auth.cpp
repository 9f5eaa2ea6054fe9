#include "http/auth.hpp"

#include <arpa/inet.h>
#include <jwt.h>
#include <rapidjson/document.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string_view>
#include <vector>

#include "config/errors.hpp"
#include "config/log.hpp"
#include "http/jwks.hpp"

namespace jobserver::http {

namespace {

constexpr const char* default_dev_user = "dev-user-001";
constexpr size_t max_user_id_chars = 128;
constexpr size_t max_token_bytes = 8192;
constexpr double leeway_seconds = 60;
constexpr size_t min_secret_bytes = 32;

[[noreturn]] void unauthorized(const char* message) {
  throw app_error(errc::unauthorized, message);
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

bool valid_dev_user_id(const std::string& id) {
  if (id.empty() || id.size() > max_user_id_chars) return false;
  for (unsigned char c : id)
    if (!std::isalnum(c) && std::strchr("._@:-", c) == nullptr) return false;
  return true;
}

class dev_authenticator final : public authenticator {
 public:
  identity authenticate(const std::string& /*authorization*/,
                        const std::string& x_user_id) const override {
    if (x_user_id.empty()) return {default_dev_user};
    if (!valid_dev_user_id(x_user_id)) unauthorized("Invalid X-User-ID");
    return {x_user_id};
  }
};

/// The token of "Bearer <token>", surrounded by optional blanks.
std::string bearer_token(const std::string& authorization) {
  constexpr const char* blanks = " \t";
  const size_t scheme_begin = authorization.find_first_not_of(blanks);
  if (scheme_begin == std::string::npos) unauthorized("Missing bearer token");
  const size_t scheme_end = authorization.find_first_of(blanks, scheme_begin);
  const std::string_view header{authorization};
  if (!iequals(header.substr(scheme_begin, scheme_end - scheme_begin), "Bearer"))
    unauthorized("Missing bearer token");
  const size_t token_begin = authorization.find_first_not_of(blanks, scheme_end);
  if (scheme_end == std::string::npos || token_begin == std::string::npos)
    unauthorized("Malformed Authorization header");
  const size_t token_end = authorization.find_first_of(blanks, token_begin);
  if (token_end != std::string::npos &&
      authorization.find_first_not_of(blanks, token_end) != std::string::npos)
    unauthorized("Malformed Authorization header");
  return authorization.substr(token_begin, token_end - token_begin);
}

/// The first segment (the JOSE header) of a compact JWS: three base64url segments
/// joined by dots, the first two non-empty.
std::string_view header_segment(std::string_view token) {
  for (char c : token)
    if (c != '.' && c != '-' && c != '_' && !std::isalnum(static_cast<unsigned char>(c)))
      unauthorized("Invalid token");
  const size_t first = token.find('.');
  const size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (first == 0 || second == std::string_view::npos || second == first + 1 ||
      token.find('.', second + 1) != std::string_view::npos)
    unauthorized("Invalid token");
  return token.substr(0, first);
}

/// `text` parsed as a JSON object with unique member names, or "Invalid token".
rapidjson::Document parse_object(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError() || !doc.IsObject()) unauthorized("Invalid token");
  std::set<std::string_view> names;
  for (const auto& m : doc.GetObject())
    if (!names.insert({m.name.GetString(), m.name.GetStringLength()}).second)
      unauthorized("Invalid token");
  return doc;
}

bool string_equals(const rapidjson::Value& v, const std::string& expected) {
  return v.IsString() && std::string_view{v.GetString(), v.GetStringLength()} == expected;
}

double now_seconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

struct jwt_free_deleter {
  void operator()(jwt_t* p) const { jwt_free(p); }
};
struct c_free_deleter {
  void operator()(char* p) const { std::free(p); }
};

class jwt_authenticator final : public authenticator {
 public:
  jwt_authenticator(const config::settings& s, std::vector<jwk_rsa> keys)
    : secret_(s.auth_jwt_secret),
      keys_(std::move(keys)),
      issuer_(s.auth_jwt_issuer),
      audience_(s.auth_jwt_audience) {}

  identity authenticate(const std::string& authorization,
                        const std::string& /*x_user_id*/) const override {
    const std::string token = bearer_token(authorization);
    if (token.size() > max_token_bytes) unauthorized("Invalid token");
    const verification v = choose_key(header_segment(token));
    jwt_t* raw = nullptr;
    const int rc =
        jwt_decode(&raw, token.c_str(), reinterpret_cast<const unsigned char*>(v.key->data()),
                   static_cast<int>(v.key->size()));
    std::unique_ptr<jwt_t, jwt_free_deleter> jwt{raw};
    if (rc != 0 || !jwt) unauthorized("Invalid token");
    // libjwt reads the header on its own; both readings must agree.
    if (jwt_get_alg(jwt.get()) != v.alg) unauthorized("Unsupported token algorithm");
    return {subject_of(jwt.get())};
  }

 private:
  struct verification {
    jwt_alg_t alg;
    const std::string* key;  // HMAC secret or public key PEM
  };

  /// The algorithm and key for a token, from its header: HS256 only with a secret,
  /// RS256 only with a JWKS, never anything else.
  verification choose_key(std::string_view header_b64) const {
    const auto header_json = decode_base64url(header_b64);
    if (!header_json) unauthorized("Invalid token");
    const rapidjson::Document header = parse_object(*header_json);
    if (header.HasMember("crit")) unauthorized("Invalid token");  // no extension is understood
    const auto alg = header.FindMember("alg");
    if (alg == header.MemberEnd() || !alg->value.IsString()) unauthorized("Invalid token");
    if (string_equals(alg->value, "HS256") && !secret_.empty()) return {JWT_ALG_HS256, &secret_};
    if (!string_equals(alg->value, "RS256") || keys_.empty())
      unauthorized("Unsupported token algorithm");
    const auto kid = header.FindMember("kid");
    if (kid == header.MemberEnd()) {
      if (keys_.size() != 1) unauthorized("Invalid token");
      return {JWT_ALG_RS256, &keys_.front().pem};
    }
    if (!kid->value.IsString()) unauthorized("Invalid token");
    for (const auto& key : keys_)
      if (string_equals(kid->value, key.kid)) return {JWT_ALG_RS256, &key.pem};
    // A set of one key without a kid verifies tokens whatever kid they name.
    if (keys_.size() == 1 && keys_.front().kid.empty()) return {JWT_ALG_RS256, &keys_.front().pem};
    unauthorized("Invalid token");
  }

  /// The `sub` of a verified token whose time, issuer and audience claims pass.
  std::string subject_of(jwt_t* jwt) const {
    std::unique_ptr<char, c_free_deleter> grants{jwt_get_grants_json(jwt, nullptr)};
    if (!grants) unauthorized("Invalid token");
    const rapidjson::Document claims = parse_object(grants.get());
    const double now = now_seconds();

    const auto exp = claims.FindMember("exp");
    if (exp == claims.MemberEnd()) unauthorized("Token has no expiry");
    if (!exp->value.IsNumber()) unauthorized("Invalid token");
    if (now > exp->value.GetDouble() + leeway_seconds) unauthorized("Token expired");

    const auto nbf = claims.FindMember("nbf");
    if (nbf != claims.MemberEnd()) {
      if (!nbf->value.IsNumber()) unauthorized("Invalid token");
      if (nbf->value.GetDouble() > now + leeway_seconds) unauthorized("Token not yet valid");
    }

    if (!issuer_.empty()) {
      const auto iss = claims.FindMember("iss");
      if (iss == claims.MemberEnd() || !string_equals(iss->value, issuer_))
        unauthorized("Invalid token issuer");
    }

    if (!audience_.empty() && !has_audience(claims)) unauthorized("Invalid token audience");

    const auto sub = claims.FindMember("sub");
    if (sub == claims.MemberEnd() || !sub->value.IsString() || sub->value.GetStringLength() == 0)
      unauthorized("Token has no subject");
    std::string user_id{sub->value.GetString(), sub->value.GetStringLength()};
    if (user_id.size() > max_user_id_chars) unauthorized("Invalid token subject");
    for (unsigned char c : user_id)
      if (c < 0x20 || c == 0x7f) unauthorized("Invalid token subject");
    return user_id;
  }

  bool has_audience(const rapidjson::Document& claims) const {
    const auto aud = claims.FindMember("aud");
    if (aud == claims.MemberEnd()) return false;
    if (aud->value.IsArray()) {
      for (const auto& a : aud->value.GetArray())
        if (string_equals(a, audience_)) return true;
      return false;
    }
    return string_equals(aud->value, audience_);
  }

  std::string secret_;
  std::vector<jwk_rsa> keys_;
  std::string issuer_;
  std::string audience_;
};

}  // namespace

bool is_loopback_bind(const std::string& bind) {
  std::string host = bind;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (iequals(host, "localhost")) return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) != 1) return false;
  if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
  return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

std::unique_ptr<authenticator> make_authenticator(const config::settings& s) {
  auto log = logger("auth");
  if (s.auth_mode == "dev") {
    if (is_loopback_bind(s.bind)) {
      log->info("dev auth: the X-User-ID header names the user (default {})", default_dev_user);
    } else if (s.allow_dev_auth_on_network) {
      log->warn(
          "dev auth on non-loopback BIND {}: any client can act as any user "
          "(ALLOW_DEV_AUTH_ON_NETWORK is set)",
          s.bind);
    } else {
      const std::string fix =
          "use AUTH_MODE=jwt, BIND=127.0.0.1, or ALLOW_DEV_AUTH_ON_NETWORK=true";
      throw app_error(errc::invalid_input,
                      "AUTH_MODE=dev is refused on non-loopback BIND " + s.bind + ": " + fix);
    }
    return std::make_unique<dev_authenticator>();
  }
  if (s.auth_mode != "jwt")
    throw app_error(errc::invalid_input,
                    "invalid AUTH_MODE " + s.auth_mode + ": expected dev or jwt");
  if (s.auth_jwt_secret.empty() && s.auth_jwt_jwks.empty())
    throw app_error(errc::invalid_input, "AUTH_MODE=jwt needs AUTH_JWT_SECRET or AUTH_JWT_JWKS");
  std::vector<jwk_rsa> keys;
  if (!s.auth_jwt_jwks.empty()) keys = load_jwks(s.auth_jwt_jwks);
  if (!s.auth_jwt_secret.empty() && s.auth_jwt_secret.size() < min_secret_bytes)
    log->warn("AUTH_JWT_SECRET is shorter than {} bytes: HS256 tokens can be brute-forced",
              min_secret_bytes);
  log->info("jwt auth: HS256 {}, RS256 {} key(s), issuer {}, audience {}",
            s.auth_jwt_secret.empty() ? "off" : "on", keys.size(),
            s.auth_jwt_issuer.empty() ? "not checked" : s.auth_jwt_issuer,
            s.auth_jwt_audience.empty() ? "not checked" : s.auth_jwt_audience);
  return std::make_unique<jwt_authenticator>(s, std::move(keys));
}

}  // namespace jobserver::http
