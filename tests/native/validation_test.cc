// Validation through the public API (docs/SEMANTICS.md §0, "Rejected with a
// clear error"): every rule the core checks returns kInvalidArgument (or
// kOutOfMemory for sizes beyond 2 GiB) with a message naming the argument
// and its value, and a failed call leaves the operator producing the same
// output as before.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "harness.h"

namespace qconv_test {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

#define EXPECT_MESSAGE_HAS(needle, message) \
  EXPECT_PRED_FORMAT2(::testing::IsSubstring, std::string(needle), message)

// ConvTranspose1d(2 -> 4, K 3, stride 2, padding 1, outputPadding 1,
// groups 2), per-tensor weights, bias; input [2, 2, 5].
Case known_transposed() {
  Case c;
  c.params = make_params(OperatorKind::kConvTranspose1d, 2, 4, 3, 2, 1);
  c.params.output_padding = 1;
  c.params.groups = 2;
  c.weight = {5, -7, 12, 100, -128, 127, 3, 0, -50, 77, 9, -1};  // [2, 2, 3]
  c.weight_scales = {0.05};
  c.weight_zero_points = {3};
  c.has_bias = true;
  c.bias = {0.3f, -0.2f, 1.0f, 0.05f};
  set_activation_qparams(&c, {0.1, 100}, {0.2, 120});
  c.batch = 2;
  c.length = 5;
  for (int i = 0; i < 2 * 2 * 5; ++i) c.input.push_back(static_cast<uint8_t>((i * 37 + 11) % 256));
  return c;
}

// Conv1d(2 -> 2, K 3, padding 1, reflect), per-channel weights, bias; input [1, 2, 4].
Case known_conv() {
  Case c;
  c.params = make_params(OperatorKind::kConv1d, 2, 2, 3, 1, 1);
  c.params.padding_mode = PaddingMode::kReflect;
  c.weight = {1, -2, 3, 40, -50, 60, -7, 8, -9, 100, 110, -120};  // [2, 2, 3]
  c.weight_scales = {0.02, 0.03};
  c.weight_zero_points = {0, -5};
  c.per_channel = true;
  c.has_bias = true;
  c.bias = {0.5f, -0.25f};
  set_activation_qparams(&c, {0.04, 7}, {0.05, 128});
  c.length = 4;
  c.input = {0, 50, 100, 255, 9, 7, 3, 200};
  return c;
}

// known_conv with another kernel size, its weights all w.
Case known_conv_with_kernel(int64_t kernel_size, int8_t w) {
  Case c = known_conv();
  c.params.kernel_size = kernel_size;
  c.weight.assign(static_cast<size_t>(weight_count(c.params)), w);
  return c;
}

// An operator configured from a Case, with the output of the case as a
// baseline, and a check that the operator still produces it.
class Harness {
 public:
  explicit Harness(const Case& c) : op_(c) {
    EXPECT_EQ(op_.status(), Status::kOk) << op_.message();
    baseline_ = reference_forward(c, &lout_);
    EXPECT_FALSE(baseline_.empty());
    forward_and_compare();
  }

  qconv::Operator* op() { return op_.op(); }
  const Case& known() const { return op_.current(); }
  InputDesc input_desc() const { return qconv_test::input_desc(known()); }
  // The known input with one change.
  InputDesc with_length(int64_t length) const {
    InputDesc in = input_desc();
    in.length = length;
    return in;
  }
  InputDesc with_scale(double scale) const {
    InputDesc in = input_desc();
    in.scale = scale;
    return in;
  }

  // After a failed call: the operator's output is unchanged.
  // `may_need_reshape`: the failed call was a reshape, which supersedes the
  // previous shape; a direct run must then either refuse or give the
  // baseline, never anything else. Otherwise a direct run (no new reshape)
  // must succeed and give the baseline.
  void expect_unchanged(bool may_need_reshape) {
    std::vector<uint8_t>& output = op_.output();
    std::fill(output.begin(), output.end(), 0xA5);
    const Status st = op_.run();
    if (may_need_reshape) {
      if (st == Status::kOk) {
        EXPECT_EQ(output, baseline_) << "direct run after a failed reshape";
      }
    } else {
      EXPECT_EQ(st, Status::kOk) << "direct run after a failed non-reshape call";
      EXPECT_EQ(output, baseline_) << "direct run after a failed call";
    }
    forward_and_compare();
    EXPECT_EQ(qconv::output_scale(op()), known().output_scale);
    EXPECT_EQ(qconv::output_zero_point(op()), known().output_zero_point);
    EXPECT_EQ(qconv::weight_size(op()), known().weight.size());
    EXPECT_EQ(qconv::weight_per_channel(op()), known().per_channel);
    EXPECT_EQ(qconv::num_weight_qparams(op()), known().weight_scales.size());
    EXPECT_EQ(qconv::bias_data(op()) != nullptr, known().has_bias);
  }

 private:
  void forward_and_compare() {
    int64_t lout = -1;
    ASSERT_EQ(op_.forward(&lout), Status::kOk) << op_.message();
    ASSERT_EQ(lout, lout_);
    EXPECT_EQ(op_.output(), baseline_);
  }

  TestOperator op_;
  std::vector<uint8_t> baseline_;
  int64_t lout_ = 0;
};

ConvParams base_params(OperatorKind kind) {
  ConvParams p = make_params(kind, 4, 4, 3, 2, 1);
  p.output_padding = kind == OperatorKind::kConvTranspose1d ? 1 : 0;
  p.groups = 2;
  return p;
}

std::string prefix(OperatorKind kind) {
  return kind == OperatorKind::kConv1d ? "Conv1d: " : "ConvTranspose1d: ";
}

// create_operator must fail with `want`, a null operator, and a message
// starting with the module name and containing every needle.
void expect_create_fails(const ConvParams& p, Status want, const std::vector<std::string>& needles) {
  Error e;
  qconv::Operator* op = reinterpret_cast<qconv::Operator*>(&e);  // must be overwritten
  const Status st = qconv::create_operator(p, &op, &e);
  EXPECT_EQ(st, want);
  EXPECT_EQ(op, nullptr);
  if (st == Status::kOk && op != nullptr) qconv::delete_operator(op);
  EXPECT_EQ(e.message.rfind(prefix(p.kind), 0), 0u) << e.message;
  for (const std::string& n : needles) EXPECT_MESSAGE_HAS(n, e.message);
}

void expect_create_ok(const ConvParams& p) {
  Error e;
  qconv::Operator* op = nullptr;
  EXPECT_EQ(qconv::create_operator(p, &op, &e), Status::kOk) << e.message;
  EXPECT_NE(op, nullptr);
  qconv::delete_operator(op);
}

// ---------------------------------------------------------------------------
// create_operator

TEST(CreateValidation, KnownCasesAreValid) {
  // The harness itself checks the operator against the naive reference.
  Harness t(known_transposed());
  Harness c(known_conv());
  expect_create_ok(base_params(OperatorKind::kConvTranspose1d));
  expect_create_ok(base_params(OperatorKind::kConv1d));
}

TEST(CreateValidation, SizeArgumentsBelowTheirMinimum) {
  struct Rule {
    const char* name;
    std::function<void(ConvParams&, int64_t)> set;
    int64_t bad_values[2];
  };
  const std::vector<Rule> rules = {
      {"inChannels", [](ConvParams& p, int64_t v) { p.in_channels = v; }, {0, -4}},
      {"outChannels", [](ConvParams& p, int64_t v) { p.out_channels = v; }, {0, -1}},
      {"kernelSize", [](ConvParams& p, int64_t v) { p.kernel_size = v; }, {0, -3}},
      {"stride", [](ConvParams& p, int64_t v) { p.stride = v; }, {0, -2}},
      {"dilation", [](ConvParams& p, int64_t v) { p.dilation = v; }, {0, -1}},
      {"groups", [](ConvParams& p, int64_t v) { p.groups = v; }, {0, -2}},
      {"padding", [](ConvParams& p, int64_t v) { p.padding = v; }, {-1, -100}},
      {"outputPadding", [](ConvParams& p, int64_t v) { p.output_padding = v; }, {-1, -7}},
  };
  for (OperatorKind kind : {OperatorKind::kConvTranspose1d, OperatorKind::kConv1d}) {
    for (const Rule& r : rules) {
      if (kind == OperatorKind::kConv1d && std::string(r.name) == "outputPadding") continue;
      for (int64_t v : r.bad_values) {
        SCOPED_TRACE(prefix(kind) + r.name + " = " + std::to_string(v));
        ConvParams p = base_params(kind);
        r.set(p, v);
        const int64_t minimum =
            (std::string(r.name) == "padding" || std::string(r.name) == "outputPadding") ? 0 : 1;
        expect_create_fails(p, Status::kInvalidArgument,
                            {std::string(r.name) + " (" + std::to_string(v) + ")",
                             ">= " + std::to_string(minimum)});
      }
    }
  }
  // And the boundary values themselves are fine: padding 0, stride 1, ...
  ConvParams p = base_params(OperatorKind::kConvTranspose1d);
  p.padding = 0;
  p.stride = 1;
  p.output_padding = 0;
  p.in_channels = p.out_channels = p.groups = 1;
  p.kernel_size = 1;
  expect_create_ok(p);
}

TEST(CreateValidation, SizesBeyondInt32) {
  ConvParams p = base_params(OperatorKind::kConvTranspose1d);
  p.stride = int64_t{1} << 31;
  expect_create_fails(p, Status::kInvalidArgument, {"stride (2147483648)", "2147483647"});
  p = base_params(OperatorKind::kConv1d);
  p.padding = int64_t{1} << 40;
  expect_create_fails(p, Status::kInvalidArgument, {"padding (1099511627776)"});
}

TEST(CreateValidation, GroupsMustDivideBothChannelCounts) {
  for (OperatorKind kind : {OperatorKind::kConvTranspose1d, OperatorKind::kConv1d}) {
    ConvParams p = base_params(kind);
    p.groups = 3;  // divides neither 4 nor 4
    expect_create_fails(p, Status::kInvalidArgument,
                        {"groups (3) must divide inChannels (4) and outChannels (4)"});
    p = base_params(kind);
    p.out_channels = 6;
    p.groups = 4;  // divides inChannels 4, not outChannels 6
    expect_create_fails(p, Status::kInvalidArgument, {"groups (4)", "outChannels (6)"});
    p = base_params(kind);
    p.in_channels = 6;
    p.out_channels = 3;
    p.groups = 3;  // divides 3 and 6: fine
    expect_create_ok(p);
    p.in_channels = 5;  // 5 % 3 != 0
    expect_create_fails(p, Status::kInvalidArgument, {"groups (3)", "inChannels (5)"});
  }
}

TEST(CreateValidation, OutputPaddingMustBeBelowMaxOfStrideAndDilation) {
  ConvParams p = base_params(OperatorKind::kConvTranspose1d);
  p.stride = 2;
  p.dilation = 1;
  p.output_padding = 2;
  Error e;
  qconv::Operator* op = nullptr;
  EXPECT_EQ(qconv::create_operator(p, &op, &e), Status::kInvalidArgument);
  EXPECT_EQ(e.message, "ConvTranspose1d: outputPadding (2) must be smaller than stride (2) or dilation (1)");
  p.output_padding = 1;  // < 2
  expect_create_ok(p);
  // max(stride, dilation) = 3 from the dilation.
  p.stride = 1;
  p.dilation = 3;
  p.output_padding = 2;
  expect_create_ok(p);
  p.output_padding = 3;
  expect_create_fails(p, Status::kInvalidArgument,
                      {"outputPadding (3) must be smaller than stride (1) or dilation (3)"});
  p.stride = 1;
  p.dilation = 1;
  p.output_padding = 1;
  expect_create_fails(p, Status::kInvalidArgument, {"outputPadding (1)"});
  // Conv1d has no outputPadding at all.
  ConvParams c = base_params(OperatorKind::kConv1d);
  c.output_padding = 1;
  expect_create_fails(c, Status::kInvalidArgument, {"outputPadding (1)", "Conv1d"});
}

TEST(CreateValidation, ReflectPaddingOnlyForConv1d) {
  ConvParams p = base_params(OperatorKind::kConvTranspose1d);
  p.padding_mode = PaddingMode::kReflect;
  expect_create_fails(p, Status::kInvalidArgument, {"paddingMode", "'zeros'"});
  ConvParams c = base_params(OperatorKind::kConv1d);
  c.padding_mode = PaddingMode::kReflect;
  expect_create_ok(c);
}

TEST(CreateValidation, SamePaddingAndPaddingRight) {
  // 'same' needs stride 1 (PyTorch: not supported for strided convolutions).
  ConvParams c = base_params(OperatorKind::kConv1d);  // stride 2
  c.padding_same = true;
  Error e;
  qconv::Operator* op = nullptr;
  EXPECT_EQ(qconv::create_operator(c, &op, &e), Status::kInvalidArgument);
  EXPECT_EQ(e.message,
            "Conv1d: stride (2) must be 1 with padding 'same' (PyTorch does not support "
            "padding='same' for strided convolutions)");
  c.stride = 1;
  c.padding = -5;  // replaced by the resolved split: no error
  expect_create_ok(c);
  // ConvTranspose1d takes neither.
  ConvParams t = base_params(OperatorKind::kConvTranspose1d);
  t.padding_same = true;
  expect_create_fails(t, Status::kInvalidArgument, {"padding 'same' is a Conv1d option"});
  t.padding_same = false;
  t.padding_right = 1;
  expect_create_fails(t, Status::kInvalidArgument, {"paddingRight (1)", "not a ConvTranspose1d parameter"});
  // paddingRight: -1 (as padding) or in [0, 2^31 - 1].
  c = base_params(OperatorKind::kConv1d);
  for (int64_t bad : {int64_t{-2}, int64_t{-100}, int64_t{1} << 31}) {
    c.padding_right = bad;
    expect_create_fails(c, Status::kInvalidArgument,
                        {"paddingRight (" + std::to_string(bad) + ")", "-1 for as much as padding"});
  }
  c.padding_right = 0;
  expect_create_ok(c);
}

TEST(CreateValidation, HugeWeightsAreOutOfMemory) {
  ConvParams p = base_params(OperatorKind::kConvTranspose1d);
  p.in_channels = 100000;
  p.out_channels = 100000;
  p.kernel_size = 100;
  p.groups = 1;
  p.output_padding = 0;
  expect_create_fails(p, Status::kOutOfMemory, {"[100000, 100000, 100]", "2 GiB"});
  ConvParams c = base_params(OperatorKind::kConv1d);
  c.in_channels = 100000;
  c.out_channels = 100000;
  c.kernel_size = 100;
  c.groups = 1;
  expect_create_fails(c, Status::kOutOfMemory, {"[100000, 100000, 100]", "2 GiB"});
  // Just over the limit: 715827883 weights * 3 bytes = 2147483649 > 2^31.
  c.in_channels = c.out_channels = 1;
  c.kernel_size = 715827883;
  expect_create_fails(c, Status::kOutOfMemory, {"[1, 1, 715827883]", "2147483649 bytes"});
}

// ---------------------------------------------------------------------------
// set_weights

struct WeightFailure {
  std::string what;
  std::function<void(Case&)> mutate;
  std::vector<std::string> needles;
};

void check_weight_failures(const Case& known, const std::vector<WeightFailure>& failures) {
  Harness h(known);
  for (const WeightFailure& f : failures) {
    SCOPED_TRACE(f.what);
    Case c = known;
    f.mutate(c);
    Error e;
    const Status st = set_case_weights(h.op(), c, &e);
    EXPECT_EQ(st, Status::kInvalidArgument);
    EXPECT_EQ(e.message.rfind(prefix(c.params.kind), 0), 0u) << e.message;
    for (const std::string& n : f.needles) EXPECT_MESSAGE_HAS(n, e.message);
    h.expect_unchanged(false);
  }
}

// A bad weight scale (or zero point) v, shown in messages as `shown`: per
// tensor, and as entry `channel` of four per-channel ones, each refused with
// a message naming it (per tensor also the rule).
void add_bad_qparam(std::vector<WeightFailure>* failures, bool scale, double v, const std::string& shown,
                    size_t channel, const char* rule) {
  const std::string name = scale ? "weight scale" : "weight zeroPoint";
  failures->push_back({name + " " + shown,
                       [=](Case& c) { (scale ? c.weight_scales : c.weight_zero_points) = {v}; },
                       {name + " " + shown, rule}});
  failures->push_back({"per-channel " + name + " " + shown,
                       [=](Case& c) {
                         c.per_channel = true;
                         c.weight_scales = {0.1, 0.1, 0.1, 0.1};
                         c.weight_zero_points = {0, 0, 0, 0};
                         (scale ? c.weight_scales : c.weight_zero_points)[channel] = v;
                       },
                       {name + "[" + std::to_string(channel) + "] " + shown}});
}

TEST(WeightValidation, ConvTranspose1dRejectsBadWeightsAndBias) {
  const Case known = known_transposed();  // 4 output channels, weight [2, 2, 3]
  std::vector<WeightFailure> failures = {
      {"size 11", [](Case& c) { c.weight.pop_back(); },
       {"weight data has 11 elements but shape [2, 2, 3] needs 12"}},
      {"size 13", [](Case& c) { c.weight.push_back(1); }, {"13 elements", "[2, 2, 3]"}},
      {"per-channel 3 entries",
       [](Case& c) {
         c.per_channel = true;
         c.weight_scales = {0.1, 0.1, 0.1};
         c.weight_zero_points = {0, 0, 0};
       },
       {"outChannels (4) entries, got 3"}},
      {"per-channel 1 entry",
       [](Case& c) { c.per_channel = true; },
       {"outChannels (4) entries, got 1"}},
      {"per-tensor 2 entries",
       [](Case& c) {
         c.weight_scales = {0.1, 0.1};
         c.weight_zero_points = {0, 0};
       },
       {"exactly one scale", "got 2"}},
      {"bias length 3", [](Case& c) { c.bias.pop_back(); },
       {"bias has 3 elements but outChannels is 4"}},
      {"bias length 5", [](Case& c) { c.bias.push_back(0); }, {"bias has 5 elements"}},
      {"bias NaN", [](Case& c) { c.bias[1] = std::nanf(""); }, {"bias[1] (NaN)", "finite"}},
      {"bias inf", [](Case& c) { c.bias[0] = INFINITY; }, {"bias[0] (Infinity)"}},
      {"bias -inf", [](Case& c) { c.bias[3] = -INFINITY; }, {"bias[3] (-Infinity)"}},
  };
  const std::pair<double, const char*> bad_scales[] = {
      {0.0, "(0)"},       {-0.5, "(-0.5)"},       {kNaN, "(NaN)"},   {kInf, "(Infinity)"},
      {-kInf, "(-Infinity)"}, {1e-39, "(1e-39)"}, {1e39, "(1e+39)"},
  };
  for (const auto& s : bad_scales) add_bad_qparam(&failures, true, s.first, s.second, 2, "normal float32");
  const std::pair<double, const char*> bad_zero_points[] = {
      {128, "(128)"}, {-129, "(-129)"}, {1.5, "(1.5)"}, {kNaN, "(NaN)"}, {1000, "(1000)"},
  };
  for (const auto& z : bad_zero_points) add_bad_qparam(&failures, false, z.first, z.second, 1, "[-128, 127]");
  check_weight_failures(known, failures);
}

TEST(WeightValidation, Conv1dRejectsBadWeightsAndBias) {
  const Case known = known_conv();  // 2 output channels, weight [2, 2, 3], per-channel
  check_weight_failures(
      known, {
                 {"size 6", [](Case& c) { c.weight.resize(6); },
                  {"weight data has 6 elements but shape [2, 2, 3] needs 12"}},
                 {"per-channel 3 entries",
                  [](Case& c) {
                    c.weight_scales = {0.1, 0.1, 0.1};
                    c.weight_zero_points = {0, 0, 0};
                  },
                  {"outChannels (2) entries, got 3"}},
                 {"scale 1e-39", [](Case& c) { c.weight_scales[1] = 1e-39; },
                  {"weight scale[1] (1e-39)"}},
                 {"zero point -129", [](Case& c) { c.weight_zero_points[0] = -129; },
                  {"weight zeroPoint[0] (-129)"}},
                 {"bias length 1", [](Case& c) { c.bias.resize(1); },
                  {"bias has 1 elements but outChannels is 2"}},
                 {"bias NaN", [](Case& c) { c.bias[1] = std::nanf(""); }, {"bias[1] (NaN)"}},
             });
}

TEST(WeightValidation, BoundaryZeroPointsAndScalesAreAccepted) {
  // -128 and 127 are valid zero points; the smallest normal float32 and a
  // large finite scale are valid weight scales. Each result matches the
  // naive reference (scales chosen so requantization stays normal).
  for (double zp : {-128.0, 127.0}) {
    Case c = known_transposed();
    c.weight_zero_points = {zp};
    Harness h(c);
  }
  Case c = known_transposed();
  c.weight_scales = {1.2e-38};
  c.input_scale = 1.0;
  c.output_scale = 1.2e-38;
  Harness small(c);
  c = known_transposed();
  c.weight_scales = {1e38};
  c.input_scale = 1e-30;
  c.output_scale = 1e8;
  Harness large(c);
}

TEST(WeightValidation, CheckWeightSize) {
  Harness h(known_transposed());
  Error e;
  EXPECT_EQ(qconv::check_weight_size(h.op(), 12, &e), Status::kOk);
  EXPECT_EQ(qconv::check_weight_size(h.op(), 0, &e), Status::kInvalidArgument);
  EXPECT_MESSAGE_HAS("weight data has 0 elements but shape [2, 2, 3] needs 12", e.message);
  h.expect_unchanged(false);
}

// Counts are 64-bit: in wasm32 a size_t would wrap 2^32 + 12 to 12 (and
// report 2^32 as 0). Neither count's values are read when it is wrong.
TEST(WeightValidation, CountsBeyond32BitsAreRefusedUnread) {
  Harness h(known_transposed());
  Error e;
  const uint64_t two32 = uint64_t{1} << 32;
  EXPECT_EQ(qconv::check_weight_size(h.op(), two32 + 12, &e), Status::kInvalidArgument);
  EXPECT_MESSAGE_HAS("weight data has 4294967308 elements but shape [2, 2, 3] needs 12", e.message);
  EXPECT_EQ(qconv::check_weight_size(h.op(), two32, &e), Status::kInvalidArgument);
  EXPECT_MESSAGE_HAS("weight data has 4294967296 elements", e.message);
  Case c = known_transposed();
  WeightDesc wd = weight_desc(c);
  wd.per_channel = true;
  wd.num_qparams = two32 + 2;  // outChannels is 4: the scales (one entry here) are never read
  EXPECT_EQ(qconv::set_weights(h.op(), wd, nullptr, 0, &e), Status::kInvalidArgument);
  EXPECT_MESSAGE_HAS("per-channel weight scales must have outChannels (4) entries, got 4294967298", e.message);
  wd = weight_desc(c);
  const float bias[4] = {0.5f, 0.25f, 0, 0};
  EXPECT_EQ(qconv::set_weights(h.op(), wd, bias, two32 + 2, &e), Status::kInvalidArgument);
  EXPECT_MESSAGE_HAS("bias has 4294967298 elements but outChannels is 4", e.message);
  h.expect_unchanged(false);
}

// ---------------------------------------------------------------------------
// set_output_quantization

TEST(OutputQuantizationValidation, RejectsBadScaleAndZeroPoint) {
  Harness h(known_transposed());
  const std::pair<double, const char*> bad_scales[] = {
      {0.0, "scale (0)"},         {-1.0, "scale (-1)"},       {kNaN, "scale (NaN)"},
      {kInf, "scale (Infinity)"}, {1e-39, "scale (1e-39)"},   {1e39, "scale (1e+39)"},
  };
  for (const auto& s : bad_scales) {
    SCOPED_TRACE(s.second);
    Error e;
    EXPECT_EQ(qconv::set_output_quantization(h.op(), s.first, 10, &e), Status::kInvalidArgument);
    EXPECT_MESSAGE_HAS(std::string("ConvTranspose1d: ") + s.second, e.message);
    h.expect_unchanged(false);
  }
  const std::pair<double, const char*> bad_zero_points[] = {
      {256, "zeroPoint (256)"}, {-1, "zeroPoint (-1)"}, {0.5, "zeroPoint (0.5)"},
      {kNaN, "zeroPoint (NaN)"}, {kInf, "zeroPoint (Infinity)"},
  };
  for (const auto& z : bad_zero_points) {
    SCOPED_TRACE(z.second);
    Error e;
    // A different (valid) scale in the same call must not be applied either.
    EXPECT_EQ(qconv::set_output_quantization(h.op(), 0.7, z.first, &e), Status::kInvalidArgument);
    EXPECT_MESSAGE_HAS(std::string("ConvTranspose1d: ") + z.second, e.message);
    EXPECT_MESSAGE_HAS("[0, 255]", e.message);
    h.expect_unchanged(false);
  }
}

// ---------------------------------------------------------------------------
// reshape

// Runs reshape with `in` / `requested` on the harness and expects failure.
void expect_reshape_fails(Harness& h, const InputDesc& in, int64_t requested, Status want,
                          const std::vector<std::string>& needles) {
  Error e;
  int64_t lout = -12345;
  const Status st = qconv::reshape(h.op(), in, requested, &lout, &e);
  EXPECT_EQ(st, want);
  EXPECT_EQ(e.message.rfind(prefix(h.known().params.kind), 0), 0u) << e.message;
  for (const std::string& n : needles) EXPECT_MESSAGE_HAS(n, e.message);
  h.expect_unchanged(true);
}

TEST(ReshapeValidation, InputShapeAndQuantization) {
  for (const Case& known : {known_transposed(), known_conv()}) {
    Harness h(known);
    SCOPED_TRACE(prefix(known.params.kind));
    InputDesc in = h.input_desc();
    in.channels = 3;
    expect_reshape_fails(h, in, -1, Status::kInvalidArgument,
                         {"input channels (3) must equal inChannels (2)"});
    in = h.input_desc();
    in.channels = 0;
    expect_reshape_fails(h, in, -1, Status::kInvalidArgument, {"input channels (0)"});
    for (int64_t L : {0, -1}) {
      expect_reshape_fails(h, h.with_length(L), -1, Status::kInvalidArgument,
                           {"input length (" + std::to_string(L) + ") must be >= 1"});
    }
    in = h.input_desc();
    in.batch = -1;
    expect_reshape_fails(h, in, -1, Status::kInvalidArgument, {"input batch size (-1)"});
    const std::pair<double, const char*> bad_scales[] = {
        {0.0, "input scale (0)"},       {-0.1, "input scale (-0.1)"}, {kNaN, "input scale (NaN)"},
        {kInf, "input scale (Infinity)"}, {1e-39, "input scale (1e-39)"},
        {1e39, "input scale (1e+39)"},
    };
    for (const auto& s : bad_scales) {
      expect_reshape_fails(h, h.with_scale(s.first), -1, Status::kInvalidArgument,
                           {s.second, "normal float32"});
    }
    const std::pair<double, const char*> bad_zero_points[] = {
        {256, "input zeroPoint (256)"}, {-1, "input zeroPoint (-1)"},
        {0.5, "input zeroPoint (0.5)"}, {kNaN, "input zeroPoint (NaN)"},
    };
    for (const auto& z : bad_zero_points) {
      in = h.input_desc();
      in.zero_point = z.first;
      expect_reshape_fails(h, in, -1, Status::kInvalidArgument, {z.second, "[0, 255]"});
    }
  }
}

TEST(ReshapeValidation, ConvTranspose1dOutputSizeRange) {
  Harness h(known_transposed());
  // L = 5, stride 2, padding 1, dilation 1, K 3:
  // min = (5-1)*2 - 2*1 + 1*(3-1) + 1 = 9, max = min + stride - 1 = 10;
  // without outputSize: min + outputPadding (1) = 10.
  Error e;
  int64_t n = 0;
  ASSERT_EQ(qconv::compute_output_length(h.op(), 5, -1, &n, &e), Status::kOk);
  EXPECT_EQ(n, 10);
  ASSERT_EQ(qconv::compute_output_length(h.op(), 5, 9, &n, &e), Status::kOk);
  EXPECT_EQ(n, 9);
  ASSERT_EQ(qconv::compute_output_length(h.op(), 5, 10, &n, &e), Status::kOk);
  EXPECT_EQ(n, 10);
  for (int64_t bad : {0, 1, 8, 11, 1000}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(qconv::compute_output_length(h.op(), 5, bad, &n, &e), Status::kInvalidArgument);
    EXPECT_MESSAGE_HAS("outputSize (" + std::to_string(bad) + ") must be between 9 and 10",
                       e.message);
    expect_reshape_fails(h, h.input_desc(), bad, Status::kInvalidArgument,
                         {"outputSize (" + std::to_string(bad) + ")", "between 9 and 10"});
  }
}

TEST(ReshapeValidation, ConvTranspose1dOutputLengthBelowOne) {
  // ConvTranspose1d(1 -> 1, K 1, stride 3, padding 1), L = 1:
  // min = 0*3 - 2*1 + 0 + 1 = -1, so without outputSize Lout = -1 (error);
  // valid outputSize range is [-1, 1] intersected with >= 1, i.e. {1}.
  Case c = by_hand_case(OperatorKind::kConvTranspose1d, {9}, {200});
  c.params.stride = 3;
  c.params.padding = 1;
  c.weight_scales = {0.5};
  c.has_bias = true;
  c.bias = {2.0f};
  set_activation_qparams(&c, {1.0, 0}, {0.25, 3});
  c.requested_length = 1;
  // Position 0 receives no tap (o = 0*3 + 0 - 1 = -1), so it is bias only:
  // qb = rint(2 / (0.5*1)) = 4; rq = 0.5 * 1 / 0.25 = 2; 4 * 2 = 8; + 3 = 11.
  Harness h(c);  // checks the operator against the reference
  EXPECT_EQ(reference_forward(c), std::vector<uint8_t>{11});
  expect_reshape_fails(h, h.input_desc(), -1, Status::kInvalidArgument,
                       {"output length", "= -1 for L = 1", ">= 1"});
  expect_reshape_fails(h, h.input_desc(), 0, Status::kInvalidArgument,
                       {"outputSize (0) must be between -1 and 1 (and >= 1)"});
  expect_reshape_fails(h, h.input_desc(), 2, Status::kInvalidArgument, {"outputSize (2)"});
}

TEST(ReshapeValidation, Conv1dRules) {
  Harness h(known_conv());  // reflect, padding 1, K 3
  // outputSize is not a Conv1d argument.
  expect_reshape_fails(h, h.input_desc(), 4, Status::kInvalidArgument,
                       {"outputSize is a ConvTranspose1d argument"});
  Error e;
  int64_t n = 0;
  EXPECT_EQ(qconv::compute_output_length(h.op(), 4, 4, &n, &e), Status::kInvalidArgument);
  // Reflect padding must be < L: padding 1 with L = 1.
  expect_reshape_fails(h, h.with_length(1), -1, Status::kInvalidArgument,
                       {"padding (1) must be smaller than the input length (1)", "reflect"});

  // Zero padding: padded input shorter than the dilated kernel.
  Case c = known_conv_with_kernel(5, 3);  // span 5; padded L + 2 = 6 for L = 4
  c.params.padding_mode = PaddingMode::kZeros;
  Harness z(c);
  // L 2: 2 + 2*1 = 4 < 5
  expect_reshape_fails(z, z.with_length(2), -1, Status::kInvalidArgument,
                       {"padded input length (L + 2*padding = 4) is shorter than the dilated "
                        "kernel (dilation*(kernelSize-1) + 1 = 5)"});
  ASSERT_EQ(qconv::compute_output_length(z.op(), 3, -1, &n, &e), Status::kOk);  // 5 >= 5
  EXPECT_EQ(n, 1);  // (3 + 2 - 4 - 1) / 1 + 1

  // Dilation: K 3, dilation 3 -> span 7; padding 0, L 6 fails, L 7 gives 1 output.
  c = known_conv();
  c.params.padding_mode = PaddingMode::kZeros;
  c.params.padding = 0;
  c.params.dilation = 3;
  c.length = 7;
  c.input.assign(2 * 7, 1);
  c.input[3] = 250;
  Harness dz(c);
  expect_reshape_fails(dz, dz.with_length(6), -1, Status::kInvalidArgument,
                       {"(L + 2*padding = 6)", "(dilation*(kernelSize-1) + 1 = 7)"});

  // Reflect with padding 2 and L = 2 (= padding) fails too; L = 3 works.
  c = known_conv();
  c.params.padding = 2;
  Harness r2(c);
  expect_reshape_fails(r2, r2.with_length(2), -1, Status::kInvalidArgument, {"padding (2)", "length (2)"});
  ASSERT_EQ(qconv::compute_output_length(r2.op(), 3, -1, &n, &e), Status::kOk);
  EXPECT_EQ(n, 5);  // 3 + 2*2 - 2 - 1 + 1

  // 'same', K 4 (1 before, 2 after), reflect: each side must be < L.
  c = known_conv_with_kernel(4, 5);
  c.params.padding_same = true;
  Harness rs(c);
  expect_reshape_fails(rs, rs.with_length(2), -1, Status::kInvalidArgument,
                       {"padding ('same': 1 before and 2 after the input) must be smaller than the "
                        "input length (2) on each side for reflect padding"});
  ASSERT_EQ(qconv::compute_output_length(rs.op(), 3, -1, &n, &e), Status::kOk);
  EXPECT_EQ(n, 3);
  // Explicit asymmetric zero padding, too short for the kernel.
  c = known_conv_with_kernel(5, 3);
  c.params.padding_mode = PaddingMode::kZeros;
  c.params.padding = 0;
  c.params.padding_right = 1;
  Harness az(c);
  expect_reshape_fails(az, az.with_length(3), -1, Status::kInvalidArgument,
                       {"padded input length (L + padding before and after = 4) is shorter than the "
                        "dilated kernel (dilation*(kernelSize-1) + 1 = 5)"});
}

TEST(ReshapeValidation, BiasScaleMustBeNormal) {
  // ws 1e-20, xs 1 (baseline): bias scale 1e-20 and rq = 1e-20 * 1 / 1e-20 = 1.
  Case c = known_transposed();
  c.weight_scales = {1e-20};
  c.input_scale = 1.0;
  c.output_scale = 1e-20;
  Harness h(c);
  // xs 1e-20: f32(1e-20 * 1e-20) = f32(1e-40) is subnormal.
  expect_reshape_fails(h, h.with_scale(1e-20), -1, Status::kInvalidArgument,
                       {"bias scale (weight scale 1e-20 * input scale 1e-20", "normal float32"});
  // Per-channel: only channel 1 has the tiny scale; it is the one named.
  c = known_transposed();
  c.per_channel = true;
  c.weight_scales = {0.5, 1e-20, 0.5, 0.5};
  c.weight_zero_points = {0, 1, 2, 3};
  c.input_scale = 1.0;
  c.output_scale = 1.0;
  Harness hp(c);
  expect_reshape_fails(hp, hp.with_scale(1e-20), -1, Status::kInvalidArgument,
                       {"bias scale (weight scale 1e-20 * input scale 1e-20"});
}

TEST(ReshapeValidation, RequantizationScaleMustBeNormal) {
  // ws 1e-10, xs 1e30, os 1e20: bias scale 1e20, rq = 1e20 / 1e20 ~ 1.
  Case c = known_transposed();
  c.weight_scales = {1e-10};
  c.input_scale = 1e30;
  c.output_scale = 1e20;
  Harness h(c);
  // xs 1e-10: bias scale 1e-20 (normal), rq = 1e-20 * (1 / 1e20) = 1e-40: subnormal.
  expect_reshape_fails(h, h.with_scale(1e-10), -1, Status::kInvalidArgument,
                       {"requantization scale (weight scale 1e-10 * input scale 1e-10 / output "
                        "scale 100000000000000000000 =",
                        "normal positive float32"});
  // Overflow: output scale 1e-30 is valid alone, but rq = 1e20 * 1e30 = inf.
  Error e;
  ASSERT_EQ(qconv::set_output_quantization(h.op(), 1e-30, c.output_zero_point, &e), Status::kOk);
  int64_t lout = 0;
  EXPECT_EQ(qconv::reshape(h.op(), h.input_desc(), -1, &lout, &e), Status::kInvalidArgument);
  EXPECT_MESSAGE_HAS("output scale 1e-30 = Infinity)", e.message);
  // Restoring the output scale restores the operator.
  ASSERT_EQ(qconv::set_output_quantization(h.op(), c.output_scale, c.output_zero_point, &e),
            Status::kOk);
  h.expect_unchanged(true);
}

TEST(ReshapeValidation, InputBeyond2GiBIsOutOfMemory) {
  Harness h(known_transposed());  // Cin 2, Cout 4, Lout = 2L
  // Input: 2^20 * 2 * 1025 = 2149580800 bytes > 2^31.
  InputDesc in = h.input_desc();
  in.batch = int64_t{1} << 20;
  in.length = 1025;
  expect_reshape_fails(h, in, -1, Status::kOutOfMemory,
                       {"the input needs 2149580800 bytes", "2 GiB"});
  // Input exactly 2^31 bytes (allowed alone), output 2^20 * 4 * 2048 = 2^33.
  in.length = 1024;
  expect_reshape_fails(h, in, -1, Status::kOutOfMemory, {"the output needs 8589934592 bytes"});
  // Each fits, the sum does not: N 2^18, L 1000, Lout 2000:
  // input 524288000 + output 2097152000 + a few kB of scratch > 2^31.
  in.batch = int64_t{1} << 18;
  in.length = 1000;
  expect_reshape_fails(h, in, -1, Status::kOutOfMemory,
                       {"the input, output and scratch buffers needs 26214", "2 GiB"});
  // A huge batch with a length so big that products saturate.
  in.batch = int64_t{1} << 40;
  in.length = int64_t{1} << 30;
  expect_reshape_fails(h, in, -1, Status::kOutOfMemory, {"the input needs"});
}

// ---------------------------------------------------------------------------
// setup / run misuse

TEST(CallOrder, SetupAndRunNeedAReshape) {
  const Case c = known_transposed();
  Error e;
  qconv::Operator* op = nullptr;
  ASSERT_EQ(qconv::create_operator(c.params, &op, &e), Status::kOk);
  std::vector<uint8_t> out(64, 0xA5);
  EXPECT_EQ(qconv::setup(op, c.input.data(), out.data()), Status::kInvalidArgument);
  EXPECT_EQ(qconv::run(op), Status::kInvalidArgument);
  EXPECT_EQ(out, std::vector<uint8_t>(64, 0xA5));
  qconv::delete_operator(op);

  Harness h(c);
  int64_t lout = 0;
  ASSERT_EQ(qconv::reshape(h.op(), h.input_desc(), -1, &lout, &e), Status::kOk);
  // Null buffers with a non-empty batch are refused.
  EXPECT_EQ(qconv::setup(h.op(), nullptr, out.data()), Status::kInvalidArgument);
  EXPECT_EQ(qconv::setup(h.op(), c.input.data(), nullptr), Status::kInvalidArgument);
  // And a reshape without setup does not run on stale buffers.
  EXPECT_EQ(qconv::run(h.op()), Status::kInvalidArgument);
  h.expect_unchanged(true);
}

}  // namespace
}  // namespace qconv_test
