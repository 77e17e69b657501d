// See xnnpack_deconvolution.h for what XNNPACK computes and which of its
// limits this wrapper works around or reports.
#include "xnnpack_deconvolution.h"

#include <xnnpack.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <new>
#include <sstream>
#include <string>
#include <vector>

namespace qconv {
namespace xnnpack {

namespace {

// Sizes above this are refused before any arithmetic could overflow; the
// wrapper is a test backend, not meant for huge tensors.
constexpr int64_t kMaxDimension = int64_t{1} << 24;
constexpr int64_t kMaxElements = int64_t{1} << 32;

const char* status_name(xnn_status status) {
  switch (status) {
    case xnn_status_success: return "xnn_status_success";
    case xnn_status_uninitialized: return "xnn_status_uninitialized";
    case xnn_status_invalid_parameter: return "xnn_status_invalid_parameter";
    case xnn_status_invalid_state: return "xnn_status_invalid_state";
    case xnn_status_unsupported_parameter: return "xnn_status_unsupported_parameter";
    case xnn_status_unsupported_hardware: return "xnn_status_unsupported_hardware";
    case xnn_status_out_of_memory: return "xnn_status_out_of_memory";
  }
  return "unknown xnn_status";
}

Status fail(Error* error, Status status, const std::string& message) {
  if (error != nullptr) error->message = "XNNPACK ConvTranspose1d: " + message;
  return status;
}

Status xnn_failure(Error* error, const char* call, xnn_status status) {
  std::ostringstream s;
  s << call << " failed with " << status_name(status) << " (" << static_cast<int>(status) << ")";
  return fail(error, status == xnn_status_out_of_memory ? Status::kOutOfMemory
                                                        : Status::kInvalidArgument,
              s.str());
}

// a * b * c <= kMaxElements, for non-negative sizes of at most 2^24 each
// (in double: exact enough for a limit, and no integer overflow).
bool product_fits(int64_t a, int64_t b, int64_t c) {
  return static_cast<double>(a) * static_cast<double>(b) * static_cast<double>(c) <=
         static_cast<double>(kMaxElements);
}

bool is_normal_positive_float(double v) {
  const float f = static_cast<float>(v);
  return std::isfinite(v) && v > 0.0 && std::isnormal(f);
}

// How XNNPACK computes an output of length lout: its right padding and
// adjustment, and how many extra columns it computes past lout (cropped).
// Output padding a only extends the output on the right, as do a smaller
// right padding and a larger adjustment, so every split with
// adjustment - padding_right == a - padding + extra gives the same first
// lout columns.
struct RightSide {
  uint32_t padding_right = 0;
  uint32_t adjustment = 0;
  int64_t extra = 0;
};

bool uses_subconvolution(const ConvParams& p) {
  // XNNPACK's choice of its sub-convolution path (1-D view of it).
  return p.stride > 1 && p.dilation == 1 && p.stride <= p.kernel_size;
}

// lout < 0: no widening (at create, before a length is known).
bool right_side(const ConvParams& p, int64_t output_padding, int64_t lout, RightSide* side,
                std::string* why) {
  const int64_t s = p.stride;
  int64_t padding_right = p.padding, adjustment = output_padding, extra = 0;
  if (output_padding >= s) {  // XNNPACK: adjustment < stride
    padding_right = std::max<int64_t>(p.padding - output_padding, 0);
    adjustment = std::max<int64_t>(output_padding - p.padding, 0);
    if (adjustment >= s) {
      std::ostringstream m;
      m << "output padding " << output_padding << " with padding " << p.padding << " and stride "
        << s << " needs an XNNPACK adjustment of " << adjustment
        << ", but XNNPACK requires adjustment < stride (possible only when output padding - "
           "padding < stride)";
      *why = m.str();
      return false;
    }
  }
  // The snapshot's sub-convolution path underflows a size_t (and writes
  // far out of bounds) when its output is shorter than stride - 1: compute
  // a wider output and crop it.
  if (lout >= 0 && uses_subconvolution(p) && lout < s - 1) {
    int64_t need = s - 1 - lout;
    const int64_t from_padding = std::min(padding_right, need);
    padding_right -= from_padding;
    need -= from_padding;
    const int64_t from_adjustment = std::min(s - 1 - adjustment, need);
    adjustment += from_adjustment;
    need -= from_adjustment;
    extra = from_padding + from_adjustment;
    if (need > 0) {
      std::ostringstream m;
      m << "output length " << lout << " is shorter than stride - 1 (" << s - 1
        << "), which XNNPACK's sub-convolution path (stride > 1, dilation 1, stride <= kernel "
           "size) cannot compute, and it cannot be widened enough";
      *why = m.str();
      return false;
    }
  }
  side->padding_right = static_cast<uint32_t>(padding_right);
  side->adjustment = static_cast<uint32_t>(adjustment);
  side->extra = extra;
  return true;
}

}  // namespace

struct Deconvolution {
  ConvParams params;
  // XNNPACK's kernel layout [groups][Cout/groups][1][K][Cin/groups], qu8.
  std::vector<uint8_t> kernel;
  std::vector<int32_t> bias;
  bool has_bias = false;
  float input_scale = 1.0f, weight_scale = 1.0f, output_scale = 1.0f;
  uint8_t input_zero_point = 0, kernel_zero_point = 128, output_zero_point = 0;

  xnn_operator_t op = nullptr;
  RightSide op_right_side;
  bool op_set_up = false;  // set up at least once (its indirection buffer exists)

  // NWC scratch; the input one has XNN_EXTRA_BYTES of slack for XNNPACK's
  // over-reads. They only grow.
  std::vector<uint8_t> input_nwc;
  std::vector<uint8_t> output_nwc;
};

float xnnpack_requantization_scale(double input_scale, double weight_scale,
                                   double output_scale) {
  // The snapshot's expression, with float arguments: input * kernel / output.
  const float xs = static_cast<float>(input_scale);
  const float ws = static_cast<float>(weight_scale);
  const float os = static_cast<float>(output_scale);
  return xs * ws / os;
}

bool available() {
  static const bool initialized = xnn_initialize(nullptr) == xnn_status_success;
  return initialized;
}

namespace {

Status make_operator(Deconvolution* d, RightSide side, Error* error) {
  const ConvParams& p = d->params;
  xnn_operator_t op = nullptr;
  const xnn_status st = xnn_create_deconvolution2d_nhwc_qu8(
      /*output_padding_top=*/0, side.padding_right, /*output_padding_bottom=*/0,
      static_cast<uint32_t>(p.padding),
      /*kernel_height=*/1, static_cast<uint32_t>(p.kernel_size),
      /*stride_height=*/1, static_cast<uint32_t>(p.stride),
      /*dilation_height=*/1, static_cast<uint32_t>(p.dilation),
      static_cast<uint32_t>(p.groups),
      static_cast<size_t>(p.in_channels / p.groups), static_cast<size_t>(p.out_channels / p.groups),
      /*input_pixel_stride=*/static_cast<size_t>(p.in_channels),
      /*output_pixel_stride=*/static_cast<size_t>(p.out_channels), d->input_zero_point,
      d->input_scale, d->kernel_zero_point, d->weight_scale, d->kernel.data(),
      d->has_bias ? d->bias.data() : nullptr, d->output_zero_point, d->output_scale,
      /*output_min=*/0, /*output_max=*/255, /*flags=*/0, &op);
  if (st != xnn_status_success) {
    if (st == xnn_status_unsupported_parameter) {
      std::ostringstream s;
      s << "xnn_create_deconvolution2d_nhwc_qu8 refused the parameters ("
        << status_name(st) << "); requantization scale "
        << xnnpack_requantization_scale(d->input_scale, d->weight_scale, d->output_scale);
      return fail(error, Status::kInvalidArgument, s.str());
    }
    return xnn_failure(error, "xnn_create_deconvolution2d_nhwc_qu8", st);
  }
  if (d->op != nullptr) xnn_delete_operator(d->op);
  d->op = op;
  d->op_right_side = side;
  d->op_set_up = false;
  return Status::kOk;
}

}  // namespace

Status create_deconvolution(const ConvParams& params, const DeconvolutionWeights& weights,
                            Deconvolution** out, Error* error) {
  if (out == nullptr) return fail(error, Status::kInvalidArgument, "out must not be null");
  *out = nullptr;
  const ConvParams& p = params;
  std::ostringstream s;
  if (p.kind != OperatorKind::kConvTranspose1d) {
    return fail(error, Status::kInvalidArgument, "only ConvTranspose1d is supported");
  }
  if (p.padding_mode != PaddingMode::kZeros) {
    return fail(error, Status::kInvalidArgument, "only zero padding is supported");
  }
  auto in_range = [](int64_t v, int64_t lo) { return v >= lo && v <= kMaxDimension; };
  if (!in_range(p.in_channels, 1) || !in_range(p.out_channels, 1) ||
      !in_range(p.kernel_size, 1) || !in_range(p.stride, 1) || !in_range(p.dilation, 1) ||
      !in_range(p.padding, 0) || !in_range(p.output_padding, 0) || !in_range(p.groups, 1) ||
      p.in_channels % p.groups != 0 || p.out_channels % p.groups != 0) {
    s << "sizes out of range: in_channels " << p.in_channels << ", out_channels "
      << p.out_channels << ", kernel_size " << p.kernel_size << ", stride " << p.stride
      << ", dilation " << p.dilation << ", padding " << p.padding << ", output_padding "
      << p.output_padding << ", groups " << p.groups
      << " (each in [1, 2^24] (padding, output_padding from 0), groups dividing both channel "
         "counts)";
    return fail(error, Status::kInvalidArgument, s.str());
  }
  if (!product_fits(p.in_channels / p.groups, p.out_channels, p.kernel_size)) {
    return fail(error, Status::kOutOfMemory, "too many weights");
  }
  if (weights.data == nullptr) return fail(error, Status::kInvalidArgument, "no weight data");
  if (weights.weight_zero_point < -128 || weights.weight_zero_point > 127) {
    s << "weight zero point (" << weights.weight_zero_point << ") must be in [-128, 127]";
    return fail(error, Status::kInvalidArgument, s.str());
  }
  if (weights.input_zero_point < 0 || weights.input_zero_point > 255 ||
      weights.output_zero_point < 0 || weights.output_zero_point > 255) {
    s << "input and output zero points (" << weights.input_zero_point << ", "
      << weights.output_zero_point << ") must be in [0, 255]";
    return fail(error, Status::kInvalidArgument, s.str());
  }
  if (!is_normal_positive_float(weights.input_scale) ||
      !is_normal_positive_float(weights.weight_scale) ||
      !is_normal_positive_float(weights.output_scale)) {
    s << "scales (input " << weights.input_scale << ", weight " << weights.weight_scale
      << ", output " << weights.output_scale
      << ") must be positive and normal float32 values (XNNPACK: xnn_status_invalid_parameter)";
    return fail(error, Status::kInvalidArgument, s.str());
  }
  const float rq = xnnpack_requantization_scale(weights.input_scale, weights.weight_scale,
                                                weights.output_scale);
  if (!(rq < kMaxRequantizationScale)) {
    s << "requantization scale " << rq << " (f32 input scale * weight scale / output scale) "
      << "must be below 256 (XNNPACK: xnn_status_unsupported_parameter)";
    return fail(error, Status::kInvalidArgument, s.str());
  }
  if (!(rq >= kMinRequantizationScale)) {
    s << "requantization scale " << rq << " (f32 input scale * weight scale / output scale) "
      << "must be at least 2^-32 (this XNNPACK build asserts on smaller scales)";
    return fail(error, Status::kInvalidArgument, s.str());
  }
  if (!available()) {
    return fail(error, Status::kInvalidArgument,
                "xnn_initialize failed (XNNPACK does not support this CPU)");
  }

  Deconvolution* d = new (std::nothrow) Deconvolution;
  if (d == nullptr) return fail(error, Status::kOutOfMemory, "out of memory");
  d->params = p;
  d->input_scale = static_cast<float>(weights.input_scale);
  d->weight_scale = static_cast<float>(weights.weight_scale);
  d->output_scale = static_cast<float>(weights.output_scale);
  d->input_zero_point = static_cast<uint8_t>(weights.input_zero_point);
  d->kernel_zero_point = static_cast<uint8_t>(weights.weight_zero_point + 128);
  d->output_zero_point = static_cast<uint8_t>(weights.output_zero_point);
  const int64_t groups = p.groups, cin_g = p.in_channels / groups,
                cout_g = p.out_channels / groups, K = p.kernel_size;
  try {
    // PyTorch [Cin][Cout/g][K] (ci = g*cin_g + i) -> XNNPACK [g][j][k][i].
    d->kernel.resize(static_cast<size_t>(p.out_channels * cin_g * K));
    for (int64_t g = 0; g < groups; ++g) {
      for (int64_t j = 0; j < cout_g; ++j) {
        for (int64_t k = 0; k < K; ++k) {
          for (int64_t i = 0; i < cin_g; ++i) {
            const int8_t w = weights.data[((g * cin_g + i) * cout_g + j) * K + k];
            d->kernel[static_cast<size_t>(((g * cout_g + j) * K + k) * cin_g + i)] =
                static_cast<uint8_t>(w + 128);
          }
        }
      }
    }
    if (weights.bias != nullptr) {
      d->has_bias = true;
      d->bias.assign(weights.bias, weights.bias + p.out_channels);
    }
  } catch (const std::bad_alloc&) {
    delete d;
    return fail(error, Status::kOutOfMemory, "out of memory");
  }
  // The first XNNPACK operator, for params.output_padding; run() makes
  // another when a shape needs another right side.
  RightSide side;
  std::string why;
  if (!right_side(p, p.output_padding, /*lout=*/-1, &side, &why)) side = RightSide();
  const Status st = make_operator(d, side, error);
  if (st != Status::kOk) {
    delete_deconvolution(d);
    return st;
  }
  *out = d;
  return Status::kOk;
}

int64_t deconvolution_output_length(const Deconvolution* d, int64_t length,
                                    int64_t output_padding) {
  const ConvParams& p = d->params;
  return (length - 1) * p.stride - 2 * p.padding + p.dilation * (p.kernel_size - 1) + 1 +
         output_padding;
}

Status run_deconvolution(Deconvolution* d, int64_t batch, int64_t length, int64_t output_padding,
                         const uint8_t* input, uint8_t* output, Error* error) {
  if (d == nullptr) return fail(error, Status::kInvalidArgument, "no deconvolution");
  const ConvParams& p = d->params;
  std::ostringstream s;
  if (batch < 0 || batch > kMaxDimension || length < 1 || length > kMaxDimension) {
    s << "batch (" << batch << ") must be in [0, 2^24] and length (" << length
      << ") in [1, 2^24]";
    return fail(error, Status::kInvalidArgument, s.str());
  }
  if (output_padding < 0 || output_padding >= std::max(p.stride, p.dilation)) {
    s << "output padding (" << output_padding << ") must be in [0, max(stride "
      << p.stride << ", dilation " << p.dilation << "))";
    return fail(error, Status::kInvalidArgument, s.str());
  }
  const int64_t lout = deconvolution_output_length(d, length, output_padding);
  if (lout < 1) {
    s << "output length " << lout << " must be at least 1";
    return fail(error, Status::kInvalidArgument, s.str());
  }
  RightSide side;
  std::string why;
  if (!right_side(p, output_padding, lout, &side, &why)) {
    return fail(error, Status::kInvalidArgument, why);
  }
  const int64_t width = lout + side.extra;  // what XNNPACK computes
  const int64_t cin = p.in_channels, cout = p.out_channels;
  if (!product_fits(batch, length, cin) || !product_fits(batch, width, cout)) {
    return fail(error, Status::kOutOfMemory, "tensors too large");
  }
  if (batch == 0) return Status::kOk;
  if (input == nullptr || output == nullptr) {
    return fail(error, Status::kInvalidArgument, "input and output must not be null");
  }

  const size_t in_size = static_cast<size_t>(batch * length * cin);
  const size_t out_size = static_cast<size_t>(batch * width * cout);
  try {
    if (d->input_nwc.size() < in_size + XNN_EXTRA_BYTES) {
      d->input_nwc.resize(in_size + XNN_EXTRA_BYTES);
    }
    if (d->output_nwc.size() < out_size) d->output_nwc.resize(out_size);
  } catch (const std::bad_alloc&) {
    return fail(error, Status::kOutOfMemory, "out of memory for scratch buffers");
  }

  // A new (right padding, adjustment) pair needs a fresh operator: the
  // snapshot would otherwise keep an indirection buffer built for another
  // output size (see the header).
  if (side.padding_right != d->op_right_side.padding_right ||
      (d->op_set_up && side.adjustment != d->op_right_side.adjustment)) {
    const Status st = make_operator(d, side, error);
    if (st != Status::kOk) return st;
  }
  d->op_right_side = side;

  // [N][C][L] -> [N][L][C]
  uint8_t* xin = d->input_nwc.data();
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t c = 0; c < cin; ++c) {
      const uint8_t* src = input + (n * cin + c) * length;
      uint8_t* dst = xin + n * length * cin + c;
      for (int64_t i = 0; i < length; ++i) dst[i * cin] = src[i];
    }
  }
  xnn_status st = xnn_setup_deconvolution2d_nhwc_qu8(
      d->op, static_cast<size_t>(batch), /*input_height=*/1, static_cast<size_t>(length),
      /*adjustment_height=*/0, side.adjustment, xin, d->output_nwc.data(),
      /*threadpool=*/nullptr);
  if (st != xnn_status_success) return xnn_failure(error, "xnn_setup_deconvolution2d_nhwc_qu8", st);
  d->op_set_up = true;
  st = xnn_run_operator(d->op, /*threadpool=*/nullptr);
  if (st != xnn_status_success) return xnn_failure(error, "xnn_run_operator", st);

  // [N][width][C] -> [N][C][Lout], dropping the extra columns
  const uint8_t* yout = d->output_nwc.data();
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t c = 0; c < cout; ++c) {
      const uint8_t* src = yout + n * width * cout + c;
      uint8_t* dst = output + (n * cout + c) * lout;
      for (int64_t o = 0; o < lout; ++o) dst[o] = src[o * cout];
    }
  }
  return Status::kOk;
}

void delete_deconvolution(Deconvolution* d) {
  if (d == nullptr) return;
  if (d->op != nullptr) xnn_delete_operator(d->op);
  delete d;
}

}  // namespace xnnpack
}  // namespace qconv
