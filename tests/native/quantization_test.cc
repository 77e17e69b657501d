// Unit tests of the scalar quantization helpers (src/quantization.h) against
// docs/SEMANTICS.md §4 and the port policy §0 (P1-P3).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "quantization.h"

// Inside qconv: the helpers under test by their own names.
namespace qconv {
namespace {

constexpr int32_t kMax = std::numeric_limits<int32_t>::max();
constexpr int32_t kMin = std::numeric_limits<int32_t>::min();

uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

// ---------------------------------------------------------------------------
// requantize_reference vs requantize_fp32_magic

void expect_agree_on_range(float scale, int32_t zp, int32_t lo, int32_t hi) {
  int mismatches = 0;
  for (int64_t acc = lo; acc <= hi; ++acc) {
    const uint8_t a = requantize_reference(static_cast<int32_t>(acc), scale, zp);
    const uint8_t b = requantize_fp32_magic(static_cast<int32_t>(acc), scale, zp);
    if (a != b && ++mismatches <= 5) {
      ADD_FAILURE() << "acc " << acc << " scale " << scale << " zp " << zp << ": reference "
                    << int(a) << ", magic " << int(b);
    }
  }
  EXPECT_EQ(mismatches, 0) << "scale " << scale << " zp " << zp;
}

TEST(Requantize, MagicMatchesReferenceOnAccumulatorSweeps) {
  const float scales[] = {
      0.5f, 1.0f, 0.25f, 0.125f, 1.0f / 3.0f, 0.1f, 0.003921569f, 2.0f, 3.0f, 7.5f,
      1e-5f,                                       // tiny: everything near 0
      std::numeric_limits<float>::min(),           // smallest normal
      67000.0f, 66000.0f,                          // f32(acc)*s beyond 2^31 (P1)
      1e30f, std::numeric_limits<float>::max(),    // product overflows to inf
  };
  const int32_t zero_points[] = {0, 1, 127, 128, 254, 255};
  for (float s : scales) {
    for (int32_t zp : zero_points) expect_agree_on_range(s, zp, -70000, 70000);
  }
}

TEST(Requantize, MagicMatchesReferenceOnRandomInputs) {
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int32_t> any_acc(kMin, kMax);
  std::uniform_int_distribution<int32_t> small_acc(-(1 << 20), 1 << 20);
  std::uniform_real_distribution<double> log_scale(std::log(1.2e-38), std::log(3.0e38));
  std::uniform_int_distribution<int32_t> any_zp(0, 255);
  const int32_t special_acc[] = {kMin, kMin + 1, kMax, kMax - 1, 0, -1, 1, 1 << 24, -(1 << 24)};
  const int32_t special_zp[] = {0, 255};
  int mismatches = 0;
  for (int iter = 0; iter < 400000; ++iter) {
    int32_t acc;
    switch (iter % 4) {
      case 0: acc = any_acc(rng); break;
      case 1: acc = small_acc(rng); break;
      case 2: acc = special_acc[iter / 4 % 9]; break;
      default: acc = static_cast<int32_t>(small_acc(rng) % 2048); break;
    }
    float scale;
    if (iter % 3 == 0) {
      scale = static_cast<float>(std::exp(log_scale(rng)));
    } else {
      // Scales where the product lands near the output range.
      scale = static_cast<float>(std::exp(std::uniform_real_distribution<double>(-25, 10)(rng)));
    }
    if (!(std::isnormal(scale) && scale > 0)) continue;
    const int32_t zp = (iter % 5 == 0) ? special_zp[iter / 5 % 2] : any_zp(rng);
    const uint8_t a = requantize_reference(acc, scale, zp);
    const uint8_t b = requantize_fp32_magic(acc, scale, zp);
    if (a != b && ++mismatches <= 5) {
      ADD_FAILURE() << "acc " << acc << " scale " << scale << " zp " << zp << ": reference "
                    << int(a) << ", magic " << int(b);
    }
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(Requantize, RoundHalfToEvenByHand) {
  // scale 0.5 is exact, so f32(acc) * 0.5 = acc / 2 exactly:
  //   acc 1 -> 0.5 -> 0 (even);  acc 3 -> 1.5 -> 2;  acc 5 -> 2.5 -> 2;
  //   acc 7 -> 3.5 -> 4;  acc -1 -> -0.5 -> 0;  acc -3 -> -1.5 -> -2.
  struct Case {
    int32_t acc, zp, expected;
  } cases[] = {
      {1, 0, 0},     {3, 0, 2},     {5, 0, 2},    {7, 0, 4},
      {1, 7, 7},     {3, 7, 9},     {5, 7, 9},    {7, 7, 11},   // + zero point 7
      {-1, 10, 10},  {-3, 10, 8},   {-5, 10, 8},  {-7, 10, 6},  // + zero point 10
      {2, 0, 1},     {4, 100, 102},                              // no tie: exact
  };
  for (const Case& c : cases) {
    EXPECT_EQ(requantize_reference(c.acc, 0.5f, c.zp), c.expected) << "acc " << c.acc;
    EXPECT_EQ(requantize_fp32_magic(c.acc, 0.5f, c.zp), c.expected) << "acc " << c.acc;
  }
  // scale 0.25: acc 2 -> 0.5 -> 0, acc 6 -> 1.5 -> 2, acc 10 -> 2.5 -> 2, acc 9 -> 2.25 -> 2.
  EXPECT_EQ(requantize_reference(2, 0.25f, 0), 0);
  EXPECT_EQ(requantize_reference(6, 0.25f, 0), 2);
  EXPECT_EQ(requantize_reference(10, 0.25f, 0), 2);
  EXPECT_EQ(requantize_reference(9, 0.25f, 0), 2);
  EXPECT_EQ(requantize_fp32_magic(6, 0.25f, 0), 2);
  EXPECT_EQ(requantize_fp32_magic(10, 0.25f, 0), 2);
}

TEST(Requantize, ClampAndSaturationByHand) {
  // scale 1: the output is clamp(acc + zp, 0, 255).
  EXPECT_EQ(requantize_reference(100, 1.0f, 0), 100);
  EXPECT_EQ(requantize_reference(-1, 1.0f, 0), 0);
  EXPECT_EQ(requantize_reference(300, 1.0f, 0), 255);
  EXPECT_EQ(requantize_reference(-20, 1.0f, 128), 108);
  EXPECT_EQ(requantize_reference(127, 1.0f, 128), 255);
  EXPECT_EQ(requantize_reference(-128, 1.0f, 128), 0);
  EXPECT_EQ(requantize_reference(0, 1.0f, 255), 255);
  // P1: acc 32385 * 67000 = 2169795000 >= 2^31 = 2147483648, so the int32
  // conversion saturates to INT32_MAX (x86 torch would give INT32_MIN -> 0);
  // int16 saturation gives 32767, + zp, clamp -> 255.
  EXPECT_EQ(requantize_reference(32385, 67000.0f, 0), 255);
  EXPECT_EQ(requantize_fp32_magic(32385, 67000.0f, 0), 255);
  // And the negative side: -2169795000 < -2^31 -> INT32_MIN -> 0 even with zp 255.
  EXPECT_EQ(requantize_reference(-32385, 67000.0f, 255), 0);
  EXPECT_EQ(requantize_fp32_magic(-32385, 67000.0f, 255), 0);
  // f32(INT32_MAX) = 2^31 exactly, times 1 -> 2^31 -> saturates -> 255.
  EXPECT_EQ(requantize_reference(kMax, 1.0f, 0), 255);
  EXPECT_EQ(requantize_fp32_magic(kMax, 1.0f, 0), 255);
  // f32(INT32_MIN) * 1 = -2^31 is in range: r = -2^31, sat16 -> -32768, + 255 -> 0.
  EXPECT_EQ(requantize_reference(kMin, 1.0f, 255), 0);
  // Product overflowing to +inf saturates too.
  EXPECT_EQ(requantize_reference(2, std::numeric_limits<float>::max(), 0), 255);
  EXPECT_EQ(requantize_reference(-2, std::numeric_limits<float>::max(), 255), 0);
  // Tiny scale: 70000 * 1e-5 = 0.7 -> 1; -70000 * 1e-5 -> -1 + 128 = 127.
  EXPECT_EQ(requantize_reference(70000, 1e-5f, 0), 1);
  EXPECT_EQ(requantize_reference(-70000, 1e-5f, 128), 127);
}

// ---------------------------------------------------------------------------
// quantize_bias (§4.1, P3)

TEST(QuantizeBias, TiesToEvenByHand) {
  // ws = 0.5, xs = 0.5: bias scale 0.25 exactly, inverse 4 exactly, and
  // b = m * 0.25 is exact, so b * 4 = m exactly and rint() decides ties.
  const double ws = 0.5, xs = 0.5;
  EXPECT_EQ(quantize_bias(2.5f * 0.25f, ws, xs), 2);   // 2.5 -> 2
  EXPECT_EQ(quantize_bias(3.5f * 0.25f, ws, xs), 4);   // 3.5 -> 4
  EXPECT_EQ(quantize_bias(0.5f * 0.25f, ws, xs), 0);   // 0.5 -> 0
  EXPECT_EQ(quantize_bias(1.5f * 0.25f, ws, xs), 2);   // 1.5 -> 2
  EXPECT_EQ(quantize_bias(-2.5f * 0.25f, ws, xs), -2); // -2.5 -> -2
  EXPECT_EQ(quantize_bias(-3.5f * 0.25f, ws, xs), -4); // -3.5 -> -4
  EXPECT_EQ(quantize_bias(2.75f * 0.25f, ws, xs), 3);  // not a tie
  EXPECT_EQ(quantize_bias(0.0f, ws, xs), 0);
  // ws = 2, xs = 0.125: bias scale 0.25 again, from a different product.
  EXPECT_EQ(quantize_bias(2.5f * 0.25f, 2.0, 0.125), 2);
  EXPECT_EQ(quantize_bias(3.5f * 0.25f, 2.0, 0.125), 4);
}

TEST(QuantizeBias, SaturatesP3ByHand) {
  // bias scale 1 (ws = xs = 1), so v = rint(b).
  EXPECT_EQ(quantize_bias(1e30f, 1.0, 1.0), kMax);    // |v| >= 2^63 -> toward its sign
  EXPECT_EQ(quantize_bias(-1e30f, 1.0, 1.0), kMin);
  EXPECT_EQ(quantize_bias(3e9f, 1.0, 1.0), kMax);     // 2^31 <= v < 2^63 -> clamp
  EXPECT_EQ(quantize_bias(-3e9f, 1.0, 1.0), kMin);
  EXPECT_EQ(quantize_bias(1e18f, 1.0, 1.0), kMax);    // in [2^31, 2^63)
  EXPECT_EQ(quantize_bias(9.3e18f, 1.0, 1.0), kMax);  // just above 2^63 ~ 9.22e18
  EXPECT_EQ(quantize_bias(2147483648.0f, 1.0, 1.0), kMax);   // exactly 2^31
  EXPECT_EQ(quantize_bias(-2147483648.0f, 1.0, 1.0), kMin);  // exactly -2^31: in range
  EXPECT_EQ(quantize_bias(2147483520.0f, 1.0, 1.0), 2147483520);  // 2^31 - 128, largest float < 2^31
  // b * inv overflows to inf: 3e38 * (1 / 1e-6) -> +inf -> INT32_MAX; -inf -> INT32_MIN.
  EXPECT_EQ(quantize_bias(3e38f, 1e-3, 1e-3), kMax);
  EXPECT_EQ(quantize_bias(-3e38f, 1e-3, 1e-3), kMin);
  // Tiny biases round to 0 (and -0 -> 0).
  EXPECT_EQ(quantize_bias(1e-30f, 1.0, 1.0), 0);
  EXPECT_EQ(quantize_bias(-1e-30f, 1.0, 1.0), 0);
}

// The spec's formula, transcribed step by step with an int64 cast and the
// P3 rule, for values where it is defined.
int32_t spec_quantize_bias(float b, double ws, double xs) {
  volatile float bs = static_cast<float>(ws * xs);  // double product, rounded
  volatile float inv = 1.0f / bs;
  volatile float prod = b * inv;
  const float t = std::nearbyint(static_cast<float>(prod));
  volatile float v = 0.0f + t;
  const float vf = v;
  int64_t q64;
  if (std::isinf(vf) || std::fabs(vf) >= 9223372036854775808.0f) {
    q64 = vf > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  } else {
    q64 = static_cast<int64_t>(vf);
  }
  if (q64 > kMax) return kMax;
  if (q64 < kMin) return kMin;
  return static_cast<int32_t>(q64);
}

TEST(QuantizeBias, MatchesSpecFormulaOnRandomValues) {
  std::mt19937 rng(777);
  std::uniform_real_distribution<double> log_s(std::log(1e-4), std::log(1.0));
  std::uniform_real_distribution<double> unit(-1.0, 1.0);
  std::uniform_real_distribution<double> log_mag(std::log(1e-3), std::log(1e12));
  int differs_from_double = 0;
  for (int i = 0; i < 200000; ++i) {
    const double ws = std::exp(log_s(rng)), xs = std::exp(log_s(rng));
    const float b = static_cast<float>(unit(rng) * std::exp(log_mag(rng)) * ws * xs);
    const int32_t got = quantize_bias(b, ws, xs);
    ASSERT_EQ(got, spec_quantize_bias(b, ws, xs)) << "b " << b << " ws " << ws << " xs " << xs;
    // The double formula rint(b / (ws*xs)) differs sometimes (§4.6); count it
    // to show the comparison above can tell the two apart.
    const double dq = std::nearbyint(static_cast<double>(b) / (ws * xs));
    if (std::fabs(dq) < 2e9 && static_cast<int64_t>(dq) != got) ++differs_from_double;
  }
  EXPECT_GT(differs_from_double, 0);
}

// ---------------------------------------------------------------------------
// bias_through_float32 (§4.2, P2)

TEST(BiasThroughFloat32, IdentityOnQuantizeBiasOutputs) {
  std::mt19937 rng(4242);
  std::vector<float> biases;
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (int i = 0; i < 100000; ++i) biases.push_back(u(rng) * std::ldexp(1.0f, i % 40));
  // Around +-2^31 and +-2^24, a few float steps either side.
  for (float center : {2147483648.0f, -2147483648.0f, 16777216.0f, -16777216.0f}) {
    float up = center, down = center;
    for (int i = 0; i < 300; ++i) {
      biases.push_back(up);
      biases.push_back(down);
      up = std::nextafter(up, std::numeric_limits<float>::infinity());
      down = std::nextafter(down, -std::numeric_limits<float>::infinity());
    }
  }
  biases.push_back(1e30f);
  biases.push_back(-1e30f);
  const double scale_pairs[][2] = {{1.0, 1.0}, {0.5, 0.5}, {0.1, 0.3}, {1e-3, 7e-2}};
  int64_t checked = 0, saturated_max = 0;
  for (const auto& sp : scale_pairs) {
    for (float b : biases) {
      const int32_t q = quantize_bias(b, sp[0], sp[1]);
      ASSERT_EQ(bias_through_float32(q), q) << "bias " << b << " -> " << q;
      ++checked;
      if (q == kMax) ++saturated_max;
    }
  }
  EXPECT_GT(saturated_max, 0);  // INT32_MAX (2^31 as float32) was among the inputs
  EXPECT_GT(checked, 0);
}

TEST(BiasThroughFloat32, RoundsLikeFloat32ByHand) {
  // 2^31 - 1 rounds to float32 2^31, which P2 saturates to INT32_MAX.
  EXPECT_EQ(bias_through_float32(kMax), kMax);
  EXPECT_EQ(bias_through_float32(kMin), kMin);  // -2^31 is exact
  // 2^24 + 1 lies halfway between 2^24 and 2^24 + 2: ties to the even
  // mantissa, 2^24.  2^24 + 3 lies between 2^24 + 2 (odd mantissa) and
  // 2^24 + 4 (even): 2^24 + 4.
  EXPECT_EQ(bias_through_float32(16777217), 16777216);
  EXPECT_EQ(bias_through_float32(16777219), 16777220);
  EXPECT_EQ(bias_through_float32(-16777217), -16777216);
  EXPECT_EQ(bias_through_float32(16777218), 16777218);  // representable
  EXPECT_EQ(bias_through_float32(16777216), 16777216);
  // Near 2^31 the float32 spacing is 128. 2^31 - 65 is 63 above 2^31 - 128
  // and 65 below 2^31: rounds down to 2147483520.  2^31 - 64 is a tie between
  // 2^31 - 128 (mantissa 0xFFFFFF, odd) and 2^31 (even): 2^31 -> INT32_MAX.
  EXPECT_EQ(bias_through_float32(2147483583), 2147483520);
  EXPECT_EQ(bias_through_float32(2147483584), kMax);
  EXPECT_EQ(bias_through_float32(2147483520), 2147483520);
  // Small values are unchanged.
  EXPECT_EQ(bias_through_float32(0), 0);
  EXPECT_EQ(bias_through_float32(-123456), -123456);
}

// ---------------------------------------------------------------------------
// requantization_scale (§4.3)

TEST(RequantizationScale, ExactFloat32Formula) {
  // By hand: 0.5 * 0.25 = 0.125; 1 / 2 = 0.5; 0.125 * 0.5 = 0.0625, all exact.
  EXPECT_EQ(requantization_scale(0.5, 0.25, 2.0), 0.0625f);
  EXPECT_EQ(requantization_scale(1.0, 1.0, 16777216.0), std::ldexp(1.0f, -24));

  std::mt19937 rng(99);
  std::uniform_real_distribution<double> log_s(std::log(1e-6), std::log(1e3));
  int differs_from_double = 0, differs_from_division = 0;
  for (int i = 0; i < 200000; ++i) {
    const double ws = std::exp(log_s(rng)), xs = std::exp(log_s(rng)), os = std::exp(log_s(rng));
    // Step by step, each a separate float32 operation.
    volatile float a = static_cast<float>(ws);
    volatile float b = static_cast<float>(xs);
    volatile float c = static_cast<float>(os);
    volatile float ab = a * b;
    volatile float inv = 1.0f / c;
    volatile float expected = ab * inv;
    const float got = requantization_scale(ws, xs, os);
    ASSERT_EQ(float_bits(got), float_bits(expected)) << ws << " " << xs << " " << os;
    if (got != static_cast<float>(ws * xs / os)) ++differs_from_double;
    volatile float div = ab / c;
    if (got != div) ++differs_from_division;
  }
  // The alternatives really are different functions, so the check above is
  // not vacuous.
  EXPECT_GT(differs_from_double, 0);
  EXPECT_GT(differs_from_division, 0);
}

// ---------------------------------------------------------------------------
// wrapping_add, is_valid_scale

TEST(WrappingAdd, TwosComplement) {
  EXPECT_EQ(wrapping_add(kMax, 1), kMin);
  EXPECT_EQ(wrapping_add(kMin, -1), kMax);
  EXPECT_EQ(wrapping_add(kMax, kMax), -2);  // 2^32 - 2 mod 2^32 -> -2
  EXPECT_EQ(wrapping_add(kMin, kMin), 0);
  EXPECT_EQ(wrapping_add(5, -7), -2);
  std::mt19937 rng(5);
  std::uniform_int_distribution<int32_t> any(kMin, kMax);
  for (int i = 0; i < 100000; ++i) {
    const int32_t a = any(rng), b = any(rng);
    int64_t s = static_cast<int64_t>(a) + b;
    if (s > kMax) s -= int64_t{1} << 32;
    if (s < kMin) s += int64_t{1} << 32;
    ASSERT_EQ(wrapping_add(a, b), s) << a << " + " << b;
  }
}

TEST(ScaleChecks, NormalPositiveFloat32Only) {
  EXPECT_TRUE(is_valid_scale(1.0));
  EXPECT_TRUE(is_valid_scale(1.2e-38));  // just above FLT_MIN ~ 1.1755e-38
  EXPECT_FALSE(is_valid_scale(1e-38));   // just below: subnormal as float32
  EXPECT_FALSE(is_valid_scale(0.0));
  EXPECT_FALSE(is_valid_scale(-1.0));
  EXPECT_FALSE(is_valid_scale(std::nan("")));
  EXPECT_FALSE(is_valid_scale(std::numeric_limits<double>::infinity()));
  EXPECT_FALSE(is_valid_scale(1e-39));  // subnormal as float32
  EXPECT_FALSE(is_valid_scale(1e39));   // inf as float32
  EXPECT_TRUE(is_valid_scale(3.4e38));
}

}  // namespace
}  // namespace qconv
