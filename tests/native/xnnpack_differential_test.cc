// Differential test: our ConvTranspose1d (public API of qconv.h) against
// XNNPACK's qu8 deconvolution (tests/native/xnnpack/xnnpack_deconvolution.h), byte
// for byte, on random per-tensor configurations and a few directed ones.
//
// Where the two can be compared exactly (see the backend's header):
// - the bias given to XNNPACK is the int32 our operator uses:
//   bias_through_float32(quantize_bias(b, ws, xs)) (docs/SEMANTICS.md §4.1, §4.2);
// - the requantization scale: PyTorch's (ws*xs)*(1/os) and XNNPACK's
//   (xs*ws)/os are computed and a draw is used only when they are the same
//   float32 (always so for power-of-two output scales, drawn half the time;
//   other draws are kept when they happen to agree, and the disagreeing
//   fraction is printed);
// - XNNPACK's accepted range: rq in [2^-32, 256);
// - output padding a >= stride (allowed when dilation > stride) is run by
//   the backend as right padding p - a, so draws with a - p >= stride are
//   redrawn (counted).
// Without XNNPACK at configure time every test here is skipped, with the reason.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "harness.h"
#include "quantization.h"

#if QCONV_HAVE_XNNPACK
#include "xnnpack_deconvolution.h"
#endif

namespace qconv_test {
namespace {

#if !QCONV_HAVE_XNNPACK

#define SKIPPED_WITHOUT_XNNPACK(suite, name)                                                   \
  TEST(suite, name) {                                                                         \
    GTEST_SKIP() << "XNNPACK was not found when CMake configured this build (Debian: "        \
                    "libxnnpack-dev and libpthreadpool-dev); no differential test against it"; \
  }
SKIPPED_WITHOUT_XNNPACK(XnnpackDifferential, RandomConfigurationsMatchByteForByte)
SKIPPED_WITHOUT_XNNPACK(XnnpackDifferential, SaturatesAtZeroAnd255)
SKIPPED_WITHOUT_XNNPACK(XnnpackDifferential, LargeAccumulations)
SKIPPED_WITHOUT_XNNPACK(XnnpackDifferential, WrappingAccumulator)
SKIPPED_WITHOUT_XNNPACK(XnnpackDifferential, HandleReusedAcrossShapes)
SKIPPED_WITHOUT_XNNPACK(XnnpackDifferential, LimitsAreReported)

#else

namespace xnn = qconv::xnnpack;

#define REQUIRE_XNNPACK() \
  if (!xnn::available()) GTEST_SKIP() << "xnn_initialize failed: XNNPACK does not support this CPU"

double pow2(int e) { return std::ldexp(1.0, e); }


// The int32 bias our operator uses for a per-tensor ConvTranspose1d.
std::vector<int32_t> quantized_bias(const Case& c) {
  std::vector<int32_t> q;
  for (float b : c.bias) {
    q.push_back(qconv::bias_through_float32(
        qconv::quantize_bias(b, c.weight_scales[0], c.input_scale)));
  }
  return q;
}

xnn::DeconvolutionWeights xnnpack_weights(const Case& c, const std::vector<int32_t>& bias) {
  xnn::DeconvolutionWeights w;
  w.data = c.weight.data();
  w.weight_scale = c.weight_scales[0];
  w.weight_zero_point = static_cast<int>(c.weight_zero_points[0]);
  w.bias = c.has_bias ? bias.data() : nullptr;
  w.input_scale = c.input_scale;
  w.input_zero_point = c.input_zero_point;
  w.output_scale = c.output_scale;
  w.output_zero_point = c.output_zero_point;
  return w;
}

struct XnnResult {
  Status status = Status::kOk;
  std::string message;
  std::vector<uint8_t> output;
};

XnnResult run_xnnpack(const Case& c) {
  XnnResult r;
  const std::vector<int32_t> bias = quantized_bias(c);
  Error e;
  xnn::Deconvolution* d = nullptr;
  r.status = xnn::create_deconvolution(c.params, xnnpack_weights(c, bias), &d, &e);
  if (r.status != Status::kOk) {
    r.message = e.message;
    return r;
  }
  const int64_t a = effective_output_padding(c);
  const int64_t lout = xnn::deconvolution_output_length(d, c.length, a);
  r.output.assign(static_cast<size_t>(c.batch * c.params.out_channels * std::max<int64_t>(lout, 0)),
                  0x5A);
  r.status = xnn::run_deconvolution(d, c.batch, c.length, a, c.input.data(), r.output.data(), &e);
  if (r.status != Status::kOk) r.message = e.message;
  xnn::delete_deconvolution(d);
  return r;
}

// Compares one case; on a difference, prints it in full with which side
// the naive reference (reference.h) agrees with. Returns differing bytes.
size_t compare(const Case& c, const ApiResult& ours, const XnnResult& theirs) {
  if (ours.status != Status::kOk || theirs.status != Status::kOk) {
    ADD_FAILURE() << describe(c, true) << "\n  ours: " << ours.stage << " " << ours.message
                  << "\n  XNNPACK: " << theirs.message;
    return 1;
  }
  if (ours.output.size() != theirs.output.size()) {
    ADD_FAILURE() << describe(c, true) << "\n  output sizes differ: " << ours.output.size() << " vs "
                  << theirs.output.size();
    return 1;
  }
  const size_t differing = differing_bytes(ours.output, theirs.output);
  const size_t first = first_difference(ours.output, theirs.output);
  if (differing != 0) {
    const std::vector<uint8_t> ref = reference_forward(c);
    ADD_FAILURE() << describe(c, true) << "\n  " << differing << " of " << ours.output.size()
                  << " bytes differ; first at " << first << ": ours "
                  << int{ours.output[first]} << ", XNNPACK " << int{theirs.output[first]}
                  << ", naive reference " << int{ref[first]}
                  << (ref == ours.output ? " (reference == ours)"
                      : ref == theirs.output ? " (reference == XNNPACK)"
                                             : " (reference matches neither)");
  }
  return differing;
}

size_t run_both(const Case& c, std::vector<uint8_t>* output = nullptr) {
  const ApiResult ours = run_api(c);
  const XnnResult theirs = run_xnnpack(c);
  if (output != nullptr) *output = ours.output;
  return compare(c, ours, theirs);
}

// ---------------------------------------------------------------------------
// Random configurations

struct Stats {
  int configs = 0;
  int64_t bytes = 0, out0 = 0, out255 = 0, out_mid = 0;
  int grouped = 0, depthwise = 0, no_bias = 0, big_bias = 0, pow2_output_scale = 0;
  int requested = 0, output_padding_beyond_stride = 0, subconvolution = 0, widened = 0;
  int dilated = 0;
  int wzp_extreme = 0, zp_extreme = 0;
  int scale_draws = 0, scale_draws_disagreeing = 0, geometry_redraws = 0;
};

// Scales with PyTorch's rq == XNNPACK's rq, inside XNNPACK's range.
void draw_scales(Rng& rng, Case* c, Stats* st) {
  for (;;) {
    const bool pow2_scales = chance(rng, 0.2);  // exact products: rounding ties happen
    const double ws = pow2_scales ? pow2(irand(rng, -10, -3)) : log_uniform(rng, 1e-3, 0.5);
    const double xs = pow2_scales ? pow2(irand(rng, -10, 0)) : log_uniform(rng, 1e-3, 1.0);
    // Target rq: mostly outputs in range; sometimes tiny (all zero point) or
    // large (saturating at 0 and 255, up to XNNPACK's 256).
    const int kind = irand(rng, 0, 9);
    const double target = kind == 0   ? log_uniform(rng, 1e-9, 1e-6)
                          : kind <= 2 ? log_uniform(rng, 0.1, 250.0)
                                      : log_uniform(rng, 1e-6, 1e-2);
    double os = ws * xs / target;
    const bool pow2_os = pow2_scales || chance(rng, 0.5);
    if (pow2_os) os = pow2(static_cast<int>(std::lround(std::log2(os))));
    ++st->scale_draws;
    const float ours = qconv::requantization_scale(ws, xs, os);
    const float theirs = xnn::xnnpack_requantization_scale(xs, ws, os);
    if (ours != theirs) {
      ++st->scale_draws_disagreeing;
      EXPECT_FALSE(pow2_os) << "power-of-two output scale " << os << " but rq differ";
      continue;
    }
    if (!(theirs >= xnn::kMinRequantizationScale && theirs < xnn::kMaxRequantizationScale))
      continue;
    c->weight_scales = {ws};
    c->input_scale = xs;
    c->output_scale = os;
    if (pow2_os) ++st->pow2_output_scale;
    return;
  }
}

Case random_case(Rng& rng, Stats* st) {
  Case c;
  ConvParams& p = c.params;
  p.kind = OperatorKind::kConvTranspose1d;
  // Channels 1..40 with groups dividing both; mostly small (speed), some large.
  const int max_channels = chance(rng, 0.25) ? 40 : 12;
  const int pick = irand(rng, 0, 9);
  if (pick < 5) {
    p.groups = 1;
  } else if (pick < 7) {  // depthwise-like: one input channel per group
    p.groups = irand(rng, 2, max_channels);
  } else {
    p.groups = irand(rng, 2, 8);
  }
  const int64_t cin_g = pick >= 5 && pick < 7 ? 1 : irand(rng, 1, std::max<int>(1, max_channels / p.groups));
  const int64_t cout_g = irand(rng, 1, std::max<int>(1, max_channels / p.groups));
  set_channels_per_group(&p, cin_g, cout_g);

  for (;;) {
    p.kernel_size = irand(rng, 1, 7);
    p.stride = irand(rng, 1, 5);
    p.dilation = irand(rng, 1, 3);
    c.length = irand(rng, 1, 12);
    const int64_t s = p.stride;
    p.padding = 0;
    const int64_t full = transposed_min_output_length(p, c.length);  // output length without padding
    p.output_padding = irand(rng, 0, static_cast<int>(std::max(s, p.dilation)) - 1);
    // Padding 0..(what keeps Lout >= 1), at most 8.
    const int64_t max_padding = std::min<int64_t>(8, (full + p.output_padding - 1) / 2);
    p.padding = chance(rng, 0.3) ? 0 : irand(rng, 0, static_cast<int>(max_padding));
    c.requested_length = -1;
    if (chance(rng, 0.2)) {  // outputSize: derived output padding in [0, stride)
      const int64_t min_size = transposed_min_output_length(p, c.length);
      const int64_t lo = std::max<int64_t>(min_size, 1), hi = min_size + s - 1;
      if (lo <= hi) c.requested_length = lo + irand(rng, 0, static_cast<int>(hi - lo));
    }
    const int64_t a = effective_output_padding(c);
    // The backend's rule for a >= stride (see the header).
    if (a >= s && a - p.padding >= s) {
      ++st->geometry_redraws;
      continue;
    }
    break;
  }
  c.batch = irand(rng, 1, 3);

  // Weights, per tensor.
  const bool extreme_weights = chance(rng, 0.1);
  c.weight = random_weights(rng, weight_count(p), extreme_weights);
  const int wzp_pick = irand(rng, 0, 9);
  const int wzp = wzp_pick < 3 ? 0 : wzp_pick == 3 ? -128 : wzp_pick == 4 ? 127 : irand(rng, -128, 127);
  c.weight_zero_points = {static_cast<double>(wzp)};
  c.per_channel = false;

  draw_scales(rng, &c, st);
  c.input_zero_point = random_activation_zero_point(rng);
  c.output_zero_point = random_activation_zero_point(rng);

  const bool extreme_input = chance(rng, 0.1);
  c.input = random_activations(rng, c.batch * p.in_channels * c.length, extreme_input);

  // Bias: none, moderate, or near / beyond the int32 range (saturation,
  // accumulator wrap-around, float32 rounding of |q| > 2^24).
  c.has_bias = !chance(rng, 0.25);
  p.bias = c.has_bias;
  const bool big = c.has_bias && chance(rng, 0.15);
  // Some half-integer units: ties with exact scales.
  if (c.has_bias) c.bias = random_bias(rng, c, big ? 1.9e9 : 1e-2, big ? 2.3e9 : 1e5, 0.1);

  ++st->configs;
  if (p.groups > 1) ++st->grouped;
  if (p.groups > 1 && cin_g == 1) ++st->depthwise;
  if (!c.has_bias) ++st->no_bias;
  if (big) ++st->big_bias;
  if (c.requested_length >= 0) ++st->requested;
  if (effective_output_padding(c) >= p.stride) ++st->output_padding_beyond_stride;
  // XNNPACK's sub-convolution path: stride > 1, no dilation, stride <= K.
  if (p.stride > 1 && p.dilation == 1 && p.stride <= p.kernel_size) {
    ++st->subconvolution;
    // Outputs shorter than stride - 1, which the backend widens and crops.
    if (reference_output_length(c) < p.stride - 1) ++st->widened;
  }
  if (p.dilation > 1) ++st->dilated;
  if (wzp == -128 || wzp == 127) ++st->wzp_extreme;
  if (c.input_zero_point % 255 == 0 || c.output_zero_point % 255 == 0) ++st->zp_extreme;
  return c;
}

TEST(XnnpackDifferential, RandomConfigurationsMatchByteForByte) {
  REQUIRE_XNNPACK();
  const auto start = std::chrono::steady_clock::now();
  Rng rng(20240620);
  Stats st;
  int failures = 0;
  int64_t differing = 0;
  constexpr int kConfigs = 20000;
  for (int i = 0; i < kConfigs; ++i) {
    const Case c = random_case(rng, &st);
    std::vector<uint8_t> ours;
    const size_t diff = run_both(c, &ours);
    differing += static_cast<int64_t>(diff);
    st.bytes += static_cast<int64_t>(ours.size());
    if (diff != 0) {
      std::printf("configuration %d differs (seed 20240620)\n", i);
      if (++failures >= 5) break;
      continue;
    }
    for (uint8_t v : ours) {
      if (v == 0) ++st.out0;
      else if (v == 255) ++st.out255;
      else ++st.out_mid;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "XNNPACK differential: %d configurations, %lld bytes compared, %lld differing "
      "(outputs 0/255/other: %lld/%lld/%lld), %.2f s\n"
      "  grouped %d (one input channel per group %d), no bias %d, near-int32 bias %d, "
      "outputSize %d, outputPadding >= stride %d, XNNPACK subconvolution path %d (widened %d), "
      "dilated %d, "
      "weight zp -128/127 %d, activation zp 0/255 %d, power-of-two output scale %d\n"
      "  scale draws %d, of which PyTorch's and XNNPACK's requantization scales differed "
      "in %d (redrawn); geometry redraws (XNNPACK adjustment rule) %d\n",
      st.configs, static_cast<long long>(st.bytes), static_cast<long long>(differing),
      static_cast<long long>(st.out0), static_cast<long long>(st.out255),
      static_cast<long long>(st.out_mid), seconds, st.grouped, st.depthwise, st.no_bias,
      st.big_bias, st.requested, st.output_padding_beyond_stride, st.subconvolution, st.widened,
      st.dilated,
      st.wzp_extreme, st.zp_extreme, st.pow2_output_scale, st.scale_draws,
      st.scale_draws_disagreeing, st.geometry_redraws);
  EXPECT_EQ(differing, 0);
  EXPECT_EQ(st.configs, kConfigs);
  // The draws covered what they claim to.
  EXPECT_GT(st.grouped, 4000);
  EXPECT_GT(st.depthwise, 2000);
  EXPECT_GT(st.no_bias, 3000);
  EXPECT_GT(st.big_bias, 1000);
  EXPECT_GT(st.requested, 2000);
  EXPECT_GT(st.output_padding_beyond_stride, 300);
  EXPECT_GT(st.subconvolution, 2000);
  EXPECT_GT(st.widened, 20);
  EXPECT_GT(st.wzp_extreme, 2000);
  EXPECT_GT(st.pow2_output_scale, 8000);
  EXPECT_GT(st.out0, 100000);
  EXPECT_GT(st.out255, 100000);
  EXPECT_GT(st.out_mid, 1000000);
}

// ---------------------------------------------------------------------------
// Directed cases

Case directed_case(int64_t cin, int64_t cout, int64_t K, int64_t stride, int64_t length) {
  Case c;
  c.params = make_params(OperatorKind::kConvTranspose1d, cin, cout, K, stride);
  c.weight.assign(static_cast<size_t>(weight_count(c.params)), 0);
  c.weight_scales = {1.0 / 64};
  c.weight_zero_points = {0};
  c.input_scale = 1.0 / 16;
  c.output_scale = 1.0;
  c.batch = 1;
  c.length = length;
  c.input.assign(static_cast<size_t>(cin * length), 0);
  return c;
}

int count(const std::vector<uint8_t>& v, uint8_t x) {
  return static_cast<int>(std::count(v.begin(), v.end(), x));
}

TEST(XnnpackDifferential, SaturatesAtZeroAnd255) {
  REQUIRE_XNNPACK();
  // rq = 2^-6 * 2^-4 / 2^-14 = 16 (below XNNPACK's 256): products of +-255
  // x +-128 saturate both ways; zero points at the ends of [0, 255].
  Rng rng(7);
  for (int ozp : {0, 255, 128}) {
    for (int xzp : {0, 255}) {
      Case c = directed_case(3, 4, 3, 2, 9);
      c.output_scale = pow2(-14);
      c.output_zero_point = ozp;
      c.input_zero_point = xzp;
      // Extreme weight zero points, and 0 where both signs are wanted.
      c.weight_zero_points = {ozp == 0 ? -128.0 : ozp == 255 ? 127.0 : 0.0};
      c.weight = random_weights(rng, static_cast<int64_t>(c.weight.size()));
      c.input = random_activations(rng, static_cast<int64_t>(c.input.size()), true);
      std::vector<uint8_t> out;
      EXPECT_EQ(run_both(c, &out), 0u);
      if (ozp == 128) {
        EXPECT_GT(count(out, 0), 0) << describe(c, true);
        EXPECT_GT(count(out, 255), 0) << describe(c, true);
      }
    }
  }
}

TEST(XnnpackDifferential, LargeAccumulations) {
  REQUIRE_XNNPACK();
  // 512 input channels x 7 taps x 255 x 255 = 233,116,200 per output: far
  // beyond 2^24, so f32(acc) rounds; rq = 2^-20 keeps the outputs in range.
  // Both signs, and random data around the extremes.
  for (int sign : {1, -1}) {
    Case c = directed_case(512, 3, 7, 1, 6);
    c.weight_scales = {pow2(-8)};
    c.input_scale = pow2(-2);
    c.output_scale = pow2(10);  // rq = 2^-8 * 2^-2 / 2^10 = 2^-20
    c.output_zero_point = 128;
    c.input_zero_point = 0;
    c.weight_zero_points = {sign > 0 ? -128.0 : 127.0};
    for (auto& w : c.weight) w = static_cast<int8_t>(sign > 0 ? 127 : -128);
    for (auto& x : c.input) x = 255;
    std::vector<uint8_t> out;
    EXPECT_EQ(run_both(c, &out), 0u);
    // Full-overlap positions: 128 +- 233116200 / 2^20 = 128 +- 222.3.
    EXPECT_GT(count(out, sign > 0 ? 255 : 0), 0) << describe(c, true);
    c.output_scale = pow2(12);  // rq 2^-22: 128 +- 55.6, not saturated
    EXPECT_EQ(run_both(c, &out), 0u);
    EXPECT_EQ(count(out, 0) + count(out, 255), 0) << describe(c, true);
  }
  Rng rng(8);
  Case c = directed_case(512, 5, 7, 2, 8);
  c.params.groups = 1;
  c.params.padding = 3;
  c.output_scale = pow2(10);  // rq 2^-6 * 2^-4 / 2^10 = 2^-20; sums reach ~1e8
  c.output_zero_point = 100;
  c.input_zero_point = 3;
  c.weight_zero_points = {-100.0};
  for (auto& w : c.weight) w = static_cast<int8_t>(irand(rng, 90, 127));
  for (auto& x : c.input) x = static_cast<uint8_t>(irand(rng, 200, 255));
  c.has_bias = true;
  c.bias = {1e3f, -1e3f, 0.0f, 123.25f, -7.5f};
  EXPECT_EQ(run_both(c), 0u);
}

TEST(XnnpackDifferential, WrappingAccumulator) {
  REQUIRE_XNNPACK();
  // Biases near +-2^31 (bias scale 1) plus products that push the int32
  // sum past the range: both sides wrap the same way.
  Case c = directed_case(4, 2, 3, 1, 5);
  c.weight_scales = {1.0};
  c.input_scale = 1.0;
  c.output_scale = pow2(24);  // rq 2^-24
  c.output_zero_point = 128;
  c.input_zero_point = 0;
  c.has_bias = true;
  c.bias = {2147483520.0f, -2147483648.0f};
  Rng rng(9);
  for (auto& w : c.weight) w = static_cast<int8_t>(irand(rng, 1, 127));
  for (auto& x : c.input) x = static_cast<uint8_t>(irand(rng, 100, 254));
  std::vector<uint8_t> out;
  EXPECT_EQ(run_both(c, &out), 0u);
  // Positive products: channel 0 wraps to about -2^31 -> -128 + 128 = 0.
  EXPECT_GT(count(out, 0), 0) << describe(c, true);
  c.input_zero_point = 255;  // negative products: channel 1 wraps up to about 2^31 -> 255
  EXPECT_EQ(run_both(c, &out), 0u);
  EXPECT_GT(count(out, 255), 0) << describe(c, true);
}

TEST(XnnpackDifferential, HandleReusedAcrossShapes) {
  REQUIRE_XNNPACK();
  // One backend handle (and one operator of ours) run on a sequence of
  // lengths, batches and output paddings, including a >= stride (routed as
  // right padding) and the same length with another output padding (the
  // backend recreates XNNPACK's operator then).
  Rng rng(10);
  Case c = directed_case(6, 4, 3, 2, 1);
  c.params.groups = 2;
  c.params.dilation = 4;
  c.params.padding = 3;
  c.params.output_padding = 1;
  c.weight = random_weights(rng, weight_count(c.params));
  c.weight_zero_points = {5.0};
  c.input_zero_point = 120;
  c.output_zero_point = 130;
  c.output_scale = pow2(-4);
  c.has_bias = true;
  c.bias = {0.5f, -1.25f, 3.0f, 0.0f};
  const std::vector<int32_t> bias = quantized_bias(c);
  Error e;
  xnn::Deconvolution* d = nullptr;
  ASSERT_EQ(xnn::create_deconvolution(c.params, xnnpack_weights(c, bias), &d, &e), Status::kOk)
      << e.message;
  struct Step {
    int64_t batch, length, output_padding;
  };
  const Step steps[] = {{1, 5, 1}, {1, 5, 0}, {2, 5, 1}, {1, 5, 3}, {3, 9, 3}, {1, 9, 2},
                        {2, 4, 1}, {1, 4, 1}, {2, 4, 0}, {1, 7, 3}, {1, 7, 2}, {2, 5, 1}};
  int runs = 0;
  for (const Step& step : steps) {
    c.batch = step.batch;
    c.length = step.length;
    c.params.output_padding = step.output_padding;
    c.input = random_activations(rng, c.batch * c.params.in_channels * c.length);
    const ApiResult ours = run_api(c);
    ASSERT_EQ(ours.status, Status::kOk) << ours.message;
    std::vector<uint8_t> theirs(ours.output.size(), 0x5A);
    ASSERT_EQ(xnn::run_deconvolution(d, c.batch, c.length, step.output_padding, c.input.data(),
                                     theirs.data(), &e),
              Status::kOk)
        << e.message;
    EXPECT_EQ(ours.output, theirs) << describe(c, true);
    ++runs;
  }
  EXPECT_EQ(runs, 12);
  xnn::delete_deconvolution(d);
}

TEST(XnnpackDifferential, LimitsAreReported) {
  REQUIRE_XNNPACK();
  Case c = directed_case(2, 2, 3, 2, 4);
  const std::vector<int32_t> none;
  Error e;
  xnn::Deconvolution* d = nullptr;
  // rq = 2^-6 * 2^-4 / 2^-18 = 256: XNNPACK refuses (unsupported parameter).
  c.output_scale = pow2(-18);
  EXPECT_EQ(xnn::create_deconvolution(c.params, xnnpack_weights(c, none), &d, &e),
            Status::kInvalidArgument);
  EXPECT_EQ(d, nullptr);
  EXPECT_NE(e.message.find("below 256"), std::string::npos) << e.message;
  c.output_scale = pow2(-17);  // rq 128: accepted
  ASSERT_EQ(xnn::create_deconvolution(c.params, xnnpack_weights(c, none), &d, &e), Status::kOk)
      << e.message;
  xnn::delete_deconvolution(d);
  d = nullptr;
  // rq = 2^-33: XNNPACK would abort on an assertion; the wrapper refuses.
  c.output_scale = pow2(23);
  EXPECT_EQ(xnn::create_deconvolution(c.params, xnnpack_weights(c, none), &d, &e),
            Status::kInvalidArgument);
  EXPECT_NE(e.message.find("2^-32"), std::string::npos) << e.message;
  // Output padding 3 with stride 2, dilation 4 and padding 0 needs
  // adjustment 3 >= stride: not expressible in XNNPACK.
  c.output_scale = 1.0;
  c.params.dilation = 4;
  ASSERT_EQ(xnn::create_deconvolution(c.params, xnnpack_weights(c, none), &d, &e), Status::kOk)
      << e.message;
  std::vector<uint8_t> in(8, 1), out(64);
  EXPECT_EQ(xnn::run_deconvolution(d, 1, 4, 3, in.data(), out.data(), &e),
            Status::kInvalidArgument);
  EXPECT_NE(e.message.find("adjustment < stride"), std::string::npos) << e.message;
  EXPECT_EQ(xnn::run_deconvolution(d, 1, 4, 1, in.data(), out.data(), &e), Status::kOk)
      << e.message;
  xnn::delete_deconvolution(d);
  // Conv1d is not this backend's.
  c.params.kind = OperatorKind::kConv1d;
  EXPECT_EQ(xnn::create_deconvolution(c.params, xnnpack_weights(c, none), &d, &e),
            Status::kInvalidArgument);
}

#endif  // QCONV_HAVE_XNNPACK

}  // namespace
}  // namespace qconv_test
