#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace jobserver::metrics {

using labels = std::vector<std::pair<std::string, std::string>>;

/// A value that only rises (Prometheus counter).
class counter {
 public:
  void inc(double by = 1.0);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

/// A value that goes up and down (Prometheus gauge).
class gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double by);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

/// Observations counted into fixed buckets (Prometheus histogram, seconds).
class histogram {
 public:
  explicit histogram(std::vector<double> bounds);
  void observe(double v);
  /// Cumulative bucket counts (one per bound, then +Inf), sum, count.
  void snapshot(std::vector<uint64_t>& buckets, double& sum, uint64_t& count) const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0.0};
  std::atomic<uint64_t> count_{0};
};

/// Every metric of the process, by name and labels, rendered in the Prometheus text
/// exposition format (version 0.0.4). Lookups take a lock; updates are atomics, so hot
/// paths keep the reference they got.
class registry {
 public:
  counter& get_counter(const std::string& name, const std::string& help, const labels& l = {});
  gauge& get_gauge(const std::string& name, const std::string& help, const labels& l = {});
  histogram& get_histogram(const std::string& name, const std::string& help, const labels& l = {},
                           const std::vector<double>& bounds = default_bounds());
  /// A gauge whose value is read at scrape time (after `before_scrape` hooks ran).
  void add_collector(std::function<void(registry&)> before_scrape);

  /// The text format; runs the collectors first.
  std::string render();

  static const std::vector<double>& default_bounds();

 private:
  enum class kind { counter, gauge, histogram };
  struct family {
    kind type;
    std::string help;
    std::map<labels, std::unique_ptr<counter>> counters;
    std::map<labels, std::unique_ptr<gauge>> gauges;
    std::map<labels, std::unique_ptr<histogram>> histograms;
  };
  family& get_family(const std::string& name, kind type, const std::string& help);

  std::mutex mutex_;
  std::map<std::string, family> families_;
  std::vector<std::function<void(registry&)>> collectors_;
};

/// The process-wide registry.
registry& global();

}  // namespace jobserver::metrics
