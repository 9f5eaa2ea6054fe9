#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <unistd.h>

#include <fstream>
#include <memory>

#include "http/auth.hpp"
#include "http/jwks.hpp"
#include "tests/fuzz/targets.hpp"

namespace jobserver::fuzz {
namespace {

const std::string secret = "fuzz-secret-of-at-least-thirty-two-bytes";

const http::authenticator& hs256_auth() {
  static const auto auth = [] {
    config::settings s;
    s.auth_mode = "jwt";
    s.auth_jwt_secret = secret;
    s.auth_jwt_issuer = "fuzz-issuer";
    s.auth_jwt_audience = "fuzz-audience";
    return http::make_authenticator(s);
  }();
  return *auth;
}

std::string base64url(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

/// A compact HS256 JWS of `header` and `claims` (any bytes), signed with the secret.
std::string signed_token(const std::string& header, const std::string& claims) {
  const std::string input = base64url(header) + "." + base64url(claims);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return input + "." + base64url({reinterpret_cast<char*>(mac), len});
}

void authenticate(const std::string& authorization) {
  try {
    auto who = hs256_auth().authenticate(authorization, "ignored");
    require(!who.user_id.empty() && who.user_id.size() <= 128, "subject length not checked");
    for (unsigned char c : who.user_id) require(c >= 0x20 && c != 0x7f, "control character in subject");
  } catch (const app_error& e) {
    expect_code(e, {errc::unauthorized});
  }
}

void jwks(const std::string& text) {
  static const std::string path = "/tmp/jobserver-fuzz-jwks-" + std::to_string(::getpid()) + ".json";
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  try {
    auto keys = http::load_jwks(path);
    require(!keys.empty(), "load_jwks returned no key without an error");
  } catch (const app_error& e) {
    expect_code(e, {errc::invalid_input});
  }
}

}  // namespace

void jwt(const uint8_t* data, size_t size) {
  if (size == 0) return;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      authenticate(rest);
      auto decoded = http::decode_base64url(rest);
      if (decoded) require(base64url(*decoded) == rest, "base64url does not round-trip");
      break;
    }
    case 1: {
      const auto nl = rest.find('\n');
      const auto header = nl == std::string::npos ? std::string{R"({"alg":"HS256","typ":"JWT"})"}
                                                  : rest.substr(0, nl);
      authenticate("Bearer " + signed_token(header, nl == std::string::npos ? rest : rest.substr(nl + 1)));
      break;
    }
    default:
      jwks(rest);
  }
}

}  // namespace jobserver::fuzz
