// x8 zip kernels: each against a direct computation of the interface
// comment's formula, and each SIMD kernel against its scalar twin, over
// every run length to 100 (the 16-byte steps' remainders, the overlapping
// last step, runs below one step), unaligned rows and outputs, row strides
// below and above n, and that nothing past K * n is written.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "microkernels/microkernels.h"

namespace {

using namespace qconv;

struct ZipCase {
  ZipUkernelFn simd;
  ZipUkernelFn scalar;
  size_t k;
};

// Runs `kernel` on fresh random rows; returns the output buffer (guard bytes
// included) and checks it against the formula.
std::vector<uint8_t> RunZip(ZipUkernelFn kernel, size_t k, size_t n, size_t stride, size_t in_off,
                            size_t out_off, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> in(in_off + k * stride + 1);
  for (auto& v : in) v = static_cast<uint8_t>(rng());
  std::vector<uint8_t> out(out_off + k * n + 32, 0xA5);
  kernel(n, in.data() + in_off, stride, out.data() + out_off);
  for (size_t i = 0; i < n; ++i) {
    for (size_t r = 0; r < k; ++r) {
      EXPECT_EQ(out[out_off + i * k + r], in[in_off + r * stride + i])
          << "k " << k << " n " << n << " i " << i << " r " << r;
    }
  }
  for (size_t o = 0; o < out.size(); ++o) {
    if (o < out_off || o >= out_off + k * n) {
      EXPECT_EQ(out[o], 0xA5) << "k " << k << " n " << n << ": byte " << o << " written";
    }
  }
  return out;
}

class ZipKernel : public ::testing::TestWithParam<ZipCase> {};

TEST_P(ZipKernel, EveryLengthTo100MatchesTheFormulaAndTheTwin) {
  const ZipCase c = GetParam();
  for (size_t n = 0; n <= 100; ++n) {
    for (size_t stride : {n, n + 1, n + 17, size_t{192}}) {
      if (stride < n) continue;
      for (size_t in_off : {0, 3}) {
        for (size_t out_off : {0, 5}) {
          const uint32_t seed = static_cast<uint32_t>(n * 1000 + stride * 10 + in_off + out_off);
          const auto simd = RunZip(c.simd, c.k, n, stride, in_off, out_off, seed);
          const auto scalar = RunZip(c.scalar, c.k, n, stride, in_off, out_off, seed);
          ASSERT_EQ(simd, scalar) << "k " << c.k << " n " << n << " stride " << stride;
          if (::testing::Test::HasFailure()) return;
        }
      }
    }
  }
}

TEST_P(ZipKernel, LongRuns) {
  const ZipCase c = GetParam();
  for (size_t n : {255, 256, 1000, 4099}) {
    const auto simd = RunZip(c.simd, c.k, n, n + 64, 1, 2, static_cast<uint32_t>(n));
    const auto scalar = RunZip(c.scalar, c.k, n, n + 64, 1, 2, static_cast<uint32_t>(n));
    ASSERT_EQ(simd, scalar) << "k " << c.k << " n " << n;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Zip, ZipKernel,
    ::testing::Values(ZipCase{x8_zip_x2_ukernel_16x__wasmsimd, x8_zip_x2_ukernel_16x__scalar, 2}),
    [](const ::testing::TestParamInfo<ZipCase>& info) { return "X" + std::to_string(info.param.k); });

}  // namespace
