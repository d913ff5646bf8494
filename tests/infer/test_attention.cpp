#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "slm/infer/attention.h"
#include "slm/tensor/bf16.h"
#include "slm/util/aligned.h"

using namespace slm;

namespace {
// softmax(q·kₜ · scale) · v in double.
std::vector<double> reference(const std::vector<float>& q, const std::vector<float>& k, const std::vector<float>& v,
                              int n, int d, double scale) {
  std::vector<double> s(static_cast<size_t>(n)), out(static_cast<size_t>(d), 0.0);
  double mx = -1e300, sum = 0;
  for (int t = 0; t < n; ++t) {
    double dot = 0;
    for (int j = 0; j < d; ++j) dot += double(q[size_t(j)]) * k[size_t(t) * d + size_t(j)];
    s[size_t(t)] = dot * scale, mx = std::max(mx, s[size_t(t)]);
  }
  for (auto& x : s) sum += (x = std::exp(x - mx));
  for (int t = 0; t < n; ++t)
    for (int j = 0; j < d; ++j) out[size_t(j)] += s[size_t(t)] / sum * v[size_t(t) * d + size_t(j)];
  return out;
}
}  // namespace

// Every head size the vectorised kernel takes (32-128) and one it does not (24), position
// counts that leave each of its tails (n mod 4, n mod 2), against double precision; and the
// bf16 cache against the fp32 kernel run on the same rounded values (the widening is exact,
// so only the order of additions may differ).
TEST(Attention, EveryHeadSizeAndCacheTypeMatchesDoublePrecision) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.f, 1.f);
  for (int d : {24, 32, 48, 64, 96, 128})
    for (int n : {1, 2, 3, 5, 8, 19}) {
      std::vector<float> q(static_cast<size_t>(d)), out(q.size()), out16(q.size()), s(static_cast<size_t>(n));
      util::AlignedVector<float> k(static_cast<size_t>(n * d)), v(k.size());
      util::AlignedVector<uint16_t> k16(k.size()), v16(v.size());
      for (auto& x : q) x = normal(rng);
      for (size_t i = 0; i < k.size(); ++i) {  // values bf16 holds exactly, so both caches agree
        k16[i] = tensor::float_to_bf16(normal(rng)), v16[i] = tensor::float_to_bf16(normal(rng));
        k[i] = tensor::bf16_to_float(k16[i]), v[i] = tensor::bf16_to_float(v16[i]);
      }
      const float scale = 1.f / std::sqrt(float(d));
      infer::attend_head(out.data(), q.data(), k.data(), v.data(), n, d, scale, s.data());
      infer::attend_head(out16.data(), q.data(), k16.data(), v16.data(), n, d, scale, s.data());
      const auto ref = reference(q, std::vector<float>(k.begin(), k.end()), std::vector<float>(v.begin(), v.end()), n,
                                 d, scale);
      for (int j = 0; j < d; ++j) {
        ASSERT_NEAR(out[size_t(j)], ref[size_t(j)], 1e-5 * (1 + std::abs(ref[size_t(j)]))) << "d " << d << " n " << n;
        ASSERT_NEAR(out16[size_t(j)], out[size_t(j)], 1e-6 * (1 + std::abs(out[size_t(j)]))) << "d " << d << " n " << n;
      }
    }
}

// tensor::to_bf16_row, which fills the bf16 cache: its vector part (16 at a time, where the
// CPU has AVX512_BF16) and its scalar tail round alike, to nearest with ties to even.
TEST(Attention, Bf16RowsRoundToNearestEven) {
  const float pattern[4] = {1.f, 1.f + 1.f / 256, 1.f + 3.f / 256, -2.5f};
  const float expected[4] = {1.f, 1.f /* halfway: to the even neighbour */, 1.f + 4.f / 256, -2.5f};
  float in[20];
  uint16_t out[20];
  for (int i = 0; i < 20; ++i) in[i] = pattern[i % 4];
  tensor::to_bf16_row(out, in, 20);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(tensor::bf16_to_float(out[i]), expected[i % 4]) << "element " << i;
}
