#include "harness.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace qconv_test {

int irand(Rng& rng, int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }

bool chance(Rng& rng, double p) { return std::bernoulli_distribution(p)(rng); }

double log_uniform(Rng& rng, double lo, double hi) {
  return std::exp(std::uniform_real_distribution<double>(std::log(lo), std::log(hi))(rng));
}

int32_t random_activation_zero_point(Rng& rng) {
  const int pick = irand(rng, 0, 3);
  return pick == 0 ? 0 : pick == 1 ? 255 : irand(rng, 0, 255);
}

std::vector<int8_t> random_weights(Rng& rng, int64_t n, bool extreme) {
  std::vector<int8_t> w(static_cast<size_t>(n));
  for (int8_t& v : w) {
    v = static_cast<int8_t>(extreme ? (chance(rng, 0.5) ? -128 : 127) : irand(rng, -128, 127));
  }
  return w;
}

std::vector<uint8_t> random_activations(Rng& rng, int64_t n, bool extreme) {
  std::vector<uint8_t> x(static_cast<size_t>(n));
  for (uint8_t& v : x) v = static_cast<uint8_t>(extreme ? (chance(rng, 0.5) ? 0 : 255) : irand(rng, 0, 255));
  return x;
}

std::vector<uint8_t> random_bytes(Rng& rng, int64_t n) {
  std::vector<uint8_t> x(static_cast<size_t>(n));
  for (uint8_t& v : x) v = static_cast<uint8_t>(rng());
  return x;
}

std::vector<float> random_bias(Rng& rng, const Case& c, double lo_units, double hi_units,
                               double tie_chance) {
  std::vector<float> bias;
  for (int64_t co = 0; co < c.params.out_channels; ++co) {
    const double bias_scale = c.weight_scales[c.per_channel ? static_cast<size_t>(co) : 0] * c.input_scale;
    const double sign = chance(rng, 0.5) ? 1.0 : -1.0;
    double units = log_uniform(rng, lo_units, hi_units);
    if (tie_chance > 0 && chance(rng, tie_chance)) units = irand(rng, 0, 1000) + 0.5;
    bias.push_back(static_cast<float>(sign * units * bias_scale));
  }
  return bias;
}

ConvParams make_params(OperatorKind kind, int64_t in_channels, int64_t out_channels,
                       int64_t kernel_size, int64_t stride, int64_t padding) {
  ConvParams p;
  p.kind = kind;
  p.in_channels = in_channels;
  p.out_channels = out_channels;
  p.kernel_size = kernel_size;
  p.stride = stride;
  p.padding = padding;
  return p;
}

void set_channels_per_group(ConvParams* p, int64_t in_per_group, int64_t out_per_group) {
  p->in_channels = p->groups * in_per_group;
  p->out_channels = p->groups * out_per_group;
}

void set_activation_qparams(Case* c, QParams input, QParams output) {
  c->input_scale = input.scale;
  c->input_zero_point = input.zero_point;
  c->output_scale = output.scale;
  c->output_zero_point = output.zero_point;
}

Case by_hand_case(OperatorKind kind, std::vector<int8_t> w, std::vector<uint8_t> x) {
  Case c;
  c.params = make_params(kind, 1, 1, static_cast<int64_t>(w.size()));
  c.weight = std::move(w);
  c.weight_scales = {1.0};
  c.weight_zero_points = {0};
  c.length = static_cast<int64_t>(x.size());
  c.input = std::move(x);
  return c;
}

Case dense_blocks_case(const ConvParams& p, int64_t length, int64_t batch, Rng& rng) {
  Case c;
  c.params = p;
  c.weight = random_weights(rng, weight_count(p));
  c.weight_scales = {0.01};
  c.weight_zero_points = {3};
  c.has_bias = true;
  c.bias.resize(static_cast<size_t>(p.out_channels));
  for (float& b : c.bias) b = std::uniform_real_distribution<float>(-2.0f, 2.0f)(rng);
  set_activation_qparams(&c, {0.02, 130}, {0.05, 120});
  c.batch = batch;
  c.length = length;
  c.input = random_bytes(rng, batch * p.in_channels * length);
  return c;
}

int64_t effective_output_padding(const Case& c) {
  if (c.requested_length < 0) return c.params.output_padding;
  return c.requested_length - transposed_min_output_length(c.params, c.length);
}

namespace {
template <typename T>
void print_values(std::ostream& s, const char* name, const std::vector<T>& v) {
  s << " " << name << " [";
  for (size_t i = 0; i < v.size(); ++i) s << (i ? ", " : "") << +v[i];
  s << "]";
}
}  // namespace

std::string describe(const Case& c, bool with_data) {
  const ConvParams& p = c.params;
  std::ostringstream s;
  s.precision(17);  // scales as they are, to rebuild the case
  s << (p.kind == OperatorKind::kConv1d ? "Conv1d" : "ConvTranspose1d") << "(cin "
    << p.in_channels << ", cout " << p.out_channels << ", K " << p.kernel_size << ", stride "
    << p.stride << ", padding " << p.padding << (p.padding_same ? " (same)" : "")
    << ", paddingRight " << p.padding_right << ", outputPadding " << p.output_padding
    << ", dilation " << p.dilation << ", groups " << p.groups
    << (p.padding_mode == PaddingMode::kReflect ? ", reflect" : "") << ") N " << c.batch
    << " L " << c.length << " requested " << c.requested_length
    << (c.per_channel ? " per-channel" : " per-tensor");
  if (!c.weight_scales.empty()) s << " ws[0] " << c.weight_scales[0];
  if (!c.weight_zero_points.empty()) s << " wzp[0] " << c.weight_zero_points[0];
  s << " xs " << c.input_scale << " xzp " << c.input_zero_point << " os " << c.output_scale
    << " ozp " << c.output_zero_point << (c.has_bias ? " bias" : " no bias");
  if (with_data) {
    if (c.has_bias) print_values(s, "bias", c.bias);
    print_values(s, "weight", c.weight);
    print_values(s, "input", c.input);
  }
  return s.str();
}

size_t differing_bytes(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  if (a.size() != b.size()) return std::max(a.size(), b.size());
  size_t n = 0;
  for (size_t i = 0; i < a.size(); ++i) n += a[i] != b[i];
  return n;
}

size_t first_difference(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

InputDesc input_desc(const Case& c) {
  InputDesc in;
  in.batch = c.batch;
  in.channels = c.params.in_channels;
  in.length = c.length;
  in.scale = c.input_scale;
  in.zero_point = c.input_zero_point;
  return in;
}

WeightDesc weight_desc(const Case& c) {
  WeightDesc wd;
  wd.data = c.weight.data();
  wd.size = c.weight.size();
  wd.scales = c.weight_scales.data();
  wd.zero_points = c.weight_zero_points.data();
  wd.num_qparams = c.weight_scales.size();
  wd.per_channel = c.per_channel;
  return wd;
}

Status set_case_weights(qconv::Operator* op, const Case& c, Error* error) {
  return qconv::set_weights(op, weight_desc(c), c.has_bias ? c.bias.data() : nullptr,
                            c.has_bias ? c.bias.size() : 0, error);
}

namespace {
// Records a failed call in r; true when st is kOk.
bool noted(ApiResult* r, Status st, const char* stage, const Error& e) {
  if (st == Status::kOk) return true;
  r->status = st;
  r->stage = stage;
  r->message = e.message;
  return false;
}
}  // namespace

qconv::Operator* create_configured(const Case& c, ApiResult* r) {
  Error e;
  qconv::Operator* op = nullptr;
  if (!noted(r, qconv::create_operator(c.params, &op, &e), "create_operator", e)) return nullptr;
  if (!noted(r, set_case_weights(op, c, &e), "set_weights", e) ||
      !noted(r, qconv::set_output_quantization(op, c.output_scale, c.output_zero_point, &e),
             "set_output_quantization", e)) {
    qconv::delete_operator(op);
    return nullptr;
  }
  return op;
}

bool forward(qconv::Operator* op, const Case& c, Backend backend, ApiResult* r) {
  Error e;
  if (!noted(r, qconv::set_backend(op, backend, &e), "set_backend", e)) return false;
  r->kernel_path = qconv::kernel_path(op);
  int64_t lout = -1;
  if (!noted(r, qconv::reshape(op, input_desc(c), c.requested_length, &lout, &e), "reshape", e)) {
    return false;
  }
  r->output_length = lout;
  r->thread_plan = qconv::thread_plan(op);
  const size_t size = static_cast<size_t>(c.batch * c.params.out_channels * lout);
  r->output.assign(size + 1, 0xA5);
  const uint8_t* input = c.input.empty() ? nullptr : c.input.data();
  if (!noted(r, qconv::setup(op, input, size == 0 ? nullptr : r->output.data()), "setup", e) ||
      !noted(r, qconv::run(op), "run", e)) {
    r->output.pop_back();
    return false;
  }
  const bool overran = r->output.back() != 0xA5;
  r->output.pop_back();
  if (overran) {
    e.message = "run wrote past the output";
    return noted(r, Status::kInvalidArgument, "run", e);
  }
  return true;
}

ApiResult run_api(const Case& c, Backend backend) {
  ApiResult r;
  qconv::Operator* op = create_configured(c, &r);
  if (op == nullptr) return r;
  forward(op, c, backend, &r);
  qconv::delete_operator(op);
  return r;
}

TestOperator::TestOperator(const Case& c) : c_(c) {
  ApiResult r;
  op_ = create_configured(c, &r);
  status_ = r.status;
  if (op_ == nullptr) message_ = r.stage + ": " + r.message;
}

TestOperator::~TestOperator() { qconv::delete_operator(op_); }

Status TestOperator::note(Status st, const char* call, const Error& e) {
  if (st != Status::kOk) message_ = std::string(call) + ": " + e.message;
  return st;
}

Status TestOperator::set_weights(const Case& c) {
  if (op_ == nullptr) return status_;  // create failed: nothing to call
  Error e;
  return note(set_case_weights(op_, c, &e), "set_weights", e);
}

Status TestOperator::set_output_quantization(double scale, int32_t zero_point) {
  if (op_ == nullptr) return status_;
  Error e;
  const Status st =
      note(qconv::set_output_quantization(op_, scale, zero_point, &e), "set_output_quantization", e);
  if (st == Status::kOk) {
    c_.output_scale = scale;
    c_.output_zero_point = zero_point;
  }
  return st;
}

Status TestOperator::reshape_and_setup(int64_t* output_length) {
  if (op_ == nullptr) return status_;
  Error e;
  int64_t lout = -1;
  const Status st =
      note(qconv::reshape(op_, input_desc(c_), c_.requested_length, &lout, &e), "reshape", e);
  if (output_length != nullptr) *output_length = lout;
  if (st != Status::kOk) return st;
  out_.assign(static_cast<size_t>(c_.batch * c_.params.out_channels * std::max<int64_t>(lout, 0)), 0xA5);
  e.message = "refused the buffers";
  const uint8_t* input = c_.input.empty() ? nullptr : c_.input.data();
  return note(qconv::setup(op_, input, out_.empty() ? nullptr : out_.data()), "setup", e);
}

Status TestOperator::run() {
  if (op_ == nullptr) return status_;
  Error e;
  e.message = "refused";
  return note(qconv::run(op_), "run", e);
}

Status TestOperator::forward(int64_t* output_length) {
  const Status st = reshape_and_setup(output_length);
  return st != Status::kOk ? st : run();
}

}  // namespace qconv_test
