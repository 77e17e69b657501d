// libFuzzer harness over the C++ core's public API: parameter validation
// (any values, including absurd ones) and, when a configuration is valid, the
// forward pass through the SIMD128 kernels (natively via SIMDe) and their
// scalar twins, which must agree byte for byte with each other and with the
// naive reference of tests/native/reference.h (run through the native tests'
// harness, tests/native/harness.h). Built with ASan and UBSan.
#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <vector>

#include "harness.h"

namespace qconv_test {
namespace {

// Sizes that keep one execution fast; larger valid ones are skipped, not run.
constexpr uint64_t kMaxWeightElements = 1 << 16;
constexpr uint64_t kMaxTensorElements = 1 << 18;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "operator_fuzzer: %s\n", what);
    std::abort();
  }
}

// A failed call must say why, in a message that names the module.
void check_error(Status status, const qconv::Error& error) {
  if (status == Status::kOk) return;
  check(status == Status::kInvalidArgument || status == Status::kOutOfMemory, "unknown status");
  check(error.message.rfind("Conv1d: ", 0) == 0 || error.message.rfind("ConvTranspose1d: ", 0) == 0,
        "error message without the module name");
}

int64_t size_value(FuzzedDataProvider& fdp, int64_t lo, int64_t hi) {
  static const int64_t kOdd[] = {-1, 0, 1, 2, 65536, std::numeric_limits<int32_t>::max(),
                                 int64_t{1} << 31, int64_t{1} << 40, std::numeric_limits<int64_t>::min(),
                                 std::numeric_limits<int64_t>::max()};
  if (fdp.ConsumeIntegralInRange<int>(0, 31) == 0) return kOdd[fdp.ConsumeIntegralInRange<size_t>(0, 9)];
  return fdp.ConsumeIntegralInRange<int64_t>(lo, hi);
}

double scale_value(FuzzedDataProvider& fdp) {
  static const double kOdd[] = {0.0, -1.0, NAN, INFINITY, -INFINITY, 1e-45, 1e-39, 1.1754943508222875e-38,
                                3e38, 1e39, 2.0, 0.5, 1.0 / 3.0};
  if (fdp.ConsumeIntegralInRange<int>(0, 7) == 0) return kOdd[fdp.ConsumeIntegralInRange<size_t>(0, 12)];
  return std::exp2(fdp.ConsumeFloatingPointInRange<double>(-20.0, 12.0));
}

double zero_point_value(FuzzedDataProvider& fdp, int lo, int hi) {
  static const double kOdd[] = {-129, 256, 0.5, NAN, -1e9, 1e9};
  if (fdp.ConsumeIntegralInRange<int>(0, 15) == 0) return kOdd[fdp.ConsumeIntegralInRange<size_t>(0, 5)];
  return fdp.ConsumeIntegralInRange<int>(lo, hi);
}

uint64_t mul_sat(uint64_t a, uint64_t b) {
  return a != 0 && b > std::numeric_limits<uint64_t>::max() / a ? std::numeric_limits<uint64_t>::max() : a * b;
}

// One forward on op: only reshape may refuse (and must say why); setup and
// run must then succeed, and run must not write past the output.
ApiResult checked_forward(const Case& c, qconv::Operator* op, Backend backend) {
  ApiResult r;
  if (!forward(op, c, backend, &r)) {
    check(r.stage == "reshape", (r.stage + " failed: " + r.message).c_str());
    Error error;
    error.message = r.message;
    check_error(r.status, error);
  }
  return r;
}

int fuzz_one(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  Case c;
  ConvParams& p = c.params;
  p.kind = fdp.ConsumeBool() ? OperatorKind::kConv1d : OperatorKind::kConvTranspose1d;
  p.groups = size_value(fdp, 1, 4);
  const int64_t g = p.groups >= 1 && p.groups <= 4 ? p.groups : 1;
  // Usually a multiple of the groups; an odd draw is used as it is.
  auto channels = [&](int64_t hi) {
    const bool any = fdp.ConsumeIntegralInRange<int>(0, 15) == 0;
    const int64_t v = size_value(fdp, 1, hi);
    return any || v < 1 || v > (int64_t{1} << 20) ? v : g * v;
  };
  p.in_channels = channels(12);
  p.out_channels = channels(20);
  p.kernel_size = size_value(fdp, 1, 9);
  p.stride = size_value(fdp, 1, 6);
  p.padding = size_value(fdp, 0, 6);
  // Conv1d's asymmetric padding: PyTorch's 'same', or any padding after the
  // input (rarely on ConvTranspose1d, which must reject both).
  const bool conv = p.kind == OperatorKind::kConv1d;
  const int asymmetric = fdp.ConsumeIntegralInRange<int>(0, conv ? 5 : 31);
  if (asymmetric == 0) p.padding_same = true;
  if (asymmetric == 1) p.padding_right = size_value(fdp, 0, 6);
  if (p.padding_same && conv && fdp.ConsumeIntegralInRange<int>(0, 3) != 0) p.stride = 1;
  p.output_padding = p.kind == OperatorKind::kConvTranspose1d ? size_value(fdp, 0, 5) : 0;
  p.dilation = size_value(fdp, 1, 4);
  p.bias = fdp.ConsumeBool();
  p.padding_mode = p.kind == OperatorKind::kConv1d && fdp.ConsumeIntegralInRange<int>(0, 3) == 0
                       ? PaddingMode::kReflect : PaddingMode::kZeros;

  // Skip (not fail) valid configurations too big for a fast execution; the
  // validation of absurd sizes still runs (it allocates nothing).
  const uint64_t elements = p.in_channels > 0 && p.out_channels > 0 && p.kernel_size > 0 && p.groups > 0
      ? mul_sat(mul_sat(static_cast<uint64_t>(p.out_channels), static_cast<uint64_t>(p.in_channels / p.groups)),
                static_cast<uint64_t>(p.kernel_size))
      : 0;
  if (elements > kMaxWeightElements && elements <= (qconv::kMaxBytes / 3)) return 0;

  qconv::Operator* op = nullptr;
  Error error;
  Status status = qconv::create_operator(p, &op, &error);
  check_error(status, error);
  if (status != Status::kOk) {
    check(op == nullptr, "failed create left an operator");
    return 0;
  }

  // Weights, qparams and bias: mostly valid, sometimes not.
  c.weight.resize(static_cast<size_t>(elements));
  for (auto& w : c.weight) w = fdp.ConsumeIntegral<int8_t>();
  c.per_channel = fdp.ConsumeBool();
  const size_t nq = c.per_channel ? static_cast<size_t>(p.out_channels) : 1;
  for (size_t i = 0; i < nq; ++i) {
    c.weight_scales.push_back(scale_value(fdp));
    c.weight_zero_points.push_back(zero_point_value(fdp, -128, 127));
  }
  c.has_bias = fdp.ConsumeBool();
  if (c.has_bias) {
    for (int64_t i = 0; i < p.out_channels; ++i) {
      const int kind = fdp.ConsumeIntegralInRange<int>(0, 31);
      c.bias.push_back(kind == 0 ? NAN : kind == 1 ? 3e38f : fdp.ConsumeFloatingPointInRange<float>(-1e4f, 1e4f));
    }
  }
  status = set_case_weights(op, c, &error);
  check_error(status, error);
  if (status != Status::kOk) {
    qconv::delete_operator(op);
    return 0;
  }
  c.output_scale = scale_value(fdp);
  const double ozp = zero_point_value(fdp, 0, 255);
  status = qconv::set_output_quantization(op, c.output_scale, ozp, &error);
  check_error(status, error);
  if (status != Status::kOk) {
    qconv::delete_operator(op);
    return 0;
  }
  c.output_zero_point = static_cast<int32_t>(ozp);

  c.batch = size_value(fdp, 0, 3);
  c.length = size_value(fdp, 1, 40);
  c.input_scale = scale_value(fdp);
  c.input_zero_point = fdp.ConsumeIntegralInRange<int32_t>(0, 255);
  if (p.kind == OperatorKind::kConvTranspose1d && fdp.ConsumeIntegralInRange<int>(0, 3) == 0) {
    int64_t natural = -1;
    if (qconv::compute_output_length(op, c.length, -1, &natural, &error) == Status::kOk) {
      c.requested_length = natural - p.output_padding + fdp.ConsumeIntegralInRange<int64_t>(-2, p.stride + 1);
    }
  }
  int64_t lout = -1;
  const bool sized = qconv::compute_output_length(op, c.length, c.requested_length, &lout, &error) == Status::kOk;
  const uint64_t in_elements = mul_sat(mul_sat(c.batch > 0 ? static_cast<uint64_t>(c.batch) : 0,
                                               static_cast<uint64_t>(p.in_channels)),
                                       c.length > 0 ? static_cast<uint64_t>(c.length) : 0);
  const uint64_t out_elements =
      sized ? mul_sat(mul_sat(c.batch > 0 ? static_cast<uint64_t>(c.batch) : 0, static_cast<uint64_t>(p.out_channels)),
                      static_cast<uint64_t>(lout))
            : 0;
  if (c.batch < 0 || !sized || in_elements > kMaxTensorElements || out_elements > kMaxTensorElements ||
      (sized && lout > static_cast<int64_t>(kMaxTensorElements))) {
    qconv::delete_operator(op);
    return 0;
  }
  c.input.resize(static_cast<size_t>(in_elements));
  for (auto& x : c.input) x = fdp.ConsumeIntegral<uint8_t>();

  const ApiResult simd = checked_forward(c, op, Backend::kDefault);
  const ApiResult scalar = checked_forward(c, op, Backend::kScalar);
  check(simd.status == scalar.status, "SIMD and scalar kernels disagree on validity");
  if (simd.status == Status::kOk) {
    check(simd.output == scalar.output, "SIMD and scalar kernels give different bytes");
    int64_t ref_lout = -1;
    const std::vector<uint8_t> expected = reference_forward(c, &ref_lout, nullptr);
    check(ref_lout == lout, "output length differs from the reference");
    check(simd.output == expected, "output differs from the naive reference");
  }
  qconv::delete_operator(op);
  return 0;
}

}  // namespace
}  // namespace qconv_test

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return qconv_test::fuzz_one(data, size);
}
