// The depthwise path (few channels per group) against the naive reference
// over the configurations it serves: Conv1d and ConvTranspose1d, strides
// 1-4 (stride 2 with two phases takes the 2x8c2 kernel, the others the 16x1
// one), dilation, padding, output padding, lengths from 1 (shorter than any
// vector) up, odd and even, one or two input channels per group, fused ReLU,
// both backends. (Threads: tests/native/threads_test.cc.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "harness.h"

namespace qconv_test {
namespace {

// A depthwise case with random per-tensor or per-channel weights and
// zero points drawn anywhere in [0, 255].
Case depthwise_case(OperatorKind kind, int64_t groups, int64_t cin_g, int64_t cout_g, int64_t k,
                    int64_t stride, int64_t dilation, int64_t padding, int64_t output_padding,
                    int64_t length, Rng& rng) {
  ConvParams p = make_params(kind, groups * cin_g, groups * cout_g, k, stride, padding);
  p.groups = groups;
  p.dilation = dilation;
  p.output_padding = output_padding;
  Case c = dense_blocks_case(p, length, irand(rng, 1, 2), rng);
  if (chance(rng, 0.5)) {
    c.per_channel = true;
    c.weight_scales.clear();
    c.weight_zero_points.clear();
    for (int64_t i = 0; i < p.out_channels; ++i) {
      c.weight_scales.push_back(0.005 + 0.001 * irand(rng, 0, 10));
      c.weight_zero_points.push_back(irand(rng, -5, 5));
    }
  }
  set_activation_qparams(&c, {0.02, random_activation_zero_point(rng)},
                         {0.03 + 0.01 * irand(rng, 0, 5), random_activation_zero_point(rng)});
  return c;
}

// create, set_weights, output quantization, fused ReLU, then forward.
ApiResult run_with_relu(const Case& c, Backend backend, bool relu) {
  ApiResult r;
  qconv::Operator* op = create_configured(c, &r);
  if (op == nullptr) return r;
  qconv::set_fused_relu(op, relu);
  forward(op, c, backend, &r);
  qconv::delete_operator(op);
  return r;
}

std::vector<uint8_t> relu_of(std::vector<uint8_t> y, int32_t zero_point) {
  for (auto& v : y) v = std::max<uint8_t>(v, static_cast<uint8_t>(zero_point));
  return y;
}

TEST(Depthwise, EveryStrideDilationPaddingAndLengthMatchesReference) {
  Rng rng(1515);
  int cases = 0, pair_kernel = 0, other_kernel = 0, failures = 0;
  for (OperatorKind kind : {OperatorKind::kConvTranspose1d, OperatorKind::kConv1d}) {
    for (int64_t stride = 1; stride <= 4; ++stride) {
      for (int64_t k : {1, 2, 3, 4, 5, 8}) {
        for (int64_t dilation : {1, 2, 3}) {
          for (int64_t padding : {0, 1, 2}) {
            for (int64_t length : {1, 2, 3, 8, 17, 33}) {
              const bool transposed = kind == OperatorKind::kConvTranspose1d;
              const int64_t output_padding =
                  transposed && std::max(stride, dilation) > 1 ? irand(rng, 0, std::max(stride, dilation) - 1) : 0;
              const bool two_in = chance(rng, 0.3);
              Case c = depthwise_case(kind, irand(rng, 1, 3), two_in ? 2 : 1, irand(rng, 1, 3), k, stride,
                                      dilation, padding, output_padding, length, rng);
              if (reference_output_length(c) <= 0) continue;
              int64_t lout = -1;
              const std::vector<uint8_t> plain = reference_forward(c, &lout, nullptr);
              const bool relu = chance(rng, 0.3);
              const std::vector<uint8_t> expected = relu ? relu_of(plain, c.output_zero_point) : plain;
              ++cases;
              for (Backend backend : {Backend::kDefault, Backend::kScalar}) {
                const ApiResult got = run_with_relu(c, backend, relu);
                ASSERT_EQ(got.status, Status::kOk) << describe(c) << ": " << got.message;
                if (backend == Backend::kDefault) {
                  ++(got.kernel_path == "dwconv1d-2x8c2" ? pair_kernel : other_kernel);
                }
                if (got.output != expected) {
                  ADD_FAILURE() << describe(c) << (relu ? " relu" : "") << " (" << got.kernel_path
                                << (backend == Backend::kScalar ? ", scalar" : "") << "): first difference at "
                                << first_difference(got.output, expected) << " of " << expected.size();
                  if (++failures > 10) return;
                }
              }
            }
          }
        }
      }
    }
  }
  EXPECT_GT(cases, 2000);
  EXPECT_GT(pair_kernel, 150);
  EXPECT_GT(other_kernel, 1000);
  std::printf("depthwise cases: %d (2x8c2 %d, other %d)\n", cases, pair_kernel, other_kernel);
}

// Long rows: several 16-output steps, both alignments of the phases (padding
// even and odd), K = 3 (2 taps and 1), K = 4, K = 6 (two tap pairs).
TEST(Depthwise, LongStrideTwoRowsMatchReference) {
  Rng rng(77);
  for (int64_t k : {2, 3, 4, 6}) {
    for (int64_t padding : {0, 1, 2, 3}) {
      for (int64_t length : {255, 256, 257, 1000}) {
        if (padding >= k) continue;
        const Case c = depthwise_case(OperatorKind::kConvTranspose1d, 5, 1, 1, k, 2, 1, padding,
                                      irand(rng, 0, 1), length, rng);
        int64_t lout = -1;
        const std::vector<uint8_t> expected = reference_forward(c, &lout, nullptr);
        for (Backend backend : {Backend::kDefault, Backend::kScalar}) {
          const ApiResult got = run_with_relu(c, backend, false);
          ASSERT_EQ(got.status, Status::kOk) << got.message;
          EXPECT_EQ(got.kernel_path, "dwconv1d-2x8c2");
          EXPECT_TRUE(got.output == expected)
              << describe(c) << ": first difference at " << first_difference(got.output, expected);
        }
      }
    }
  }
}

}  // namespace
}  // namespace qconv_test
