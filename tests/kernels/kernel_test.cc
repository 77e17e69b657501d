// Micro-kernel tests: every SIMD128 kernel against its scalar twin, and the
// scalar twin against a direct computation written here from the interface
// comment, over remainders of every tile dimension, strides, zero points
// 0/255, saturation and int32 wrap-around. Built natively (SIMD through
// SIMDe) and as wasm run under Node (the real SIMD128 instructions).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "microkernels/microkernels.h"
#include "packing.h"
#include "quantization.h"

namespace {

using namespace qconv;

// What the input and weights look like after their zero points are taken
// off: x - xzp for xzp in {0, 255} spans [0, 255] or [-255, 0]; w - wzp for
// wzp in {-128, 127} spans [-255, 0] .. [0, 255].
enum class ValueRange { kMixed, kInputZp0, kInputZp255, kExtreme };

int16_t draw(std::mt19937& rng, ValueRange range) {
  switch (range) {
    case ValueRange::kInputZp0: return static_cast<int16_t>(std::uniform_int_distribution<int>(0, 255)(rng));
    case ValueRange::kInputZp255: return static_cast<int16_t>(std::uniform_int_distribution<int>(-255, 0)(rng));
    case ValueRange::kExtreme: return static_cast<int16_t>(std::bernoulli_distribution(0.5)(rng) ? 255 : -255);
    case ValueRange::kMixed: break;
  }
  return static_cast<int16_t>(std::uniform_int_distribution<int>(-255, 255)(rng));
}

// ---------------------------------------------------------------------------
// conv1d 4x8c2
// ---------------------------------------------------------------------------
class Conv1dTester {
 public:
  Conv1dTester& mr(size_t v) { mr_ = v; return *this; }
  Conv1dTester& nc(size_t v) { nc_ = v; return *this; }
  Conv1dTester& kc(size_t v) { kc_ = v; return *this; }
  Conv1dTester& ks(size_t v) { ks_ = v; return *this; }
  Conv1dTester& a_row_stride(size_t v) { a_row_stride_ = v; return *this; }  // int16 units
  Conv1dTester& a_tap_stride(size_t v) { a_tap_stride_ = v; return *this; }  // int16 units
  Conv1dTester& c_row_stride(size_t v) { c_row_stride_ = v; return *this; }
  Conv1dTester& c_col_stride(size_t v) { c_col_stride_ = v; return *this; }
  Conv1dTester& output_zero_point(int32_t v) { output_zero_point_ = v; return *this; }
  Conv1dTester& values(ValueRange a, ValueRange w) { a_range_ = a; w_range_ = w; return *this; }
  Conv1dTester& bias_base(int32_t v) { bias_base_ = v; return *this; }
  Conv1dTester& scale_range(float lo, float hi) { scale_lo_ = lo; scale_hi_ = hi; return *this; }
  Conv1dTester& seed(uint32_t v) { seed_ = v; return *this; }

  // Runs `kernel` and checks it against the direct computation; with a twin,
  // also runs the twin on the same data and requires the same bytes.
  void test(Conv1dUkernelFn kernel, Conv1dUkernelFn twin = nullptr) const {
    std::mt19937 rng(seed_);
    const bool relu = seed_ % 3 == 0;
    const size_t a_row = a_row_stride_ ? a_row_stride_ : kc_;
    const size_t a_tap = a_tap_stride_ ? a_tap_stride_ : kc_;
    // Every int16 the kernel may read (one past kc per run), plus a guard.
    const size_t a_size = (mr_ - 1) * a_row + (ks_ - 1) * a_tap + conv1d_kc_rounded(kc_) + 8;
    std::vector<int16_t> a(a_size);
    for (auto& v : a) v = draw(rng, a_range_);
    std::vector<int16_t> w(nc_ * ks_ * kc_);  // [n][t][k]
    for (auto& v : w) v = draw(rng, w_range_);
    std::vector<int32_t> bias(nc_);
    std::vector<float> scale(nc_);
    for (size_t n = 0; n < nc_; ++n) {
      bias[n] = wrapping_add(bias_base_, std::uniform_int_distribution<int32_t>(-100000, 100000)(rng));
      scale[n] = std::uniform_real_distribution<float>(scale_lo_, scale_hi_)(rng);
    }
    const size_t blocks = (nc_ + kConv1dNr - 1) / kConv1dNr;
    std::vector<int32_t> packed(blocks * conv1d_packed_block_bytes(kc_, ks_) / sizeof(int32_t));
    pack_conv1d_weights(nc_, kc_, ks_, [&](size_t n, size_t t, size_t k) { return w[(n * ks_ + t) * kc_ + k]; },
                        packed.data());
    pack_conv1d_bias_scale(nc_, kc_, ks_, bias.data(), scale.data(), packed.data());

    const size_t c_row = c_row_stride_ ? c_row_stride_ : 1;
    const size_t c_col = c_col_stride_ ? c_col_stride_ : mr_ * c_row;
    const size_t c_size = (mr_ - 1) * c_row + (nc_ - 1) * c_col + 1;
    std::vector<uint8_t> c(c_size + 16, 0xA5), c_ref(c_size + 16, 0xA5);
    // The direct computation, with docs/SEMANTICS.md §4.4's form of requantization.
    for (size_t m = 0; m < mr_; ++m) {
      for (size_t n = 0; n < nc_; ++n) {
        uint32_t acc = static_cast<uint32_t>(bias[n]);
        for (size_t t = 0; t < ks_; ++t) {
          for (size_t k = 0; k < kc_; ++k) {
            acc += static_cast<uint32_t>(int32_t{a[m * a_row + t * a_tap + k]} * int32_t{w[(n * ks_ + t) * kc_ + k]});
          }
        }
        c_ref[m * c_row + n * c_col] = requantize_reference(static_cast<int32_t>(acc), scale[n], output_zero_point_);
        // A fused ReLU (every third seed): at least the zero point.
        if (relu) c_ref[m * c_row + n * c_col] = std::max<uint8_t>(c_ref[m * c_row + n * c_col], output_zero_point_);
      }
    }
    const RequantParams params = {output_zero_point_, relu ? 0.0f : -512.0f};
    kernel(mr_, nc_, kc_, ks_, a.data(), a_row * sizeof(int16_t), a_tap * sizeof(int16_t), packed.data(), c.data(),
           c_row, c_col, params);
    if (twin != nullptr) {
      std::vector<uint8_t> c_twin(c.size(), 0xA5);
      twin(mr_, nc_, kc_, ks_, a.data(), a_row * sizeof(int16_t), a_tap * sizeof(int16_t), packed.data(),
           c_twin.data(), c_row, c_col, params);
      ASSERT_EQ(c, c_twin) << "SIMD and scalar twin differ: mr " << mr_ << " nc " << nc_ << " kc " << kc_ << " ks " << ks_;
    }
    for (size_t i = 0; i < c.size(); ++i) {
      ASSERT_EQ(int{c[i]}, int{c_ref[i]}) << "byte " << i << " mr " << mr_ << " nc " << nc_ << " kc " << kc_ << " ks "
                                          << ks_ << " c strides " << c_row << "/" << c_col;
    }
  }

 private:
  size_t mr_ = kConv1dMr, nc_ = kConv1dNr, kc_ = 8, ks_ = 1;
  size_t a_row_stride_ = 0, a_tap_stride_ = 0, c_row_stride_ = 0, c_col_stride_ = 0;
  int32_t output_zero_point_ = 128;
  ValueRange a_range_ = ValueRange::kMixed, w_range_ = ValueRange::kMixed;
  int32_t bias_base_ = 0;
  float scale_lo_ = 1e-4f, scale_hi_ = 2e-3f;
  uint32_t seed_ = 1;
};

class Conv1dKernel : public ::testing::TestWithParam<Conv1dUkernelFn> {};

TEST_P(Conv1dKernel, EveryTileRemainder) {
  uint32_t seed = 0;
  for (size_t mr = 1; mr <= kConv1dMr; ++mr) {
    for (size_t nc = 1; nc <= 3 * kConv1dNr + 1; ++nc) {
      for (size_t kc = 1; kc <= 11; ++kc) {
        Conv1dTester().mr(mr).nc(nc).kc(kc).seed(++seed).test(GetParam());
      }
    }
  }
}

TEST_P(Conv1dKernel, TapsAndStrides) {
  uint32_t seed = 100;
  for (size_t ks = 1; ks <= 4; ++ks) {
    for (size_t kc : {1, 2, 3, 7, 16, 33}) {
      for (size_t mr : {1, 3, 4}) {
        Conv1dTester t;
        t.mr(mr).nc(13).kc(kc).ks(ks).seed(++seed);
        t.a_row_stride(kc + 3).a_tap_stride(2 * kc + 5).test(GetParam());      // gaps between runs
        t.a_row_stride(1).a_tap_stride(kc).test(GetParam());                    // overlapping rows
        t.c_row_stride(15).c_col_stride(1).test(GetParam());                    // channels innermost
        t.c_row_stride(1).c_col_stride(17).test(GetParam());                    // positions innermost
      }
    }
  }
}

TEST_P(Conv1dKernel, OutputZeroPoints0And255AndSaturation) {
  uint32_t seed = 200;
  for (int32_t zp : {0, 1, 128, 254, 255}) {
    for (ValueRange a : {ValueRange::kInputZp0, ValueRange::kInputZp255, ValueRange::kExtreme}) {
      for (ValueRange w : {ValueRange::kMixed, ValueRange::kExtreme}) {
        // Small scales land mid-range; large ones saturate at 0 and 255.
        Conv1dTester().nc(11).kc(9).ks(2).output_zero_point(zp).values(a, w).seed(++seed).test(GetParam());
        Conv1dTester().nc(11).kc(9).ks(2).output_zero_point(zp).values(a, w).scale_range(0.5f, 50.0f).seed(++seed)
            .test(GetParam());
      }
    }
  }
}

TEST_P(Conv1dKernel, Int32WrapAround) {
  // Bias next to INT32_MAX / INT32_MIN plus products of 255*255 per term:
  // the accumulator wraps, as QNNPACK's does.
  uint32_t seed = 300;
  for (int32_t base : {std::numeric_limits<int32_t>::max() - 50000, std::numeric_limits<int32_t>::min() + 50000}) {
    Conv1dTester().nc(9).kc(64).ks(3).values(ValueRange::kExtreme, ValueRange::kExtreme).bias_base(base)
        .scale_range(1e-9f, 1e-6f).seed(++seed).test(GetParam());
  }
}

TEST_P(Conv1dKernel, LongRuns) {
  uint32_t seed = 400;
  for (size_t kc : {255, 512, 1025}) {
    Conv1dTester().nc(24).kc(kc).scale_range(1e-6f, 1e-4f).seed(++seed).test(GetParam());
  }
}

TEST(Conv1dKernelTwins, SimdEqualsScalarOnRandomTiles) {
  std::mt19937 rng(2024);
  auto pick = [&](size_t lo, size_t hi) { return std::uniform_int_distribution<size_t>(lo, hi)(rng); };
  for (int i = 0; i < 2000; ++i) {
    const size_t kc = pick(1, 40), ks = pick(1, 4);
    const ValueRange ranges[] = {ValueRange::kMixed, ValueRange::kInputZp0, ValueRange::kInputZp255, ValueRange::kExtreme};
    Conv1dTester()
        .mr(pick(1, kConv1dMr)).nc(pick(1, 4 * kConv1dNr)).kc(kc).ks(ks)
        .a_row_stride(pick(1, 2 * kc)).a_tap_stride(pick(kc, 3 * kc))
        .c_row_stride(pick(1, 5)).c_col_stride(pick(20, 40))
        .output_zero_point(static_cast<int32_t>(pick(0, 255)))
        .values(ranges[pick(0, 3)], ranges[pick(0, 3)])
        .scale_range(1e-5f, i % 3 == 0 ? 10.0f : 1e-2f)
        .seed(static_cast<uint32_t>(i))
        .test(&qu8_conv1d_fp32_ukernel_4x8c2__wasmsimd_dot16, &qu8_conv1d_fp32_ukernel_4x8c2__scalar);
  }
}

INSTANTIATE_TEST_SUITE_P(Scalar, Conv1dKernel, ::testing::Values(&qu8_conv1d_fp32_ukernel_4x8c2__scalar));
INSTANTIATE_TEST_SUITE_P(WasmSimdDot16, Conv1dKernel, ::testing::Values(&qu8_conv1d_fp32_ukernel_4x8c2__wasmsimd_dot16));

// ---------------------------------------------------------------------------
// dwconv1d 16x1
// ---------------------------------------------------------------------------
class Dwconv1dTester {
 public:
  Dwconv1dTester& n(size_t v) { n_ = v; return *this; }
  Dwconv1dTester& taps(size_t v) { taps_ = v; return *this; }
  Dwconv1dTester& c_stride(size_t v) { c_stride_ = v; return *this; }
  Dwconv1dTester& row_offset(size_t v) { row_offset_ = v; return *this; }
  Dwconv1dTester& output_zero_point(int32_t v) { output_zero_point_ = v; return *this; }
  Dwconv1dTester& values(ValueRange a, ValueRange w) { a_range_ = a; w_range_ = w; return *this; }
  Dwconv1dTester& bias(int32_t v) { bias_ = v; return *this; }
  Dwconv1dTester& scale(float v) { scale_ = v; return *this; }
  Dwconv1dTester& seed(uint32_t v) { seed_ = v; return *this; }

  void test(Dwconv1dUkernelFn kernel, Dwconv1dUkernelFn twin = nullptr) const {
    std::mt19937 rng(seed_);
    const bool relu = seed_ % 3 == 0;
    // Each tap's row: row_offset + n values used, kDwconv1dTile readable past them.
    const size_t row_size = row_offset_ + n_ + kDwconv1dTile;
    std::vector<std::vector<int16_t>> rows(taps_, std::vector<int16_t>(row_size));
    std::vector<const int16_t*> row_ptrs;
    for (auto& r : rows) {
      for (auto& v : r) v = draw(rng, a_range_);
      row_ptrs.push_back(r.data());
    }
    std::vector<int16_t> w(taps_);
    for (auto& v : w) v = draw(rng, w_range_);
    const size_t c_size = (n_ - 1) * c_stride_ + 1;
    std::vector<uint8_t> c(c_size + 16, 0x5A), c_ref(c_size + 16, 0x5A);
    for (size_t j = 0; j < n_; ++j) {
      uint32_t acc = static_cast<uint32_t>(bias_);
      for (size_t t = 0; t < taps_; ++t) acc += static_cast<uint32_t>(int32_t{w[t]} * int32_t{rows[t][row_offset_ + j]});
      c_ref[j * c_stride_] = requantize_reference(static_cast<int32_t>(acc), scale_, output_zero_point_);
      if (relu) c_ref[j * c_stride_] = std::max<uint8_t>(c_ref[j * c_stride_], output_zero_point_);
    }
    const RequantParams params = {output_zero_point_, relu ? 0.0f : -512.0f};
    kernel(n_, taps_, row_ptrs.data(), row_offset_, w.data(), bias_, scale_, c.data(), c_stride_, params);
    if (twin != nullptr) {
      std::vector<uint8_t> c_twin(c.size(), 0x5A);
      twin(n_, taps_, row_ptrs.data(), row_offset_, w.data(), bias_, scale_, c_twin.data(), c_stride_, params);
      ASSERT_EQ(c, c_twin) << "SIMD and scalar twin differ: n " << n_ << " taps " << taps_;
    }
    for (size_t i = 0; i < c.size(); ++i) {
      ASSERT_EQ(int{c[i]}, int{c_ref[i]}) << "byte " << i << " n " << n_ << " taps " << taps_ << " stride " << c_stride_;
    }
  }

 private:
  size_t n_ = 16, taps_ = 3, c_stride_ = 1, row_offset_ = 0;
  int32_t output_zero_point_ = 128;
  ValueRange a_range_ = ValueRange::kMixed, w_range_ = ValueRange::kMixed;
  int32_t bias_ = 1234;
  float scale_ = 1e-3f;
  uint32_t seed_ = 1;
};

class Dwconv1dKernel : public ::testing::TestWithParam<Dwconv1dUkernelFn> {};

TEST_P(Dwconv1dKernel, EveryTileRemainderAndStride) {
  uint32_t seed = 0;
  for (size_t n = 1; n <= 3 * kDwconv1dTile + 1; ++n) {
    for (size_t taps = 1; taps <= 5; ++taps) {
      for (size_t stride : {1, 2, 3}) {
        Dwconv1dTester().n(n).taps(taps).c_stride(stride).row_offset(n % 5).seed(++seed).test(GetParam());
      }
    }
  }
}

TEST_P(Dwconv1dKernel, ZeroPointsSaturationAndWrap) {
  uint32_t seed = 500;
  for (int32_t zp : {0, 255}) {
    for (ValueRange a : {ValueRange::kInputZp0, ValueRange::kInputZp255, ValueRange::kExtreme}) {
      Dwconv1dTester().n(37).taps(4).output_zero_point(zp).values(a, ValueRange::kMixed).scale(5.0f).seed(++seed)
          .test(GetParam());
      Dwconv1dTester().n(37).taps(4).output_zero_point(zp).values(a, ValueRange::kExtreme).scale(1e-3f).seed(++seed)
          .test(GetParam());
    }
  }
  for (int32_t bias : {std::numeric_limits<int32_t>::max() - 100000, std::numeric_limits<int32_t>::min() + 100000}) {
    Dwconv1dTester().n(40).taps(9).values(ValueRange::kExtreme, ValueRange::kExtreme).bias(bias).scale(1e-7f)
        .seed(++seed).test(GetParam());
  }
}

TEST(Dwconv1dKernelTwins, SimdEqualsScalarOnRandomRuns) {
  std::mt19937 rng(2025);
  auto pick = [&](size_t lo, size_t hi) { return std::uniform_int_distribution<size_t>(lo, hi)(rng); };
  for (int i = 0; i < 2000; ++i) {
    Dwconv1dTester()
        .n(pick(1, 70)).taps(pick(1, 12)).c_stride(pick(1, 4)).row_offset(pick(0, 9))
        .output_zero_point(static_cast<int32_t>(pick(0, 255)))
        .scale(std::uniform_real_distribution<float>(1e-5f, i % 3 == 0 ? 10.0f : 1e-2f)(rng))
        .bias(std::uniform_int_distribution<int32_t>(std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max())(rng))
        .seed(static_cast<uint32_t>(i))
        .test(&qu8_dwconv1d_fp32_ukernel_16x1__wasmsimd_mul16, &qu8_dwconv1d_fp32_ukernel_16x1__scalar);
  }
}

INSTANTIATE_TEST_SUITE_P(Scalar, Dwconv1dKernel, ::testing::Values(&qu8_dwconv1d_fp32_ukernel_16x1__scalar));
INSTANTIATE_TEST_SUITE_P(WasmSimdMul16, Dwconv1dKernel, ::testing::Values(&qu8_dwconv1d_fp32_ukernel_16x1__wasmsimd_mul16));

// ---------------------------------------------------------------------------
// transpose-widen 8x8
// ---------------------------------------------------------------------------
class TransposeWidenKernel : public ::testing::TestWithParam<TransposeWidenFn> {};

TEST_P(TransposeWidenKernel, EveryBlockRemainderAndZeroPoint) {
  std::mt19937 rng(7);
  for (size_t channels = 1; channels <= 19; ++channels) {
    for (size_t length = 1; length <= 19; ++length) {
      for (int32_t zp : {0, 128, 255}) {
        // Channels x_stride apart: the kernel reads positions [0, length) only.
        const size_t x_stride = length + channels % 3;
        std::vector<uint8_t> x(channels * x_stride);
        for (auto& v : x) v = static_cast<uint8_t>(rng());
        const size_t row_stride = channels + length % 3;  // a gap after some rows
        std::vector<int16_t> rows(length * row_stride + 8, int16_t{0x7777});
        std::vector<int16_t> expected = rows;
        for (size_t l = 0; l < length; ++l) {
          for (size_t c = 0; c < channels; ++c) expected[l * row_stride + c] = static_cast<int16_t>(x[c * x_stride + l] - zp);
        }
        GetParam()(channels, length, x.data(), x_stride, zp, rows.data(), row_stride);
        ASSERT_EQ(rows, expected) << "channels " << channels << " length " << length << " zp " << zp;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Scalar, TransposeWidenKernel, ::testing::Values(&qu8_transpose_widen_ukernel_8x8__scalar));
INSTANTIATE_TEST_SUITE_P(WasmSimd, TransposeWidenKernel, ::testing::Values(&qu8_transpose_widen_ukernel_8x8__wasmsimd));

}  // namespace
