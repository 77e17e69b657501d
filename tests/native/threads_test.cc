// run() on several threads gives the bytes of one thread (and of the naive
// reference), on shapes big enough to be split, for both ways of splitting:
// whole batch items per thread, and one item's preparation and tiles shared.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "qconv/qconv.h"
#include "reference.h"

namespace {

using qconv::OperatorKind;
using qconv::PaddingMode;
using qconv::Status;
using qconv_test::ApiResult;
using qconv_test::Case;

int irand(std::mt19937& rng, int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }

// A case of at least about 1M multiply-adds (the threshold for threads).
Case big_case(std::mt19937& rng) {
  for (;;) {
    Case c;
    qconv::ConvParams& p = c.params;
    p.kind = irand(rng, 0, 1) ? OperatorKind::kConv1d : OperatorKind::kConvTranspose1d;
    const bool transposed = p.kind == OperatorKind::kConvTranspose1d;
    const int shape = irand(rng, 0, 3);
    bool long_input = false;
    if (shape == 0) {  // depthwise or few channels per group: the dwconv1d path
      p.groups = irand(rng, 16, 200);
      p.in_channels = p.groups * irand(rng, 1, 2);
      p.out_channels = p.groups * irand(rng, 1, 3);
      long_input = true;
    } else {
      p.groups = shape == 1 ? irand(rng, 2, 4) : 1;
      p.in_channels = p.groups * irand(rng, 1, 40);
      p.out_channels = p.groups * irand(rng, 1, 70);
    }
    p.kernel_size = irand(rng, 1, 9);
    p.stride = irand(rng, 1, 5);
    p.dilation = irand(rng, 1, 3);
    p.padding = irand(rng, 0, 4);
    if (transposed) {
      const int64_t limit = std::max(p.stride, p.dilation);
      p.output_padding = irand(rng, 0, static_cast<int>(limit - 1));
    } else if (irand(rng, 0, 3) == 0) {
      p.padding_mode = PaddingMode::kReflect;
    }
    p.bias = irand(rng, 0, 4) != 0;
    c.batch = irand(rng, 0, 3) == 0 ? irand(rng, 2, 9) : 1;
    c.length = irand(rng, 16, long_input ? 4000 : 1500);
    const int64_t cin_g = p.in_channels / p.groups;
    const int64_t lout = qconv_test::reference_output_length(c);
    if (!transposed && (lout < 1 || (p.padding_mode == PaddingMode::kReflect && p.padding >= c.length))) continue;
    if (transposed && lout < 1) continue;
    const double macs = double(c.batch) * p.out_channels * cin_g * p.kernel_size * (transposed ? c.length : lout);
    if (macs < 1.2e6 || macs > 4e7) continue;
    c.weight.resize(static_cast<size_t>(qconv_test::weight_count(p)));
    for (auto& w : c.weight) w = static_cast<int8_t>(irand(rng, -128, 127));
    c.per_channel = irand(rng, 0, 1);
    const size_t nq = c.per_channel ? static_cast<size_t>(p.out_channels) : 1;
    for (size_t i = 0; i < nq; ++i) {
      c.weight_scales.push_back(std::ldexp(1.0 + irand(rng, 0, 1000) / 1000.0, -irand(rng, 7, 10)));
      c.weight_zero_points.push_back(irand(rng, -3, 3));
    }
    c.has_bias = p.bias;
    if (c.has_bias) {
      c.bias.resize(static_cast<size_t>(p.out_channels));
      for (auto& b : c.bias) b = std::uniform_real_distribution<float>(-3.0f, 3.0f)(rng);
    }
    c.input_scale = 0.02 + irand(rng, 0, 100) / 2000.0;
    c.input_zero_point = irand(rng, 0, 255);
    c.output_scale = 0.1 + irand(rng, 0, 100) / 100.0;
    c.output_zero_point = irand(rng, 0, 255);
    c.input.resize(static_cast<size_t>(c.batch * p.in_channels * c.length));
    for (auto& x : c.input) x = static_cast<uint8_t>(rng());
    return c;
  }
}

class Threads : public ::testing::Test {
 protected:
  void TearDown() override { ASSERT_EQ(qconv::set_num_threads(1, nullptr), Status::kOk); }
};

// QCONV_THREADS_TEST_CASES: fewer cases (npm test runs 30 under
// ThreadSanitizer, which is about 30 times slower).
int case_count() {
  const char* env = std::getenv("QCONV_THREADS_TEST_CASES");
  const int n = env ? std::atoi(env) : 0;
  return n > 0 ? n : 120;
}

TEST_F(Threads, SameBytesAsOneThreadAndTheReference) {
  ASSERT_TRUE(qconv::threads_supported());
  std::mt19937 rng(61125);
  int shared = 0, batch_items = 0, dw = 0, tile = 0, failures = 0;
  const int cases = case_count();
  for (int iter = 0; iter < cases && failures < 5; ++iter) {
    const Case c = big_case(rng);
    int64_t lout = -1;
    const std::vector<uint8_t> expected = qconv_test::reference_forward(c, &lout, nullptr);
    for (size_t threads : {1, 2, 3, 4}) {
      qconv::Error error;
      ASSERT_EQ(qconv::set_num_threads(threads, &error), Status::kOk) << error.message;
      ASSERT_EQ(qconv::num_threads(), threads);
      const ApiResult got = qconv_test::run_api(c);
      ASSERT_EQ(got.status, Status::kOk) << got.stage << ": " << got.message;
      if (threads == 1) {
        EXPECT_EQ(got.thread_plan.threads, 1u);
      } else {
        EXPECT_EQ(got.thread_plan.threads, threads) << "a case this big is split";
        ++(got.thread_plan.batch_items ? batch_items : shared);
        ++(got.kernel_path == "conv1d-4x8c2" ? tile : dw);
      }
      if (got.output != expected) {
        ++failures;
        ADD_FAILURE() << "case " << iter << " with " << threads << " threads (" << got.kernel_path
                      << (got.thread_plan.batch_items ? ", batch items" : ", shared tiles")
                      << ") differs from the reference";
      }
    }
  }
  EXPECT_EQ(failures, 0);
  // Both splits and both kernel paths ran threaded.
  // (3 threaded runs per case: 2, 3 and 4 threads.)
  EXPECT_GT(shared, cases * 100 / 120);
  EXPECT_GT(batch_items, cases * 20 / 120);
  EXPECT_GT(tile, cases * 100 / 120);
  EXPECT_GT(dw, cases * 20 / 120);
  std::printf("threaded runs: %d shared tiles, %d batch items; %d tile path, %d dwconv path\n", shared,
              batch_items, tile, dw);
}

// Output rows 256-byte multiples apart with several blocks: each thread
// writes its blocks through its own staging buffer.
TEST_F(Threads, StagedOutputBlocks) {
  struct Shape {
    OperatorKind kind;
    int64_t cin, cout, k, stride, padding, length, batch;
  };
  const Shape shapes[] = {
      {OperatorKind::kConvTranspose1d, 1, 64, 16, 8, 4, 2048, 1},  // Lout 16384
      {OperatorKind::kConvTranspose1d, 3, 40, 4, 2, 1, 4096, 1},   // Lout 8192
      {OperatorKind::kConv1d, 4, 64, 3, 1, 1, 2048, 1},            // Lout 2048
      {OperatorKind::kConv1d, 4, 64, 3, 1, 1, 2048, 6},            // batch items
  };
  std::mt19937 rng(7);
  for (const Shape& sh : shapes) {
    const Case c = qconv_test::dense_blocks_case(sh.kind, sh.cin, sh.cout, sh.k, sh.stride, sh.padding,
                                                 sh.length, sh.batch, rng);
    int64_t lout = -1;
    const std::vector<uint8_t> expected = qconv_test::reference_forward(c, &lout, nullptr);
    for (size_t threads : {2, 3}) {
      ASSERT_EQ(qconv::set_num_threads(threads, nullptr), Status::kOk);
      const ApiResult got = qconv_test::run_api(c);
      ASSERT_EQ(got.status, Status::kOk) << got.message;
      EXPECT_EQ(got.thread_plan.threads, threads);
      EXPECT_TRUE(got.thread_plan.staged_output) << "Lout " << lout;
      EXPECT_EQ(got.thread_plan.batch_items, sh.batch > 1);
      EXPECT_TRUE(got.output == expected) << "Lout " << lout << " on " << threads << " threads";
    }
  }
}

TEST_F(Threads, SmallRunsStayOnOneThread) {
  ASSERT_EQ(qconv::set_num_threads(2, nullptr), Status::kOk);
  Case c;
  c.params.kind = OperatorKind::kConvTranspose1d;
  c.params.in_channels = 16;
  c.params.out_channels = 16;
  c.params.kernel_size = 3;
  c.params.stride = 2;
  c.weight.assign(16 * 16 * 3, 1);
  c.weight_scales = {0.5};
  c.weight_zero_points = {0};
  c.length = 6;
  c.input.assign(16 * 6, 7);
  const ApiResult got = qconv_test::run_api(c);
  ASSERT_EQ(got.status, Status::kOk);
  EXPECT_EQ(got.thread_plan.threads, 1u);
  int64_t lout = -1;
  EXPECT_EQ(got.output, qconv_test::reference_forward(c, &lout, nullptr));
}

TEST_F(Threads, RejectsZeroThreads) {
  qconv::Error error;
  EXPECT_EQ(qconv::set_num_threads(0, &error), Status::kInvalidArgument);
  EXPECT_NE(error.message.find("numThreads"), std::string::npos) << error.message;
  EXPECT_EQ(qconv::num_threads(), 1u);
}

}  // namespace
