#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace jobserver {

/// The named logger of one component ("http", "tracker", "worker", ...), created on first
/// use; all share one sink and the level set by `set_log_level`.
std::shared_ptr<spdlog::logger> logger(const std::string& component);

/// Sets the level of every component logger ("debug", "info", "warn", "error").
void set_log_level(const std::string& level);

}  // namespace jobserver
