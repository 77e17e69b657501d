// The 2x8c2 dwconv1d kernel (two interleaved phases, uint8 rows): the SIMD
// kernel against its scalar twin, and the twin against a direct computation
// written here from the interface comment. Lengths from 1 (shorter than a
// vector) past several blocks, odd and even; shared and separate rows; tap
// counts 1..16 (odd ones padded with a zero weight, as the caller does);
// zero points 0..255; scales on both sides of the no-clamp bound; int32 wrap.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "microkernels/microkernels.h"
#include "quantization.h"

namespace {

using namespace qconv;

struct PairCase {
  size_t n = 16, taps = 2;
  bool shared = true;
  int32_t input_zero_point = 128, output_zero_point = 128;
  int32_t bias = 1234;
  float scale = 1e-3f;
  bool relu = false;
  bool extreme = false;  // weights and inputs at +-255 and 0/255
  uint32_t seed = 1;
};

void check(const PairCase& pc, Dwconv1dPairUkernelFn kernel, Dwconv1dPairUkernelFn twin) {
  std::mt19937 rng(pc.seed);
  const size_t positions = (pc.n + 1) / 2;
  const size_t padded_taps = pc.taps + pc.taps % 2;
  // Each row: the positions used, then the slack the kernel may read.
  const size_t row_size = positions + kDwconv1dPairSlack;
  auto byte = [&]() {
    return static_cast<uint8_t>(pc.extreme ? (rng() % 2 ? 255 : 0) : rng() % 256);
  };
  auto weight = [&]() {
    return static_cast<int16_t>(pc.extreme ? (rng() % 2 ? 255 : -255)
                                           : std::uniform_int_distribution<int>(-255, 255)(rng));
  };
  std::vector<std::vector<uint8_t>> data(2 * padded_taps, std::vector<uint8_t>(row_size));
  for (auto& r : data) {
    for (auto& v : r) v = byte();
  }
  std::vector<const uint8_t*> rows_a, rows_b;
  std::vector<int16_t> w_a, w_b;
  for (size_t t = 0; t < padded_taps; ++t) {
    const bool pad = t >= pc.taps;
    rows_a.push_back(data[pad ? 0 : t].data());
    rows_b.push_back(pc.shared ? rows_a.back() : data[pad ? padded_taps : padded_taps + t].data());
    w_a.push_back(pad ? 0 : weight());
    w_b.push_back(pad ? 0 : weight());
  }
  std::vector<uint8_t> expected(pc.n + 16, 0x5A);
  for (size_t i = 0; i < pc.n; ++i) {
    const auto& rows = i % 2 == 0 ? rows_a : rows_b;
    const auto& w = i % 2 == 0 ? w_a : w_b;
    int64_t acc = pc.bias;
    for (size_t t = 0; t < padded_taps; ++t) acc += int64_t{w[t]} * (rows[t][i / 2] - pc.input_zero_point);
    uint8_t q = requantize_reference(static_cast<int32_t>(static_cast<uint32_t>(acc)), pc.scale,
                                     pc.output_zero_point);
    if (pc.relu) q = std::max<uint8_t>(q, static_cast<uint8_t>(pc.output_zero_point));
    expected[i] = q;
  }
  const RequantParams params = {pc.output_zero_point, pc.relu ? 0.0f : -512.0f};
  const size_t pairs = padded_taps / 2;
  std::vector<uint8_t> c(pc.n + 16, 0x5A);
  kernel(pc.n, pairs, rows_a.data(), w_a.data(), rows_b.data(), w_b.data(), pc.input_zero_point,
         pc.bias, pc.scale, c.data(), params);
  if (twin != nullptr) {
    std::vector<uint8_t> c_twin(c.size(), 0x5A);
    twin(pc.n, pairs, rows_a.data(), w_a.data(), rows_b.data(), w_b.data(), pc.input_zero_point,
         pc.bias, pc.scale, c_twin.data(), params);
    ASSERT_EQ(c, c_twin) << "SIMD and scalar twin differ: n " << pc.n << " taps " << pc.taps
                         << " shared " << pc.shared << " seed " << pc.seed;
  }
  for (size_t i = 0; i < c.size(); ++i) {
    ASSERT_EQ(int{c[i]}, int{expected[i]}) << "byte " << i << " n " << pc.n << " taps " << pc.taps
                                           << " shared " << pc.shared << " scale " << pc.scale
                                           << " seed " << pc.seed;
  }
}

class Dwconv1dPairKernel : public ::testing::TestWithParam<Dwconv1dPairUkernelFn> {};

TEST_P(Dwconv1dPairKernel, EveryLengthTapCountAndSharing) {
  uint32_t seed = 0;
  for (size_t n = 1; n <= 3 * 16 + 3; ++n) {
    for (size_t taps = 1; taps <= 5; ++taps) {
      for (bool shared : {true, false}) {
        PairCase pc;
        pc.n = n, pc.taps = taps, pc.shared = shared, pc.seed = ++seed, pc.relu = seed % 3 == 0;
        check(pc, GetParam(), nullptr);
      }
    }
  }
}

TEST_P(Dwconv1dPairKernel, ZeroPointsSaturationAndWrap) {
  uint32_t seed = 500;
  for (int32_t zp : {0, 255}) {
    for (int32_t in_zp : {0, 255}) {
      for (float scale : {5.0f, 1e-3f, 1e-6f}) {
        for (bool relu : {false, true}) {
          PairCase pc;
          pc.n = 37, pc.taps = 4, pc.output_zero_point = zp, pc.input_zero_point = in_zp;
          pc.scale = scale, pc.relu = relu, pc.extreme = true, pc.seed = ++seed;
          check(pc, GetParam(), nullptr);
        }
      }
    }
  }
  for (int32_t bias : {std::numeric_limits<int32_t>::max() - 100000,
                       std::numeric_limits<int32_t>::min() + 100000}) {
    for (float scale : {1e-7f, 1e-3f}) {
      PairCase pc;
      pc.n = 40, pc.taps = 16, pc.bias = bias, pc.scale = scale, pc.extreme = true, pc.seed = ++seed;
      check(pc, GetParam(), nullptr);
    }
  }
}

// Scales around the bound below which the kernel drops the +-512 clamps:
// |acc| * scale < 2^21, with |acc| up to |bias| + 255 * 2 * 255 here.
TEST_P(Dwconv1dPairKernel, ScalesAroundTheNoClampBound) {
  uint32_t seed = 900;
  const float bound_scale = 2097152.0f / (1000.0f + 255.0f * 2 * 255);
  for (float f : {0.25f, 0.999f, 1.0f, 1.001f, 4.0f, 4096.0f}) {
    for (bool relu : {false, true}) {
      PairCase pc;
      pc.n = 33, pc.taps = 2, pc.bias = 1000, pc.scale = bound_scale * f, pc.extreme = true;
      pc.input_zero_point = 0;  // |x - zp| reaches 255
      pc.relu = relu, pc.seed = ++seed;
      check(pc, GetParam(), nullptr);
    }
  }
}

TEST(Dwconv1dPairKernelTwins, SimdEqualsScalarOnRandomRuns) {
  std::mt19937 rng(2026);
  auto pick = [&](size_t lo, size_t hi) { return std::uniform_int_distribution<size_t>(lo, hi)(rng); };
  for (uint32_t i = 0; i < 2000; ++i) {
    PairCase pc;
    pc.n = pick(1, 90), pc.taps = pick(1, kDwconv1dPairMaxTaps), pc.shared = i % 2 == 0;
    pc.input_zero_point = static_cast<int32_t>(pick(0, 255));
    pc.output_zero_point = static_cast<int32_t>(pick(0, 255));
    pc.scale = std::uniform_real_distribution<float>(1e-7f, i % 3 == 0 ? 10.0f : 1e-2f)(rng);
    pc.bias = std::uniform_int_distribution<int32_t>(i % 4 == 0 ? std::numeric_limits<int32_t>::min() : -100000,
                                                     i % 4 == 0 ? std::numeric_limits<int32_t>::max() : 100000)(rng);
    pc.relu = i % 3 == 1, pc.extreme = i % 5 == 0, pc.seed = i;
    check(pc, &qu8_dwconv1d_fp32_ukernel_2x8c2__wasmsimd_dot16, &qu8_dwconv1d_fp32_ukernel_2x8c2__scalar);
  }
}

INSTANTIATE_TEST_SUITE_P(Scalar, Dwconv1dPairKernel,
                         ::testing::Values(&qu8_dwconv1d_fp32_ukernel_2x8c2__scalar));
INSTANTIATE_TEST_SUITE_P(WasmSimdDot16, Dwconv1dPairKernel,
                         ::testing::Values(&qu8_dwconv1d_fp32_ukernel_2x8c2__wasmsimd_dot16));

}  // namespace
