// A failed call leaves the operator as it was (qconv.h): after any refused
// reshape, setup, set_weights or set_output_quantization the last plan
// still runs and gives the same bytes, without a new reshape. Allocation
// failures are injected one allocation after another (heap.h), so every
// failure path of a growing reshape, set_weights and create is walked.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "harness.h"
#include "heap.h"

namespace qconv_test {
namespace {

using qconv::Operator;

// A case of module p (dense_blocks_case's data) with per-channel weight
// qparams, so that every channel requantizes with its own scale.
Case make_case(const ConvParams& p, int64_t batch, int64_t length, Rng& rng) {
  Case c = dense_blocks_case(p, length, batch, rng);
  c.per_channel = true;
  c.weight_scales.clear();
  c.weight_zero_points.clear();
  for (int64_t co = 0; co < p.out_channels; ++co) {
    c.weight_scales.push_back(log_uniform(rng, 0.002, 0.02));
    c.weight_zero_points.push_back(irand(rng, -5, 5));
  }
  return c;
}

ConvParams grouped(ConvParams p, int64_t groups, PaddingMode mode = PaddingMode::kZeros) {
  p.groups = groups;
  p.padding_mode = mode;
  return p;
}

// The modules: both kernel paths, both operators.
std::vector<ConvParams> modules() {
  return {
      make_params(OperatorKind::kConvTranspose1d, 16, 16, 4, 2, 1),                // conv1d tile
      grouped(make_params(OperatorKind::kConvTranspose1d, 8, 8, 16, 8, 4), 8),     // depthwise upsampler
      make_params(OperatorKind::kConv1d, 12, 24, 3, 2, 1),                         // conv1d tile
      grouped(make_params(OperatorKind::kConv1d, 4, 4, 3, 1, 1), 4, PaddingMode::kReflect),  // depthwise
  };
}

// An operator with a case's weights and output quantization.
Operator* create_for(const Case& c) {
  ApiResult r;
  Operator* op = create_configured(c, &r);
  EXPECT_NE(op, nullptr) << r.stage << ": " << r.message;
  return op;
}

// run() again on the buffers bound last (output refilled so that stale
// bytes would show).
std::vector<uint8_t> run_bound(Operator* op, std::vector<uint8_t>* output) {
  std::fill(output->begin(), output->end(), 0xA5);
  EXPECT_EQ(qconv::run(op), Status::kOk);
  return *output;
}

// A module's first forward: case a, the reference's bytes, and an operator
// reshaped, bound to a's input and `output`, and run once.
struct FirstForward {
  Case a;
  std::vector<uint8_t> expected;
  std::vector<uint8_t> output;
  Operator* op = nullptr;
  ~FirstForward() { qconv::delete_operator(op); }
};

// Runs body(first, rng) for each module after its first forward gave the
// reference's bytes (a test failure otherwise).
template <typename Body>
void for_each_module(uint32_t seed, Body body) {
  Rng rng(seed);
  for (const ConvParams& params : modules()) {
    FirstForward f;
    f.a = make_case(params, 2, 40, rng);
    SCOPED_TRACE(describe(f.a));
    f.expected = reference_forward(f.a);
    f.output.assign(f.expected.size(), 0);
    f.op = create_for(f.a);
    if (f.op == nullptr) return;
    Error error;
    int64_t lout = 0;
    if (qconv::reshape(f.op, input_desc(f.a), -1, &lout, &error) != Status::kOk ||
        qconv::setup(f.op, f.a.input.data(), f.output.data()) != Status::kOk ||
        run_bound(f.op, &f.output) != f.expected) {
      ADD_FAILURE() << "the first forward failed: " << error.message;
      return;
    }
    body(f, rng);
  }
}

// Values a caller may pass that reshape must refuse.
std::vector<std::pair<const char*, InputDesc>> refused_inputs(const Case& c) {
  std::vector<std::pair<const char*, InputDesc>> refused;
  auto with = [&](const char* what, auto change) {
    InputDesc in = input_desc(c);
    change(in);
    refused.emplace_back(what, in);
  };
  with("channels", [](InputDesc& in) { ++in.channels; });
  with("batch -1", [](InputDesc& in) { in.batch = -1; });
  with("length 0", [](InputDesc& in) { in.length = 0; });
  with("scale -1", [](InputDesc& in) { in.scale = -1; });
  with("scale NaN", [](InputDesc& in) { in.scale = std::nan(""); });
  with("zeroPoint 256", [](InputDesc& in) { in.zero_point = 256; });
  with("zeroPoint 1.5", [](InputDesc& in) { in.zero_point = 1.5; });
  // Passes the input checks; the bias scale (weight scale * 1e-37) is subnormal.
  with("requantization", [](InputDesc& in) { in.scale = 1e-37; });
  // Beyond 2 GiB of input.
  with("too large", [](InputDesc& in) { in.batch = int64_t{1} << 40; });
  return refused;
}

class FailedCalls : public ::testing::TestWithParam<size_t> {
 protected:
  void SetUp() override {
    threads_ = GetParam();
    if (threads_ > 1 && !qconv::threads_supported()) GTEST_SKIP() << "no thread support";
    Error error;
    ASSERT_EQ(qconv::set_num_threads(threads_, &error), Status::kOk) << error.message;
    qconv::set_min_parallel_work(0);  // split even these small runs
  }
  void TearDown() override {
    qconv::fail_allocations_after(-1);
    Error error;
    qconv::set_num_threads(1, &error);
    qconv::set_min_parallel_work(uint64_t{1} << 20);
  }
  size_t threads_ = 1;
};

TEST_P(FailedCalls, RefusedReshapeLeavesTheLastPlanRunnable) {
  for_each_module(2026, [](FirstForward& f, Rng&) {
    const Case& a = f.a;
    const ConvParams& params = a.params;
    Operator* op = f.op;
    const std::vector<uint8_t>& expected = f.expected;
    std::vector<uint8_t>& output = f.output;
    Error error;
    int64_t lout = 0;
    ASSERT_EQ(qconv::compute_output_length(op, a.length, -1, &lout, &error), Status::kOk);

    for (const auto& [what, in] : refused_inputs(a)) {
      error.message.clear();
      int64_t refused_lout = -7;
      EXPECT_NE(qconv::reshape(op, in, -1, &refused_lout, &error), Status::kOk) << what;
      EXPECT_FALSE(error.message.empty()) << what;
      EXPECT_EQ(refused_lout, -7) << what << ": the output length was written";
      EXPECT_EQ(run_bound(op, &output), expected) << what << ": run() after the refusal";
      ASSERT_EQ(qconv::setup(op, a.input.data(), output.data()), Status::kOk) << what;
      EXPECT_EQ(run_bound(op, &output), expected) << what << ": setup() + run() after the refusal";
    }
    if (params.kind == OperatorKind::kConvTranspose1d) {
      EXPECT_NE(qconv::reshape(op, input_desc(a), lout + params.stride, &lout, &error), Status::kOk);
      EXPECT_EQ(run_bound(op, &output), expected) << "after a refused outputSize";
    } else {
      EXPECT_NE(qconv::reshape(op, input_desc(a), lout, &lout, &error), Status::kOk);
      EXPECT_EQ(run_bound(op, &output), expected) << "after an outputSize given to Conv1d";
    }
  });
}

// A larger shape fails at its first, second, ... allocation until it fits;
// after each failure the last plan runs unchanged, and the shape that
// finally fits gives the reference's bytes.
TEST_P(FailedCalls, ReshapeThatRunsOutOfMemoryLeavesTheLastPlanRunnable) {
  for_each_module(11, [](FirstForward& f, Rng& rng) {
    const Case& a = f.a;
    const ConvParams& params = a.params;
    Operator* op = f.op;
    const std::vector<uint8_t>& expected_a = f.expected;
    std::vector<uint8_t>& output_a = f.output;
    Case b = a;
    b.batch = 4;
    b.length = 700;  // 256-multiple outputs for the stride-2 upsampler: staging too
    b.input = random_bytes(rng, b.batch * params.in_channels * b.length);
    SCOPED_TRACE(describe(b));
    const std::vector<uint8_t> expected_b = reference_forward(b);
    Error error;
    int64_t lout = 0;

    int failures = 0;
    for (int64_t allowed = 0;; ++allowed) {
      ASSERT_LT(allowed, 10) << "reshape kept failing";
      qconv::fail_allocations_after(allowed);
      const Status status = qconv::reshape(op, input_desc(b), -1, &lout, &error);
      qconv::fail_allocations_after(-1);
      if (status == Status::kOk) break;
      ++failures;
      EXPECT_EQ(status, Status::kOutOfMemory);
      EXPECT_NE(error.message.find("out of memory"), std::string::npos) << error.message;
      EXPECT_EQ(run_bound(op, &output_a), expected_a) << "after failing at allocation " << allowed;
    }
    EXPECT_GE(failures, 1) << "the larger shape allocated nothing";
    std::vector<uint8_t> output_b(expected_b.size());
    ASSERT_EQ(qconv::setup(op, b.input.data(), output_b.data()), Status::kOk);
    EXPECT_EQ(run_bound(op, &output_b), expected_b);
  });
}

TEST_P(FailedCalls, RefusedSetupSetWeightsAndOutputQuantizationChangeNothing) {
  for_each_module(5, [](FirstForward& f, Rng&) {
    const Case& a = f.a;
    Operator* op = f.op;
    const std::vector<uint8_t>& expected = f.expected;
    std::vector<uint8_t>& output = f.output;
    Error error;

    EXPECT_EQ(qconv::setup(op, nullptr, output.data()), Status::kInvalidArgument);
    EXPECT_EQ(qconv::setup(op, a.input.data(), nullptr), Status::kInvalidArgument);
    EXPECT_EQ(run_bound(op, &output), expected) << "after a refused setup";

    qconv::WeightDesc short_weight = weight_desc(a);
    --short_weight.size;
    EXPECT_EQ(qconv::set_weights(op, short_weight, a.bias.data(), a.bias.size(), &error),
              Status::kInvalidArgument);
    qconv::WeightDesc bad_scale = weight_desc(a);
    std::vector<double> scales = a.weight_scales;
    scales.back() = -1;
    bad_scale.scales = scales.data();
    EXPECT_EQ(qconv::set_weights(op, bad_scale, a.bias.data(), a.bias.size(), &error),
              Status::kInvalidArgument);
    for (int64_t allowed = 0; allowed < 4; ++allowed) {
      qconv::fail_allocations_after(allowed);
      EXPECT_EQ(qconv::set_weights(op, weight_desc(a), a.bias.data(), a.bias.size(), &error),
                Status::kOutOfMemory)
          << "allowed " << allowed;
      qconv::fail_allocations_after(-1);
    }
    EXPECT_EQ(qconv::set_output_quantization(op, 0, 3, &error), Status::kInvalidArgument);
    EXPECT_EQ(qconv::set_output_quantization(op, 0.5, 256, &error), Status::kInvalidArgument);
    EXPECT_EQ(run_bound(op, &output), expected) << "after refused weights and quantization";
  });
}

// create_operator failing at each of its allocations returns no operator
// (ASan and LeakSanitizer check that nothing leaks).
TEST_P(FailedCalls, CreateThatRunsOutOfMemoryReturnsNothing) {
  for (const ConvParams& params : modules()) {
    for (int64_t allowed = 0;; ++allowed) {
      ASSERT_LT(allowed, 20);
      Operator* op = reinterpret_cast<Operator*>(&allowed);
      Error error;
      qconv::fail_allocations_after(allowed);
      const Status status = qconv::create_operator(params, &op, &error);
      qconv::fail_allocations_after(-1);
      if (status == Status::kOk) {
        ASSERT_NE(op, nullptr);
        qconv::delete_operator(op);
        EXPECT_GE(allowed, 1);
        break;
      }
      EXPECT_EQ(status, Status::kOutOfMemory);
      EXPECT_EQ(op, nullptr);
      EXPECT_NE(error.message.find("out of memory"), std::string::npos) << error.message;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Threads, FailedCalls, ::testing::Values(size_t{1}, size_t{2}),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           return std::to_string(info.param) + "Thread" + (info.param > 1 ? "s" : "");
                         });

}  // namespace
}  // namespace qconv_test
