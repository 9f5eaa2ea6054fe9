#include "http/auth.hpp"

#include <catch2/catch.hpp>
#include <httplib.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "config/errors.hpp"

using jobserver::app_error;
using jobserver::errc;
using jobserver::config::settings;
using jobserver::http::authenticator;
using jobserver::http::is_loopback_bind;
using jobserver::http::make_authenticator;

namespace {

const std::string secret = "a-test-secret-of-at-least-thirty-two-bytes";

long now() {
  using namespace std::chrono;
  return static_cast<long>(duration_cast<seconds>(system_clock::now().time_since_epoch()).count());
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

std::string hmac_sha256(const std::string& key, const std::string& data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  return {reinterpret_cast<char*>(mac), len};
}

/// A token signed by libjwt: `claims` is a JSON object, `kid` added to the header if set.
std::string sign(jwt_alg_t alg, const std::string& key, const std::string& claims,
                 const std::string& kid = "") {
  jwt_t* jwt = nullptr;
  REQUIRE(jwt_new(&jwt) == 0);
  REQUIRE(jwt_add_grants_json(jwt, claims.c_str()) == 0);
  if (!kid.empty()) REQUIRE(jwt_add_header(jwt, "kid", kid.c_str()) == 0);
  REQUIRE(jwt_set_alg(jwt, alg, reinterpret_cast<const unsigned char*>(key.data()),
                      static_cast<int>(key.size())) == 0);
  char* text = jwt_encode_str(jwt);
  jwt_free(jwt);
  REQUIRE(text != nullptr);
  std::string token = text;
  free(text);
  return token;
}

std::string claims_for(const std::string& sub, long exp_offset = 3600,
                       const std::string& extra = "") {
  return R"({"sub":")" + sub + R"(","exp":)" + std::to_string(now() + exp_offset) + extra + "}";
}

/// An RSA key pair as PEM texts and JWK modulus/exponent.
struct rsa_key {
  std::string private_pem;
  std::string public_pem;
  std::string n;  // base64url
  std::string e;  // base64url

  std::string jwk(const std::string& kid) const {
    return R"({"kty":"RSA","alg":"RS256","use":"sig",)" +
           (kid.empty() ? std::string() : R"("kid":")" + kid + R"(",)") + R"("n":")" + n +
           R"(","e":")" + e + R"("})";
  }
};

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return {data, static_cast<size_t>(size)};
}

std::string bn_base64url(const EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  REQUIRE(EVP_PKEY_get_bn_param(key, name, &bn) == 1);
  std::string bytes(static_cast<size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(bytes.data()));
  BN_free(bn);
  return base64url(bytes);
}

rsa_key generate_rsa(unsigned bits) {
  EVP_PKEY* key = EVP_RSA_gen(bits);
  REQUIRE(key != nullptr);
  rsa_key out;
  BIO* priv = BIO_new(BIO_s_mem());
  BIO* pub = BIO_new(BIO_s_mem());
  REQUIRE(PEM_write_bio_PrivateKey(priv, key, nullptr, nullptr, 0, nullptr, nullptr) == 1);
  REQUIRE(PEM_write_bio_PUBKEY(pub, key) == 1);
  out.private_pem = bio_text(priv);
  out.public_pem = bio_text(pub);
  out.n = bn_base64url(key, OSSL_PKEY_PARAM_RSA_N);
  out.e = bn_base64url(key, OSSL_PKEY_PARAM_RSA_E);
  BIO_free(priv);
  BIO_free(pub);
  EVP_PKEY_free(key);
  return out;
}

/// Three 2048-bit keys, generated once per run.
const rsa_key& test_key(size_t i) {
  static const std::vector<rsa_key> keys = {generate_rsa(2048), generate_rsa(2048),
                                            generate_rsa(2048)};
  return keys.at(i);
}

/// A temporary directory for JWKS files, removed at destruction.
struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    path = std::filesystem::temp_directory_path() /
           ("jobserver-auth-test-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(path);
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
};

std::string jwks_of(std::initializer_list<std::string> jwks) {
  std::string keys;
  for (const auto& k : jwks) keys += (keys.empty() ? "" : ",") + k;
  return R"({"keys":[)" + keys + "]}";
}

settings jwt_settings(const std::string& secret_value, const std::string& jwks = "") {
  settings s;
  s.auth_mode = "jwt";
  s.auth_jwt_secret = secret_value;
  s.auth_jwt_jwks = jwks;
  return s;
}

std::string user_of(const authenticator& a, const std::string& token) {
  return a.authenticate("Bearer " + token, "").user_id;
}

/// The message of the 401 that `authorization` earns; also checks that the message
/// carries neither the token nor the HS256 secret.
std::string refusal(const authenticator& a, const std::string& authorization,
                    const std::string& x_user_id = "") {
  try {
    const auto who = a.authenticate(authorization, x_user_id);
    FAIL("accepted as " << who.user_id);
  } catch (const app_error& e) {
    CHECK(e.code() == errc::unauthorized);
    const std::string message = e.what();
    CHECK(message.find(secret) == std::string::npos);
    const auto space = authorization.rfind(' ');
    const std::string token = authorization.substr(space == std::string::npos ? 0 : space + 1);
    if (token.size() > 8) CHECK(message.find(token) == std::string::npos);
    return message;
  }
  return {};
}

std::string config_error(const settings& s) {
  try {
    make_authenticator(s);
    FAIL("make_authenticator accepted the settings");
  } catch (const app_error& e) {
    CHECK(e.code() == errc::invalid_input);
    return e.what();
  }
  return {};
}

}  // namespace

// ---------------------------------------------------------------------------- dev mode

TEST_CASE("dev mode names the default user when X-User-ID is absent", "[auth][dev]") {
  auto a = make_authenticator(settings{});
  CHECK(a->authenticate("", "").user_id == "dev-user-001");
}

TEST_CASE("dev mode takes the user from the X-User-ID header", "[auth][dev]") {
  auto a = make_authenticator(settings{});
  CHECK(a->authenticate("", "alice@example.com").user_id == "alice@example.com");
  CHECK(a->authenticate("Bearer ignored", "svc:worker-1_2.x").user_id == "svc:worker-1_2.x");
  CHECK(a->authenticate("", std::string(128, 'u')).user_id == std::string(128, 'u'));
}

TEST_CASE("dev mode refuses an X-User-ID outside [A-Za-z0-9._@:-] or over 128 characters",
          "[auth][dev]") {
  auto a = make_authenticator(settings{});
  for (const std::string& bad : std::vector<std::string>{
           "bob smith", "bob/../x", "bob\n", "<script>", "b\xc3\xa9", "a,b", std::string(129, 'u')})
    CHECK(refusal(*a, "", bad) == "Invalid X-User-ID");
}

TEST_CASE("dev mode is refused on a non-loopback bind unless explicitly allowed", "[auth][dev]") {
  settings s;
  for (const std::string bind : {"0.0.0.0", "::", "192.168.1.10"}) {
    s.bind = bind;
    s.allow_dev_auth_on_network = false;
    CHECK(config_error(s).find("ALLOW_DEV_AUTH_ON_NETWORK") != std::string::npos);
    s.allow_dev_auth_on_network = true;
    CHECK(make_authenticator(s)->authenticate("", "carol").user_id == "carol");
  }
  s.allow_dev_auth_on_network = false;
  for (const std::string bind : {"127.0.0.1", "::1", "localhost"}) {
    s.bind = bind;
    CHECK_NOTHROW(make_authenticator(s));
  }
}

TEST_CASE("only 127.0.0.0/8, ::1 and localhost count as loopback binds", "[auth][dev]") {
  for (const std::string yes :
       {"127.0.0.1", "127.5.6.7", "::1", "[::1]", "localhost", "LocalHost", "::ffff:127.0.0.1"})
    CHECK(is_loopback_bind(yes));
  for (const std::string no : {"", "0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "126.255.255.255",
                               "example.com", "localhost.example.com", "::2", "::ffff:10.0.0.1"})
    CHECK_FALSE(is_loopback_bind(no));
}

// ------------------------------------------------------------------------- HS256 tokens

TEST_CASE("a valid HS256 token yields its subject as the user id", "[auth][jwt]") {
  auto a = make_authenticator(jwt_settings(secret));
  const std::string token = sign(JWT_ALG_HS256, secret, claims_for("user-42"));
  CHECK(user_of(*a, token) == "user-42");
  CHECK(a->authenticate("bearer  " + token + " ", "ignored-header").user_id == "user-42");
}

TEST_CASE("an expired token is refused, but not within the 60 s leeway", "[auth][jwt]") {
  auto a = make_authenticator(jwt_settings(secret));
  CHECK(refusal(*a, "Bearer " + sign(JWT_ALG_HS256, secret, claims_for("u", -120))) ==
        "Token expired");
  CHECK(user_of(*a, sign(JWT_ALG_HS256, secret, claims_for("u", -20))) == "u");
}

TEST_CASE("a token without exp is refused", "[auth][jwt]") {
  auto a = make_authenticator(jwt_settings(secret));
  CHECK(refusal(*a, "Bearer " + sign(JWT_ALG_HS256, secret, R"({"sub":"u"})")) ==
        "Token has no expiry");
}

TEST_CASE("a token whose nbf lies beyond the leeway is refused", "[auth][jwt]") {
  auto a = make_authenticator(jwt_settings(secret));
  const auto nbf = [](long offset) { return ",\"nbf\":" + std::to_string(now() + offset); };
  CHECK(refusal(*a, "Bearer " + sign(JWT_ALG_HS256, secret, claims_for("u", 3600, nbf(600)))) ==
        "Token not yet valid");
  CHECK(user_of(*a, sign(JWT_ALG_HS256, secret, claims_for("u", 3600, nbf(20)))) == "u");
  CHECK(user_of(*a, sign(JWT_ALG_HS256, secret, claims_for("u", 3600, nbf(-600)))) == "u");
}

TEST_CASE("a token signed with another secret is refused", "[auth][jwt]") {
  auto a = make_authenticator(jwt_settings(secret));
  const std::string token = sign(JWT_ALG_HS256, secret + "-but-different", claims_for("u"));
  CHECK(refusal(*a, "Bearer " + token) == "Invalid token");
}

TEST_CASE("an unsigned alg none token is refused", "[auth][jwt]") {
  auto a = make_authenticator(jwt_settings(secret));
  const std::string payload = base64url(claims_for("admin"));
  for (const std::string header :
       {R"({"alg":"none"})", R"({"alg":"none","typ":"JWT"})", R"({"alg":"None"})"})
    CHECK(refusal(*a, "Bearer " + base64url(header) + "." + payload + ".") ==
          "Unsupported token algorithm");
}

TEST_CASE("a token in another algorithm than HS256 or RS256 is refused", "[auth][jwt]") {
  auto a = make_authenticator(jwt_settings(secret));
  CHECK(refusal(*a, "Bearer " + sign(JWT_ALG_HS384, secret, claims_for("u"))) ==
        "Unsupported token algorithm");
  CHECK(refusal(*a, "Bearer " + sign(JWT_ALG_HS512, secret, claims_for("u"))) ==
        "Unsupported token algorithm");
}

TEST_CASE("a token with a tampered payload is refused", "[auth][jwt]") {
  auto a = make_authenticator(jwt_settings(secret));
  const std::string token = sign(JWT_ALG_HS256, secret, claims_for("alice"));
  const size_t first = token.find('.');
  const size_t second = token.find('.', first + 1);
  const std::string forged =
      token.substr(0, first + 1) + base64url(claims_for("admin")) + token.substr(second);
  CHECK(user_of(*a, token) == "alice");
  CHECK(refusal(*a, "Bearer " + forged) == "Invalid token");
}

TEST_CASE("malformed tokens are refused as invalid", "[auth][jwt]") {
  auto a = make_authenticator(jwt_settings(secret));
  const std::string good = sign(JWT_ALG_HS256, secret, claims_for("u"));
  const std::string header = good.substr(0, good.find('.'));
  const std::string payload = base64url(claims_for("u"));
  const auto signed_with = [&](const std::string& head) {
    const std::string input = head + "." + payload;
    return input + "." + base64url(hmac_sha256(secret, input));
  };
  SECTION("not three segments") {
    CHECK(refusal(*a, "Bearer " + header + "." + payload) == "Invalid token");
    CHECK(refusal(*a, "Bearer " + good + ".extra") == "Invalid token");
    CHECK(refusal(*a, "Bearer " + std::string("..")) == "Invalid token");
    CHECK(refusal(*a, "Bearer abc") == "Invalid token");
  }
  SECTION("bad base64url") {
    CHECK(refusal(*a, "Bearer " + header + "=." + payload + ".sig") == "Invalid token");
    CHECK(refusal(*a, "Bearer " + header.substr(0, header.size() - 1) + "*." + payload + ".x") ==
          "Invalid token");
    CHECK(refusal(*a, "Bearer a." + payload + ".x") == "Invalid token");  // impossible length
  }
  SECTION("a header that is not a JSON object") {
    CHECK(refusal(*a, "Bearer " + signed_with(base64url("not json"))) == "Invalid token");
    CHECK(refusal(*a, "Bearer " + signed_with(base64url(R"(["HS256"])"))) == "Invalid token");
    CHECK(refusal(*a, "Bearer " + signed_with(base64url(R"({"typ":"JWT"})"))) == "Invalid token");
  }
  SECTION("an empty or mangled signature") {
    CHECK(refusal(*a, "Bearer " + good.substr(0, good.rfind('.') + 1)) == "Invalid token");
    std::string flipped = good;
    flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
    CHECK(refusal(*a, "Bearer " + flipped) == "Invalid token");
  }
  SECTION("a token over 8 KB, even when correctly signed") {
    const std::string big =
        sign(JWT_ALG_HS256, secret,
             claims_for("u", 3600, R"(,"pad":")" + std::string(8300, 'x') + "\""));
    CHECK(refusal(*a, "Bearer " + big) == "Invalid token");
  }
  SECTION("the well-formed control token passes") {
    CHECK(user_of(*a, signed_with(header)) == "u");
  }
}

TEST_CASE("a request without a Bearer token is refused", "[auth][jwt]") {
  auto a = make_authenticator(jwt_settings(secret));
  const std::string token = sign(JWT_ALG_HS256, secret, claims_for("u"));
  CHECK(refusal(*a, "") == "Missing bearer token");
  CHECK(refusal(*a, "   ") == "Missing bearer token");
  CHECK(refusal(*a, "Basic dXNlcjpwYXNz") == "Missing bearer token");
  CHECK(refusal(*a, token) == "Missing bearer token");
  CHECK(refusal(*a, "Bearer") == "Malformed Authorization header");
  CHECK(refusal(*a, "Bearer   ") == "Malformed Authorization header");
  CHECK(refusal(*a, "Bearer " + token + " " + token) == "Malformed Authorization header");
  CHECK(refusal(*a, "", "dev-user-001") == "Missing bearer token");  // X-User-ID is ignored
}

TEST_CASE("the issuer and audience are checked when configured", "[auth][jwt]") {
  auto s = jwt_settings(secret);
  s.auth_jwt_issuer = "https://issuer.example";
  s.auth_jwt_audience = "jobserver";
  auto a = make_authenticator(s);
  const auto token = [](const std::string& extra) {
    return sign(JWT_ALG_HS256, secret, claims_for("u", 3600, extra));
  };
  const std::string iss = R"(,"iss":"https://issuer.example")";
  CHECK(user_of(*a, token(iss + R"(,"aud":"jobserver")")) == "u");
  CHECK(user_of(*a, token(iss + R"(,"aud":["other","jobserver"])")) == "u");
  CHECK(refusal(*a, "Bearer " + token(R"(,"iss":"https://evil.example","aud":"jobserver")")) ==
        "Invalid token issuer");
  CHECK(refusal(*a, "Bearer " + token(R"(,"aud":"jobserver")")) == "Invalid token issuer");
  CHECK(refusal(*a, "Bearer " + token(iss + R"(,"aud":"other")")) == "Invalid token audience");
  CHECK(refusal(*a, "Bearer " + token(iss + R"(,"aud":["a","b"])")) == "Invalid token audience");
  CHECK(refusal(*a, "Bearer " + token(iss)) == "Invalid token audience");
}

TEST_CASE("issuer and audience are not required when not configured", "[auth][jwt]") {
  auto a = make_authenticator(jwt_settings(secret));
  CHECK(user_of(*a, sign(JWT_ALG_HS256, secret,
                         claims_for("u", 3600, R"(,"iss":"any","aud":"any")"))) == "u");
}

TEST_CASE("a token without a usable subject is refused", "[auth][jwt]") {
  auto a = make_authenticator(jwt_settings(secret));
  const std::string exp = std::to_string(now() + 3600);
  CHECK(refusal(*a, "Bearer " + sign(JWT_ALG_HS256, secret, R"({"exp":)" + exp + "}")) ==
        "Token has no subject");
  CHECK(refusal(*a, "Bearer " + sign(JWT_ALG_HS256, secret, claims_for(""))) ==
        "Token has no subject");
  CHECK(refusal(*a, "Bearer " + sign(JWT_ALG_HS256, secret, R"({"sub":42,"exp":)" + exp + "}")) ==
        "Token has no subject");
  CHECK(refusal(*a, "Bearer " + sign(JWT_ALG_HS256, secret, claims_for(std::string(129, 's')))) ==
        "Invalid token subject");
  CHECK(user_of(*a, sign(JWT_ALG_HS256, secret, claims_for(std::string(128, 's')))) ==
        std::string(128, 's'));
}

// ------------------------------------------------------------------------ RS256 and JWKS

TEST_CASE("an RS256 token verified by a JWKS file key yields its subject", "[auth][jwks]") {
  temp_dir dir;
  auto a = make_authenticator(
      jwt_settings("", dir.write("jwks.json", jwks_of({test_key(0).jwk("k0")}))));
  CHECK(user_of(*a, sign(JWT_ALG_RS256, test_key(0).private_pem, claims_for("rs-user"), "k0")) ==
        "rs-user");
  CHECK(user_of(*a, sign(JWT_ALG_RS256, test_key(0).private_pem, claims_for("rs-user"))) ==
        "rs-user");  // no kid: the only key
}

TEST_CASE("an RS256 token signed by a key outside the JWKS is refused", "[auth][jwks]") {
  temp_dir dir;
  auto a = make_authenticator(
      jwt_settings("", dir.write("jwks.json", jwks_of({test_key(0).jwk("k0")}))));
  CHECK(refusal(*a, "Bearer " + sign(JWT_ALG_RS256, test_key(1).private_pem, claims_for("u"),
                                     "k0")) == "Invalid token");
  CHECK(refusal(*a, "Bearer " + sign(JWT_ALG_RS256, test_key(1).private_pem, claims_for("u"))) ==
        "Invalid token");
}

TEST_CASE("the kid in the token header selects among several JWKS keys", "[auth][jwks]") {
  temp_dir dir;
  auto a = make_authenticator(jwt_settings(
      "", dir.write("jwks.json", jwks_of({test_key(0).jwk("a"), test_key(1).jwk("b")}))));
  CHECK(user_of(*a, sign(JWT_ALG_RS256, test_key(0).private_pem, claims_for("ua"), "a")) == "ua");
  CHECK(user_of(*a, sign(JWT_ALG_RS256, test_key(1).private_pem, claims_for("ub"), "b")) == "ub");
  CHECK(refusal(*a, "Bearer " + sign(JWT_ALG_RS256, test_key(1).private_pem, claims_for("u"),
                                     "a")) == "Invalid token");
  CHECK(refusal(*a, "Bearer " + sign(JWT_ALG_RS256, test_key(1).private_pem, claims_for("u"),
                                     "c")) == "Invalid token");
  CHECK(refusal(*a, "Bearer " + sign(JWT_ALG_RS256, test_key(1).private_pem, claims_for("u"))) ==
        "Invalid token");  // no kid, two keys: ambiguous
}

TEST_CASE(
    "an HS256 token signed with the JWKS public key is refused when only a JWKS is "
    "configured",
    "[auth][jwks]") {
  temp_dir dir;
  auto a = make_authenticator(
      jwt_settings("", dir.write("jwks.json", jwks_of({test_key(0).jwk("k0")}))));
  const std::string pem = test_key(0).public_pem;
  CHECK(refusal(*a, "Bearer " + sign(JWT_ALG_HS256, pem, claims_for("admin"), "k0")) ==
        "Unsupported token algorithm");
  CHECK(refusal(*a, "Bearer " + sign(JWT_ALG_HS256, pem, claims_for("admin"))) ==
        "Unsupported token algorithm");
}

TEST_CASE("a header naming alg twice is refused rather than read two ways", "[auth][jwks]") {
  temp_dir dir;
  auto a =
      make_authenticator(jwt_settings("", dir.write("jwks.json", jwks_of({test_key(0).jwk("")}))));
  // RapidJSON would read RS256, jansson (inside libjwt) HS256 keyed with the public PEM.
  const std::string input = base64url(R"({"alg":"RS256","alg":"HS256","typ":"JWT"})") + "." +
                            base64url(claims_for("admin"));
  const std::string token = input + "." + base64url(hmac_sha256(test_key(0).public_pem, input));
  CHECK(refusal(*a, "Bearer " + token) == "Invalid token");
}

TEST_CASE("an RS256 token is refused when only a secret is configured", "[auth][jwt]") {
  auto a = make_authenticator(jwt_settings(secret));
  CHECK(refusal(*a, "Bearer " + sign(JWT_ALG_RS256, test_key(0).private_pem, claims_for("u"))) ==
        "Unsupported token algorithm");
}

TEST_CASE("a secret and a JWKS configured together accept both algorithms", "[auth][jwks]") {
  temp_dir dir;
  auto a = make_authenticator(
      jwt_settings(secret, dir.write("jwks.json", jwks_of({test_key(0).jwk("k0")}))));
  CHECK(user_of(*a, sign(JWT_ALG_HS256, secret, claims_for("hs"))) == "hs");
  CHECK(user_of(*a, sign(JWT_ALG_RS256, test_key(0).private_pem, claims_for("rs"), "k0")) == "rs");
  CHECK(refusal(*a, "Bearer " + sign(JWT_ALG_HS256, test_key(0).public_pem, claims_for("u"))) ==
        "Invalid token");
}

TEST_CASE("make_authenticator refuses a JWKS it cannot read or use", "[auth][jwks]") {
  temp_dir dir;
  const auto error_for = [&](const std::string& name, const std::string& text) {
    return config_error(jwt_settings(secret, dir.write(name, text)));
  };
  const auto contains = [](const std::string& text, const std::string& part) {
    INFO(text);
    return text.find(part) != std::string::npos;
  };
  CHECK(contains(config_error(jwt_settings(secret, (dir.path / "missing.json").string())),
                 "cannot read file"));
  CHECK(contains(error_for("bad.json", R"({"keys":[)"), "is not a JSON object"));
  CHECK(contains(error_for("nokeys.json", "{}"), R"(has no "keys" array)"));
  const std::string ec = R"({"kty":"EC","crv":"P-256","x":"AA","y":"AA"})";
  CHECK(contains(error_for("ec.json", jwks_of({ec})), "no usable RS256 key"));
  std::string rs512 = test_key(0).jwk("k0");
  rs512.replace(rs512.find("RS256"), 5, "RS512");
  CHECK(contains(error_for("rs512.json", jwks_of({rs512})), "no usable RS256 key"));
  const std::string small = generate_rsa(1024).jwk("small");
  CHECK(contains(error_for("small.json", jwks_of({small})), "no usable RS256 key"));
  CHECK(contains(config_error(jwt_settings("", "")), "AUTH_JWT_SECRET"));
}

TEST_CASE("a JWKS served over http is fetched once at start-up", "[auth][jwks]") {
  httplib::Server server;
  std::atomic<int> hits{0};
  const std::string body = jwks_of({test_key(2).jwk("remote")});
  server.Get("/jwks.json", [&](const httplib::Request&, httplib::Response& res) {
    ++hits;
    res.set_content(body, "application/json");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  REQUIRE(port > 0);
  std::thread thread([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const std::string base = "http://127.0.0.1:" + std::to_string(port);

  auto a = make_authenticator(jwt_settings("", base + "/jwks.json"));
  const std::string refusal_text = config_error(jwt_settings("", base + "/missing.json"));
  server.stop();
  thread.join();

  CHECK(refusal_text.find("HTTP 404") != std::string::npos);
  CHECK(hits == 1);
  CHECK(user_of(*a, sign(JWT_ALG_RS256, test_key(2).private_pem, claims_for("far"), "remote")) ==
        "far");
  CHECK(hits == 1);
  CHECK(config_error(jwt_settings("", base + "/jwks.json")).find("cannot fetch") !=
        std::string::npos);  // the server is gone
}
