#include "config/errors.hpp"

namespace jobserver {

const char* to_string(errc code) {
  switch (code) {
    case errc::ok: return "ok";
    case errc::invalid_input: return "invalid_input";
    case errc::unauthorized: return "unauthorized";
    case errc::not_found: return "not_found";
    case errc::conflict: return "conflict";
    case errc::too_large: return "too_large";
    case errc::unsupported: return "unsupported_media_type";
    case errc::unavailable: return "unavailable";
    case errc::upstream_failed: return "upstream_failed";
    case errc::internal: return "internal";
    case errc::cancelled: return "cancelled";
  }
  return "internal";
}

}  // namespace jobserver
