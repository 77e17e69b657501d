// The operators against a naive direct reference (reference.h), byte for
// byte, on random shapes and parameters, plus hand-derived edge cases and
// the create -> set_weights -> reshape -> setup -> run state machine.
#include <gtest/gtest.h>
#include <malloc.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include "harness.h"

namespace qconv_test {
namespace {

// Coverage counters, so that the random test can check it exercised what
// it claims to.
struct Coverage {
  int cases = 0, conv = 0, transposed = 0, reflect = 0, gemm = 0, per_channel = 0;
  int grouped = 0, depthwise = 0, batch0 = 0, requested = 0, requested_above_min = 0;
  int no_bias = 0, big_bias = 0, dilated = 0, output_padding = 0, pow2 = 0;
  int tile_path = 0, dw_path = 0;
  int same = 0, asymmetric = 0, asymmetric_reflect = 0, asymmetric_tile = 0;
  int64_t out0 = 0, out255 = 0, out_mid = 0, wrapped = 0;
};

Case random_case(Rng& rng, Coverage* cov) {
  Case c;
  ConvParams& p = c.params;
  p.kind = chance(rng, 0.5) ? OperatorKind::kConv1d : OperatorKind::kConvTranspose1d;
  const bool transposed = p.kind == OperatorKind::kConvTranspose1d;

  // Channels and groups.
  int64_t cin_g, cout_g;
  if (chance(rng, 0.2)) {  // depthwise (channel multiplier 1 or 2)
    p.groups = irand(rng, 1, 6);
    cin_g = 1;
    cout_g = irand(rng, 1, 2);
  } else {
    p.groups = chance(rng, 0.5) ? 1 : irand(rng, 2, 3);
    // Few channels (the dwconv1d kernel) or enough for the 4x8 tile with
    // every remainder of its 8 channels.
    cin_g = irand(rng, 1, chance(rng, 0.5) ? 4 : 19);
    cout_g = irand(rng, 1, chance(rng, 0.5) ? 4 : 19);
  }
  set_channels_per_group(&p, cin_g, cout_g);

  // Geometry: draw until valid.
  for (;;) {
    p.kernel_size = irand(rng, 1, 7);
    p.stride = irand(rng, 1, 4);
    p.dilation = irand(rng, 1, 3);
    p.padding = chance(rng, 0.4) ? 0 : irand(rng, 1, 4);
    p.padding_right = -1;
    p.padding_same = false;
    p.padding_mode = PaddingMode::kZeros;
    p.output_padding = 0;
    c.requested_length = -1;
    c.length = irand(rng, 1, 14);
    if (transposed) {
      p.output_padding = irand(rng, 0, static_cast<int>(std::max(p.stride, p.dilation)) - 1);
      const int64_t min_size = transposed_min_output_length(p, c.length);
      if (chance(rng, 0.35)) {
        const int64_t lo = std::max<int64_t>(min_size, 1), hi = min_size + p.stride - 1;
        if (lo <= hi) c.requested_length = lo + irand(rng, 0, static_cast<int>(hi - lo));
      }
    } else {
      // Asymmetric padding: PyTorch's 'same' (stride 1), or any padding after the input.
      const double pick = std::uniform_real_distribution<double>(0, 1)(rng);
      if (pick < 0.2) {
        p.padding_same = true;
        p.stride = 1;
      } else if (pick < 0.4) {
        p.padding_right = chance(rng, 0.3) ? 0 : irand(rng, 1, 5);
      }
      if (chance(rng, 0.1)) {  // QNNPACK's GEMM path: K 1, stride 1, no padding
        p.kernel_size = 1;
        p.stride = 1;
        p.padding = 0;
        if (p.padding_right > 0 && chance(rng, 0.5)) p.padding_right = 0;
      }
      if (chance(rng, 0.35)) p.padding_mode = PaddingMode::kReflect;
      int64_t before = 0, after = 0;
      reference_conv1d_padding(p, &before, &after);
      if (p.padding_mode == PaddingMode::kReflect && std::max(before, after) >= c.length) continue;
    }
    if (reference_output_length(c) >= 1) break;
  }

  c.batch = chance(rng, 0.08) ? 0 : irand(rng, 1, 3);

  // Weights and their quantization.
  const bool extreme_weights = chance(rng, 0.15);
  c.weight = random_weights(rng, weight_count(p), extreme_weights);
  c.per_channel = chance(rng, 0.5);
  const int64_t nq = c.per_channel ? p.out_channels : 1;
  // Power-of-two scales make requantization and bias quantization exact, so
  // that round-half-to-even ties actually occur.
  const bool pow2 = chance(rng, 0.2);
  auto pow2_in = [&](int lo, int hi) { return std::ldexp(1.0, irand(rng, lo, hi)); };
  const double ws0 = pow2 ? pow2_in(-10, -3) : log_uniform(rng, 1e-3, 1e-1);
  for (int64_t q = 0; q < nq; ++q) {
    c.weight_scales.push_back(q == 0 ? ws0
                              : pow2 ? ws0 * pow2_in(-3, 3)
                                     : ws0 * log_uniform(rng, 0.1, 10.0));
    c.weight_zero_points.push_back(chance(rng, 0.3) ? 0 : irand(rng, -128, 127));
  }

  // Activations.
  c.input_scale = pow2 ? pow2_in(-10, 0) : log_uniform(rng, 1e-3, 1.0);
  c.input_zero_point = random_activation_zero_point(rng);
  c.output_zero_point = random_activation_zero_point(rng);
  // Output scale from a target requantization scale: small ones keep most
  // outputs in range, large ones (up to 1e5, beyond the int32 range for
  // big accumulators: P1) saturate.
  const double target_rq = pow2 ? pow2_in(-12, -1)
                           : chance(rng, 0.1) ? log_uniform(rng, 1e3, 1e5)
                                              : log_uniform(rng, 1e-5, 1e-1);
  c.output_scale = ws0 * c.input_scale / target_rq;
  if (pow2) ++cov->pow2;

  const bool extreme_input = chance(rng, 0.15);
  c.input = random_activations(rng, c.batch * p.in_channels * c.length, extreme_input);

  // Bias: none, moderate, or near / beyond the int32 range (P3 saturation,
  // accumulator wrap).
  c.has_bias = !chance(rng, 0.25);
  const bool big = c.has_bias && chance(rng, 0.2);
  // With power-of-two scales, half-integer multiples of the bias scale are
  // exact float32 values: quantize_bias ties.
  if (c.has_bias) c.bias = random_bias(rng, c, big ? 1.9e9 : 1e-2, big ? 2.3e9 : 1e6, pow2 ? 0.5 : 0);

  ++cov->cases;
  (transposed ? cov->transposed : cov->conv)++;
  if (p.padding_mode == PaddingMode::kReflect) ++cov->reflect;
  int64_t before = 0, after = 0;
  reference_conv1d_padding(p, &before, &after);
  if (!transposed && p.kernel_size == 1 && p.stride == 1 &&
      ((before == 0 && after == 0) || p.padding_mode == PaddingMode::kReflect))
    ++cov->gemm;
  if (p.padding_same) ++cov->same;
  if (!transposed && before != after) {
    ++cov->asymmetric;
    if (p.padding_mode == PaddingMode::kReflect) ++cov->asymmetric_reflect;
  }
  if (c.per_channel) ++cov->per_channel;
  if (p.groups > 1) ++cov->grouped;
  if (p.groups > 1 && cin_g == 1) ++cov->depthwise;
  if (c.batch == 0) ++cov->batch0;
  if (c.requested_length >= 0) ++cov->requested;
  if (!c.has_bias) ++cov->no_bias;
  if (big) ++cov->big_bias;
  if (p.dilation > 1) ++cov->dilated;
  if (transposed && p.output_padding > 0) ++cov->output_padding;
  return c;
}

TEST(OperatorRandom, MatchesNaiveReferenceOnRandomShapes) {
  Rng rng(20240611);
  Coverage cov;
  int failures = 0;
  for (int iter = 0; iter < 1500; ++iter) {
    const Case c = random_case(rng, &cov);
    int64_t lout = -1;
    int64_t wrapped = 0;
    const std::vector<uint8_t> expected = reference_forward(c, &lout, &wrapped);
    // The build's kernels (SIMD128 through SIMDe) and their scalar twins.
    for (const qconv::Backend backend : {qconv::Backend::kDefault, qconv::Backend::kScalar}) {
      const char* backend_name = backend == qconv::Backend::kDefault ? "default" : "scalar";
      const ApiResult got = run_api(c, backend);
      if (got.status != Status::kOk) {
        ADD_FAILURE() << "case " << iter << " " << describe(c) << ": " << got.stage
                      << " failed: " << got.message;
        ++failures;
        continue;
      }
      if (backend == qconv::Backend::kDefault) {
        const bool tile = got.kernel_path == "conv1d-4x8c2";
        ++(tile ? cov.tile_path : cov.dw_path);
        int64_t before = 0, after = 0;
        reference_conv1d_padding(c.params, &before, &after);
        if (tile && c.params.kind == OperatorKind::kConv1d && before != after) ++cov.asymmetric_tile;
      }
      EXPECT_EQ(got.output_length, lout) << "case " << iter << " " << describe(c);
      if (got.output != expected) {
        ADD_FAILURE() << "case " << iter << " " << describe(c) << " (" << backend_name << ", "
                      << got.kernel_path << "): first difference at "
                      << first_difference(got.output, expected) << " of " << expected.size();
        ++failures;
      }
    }
    if (failures > 10) break;
    if (c.requested_length >= 0 && c.requested_length > transposed_min_output_length(c.params, c.length)) {
      ++cov.requested_above_min;
    }
    cov.wrapped += wrapped;
    for (uint8_t v : expected) {
      if (v == 0) ++cov.out0;
      else if (v == 255) ++cov.out255;
      else ++cov.out_mid;
    }
  }
  EXPECT_EQ(failures, 0);
  // The random cases covered what they are meant to.
  EXPECT_GE(cov.cases, 1000);
  EXPECT_GT(cov.conv, 300);
  EXPECT_GT(cov.transposed, 300);
  EXPECT_GT(cov.reflect, 50);
  EXPECT_GT(cov.gemm, 10);
  EXPECT_GT(cov.per_channel, 300);
  EXPECT_GT(cov.grouped, 100);
  EXPECT_GT(cov.depthwise, 50);
  EXPECT_GT(cov.batch0, 20);
  EXPECT_GT(cov.requested, 50);
  EXPECT_GT(cov.requested_above_min, 10);
  EXPECT_GT(cov.no_bias, 100);
  EXPECT_GT(cov.big_bias, 50);
  EXPECT_GT(cov.dilated, 300);
  EXPECT_GT(cov.output_padding, 100);
  EXPECT_GT(cov.out0, 1000);
  EXPECT_GT(cov.out255, 1000);
  EXPECT_GT(cov.out_mid, 10000);
  EXPECT_GT(cov.wrapped, 10);
  EXPECT_GT(cov.pow2, 200);
  EXPECT_GT(cov.tile_path, 300);
  EXPECT_GT(cov.dw_path, 300);
  EXPECT_GT(cov.same, 80);
  EXPECT_GT(cov.asymmetric, 120);
  EXPECT_GT(cov.asymmetric_reflect, 30);
  EXPECT_GT(cov.asymmetric_tile, 20);  // the rest take the dwconv1d path
  std::printf("random cases: %d (tile path %d, dwconv path %d; conv %d, transposed %d, reflect %d, gemm %d, "
              "'same' %d, asymmetric %d (reflect %d, tile path %d), per-channel %d, "
              "depthwise %d, batch0 %d, requested %d); outputs 0/255/other: %lld/%lld/%lld; "
              "wrapped sums: %lld\n",
              cov.cases, cov.tile_path, cov.dw_path, cov.conv, cov.transposed, cov.reflect, cov.gemm,
              cov.same, cov.asymmetric, cov.asymmetric_reflect, cov.asymmetric_tile, cov.per_channel,
              cov.depthwise, cov.batch0, cov.requested, static_cast<long long>(cov.out0),
              static_cast<long long>(cov.out255), static_cast<long long>(cov.out_mid),
              static_cast<long long>(cov.wrapped));
}

// ---------------------------------------------------------------------------
// Hand-derived edge cases

// ws = xs = 1 and os = 2^24: rq = 1 * 1 * (1 / 2^24) = 2^-24 exactly, so a
// bias near +-2^31 (bias scale 1: it quantizes to itself) lands near +-128.
void near_int32_bias(Case* c, float bias, int32_t input_zero_point) {
  c->has_bias = true;
  c->bias = {bias};
  set_activation_qparams(c, {1.0, input_zero_point}, {16777216.0, 128});
}

// ConvTranspose1d(1 -> 1, K 1, stride 2, outputPadding 1), L 1: Lout = 2.
// Position 0 gets input 0 through tap 0; position 1 is bias only.
Case wrap_case(float bias, uint8_t x, int32_t xzp, int8_t w) {
  Case c = by_hand_case(OperatorKind::kConvTranspose1d, {w}, {x});
  c.params.stride = 2;
  c.params.output_padding = 1;
  near_int32_bias(&c, bias, xzp);
  return c;
}

TEST(OperatorEdge, Int32AccumulatorWrapsPositive) {
  // bias 2^31 - 128 = 2147483520 is a float32; with bias scale 1 it
  // quantizes to itself and survives the float32 round trip.
  // Position 0: product (64 - 0) * (2 - 0) = 128; 2147483520 + 128 = 2^31
  // wraps to -2^31; f32(-2^31) * 2^-24 = -128; -128 + 128 = 0.
  // (Without the wrap: 2^31 * 2^-24 = 128, + 128 = 256 -> 255.)
  // Position 1: 2147483520 * 2^-24 = 127.99999237 -> 128; + 128 -> 255.
  const Case c = wrap_case(2147483520.0f, 64, 0, 2);
  const ApiResult got = run_api(c);
  ASSERT_EQ(got.status, Status::kOk) << got.message;
  EXPECT_EQ(got.output, (std::vector<uint8_t>{0, 255}));
  EXPECT_EQ(reference_forward(c), got.output);
}

TEST(OperatorEdge, Int32AccumulatorWrapsNegative) {
  // bias -2^31 (exact). Position 0: product (0 - 64) * 2 = -128;
  // -2^31 - 128 wraps to 2^31 - 128 = 2147483520; * 2^-24 = 127.99999237
  // -> 128; + 128 -> 255. Position 1: -2^31 * 2^-24 = -128; + 128 -> 0.
  const Case c = wrap_case(-2147483648.0f, 0, 64, 2);
  const ApiResult got = run_api(c);
  ASSERT_EQ(got.status, Status::kOk) << got.message;
  EXPECT_EQ(got.output, (std::vector<uint8_t>{255, 0}));
  EXPECT_EQ(reference_forward(c), got.output);
}

TEST(OperatorEdge, Conv1dGemmPathKeepsSaturatedBiasAndWraps) {
  // Conv1d(1 -> 1, K 1, stride 1, padding 0): QNNPACK's GEMM path.
  // bias 2^31 with bias scale 1: rint(2^31) = 2^31 >= 2^31 -> INT32_MAX
  // (P3/clamp), kept exact. ws = xs = 1, os = 2^24 -> rq = 2^-24. xzp 10, w 1:
  //   x 11: INT32_MAX + 1 wraps to -2^31 -> -128 + 128 = 0
  //   x 10: INT32_MAX -> f32 2^31 -> * 2^-24 = 128 -> 256 -> 255
  //   x 9 : INT32_MAX - 1 -> f32 2^31 -> 255
  Case c = by_hand_case(OperatorKind::kConv1d, {1}, {11, 10, 9});
  near_int32_bias(&c, 2147483648.0f, 10);
  const ApiResult got = run_api(c);
  ASSERT_EQ(got.status, Status::kOk) << got.message;
  EXPECT_EQ(got.output, (std::vector<uint8_t>{0, 255, 255}));
  EXPECT_EQ(reference_forward(c), got.output);
}

TEST(OperatorEdge, HugeRequantizationSaturatesTo255) {
  // P1: Conv1d(1 -> 1, K 1), ws 1, xs 1, os 1/67000 (rq = f32(67000)
  // rounded through 1 / f32(1/67000); the product is far above 2^31 either
  // way). x - xzp = 255 - 0, w - wzp = 127 - 0: acc = 32385;
  // 32385 * ~67000 ~ 2.17e9 >= 2^31 -> INT32_MAX -> 255 (x86 torch: 0).
  // Negative: x 0, xzp 255 -> acc = -32385 -> INT32_MIN -> 0.
  Case c = by_hand_case(OperatorKind::kConv1d, {127}, {255});
  c.output_scale = 1.0 / 67000.0;
  ApiResult got = run_api(c);
  ASSERT_EQ(got.status, Status::kOk) << got.message;
  EXPECT_EQ(got.output, std::vector<uint8_t>{255});
  c.input = {0};
  c.input_zero_point = 255;
  c.output_zero_point = 255;
  got = run_api(c);
  ASSERT_EQ(got.status, Status::kOk) << got.message;
  EXPECT_EQ(got.output, std::vector<uint8_t>{0});
}

TEST(OperatorEdge, SmallTransposedByHand) {
  // ConvTranspose1d(1 -> 1, K 2, stride 2, padding 0), L 2: Lout = 1*2 + 1*1 + 1 = 4.
  // Scatter o = 2i + k: o0 = x0*w0, o1 = x0*w1, o2 = x1*w0, o3 = x1*w1.
  // x - xzp = (3, -2) (x = 13, 8 with xzp 10); w - wzp = (5, -1) (w = 6, 0, wzp 1).
  // acc = (15, -3, -10, 2); scales 1 -> rq 1; bias 0.4 -> rint(0.4) = 0;
  // ozp 100 -> (115, 97, 90, 102).
  Case c = by_hand_case(OperatorKind::kConvTranspose1d, {6, 0}, {13, 8});
  c.params.stride = 2;
  c.weight_zero_points = {1};
  c.has_bias = true;
  c.bias = {0.4f};
  set_activation_qparams(&c, {1.0, 10}, {1.0, 100});
  const ApiResult got = run_api(c);
  ASSERT_EQ(got.status, Status::kOk) << got.message;
  EXPECT_EQ(got.output, (std::vector<uint8_t>{115, 97, 90, 102}));
  EXPECT_EQ(reference_forward(c), got.output);
}

TEST(OperatorEdge, ReflectConv1dByHand) {
  // Conv1d(1 -> 1, K 3, padding 2, reflect), L 3, x - xzp = (1, 2, 3):
  // padded (index 2, 1, 0, 1, 2, 1, 0) = (3, 2, 1, 2, 3, 2, 1);
  // w - wzp = (1, 0, -1): out[o] = p[o] - p[o+2] over o = 0..4:
  //   3-1 = 2, 2-2 = 0, 1-3 = -2, 2-2 = 0, 3-1 = 2. ozp 10 -> (12, 10, 8, 10, 12).
  Case c = by_hand_case(OperatorKind::kConv1d, {1, 0, -1}, {1, 2, 3});
  c.params.padding = 2;
  c.params.padding_mode = PaddingMode::kReflect;
  c.output_zero_point = 10;
  const ApiResult got = run_api(c);
  ASSERT_EQ(got.status, Status::kOk) << got.message;
  EXPECT_EQ(got.output, (std::vector<uint8_t>{12, 10, 8, 10, 12}));
  EXPECT_EQ(reference_forward(c), got.output);
  // Zero padding instead: padded (0, 0, 1, 2, 3, 0, 0) -> (0-1, 0-2, 1-3, 2-0, 3-0)
  // = (-1, -2, -2, 2, 3) -> (9, 8, 8, 12, 13).
  c.params.padding_mode = PaddingMode::kZeros;
  const ApiResult zeros = run_api(c);
  ASSERT_EQ(zeros.status, Status::kOk) << zeros.message;
  EXPECT_EQ(zeros.output, (std::vector<uint8_t>{9, 8, 8, 12, 13}));
  EXPECT_EQ(reference_forward(c), zeros.output);
}

// One Conv1d(1 -> 1) with p's padding over x - xzp = (1, 2, 3, ...) with
// unit scales, output zero point 10 and no bias: out = 10 + sum of
// (w - wzp) * padded input.
ApiResult padding_by_hand(ConvParams p, std::vector<int8_t> w, std::vector<uint8_t> x) {
  Case c = by_hand_case(OperatorKind::kConv1d, std::move(w), std::move(x));
  p.kind = c.params.kind;
  p.kernel_size = c.params.kernel_size;
  c.params = p;
  c.output_zero_point = 10;
  ApiResult got = run_api(c);
  if (got.status == Status::kOk) EXPECT_EQ(reference_forward(c), got.output);
  return got;
}

TEST(OperatorEdge, SamePaddingConv1dByHand) {
  // K 4, padding 'same': total 3, PyTorch puts 1 before and 2 after.
  // x = (1, 2, 3, 4), w = (1, 0, 0, -1): out[o] = p[o] - p[o+3].
  ConvParams p;
  p.padding_same = true;
  // zeros: p = (0, 1, 2, 3, 4, 0, 0) -> (0-3, 1-4, 2-0, 3-0) = (-3, -3, 2, 3).
  ApiResult got = padding_by_hand(p, {1, 0, 0, -1}, {1, 2, 3, 4});
  ASSERT_EQ(got.status, Status::kOk) << got.message;
  EXPECT_EQ(got.output, (std::vector<uint8_t>{7, 7, 12, 13}));
  // reflect: p = (2, 1, 2, 3, 4, 3, 2) -> (2-3, 1-4, 2-3, 3-2) = (-1, -3, -1, 1).
  p.padding_mode = PaddingMode::kReflect;
  got = padding_by_hand(p, {1, 0, 0, -1}, {1, 2, 3, 4});
  ASSERT_EQ(got.status, Status::kOk) << got.message;
  EXPECT_EQ(got.output, (std::vector<uint8_t>{9, 7, 9, 11}));
  // The module reports the split it resolved; with zeros, L 1 gives 1 output.
  p.padding_mode = PaddingMode::kZeros;
  p.kind = OperatorKind::kConv1d;
  p.kernel_size = 4;
  qconv::Operator* op = nullptr;
  Error e;
  ASSERT_EQ(qconv::create_operator(p, &op, &e), Status::kOk) << e.message;
  EXPECT_EQ(qconv::operator_params(op).padding, 1);
  EXPECT_EQ(qconv::operator_params(op).padding_right, 2);
  int64_t lout = 0;
  EXPECT_EQ(qconv::compute_output_length(op, 1, -1, &lout, &e), Status::kOk);
  EXPECT_EQ(lout, 1);
  qconv::delete_operator(op);
}

TEST(OperatorEdge, AsymmetricPaddingConv1dByHand) {
  // K 3, padding 0 before and 2 after, x = (1, 2, 3), w = (1, 0, -1):
  // p = (1, 2, 3, 0, 0), out[o] = p[o] - p[o+2] = (1-3, 2-0, 3-0) = (-2, 2, 3).
  ConvParams p;
  p.padding = 0;
  p.padding_right = 2;
  ApiResult got = padding_by_hand(p, {1, 0, -1}, {1, 2, 3});
  ASSERT_EQ(got.status, Status::kOk) << got.message;
  EXPECT_EQ(got.output, (std::vector<uint8_t>{8, 12, 13}));
  // 2 before and 0 after: p = (0, 0, 1, 2, 3) -> (0-1, 0-2, 1-3) = (-1, -2, -2).
  p.padding = 2;
  p.padding_right = 0;
  got = padding_by_hand(p, {1, 0, -1}, {1, 2, 3});
  ASSERT_EQ(got.status, Status::kOk) << got.message;
  EXPECT_EQ(got.output, (std::vector<uint8_t>{9, 8, 8}));
  // Reflect, 2 before and 1 after: p = (3, 2, 1, 2, 3, 2) -> (3-1, 2-2, 1-3, 2-2) = (2, 0, -2, 0).
  p.padding_right = 1;
  p.padding_mode = PaddingMode::kReflect;
  got = padding_by_hand(p, {1, 0, -1}, {1, 2, 3});
  ASSERT_EQ(got.status, Status::kOk) << got.message;
  EXPECT_EQ(got.output, (std::vector<uint8_t>{12, 10, 8, 10}));
  // K 1, 0 before and 1 after: x = (1, 2), w = 2 -> (2, 4, 0).
  p.padding_mode = PaddingMode::kZeros;
  p.padding = 0;
  p.padding_right = 1;
  got = padding_by_hand(p, {2}, {1, 2});
  ASSERT_EQ(got.status, Status::kOk) << got.message;
  EXPECT_EQ(got.output, (std::vector<uint8_t>{12, 14, 10}));
}

// Output blocks through the staging buffer (several blocks, output rows a
// multiple of 256 bytes apart) and blocks written in place, both kernels.
TEST(OperatorEdge, OutputBlocksMatchReference) {
  Rng rng(99);
  struct Shape {
    OperatorKind kind;
    int64_t cin, cout, k, stride, padding, length;
  };
  const Shape shapes[] = {
      {OperatorKind::kConvTranspose1d, 1, 64, 16, 8, 4, 512},   // Lout 4096: staged
      {OperatorKind::kConvTranspose1d, 3, 40, 4, 2, 1, 1024},   // Lout 2048: staged
      {OperatorKind::kConvTranspose1d, 3, 40, 4, 2, 1, 1023},   // Lout 2046: in place
      {OperatorKind::kConv1d, 4, 64, 3, 1, 1, 2048},            // Lout 2048: staged
      {OperatorKind::kConv1d, 4, 64, 3, 1, 1, 2047},            // in place
  };
  for (const Shape& sh : shapes) {
    const Case c = dense_blocks_case(make_params(sh.kind, sh.cin, sh.cout, sh.k, sh.stride, sh.padding),
                                     sh.length, 2, rng);
    int64_t lout = -1;
    const std::vector<uint8_t> expected = reference_forward(c, &lout, nullptr);
    for (const Backend backend : {Backend::kDefault, Backend::kScalar}) {
      const ApiResult got = run_api(c, backend);
      ASSERT_EQ(got.status, Status::kOk) << got.message;
      EXPECT_EQ(got.kernel_path, "conv1d-4x8c2");
      EXPECT_TRUE(got.output == expected) << describe(c) << " Lout " << lout;
    }
  }
}

// ---------------------------------------------------------------------------
// Operator state machine

// A module with groups, dilation, stride, padding (and outputPadding),
// per-channel weights and a bias, on a batch of two.
Case state_case(OperatorKind kind) {
  Rng rng(kind == OperatorKind::kConv1d ? 11 : 12);
  Case c;
  c.params = make_params(kind, 4, 6, 3, 2, 1);
  c.params.output_padding = kind == OperatorKind::kConvTranspose1d ? 1 : 0;
  c.params.dilation = 2;
  c.params.groups = 2;
  c.weight = random_weights(rng, weight_count(c.params));
  c.per_channel = true;
  c.has_bias = true;
  for (int co = 0; co < 6; ++co) {
    c.weight_scales.push_back(0.01 * (co + 1));
    c.weight_zero_points.push_back(co * 7 - 20);
    c.bias.push_back(0.37f * (co - 3));
  }
  set_activation_qparams(&c, {0.05, 128}, {0.3, 90});
  c.batch = 2;
  c.length = 9;
  c.input = random_activations(rng, 2 * 4 * 9);
  return c;
}

const OperatorKind kKinds[] = {OperatorKind::kConvTranspose1d, OperatorKind::kConv1d};

// A forward of the operator's current case, checked against the reference;
// its output.
std::vector<uint8_t> checked_forward(TestOperator& op) {
  EXPECT_EQ(op.forward(), Status::kOk) << op.message();
  EXPECT_EQ(op.output(), reference_forward(op.current())) << describe(op.current());
  return op.output();
}

TEST(OperatorState, BatchZeroSucceedsAndWritesNothing) {
  for (OperatorKind kind : kKinds) {
    Case c = state_case(kind);
    c.batch = 0;
    c.input.clear();
    TestOperator op(c);
    ASSERT_EQ(op.status(), Status::kOk) << op.message();
    int64_t lout = -1;
    Error e;
    ASSERT_EQ(qconv::reshape(op.op(), input_desc(c), -1, &lout, &e), Status::kOk) << e.message;
    int64_t expected_lout = -1;
    EXPECT_TRUE(reference_forward(c, &expected_lout).empty());
    EXPECT_EQ(lout, expected_lout);
    EXPECT_GT(lout, 0);
    // Null buffers are fine for an empty batch ...
    EXPECT_EQ(qconv::setup(op.op(), nullptr, nullptr), Status::kOk);
    EXPECT_EQ(qconv::run(op.op()), Status::kOk);
    // ... and real ones are left untouched.
    std::vector<uint8_t> sentinel_in(16, 0x11), sentinel_out(16, 0x22);
    ASSERT_EQ(qconv::setup(op.op(), sentinel_in.data(), sentinel_out.data()), Status::kOk);
    EXPECT_EQ(qconv::run(op.op()), Status::kOk);
    EXPECT_EQ(sentinel_out, std::vector<uint8_t>(16, 0x22));
    EXPECT_EQ(sentinel_in, std::vector<uint8_t>(16, 0x11));
  }
}

// Bytes malloc has handed out, small chunks and mmapped ones (glibc's
// count; sanitizer builds have their own allocator and report no growth).
size_t heap_bytes_in_use() {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
#else
  return 0;
#endif
}

// An empty batch computes nothing, so it needs no scratch: a huge input
// length neither allocates its rows (2 bytes per position and channel) nor
// is refused for sizes only the scratch would need (issue 11).
TEST(OperatorState, EmptyBatchOfHugeLengthNeedsNoScratch) {
  struct Shape {
    OperatorKind kind;
    int64_t cin, cout, k, stride;
    const char* path;
  };
  const Shape shapes[] = {
      {OperatorKind::kConvTranspose1d, 1, 1, 1, 1, "dwconv1d-16x1"},
      {OperatorKind::kConvTranspose1d, 8, 16, 3, 2, "conv1d-4x8c2"},
      {OperatorKind::kConv1d, 1, 1, 1, 1, "dwconv1d-16x1"},
      {OperatorKind::kConv1d, 8, 16, 3, 1, "conv1d-4x8c2"},
  };
  Rng rng(5);
  for (const Shape& sh : shapes) {
    const Case real = dense_blocks_case(make_params(sh.kind, sh.cin, sh.cout, sh.k, sh.stride), 100, 2, rng);
    TestOperator op(real);
    ASSERT_EQ(op.status(), Status::kOk) << op.message();
    EXPECT_STREQ(qconv::kernel_path(op.op()), sh.path);
    for (int64_t length : {int64_t{1} << 29, int64_t{1} << 30, int64_t{2147483647}}) {
      Case c = real;
      c.batch = 0;
      c.length = length;
      const size_t before = heap_bytes_in_use();
      int64_t lout = -1;
      Error e;
      ASSERT_EQ(qconv::reshape(op.op(), input_desc(c), -1, &lout, &e), Status::kOk)
          << describe(c) << ": " << e.message;
      EXPECT_LT(heap_bytes_in_use(), before + 4096) << describe(c);
      EXPECT_EQ(lout, reference_output_length(c));
      EXPECT_EQ(qconv::setup(op.op(), nullptr, nullptr), Status::kOk);
      EXPECT_EQ(qconv::run(op.op()), Status::kOk);
    }
    // The same operator still computes a real batch.
    int64_t lout = -1;
    ASSERT_EQ(op.forward(&lout), Status::kOk) << op.message();
    EXPECT_EQ(lout, reference_output_length(real));
    EXPECT_EQ(op.output(), reference_forward(real)) << describe(real);
  }
}

// What an operator holds after create + set_weights stays within a small
// factor of its weights (issue 11: a 4 MB ConvTranspose1d with stride >= K
// held 430 MB, 104 bytes of plan per phase and up to 21 bytes of conv1d
// packing per weight byte). The guarantee: packed weights <= 4 bytes per
// weight element + 64 KiB; with the int8 copy, the per-output-channel
// vectors (scales, zero points, bias: at most 32 bytes each) and the phase
// cache, <= 5 * weights + 32 * outChannels + 80 KiB.
uint64_t memory_bound(const ConvParams& p) {
  return 5 * static_cast<uint64_t>(weight_count(p)) + 32 * static_cast<uint64_t>(p.out_channels) +
         (80 << 10);
}

// The operator's heap growth over create + set_weights (0 where malloc's
// count is not glibc's), and the operator (nullptr on failure).
size_t create_and_measure(const Case& c, qconv::Operator** op) {
  Error e;
  const size_t before = heap_bytes_in_use();
  *op = nullptr;
  if (qconv::create_operator(c.params, op, &e) != Status::kOk) {
    ADD_FAILURE() << describe(c) << ": " << e.message;
    return 0;
  }
  EXPECT_EQ(set_case_weights(*op, c, &e), Status::kOk) << e.message;
  const size_t after = heap_bytes_in_use();
  return after > before ? after - before : 0;
}

TEST(OperatorMemory, PackedWeightsStayWithinASmallFactorOfTheWeights) {
  Rng rng(424242);
  int checked_forwards = 0, stride_at_least_k = 0, many_phases = 0, dw = 0, tile = 0;
  int checked_many_phases = 0;
  for (int iter = 0; iter < 300; ++iter) {
    Case c;
    ConvParams& p = c.params;
    p.kind = irand(rng, 0, 4) == 0 ? OperatorKind::kConv1d : OperatorKind::kConvTranspose1d;
    const bool transposed = p.kind == OperatorKind::kConvTranspose1d;
    const int grouping = irand(rng, 0, 9);
    p.groups = grouping < 4 ? 1 : grouping < 7 ? irand(rng, 2, 8) : irand(rng, 16, 256);
    const int64_t cin_g = irand(rng, 0, 1) ? 1 : irand(rng, 0, 1) ? irand(rng, 1, 4) : irand(rng, 1, 64);
    const int64_t cout_g = irand(rng, 0, 9) < 7 ? irand(rng, 1, 9) : irand(rng, 1, 64);
    set_channels_per_group(&p, cin_g, cout_g);
    p.dilation = irand(rng, 1, 3);
    const int64_t target = int64_t{1} << irand(rng, 15, 20);  // weight elements
    p.kernel_size = std::max<int64_t>(1, std::min<int64_t>(target / (p.groups * cin_g * cout_g), 1 << 20));
    const int64_t K = p.kernel_size;
    const int draw = irand(rng, 0, 9);
    p.stride = draw < 3 ? K + irand(rng, 0, 5) : draw < 5 ? 2 * K : draw < 6 ? kernel_span(p) + 1
                                                                             : irand(rng, 1, 8);
    if (transposed) p.output_padding = irand(rng, 0, static_cast<int>(std::min<int64_t>(p.stride - 1, 3)));
    p.padding = irand(rng, 0, 2);
    c.weight.resize(static_cast<size_t>(weight_count(p)));
    for (size_t i = 0; i < c.weight.size(); ++i) c.weight[i] = static_cast<int8_t>(i * 2654435761u >> 24);
    c.per_channel = irand(rng, 0, 1);
    const size_t nq = c.per_channel ? static_cast<size_t>(p.out_channels) : 1;
    c.weight_scales.assign(nq, 0.01);
    c.weight_zero_points.assign(nq, 1);
    c.has_bias = true;
    c.bias.assign(static_cast<size_t>(p.out_channels), 0.5f);
    qconv::Operator* op = nullptr;
    const size_t grew = create_and_measure(c, &op);
    if (op == nullptr) continue;
    EXPECT_LE(grew, memory_bound(p)) << describe(c) << ": " << grew << " bytes for "
                                     << c.weight.size() << " weights";
    stride_at_least_k += transposed && p.stride >= K;
    // ConvTranspose1d phases: min(K, stride / gcd(dilation, stride)).
    const bool beyond_cache = transposed && std::min(K, p.stride / std::gcd(p.dilation, p.stride)) > 16;
    many_phases += beyond_cache;
    ++(std::string(qconv::kernel_path(op)) == "conv1d-4x8c2" ? tile : dw);
    qconv::delete_operator(op);
    // Short inputs where the output is small enough for the reference: the
    // phases beyond the cached ones, derived on the fly, give its bytes.
    c.batch = 1;
    c.length = transposed ? irand(rng, 1, 3) : kernel_span(p) + irand(rng, 0, 3);
    if (!transposed && c.length < 1) continue;
    const int64_t lout = reference_output_length(c);
    if (lout < 1 || p.out_channels * lout > (int64_t{1} << 20) ||
        double(weight_count(p)) * (transposed ? c.length : lout) > 2.5e5) {
      continue;
    }
    c.input = random_bytes(rng, p.in_channels * c.length);
    set_activation_qparams(&c, {0.05, 128}, {0.5, 100});
    const ApiResult got = run_api(c);
    ASSERT_EQ(got.status, Status::kOk) << describe(c) << ": " << got.message;
    EXPECT_EQ(got.output, reference_forward(c)) << describe(c);
    ++checked_forwards;
    checked_many_phases += beyond_cache;
  }
  EXPECT_GT(stride_at_least_k, 100);
  EXPECT_GT(many_phases, 60);
  EXPECT_GT(tile, 20);
  EXPECT_GT(dw, 100);
  EXPECT_GT(checked_forwards, 60);
  EXPECT_GT(checked_many_phases, 20);
  std::printf("%d with stride >= K, %d with more than 16 phases; %d tile, %d dwconv; %d forwards "
              "checked, %d of them with more than 16 phases\n",
              stride_at_least_k, many_phases, tile, dw, checked_forwards, checked_many_phases);
}

// The module: 4 MiB of weights, one channel, stride = K.
TEST(OperatorMemory, FourMegabyteUpsamplerWithStrideK) {
  Case c;
  c.params = make_params(OperatorKind::kConvTranspose1d, 1, 1, int64_t{1} << 22, int64_t{1} << 22);
  c.weight.assign(size_t{1} << 22, 3);
  c.weight_scales = {0.01};
  c.weight_zero_points = {0};
  qconv::Operator* op = nullptr;
  const size_t grew = create_and_measure(c, &op);
  ASSERT_NE(op, nullptr);
  EXPECT_LE(grew, memory_bound(c.params)) << grew << " bytes for 4 MiB of weights";
  qconv::delete_operator(op);
}

TEST(OperatorState, SecondReshapeOfTheSameShapeChangesNothing) {
  for (OperatorKind kind : kKinds) {
    TestOperator op(state_case(kind));
    const std::vector<uint8_t> expected = checked_forward(op);
    // Run again without any reshape.
    std::fill(op.output().begin(), op.output().end(), 0);
    ASSERT_EQ(op.run(), Status::kOk);
    EXPECT_EQ(op.output(), expected);
    // Reshape with the same shape and quantization, twice.
    for (int i = 0; i < 2; ++i) EXPECT_EQ(checked_forward(op), expected);
  }
}

TEST(OperatorState, OutputScaleChangeNeedsReshapeAndTakesEffect) {
  for (OperatorKind kind : kKinds) {
    TestOperator op(state_case(kind));
    const std::vector<uint8_t> before = checked_forward(op);
    ASSERT_EQ(op.set_output_quantization(0.07, op.current().output_zero_point), Status::kOk) << op.message();
    const std::vector<uint8_t> expected = reference_forward(op.current());
    ASSERT_NE(expected, before);  // the change is visible in this case
    // Without a reshape the run is refused and the output is not touched.
    std::fill(op.output().begin(), op.output().end(), 0xA5);
    EXPECT_NE(op.run(), Status::kOk);
    EXPECT_EQ(op.output(), std::vector<uint8_t>(op.output().size(), 0xA5));
    EXPECT_NE(qconv::setup(op.op(), op.current().input.data(), op.output().data()), Status::kOk);
    // After a reshape the new scale is used.
    ASSERT_EQ(op.forward(), Status::kOk) << op.message();
    EXPECT_EQ(op.output(), expected);
    // Setting the same scale again keeps the operator ready.
    ASSERT_EQ(op.set_output_quantization(0.07, op.current().output_zero_point), Status::kOk) << op.message();
    std::fill(op.output().begin(), op.output().end(), 0xA5);
    ASSERT_EQ(op.run(), Status::kOk);
    EXPECT_EQ(op.output(), expected);
  }
}

TEST(OperatorState, OutputZeroPointChangeIsNeverStale) {
  for (OperatorKind kind : kKinds) {
    TestOperator op(state_case(kind));
    const std::vector<uint8_t> before = checked_forward(op);
    ASSERT_EQ(op.set_output_quantization(op.current().output_scale, 17), Status::kOk) << op.message();
    const std::vector<uint8_t> expected = reference_forward(op.current());
    ASSERT_NE(expected, before);
    // A direct run either refuses or uses the new zero point.
    std::fill(op.output().begin(), op.output().end(), 0xA5);
    if (op.run() == Status::kOk) {
      EXPECT_EQ(op.output(), expected);
    }
    ASSERT_EQ(op.forward(), Status::kOk) << op.message();
    EXPECT_EQ(op.output(), expected);
  }
}

TEST(OperatorState, NewWeightsNeedReshapeAndTakeEffect) {
  for (OperatorKind kind : kKinds) {
    TestOperator op(state_case(kind));
    const std::vector<uint8_t> before = checked_forward(op);

    // New weights, per-tensor now, and no bias.
    Case& c = op.current();
    for (int8_t& w : c.weight) w = static_cast<int8_t>(-(w / 2) + 3);
    c.per_channel = false;
    c.weight_scales = {0.02};
    c.weight_zero_points = {-4};
    c.has_bias = false;
    c.bias.clear();
    ASSERT_EQ(op.set_weights(c), Status::kOk) << op.message();
    EXPECT_EQ(qconv::bias_data(op.op()), nullptr);
    const std::vector<uint8_t> expected = reference_forward(c);
    ASSERT_NE(expected, before);
    std::fill(op.output().begin(), op.output().end(), 0xA5);
    EXPECT_NE(op.run(), Status::kOk) << "run without reshape after set_weights";
    EXPECT_EQ(op.output(), std::vector<uint8_t>(op.output().size(), 0xA5));
    ASSERT_EQ(op.forward(), Status::kOk) << op.message();
    EXPECT_EQ(op.output(), expected);
  }
}

TEST(OperatorState, ReusedOperatorFollowsEveryChange) {
  // One operator per kind, many reshapes with new shapes, input
  // quantization, output quantization and weights: every result equals the
  // reference for the current state (no stale cached state, docs/SEMANTICS.md §6).
  Rng rng(31337);
  for (OperatorKind kind : kKinds) {
    TestOperator op(state_case(kind));
    ASSERT_EQ(op.status(), Status::kOk) << op.message();
    for (int step = 0; step < 120; ++step) {
      Case& c = op.current();
      switch (step % 4) {
        case 0:  // input quantization
          c.input_scale = log_uniform(rng, 1e-3, 1.0);
          c.input_zero_point = random_activation_zero_point(rng);
          break;
        case 1: {  // output quantization
          const double scale = log_uniform(rng, 1e-3, 1.0);
          ASSERT_EQ(op.set_output_quantization(scale, random_activation_zero_point(rng)), Status::kOk)
              << op.message();
          break;
        }
        case 2:  // shape
          c.batch = irand(rng, 0, 3);
          c.length = irand(rng, 4, 20);
          break;
        default:  // weights
          c.weight = random_weights(rng, static_cast<int64_t>(c.weight.size()));
          for (double& ws : c.weight_scales) ws = log_uniform(rng, 1e-3, 1e-1);
          for (double& zp : c.weight_zero_points) zp = irand(rng, -128, 127);
          c.has_bias = chance(rng, 0.7);
          c.bias.assign(c.has_bias ? 6 : 0, 0.0f);
          for (float& b : c.bias) b = static_cast<float>(log_uniform(rng, 1e-3, 10.0));
          ASSERT_EQ(op.set_weights(c), Status::kOk) << op.message();
          break;
      }
      c.input = random_activations(rng, c.batch * c.params.in_channels * c.length);
      c.requested_length = -1;
      if (kind == OperatorKind::kConvTranspose1d && chance(rng, 0.3)) {
        // outputSize accepts the smallest length and one more (stride 2).
        c.requested_length = transposed_min_output_length(c.params, c.length) + irand(rng, 0, 1);
      }
      int64_t expected_lout = -1, lout = -1;
      const std::vector<uint8_t> expected = reference_forward(c, &expected_lout);
      ASSERT_EQ(op.forward(&lout), Status::kOk) << "step " << step << ": " << op.message();
      EXPECT_EQ(lout, expected_lout) << "step " << step;
      ASSERT_EQ(op.output(), expected) << "step " << step << " " << describe(c);
    }
  }
}

TEST(OperatorState, AccessorsReturnWhatWasSet) {
  const Case c = state_case(OperatorKind::kConvTranspose1d);
  TestOperator op(c);
  ASSERT_EQ(op.status(), Status::kOk) << op.message();
  ASSERT_EQ(qconv::weight_size(op.op()), c.weight.size());
  EXPECT_TRUE(std::equal(c.weight.begin(), c.weight.end(), qconv::weight_data(op.op())));
  ASSERT_EQ(qconv::num_weight_qparams(op.op()), 6u);
  EXPECT_TRUE(std::equal(c.weight_scales.begin(), c.weight_scales.end(),
                         qconv::weight_scales(op.op())));
  EXPECT_TRUE(std::equal(c.weight_zero_points.begin(), c.weight_zero_points.end(),
                         qconv::weight_zero_points(op.op())));
  EXPECT_TRUE(qconv::weight_per_channel(op.op()));
  ASSERT_NE(qconv::bias_data(op.op()), nullptr);
  EXPECT_TRUE(std::equal(c.bias.begin(), c.bias.end(), qconv::bias_data(op.op())));
  EXPECT_EQ(qconv::output_scale(op.op()), 0.3);
  EXPECT_EQ(qconv::output_zero_point(op.op()), 90);
  EXPECT_EQ(qconv::operator_params(op.op()).groups, 2);
  const std::string flavour = qconv::kernel_flavour();
  EXPECT_TRUE(flavour == "scalar" || flavour == "wasmsimd") << flavour;
}

TEST(OperatorState, NewOperatorHasZeroWeightsAndBias) {
  // A fresh module: all-zero per-tensor weights (scale 1, zero point 0) and
  // a zero bias (or none). Every accumulator is 0, so every output is the
  // output zero point (set to 77 here).
  for (OperatorKind kind : kKinds) {
    for (bool bias : {true, false}) {
      Case c = state_case(kind);
      c.params.bias = bias;
      c.batch = 1;
      c.input_scale = 0.1;
      c.input_zero_point = 3;
      c.input.assign(36, 200);
      qconv::Operator* op = nullptr;
      Error e;
      ASSERT_EQ(qconv::create_operator(c.params, &op, &e), Status::kOk) << e.message;
      EXPECT_EQ(qconv::bias_data(op) != nullptr, bias);
      ASSERT_EQ(qconv::set_output_quantization(op, 0.5, 77, &e), Status::kOk);
      int64_t lout = 0;
      ASSERT_EQ(qconv::reshape(op, input_desc(c), -1, &lout, &e), Status::kOk) << e.message;
      std::vector<uint8_t> y(static_cast<size_t>(6 * lout), 0);
      ASSERT_EQ(qconv::setup(op, c.input.data(), y.data()), Status::kOk);
      ASSERT_EQ(qconv::run(op), Status::kOk);
      EXPECT_EQ(y, std::vector<uint8_t>(y.size(), 77));
      qconv::delete_operator(op);
    }
  }
}

}  // namespace
}  // namespace qconv_test
