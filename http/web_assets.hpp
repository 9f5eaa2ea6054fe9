#pragma once

#include <string_view>
#include <vector>

namespace jobserver::http {

/// One file of web/, embedded at build time (cmake/embed_web.cmake).
struct web_asset {
  std::string_view path;  // "/index.html"
  std::string_view body;
};

const std::vector<web_asset>& embedded_web_assets();

}  // namespace jobserver::http
