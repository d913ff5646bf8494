#pragma once
// Counters for /metrics in Prometheus' text format: requests by endpoint and status,
// tokens in and out, and request latency as a histogram.
#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace slm::serve {

class Metrics {
 public:
  void request(const std::string& endpoint, int status, double seconds);
  // The metrics as Prometheus text; `extra` (gauges of the models) is appended.
  std::string prometheus(const std::string& extra) const;

  static constexpr std::array<double, 11> kBuckets = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::map<std::string, std::array<uint64_t, kBuckets.size() + 1>> latency_;  // by endpoint; last: +Inf
  std::map<std::string, double> latency_sum_;
};

}  // namespace slm::serve
