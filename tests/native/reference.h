// Test support: a naive, direct implementation of SEMANTICS.md §4.5 / §5
// (written from the spec, independently of src/operator.cc and the
// micro-kernel), and a helper that runs a case through the public API.
//
// The only code shared with the library is the scalar numeric helpers of
// quantization.h (quantize_bias, bias_through_float32,
// requantization_scale, requantize_reference), which quantization_test.cc
// checks on their own.
#pragma once

#include <cstdint>
#include <ostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "qconv/qconv.h"
#include "quantization.h"

namespace qconv {
// Lets GoogleTest print a Status as its number.
inline std::ostream& operator<<(std::ostream& os, Status s) { return os << static_cast<int>(s); }
}  // namespace qconv

namespace qconv_test {

// Everything a forward needs: module parameters, weights, bias, output and
// input quantization, the input, and an optional requested output length.
struct Case {
  qconv::ConvParams params;
  std::vector<int8_t> weight;
  std::vector<double> weight_scales;       // 1 entry (per-tensor) or outChannels
  std::vector<double> weight_zero_points;  // same length as weight_scales
  bool per_channel = false;
  bool has_bias = false;
  std::vector<float> bias;  // outChannels entries when has_bias
  double output_scale = 1.0;
  int32_t output_zero_point = 0;
  int64_t batch = 1;
  int64_t length = 1;
  double input_scale = 1.0;
  int32_t input_zero_point = 0;
  std::vector<uint8_t> input;  // [batch, inChannels, length]
  int64_t requested_length = -1;
};

inline int64_t weight_count(const qconv::ConvParams& p) {
  return p.out_channels * (p.in_channels / p.groups) * p.kernel_size;
}

// Conv1d's padding before and after the input: PyTorch's padding='same'
// puts dilation*(K-1) // 2 before and the rest after; otherwise `padding`
// before and padding_right (-1: `padding`) after.
inline void reference_conv1d_padding(const qconv::ConvParams& p, int64_t* before, int64_t* after) {
  if (p.padding_same) {
    const int64_t total = p.dilation * (p.kernel_size - 1);
    *before = total / 2;
    *after = total - total / 2;
  } else {
    *before = p.padding;
    *after = p.padding_right == -1 ? p.padding : p.padding_right;
  }
}

// §5 output length (the case must be valid).
inline int64_t reference_output_length(const Case& c) {
  const qconv::ConvParams& p = c.params;
  const int64_t L = c.length, K = p.kernel_size, s = p.stride, d = p.dilation, pad = p.padding;
  if (p.kind == qconv::OperatorKind::kConvTranspose1d) {
    const int64_t min_size = (L - 1) * s - 2 * pad + d * (K - 1) + 1;
    return c.requested_length >= 0 ? c.requested_length : min_size + p.output_padding;
  }
  int64_t before = 0, after = 0;
  reference_conv1d_padding(p, &before, &after);
  return (L + before + after - d * (K - 1) - 1) / s + 1;
}

// Wraps an exact (int64) sum to int32 the way two's complement hardware does.
inline int32_t wrap_to_int32(int64_t v) {
  return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(v)));
}

// The naive reference: int64 accumulation of every (input, weight) pair
// that §4.5 sums, then bias (§4.1, §4.2), int32 wrap, requantization
// (§4.3, §4.4). Output [batch, outChannels, Lout], NCW.
// `wrapped`, when given, counts outputs whose exact sum left the int32 range.
inline std::vector<uint8_t> reference_forward(const Case& c, int64_t* lout_out = nullptr,
                                              int64_t* wrapped = nullptr) {
  const qconv::ConvParams& p = c.params;
  const int64_t N = c.batch, L = c.length, K = p.kernel_size, s = p.stride, d = p.dilation;
  const int64_t cin = p.in_channels, cout = p.out_channels, G = p.groups;
  const int64_t cin_g = cin / G, cout_g = cout / G;
  const int64_t lout = reference_output_length(c);
  if (lout_out != nullptr) *lout_out = lout;
  // An empty batch has no outputs; the gather below would size a table by L,
  // which the operator accepts up to 2^31 - 1 when N = 0.
  if (N == 0) return {};
  auto wzp = [&](int64_t co) {
    return static_cast<int64_t>(c.weight_zero_points[c.per_channel ? co : 0]);
  };
  auto wscale = [&](int64_t co) { return c.weight_scales[c.per_channel ? co : 0]; };
  auto x_at = [&](int64_t n, int64_t ci, int64_t i) {
    return static_cast<int64_t>(c.input[(n * cin + ci) * L + i]) - c.input_zero_point;
  };

  std::vector<int64_t> acc(static_cast<size_t>(N * cout * lout), 0);
  auto acc_at = [&](int64_t n, int64_t co, int64_t o) -> int64_t& {
    return acc[static_cast<size_t>((n * cout + co) * lout + o)];
  };

  if (p.kind == qconv::OperatorKind::kConvTranspose1d) {
    // Scatter: input position i with tap k lands on o = i*s + k*d - padding.
    // weight[ci][j][k], output channel co = g*cout_g + j.
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t ci = 0; ci < cin; ++ci) {
        const int64_t g = ci / cin_g;
        for (int64_t j = 0; j < cout_g; ++j) {
          const int64_t co = g * cout_g + j;
          for (int64_t k = 0; k < K; ++k) {
            const int64_t w = c.weight[static_cast<size_t>((ci * cout_g + j) * K + k)] - wzp(co);
            for (int64_t i = 0; i < L; ++i) {
              const int64_t o = i * s + k * d - p.padding;
              if (o < 0 || o >= lout) continue;
              acc_at(n, co, o) += x_at(n, ci, i) * w;
            }
          }
        }
      }
    }
  } else {
    // Gather over a materialised padded input. Reflect: indices before..1,
    // 0..L-1, L-2..L-1-after, then padding 0. Zeros: taps outside [0, L)
    // contribute 0.
    const bool reflect = p.padding_mode == qconv::PaddingMode::kReflect;
    int64_t before = 0, after = 0;
    reference_conv1d_padding(p, &before, &after);
    const int64_t pad = reflect ? 0 : before;
    const int64_t len = reflect ? L + before + after : L;
    std::vector<int64_t> index(static_cast<size_t>(len));
    if (reflect) {
      int64_t t = 0;
      for (int64_t q = before; q >= 1; --q) index[t++] = q;
      for (int64_t q = 0; q < L; ++q) index[t++] = q;
      for (int64_t q = L - 2; q >= L - 1 - after; --q) index[t++] = q;
    } else {
      for (int64_t q = 0; q < L; ++q) index[q] = q;
    }
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t co = 0; co < cout; ++co) {
        const int64_t g = co / cout_g;
        for (int64_t i = 0; i < cin_g; ++i) {
          const int64_t ci = g * cin_g + i;
          for (int64_t k = 0; k < K; ++k) {
            const int64_t w = c.weight[static_cast<size_t>((co * cin_g + i) * K + k)] - wzp(co);
            for (int64_t o = 0; o < lout; ++o) {
              const int64_t t = o * s + k * d - pad;
              if (t < 0 || t >= len) continue;
              acc_at(n, co, o) += x_at(n, ci, index[static_cast<size_t>(t)]) * w;
            }
          }
        }
      }
    }
  }

  // §4.2: every ConvTranspose1d and every Conv1d except the GEMM case
  // (K == 1, stride 1, effective padding 0) passes the bias through float32.
  int64_t conv_before = 0, conv_after = 0;
  reference_conv1d_padding(p, &conv_before, &conv_after);
  const bool gemm = p.kind == qconv::OperatorKind::kConv1d && K == 1 && s == 1 &&
                    ((conv_before == 0 && conv_after == 0) ||
                     p.padding_mode == qconv::PaddingMode::kReflect);
  std::vector<uint8_t> out(acc.size());
  for (int64_t co = 0; co < cout; ++co) {
    int32_t qb = 0;
    if (c.has_bias) {
      qb = qconv::quantize_bias(c.bias[static_cast<size_t>(co)], wscale(co), c.input_scale);
      if (!gemm) qb = qconv::bias_through_float32(qb);
    }
    const float rq = qconv::requantization_scale(wscale(co), c.input_scale, c.output_scale);
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t o = 0; o < lout; ++o) {
        const int64_t exact = acc_at(n, co, o) + qb;
        const int32_t total = wrap_to_int32(exact);
        if (wrapped != nullptr && exact != total) ++*wrapped;
        out[static_cast<size_t>((n * cout + co) * lout + o)] =
            qconv::requantize_reference(total, rq, c.output_zero_point);
      }
    }
  }
  return out;
}

// One line naming everything a case was made of, for failure messages.
inline std::string describe_case(const Case& c) {
  const qconv::ConvParams& p = c.params;
  std::ostringstream s;
  s << (p.kind == qconv::OperatorKind::kConv1d ? "Conv1d" : "ConvTranspose1d") << "(cin "
    << p.in_channels << ", cout " << p.out_channels << ", K " << p.kernel_size << ", stride "
    << p.stride << ", padding " << p.padding << (p.padding_same ? " (same)" : "")
    << ", paddingRight " << p.padding_right << ", outputPadding " << p.output_padding
    << ", dilation " << p.dilation << ", groups " << p.groups
    << (p.padding_mode == qconv::PaddingMode::kReflect ? ", reflect" : "") << ") N " << c.batch
    << " L " << c.length << " requested " << c.requested_length
    << (c.per_channel ? " per-channel" : " per-tensor") << " ws[0] " << c.weight_scales[0]
    << " wzp[0] " << c.weight_zero_points[0] << " xs " << c.input_scale << " xzp "
    << c.input_zero_point << " os " << c.output_scale << " ozp " << c.output_zero_point
    << (c.has_bias ? " bias" : " no bias");
  return s.str();
}

// Result of running a case through the public API.
struct ApiResult {
  qconv::Status status = qconv::Status::kOk;
  std::string stage;  // which call failed
  std::string message;
  int64_t output_length = -1;
  std::vector<uint8_t> output;
  std::string kernel_path;
  qconv::ThreadPlan thread_plan;
};

// create -> set_weights -> set_output_quantization -> reshape -> setup -> run.
// The core's weight descriptor for a test case (views into the case's vectors).
// A dense (groups 1) case with seeded random per-tensor weights (scale 0.01,
// zero point 3), a bias in [-2, 2], input (scale 0.02, zero point 130) and
// output (scale 0.05, zero point 120) quantization: the shapes that test
// output blocking and staging.
template <typename Rng>
Case dense_blocks_case(qconv::OperatorKind kind, int64_t cin, int64_t cout, int64_t k, int64_t stride,
                       int64_t padding, int64_t length, int64_t batch, Rng& rng) {
  Case c;
  c.params.kind = kind;
  c.params.in_channels = cin;
  c.params.out_channels = cout;
  c.params.kernel_size = k;
  c.params.stride = stride;
  c.params.padding = padding;
  c.weight.resize(static_cast<size_t>(cin * cout * k));
  for (auto& w : c.weight) w = static_cast<int8_t>(std::uniform_int_distribution<int>(-128, 127)(rng));
  c.weight_scales = {0.01};
  c.weight_zero_points = {3};
  c.has_bias = true;
  c.bias.resize(static_cast<size_t>(cout));
  for (auto& b : c.bias) b = std::uniform_real_distribution<float>(-2.0f, 2.0f)(rng);
  c.output_scale = 0.05;
  c.output_zero_point = 120;
  c.batch = batch;
  c.length = length;
  c.input_scale = 0.02;
  c.input_zero_point = 130;
  c.input.resize(static_cast<size_t>(batch * cin * length));
  for (auto& x : c.input) x = static_cast<uint8_t>(rng());
  return c;
}

inline qconv::WeightDesc weight_desc(const Case& c) {
  qconv::WeightDesc wd;
  wd.data = c.weight.data();
  wd.size = c.weight.size();
  wd.scales = c.weight_scales.data();
  wd.zero_points = c.weight_zero_points.data();
  wd.num_qparams = c.weight_scales.size();
  wd.per_channel = c.per_channel;
  return wd;
}

inline ApiResult run_api(const Case& c, qconv::Backend backend = qconv::Backend::kDefault) {
  ApiResult r;
  qconv::Error error;
  qconv::Operator* op = nullptr;
  auto failed = [&](qconv::Status st, const char* stage) {
    r.status = st;
    r.stage = stage;
    r.message = error.message;
    if (op != nullptr) qconv::delete_operator(op);
    return r;
  };
  qconv::Status st = qconv::create_operator(c.params, &op, &error);
  if (st != qconv::Status::kOk) return failed(st, "create_operator");
  const qconv::WeightDesc wd = weight_desc(c);
  st = qconv::set_weights(op, wd, c.has_bias ? c.bias.data() : nullptr,
                          c.has_bias ? c.bias.size() : 0, &error);
  if (st != qconv::Status::kOk) return failed(st, "set_weights");
  st = qconv::set_output_quantization(op, c.output_scale, c.output_zero_point, &error);
  if (st != qconv::Status::kOk) return failed(st, "set_output_quantization");
  st = qconv::set_backend(op, backend, &error);
  if (st != qconv::Status::kOk) return failed(st, "set_backend");
  r.kernel_path = qconv::kernel_path(op);
  qconv::InputDesc in;
  in.batch = c.batch;
  in.channels = c.params.in_channels;
  in.length = c.length;
  in.scale = c.input_scale;
  in.zero_point = c.input_zero_point;
  int64_t lout = -1;
  st = qconv::reshape(op, in, c.requested_length, &lout, &error);
  if (st != qconv::Status::kOk) return failed(st, "reshape");
  r.output_length = lout;
  r.thread_plan = qconv::thread_plan(op);
  // Pre-fill with a value so that unwritten outputs are likely to show.
  r.output.assign(static_cast<size_t>(c.batch * c.params.out_channels * lout), 0xA5);
  st = qconv::setup(op, c.input.empty() ? nullptr : c.input.data(),
                    r.output.empty() ? nullptr : r.output.data());
  if (st != qconv::Status::kOk) return failed(st, "setup");
  st = qconv::run(op);
  if (st != qconv::Status::kOk) return failed(st, "run");
  qconv::delete_operator(op);
  return r;
}

}  // namespace qconv_test
