// The ops between convolutions, byte-exact to PyTorch 1.13 (QNNPACK engine,
// x86-64 AVX2 kernels): docs/SEMANTICS.md §12. Every float step is one IEEE
// float32 operation (the core builds with -ffp-contract=off); the one fused
// multiply-add PyTorch's vector path performs is written as std::fma.
#include "qops.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "operator.h"  // num()
#include "quantization.h"

namespace qconv {

namespace {

// The shortest decimal that reads back as the same float32.
std::string num_f32(float v) {
  if (!std::isfinite(v) || (v == std::floor(v) && std::fabs(v) < 1e21f)) return num(v);
  char buf[32];
  for (int precision = 1; precision <= 9; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, static_cast<double>(v));
    if (std::strtof(buf, nullptr) == v) break;
  }
  return buf;
}

Status fail(Error* error, const std::string& message) {
  if (error != nullptr) error->message = message;
  return Status::kInvalidArgument;
}

// Checks one tensor's quantization; `what` names it ("input", "a", ...).
bool check_quant(const char* op, const char* what, QuantParams q, Error* error, Status* status) {
  if (!is_valid_scale(q.scale)) {
    *status = fail(error, std::string(op) + ": " + what + ".scale (" + num(q.scale) +
                              ") must be a finite, positive, normal float32");
    return false;
  }
  if (q.zero_point < 0 || q.zero_point > 255) {
    *status = fail(error, std::string(op) + ": " + what + ".zeroPoint (" +
                              num(static_cast<double>(q.zero_point)) +
                              ") must be an integer in [0, 255]");
    return false;
  }
  return true;
}

// Beyond this magnitude (in output quantization steps) PyTorch's vector and
// scalar paths saturate differently (int32 vs int64 conversions, with
// wrap-around); such parameters are refused.
constexpr float kMaxSteps = 1073741824.0f;  // 2^30

// dequantize_val (scalar path): f32(scale) * (q - zp) as float32.
inline float dequantize_scalar(float scale, int32_t zp, int q) {
  return scale * static_cast<float>(q - zp);
}

// Vectorized<quint8>::dequantize (AVX2): fmadd(scale, q, scale * -zp).
inline float dequantize_vector(float scale, int32_t zp, int q) {
  const float premul = scale * (-static_cast<float>(zp));
  return std::fma(scale, static_cast<float>(q), premul);
}

// Both paths' rounding once |t| < 2^30: round half to even, add the zero
// point, clamp to [0, 255]. (The scalar quantize_val adds the zero point in
// float32, exact here; the vector path adds it in int32.)
inline uint8_t round_and_clamp(float t, int32_t zp) {
  const int64_t r = static_cast<int64_t>(std::nearbyint(t)) + zp;
  return static_cast<uint8_t>(r < 0 ? 0 : (r > 255 ? 255 : r));
}

// quantize_val of one bound with the port policy's saturation (§0): NaN is
// refused by the caller; +-Infinity and values beyond the range clamp.
inline int32_t quantize_bound(float v, float inv, int32_t zp) {
  const float t = std::nearbyint(v * inv);
  const float s = static_cast<float>(zp) + t;
  if (s <= 0.0f) return 0;
  if (s >= 255.0f) return 255;
  return static_cast<int32_t>(s);
}

void set_same(UnaryTable* table, const uint8_t* values) {
  std::memcpy(table->vector_path, values, 256);
  std::memcpy(table->scalar_path, values, 256);
  table->position_dependent = false;
}

void clamp_table(int32_t lo, int32_t hi, UnaryTable* table) {
  uint8_t values[256];
  for (int q = 0; q < 256; ++q) {
    const int32_t v = q < lo ? lo : q;
    values[q] = static_cast<uint8_t>(v > hi ? hi : v);
  }
  set_same(table, values);
}

}  // namespace

Status make_relu(QuantParams input, UnaryTable* table, Error* error) {
  Status status = Status::kOk;
  if (!check_quant("relu", "input", input, error, &status)) return status;
  clamp_table(input.zero_point, 255, table);
  return Status::kOk;
}

Status make_hardtanh(QuantParams input, double min_val, double max_val, UnaryTable* table,
                     Error* error) {
  Status status = Status::kOk;
  if (!check_quant("hardtanh", "input", input, error, &status)) return status;
  if (std::isnan(min_val)) return fail(error, "hardtanh: min_val (NaN) must be a number");
  if (std::isnan(max_val)) return fail(error, "hardtanh: max_val (NaN) must be a number");
  // Scalar::to<float>() of the bounds, then quantize_val with 1.0f / f32(scale).
  const float inv = 1.0f / static_cast<float>(input.scale);
  const int32_t lo = quantize_bound(static_cast<float>(min_val), inv, input.zero_point);
  const int32_t hi = quantize_bound(static_cast<float>(max_val), inv, input.zero_point);
  if (lo > hi) {
    return fail(error, "hardtanh: min_val (" + num(min_val) + ") quantizes to " +
                           num(lo) + ", above max_val (" + num(max_val) + ") quantized to " +
                           num(hi) + " (QNNPACK's clamp needs min <= max)");
  }
  clamp_table(lo, hi, table);
  return Status::kOk;
}

Status make_leaky_relu(QuantParams input, QuantParams output, double negative_slope,
                       UnaryTable* table, Error* error) {
  Status status = Status::kOk;
  if (!check_quant("leaky_relu", "input", input, error, &status)) return status;
  if (!check_quant("leaky_relu", "output", output, error, &status)) return status;
  const float slope = static_cast<float>(negative_slope);
  if (!std::isfinite(slope)) {
    return fail(error, "leaky_relu: negative_slope (" + num(negative_slope) +
                           ") must be finite as a float32");
  }
  const float in_scale = static_cast<float>(input.scale);
  const float inv = 1.0f / static_cast<float>(output.scale);
  UnaryTable t;
  for (int q = 0; q < 256; ++q) {
    float dx[2] = {dequantize_vector(in_scale, input.zero_point, q),
                   dequantize_scalar(in_scale, input.zero_point, q)};
    for (int path = 0; path < 2; ++path) {
      const float dy = dx[path] > 0.0f ? dx[path] : dx[path] * slope;
      const float steps = dy * inv;
      if (!(std::fabs(steps) < kMaxSteps)) {
        return fail(error, "leaky_relu: input " + num(q) + " maps to " + num_f32(steps) +
                               " output steps; |steps| must stay below 2^30 (input.scale " +
                               num(input.scale) + ", output.scale " + num(output.scale) +
                               ", negative_slope " + num(negative_slope) + ")");
      }
      (path == 0 ? t.vector_path : t.scalar_path)[q] = round_and_clamp(steps, output.zero_point);
    }
  }
  t.position_dependent = std::memcmp(t.vector_path, t.scalar_path, 256) != 0;
  *table = t;
  return Status::kOk;
}

Status make_requantize(QuantParams input, QuantParams output, UnaryTable* table, Error* error) {
  Status status = Status::kOk;
  if (!check_quant("requantize", "input", input, error, &status)) return status;
  if (!check_quant("requantize", "output", output, error, &status)) return status;
  const float in_scale = static_cast<float>(input.scale);
  const float inv = 1.0f / static_cast<float>(output.scale);
  uint8_t values[256];
  for (int q = 0; q < 256; ++q) {
    const float steps = dequantize_scalar(in_scale, input.zero_point, q) * inv;
    if (!(std::fabs(steps) < kMaxSteps)) {
      return fail(error, "requantize: input.scale / output.scale (" +
                             num(input.scale / output.scale) +
                             ") is too large: input " + num(q) + " maps to " + num_f32(steps) +
                             " output steps, which must stay below 2^30");
    }
    values[q] = round_and_clamp(steps, output.zero_point);
  }
  set_same(table, values);
  return Status::kOk;
}

void apply_unary(const UnaryTable& table, const uint8_t* input, uint8_t* output, size_t count,
                 const KernelSet* kernels) {
  // cpu_kernel_vec on one thread: blocks of 2 x 32 quint8 lanes, then a
  // scalar tail.
  const LutUkernelFn lut = (kernels != nullptr ? *kernels : default_kernels()).lut;
  const size_t vector_end = table.position_dependent ? count / kUnaryVectorBlock * kUnaryVectorBlock
                                                     : count;
  if (vector_end != 0) lut(vector_end, input, output, table.vector_path);
  if (count != vector_end) {
    lut(count - vector_end, input + vector_end, output + vector_end, table.scalar_path);
  }
}

Status make_add(QuantParams a, QuantParams b, QuantParams output, bool relu, AddParams* params,
                Error* error) {
  const char* op = relu ? "add_relu" : "add";
  Status status = Status::kOk;
  if (!check_quant(op, "a", a, error, &status)) return status;
  if (!check_quant(op, "b", b, error, &status)) return status;
  if (!check_quant(op, "output", output, error, &status)) return status;
  // pytorch_qnnp_create_add_nc_q8: float32 ratios, each in [2^-14, 2^8).
  const float out_scale = static_cast<float>(output.scale);
  const float a_ratio = static_cast<float>(a.scale) / out_scale;
  const float b_ratio = static_cast<float>(b.scale) / out_scale;
  const float lo = 0x1.0p-14f, hi = 0x1.0p+8f;
  if (!(a_ratio >= lo && a_ratio < hi)) {
    return fail(error, std::string(op) + ": a.scale / output.scale (" + num_f32(a_ratio) +
                           ") must be in [2^-14, 2^8) (QNNPACK's limit)");
  }
  if (!(b_ratio >= lo && b_ratio < hi)) {
    return fail(error, std::string(op) + ": b.scale / output.scale (" + num_f32(b_ratio) +
                           ") must be in [2^-14, 2^8) (QNNPACK's limit)");
  }
  // add_relu clamps below at the output zero point; QNNPACK needs min < max.
  const int32_t out_min = relu ? output.zero_point : 0;
  if (out_min >= 255) {
    return fail(error, std::string(op) + ": output.zeroPoint (" + num(output.zero_point) +
                           ") must be below 255 (QNNPACK needs the ReLU's lower bound below "
                           "the upper bound 255)");
  }
  // pytorch_qnnp_compute_add_quantization_params. Its shift is 21 minus the
  // larger ratio's exponent; below 2^-10 it would be 32 or more, where
  // QNNPACK's x86 kernel rounds wrongly (PyTorch's results drift by +-1).
  const float max_ratio = a_ratio > b_ratio ? a_ratio : b_ratio;
  if (!(max_ratio >= 0x1.0p-10f)) {
    return fail(error, std::string(op) + ": the larger of a.scale / output.scale and b.scale / "
                           "output.scale (" + num_f32(max_ratio) +
                           ") must be at least 2^-10 (QNNPACK's shift must stay below 32)");
  }
  uint32_t bits;
  std::memcpy(&bits, &max_ratio, 4);
  const int32_t exponent = static_cast<int32_t>(bits >> 23) - 127;
  const uint32_t shift = static_cast<uint32_t>(21 - exponent);  // in [14, 31]
  const uint32_t multiplier_bits = static_cast<uint32_t>(21 - exponent + 127) << 23;
  float scale_multiplier;
  std::memcpy(&scale_multiplier, &multiplier_bits, 4);
  const uint32_t a_mult = static_cast<uint32_t>(static_cast<int32_t>(std::lrint(a_ratio * scale_multiplier)));
  const uint32_t b_mult = static_cast<uint32_t>(static_cast<int32_t>(std::lrint(b_ratio * scale_multiplier)));
  AddParams p;
  p.a_multiplier = a_mult;
  p.b_multiplier = b_mult;
  p.zero_point_product = static_cast<int32_t>(
      0u - (a_mult * static_cast<uint32_t>(a.zero_point) + b_mult * static_cast<uint32_t>(b.zero_point)));
  p.shift = shift;
  p.remainder_mask = static_cast<int32_t>((UINT32_C(1) << shift) - 1u);
  p.remainder_threshold = static_cast<int32_t>(static_cast<uint32_t>(p.remainder_mask) >> 1);
  p.output_zero_point = output.zero_point;
  p.output_min = out_min;
  p.output_max = 255;
  *params = p;
  return Status::kOk;
}

void apply_add(const AddParams& p, const uint8_t* a, const uint8_t* b, uint8_t* output,
               size_t count, const KernelSet* kernels) {
  // Wrapping int32 sum, then a rounding arithmetic shift (ties away from 0):
  // the qu8 vadd kernels (microkernels.h).
  (kernels != nullptr ? *kernels : default_kernels()).vadd(count, a, b, output, p);
}

void apply_cat_channels(const CatPart* parts, size_t num_parts, int64_t batch, int64_t length,
                        uint8_t* output, const KernelSet* kernels) {
  // dequantize, cat, quantize_per_tensor: both are scalar loops in this
  // PyTorch build, so each part's requantization is one table.
  const LutUkernelFn lut = (kernels != nullptr ? *kernels : default_kernels()).lut;
  uint8_t* out = output;
  for (int64_t n = 0; n < batch; ++n) {
    for (size_t k = 0; k < num_parts; ++k) {
      const CatPart& part = parts[k];
      const size_t row = static_cast<size_t>(part.channels * length);
      const uint8_t* in = part.data + static_cast<size_t>(n) * row;
      if (row != 0) lut(row, in, out, part.table->scalar_path);
      out += row;
    }
  }
}

void apply_reflection_pad1d(const uint8_t* input, int64_t batch, int64_t channels, int64_t length,
                            int64_t left, int64_t right, uint8_t* output) {
  const int64_t out_len = left + length + right;
  for (int64_t r = 0; r < batch * channels; ++r) {
    const uint8_t* in = input + r * length;
    uint8_t* out = output + r * out_len;
    for (int64_t j = 0; j < left; ++j) out[j] = in[left - j];
    std::memcpy(out + left, in, static_cast<size_t>(length));
    for (int64_t j = 0; j < right; ++j) out[left + length + j] = in[length - 2 - j];
  }
}

}  // namespace qconv
