#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jobserver::http {

/// One RS256 verification key of a JSON Web Key Set.
struct jwk_rsa {
  std::string kid;  // "" when the key has none
  std::string pem;  // SubjectPublicKeyInfo PEM, as libjwt's jwt_decode expects
};

/// The bytes of unpadded base64url text (RFC 7515 section 2); nullopt when `text` holds
/// any other character, padding, an impossible length, or non-zero bits after the last
/// byte (a non-canonical encoding).
std::optional<std::string> decode_base64url(std::string_view text);

/// The RSA signing keys of the JWKS at `source`: a file path, or an http(s) URL fetched
/// with a 5 s timeout. Keys with another `kty`, an `alg` other than RS256, a `use` other
/// than "sig", or a modulus under 2048 bits are skipped. Throws
/// app_error(errc::invalid_input, "<one line>") when the set cannot be read or parsed or
/// has no usable key.
std::vector<jwk_rsa> load_jwks(const std::string& source);

}  // namespace jobserver::http
