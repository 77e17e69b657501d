// embind bindings: thin. They take plain numbers and hand out views of wasm
// memory; the JS layer copies caller data into those views itself. Nothing
// here reads a JS value or calls back into JS, so no caller code (a getter, a
// Proxy trap, an exception) can run, or unwind, while a wasm frame is live.
// Statuses are ints the JS layer maps to TypeError/RangeError; the message
// is in a static buffer (errorMessage()), so reporting an error never needs
// the heap.
//
// A full heap: the core reports a failed allocation as "out of memory"; the
// small allocations of building that message come from operator new's
// fallback arena (operator_new_fallback.cc) when malloc has nothing left.
#include <emscripten/bind.h>
#include <emscripten/em_macros.h>
#include <emscripten/val.h>


#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "bound_runners.h"
#include "heap.h"
#include "model.h"
#include "qconv/qconv.h"

uint64_t qconv_fallback_allocations();  // operator_new_fallback.cc

using emscripten::typed_memory_view;
using emscripten::val;
using qconv_bindings::BoundRunner;
using qconv_bindings::BoundRunners;

namespace {

constexpr int kOk = static_cast<int>(qconv::Status::kOk);
constexpr int kOutOfMemory = static_cast<int>(qconv::Status::kOutOfMemory);

// ---- the last error message, in static memory --------------------------------
char message_text[1024];
size_t message_length = 0;

void set_message(const char* text, size_t length) {
  message_length = length < sizeof message_text ? length : sizeof message_text;
  std::memcpy(message_text, text, message_length);
}
void set_message(const std::string& text) { set_message(text.data(), text.size()); }

// The bindings' own allocations (the module object, the staging, the input
// and output buffers) failing: "out of memory: needs N bytes for X, M in
// use" (the JS layer adds the module and method), as the core words its own.
int out_of_memory(double bytes, const char* what_for) {
  char text[200];
  const int length = std::snprintf(text, sizeof text, "out of memory: needs %.0f bytes for %s, %.0f in use",
                                   bytes, what_for,
                                   static_cast<double>(qconv::heap_bytes_in_use()));
  set_message(text, length > 0 ? static_cast<size_t>(length) : 0);
  return kOutOfMemory;
}

// JS numbers arrive as doubles; the core decides what is in range. Clamp
// far-out values so the conversion itself is defined.
int64_t to_int64(double v) {
  if (std::isnan(v)) return INT64_MIN;
  if (v > 4.0e18) return int64_t{4000000000000000000};
  if (v < -4.0e18) return -int64_t{4000000000000000000};
  return static_cast<int64_t>(v);
}

// An input's shape and quantization from JS numbers (forward's setup, bind).
qconv::InputDesc input_desc(double batch, double channels, double length, double scale,
                            double zero_point) {
  return {to_int64(batch), to_int64(channels), to_int64(length), scale, zero_point};
}

// A count from JS (an integer >= 0, at most 2^53).
uint64_t count_of(double v) { return v >= 0 ? static_cast<uint64_t>(to_int64(v)) : 0; }

int status_of(qconv::Status status, const qconv::Error& error) {
  if (status != qconv::Status::kOk) set_message(error.message);
  return static_cast<int>(status);
}

// Memory a JS caller fills through a view: the weights and their qparams
// between stageWeights() and commitWeights().
template <typename T>
struct Staged {
  T* data = nullptr;
  size_t size = 0;
  ~Staged() { std::free(data); }
  bool reset(size_t n) {
    std::free(data);
    data = nullptr;
    size = 0;
    if (n == 0) return true;
    data = static_cast<T*>(std::malloc(n * sizeof(T)));
    if (data == nullptr) return false;
    size = n;
    return true;
  }
  val view() const { return val(typed_memory_view(size, data)); }
};

// Live NativeConv objects, so tests can prove that dispose() and the
// FinalizationRegistry free every one.
int live_modules = 0;

class NativeConv {
 public:
  // A failed allocation gives nullptr (createNativeConv returns null to JS)
  // instead of calling the new handler.
  static void* operator new(size_t size) noexcept { return std::malloc(size); }
  static void operator delete(void* p) noexcept { std::free(p); }

  NativeConv() { ++live_modules; }
  NativeConv(const NativeConv&) = delete;
  NativeConv& operator=(const NativeConv&) = delete;
  ~NativeConv() {
    --live_modules;
    qconv::delete_operator(op_);
    std::free(input_);
    std::free(output_);
  }

  // padding_same: Conv1d's padding='same' (the core resolves it; `padding`
  // is then ignored). padding='valid' arrives as padding 0.
  int create(int kind, double in_channels, double out_channels, double kernel_size, double stride,
             double padding, bool padding_same, double output_padding, double dilation,
             double groups, bool bias, int padding_mode) {
    qconv::ConvParams p;
    p.kind = static_cast<qconv::OperatorKind>(kind);
    p.in_channels = to_int64(in_channels);
    p.out_channels = to_int64(out_channels);
    p.kernel_size = to_int64(kernel_size);
    p.stride = to_int64(stride);
    p.padding = to_int64(padding);
    p.padding_same = padding_same;
    p.output_padding = to_int64(output_padding);
    p.dilation = to_int64(dilation);
    p.groups = to_int64(groups);
    p.bias = bias;
    p.padding_mode = static_cast<qconv::PaddingMode>(padding_mode);
    qconv::Operator* op = nullptr;
    qconv::Error error;
    const qconv::Status status = qconv::create_operator(p, &op, &error);
    if (status != qconv::Status::kOk) return status_of(status, error);
    qconv::delete_operator(op_);
    op_ = op;
    return kOk;
  }

  // Step 1 of setting weights: checks the element count and makes room for
  // the int8 weights, num_qparams scales and zero points, and bias_size bias
  // values (0: no bias). JS then fills the staged views and commits.
  int stageWeights(double weight_size, double num_qparams, double bias_size) {
    qconv::Error error;
    const int64_t n = to_int64(weight_size);
    const qconv::Status status = qconv::check_weight_size(op_, n < 0 ? UINT64_MAX : static_cast<uint64_t>(n), &error);
    if (status != qconv::Status::kOk) return status_of(status, error);
    // More than outChannels is the core's to refuse at commit, unread.
    const double cout = static_cast<double>(qconv::operator_params(op_).out_channels);
    const size_t nq = static_cast<size_t>(std::fmin(std::fmax(num_qparams, 0), cout));
    const size_t nb = static_cast<size_t>(std::fmin(std::fmax(bias_size, 0), cout));
    if (!weights_.reset(static_cast<size_t>(n)) || !scales_.reset(nq) || !zero_points_.reset(nq) ||
        !bias_.reset(nb)) {
      clear_staging();
      return out_of_memory(static_cast<double>(n) + 20.0 * static_cast<double>(nq), "the weights");
    }
    return kOk;
  }
  val stagedWeights() const { return weights_.view(); }
  val stagedScales() const { return scales_.view(); }
  val stagedZeroPoints() const { return zero_points_.view(); }
  val stagedBias() const { return bias_.view(); }

  // Step 2: the staged values become the module's weights (or nothing
  // changes, with the reason in errorMessage()). num_qparams and bias_size
  // are the caller's counts (bias_size < 0: no bias); the core reads staged
  // values only when a count is right, and then all of them are staged.
  // The staging is freed.
  int commitWeights(bool per_channel, double num_qparams, double bias_size) {
    qconv::WeightDesc desc;
    desc.data = weights_.data;
    desc.size = weights_.size;
    desc.scales = scales_.data;
    desc.zero_points = zero_points_.data;
    desc.num_qparams = count_of(num_qparams);
    desc.per_channel = per_channel;
    const bool has_bias = bias_size >= 0;
    // A non-null pointer even for an empty staging: "a bias of 0 values".
    static const float no_values[1] = {0.0f};
    const float* bias = !has_bias ? nullptr : bias_.data != nullptr ? bias_.data : no_values;
    qconv::Error error;
    const int result =
        status_of(qconv::set_weights(op_, desc, bias, has_bias ? count_of(bias_size) : 0, &error), error);
    clear_staging();
    return result;
  }

  int setOutputQuantization(double scale, double zero_point) {
    qconv::Error error;
    return status_of(qconv::set_output_quantization(op_, scale, zero_point, &error), error);
  }
  void setFusedRelu(bool relu) { qconv::set_fused_relu(op_, relu); }
  double outputScale() const { return qconv::output_scale(op_); }
  int outputZeroPoint() const { return qconv::output_zero_point(op_); }

  // Returns the output length, or minus the Status (errorMessage() says why).
  double outputLength(double input_length, double requested) {
    int64_t n = 0;
    qconv::Error error;
    const qconv::Status status =
        qconv::compute_output_length(op_, to_int64(input_length), to_int64(requested), &n, &error);
    return status == qconv::Status::kOk ? static_cast<double>(n) : -status_of(status, error);
  }

  // Validates the input and sizes the buffers; then inputView() takes the
  // input bytes, run() computes, outputView() holds the result. Returns the
  // output length, or minus the Status (errorMessage() says why): one call
  // per forward instead of two, which matters for tiny inputs.
  double setup(double batch, double channels, double length, double scale, double zero_point,
               double requested_length) {
    const qconv::InputDesc in = input_desc(batch, channels, length, scale, zero_point);
    int64_t lout = 0;
    qconv::Error error;
    qconv::Status status = qconv::reshape(op_, in, to_int64(requested_length), &lout, &error);
    if (status != qconv::Status::kOk) return -status_of(status, error);
    const qconv::ConvParams& p = qconv::operator_params(op_);
    // reshape() has checked that these products fit in 2 GiB.
    const size_t in_bytes = static_cast<size_t>(in.batch * p.in_channels * in.length);
    const size_t out_bytes = static_cast<size_t>(in.batch * p.out_channels * lout);
    if (!grow(&input_, &input_capacity_, in_bytes) || !grow(&output_, &output_capacity_, out_bytes)) {
      return -out_of_memory(static_cast<double>(in_bytes) + static_cast<double>(out_bytes),
                            "the input and output buffers");
    }
    input_size_ = in_bytes;
    output_size_ = out_bytes;
    status = qconv::setup(op_, input_, output_);
    return status == qconv::Status::kOk ? static_cast<double>(lout) : -static_cast<double>(status);
  }

  // The object's address, for the plain exports below (qconv_run_bound,
  // qconv_forward_setup, qconv_run): a call through them skips embind's
  // per-call work, which is most of a tiny forward's cost.
  double address() const { return static_cast<double>(reinterpret_cast<uintptr_t>(this)); }

  // m.bind: checks the input as setup() does (same messages), then gives the
  // runner its own buffers. Returns the runner's index, or minus the Status.
  int bind(double batch, double channels, double length, double scale, double zero_point,
           double requested_length) {
    const qconv::InputDesc in = input_desc(batch, channels, length, scale, zero_point);
    const int64_t requested = to_int64(requested_length);
    int64_t lout = 0;
    qconv::Error error;
    const qconv::Status status = qconv::reshape(op_, in, requested, &lout, &error);
    if (status != qconv::Status::kOk) return -status_of(status, error);
    const qconv::ConvParams& p = qconv::operator_params(op_);
    // reshape() has checked that these products fit in 2 GiB.
    const size_t in_bytes = static_cast<size_t>(in.batch * p.in_channels * in.length);
    const size_t out_bytes = static_cast<size_t>(in.batch * p.out_channels * lout);
    const int id = runners_.add(in, requested, lout, in_bytes, out_bytes);
    if (id < 0) {
      return -out_of_memory(static_cast<double>(in_bytes) + static_cast<double>(out_bytes),
                            "the runner's input and output buffers");
    }
    return id;
  }
  double boundOutputLength(int id) const {
    const BoundRunner* r = runners_.get(id);
    return r == nullptr ? -1 : static_cast<double>(r->output_length);
  }
  val boundInputView(int id) const {
    const BoundRunner* r = runners_.get(id);
    return val(typed_memory_view(r == nullptr ? 0 : r->input_size, r == nullptr ? nullptr : r->input));
  }
  val boundOutputView(int id) const {
    const BoundRunner* r = runners_.get(id);
    return val(typed_memory_view(r == nullptr ? 0 : r->output_size, r == nullptr ? nullptr : r->output));
  }
  void unbind(int id) { runners_.remove(id); }

  // Runs runner `id`: binds the operator to the runner's shape and buffers
  // when they are not the ones bound (reshape's fast path when they are;
  // a full reshape, with forward's checks, after new weights or scale).
  int runBound(int id) {
    const BoundRunner* r = runners_.get(id);
    if (r == nullptr || op_ == nullptr) {
      static const char kDisposed[] = "the runner was disposed";
      set_message(kDisposed, sizeof kDisposed - 1);
      return static_cast<int>(qconv::Status::kInvalidArgument);
    }
    int64_t lout = 0;
    qconv::Error error;
    qconv::Status status = qconv::reshape(op_, r->in, r->requested, &lout, &error);
    if (status != qconv::Status::kOk) return status_of(status, error);
    status = qconv::setup(op_, r->input, r->output);
    if (status == qconv::Status::kOk) status = qconv::run(op_);
    return static_cast<int>(status);
  }

  // Hands the operator to a model (NativeModel::adoptConv); this object is
  // left empty, for the JS layer to delete.
  qconv::Operator* release() {
    qconv::Operator* op = op_;
    op_ = nullptr;
    return op;
  }
  bool empty() const { return op_ == nullptr; }

  val inputView() const { return val(typed_memory_view(input_size_, input_)); }
  val outputView() const { return val(typed_memory_view(output_size_, output_)); }
  int run() { return static_cast<int>(qconv::run(op_)); }

  // The padding before the input as create() resolved it (padding='same'
  // split), for the JS float forward of fromFloat's calibration.
  double paddingBefore() const { return static_cast<double>(qconv::operator_params(op_).padding); }

  val weightView() const {
    return val(typed_memory_view(qconv::weight_size(op_), qconv::weight_data(op_)));
  }
  val weightScalesView() const {
    return val(typed_memory_view(qconv::num_weight_qparams(op_), qconv::weight_scales(op_)));
  }
  val weightZeroPointsView() const {
    return val(typed_memory_view(qconv::num_weight_qparams(op_), qconv::weight_zero_points(op_)));
  }
  bool weightPerChannel() const { return qconv::weight_per_channel(op_); }
  bool hasBias() const { return qconv::bias_data(op_) != nullptr; }
  val biasView() const {
    const float* b = qconv::bias_data(op_);
    return val(typed_memory_view(b == nullptr ? 0 : static_cast<size_t>(qconv::operator_params(op_).out_channels), b));
  }

 private:
  // Input and output buffers grow only: a steady state allocates nothing.
  // An empty batch needs none (and gets none).
  static bool grow(uint8_t** buffer, size_t* capacity, size_t n) {
    if (n <= *capacity) return true;
    uint8_t* fresh = static_cast<uint8_t*>(std::malloc(n));
    if (fresh == nullptr) return false;
    std::free(*buffer);
    *buffer = fresh;
    *capacity = n;
    return true;
  }

  void clear_staging() {
    weights_.reset(0);
    scales_.reset(0);
    zero_points_.reset(0);
    bias_.reset(0);
  }

  qconv::Operator* op_ = nullptr;
  uint8_t* input_ = nullptr;
  uint8_t* output_ = nullptr;
  size_t input_capacity_ = 0, output_capacity_ = 0;
  size_t input_size_ = 0, output_size_ = 0;
  BoundRunners runners_;
  Staged<int8_t> weights_;
  Staged<double> scales_;
  Staged<double> zero_points_;
  Staged<float> bias_;
};

// A new native module, or null when memory is full (errorMessage() says so).
NativeConv* createNativeConv() {
  NativeConv* conv = new NativeConv();
  if (conv == nullptr) out_of_memory(static_cast<double>(sizeof(NativeConv)), "the module");
  return conv;
}

// A whole model (src/model.h): JS reads the .qconv model file and builds it
// node by node (numbers only: node names stay in JS, which adds them to the
// messages); a forward is reshape (cached for the same shape), the input
// copied into tensorView(input), run, and the output read from tensorView.
int live_models = 0;

class NativeModel {
 public:
  static void* operator new(size_t size) noexcept { return std::malloc(size); }
  static void operator delete(void* p) noexcept { std::free(p); }

  NativeModel() { ++live_models; }
  NativeModel(const NativeModel&) = delete;
  NativeModel& operator=(const NativeModel&) = delete;
  ~NativeModel() {
    --live_models;
    qconv::delete_model(model_);
    std::free(indices_);
  }
  bool init() {
    qconv::Error error;
    return qconv::create_model(&model_, &error) == qconv::Status::kOk;
  }

  // Returns the new tensor's index, or minus the Status.
  int addTensor(double channels, double scale, double zero_point) {
    int32_t index = -1;
    qconv::Error error;
    const qconv::Status s = qconv::add_tensor(model_, to_int64(channels), scale, zero_point, &index, &error);
    return s == qconv::Status::kOk ? index : -status_of(s, error);
  }
  int setInput(int tensor) {
    qconv::Error error;
    return status_of(qconv::set_model_input(model_, tensor, &error), error);
  }
  int setOutput(int tensor) {
    qconv::Error error;
    return status_of(qconv::set_model_output(model_, tensor, &error), error);
  }
  // Takes conv's operator (conv is left empty, whatever the outcome).
  int adoptConv(NativeConv& conv, int input, int output, bool relu, double output_length,
                int output_length_of) {
    qconv::Error error;
    return status_of(qconv::add_conv_node(model_, conv.release(), input, output, relu,
                                          to_int64(output_length), output_length_of, &error),
                     error);
  }
  int addUnary(int op, int input, int output, double a, double b) {
    qconv::Error error;
    return status_of(qconv::add_unary_node(model_, static_cast<qconv::ModelOp>(op), input,
                                           output, a, b, &error),
                     error);
  }
  int addAdd(int a, int b, int output, bool relu) {
    qconv::Error error;
    return status_of(qconv::add_add_node(model_, a, b, output, relu, &error), error);
  }
  // cat's inputs: JS fills stagedIndices(count) first.
  val stagedIndices(double count) {
    std::free(indices_);
    num_indices_ = static_cast<size_t>(std::fmin(std::fmax(count, 0), 1 << 20));
    indices_ = static_cast<int32_t*>(std::calloc(num_indices_ ? num_indices_ : 1, sizeof(int32_t)));
    if (indices_ == nullptr) num_indices_ = 0;
    return val(typed_memory_view(num_indices_, indices_));
  }
  int addCat(int output) {
    qconv::Error error;
    if (indices_ == nullptr) return out_of_memory(0, "the cat inputs");
    const int status = status_of(qconv::add_cat_node(model_, indices_, num_indices_, output, &error), error);
    std::free(indices_);
    indices_ = nullptr;
    num_indices_ = 0;
    return status;
  }
  int addReflectionPad(int input, int output, double left, double right, bool inspection_only) {
    qconv::Error error;
    return status_of(qconv::add_reflection_pad_node(model_, input, output, to_int64(left),
                                                    to_int64(right), inspection_only, &error),
                     error);
  }
  int reshape(double batch, double length, bool keep_all) {
    qconv::Error error;
    return status_of(qconv::reshape_model(model_, to_int64(batch), to_int64(length), keep_all, &error), error);
  }
  double tensorLength(int tensor) const { return static_cast<double>(qconv::model_tensor_length(model_, tensor)); }
  // The tensor's bytes [N, C, L] in the arena (valid until the next reshape
  // or memory growth).
  val tensorView(int tensor, double bytes) {
    uint8_t* data = qconv::model_tensor_data(model_, tensor);
    return val(typed_memory_view(data == nullptr ? 0 : static_cast<size_t>(bytes), data));
  }
  int run(double begin, double end) {
    qconv::Error error;
    return status_of(qconv::run_model(model_, static_cast<size_t>(count_of(begin)),
                                      static_cast<size_t>(count_of(end)), &error),
                     error);
  }
  double arenaBytes() const { return static_cast<double>(qconv::model_arena_bytes(model_)); }

 private:
  qconv::Model* model_ = nullptr;
  int32_t* indices_ = nullptr;
  size_t num_indices_ = 0;
};

// A new native model, or null when memory is full (errorMessage() says so).
NativeModel* createNativeModel() {
  NativeModel* m = new NativeModel();
  if (m != nullptr && m->init()) return m;
  delete m;
  out_of_memory(static_cast<double>(sizeof(NativeModel)), "the model");
  return nullptr;
}
int liveModels() { return live_models; }

val errorMessage() { return val(typed_memory_view(message_length, reinterpret_cast<uint8_t*>(message_text))); }

std::string kernelFlavour() { return qconv::kernel_flavour(); }
// "" on success, else the core's reason (the threaded flavour's pool was
// sized by the loader; the other flavours accept only 1).
std::string setNumThreads(double threads) {
  qconv::Error error;
  const qconv::Status status = qconv::set_num_threads(static_cast<size_t>(count_of(threads)), &error);
  return status == qconv::Status::kOk ? std::string() : error.message;
}
int numThreads() { return static_cast<int>(qconv::num_threads()); }
void setMinParallelWork(double multiply_adds) {
  qconv::set_min_parallel_work(static_cast<uint64_t>(multiply_adds));
}
int liveModules() { return live_modules; }
int liveRunners() { return qconv_bindings::live_runners; }
double memoryBytes() { return static_cast<double>(__builtin_wasm_memory_size(0)) * 65536.0; }
// Bytes malloc has handed out and not taken back (dlmalloc's count).
double heapBytesInUse() { return static_cast<double>(qconv::heap_bytes_in_use()); }
// Allocations operator new's fallback arena served (tests of a full heap).
double fallbackAllocations() { return static_cast<double>(qconv_fallback_allocations()); }

}  // namespace

// Plain exports (Module._qconv_*) for the per-call path. `conv` is a
// NativeConv's address(); the JS layer passes only live ones, or 0 once to
// make the glue swap its forwarding wrapper for the wasm function.
extern "C" {
constexpr int kInvalid = static_cast<int>(qconv::Status::kInvalidArgument);
EMSCRIPTEN_KEEPALIVE int qconv_run_bound(uintptr_t conv, int id) {
  return conv == 0 ? kInvalid : reinterpret_cast<NativeConv*>(conv)->runBound(id);
}
EMSCRIPTEN_KEEPALIVE double qconv_forward_setup(uintptr_t conv, double batch, double channels,
                                                double length, double scale, double zero_point,
                                                double requested_length) {
  if (conv == 0) return -kInvalid;
  return reinterpret_cast<NativeConv*>(conv)->setup(batch, channels, length, scale, zero_point,
                                                    requested_length);
}
EMSCRIPTEN_KEEPALIVE int qconv_run(uintptr_t conv) {
  return conv == 0 ? kInvalid : reinterpret_cast<NativeConv*>(conv)->run();
}
}

EMSCRIPTEN_BINDINGS(qconv) {
  emscripten::class_<NativeConv>("NativeConv")
      .function("create", &NativeConv::create)
      .function("stageWeights", &NativeConv::stageWeights)
      .function("stagedWeights", &NativeConv::stagedWeights)
      .function("stagedScales", &NativeConv::stagedScales)
      .function("stagedZeroPoints", &NativeConv::stagedZeroPoints)
      .function("stagedBias", &NativeConv::stagedBias)
      .function("commitWeights", &NativeConv::commitWeights)
      .function("setOutputQuantization", &NativeConv::setOutputQuantization)
      .function("setFusedRelu", &NativeConv::setFusedRelu)
      .function("outputScale", &NativeConv::outputScale)
      .function("outputZeroPoint", &NativeConv::outputZeroPoint)
      .function("outputLength", &NativeConv::outputLength)
      .function("setup", &NativeConv::setup)
      .function("inputView", &NativeConv::inputView)
      .function("outputView", &NativeConv::outputView)
      .function("run", &NativeConv::run)
      .function("address", &NativeConv::address)
      .function("bind", &NativeConv::bind)
      .function("boundOutputLength", &NativeConv::boundOutputLength)
      .function("boundInputView", &NativeConv::boundInputView)
      .function("boundOutputView", &NativeConv::boundOutputView)
      .function("unbind", &NativeConv::unbind)
      .function("runBound", &NativeConv::runBound)
      .function("empty", &NativeConv::empty)
      .function("paddingBefore", &NativeConv::paddingBefore)
      .function("weightView", &NativeConv::weightView)
      .function("weightScalesView", &NativeConv::weightScalesView)
      .function("weightZeroPointsView", &NativeConv::weightZeroPointsView)
      .function("weightPerChannel", &NativeConv::weightPerChannel)
      .function("hasBias", &NativeConv::hasBias)
      .function("biasView", &NativeConv::biasView);
  emscripten::class_<NativeModel>("NativeModel")
      .function("addTensor", &NativeModel::addTensor)
      .function("setInput", &NativeModel::setInput)
      .function("setOutput", &NativeModel::setOutput)
      .function("adoptConv", &NativeModel::adoptConv)
      .function("addUnary", &NativeModel::addUnary)
      .function("addAdd", &NativeModel::addAdd)
      .function("stagedIndices", &NativeModel::stagedIndices)
      .function("addCat", &NativeModel::addCat)
      .function("addReflectionPad", &NativeModel::addReflectionPad)
      .function("reshape", &NativeModel::reshape)
      .function("tensorLength", &NativeModel::tensorLength)
      .function("tensorView", &NativeModel::tensorView)
      .function("run", &NativeModel::run)
      .function("arenaBytes", &NativeModel::arenaBytes);
  emscripten::function("createNativeConv", &createNativeConv, emscripten::allow_raw_pointers());
  emscripten::function("createNativeModel", &createNativeModel, emscripten::allow_raw_pointers());
  emscripten::function("liveModels", &liveModels);
  emscripten::function("errorMessage", &errorMessage);
  emscripten::function("kernelFlavour", &kernelFlavour);
  emscripten::function("setNumThreads", &setNumThreads);
  emscripten::function("numThreads", &numThreads);
  emscripten::function("setMinParallelWork", &setMinParallelWork);
  emscripten::function("liveModules", &liveModules);
  emscripten::function("liveRunners", &liveRunners);
  emscripten::function("memoryBytes", &memoryBytes);
  emscripten::function("heapBytesInUse", &heapBytesInUse);
  emscripten::function("fallbackAllocations", &fallbackAllocations);
}
