#pragma once

#include <memory>
#include <string>

#include "config/settings.hpp"

namespace jobserver::http {

/// Who made a request.
struct identity {
  std::string user_id;
};

/// Checks the credentials of one request. Implementations are immutable after
/// construction, so one instance serves every HTTP thread.
class authenticator {
 public:
  virtual ~authenticator() = default;

  /// Checks one request's credentials. `authorization` is the Authorization header value
  /// ("" when absent), `x_user_id` the X-User-ID header ("" when absent).
  /// Throws app_error(errc::unauthorized, "<clear human message>") when not authenticated;
  /// the message never contains the token or a secret.
  ///
  /// dev: the user is `x_user_id`, "dev-user-001" when absent; 1-128 characters of
  ///   [A-Za-z0-9._@:-] ("Invalid X-User-ID" otherwise).
  /// jwt: "Bearer <token>" (scheme case-insensitive). No header or another scheme:
  ///   "Missing bearer token"; "Bearer" without exactly one token: "Malformed
  ///   Authorization header". Only HS256 (with AUTH_JWT_SECRET) and RS256 (with
  ///   AUTH_JWT_JWKS) are accepted, else "Unsupported token algorithm". Then the
  ///   signature ("Invalid token"), `exp` (required; "Token has no expiry", "Token
  ///   expired"), `nbf` ("Token not yet valid"), both with 60 s leeway, `iss` and `aud`
  ///   when configured ("Invalid token issuer", "Invalid token audience") and `sub`
  ///   ("Token has no subject"; "Invalid token subject" for more than 128 characters
  ///   or control characters), which becomes the user id.
  virtual identity authenticate(const std::string& authorization,
                                const std::string& x_user_id) const = 0;
};

/// Builds the authenticator for settings.auth_mode ("dev" or "jwt"). Throws
/// app_error(errc::invalid_input, "<one line>") for bad config: dev mode on a
/// non-loopback bind (anything other than 127.0.0.0/8, ::1, localhost) without
/// allow_dev_auth_on_network; jwt mode without a secret or JWKS, or with a JWKS that
/// cannot be read/fetched/parsed or has no usable RSA key. An http(s) JWKS is fetched
/// once, here.
std::unique_ptr<authenticator> make_authenticator(const config::settings& s);

/// True when `bind` is a loopback address: 127.0.0.0/8, ::1 (also "[::1]" and
/// ::ffff:127.x.x.x) or "localhost".
bool is_loopback_bind(const std::string& bind);

}  // namespace jobserver::http
