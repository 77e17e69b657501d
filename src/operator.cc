// Conv1d and ConvTranspose1d operators: validation (SEMANTICS.md §0),
// weight packing, setup (output length, requantization plan, scratch) and run.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

#include "buffer.h"
#include "microkernels/microkernels.h"
#include "qconv/qconv.h"
#include "quantization.h"

namespace qconv {

struct Operator {
  ConvParams params;
  int64_t in_per_group = 0;
  int64_t out_per_group = 0;

  // What the caller gave, kept for the accessors.
  Buffer<int8_t> weight;
  Buffer<double> weight_scales;
  Buffer<double> weight_zero_points;
  bool per_channel = false;
  Buffer<float> bias;  // empty (size 0) when there is no bias
  bool has_bias = false;

  // Packed once per set_weights: [out_channel][k][in_channel of group],
  // weight minus its zero point, as int16.
  Buffer<int16_t> packed_weights;

  double out_scale = 1.0;
  int32_t out_zero_point = 0;

  // Derived from (weights, input scale, output scale); rebuilt when one changes.
  bool derived_valid = false;
  double derived_input_scale = 0.0;
  double derived_output_scale = 0.0;
  Buffer<int32_t> quantized_bias;
  Buffer<float> requant_scales;

  // Reshape and setup state.
  bool ready = false;
  int64_t batch = 0;
  int64_t length = 0;
  int64_t output_length = 0;
  int64_t padded_rows = 0;    // rows of the transposed input (L, or L + 2p for reflect)
  int64_t row_offset = 0;     // reflect: p, zeros: 0
  int64_t conv_padding = 0;   // Conv1d padding left to the taps (0 for reflect)
  int32_t input_zero_point = 0;
  const uint8_t* input = nullptr;
  uint8_t* output = nullptr;
  Buffer<int16_t> input_rows;  // [row][in_channel]: input minus its zero point
  Buffer<const int16_t*> tap_rows;
  Buffer<uint32_t> tap_kernel_index;
};

namespace {

const char* kind_name(const ConvParams& p) {
  return p.kind == OperatorKind::kConv1d ? "Conv1d" : "ConvTranspose1d";
}

// JavaScript's way of printing a number, so that messages read the same in
// JS and in native tests.
std::string num(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  char buf[40];
  if (v == std::floor(v) && std::fabs(v) < 1e21) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

Status fail(Error* error, Status status, const std::string& message) {
  if (error != nullptr) error->message = message;
  return status;
}

Status invalid(Error* error, const ConvParams& p, const std::string& message) {
  return fail(error, Status::kInvalidArgument, std::string(kind_name(p)) + ": " + message);
}

Status too_large(Error* error, const ConvParams& p, const std::string& what, uint64_t bytes) {
  return fail(error, Status::kOutOfMemory,
              std::string(kind_name(p)) + ": " + what + " needs " + num(static_cast<double>(bytes)) +
                  " bytes, more than wasm memory can hold (2 GiB)");
}

// a * b, saturating at UINT64_MAX instead of wrapping.
uint64_t mul_sat(uint64_t a, uint64_t b) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) {
    return std::numeric_limits<uint64_t>::max();
  }
  return a * b;
}

bool is_integer_in(double v, double lo, double hi) {
  return std::isfinite(v) && v == std::floor(v) && v >= lo && v <= hi;
}

std::string weight_shape_string(const ConvParams& p) {
  const int64_t a = p.kind == OperatorKind::kConvTranspose1d ? p.in_channels : p.out_channels;
  const int64_t b = p.kind == OperatorKind::kConvTranspose1d ? p.out_channels / p.groups
                                                             : p.in_channels / p.groups;
  return "[" + num(static_cast<double>(a)) + ", " + num(static_cast<double>(b)) + ", " +
         num(static_cast<double>(p.kernel_size)) + "]";
}

uint64_t weight_elements(const ConvParams& p) {
  return mul_sat(mul_sat(static_cast<uint64_t>(p.out_channels),
                         static_cast<uint64_t>(p.in_channels / p.groups)),
                 static_cast<uint64_t>(p.kernel_size));
}

Status validate_params(const ConvParams& p, Error* error) {
  struct Rule {
    const char* name;
    int64_t value;
    int64_t minimum;
  };
  const bool transposed = p.kind == OperatorKind::kConvTranspose1d;
  const Rule rules[] = {
      {"inChannels", p.in_channels, 1}, {"outChannels", p.out_channels, 1},
      {"kernelSize", p.kernel_size, 1}, {"stride", p.stride, 1},
      {"padding", p.padding, 0},        {"outputPadding", p.output_padding, 0},
      {"dilation", p.dilation, 1},      {"groups", p.groups, 1},
  };
  for (const Rule& r : rules) {
    if (!transposed && std::strcmp(r.name, "outputPadding") == 0) continue;
    if (r.value < r.minimum) {
      return invalid(error, p,
                     std::string(r.name) + " (" + num(static_cast<double>(r.value)) +
                         ") must be an integer >= " + num(static_cast<double>(r.minimum)));
    }
    if (r.value > std::numeric_limits<int32_t>::max()) {
      return invalid(error, p,
                     std::string(r.name) + " (" + num(static_cast<double>(r.value)) +
                         ") must be at most 2147483647");
    }
  }
  if (!transposed && p.output_padding != 0) {
    return invalid(error, p, "outputPadding (" + num(static_cast<double>(p.output_padding)) +
                                 ") is not a Conv1d parameter and must be 0");
  }
  if (p.in_channels % p.groups != 0 || p.out_channels % p.groups != 0) {
    return invalid(error, p,
                   "groups (" + num(static_cast<double>(p.groups)) + ") must divide inChannels (" +
                       num(static_cast<double>(p.in_channels)) + ") and outChannels (" +
                       num(static_cast<double>(p.out_channels)) + ")");
  }
  if (transposed) {
    if (p.padding_mode != PaddingMode::kZeros) {
      return invalid(error, p, "paddingMode must be 'zeros' (the only mode PyTorch supports here)");
    }
    const int64_t limit = p.stride > p.dilation ? p.stride : p.dilation;
    if (p.output_padding >= limit) {
      return invalid(error, p,
                     "outputPadding (" + num(static_cast<double>(p.output_padding)) +
                         ") must be smaller than stride (" + num(static_cast<double>(p.stride)) +
                         ") or dilation (" + num(static_cast<double>(p.dilation)) + ")");
    }
  }
  // int8 copy + int16 packed copy of the weights.
  const uint64_t bytes = mul_sat(weight_elements(p), 3);
  if (bytes > kMaxBytes) {
    return too_large(error, p, "a weight of shape " + weight_shape_string(p), bytes);
  }
  return Status::kOk;
}

void pack_weights(Operator* op) {
  const ConvParams& p = op->params;
  const int64_t K = p.kernel_size;
  const int64_t cin_g = op->in_per_group;
  const int64_t cout_g = op->out_per_group;
  const bool per_channel = op->per_channel;
  const int8_t* w = op->weight.data();
  int16_t* packed = op->packed_weights.data();
  auto zero_point = [&](int64_t co) {
    return static_cast<int32_t>(op->weight_zero_points[per_channel ? co : 0]);
  };
  if (p.kind == OperatorKind::kConvTranspose1d) {
    // weight[ci][j][k] -> packed[g*cout_g + j][k][ci - g*cin_g]
    for (int64_t ci = 0; ci < p.in_channels; ++ci) {
      const int64_t g = ci / cin_g;
      for (int64_t j = 0; j < cout_g; ++j) {
        const int64_t co = g * cout_g + j;
        const int32_t zp = zero_point(co);
        for (int64_t k = 0; k < K; ++k) {
          packed[(co * K + k) * cin_g + (ci - g * cin_g)] =
              static_cast<int16_t>(w[(ci * cout_g + j) * K + k] - zp);
        }
      }
    }
  } else {
    // weight[co][i][k] -> packed[co][k][i]
    for (int64_t co = 0; co < p.out_channels; ++co) {
      const int32_t zp = zero_point(co);
      for (int64_t i = 0; i < cin_g; ++i) {
        for (int64_t k = 0; k < K; ++k) {
          packed[(co * K + k) * cin_g + i] = static_cast<int16_t>(w[(co * cin_g + i) * K + k] - zp);
        }
      }
    }
  }
}

// Conv1d with a 1-wide kernel, unit stride and no padding runs QNNPACK's
// GEMM path, whose packer keeps the int32 bias exact (§4.2).
bool uses_gemm_bias(const ConvParams& p) {
  return p.kind == OperatorKind::kConv1d && p.kernel_size == 1 && p.stride == 1 &&
         (p.padding == 0 || p.padding_mode == PaddingMode::kReflect);
}

}  // namespace

Status create_operator(const ConvParams& params, Operator** op_out, Error* error) {
  *op_out = nullptr;
  Status status = validate_params(params, error);
  if (status != Status::kOk) return status;
  Operator* op = new (std::nothrow) Operator();
  if (op == nullptr) return too_large(error, params, "the operator", sizeof(Operator));
  op->params = params;
  op->in_per_group = params.in_channels / params.groups;
  op->out_per_group = params.out_channels / params.groups;

  // A new module: all-zero per-tensor weights (scale 1, zero point 0), zero
  // bias when `bias` is set.
  const size_t n = static_cast<size_t>(weight_elements(params));
  const size_t cout = static_cast<size_t>(params.out_channels);
  if (!op->weight.reserve_discard(n) || !op->packed_weights.reserve_discard(n) ||
      !op->weight_scales.reserve_discard(1) || !op->weight_zero_points.reserve_discard(1) ||
      !op->bias.reserve_discard(params.bias ? cout : 0) ||
      !op->quantized_bias.reserve_discard(cout) || !op->requant_scales.reserve_discard(cout)) {
    delete op;
    return too_large(error, params, "a weight of shape " + weight_shape_string(params),
                     static_cast<uint64_t>(n) * 3);
  }
  std::memset(op->weight.data(), 0, n);
  op->weight_scales[0] = 1.0;
  op->weight_zero_points[0] = 0.0;
  op->per_channel = false;
  op->has_bias = params.bias;
  for (size_t c = 0; c < op->bias.size(); ++c) op->bias[c] = 0.0f;
  pack_weights(op);
  *op_out = op;
  return Status::kOk;
}

void delete_operator(Operator* op) { delete op; }

const ConvParams& operator_params(const Operator* op) { return op->params; }

Status check_weight_size(const Operator* op, size_t size, Error* error) {
  const uint64_t expected = weight_elements(op->params);
  if (size != expected) {
    return invalid(error, op->params,
                   "weight data has " + num(static_cast<double>(size)) + " elements but shape " +
                       weight_shape_string(op->params) + " needs " +
                       num(static_cast<double>(expected)));
  }
  return Status::kOk;
}

Status set_weights(Operator* op, const WeightDesc& weight, const float* bias, size_t bias_size,
                   Error* error) {
  const ConvParams& p = op->params;
  Status status = check_weight_size(op, weight.size, error);
  if (status != Status::kOk) return status;
  const size_t cout = static_cast<size_t>(p.out_channels);
  const size_t nq = weight.num_qparams;
  if (weight.per_channel ? nq != cout : nq != 1) {
    return invalid(error, p,
                   weight.per_channel
                       ? "per-channel weight scales must have outChannels (" +
                             num(static_cast<double>(cout)) + ") entries, got " +
                             num(static_cast<double>(nq))
                       : "a per-tensor weight has exactly one scale and zero point, got " +
                             num(static_cast<double>(nq)));
  }
  for (size_t c = 0; c < nq; ++c) {
    const std::string at = weight.per_channel ? "[" + num(static_cast<double>(c)) + "]" : "";
    if (!is_valid_scale(weight.scales[c])) {
      return invalid(error, p,
                     "weight scale" + at + " (" + num(weight.scales[c]) +
                         ") must be finite, > 0 and a normal float32");
    }
    if (!is_integer_in(weight.zero_points[c], -128, 127)) {
      return invalid(error, p,
                     "weight zeroPoint" + at + " (" + num(weight.zero_points[c]) +
                         ") must be an integer in [-128, 127]");
    }
  }
  if (bias != nullptr) {
    if (bias_size != cout) {
      return invalid(error, p,
                     "bias has " + num(static_cast<double>(bias_size)) +
                         " elements but outChannels is " + num(static_cast<double>(cout)));
    }
    for (size_t c = 0; c < cout; ++c) {
      if (!std::isfinite(bias[c])) {
        return invalid(error, p,
                       "bias[" + num(static_cast<double>(c)) + "] (" + num(bias[c]) +
                           ") must be finite as a float32");
      }
    }
  }

  // Build the new state aside, then swap it in: a failure changes nothing.
  Buffer<int8_t> new_weight;
  Buffer<int16_t> new_packed;
  Buffer<double> new_scales, new_zero_points;
  Buffer<float> new_bias;
  if (!new_weight.reserve_discard(weight.size) || !new_packed.reserve_discard(weight.size) ||
      !new_scales.reserve_discard(nq) || !new_zero_points.reserve_discard(nq) ||
      !new_bias.reserve_discard(bias != nullptr ? cout : 0)) {
    return too_large(error, p, "the weights", static_cast<uint64_t>(weight.size) * 3);
  }
  if (weight.size != 0) std::memcpy(new_weight.data(), weight.data, weight.size);
  std::memcpy(new_scales.data(), weight.scales, nq * sizeof(double));
  std::memcpy(new_zero_points.data(), weight.zero_points, nq * sizeof(double));
  if (bias != nullptr) std::memcpy(new_bias.data(), bias, cout * sizeof(float));
  op->weight.swap(new_weight);
  op->packed_weights.swap(new_packed);
  op->weight_scales.swap(new_scales);
  op->weight_zero_points.swap(new_zero_points);
  op->bias.swap(new_bias);
  op->per_channel = weight.per_channel;
  op->has_bias = bias != nullptr;
  pack_weights(op);
  op->derived_valid = false;
  op->ready = false;  // the next run needs a reshape for the new weights
  return Status::kOk;
}

Status set_output_quantization(Operator* op, double scale, double zero_point, Error* error) {
  if (!is_valid_scale(scale)) {
    return invalid(error, op->params,
                   "scale (" + num(scale) + ") must be finite, > 0 and a normal float32");
  }
  if (!is_integer_in(zero_point, 0, 255)) {
    return invalid(error, op->params,
                   "zeroPoint (" + num(zero_point) + ") must be an integer in [0, 255]");
  }
  if (scale != op->out_scale) {
    op->derived_valid = false;
    op->ready = false;
  }
  op->out_scale = scale;
  op->out_zero_point = static_cast<int32_t>(zero_point);
  return Status::kOk;
}

double output_scale(const Operator* op) { return op->out_scale; }
int32_t output_zero_point(const Operator* op) { return op->out_zero_point; }
const int8_t* weight_data(const Operator* op) { return op->weight.data(); }
size_t weight_size(const Operator* op) { return op->weight.size(); }
const double* weight_scales(const Operator* op) { return op->weight_scales.data(); }
const double* weight_zero_points(const Operator* op) { return op->weight_zero_points.data(); }
size_t num_weight_qparams(const Operator* op) { return op->weight_scales.size(); }
bool weight_per_channel(const Operator* op) { return op->per_channel; }
const float* bias_data(const Operator* op) { return op->has_bias ? op->bias.data() : nullptr; }

namespace {

// Output length and the output padding it implies (ConvTranspose1d).
Status output_length_impl(const ConvParams& p, int64_t L, int64_t requested, int64_t* lout,
                          int64_t* output_padding, Error* error) {
  if (L < 1) {
    return invalid(error, p, "input length (" + num(static_cast<double>(L)) + ") must be >= 1");
  }
  if (L > std::numeric_limits<int32_t>::max()) {
    return invalid(error, p,
                   "input length (" + num(static_cast<double>(L)) + ") must be at most 2147483647");
  }
  const int64_t K = p.kernel_size, s = p.stride, pad = p.padding, d = p.dilation;
  if (p.kind == OperatorKind::kConvTranspose1d) {
    const int64_t min_size = (L - 1) * s - 2 * pad + d * (K - 1) + 1;
    if (requested >= 0) {
      const int64_t max_size = min_size + s - 1;
      if (requested < min_size || requested > max_size || requested < 1) {
        return invalid(error, p,
                       "outputSize (" + num(static_cast<double>(requested)) +
                           ") must be between " + num(static_cast<double>(min_size)) + " and " +
                           num(static_cast<double>(max_size)) +
                           " (and >= 1) for an input of length " + num(static_cast<double>(L)));
      }
      *output_padding = requested - min_size;
      *lout = requested;
      return Status::kOk;
    }
    const int64_t n = min_size + p.output_padding;
    if (n < 1) {
      return invalid(error, p,
                     "output length ((L-1)*stride - 2*padding + dilation*(kernelSize-1) + "
                     "outputPadding + 1 = " +
                         num(static_cast<double>(n)) + " for L = " + num(static_cast<double>(L)) +
                         ") must be >= 1");
    }
    *output_padding = p.output_padding;
    *lout = n;
    return Status::kOk;
  }
  if (requested >= 0) {
    return invalid(error, p, "outputSize is a ConvTranspose1d argument; Conv1d takes none");
  }
  if (p.padding_mode == PaddingMode::kReflect && pad > 0 && pad >= L) {
    return invalid(error, p,
                   "padding (" + num(static_cast<double>(pad)) +
                       ") must be smaller than the input length (" + num(static_cast<double>(L)) +
                       ") for reflect padding");
  }
  const int64_t padded = L + 2 * pad;
  const int64_t span = d * (K - 1) + 1;
  if (padded < span) {
    return invalid(error, p,
                   "padded input length (L + 2*padding = " + num(static_cast<double>(padded)) +
                       ") is shorter than the dilated kernel (dilation*(kernelSize-1) + 1 = " +
                       num(static_cast<double>(span)) + ")");
  }
  *output_padding = 0;
  *lout = (padded - span) / s + 1;
  return Status::kOk;
}

}  // namespace

Status compute_output_length(const Operator* op, int64_t input_length, int64_t requested_length,
                             int64_t* output_length, Error* error) {
  int64_t output_padding = 0;
  return output_length_impl(op->params, input_length, requested_length, output_length,
                            &output_padding, error);
}

Status reshape(Operator* op, const InputDesc& in, int64_t requested_output_length,
               int64_t* output_length, Error* error) {
  const ConvParams& p = op->params;
  op->ready = false;
  if (in.batch < 0) {
    return invalid(error, p,
                   "input batch size (" + num(static_cast<double>(in.batch)) + ") must be >= 0");
  }
  if (in.channels != p.in_channels) {
    return invalid(error, p,
                   "input channels (" + num(static_cast<double>(in.channels)) +
                       ") must equal inChannels (" + num(static_cast<double>(p.in_channels)) + ")");
  }
  int64_t lout = 0, output_padding = 0;
  Status status =
      output_length_impl(p, in.length, requested_output_length, &lout, &output_padding, error);
  if (status != Status::kOk) return status;
  if (!is_valid_scale(in.scale)) {
    return invalid(error, p,
                   "input scale (" + num(in.scale) + ") must be finite, > 0 and a normal float32");
  }
  if (!is_integer_in(in.zero_point, 0, 255)) {
    return invalid(error, p,
                   "input zeroPoint (" + num(in.zero_point) + ") must be an integer in [0, 255]");
  }

  const bool reflect = p.kind == OperatorKind::kConv1d && p.padding_mode == PaddingMode::kReflect;
  const int64_t rows = reflect ? in.length + 2 * p.padding : in.length;
  const uint64_t in_bytes =
      mul_sat(mul_sat(static_cast<uint64_t>(in.batch), static_cast<uint64_t>(p.in_channels)),
              static_cast<uint64_t>(in.length));
  const uint64_t out_bytes =
      mul_sat(mul_sat(static_cast<uint64_t>(in.batch), static_cast<uint64_t>(p.out_channels)),
              static_cast<uint64_t>(lout));
  const uint64_t scratch_bytes =
      mul_sat(mul_sat(static_cast<uint64_t>(rows), static_cast<uint64_t>(p.in_channels)), 2);
  if (in_bytes > kMaxBytes) return too_large(error, p, "the input", in_bytes);
  if (out_bytes > kMaxBytes) return too_large(error, p, "the output", out_bytes);
  if (scratch_bytes > kMaxBytes || in_bytes + out_bytes + scratch_bytes > kMaxBytes) {
    return too_large(error, p, "the input, output and scratch buffers",
                     in_bytes + out_bytes + scratch_bytes);
  }

  const size_t cout = static_cast<size_t>(p.out_channels);
  const size_t nq = op->weight_scales.size();
  if (!op->derived_valid || op->derived_input_scale != in.scale ||
      op->derived_output_scale != op->out_scale) {
    // Check every channel before changing anything.
    for (size_t c = 0; c < nq; ++c) {
      const double ws = op->weight_scales[c];
      const float bias_scale = static_cast<float>(ws * in.scale);
      if (!is_normal_positive(bias_scale)) {
        return invalid(error, p,
                       "bias scale (weight scale " + num(ws) + " * input scale " + num(in.scale) +
                           " = " + num(bias_scale) + ") must be a normal float32");
      }
      const float rq = requantization_scale(ws, in.scale, op->out_scale);
      if (!is_normal_positive(rq)) {
        return invalid(error, p,
                       "requantization scale (weight scale " + num(ws) + " * input scale " +
                           num(in.scale) + " / output scale " + num(op->out_scale) + " = " +
                           num(rq) + ") must be a normal positive float32");
      }
    }
    const bool exact_bias = uses_gemm_bias(p);
    for (size_t c = 0; c < cout; ++c) {
      const double ws = op->weight_scales[op->per_channel ? c : 0];
      int32_t qb = op->has_bias ? quantize_bias(op->bias[c], ws, in.scale) : 0;
      if (!exact_bias) qb = bias_through_float32(qb);
      op->quantized_bias[c] = qb;
      op->requant_scales[c] = requantization_scale(ws, in.scale, op->out_scale);
    }
    op->derived_valid = true;
    op->derived_input_scale = in.scale;
    op->derived_output_scale = op->out_scale;
  }

  const size_t K = static_cast<size_t>(p.kernel_size);
  if (!op->input_rows.reserve_discard(static_cast<size_t>(scratch_bytes / 2)) ||
      !op->tap_rows.reserve_discard(K) || !op->tap_kernel_index.reserve_discard(K)) {
    return too_large(error, p, "the scratch buffers", scratch_bytes + K * 16);
  }
  op->batch = in.batch;
  op->length = in.length;
  op->output_length = lout;
  op->padded_rows = rows;
  op->row_offset = reflect ? p.padding : 0;
  op->conv_padding = reflect ? 0 : p.padding;
  op->input_zero_point = static_cast<int32_t>(in.zero_point);
  op->input = nullptr;
  op->output = nullptr;
  op->ready = true;
  *output_length = lout;
  return Status::kOk;
}

Status setup(Operator* op, const uint8_t* input_data, uint8_t* output_data) {
  if (!op->ready) return Status::kInvalidArgument;
  const bool empty = op->batch == 0;
  if (!empty && (input_data == nullptr || output_data == nullptr)) return Status::kInvalidArgument;
  op->input = input_data;
  op->output = output_data;
  return Status::kOk;
}

namespace {

// Input [Cin, L] (uint8, one batch item) -> rows [row][Cin] of int16 values
// minus the zero point; reflect padding materialised as extra rows.
void transpose_input(const Operator* op, const uint8_t* x, int16_t* rows_out) {
  const int64_t cin = op->params.in_channels;
  const int64_t L = op->length;
  const int32_t zp = op->input_zero_point;
  for (int64_t r = 0; r < op->padded_rows; ++r) {
    int64_t i = r - op->row_offset;
    if (i < 0) i = -i;                  // reflect without repeating the edge
    if (i >= L) i = 2 * (L - 1) - i;
    int16_t* row = rows_out + r * cin;
    for (int64_t c = 0; c < cin; ++c) row[c] = static_cast<int16_t>(x[c * L + i] - zp);
  }
}

}  // namespace

Status run(Operator* op) {
  if (!op->ready || (op->batch > 0 && op->input == nullptr)) return Status::kInvalidArgument;
  const ConvParams& p = op->params;
  const bool transposed = p.kind == OperatorKind::kConvTranspose1d;
  const int64_t cin = p.in_channels, cout = p.out_channels;
  const int64_t cin_g = op->in_per_group, cout_g = op->out_per_group;
  const int64_t K = p.kernel_size, s = p.stride, d = p.dilation;
  const int64_t L = op->length, lout = op->output_length;
  int16_t* rows = op->input_rows.data();
  const int16_t** tap_rows = op->tap_rows.data();
  uint32_t* taps = op->tap_kernel_index.data();
  IndirectDotParams kp;
  kp.channels = static_cast<size_t>(cout_g);
  kp.kc = static_cast<size_t>(cin_g);
  kp.kernel_size = static_cast<size_t>(K);
  kp.rows = tap_rows;
  kp.taps = taps;
  kp.output_zero_point = op->out_zero_point;
  kp.output_stride = static_cast<size_t>(lout);

  for (int64_t n = 0; n < op->batch; ++n) {
    transpose_input(op, op->input + n * cin * L, rows);
    uint8_t* out_n = op->output + n * cout * lout;
    for (int64_t o = 0; o < lout; ++o) {
      // The (kernel tap, input row) pairs that reach output position o.
      size_t num_taps = 0;
      for (int64_t k = 0; k < K; ++k) {
        int64_t r;
        if (transposed) {
          // o = i*stride + k*dilation - padding
          const int64_t t = o + p.padding - k * d;
          if (t < 0 || t % s != 0) continue;
          r = t / s;
          if (r >= L) continue;
        } else {
          r = o * s + k * d - op->conv_padding;
          if (r < 0 || r >= op->padded_rows) continue;
        }
        taps[num_taps] = static_cast<uint32_t>(k);
        tap_rows[num_taps] = rows + r * cin;  // group offset added below
        ++num_taps;
      }
      kp.num_taps = num_taps;
      for (int64_t g = 0; g < p.groups; ++g) {
        if (g > 0) {
          for (size_t t = 0; t < num_taps; ++t) tap_rows[t] += cin_g;  // group g's channels
        }
        kp.weights = op->packed_weights.data() + g * cout_g * K * cin_g;
        kp.bias = op->quantized_bias.data() + g * cout_g;
        kp.scales = op->requant_scales.data() + g * cout_g;
        kp.output = out_n + g * cout_g * lout + o;
        qu8_indirect_dot_ukernel_1x1c1__scalar(kp);
      }
    }
  }
  return Status::kOk;
}

const char* kernel_flavour() {
#if defined(__wasm_simd128__)
  return "wasmsimd";
#else
  return "scalar";
#endif
}

}  // namespace qconv
