#include "config/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <mutex>

namespace jobserver {
namespace {

std::mutex mutex_;
spdlog::level::level_enum level_ = spdlog::level::info;

spdlog::sink_ptr shared_sink() {
  static auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  return sink;
}

}  // namespace

std::shared_ptr<spdlog::logger> logger(const std::string& component) {
  std::lock_guard<std::mutex> guard{mutex_};
  if (auto existing = spdlog::get(component)) return existing;
  auto l = std::make_shared<spdlog::logger>(component, shared_sink());
  l->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%n] %v");
  l->set_level(level_);
  spdlog::register_logger(l);
  return l;
}

void set_log_level(const std::string& level) {
  std::lock_guard<std::mutex> guard{mutex_};
  level_ = spdlog::level::from_str(level);
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { l->set_level(level_); });
}

}  // namespace jobserver
