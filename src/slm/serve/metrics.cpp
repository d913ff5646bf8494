#include "slm/serve/metrics.h"

#include <fmt/format.h>

namespace slm::serve {

void Metrics::request(const std::string& endpoint, int status, double seconds) {
  std::lock_guard lock(mu_);
  ++requests_[{endpoint, status}];
  auto& h = latency_[endpoint];
  size_t b = 0;
  while (b < kBuckets.size() && seconds > kBuckets[b]) ++b;
  ++h[b];
  latency_sum_[endpoint] += seconds;
}

std::string Metrics::prometheus(const std::string& extra) const {
  std::lock_guard lock(mu_);
  std::string out = "# HELP slm_requests_total HTTP requests answered, by endpoint and status.\n"
                    "# TYPE slm_requests_total counter\n";
  for (const auto& [key, n] : requests_)
    out += fmt::format("slm_requests_total{{endpoint=\"{}\",status=\"{}\"}} {}\n", key.first, key.second, n);
  out += "# HELP slm_request_seconds Time from a request's arrival to its last byte.\n"
         "# TYPE slm_request_seconds histogram\n";
  for (const auto& [endpoint, h] : latency_) {
    uint64_t cum = 0;
    for (size_t b = 0; b <= kBuckets.size(); ++b) {
      cum += h[b];
      const std::string le = b < kBuckets.size() ? fmt::format("{}", kBuckets[b]) : "+Inf";
      out += fmt::format("slm_request_seconds_bucket{{endpoint=\"{}\",le=\"{}\"}} {}\n", endpoint, le, cum);
    }
    out += fmt::format("slm_request_seconds_sum{{endpoint=\"{}\"}} {}\n", endpoint, latency_sum_.at(endpoint));
    out += fmt::format("slm_request_seconds_count{{endpoint=\"{}\"}} {}\n", endpoint, cum);
  }
  return out + extra;
}

}  // namespace slm::serve
