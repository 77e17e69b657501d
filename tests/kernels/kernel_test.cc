// Micro-kernel tests: every SIMD128 kernel against its scalar twin, and the
// scalar twin against a direct computation written here from the interface
// comment, over remainders of every tile dimension, strides, zero points
// 0/255, saturation and int32 wrap-around. Built natively (SIMD through
// SIMDe) and as wasm run under Node (the real SIMD128 instructions).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "microkernels/microkernels.h"
#include "packing.h"
#include "qops.h"
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
  // Rows past MR too: the kernel walks them MR at a time.
  for (size_t mr = 1; mr <= 2 * kConv1dMr + 1; ++mr) {
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
      for (size_t mr : {1, 3, 4, 7, 12}) {
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

TEST_P(Conv1dKernel, HugeScaledValuesSaturate) {
  // Scaled accumulators from 2^22 (where magic-number rounding stops being
  // exact) up to float infinity, both signs, every store path (positions
  // adjacent or strided, a last block of 1-4 channels): only 0, 255 and the
  // zero point (fused ReLU, zero accumulators) can come out; 1e33 reaches infinity.
  uint32_t seed = 250;
  for (float lo : {1e3f, 1e8f, 1e33f}) {
    for (size_t nc : {3, 8, 13}) {
      for (size_t c_row : {1, 3}) {
        Conv1dTester().nc(nc).kc(6).ks(2).c_row_stride(c_row).values(ValueRange::kExtreme, ValueRange::kMixed)
            .scale_range(lo, 10 * lo).seed(++seed).test(GetParam());
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
    const size_t kc = pick(1, 40), ks = pick(1, 4), mr = pick(1, 3 * kConv1dMr), c_row = pick(1, 5);
    const ValueRange ranges[] = {ValueRange::kMixed, ValueRange::kInputZp0, ValueRange::kInputZp255, ValueRange::kExtreme};
    Conv1dTester()
        .mr(mr).nc(pick(1, 6 * kConv1dNr)).kc(kc).ks(ks)
        .a_row_stride(pick(1, 2 * kc)).a_tap_stride(pick(kc, 3 * kc))
        // Channels' outputs apart: no byte written twice.
        .c_row_stride(c_row).c_col_stride(pick((mr - 1) * c_row + 1, (mr - 1) * c_row + 20))
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

// ---------------------------------------------------------------------------
// x8 lut 64x
// ---------------------------------------------------------------------------
// Runs `kernel` (and `twin`) on n bytes at input offset `in_off` and output
// offset `out_off` (unaligned pointers) and checks every byte: table[x]
// inside [0, n), the guard bytes untouched around it.
void TestLut(LutUkernelFn kernel, LutUkernelFn twin, size_t n, size_t in_off, size_t out_off,
             std::mt19937& rng, bool in_place = false) {
  constexpr size_t kGuard = 32;
  std::vector<uint8_t> table(256);
  for (auto& v : table) v = static_cast<uint8_t>(rng());
  std::vector<uint8_t> in(in_off + n + kGuard);
  for (auto& v : in) v = static_cast<uint8_t>(rng());
  std::vector<uint8_t> out(out_off + n + kGuard, 0xA5);
  if (in_place) {
    out = in;
    out_off = in_off;
  }
  std::vector<uint8_t> expected = out;
  for (size_t i = 0; i < n; ++i) expected[out_off + i] = table[in[in_off + i]];
  const std::vector<uint8_t> out_before = out;
  kernel(n, (in_place ? out.data() : in.data()) + in_off, out.data() + out_off, table.data());
  ASSERT_EQ(out, expected) << "n " << n << " offsets " << in_off << "/" << out_off << (in_place ? " in place" : "");
  if (twin != nullptr) {
    std::vector<uint8_t> out_twin = out_before;
    twin(n, (in_place ? out_twin.data() : in.data()) + in_off, out_twin.data() + out_off, table.data());
    ASSERT_EQ(out_twin, out) << "SIMD and scalar twin differ: n " << n;
  }
}

class LutKernel : public ::testing::TestWithParam<LutUkernelFn> {};

TEST_P(LutKernel, EverySizeUpTo200AndUnalignedPointers) {
  std::mt19937 rng(11);
  for (size_t n = 0; n <= 200; ++n) {
    for (size_t in_off : {0, 1, 7}) {
      for (size_t out_off : {0, 3, 16}) TestLut(GetParam(), nullptr, n, in_off, out_off, rng);
    }
  }
}

TEST_P(LutKernel, LargeAndInPlace) {
  std::mt19937 rng(12);
  for (size_t n : {255, 256, 1000, 4096, 65536 + 13, 100000}) {
    TestLut(GetParam(), nullptr, n, n % 5, n % 3, rng);
    TestLut(GetParam(), nullptr, n, n % 7, 0, rng, /*in_place=*/true);
  }
  for (size_t n = 0; n <= 130; ++n) TestLut(GetParam(), nullptr, n, n % 4, 0, rng, /*in_place=*/true);
}

TEST_P(LutKernel, EveryByteValueThroughEveryTableEntry) {
  // All 256 inputs in every lane position: each table chunk, both ends.
  std::vector<uint8_t> table(256), in(256 * 17), out(in.size() + 16, 0xA5);
  for (int i = 0; i < 256; ++i) table[i] = static_cast<uint8_t>(255 - i * 7);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<uint8_t>(i * 13 / 17);
  GetParam()(in.size(), in.data(), out.data(), table.data());
  for (size_t i = 0; i < in.size(); ++i) ASSERT_EQ(int{out[i]}, int{table[in[i]]}) << "byte " << i;
  for (size_t i = in.size(); i < out.size(); ++i) ASSERT_EQ(out[i], 0xA5) << "written past n at " << i;
}

TEST(LutKernelTwins, SimdEqualsScalarOnRandomRuns) {
  std::mt19937 rng(2026);
  auto pick = [&](size_t lo, size_t hi) { return std::uniform_int_distribution<size_t>(lo, hi)(rng); };
  for (int i = 0; i < 2000; ++i) {
    const size_t n = i % 4 == 0 ? pick(0, 3000) : pick(0, 200);
    TestLut(&x8_lut_ukernel_64x__wasmsimd_swizzle, &x8_lut_ukernel_64x__scalar, n, pick(0, 15), pick(0, 15), rng);
    TestLut(&x8_lut_ukernel_64x__scalar_u32, &x8_lut_ukernel_64x__scalar, n, pick(0, 15), pick(0, 15), rng);
  }
}

INSTANTIATE_TEST_SUITE_P(Scalar, LutKernel, ::testing::Values(&x8_lut_ukernel_64x__scalar));
INSTANTIATE_TEST_SUITE_P(ScalarU32, LutKernel, ::testing::Values(&x8_lut_ukernel_64x__scalar_u32));
INSTANTIATE_TEST_SUITE_P(WasmSimdSwizzle, LutKernel, ::testing::Values(&x8_lut_ukernel_64x__wasmsimd_swizzle));

// ---------------------------------------------------------------------------
// qu8 vadd 16x
// ---------------------------------------------------------------------------
// QNNPACK's q8 add written out from the interface comment, in int64 where
// the kernels wrap in int32.
uint8_t AddReference(const AddParams& p, uint8_t a, uint8_t b) {
  const int64_t sum = int64_t{p.zero_point_product} + int64_t{a} * p.a_multiplier + int64_t{b} * p.b_multiplier;
  const int32_t acc = static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(sum)));  // mod 2^32
  const int64_t floor_q = static_cast<int64_t>(std::floor(static_cast<double>(acc) / std::ldexp(1.0, p.shift)));
  const int64_t rem = int64_t{acc} - floor_q * (int64_t{1} << p.shift) - (acc < 0 ? 1 : 0);
  int64_t y = floor_q + (rem > p.remainder_threshold ? 1 : 0) + p.output_zero_point;
  y = std::max<int64_t>(p.output_min, std::min<int64_t>(p.output_max, y));
  return static_cast<uint8_t>(y);
}

// Random quantizations that make_add accepts (and a few it refuses, skipped).
bool RandomAddParams(std::mt19937& rng, AddParams* p) {
  auto scale = [&] { return std::ldexp(std::uniform_real_distribution<double>(1.0, 2.0)(rng),
                                       std::uniform_int_distribution<int>(-12, 2)(rng)); };
  auto zp = [&] {
    const int r = std::uniform_int_distribution<int>(0, 9)(rng);
    return r == 0 ? 0 : r == 1 ? 255 : std::uniform_int_distribution<int>(0, 255)(rng);
  };
  const QuantParams a{scale(), zp()}, b{scale(), zp()}, out{scale(), zp()};
  const bool relu = std::bernoulli_distribution(0.3)(rng);
  return make_add(a, b, out, relu, p, nullptr) == Status::kOk;
}

void TestVadd(VaddUkernelFn kernel, VaddUkernelFn twin, const AddParams& p, size_t n, size_t a_off,
              size_t b_off, size_t out_off, std::mt19937& rng, int in_place = 0) {
  constexpr size_t kGuard = 32;
  std::vector<uint8_t> a(a_off + n + kGuard), b(b_off + n + kGuard);
  for (auto& v : a) v = static_cast<uint8_t>(rng());
  for (auto& v : b) v = static_cast<uint8_t>(rng());
  std::vector<uint8_t> out(out_off + n + kGuard, 0x5A);
  if (in_place == 1) { out = a; out_off = a_off; }
  if (in_place == 2) { out = b; out_off = b_off; }
  std::vector<uint8_t> expected = out;
  for (size_t i = 0; i < n; ++i) expected[out_off + i] = AddReference(p, a[a_off + i], b[b_off + i]);
  const std::vector<uint8_t> out_before = out;
  auto run = [&](VaddUkernelFn fn, std::vector<uint8_t>& o) {
    fn(n, (in_place == 1 ? o.data() : a.data()) + a_off, (in_place == 2 ? o.data() : b.data()) + b_off,
       o.data() + out_off, p);
  };
  run(kernel, out);
  ASSERT_EQ(out, expected) << "n " << n << " offsets " << a_off << "/" << b_off << "/" << out_off << " in place "
                           << in_place << " multipliers " << p.a_multiplier << "/" << p.b_multiplier << " shift "
                           << p.shift;
  if (twin != nullptr) {
    std::vector<uint8_t> out_twin = out_before;
    run(twin, out_twin);
    ASSERT_EQ(out_twin, out) << "SIMD and scalar twin differ: n " << n;
  }
}

class VaddKernel : public ::testing::TestWithParam<VaddUkernelFn> {};

TEST_P(VaddKernel, EverySizeUpTo200AndUnalignedPointers) {
  std::mt19937 rng(21);
  for (size_t n = 0; n <= 200; ++n) {
    AddParams p;
    while (!RandomAddParams(rng, &p)) {}
    TestVadd(GetParam(), nullptr, p, n, 0, 0, 0, rng);
    TestVadd(GetParam(), nullptr, p, n, n % 3 + 1, n % 5, n % 7 + 2, rng);
  }
}

TEST_P(VaddKernel, LargeAndInPlace) {
  std::mt19937 rng(22);
  for (size_t n : {1000, 4096 + 7, 70000}) {
    AddParams p;
    while (!RandomAddParams(rng, &p)) {}
    TestVadd(GetParam(), nullptr, p, n, 1, 2, 3, rng);
    TestVadd(GetParam(), nullptr, p, n, 5, 0, 0, rng, 1);
    TestVadd(GetParam(), nullptr, p, n, 0, 9, 0, rng, 2);
  }
}

TEST_P(VaddKernel, ExtremeParams) {
  // The largest multipliers (2^22, ratio just below 2^(e+1)), shifts 14 and
  // 31, zero points 0 and 255, relu, and every (a, b) pair.
  std::vector<uint8_t> a(65536), b(65536);
  for (size_t i = 0; i < a.size(); ++i) { a[i] = static_cast<uint8_t>(i); b[i] = static_cast<uint8_t>(i >> 8); }
  const QuantParams cases[][3] = {
      {{255.99, 0}, {1.0, 255}, {1.0, 0}},          {{1.0, 255}, {255.99, 0}, {1.0, 254}},
      {{1.0 / 1024, 0}, {1.0 / 1024, 255}, {1.0, 128}}, {{0.999, 17}, {0.0001, 200}, {1.0, 3}},
      {{3.0, 128}, {5.0, 128}, {0.05, 128}},        {{0.5, 0}, {0.5, 0}, {1.0, 0}},
  };
  for (const auto& c : cases) {
    for (bool relu : {false, true}) {
      AddParams p;
      ASSERT_EQ(make_add(c[0], c[1], c[2], relu, &p, nullptr), Status::kOk);
      std::vector<uint8_t> out(a.size());
      GetParam()(a.size(), a.data(), b.data(), out.data(), p);
      for (size_t i = 0; i < a.size(); ++i) {
        ASSERT_EQ(int{out[i]}, int{AddReference(p, a[i], b[i])}) << "a " << int{a[i]} << " b " << int{b[i]};
      }
    }
  }
}

TEST_P(VaddKernel, RawParamsWithMultipliersBelow2To30) {
  // Beyond make_add: any multipliers below 2^30 (wrapping sums), any shift.
  std::mt19937 rng(23);
  for (int i = 0; i < 300; ++i) {
    AddParams p;
    p.a_multiplier = std::uniform_int_distribution<uint32_t>(0, (1u << 30) - 1)(rng) >> (i % 16);
    p.b_multiplier = std::uniform_int_distribution<uint32_t>(0, (1u << 30) - 1)(rng) >> (i % 11);
    p.zero_point_product = static_cast<int32_t>(rng());
    p.shift = std::uniform_int_distribution<uint32_t>(1, 31)(rng);
    p.remainder_mask = static_cast<int32_t>((uint32_t{1} << p.shift) - 1u);
    p.remainder_threshold = static_cast<int32_t>(static_cast<uint32_t>(p.remainder_mask) >> 1);
    p.output_zero_point = std::uniform_int_distribution<int32_t>(0, 255)(rng);
    p.output_min = std::uniform_int_distribution<int32_t>(0, 128)(rng);
    p.output_max = std::uniform_int_distribution<int32_t>(p.output_min, 255)(rng);
    TestVadd(GetParam(), nullptr, p, static_cast<size_t>(i % 70), i % 3, i % 2, i % 5, rng);
  }
}

TEST(VaddKernelTwins, SimdEqualsScalarOnRandomRuns) {
  std::mt19937 rng(2027);
  auto pick = [&](size_t lo, size_t hi) { return std::uniform_int_distribution<size_t>(lo, hi)(rng); };
  for (int i = 0; i < 2000; ++i) {
    AddParams p;
    while (!RandomAddParams(rng, &p)) {}
    TestVadd(&qu8_vadd_ukernel_16x__wasmsimd, &qu8_vadd_ukernel_16x__scalar, p, i % 4 == 0 ? pick(0, 3000) : pick(0, 200),
             pick(0, 15), pick(0, 15), pick(0, 15), rng, static_cast<int>(pick(0, 2)));
  }
}

INSTANTIATE_TEST_SUITE_P(Scalar, VaddKernel, ::testing::Values(&qu8_vadd_ukernel_16x__scalar));
INSTANTIATE_TEST_SUITE_P(WasmSimd, VaddKernel, ::testing::Values(&qu8_vadd_ukernel_16x__wasmsimd));

}  // namespace
