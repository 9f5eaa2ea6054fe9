#include "http/jwks.hpp"

#include <curl/curl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <rapidjson/document.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "config/errors.hpp"
#include "config/settings.hpp"

namespace jobserver::http {

namespace {

constexpr size_t max_jwks_bytes = 1 << 20;
constexpr long fetch_timeout_ms = 5000;
constexpr int min_rsa_bits = 2048;

template <class T, void (*Free)(T*)>
struct deleter {
  void operator()(T* p) const { Free(p); }
};
template <class T, void (*Free)(T*)>
using owned = std::unique_ptr<T, deleter<T, Free>>;

void free_bio(BIO* p) { BIO_free(p); }

[[noreturn]] void bad_jwks(const std::string& message) {
  throw app_error(errc::invalid_input, "AUTH_JWT_JWKS: " + message);
}

int base64url_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

bool is_url(const std::string& source) {
  return source.rfind("http://", 0) == 0 || source.rfind("https://", 0) == 0;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) bad_jwks("cannot read file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) bad_jwks("cannot read file " + path);
  std::string body = std::move(text).str();
  if (body.size() > max_jwks_bytes) bad_jwks("file " + path + " is larger than 1 MB");
  return body;
}

size_t append_body(char* data, size_t size, size_t count, void* user) {
  auto* body = static_cast<std::string*>(user);
  if (body->size() + size * count > max_jwks_bytes) return 0;  // aborts the transfer
  body->append(data, size * count);
  return size * count;
}

std::string fetch_url(const std::string& url) {
  const std::string shown = config::redact_url(url);
  owned<CURL, curl_easy_cleanup> curl{curl_easy_init()};
  if (!curl) bad_jwks("cannot start a download of " + shown);
  std::string body;
  char error[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl.get(), CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl.get(), CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_MAXREDIRS, 3L);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, fetch_timeout_ms);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &body);
  const CURLcode rc = curl_easy_perform(curl.get());
  if (rc != CURLE_OK)
    bad_jwks("cannot fetch " + shown + ": " + (error[0] ? error : curl_easy_strerror(rc)));
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) bad_jwks("fetching " + shown + " answered HTTP " + std::to_string(status));
  return body;
}

/// The SubjectPublicKeyInfo PEM of the RSA key (n, e) given as big-endian bytes, built
/// with the OpenSSL 3 provider APIs; "" when OpenSSL rejects it or it is too small.
std::string rsa_public_key_pem(const std::string& n, const std::string& e) {
  owned<BIGNUM, BN_free> bn_n{BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()),
                                        static_cast<int>(n.size()), nullptr)};
  owned<BIGNUM, BN_free> bn_e{BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()),
                                        static_cast<int>(e.size()), nullptr)};
  if (!bn_n || !bn_e || BN_num_bits(bn_n.get()) < min_rsa_bits || BN_is_zero(bn_e.get())) return "";
  owned<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free> build{OSSL_PARAM_BLD_new()};
  if (!build || !OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) ||
      !OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()))
    return "";
  owned<OSSL_PARAM, OSSL_PARAM_free> params{OSSL_PARAM_BLD_to_param(build.get())};
  owned<EVP_PKEY_CTX, EVP_PKEY_CTX_free> ctx{EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr)};
  EVP_PKEY* raw_key = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &raw_key, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0)
    return "";
  owned<EVP_PKEY, EVP_PKEY_free> key{raw_key};
  owned<BIO, free_bio> bio{BIO_new(BIO_s_mem())};
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key.get()) != 1) return "";
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return size > 0 ? std::string(data, static_cast<size_t>(size)) : "";
}

std::string string_member(const rapidjson::Value& object, const char* name) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) return "";
  return {it->value.GetString(), it->value.GetStringLength()};
}

bool has_member(const rapidjson::Value& object, const char* name) {
  return object.FindMember(name) != object.MemberEnd();
}

/// The usable key of one JWK entry, or nullopt when the entry is not an RS256 key.
std::optional<jwk_rsa> parse_key(const rapidjson::Value& entry) {
  if (!entry.IsObject() || string_member(entry, "kty") != "RSA") return std::nullopt;
  if (has_member(entry, "alg") && string_member(entry, "alg") != "RS256") return std::nullopt;
  if (has_member(entry, "use") && string_member(entry, "use") != "sig") return std::nullopt;
  auto n = decode_base64url(string_member(entry, "n"));
  auto e = decode_base64url(string_member(entry, "e"));
  if (!n || !e || n->empty() || e->empty()) return std::nullopt;
  std::string pem = rsa_public_key_pem(*n, *e);
  if (pem.empty()) return std::nullopt;
  return jwk_rsa{string_member(entry, "kid"), std::move(pem)};
}

}  // namespace

std::optional<std::string> decode_base64url(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  unsigned bits = 0;
  int count = 0;
  for (char c : text) {
    const int v = base64url_value(c);
    if (v < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<unsigned>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> count) & 0xff));
    }
  }
  // Only the canonical encoding: the bits left over after the last byte must be zero,
  // so that each byte string has exactly one text (RFC 4648 section 3.5).
  if ((bits & ((1u << count) - 1)) != 0) return std::nullopt;
  return out;
}

std::vector<jwk_rsa> load_jwks(const std::string& source) {
  const std::string body = is_url(source) ? fetch_url(source) : read_file(source);
  const std::string where = is_url(source) ? config::redact_url(source) : source;
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) bad_jwks(where + " is not a JSON object");
  auto keys = doc.FindMember("keys");
  if (keys == doc.MemberEnd() || !keys->value.IsArray()) bad_jwks(where + " has no \"keys\" array");
  std::vector<jwk_rsa> out;
  for (const auto& entry : keys->value.GetArray()) {
    if (auto key = parse_key(entry)) out.push_back(std::move(*key));
  }
  if (out.empty()) bad_jwks(where + " has no usable RS256 key (RSA, at least 2048 bits)");
  return out;
}

}  // namespace jobserver::http
