// Quantization arithmetic of docs/SEMANTICS.md §4 under the port policy §0
// (P1-P3: saturating float->int conversions). Every float step is a single
// IEEE float32 operation; build with -ffp-contract=off so none is fused.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

namespace qconv {

constexpr float kTwoPow31 = 2147483648.0f;

// True when v is a finite, positive, normal float32.
inline bool is_normal_positive(float v) { return std::isnormal(v) && v > 0.0f; }

// A scale argument: finite, > 0, and a normal float32 once rounded.
inline bool is_valid_scale(double s) {
  return std::isfinite(s) && s > 0.0 && is_normal_positive(static_cast<float>(s));
}

// §4.1 bias to int32, with P3: a float32 value beyond int32 saturates
// toward its sign (torch's int64 cast gives INT64_MIN for inf / >= 2^63).
inline int32_t quantize_bias(float bias, double weight_scale, double input_scale) {
  const float bias_scale = static_cast<float>(weight_scale * input_scale);
  const float inv = 1.0f / bias_scale;
  const float t = std::nearbyint(bias * inv);
  const float v = 0.0f + t;  // torch adds the (zero) zero point in float
  if (v >= kTwoPow31) return std::numeric_limits<int32_t>::max();
  if (v < -kTwoPow31) return std::numeric_limits<int32_t>::min();
  return static_cast<int32_t>(v);
}

// §4.2 the packer's float32 round trip of the int32 bias, with P2 (2^31
// saturates to INT32_MAX). It is the identity on quantize_bias results.
inline int32_t bias_through_float32(int32_t q) {
  const float f = static_cast<float>(q);
  if (f >= kTwoPow31) return std::numeric_limits<int32_t>::max();
  return static_cast<int32_t>(f);
}

// §4.3 requantization scale, all float32.
inline float requantization_scale(double weight_scale, double input_scale, double output_scale) {
  return (static_cast<float>(weight_scale) * static_cast<float>(input_scale)) *
         (1.0f / static_cast<float>(output_scale));
}

// §4.4 with P1, written as docs/SEMANTICS.md §4.4 states it: float32 product, round half
// to even, saturate to int32, then to int16, add the zero point, clamp.
inline uint8_t requantize_reference(int32_t acc, float scale, int32_t output_zero_point) {
  const float f = static_cast<float>(acc) * scale;
  int64_t r;
  if (f >= kTwoPow31) {
    r = std::numeric_limits<int32_t>::max();
  } else if (f < -kTwoPow31) {
    r = std::numeric_limits<int32_t>::min();
  } else {
    r = static_cast<int64_t>(std::nearbyint(f));
  }
  r = r < -32768 ? -32768 : (r > 32767 ? 32767 : r);
  r += output_zero_point;
  r = r < -32768 ? -32768 : (r > 32767 ? 32767 : r);
  return static_cast<uint8_t>(r < 0 ? 0 : (r > 255 ? 255 : r));
}

// The same function as kernels compute it: clamp in float (no result below
// -256 or above 511 can survive the final clamp, so clamping there first is
// exact), then round half to even with the 1.5*2^23 "magic number", which
// is exact for |f| < 2^22 and needs no float->int conversion.
// min_less_zero_point: -512 (none) or 0 (a fused ReLU: at least the zero point).
inline uint8_t requantize_fp32_magic(int32_t acc, float scale, int32_t output_zero_point,
                                     float min_less_zero_point = -512.0f) {
  float f = static_cast<float>(acc) * scale;
  f = f < min_less_zero_point ? min_less_zero_point : (f > 512.0f ? 512.0f : f);
  constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23
  const float rounded = (f + kMagic) - kMagic;
  const int32_t r = static_cast<int32_t>(rounded) + output_zero_point;
  return static_cast<uint8_t>(r < 0 ? 0 : (r > 255 ? 255 : r));
}

// Wrapping int32 addition (two's complement), as QNNPACK's accumulators.
inline int32_t wrapping_add(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}

}  // namespace qconv
