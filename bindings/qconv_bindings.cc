// embind bindings: thin. Copies typed arrays into and out of the wasm heap,
// turns qconv::Status into an int the JS layer maps to TypeError/RangeError
// (the message comes from lastError()). Types are checked in js/, values in
// the core.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <malloc.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "qconv/qconv.h"

using emscripten::typed_memory_view;
using emscripten::val;

namespace {

// JS numbers arrive as doubles; the core decides what is in range. Clamp
// far-out values so the conversion itself is defined.
int64_t to_int64(double v) {
  if (std::isnan(v)) return INT64_MIN;
  if (v > 4.0e18) return int64_t{4000000000000000000};
  if (v < -4.0e18) return -int64_t{4000000000000000000};
  return static_cast<int64_t>(v);
}

// Copies up to `limit` numbers of a JS typed array into `out`.
template <typename T>
void copy_from_js(const val& array, size_t limit, std::vector<T>* out) {
  const size_t n = std::min(array["length"].as<size_t>(), limit);
  out->resize(n);
  if (n == 0) return;
  val view(typed_memory_view(n, out->data()));
  view.call<void>("set", n == array["length"].as<size_t>() ? array : array.call<val>("subarray", 0, n));
}

// Live NativeConv objects, so tests can prove that dispose() and the
// FinalizationRegistry free every one.
int live_modules = 0;

class NativeConv {
 public:
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
    const qconv::Status status = qconv::create_operator(p, &op, &error_);
    if (status != qconv::Status::kOk) return static_cast<int>(status);
    qconv::delete_operator(op_);
    op_ = op;
    return 0;
  }

  std::string lastError() const { return error_.message; }

  // weight: Int8Array; scales, zeroPoints: Float64Array; bias: Float32Array or null.
  int setWeightBias(val weight, val scales, val zero_points, bool per_channel, val bias) {
    const size_t n = weight["length"].as<size_t>();
    qconv::Status status = qconv::check_weight_size(op_, n, &error_);
    if (status != qconv::Status::kOk) return static_cast<int>(status);
    const size_t cout = static_cast<size_t>(qconv::operator_params(op_).out_channels);
    // Copy no more qparams / bias values than the core could accept: it
    // rejects a wrong count before reading them.
    std::vector<double> scale_values, zero_point_values;
    copy_from_js(scales, cout, &scale_values);
    copy_from_js(zero_points, cout, &zero_point_values);
    if (zero_points["length"].as<size_t>() != scales["length"].as<size_t>()) {
      error_.message = "setWeightBias: weight zeroPoint must have as many entries as scale";
      return static_cast<int>(qconv::Status::kInvalidArgument);
    }
    int8_t* weight_copy = static_cast<int8_t*>(std::malloc(n));
    if (weight_copy == nullptr) {
      error_.message = "setWeightBias: no wasm memory left for " + std::to_string(n) + " weight bytes";
      return static_cast<int>(qconv::Status::kOutOfMemory);
    }
    val(typed_memory_view(n, weight_copy)).call<void>("set", weight);
    std::vector<float> bias_values;
    size_t bias_size = 0;
    const bool has_bias = !bias.isNull() && !bias.isUndefined();
    if (has_bias) {
      bias_size = bias["length"].as<size_t>();
      copy_from_js(bias, cout, &bias_values);
    }
    qconv::WeightDesc desc;
    desc.data = weight_copy;
    desc.size = n;
    desc.scales = scale_values.data();
    desc.zero_points = zero_point_values.data();
    desc.num_qparams = scales["length"].as<size_t>();
    desc.per_channel = per_channel;
    status = qconv::set_weights(op_, desc, has_bias ? bias_values.data() : nullptr, bias_size,
                                &error_);
    std::free(weight_copy);
    return static_cast<int>(status);
  }

  int setOutputQuantization(double scale, double zero_point) {
    return static_cast<int>(qconv::set_output_quantization(op_, scale, zero_point, &error_));
  }
  double outputScale() const { return qconv::output_scale(op_); }
  int outputZeroPoint() const { return qconv::output_zero_point(op_); }

  // Returns the output length, or -1 with lastError() set.
  double outputLength(double input_length, double requested) {
    int64_t n = 0;
    const qconv::Status status = qconv::compute_output_length(op_, to_int64(input_length),
                                                              to_int64(requested), &n, &error_);
    return status == qconv::Status::kOk ? static_cast<double>(n) : -1.0;
  }

  // Validates the input and sizes the buffers; then inputView() takes the
  // input bytes, run() computes, outputView() holds the result. Returns the
  // output length, or minus the Status (lastError() says why): one call per
  // forward instead of two, which matters for tiny inputs.
  double setup(double batch, double channels, double length, double scale, double zero_point,
            double requested_length) {
    qconv::InputDesc in;
    in.batch = to_int64(batch);
    in.channels = to_int64(channels);
    in.length = to_int64(length);
    in.scale = scale;
    in.zero_point = zero_point;
    int64_t lout = 0;
    qconv::Status status = qconv::reshape(op_, in, to_int64(requested_length), &lout, &error_);
    if (status != qconv::Status::kOk) return -static_cast<double>(status);
    const qconv::ConvParams& p = qconv::operator_params(op_);
    // reshape() has checked that these products fit in 2 GiB.
    const size_t in_bytes = static_cast<size_t>(in.batch * p.in_channels * in.length);
    const size_t out_bytes = static_cast<size_t>(in.batch * p.out_channels * lout);
    if (!grow(&input_, &input_capacity_, in_bytes) || !grow(&output_, &output_capacity_, out_bytes)) {
      error_.message = std::string(p.kind == qconv::OperatorKind::kConv1d ? "Conv1d" : "ConvTranspose1d") +
                       ": no wasm memory left for " + std::to_string(in_bytes) + " input and " +
                       std::to_string(out_bytes) + " output bytes";
      return -static_cast<double>(qconv::Status::kOutOfMemory);
    }
    input_size_ = in_bytes;
    output_size_ = out_bytes;
    status = qconv::setup(op_, input_, output_);
    return status == qconv::Status::kOk ? static_cast<double>(lout) : -static_cast<double>(status);
  }

  val inputView() const { return val(typed_memory_view(input_size_, input_)); }
  val outputView() const { return val(typed_memory_view(output_size_, output_)); }
  int run() { return static_cast<int>(qconv::run(op_)); }

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
  val biasView() const {
    const float* b = qconv::bias_data(op_);
    if (b == nullptr) return val::null();
    return val(typed_memory_view(static_cast<size_t>(qconv::operator_params(op_).out_channels), b));
  }

 private:
  static bool grow(uint8_t** buffer, size_t* capacity, size_t n) {
    if (n <= *capacity) return true;
    uint8_t* fresh = static_cast<uint8_t*>(std::malloc(n));
    if (fresh == nullptr) return false;
    std::free(*buffer);
    *buffer = fresh;
    *capacity = n;
    return true;
  }

  qconv::Operator* op_ = nullptr;
  qconv::Error error_;
  uint8_t* input_ = nullptr;
  uint8_t* output_ = nullptr;
  size_t input_capacity_ = 0, output_capacity_ = 0;
  size_t input_size_ = 0, output_size_ = 0;
};

std::string kernelFlavour() { return qconv::kernel_flavour(); }
// "" on success, else the reason (the threaded flavour's pool was sized by
// the loader; the other flavours accept only 1).
std::string setNumThreads(int threads) {
  qconv::Error error;
  if (threads < 1) return "numThreads must be >= 1";
  const qconv::Status status = qconv::set_num_threads(static_cast<size_t>(threads), &error);
  return status == qconv::Status::kOk ? std::string() : error.message;
}
int numThreads() { return static_cast<int>(qconv::num_threads()); }
void setMinParallelWork(double multiply_adds) {
  qconv::set_min_parallel_work(static_cast<uint64_t>(multiply_adds));
}
int liveModules() { return live_modules; }
double memoryBytes() { return static_cast<double>(__builtin_wasm_memory_size(0)) * 65536.0; }
// Bytes malloc has handed out and not taken back (dlmalloc's count).
double heapBytesInUse() { return static_cast<double>(mallinfo().uordblks); }

}  // namespace

EMSCRIPTEN_BINDINGS(qconv) {
  emscripten::class_<NativeConv>("NativeConv")
      .constructor<>()
      .function("create", &NativeConv::create)
      .function("lastError", &NativeConv::lastError)
      .function("setWeightBias", &NativeConv::setWeightBias)
      .function("setOutputQuantization", &NativeConv::setOutputQuantization)
      .function("outputScale", &NativeConv::outputScale)
      .function("outputZeroPoint", &NativeConv::outputZeroPoint)
      .function("outputLength", &NativeConv::outputLength)
      .function("setup", &NativeConv::setup)
      .function("inputView", &NativeConv::inputView)
      .function("outputView", &NativeConv::outputView)
      .function("run", &NativeConv::run)
      .function("weightView", &NativeConv::weightView)
      .function("weightScalesView", &NativeConv::weightScalesView)
      .function("weightZeroPointsView", &NativeConv::weightZeroPointsView)
      .function("weightPerChannel", &NativeConv::weightPerChannel)
      .function("biasView", &NativeConv::biasView);
  emscripten::function("kernelFlavour", &kernelFlavour);
  emscripten::function("setNumThreads", &setNumThreads);
  emscripten::function("numThreads", &numThreads);
  emscripten::function("setMinParallelWork", &setMinParallelWork);
  emscripten::function("liveModules", &liveModules);
  emscripten::function("memoryBytes", &memoryBytes);
  emscripten::function("heapBytesInUse", &heapBytesInUse);
}
