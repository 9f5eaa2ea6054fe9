#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace jobserver {

/// The project's one error enum. Every layer reports failures with it; the HTTP layer
/// maps it to a status code in one place (http/errors.cpp).
enum class errc : uint8_t {
  ok = 0,
  invalid_input,    // 400
  unauthorized,     // 401
  not_found,        // 404
  conflict,         // 409
  too_large,        // 413
  unsupported,      // 415
  unavailable,      // 503: a dependency (Postgres, Redis) is down
  upstream_failed,  // 502: an upstream service (LLM) failed
  internal,         // 500
  cancelled,        // the job was cancelled
};

const char* to_string(errc code);

/// A failure raised by an adapter (Postgres, Redis, Poppler, curl) after it caught the
/// library's own exception. `transient` says whether trying again may succeed.
class app_error : public std::runtime_error {
 public:
  app_error(errc code, const std::string& message, bool transient = false)
    : std::runtime_error(message), code_(code), transient_(transient) {}
  errc code() const noexcept { return code_; }
  bool transient() const noexcept { return transient_; }

 private:
  errc code_;
  bool transient_;
};

}  // namespace jobserver
