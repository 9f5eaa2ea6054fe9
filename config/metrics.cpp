#include "config/metrics.hpp"

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace jobserver::metrics {
namespace {

void atomic_add(std::atomic<double>& a, double by) {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + by, std::memory_order_relaxed)) {
  }
}

std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string label_text(const labels& l, const std::string& extra = {}) {
  if (l.empty() && extra.empty()) return {};
  std::string out = "{";
  for (const auto& [k, v] : l) {
    if (out.size() > 1) out += ',';
    out += k + "=\"" + escape(v) + "\"";
  }
  if (!extra.empty()) {
    if (out.size() > 1) out += ',';
    out += extra;
  }
  return out + "}";
}

}  // namespace

void counter::inc(double by) { atomic_add(value_, by); }
void gauge::add(double by) { atomic_add(value_, by); }

histogram::histogram(std::vector<double> bounds)
  : bounds_(std::move(bounds)), counts_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i] = 0;
}

void histogram::observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  atomic_add(sum_, v);
  count_.fetch_add(1, std::memory_order_relaxed);
}

void histogram::snapshot(std::vector<uint64_t>& buckets, double& sum, uint64_t& count) const {
  buckets.assign(bounds_.size() + 1, 0);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    buckets[i] = running;
  }
  sum = sum_.load(std::memory_order_relaxed);
  count = running;
}

const std::vector<double>& registry::default_bounds() {
  static const std::vector<double> b = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                        0.5,   1,      2.5,   5,    10,    30,   60,  300};
  return b;
}

registry::family& registry::get_family(const std::string& name, kind type, const std::string& help) {
  auto [it, fresh] = families_.try_emplace(name);
  if (fresh) {
    it->second.type = type;
    it->second.help = help;
  } else if (it->second.type != type) {
    throw std::logic_error("metric " + name + " registered with two types");
  }
  return it->second;
}

counter& registry::get_counter(const std::string& name, const std::string& help, const labels& l) {
  std::lock_guard<std::mutex> guard{mutex_};
  auto& slot = get_family(name, kind::counter, help).counters[l];
  if (!slot) slot = std::make_unique<counter>();
  return *slot;
}

gauge& registry::get_gauge(const std::string& name, const std::string& help, const labels& l) {
  std::lock_guard<std::mutex> guard{mutex_};
  auto& slot = get_family(name, kind::gauge, help).gauges[l];
  if (!slot) slot = std::make_unique<gauge>();
  return *slot;
}

histogram& registry::get_histogram(const std::string& name, const std::string& help,
                                   const labels& l, const std::vector<double>& bounds) {
  std::lock_guard<std::mutex> guard{mutex_};
  auto& slot = get_family(name, kind::histogram, help).histograms[l];
  if (!slot) slot = std::make_unique<histogram>(bounds);
  return *slot;
}

void registry::add_collector(std::function<void(registry&)> before_scrape) {
  std::lock_guard<std::mutex> guard{mutex_};
  collectors_.push_back(std::move(before_scrape));
}

std::string registry::render() {
  std::vector<std::function<void(registry&)>> collectors;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    collectors = collectors_;
  }
  for (auto& c : collectors) c(*this);
  std::lock_guard<std::mutex> guard{mutex_};
  std::string out;
  for (const auto& [name, f] : families_) {
    const char* type = f.type == kind::counter ? "counter" : f.type == kind::gauge ? "gauge" : "histogram";
    out += "# HELP " + name + " " + f.help + "\n# TYPE " + name + " " + type + "\n";
    for (const auto& [l, c] : f.counters) out += name + label_text(l) + " " + number(c->value()) + "\n";
    for (const auto& [l, g] : f.gauges) out += name + label_text(l) + " " + number(g->value()) + "\n";
    for (const auto& [l, h] : f.histograms) {
      std::vector<uint64_t> buckets;
      double sum = 0;
      uint64_t count = 0;
      h->snapshot(buckets, sum, count);
      for (size_t i = 0; i < buckets.size(); ++i) {
        std::string le = i < h->bounds().size() ? number(h->bounds()[i]) : "+Inf";
        out += name + "_bucket" + label_text(l, "le=\"" + le + "\"") + " " + std::to_string(buckets[i]) + "\n";
      }
      out += name + "_sum" + label_text(l) + " " + number(sum) + "\n";
      out += name + "_count" + label_text(l) + " " + std::to_string(count) + "\n";
    }
  }
  return out;
}

registry& global() {
  static registry r;
  return r;
}

}  // namespace jobserver::metrics
