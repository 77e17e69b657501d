// The operator's entry points (qconv.h) and every check of a caller's value
// (docs/SEMANTICS.md §0 and PyTorch's own rules). Each entry point checks all it
// was given before it changes anything, then hands over to the stages in
// operator-plan.cc, packing.cc and operator-run.cc.
#include "operator.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "quantization.h"
#include "threadpool.h"

namespace qconv {

// Below this many multiply-adds a forward runs on one thread: waking the
// others costs more than it saves (by default about 25 us of work at 40
// GMAC/s; browsers wake workers more slowly, and their loader sets more).
std::atomic<uint64_t> min_parallel_macs{uint64_t{1} << 20};

namespace {

bool is_integer_in(double v, double lo, double hi) {
  return std::isfinite(v) && v == std::floor(v) && v >= lo && v <= hi;
}

// padding='same' resolved (create_operator): dilation*(K-1) in all, the
// larger half after the input, as PyTorch splits it. Left unresolved when
// the sizes it needs are out of range (validate_params reports them).
ConvParams resolve_same_padding(const ConvParams& params) {
  ConvParams p = params;
  const int64_t int32_max = std::numeric_limits<int32_t>::max();
  if (p.padding_same && p.kind == OperatorKind::kConv1d && p.kernel_size >= 1 &&
      p.kernel_size <= int32_max && p.dilation >= 1 && p.dilation <= int32_max) {
    const int64_t total = p.dilation * (p.kernel_size - 1);
    p.padding = total / 2;
    p.padding_right = total - total / 2;
  }
  return p;
}

Status validate_params(const ConvParams& p, Error* error) {
  struct Rule {
    const char* name;
    int64_t value;
    int64_t minimum;
  };
  const bool transposed = is_transposed(p);
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
  if (p.padding_same) {
    if (transposed) {
      return invalid(error, p,
                     "padding 'same' is a Conv1d option; ConvTranspose1d takes an integer");
    }
    if (p.stride != 1) {
      return invalid(error, p,
                     "stride (" + num(static_cast<double>(p.stride)) +
                         ") must be 1 with padding 'same' (PyTorch does not support padding='same' "
                         "for strided convolutions)");
    }
  }
  if (p.padding_right != -1) {
    if (transposed) {
      return invalid(error, p,
                     "paddingRight (" + num(static_cast<double>(p.padding_right)) +
                         ") is not a ConvTranspose1d parameter and must be -1");
    }
    if (p.padding_right < 0 || p.padding_right > std::numeric_limits<int32_t>::max()) {
      return invalid(error, p,
                     "paddingRight (" + num(static_cast<double>(p.padding_right)) +
                         ") must be an integer in [0, 2147483647], or -1 for as much as padding");
    }
  }
  if (!transposed && p.output_padding != 0) {
    return invalid(error, p,
                   "outputPadding (" + num(static_cast<double>(p.output_padding)) +
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
      return invalid(error, p,
                     "paddingMode (\"reflect\") must be 'zeros' (the only mode PyTorch supports here)");
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

// The weights' qparams and the bias (set_weights).
Status check_weight_qparams(const ConvParams& p, const WeightDesc& weight, Error* error) {
  const size_t cout = static_cast<size_t>(p.out_channels);
  const uint64_t nq = weight.num_qparams;
  if (weight.per_channel ? nq != cout : nq != 1) {
    return invalid(error, p,
                   weight.per_channel
                       ? "per-channel weight scales must have outChannels (" +
                             num(static_cast<double>(cout)) + ") entries, got " +
                             num(static_cast<double>(nq))
                       : "a per-tensor weight has exactly one scale and zero point, got " +
                             num(static_cast<double>(nq)));
  }
  for (size_t c = 0; c < static_cast<size_t>(nq); ++c) {
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
  return Status::kOk;
}

Status check_bias(const ConvParams& p, const float* bias, uint64_t bias_size, Error* error) {
  if (bias == nullptr) return Status::kOk;
  const size_t cout = static_cast<size_t>(p.out_channels);
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
  return Status::kOk;
}

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
                       "outputSize (" + num(static_cast<double>(requested)) + ") must be between " +
                           num(static_cast<double>(min_size)) + " and " +
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
  const int64_t pad_right = padding_after(p);
  const bool symmetric = pad_right == pad;
  if (p.padding_mode == PaddingMode::kReflect && std::max(pad, pad_right) >= L) {
    return invalid(error, p,
                   "padding (" + padding_string(p) + ") must be smaller than the input length (" +
                       num(static_cast<double>(L)) + ")" + (symmetric ? "" : " on each side") +
                       " for reflect padding");
  }
  const int64_t padded = L + pad + pad_right;
  const int64_t span = d * (K - 1) + 1;
  if (padded < span) {
    return invalid(error, p,
                   std::string(symmetric ? "padded input length (L + 2*padding = "
                                         : "padded input length (L + padding before and after = ") +
                       num(static_cast<double>(padded)) +
                       ") is shorter than the dilated kernel (dilation*(kernelSize-1) + 1 = " +
                       num(static_cast<double>(span)) + ")");
  }
  *output_padding = 0;
  *lout = (padded - span) / s + 1;
  return Status::kOk;
}

// An input's shape and quantization (reshape); its output length.
Status check_input(const ConvParams& p, const InputDesc& in, int64_t requested_output_length,
                   int64_t* lout, Error* error) {
  if (in.batch < 0) {
    return invalid(error, p,
                   "input batch size (" + num(static_cast<double>(in.batch)) + ") must be >= 0");
  }
  if (in.channels != p.in_channels) {
    return invalid(error, p,
                   "input channels (" + num(static_cast<double>(in.channels)) +
                       ") must equal inChannels (" + num(static_cast<double>(p.in_channels)) + ")");
  }
  int64_t output_padding = 0;
  const Status status =
      output_length_impl(p, in.length, requested_output_length, lout, &output_padding, error);
  if (status != Status::kOk) return status;
  if (!is_valid_scale(in.scale)) {
    return invalid(error, p,
                   "input scale (" + num(in.scale) + ") must be finite, > 0 and a normal float32");
  }
  if (!is_integer_in(in.zero_point, 0, 255)) {
    return invalid(error, p,
                   "input zeroPoint (" + num(in.zero_point) + ") must be an integer in [0, 255]");
  }
  return Status::kOk;
}

// Whether the requantization parameters must be rebuilt for this input scale.
bool requantization_stale(const Operator* op, double input_scale) {
  const Requantization& rq = op->requant;
  return !rq.valid || rq.input_scale != input_scale || rq.output_scale != op->out_scale;
}

// Every channel's bias scale and requantization scale must be normal float32s.
Status check_requantization(const Operator* op, double input_scale, Error* error) {
  const ConvParams& p = op->params;
  const Buffer<double>& scales = op->weights.scales;
  for (size_t c = 0; c < scales.size(); ++c) {
    const double ws = scales[c];
    const float bias_scale = static_cast<float>(ws * input_scale);
    if (!is_normal_positive(bias_scale)) {
      return invalid(error, p,
                     "bias scale (weight scale " + num(ws) + " * input scale " + num(input_scale) +
                         " = " + num(bias_scale) + ") must be a normal float32");
    }
    const float rq = requantization_scale(ws, input_scale, op->out_scale);
    if (!is_normal_positive(rq)) {
      return invalid(error, p,
                     "requantization scale (weight scale " + num(ws) + " * input scale " +
                         num(input_scale) + " / output scale " + num(op->out_scale) + " = " +
                         num(rq) + ") must be a normal positive float32");
    }
  }
  return Status::kOk;
}

}  // namespace

Status create_operator(const ConvParams& requested_params, Operator** op_out, Error* error) {
  *op_out = nullptr;
  const ConvParams params = resolve_same_padding(requested_params);
  Status status = validate_params(params, error);
  if (status != Status::kOk) return status;
  Operator* op = new (std::nothrow) Operator();
  if (op == nullptr) return out_of_memory(error, params, "the operator", sizeof(Operator));
  op->params = params;

  // A new module: all-zero per-tensor weights (scale 1, zero point 0), zero
  // bias when `bias` is set.
  const size_t n = static_cast<size_t>(weight_elements(params));
  const size_t cout = static_cast<size_t>(params.out_channels);
  Weights& w = op->weights;
  Requantization& rq = op->requant;
  if (!w.data.reserve_discard(n) || !w.scales.reserve_discard(1) ||
      !w.zero_points.reserve_discard(1) || !w.bias.reserve_discard(params.bias ? cout : 0) ||
      !rq.bias.reserve_discard(cout) || !rq.scales.reserve_discard(cout) ||
      !rq.bias_only_output.reserve_discard(cout)) {
    delete op;
    return out_of_memory(error, params, "a weight of shape " + weight_shape_string(params),
                         static_cast<uint64_t>(n) * 3);
  }
  op->kernels = &default_kernels();
  status = plan_parameters(op, error);
  if (status != Status::kOk) {
    delete op;
    return status;
  }
  std::memset(w.data.data(), 0, n);
  w.scales[0] = 1.0;
  w.zero_points[0] = 0.0;
  w.per_channel = false;
  w.has_bias = params.bias;
  for (size_t c = 0; c < w.bias.size(); ++c) w.bias[c] = 0.0f;
  pack_weights(op);
  *op_out = op;
  return Status::kOk;
}

void delete_operator(Operator* op) { delete op; }

const ConvParams& operator_params(const Operator* op) { return op->params; }

Status check_weight_size(const Operator* op, uint64_t size, Error* error) {
  const uint64_t expected = weight_elements(op->params);
  if (size != expected) {
    return invalid(error, op->params,
                   "weight data has " + num(static_cast<double>(size)) + " elements but shape " +
                       weight_shape_string(op->params) + " needs " +
                       num(static_cast<double>(expected)));
  }
  return Status::kOk;
}

Status set_weights(Operator* op, const WeightDesc& weight, const float* bias, uint64_t bias_size,
                   Error* error) {
  const ConvParams& p = op->params;
  Status status = check_weight_size(op, weight.size, error);
  if (status == Status::kOk) status = check_weight_qparams(p, weight, error);
  if (status == Status::kOk) status = check_bias(p, bias, bias_size, error);
  if (status != Status::kOk) return status;

  // Build the new state aside, then swap it in: a failure changes nothing.
  // (The packed buffers keep their size: only their contents change.)
  Buffer<int8_t> new_weight;
  Buffer<double> new_scales, new_zero_points;
  Buffer<float> new_bias;
  // The counts are checked: at most outChannels qparams, a weight that fits wasm memory.
  const size_t cout = static_cast<size_t>(p.out_channels);
  const size_t weight_bytes = static_cast<size_t>(weight.size);
  const size_t qparams = static_cast<size_t>(weight.num_qparams);
  if (!new_weight.reserve_discard(weight_bytes) || !new_scales.reserve_discard(qparams) ||
      !new_zero_points.reserve_discard(qparams) ||
      !new_bias.reserve_discard(bias != nullptr ? cout : 0)) {
    return out_of_memory(error, p, "the weights", static_cast<uint64_t>(weight.size) * 3);
  }
  if (weight_bytes != 0) std::memcpy(new_weight.data(), weight.data, weight_bytes);
  std::memcpy(new_scales.data(), weight.scales, qparams * sizeof(double));
  std::memcpy(new_zero_points.data(), weight.zero_points, qparams * sizeof(double));
  if (bias != nullptr) std::memcpy(new_bias.data(), bias, cout * sizeof(float));
  Weights& w = op->weights;
  w.data.swap(new_weight);
  w.scales.swap(new_scales);
  w.zero_points.swap(new_zero_points);
  w.bias.swap(new_bias);
  w.per_channel = weight.per_channel;
  w.has_bias = bias != nullptr;
  pack_weights(op);
  op->requant.valid = false;
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
    op->requant.valid = false;
    op->ready = false;
  }
  // (run() requantizes with the zero point of the moment: no reshape needed.)
  op->out_scale = scale;
  op->out_zero_point = static_cast<int32_t>(zero_point);
  return Status::kOk;
}

double output_scale(const Operator* op) { return op->out_scale; }
int32_t output_zero_point(const Operator* op) { return op->out_zero_point; }

void set_fused_relu(Operator* op, bool relu) { op->relu = relu; }
bool fused_relu(const Operator* op) { return op->relu; }
const int8_t* weight_data(const Operator* op) { return op->weights.data.data(); }
size_t weight_size(const Operator* op) { return op->weights.data.size(); }
const double* weight_scales(const Operator* op) { return op->weights.scales.data(); }
const double* weight_zero_points(const Operator* op) { return op->weights.zero_points.data(); }
size_t num_weight_qparams(const Operator* op) { return op->weights.scales.size(); }
bool weight_per_channel(const Operator* op) { return op->weights.per_channel; }
const float* bias_data(const Operator* op) {
  return op->weights.has_bias ? op->weights.bias.data() : nullptr;
}

Status compute_output_length(const Operator* op, int64_t input_length, int64_t requested_length,
                             int64_t* output_length, Error* error) {
  int64_t output_padding = 0;
  return output_length_impl(op->params, input_length, requested_length, output_length,
                            &output_padding, error);
}

// Checks, plans and reserves first; changes the operator only once nothing
// can fail any more, so a failed reshape leaves the last plan runnable.
Status reshape(Operator* op, const InputDesc& in, int64_t requested_output_length,
               int64_t* output_length, Error* error) {
  // The same call as the last successful one, with the same weights, scales
  // and settings: its checks passed and its plan stands (a bound runner or a
  // forward of a steady shape costs a few compares, not a re-plan).
  Operator::ReshapeKey key;
  key.in = in;
  key.requested = requested_output_length;
  key.pool_threads = pool_threads();
  key.min_parallel_macs = min_parallel_macs.load(std::memory_order_relaxed);
  key.kernels = op->kernels;
  const Operator::ReshapeKey& last = op->last_reshape;
  if (op->ready && last.in.batch == in.batch && last.in.channels == in.channels &&
      last.in.length == in.length && last.in.scale == in.scale &&
      last.in.zero_point == in.zero_point && last.requested == key.requested &&
      last.pool_threads == key.pool_threads && last.min_parallel_macs == key.min_parallel_macs &&
      last.kernels == key.kernels) {
    op->input = nullptr;
    op->output = nullptr;
    *output_length = op->shape.output_length;
    return Status::kOk;
  }
  int64_t lout = 0;
  Status status = check_input(op->params, in, requested_output_length, &lout, error);
  if (status != Status::kOk) return status;
  ShapePlan shape;
  status = plan_shape(op, in, lout, &shape, error);
  if (status != Status::kOk) return status;
  const bool requantize = requantization_stale(op, in.scale);
  if (requantize) {
    status = check_requantization(op, in.scale, error);
    if (status != Status::kOk) return status;
  }
  status = reserve_scratch(op, shape, error);
  if (status != Status::kOk) return status;

  if (requantize) {
    compute_requantization(op, in.scale);
    op->bias_only_key = -1;
  }
  commit_shape(op, shape);
  op->ready = true;
  op->last_reshape = key;
  op->input = nullptr;
  op->output = nullptr;
  *output_length = lout;
  return Status::kOk;
}

Status setup(Operator* op, const uint8_t* input_data, uint8_t* output_data) {
  if (!op->ready) return Status::kInvalidArgument;
  const bool empty = op->shape.batch == 0;
  if (!empty && (input_data == nullptr || output_data == nullptr)) return Status::kInvalidArgument;
  op->input = input_data;
  op->output = output_data;
  return Status::kOk;
}

Status run(Operator* op) {
  if (!op->ready || (op->shape.batch > 0 && op->input == nullptr)) return Status::kInvalidArgument;
  run_plan(op);
  return Status::kOk;
}

const char* kernel_path(const Operator* op) {
  if (!op->plan.channel_major) return "conv1d-4x8c2";
  return op->plan.dw_pair ? "dwconv1d-2x8c2" : "dwconv1d-16x1";
}

Status set_backend(Operator* op, Backend backend, Error* error) {
  if (backend != Backend::kDefault && backend != Backend::kScalar) {
    return invalid(
        error, op->params,
        "backend (" + num(static_cast<double>(backend)) + ") is not one of this build's");
  }
  op->kernels = backend == Backend::kScalar ? &scalar_kernels() : &default_kernels();
  return Status::kOk;
}

const char* kernel_flavour() { return default_kernels().name; }

Status set_num_threads(size_t threads, Error* error) {
  std::string message;
  if (threads < 1) {
    message = "numThreads (0) must be >= 1";
  } else if (!set_pool_threads(threads)) {
    message = "numThreads (" + num(static_cast<double>(threads)) +
              (pool_threads_supported() ? "): the system could not start the threads"
                                        : ") must be 1: this build has no thread support");
  } else {
    return Status::kOk;
  }
  if (error != nullptr) error->message = message;
  return Status::kInvalidArgument;
}

size_t num_threads() { return pool_threads(); }
void set_min_parallel_work(uint64_t multiply_adds) {
  min_parallel_macs.store(multiply_adds, std::memory_order_relaxed);
}
ThreadPlan thread_plan(const Operator* op) {
  return ThreadPlan{op->shape.threads, op->shape.batch_parallel, op->shape.staging_stride != 0};
}
bool threads_supported() { return pool_threads_supported(); }

}  // namespace qconv
