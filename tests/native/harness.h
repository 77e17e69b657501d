// The native tests' shared harness: seeded random draws, case builders, a
// one-line description of a case for failure messages, and the public-API
// calls that configure and run an operator for a case (to compare with the
// naive reference of reference.h). No GoogleTest here: the operator fuzzer
// uses it too, so every helper reports through its return value.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "qconv/qconv.h"
#include "reference.h"

namespace qconv_test {

// The public API's types by their short names, in every test.
using qconv::Backend;
using qconv::ConvParams;
using qconv::Error;
using qconv::InputDesc;
using qconv::OperatorKind;
using qconv::PaddingMode;
using qconv::Status;
using qconv::WeightDesc;

// ---------------------------------------------------------------------------
// Random draws. Every test seeds its own std::mt19937, so a failure replays;
// the helpers draw in a fixed order, so a seed keeps its cases.

using Rng = std::mt19937;

int irand(Rng& rng, int lo, int hi);  // uniform over [lo, hi]
bool chance(Rng& rng, double p);
double log_uniform(Rng& rng, double lo, double hi);
// An activation zero point: 0 or 255 (the ends) a quarter of the time each,
// else uniform over [0, 255].
int32_t random_activation_zero_point(Rng& rng);
// n weights uniform over [-128, 127]; `extreme`: only -128 and 127.
std::vector<int8_t> random_weights(Rng& rng, int64_t n, bool extreme = false);
// n activations uniform over [0, 255]; `extreme`: only 0 and 255.
std::vector<uint8_t> random_activations(Rng& rng, int64_t n, bool extreme = false);
// n bytes, one generator output each: as uniform, and faster for bulk input.
std::vector<uint8_t> random_bytes(Rng& rng, int64_t n);
// A bias for each output channel of c, in units of the channel's bias scale
// (weight scale * input scale): a random sign, a magnitude log-uniform over
// [lo_units, hi_units], or with probability tie_chance (not drawn when 0) a
// half-integer count of units, which ties in quantize_bias when the scales
// are powers of two.
std::vector<float> random_bias(Rng& rng, const Case& c, double lo_units, double hi_units,
                               double tie_chance);

// ---------------------------------------------------------------------------
// Cases

// Module parameters; the rest keep ConvParams' defaults (dilation 1, groups
// 1, no output padding, zeros padding, a bias).
ConvParams make_params(OperatorKind kind, int64_t in_channels, int64_t out_channels,
                       int64_t kernel_size, int64_t stride = 1, int64_t padding = 0);

// Input and output quantization of a case.
struct QParams {
  double scale;
  int32_t zero_point;
};
void set_activation_qparams(Case* c, QParams input, QParams output);

// In and out channels as multiples of p's groups.
void set_channels_per_group(ConvParams* p, int64_t in_per_group, int64_t out_per_group);

// A 1 -> 1 case small enough to derive by hand: kernel size w.size() with
// per-tensor weights w (scale 1, zero point 0), one batch item x (length
// x.size(), scale 1, zero point 0), output scale 1 and zero point 0, no bias.
Case by_hand_case(OperatorKind kind, std::vector<int8_t> w, std::vector<uint8_t> x);

// A case of module p with seeded random per-tensor weights (scale 0.01,
// zero point 3), a bias in [-2, 2], input (scale 0.02, zero point 130) and
// output (scale 0.05, zero point 120) quantization: the shapes that test
// output blocking and staging.
Case dense_blocks_case(const ConvParams& p, int64_t length, int64_t batch, Rng& rng);

// The output padding a ConvTranspose1d case runs with: outputPadding, or
// what its requested length adds to the smallest.
int64_t effective_output_padding(const Case& c);

// One line naming everything a case is made of, for failure messages;
// with_data adds the bias, weights and input values.
std::string describe(const Case& c, bool with_data = false);

// How many bytes differ (the longer size when the sizes differ), and where
// the first difference is (the shorter size when there is none before it).
size_t differing_bytes(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b);
size_t first_difference(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b);

// ---------------------------------------------------------------------------
// The public API for a case

InputDesc input_desc(const Case& c);
WeightDesc weight_desc(const Case& c);  // views into the case's vectors
// set_weights with the case's weights and bias (none when !has_bias).
Status set_case_weights(qconv::Operator* op, const Case& c, Error* error);

struct ApiResult {
  Status status = Status::kOk;
  std::string stage;  // which call failed
  std::string message;
  int64_t output_length = -1;
  std::vector<uint8_t> output;
  std::string kernel_path;
  qconv::ThreadPlan thread_plan;
};

// create -> set_weights -> set_output_quantization: the operator, or
// nullptr with the failing call in r.
qconv::Operator* create_configured(const Case& c, ApiResult* r);
// set_backend -> reshape -> setup -> run on op for the case's input, into
// r->output, pre-filled with 0xA5 so that unwritten outputs are likely to
// show. A guard byte after the output must stay untouched: a run that
// writes past it fails as stage "run" (the statuses have no word for it).
bool forward(qconv::Operator* op, const Case& c, Backend backend, ApiResult* r);
// The whole sequence on a new operator.
ApiResult run_api(const Case& c, Backend backend = Backend::kDefault);

// An operator configured for a case (create, set_weights,
// set_output_quantization), kept across calls: state tests change the case
// and the operator together and check each forward. Every call returns its
// Status; message() holds the last failure as "call: message".
class TestOperator {
 public:
  explicit TestOperator(const Case& c);
  ~TestOperator();
  TestOperator(const TestOperator&) = delete;
  TestOperator& operator=(const TestOperator&) = delete;

  qconv::Operator* op() const { return op_; }
  Case& current() { return c_; }
  const Case& current() const { return c_; }
  Status status() const { return status_; }  // of the configuration
  const std::string& message() const { return message_; }

  Status set_weights(const Case& c);
  // set_output_quantization; on success current() holds the new values.
  Status set_output_quantization(double scale, int32_t zero_point);
  // reshape + setup for current(); output() is sized for the result and
  // filled with 0xA5.
  Status reshape_and_setup(int64_t* output_length = nullptr);
  Status run();
  Status forward(int64_t* output_length = nullptr);  // reshape_and_setup, then run
  std::vector<uint8_t>& output() { return out_; }

 private:
  Status note(Status st, const char* call, const Error& e);

  Case c_;
  qconv::Operator* op_ = nullptr;
  Status status_ = Status::kOk;
  std::string message_;
  std::vector<uint8_t> out_;
};

}  // namespace qconv_test
