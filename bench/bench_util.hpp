#pragma once
// Small pieces shared by the benchmark programs in bench/.
#include <algorithm>
#include <string>
#include <vector>

namespace jobserver::bench {

/// The `p`-th percentile (0-100) by nearest rank of `v`, which the caller has sorted
/// (once, for all the percentiles it asks for); 0 for no values.
inline double percentile(const std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  auto i = static_cast<size_t>(p / 100 * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

/// Host and port of an `http://HOST:PORT` URL; false when it is not one.
inline bool parse_http_url(const std::string& url, std::string& host, int& port) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) return false;
  auto hostport = url.substr(scheme.size());
  auto colon = hostport.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  host = hostport.substr(0, colon);
  try {
    port = std::stoi(hostport.substr(colon + 1));
  } catch (const std::exception&) {
    return false;
  }
  return port > 0 && port < 65536;
}

}  // namespace jobserver::bench
