// Conv1d and ConvTranspose1d operators: validation (SEMANTICS.md §0),
// weight packing, setup (output length, requantization plan, scratch) and run.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

#include "buffer.h"
#include "heap.h"
#if QCONV_HAVE_XNNPACK
#include "xnnpack_deconvolution.h"
#endif
#include "microkernels/microkernels.h"
#include "qconv/qconv.h"
#include "quantization.h"
#include "threadpool.h"

namespace qconv {

// Below this many multiply-adds a forward runs on one thread: waking the
// others costs more than it saves (by default about 25 us of work at 40
// GMAC/s; browsers wake workers more slowly, and their loader sets more).
std::atomic<uint64_t> min_parallel_macs{uint64_t{1} << 20};

// One dense convolution that run() computes: a ConvTranspose1d output phase
// (the outputs o with (o + padding) mod stride == residue, whose taps are the
// kernel positions k with k*dilation mod stride == residue: subconvolution,
// no inserted zero is ever multiplied) or the whole of a Conv1d.
//
// Phases are derived from their index, not stored: a kernel with stride >= K
// has K phases of one tap each, and a stored plan per phase (or per tap)
// would outweigh weights of a byte or two per tap many times over. Phase i
// of a ConvTranspose1d holds the taps k = i (mod tap_period), i <
// min(K, tap_period). The operator caches the first kCachedPhases.
struct Phase {
  int64_t residue = 0;
  size_t first_tap = 0;  // taps in the phases before this one
  size_t num_taps = 0;
  // Tap t is kernel position tap_k0 + t * tap_k_step, ordered so that input
  // rows ascend (ConvTranspose1d: the largest k first).
  int64_t tap_k0 = 0;
  int64_t tap_k_step = 1;
  // ConvTranspose1d: output j of the phase is o = residue + j*stride - padding
  // and tap k reads input row j - c(k), c(k) = (k*dilation - residue) / stride.
  int64_t j_first = 0;      // first j with o >= 0
  int64_t c_first = 0;      // c of the first tap (the largest)
  int64_t c_last = 0;       // c of the last tap (the smallest)
  int64_t tap_row_step = 0; // input rows between consecutive taps
  // conv1d kernel: kc int16 per tap run, ks runs; packed weights per group.
  size_t kc = 0, ks = 0;
  size_t packed_offset = 0;       // in int32 units
  size_t packed_group_stride = 0; // in int32 units
  // dwconv1d kernel: weights [out channel][in channel of group][tap] and row
  // pointers [in channel of group][tap] (group g's are g*cin_g channel rows on).
  size_t dw_weight_offset = 0;
  size_t dw_rows_offset = 0;
  // Per shape (reshape).
  int64_t out_first = 0;  // first output position
  int64_t count = 0;      // outputs in the phase
  int64_t row_first = 0;  // conv1d path: padded input row of output 0, tap 0
};

struct OutputEnd {
  int64_t quotient = 0, remainder = 0;
};

struct Operator {
  ConvParams params;
  int64_t in_per_group = 0;
  int64_t out_per_group = 0;
  Backend backend = Backend::kDefault;
  const KernelSet* kernels = nullptr;

  // What the caller gave, kept for the accessors.
  Buffer<int8_t> weight;
  Buffer<double> weight_scales;
  Buffer<double> weight_zero_points;
  bool per_channel = false;
  Buffer<float> bias;  // empty (size 0) when there is no bias
  bool has_bias = false;

  // The plan, fixed by the parameters (create).
  bool channel_major = false;  // dwconv1d path instead of the conv1d tile
  size_t num_phases = 0;       // phases with at least one tap
  int64_t tap_period = 1;      // ConvTranspose1d: taps k and k + tap_period share a phase
  int64_t period_rows = 0;     // ConvTranspose1d: input rows between those two taps
  size_t long_phases = 0;      // the first long_phases phases have long_taps taps,
  size_t long_taps = 0;        // the others long_taps - 1
  size_t group_words_long = 0, group_words_short = 0;  // conv1d path: packed words per group and phase
  int64_t pad_quotient = 0, pad_remainder = 0;         // ConvTranspose1d: padding / stride, % stride
  int64_t dilation_quotient = 0, dilation_remainder = 0;  // ConvTranspose1d: dilation / stride, % stride
  Buffer<Phase> phase_cache;   // the first phases, with their per-shape fields
  int64_t pad_before = 0;      // zero (or reflected) rows before the input
  // Packed once per set_weights, in the order the kernels read them.
  Buffer<int32_t> packed;      // conv1d path: blocks of kConv1dNr channels
  Buffer<int16_t> dw_weights;  // dwconv1d path

  double out_scale = 1.0;
  int32_t out_zero_point = 0;

  // Derived from (weights, input scale, output scale); rebuilt when one changes.
  bool derived_valid = false;
  double derived_input_scale = 0.0;
  double derived_output_scale = 0.0;
  Buffer<int32_t> quantized_bias;
  Buffer<float> requant_scales;
  Buffer<uint8_t> bias_only_output;  // requantized bias: outputs no tap reaches

  // Reshape and setup state.
  bool ready = false;
  int64_t batch = 0;
  int64_t length = 0;
  int64_t output_length = 0;
  int64_t pad_after = 0;
  int64_t padded_rows = 0;     // pad_before + L + pad_after
  int64_t row_length = 0;      // dwconv1d path: int16 per (channel, sub-row)
  int64_t sub_rows = 1;        // dwconv1d path: sub-rows per channel (Conv1d's stride)
  OutputEnd output_end;        // ConvTranspose1d: see output_end()
  bool has_bias_only_outputs = false;
  int64_t j_begin = 0, j_end = 0, j_block = 1;  // conv1d path: blocks of phase index j
  // conv1d path with blocks: the kernels write a block's outputs here, rows
  // staging_stride apart, then whole rows are copied out. Output rows lout
  // apart (often a power of two) would map channels onto the same cache sets.
  size_t staging_stride = 0;
  Buffer<uint8_t> staging;
  int32_t input_zero_point = 0;
  const uint8_t* input = nullptr;
  uint8_t* output = nullptr;
#if QCONV_HAVE_XNNPACK
  // Backend::kXnnpack: XNNPACK's operator, rebuilt when what it was created
  // with (weights, input and output quantization) changes.
  xnnpack::Deconvolution* xnnpack_op = nullptr;
  bool xnnpack_stale = true;
  double xnnpack_input_scale = 0, xnnpack_output_scale = 0;
  int32_t xnnpack_input_zero_point = -1, xnnpack_output_zero_point = -1;
  int64_t xnnpack_output_padding = 0;
  ~Operator() { xnnpack::delete_deconvolution(xnnpack_op); }
#endif
  // Threads (planned at reshape, from the pool's size then). With
  // batch_parallel each thread runs whole batch items on its own copy of the
  // scratch (input_rows, staging); otherwise batch items run one after the
  // other and the threads share each item's tiles.
  size_t threads = 1;
  bool batch_parallel = false;
  size_t rows_stride = 0;               // int16 per copy of input_rows
  int64_t prepare_chunk = 1;            // input channels per preparation item
  int64_t channel_chunk = 1;            // output channels per compute item (per group)
  Buffer<int16_t> input_rows;           // conv1d path: [row][Cin]; dwconv1d: [Cin][sub-row][row_length]
  Buffer<const int16_t*> dw_row_table;  // dwconv1d path
};

namespace {

const char* kind_name(const ConvParams& p) {
  return p.kind == OperatorKind::kConv1d ? "Conv1d" : "ConvTranspose1d";
}

// JavaScript's way of printing a number, so that messages read the same in
// JS and in native tests.
std::string num(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  char buf[40];
  if (v == std::floor(v) && std::fabs(v) < 1e21) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

Status fail(Error* error, Status status, const std::string& message) {
  if (error != nullptr) error->message = message;
  return status;
}

Status invalid(Error* error, const ConvParams& p, const std::string& message) {
  return fail(error, Status::kInvalidArgument, std::string(kind_name(p)) + ": " + message);
}

Status too_large(Error* error, const ConvParams& p, const std::string& what, uint64_t bytes) {
  return fail(error, Status::kOutOfMemory,
              std::string(kind_name(p)) + ": " + what + " needs " + num(static_cast<double>(bytes)) +
                  " bytes, more than wasm memory can hold (2 GiB)");
}

// An allocation within the limits failed: the heap is full (in wasm, memory
// could not grow further). Says how much was asked and how much is held, so
// the caller knows what freeing would help.
Status out_of_memory(Error* error, const ConvParams& p, const std::string& what, uint64_t bytes) {
  return fail(error, Status::kOutOfMemory,
              std::string(kind_name(p)) + ": out of memory: needs " + num(static_cast<double>(bytes)) +
                  " bytes for " + what + ", " + num(static_cast<double>(heap_bytes_in_use())) +
                  " in use");
}

// a * b, saturating at UINT64_MAX instead of wrapping.
uint64_t mul_sat(uint64_t a, uint64_t b) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) {
    return std::numeric_limits<uint64_t>::max();
  }
  return a * b;
}

bool is_integer_in(double v, double lo, double hi) {
  return std::isfinite(v) && v == std::floor(v) && v >= lo && v <= hi;
}

std::string weight_shape_string(const ConvParams& p) {
  const int64_t a = p.kind == OperatorKind::kConvTranspose1d ? p.in_channels : p.out_channels;
  const int64_t b = p.kind == OperatorKind::kConvTranspose1d ? p.out_channels / p.groups
                                                             : p.in_channels / p.groups;
  return "[" + num(static_cast<double>(a)) + ", " + num(static_cast<double>(b)) + ", " +
         num(static_cast<double>(p.kernel_size)) + "]";
}

uint64_t weight_elements(const ConvParams& p) {
  return mul_sat(mul_sat(static_cast<uint64_t>(p.out_channels),
                         static_cast<uint64_t>(p.in_channels / p.groups)),
                 static_cast<uint64_t>(p.kernel_size));
}

// Conv1d's padding after the input: asymmetric when it differs from p.padding.
int64_t padding_after(const ConvParams& p) {
  return p.padding_right >= 0 ? p.padding_right : p.padding;
}

// The padding as messages show it: "2", or "1 before and 2 after the input",
// prefixed with "'same': " for padding='same'.
std::string padding_string(const ConvParams& p) {
  const int64_t after = padding_after(p);
  std::string s = p.padding_same ? "'same': " : "";
  if (after == p.padding && !p.padding_same) return num(static_cast<double>(p.padding));
  return s + num(static_cast<double>(p.padding)) + " before and " + num(static_cast<double>(after)) +
         " after the input";
}

// padding='same' resolved (create_operator): dilation*(K-1) in all, the
// larger half after the input, as PyTorch splits it. Left unresolved when
// the sizes it needs are out of range (validate_params reports them).
ConvParams resolve_same_padding(const ConvParams& params) {
  ConvParams p = params;
  const int64_t int32_max = std::numeric_limits<int32_t>::max();
  if (p.padding_same && p.kind == OperatorKind::kConv1d && p.kernel_size >= 1 &&
      p.kernel_size <= int32_max && p.dilation >= 1 && p.dilation <= int32_max) {
    const int64_t total = p.dilation * (p.kernel_size - 1);
    p.padding = total / 2;
    p.padding_right = total - total / 2;
  }
  return p;
}

Status validate_params(const ConvParams& p, Error* error) {
  struct Rule {
    const char* name;
    int64_t value;
    int64_t minimum;
  };
  const bool transposed = p.kind == OperatorKind::kConvTranspose1d;
  const Rule rules[] = {
      {"inChannels", p.in_channels, 1}, {"outChannels", p.out_channels, 1},
      {"kernelSize", p.kernel_size, 1}, {"stride", p.stride, 1},
      {"padding", p.padding, 0},        {"outputPadding", p.output_padding, 0},
      {"dilation", p.dilation, 1},      {"groups", p.groups, 1},
  };
  for (const Rule& r : rules) {
    if (!transposed && std::strcmp(r.name, "outputPadding") == 0) continue;
    if (r.value < r.minimum) {
      return invalid(error, p,
                     std::string(r.name) + " (" + num(static_cast<double>(r.value)) +
                         ") must be an integer >= " + num(static_cast<double>(r.minimum)));
    }
    if (r.value > std::numeric_limits<int32_t>::max()) {
      return invalid(error, p,
                     std::string(r.name) + " (" + num(static_cast<double>(r.value)) +
                         ") must be at most 2147483647");
    }
  }
  if (p.padding_same) {
    if (transposed) {
      return invalid(error, p, "padding 'same' is a Conv1d option; ConvTranspose1d takes an integer");
    }
    if (p.stride != 1) {
      return invalid(error, p,
                     "stride (" + num(static_cast<double>(p.stride)) +
                         ") must be 1 with padding 'same' (PyTorch does not support padding='same' "
                         "for strided convolutions)");
    }
  }
  if (p.padding_right != -1) {
    if (transposed) {
      return invalid(error, p, "paddingRight (" + num(static_cast<double>(p.padding_right)) +
                                   ") is not a ConvTranspose1d parameter and must be -1");
    }
    if (p.padding_right < 0 || p.padding_right > std::numeric_limits<int32_t>::max()) {
      return invalid(error, p,
                     "paddingRight (" + num(static_cast<double>(p.padding_right)) +
                         ") must be an integer in [0, 2147483647], or -1 for as much as padding");
    }
  }
  if (!transposed && p.output_padding != 0) {
    return invalid(error, p, "outputPadding (" + num(static_cast<double>(p.output_padding)) +
                                 ") is not a Conv1d parameter and must be 0");
  }
  if (p.in_channels % p.groups != 0 || p.out_channels % p.groups != 0) {
    return invalid(error, p,
                   "groups (" + num(static_cast<double>(p.groups)) + ") must divide inChannels (" +
                       num(static_cast<double>(p.in_channels)) + ") and outChannels (" +
                       num(static_cast<double>(p.out_channels)) + ")");
  }
  if (transposed) {
    if (p.padding_mode != PaddingMode::kZeros) {
      return invalid(error, p, "paddingMode must be 'zeros' (the only mode PyTorch supports here)");
    }
    const int64_t limit = p.stride > p.dilation ? p.stride : p.dilation;
    if (p.output_padding >= limit) {
      return invalid(error, p,
                     "outputPadding (" + num(static_cast<double>(p.output_padding)) +
                         ") must be smaller than stride (" + num(static_cast<double>(p.stride)) +
                         ") or dilation (" + num(static_cast<double>(p.dilation)) + ")");
    }
  }
  // int8 copy + int16 packed copy of the weights.
  const uint64_t bytes = mul_sat(weight_elements(p), 3);
  if (bytes > kMaxBytes) {
    return too_large(error, p, "a weight of shape " + weight_shape_string(p), bytes);
  }
  return Status::kOk;
}

// Phases kept in Operator::phase_cache (with their per-shape fields): all
// of them for every usual kernel, so run() reads them; beyond, it derives them.
constexpr size_t kCachedPhases = 16;
// Packed weights stay within 4 bytes per weight element plus this (the
// conv1d tile's padding and per-block bias and scales); where its packing
// would take more, the operator takes the dwconv1d kernel (2 bytes each).
constexpr uint64_t kPackedSlackBytes = uint64_t{64} << 10;

// conv1d path: kc and ks of a phase of n taps, and its packed int32 words
// per group. Tap runs that are contiguous in the [row][Cin] layout (one
// group, taps on consecutive rows) become one long dot product: the dense
// GEMM case.
void conv1d_shape(const Operator* op, size_t n, size_t* kc, size_t* ks) {
  const ConvParams& p = op->params;
  const int64_t row_step = p.kind == OperatorKind::kConvTranspose1d ? op->period_rows : p.dilation;
  const bool contiguous = p.groups == 1 && (n == 1 || row_step == 1);
  *kc = contiguous ? n * static_cast<size_t>(op->in_per_group) : static_cast<size_t>(op->in_per_group);
  *ks = contiguous ? 1 : n;
}
uint64_t conv1d_group_words(const Operator* op, size_t n) {
  if (n == 0) return 0;
  size_t kc = 0, ks = 0;
  conv1d_shape(op, n, &kc, &ks);
  const uint64_t blocks = static_cast<uint64_t>((op->out_per_group + kConv1dNr - 1) / kConv1dNr);
  return mul_sat(blocks, conv1d_packed_block_bytes(kc, ks) / sizeof(int32_t));
}

// Fills a phase's plan from its index, num_taps, first_tap, residue and
// c_last (phase_plan and phase_step set those).
void complete_phase(const Operator* op, Phase* ph, size_t i) {
  const ConvParams& p = op->params;
  if (p.kind == OperatorKind::kConvTranspose1d) {
    const int64_t last = static_cast<int64_t>(ph->num_taps) - 1;
    ph->tap_k0 = static_cast<int64_t>(i) + last * op->tap_period;
    ph->tap_k_step = -op->tap_period;
    // c(k) = (k*dilation - residue) / stride grows by period_rows per period.
    ph->c_first = ph->c_last + last * op->period_rows;
    ph->tap_row_step = ph->num_taps > 1 ? op->period_rows : 0;
    // j_first = max(0, ceil((padding - residue) / stride)), 0 <= residue < stride.
    ph->j_first = ph->residue < op->pad_remainder ? op->pad_quotient + 1 : op->pad_quotient;
  } else {
    ph->tap_row_step = p.dilation;
  }
  // Each kernel path's fields (build_plan needs the conv1d ones to choose).
  if (op->channel_major) {
    ph->dw_weight_offset = static_cast<size_t>(p.out_channels * op->in_per_group) * ph->first_tap;
    ph->dw_rows_offset = static_cast<size_t>(op->in_per_group) * ph->first_tap;
  } else {
    conv1d_shape(op, ph->num_taps, &ph->kc, &ph->ks);
    ph->packed_group_stride = i < op->long_phases ? op->group_words_long : op->group_words_short;
  }
}

// Phase i's plan (what depends on the parameters only).
Phase phase_plan(const Operator* op, size_t i) {
  const ConvParams& p = op->params;
  Phase ph;
  const bool long_phase = i < op->long_phases;
  const size_t shorter = long_phase ? 0 : i - op->long_phases;
  ph.num_taps = long_phase ? op->long_taps : op->long_taps - 1;
  ph.first_tap = i * op->long_taps - shorter;
  ph.packed_offset = static_cast<size_t>(p.groups) *
                     ((i - shorter) * op->group_words_long + shorter * op->group_words_short);
  if (p.kind == OperatorKind::kConvTranspose1d) {
    const int64_t kd = static_cast<int64_t>(i) * p.dilation;
    ph.residue = kd % p.stride;
    ph.c_last = kd / p.stride;
  }
  complete_phase(op, &ph, i);
  return ph;
}

// Phase i (a ConvTranspose1d's; a Conv1d has one) into phase i + 1, without
// a division.
void phase_step(const Operator* op, Phase* ph, size_t i) {
  const ConvParams& p = op->params;
  ph->first_tap += ph->num_taps;
  ph->packed_offset += static_cast<size_t>(p.groups) * ph->packed_group_stride;
  if (i + 1 == op->long_phases) ph->num_taps = op->long_taps - 1;
  ph->residue += op->dilation_remainder;
  ph->c_last += op->dilation_quotient;
  if (ph->residue >= p.stride) {
    ph->residue -= p.stride;
    ++ph->c_last;
  }
  complete_phase(op, ph, i + 1);
}

// ConvTranspose1d: lout - 1 + padding divided by the stride, so that
// phase_shape (once per phase and call when phases are not cached) divides
// nothing.
OutputEnd output_end(const ConvParams& p, int64_t lout) {
  const int64_t a = lout - 1 + p.padding;  // >= 0
  return OutputEnd{a / p.stride, a % p.stride};
}

// A phase's per-shape fields for an output of length lout (end: output_end).
void phase_shape(const Operator* op, Phase* ph, int64_t lout, OutputEnd end) {
  const ConvParams& p = op->params;
  if (p.kind == OperatorKind::kConvTranspose1d) {
    // j_last = floor((lout - 1 + padding - residue) / stride), 0 <= residue < stride.
    const int64_t j_last = ph->residue <= end.remainder ? end.quotient : end.quotient - 1;
    ph->count = std::max<int64_t>(0, j_last - ph->j_first + 1);
    ph->out_first = ph->residue + p.stride * ph->j_first - p.padding;
    ph->row_first = op->pad_before + ph->j_first - ph->c_first;
  } else {
    ph->count = lout;
    ph->out_first = 0;
    ph->row_first = 0;
  }
}

// The phases with their per-shape fields, for loops over them in order:
// the cached ones as stored, the others each derived from the one before
// (phase_step) when the loop goes in order, else from its index.
class PhaseWalk {
 public:
  // The shape of the last reshape.
  explicit PhaseWalk(const Operator* op)
      : PhaseWalk(op, op->output_length, op->output_end, op->phase_cache.size()) {}
  // Another shape (reshape), reading the first `cached` phases from the cache.
  PhaseWalk(const Operator* op, int64_t lout, OutputEnd end, size_t cached)
      : op_(op), lout_(lout), end_(end), cached_(cached) {}

  const Phase& at(size_t i) {
    if (i < cached_) return op_->phase_cache[i];
    if (have_ && i == index_ + 1) {
      phase_step(op_, &ph_, index_);
    } else {
      ph_ = phase_plan(op_, i);
    }
    have_ = true;
    index_ = i;
    phase_shape(op_, &ph_, lout_, end_);
    return ph_;
  }

 private:
  const Operator* op_;
  int64_t lout_;
  OutputEnd end_;
  size_t cached_;
  Phase ph_;
  size_t index_ = 0;
  bool have_ = false;
};

// The phases, the kernel path and the packed-buffer sizes; depends only on
// the parameters.
Status build_plan(Operator* op, Error* error) {
  const ConvParams& p = op->params;
  const bool transposed = p.kind == OperatorKind::kConvTranspose1d;
  const int64_t K = p.kernel_size, s = p.stride, d = p.dilation;
  const int64_t cin_g = op->in_per_group, cout_g = op->out_per_group;
  if (transposed) {
    // Taps k and k' share a phase when (k - k')*d = 0 (mod s), that is when
    // k = k' (mod s / gcd(d, s)).
    int64_t a = d, b = s;
    while (b != 0) {
      const int64_t r = a % b;
      a = b;
      b = r;
    }
    op->tap_period = s / a;
    op->period_rows = d / a;
    op->num_phases = static_cast<size_t>(std::min(K, op->tap_period));
    op->long_taps = static_cast<size_t>((K + op->tap_period - 1) / op->tap_period);
    op->long_phases = K % op->tap_period == 0 ? op->num_phases : static_cast<size_t>(K % op->tap_period);
  } else {
    op->num_phases = 1;
    op->long_taps = static_cast<size_t>(K);
    op->long_phases = 1;
  }
  op->group_words_long = static_cast<size_t>(conv1d_group_words(op, op->long_taps));
  op->group_words_short = static_cast<size_t>(conv1d_group_words(op, op->long_taps - 1));
  op->pad_quotient = p.padding / s;
  op->pad_remainder = p.padding % s;
  op->dilation_quotient = d / s;
  op->dilation_remainder = d % s;
  op->pad_before = transposed ? 0 : p.padding;
  if (transposed) {
    PhaseWalk walk(op, 0, OutputEnd(), 0);
    for (size_t i = 0; i < op->num_phases; ++i) {
      const Phase& ph = walk.at(i);
      op->pad_before = std::max(op->pad_before, ph.c_first - ph.j_first);
    }
  }

  // The 4x8 tile wastes most of its work below 5 channels per group, or on
  // 1-2 values per tap run, and its packing (8-channel blocks, even runs, a
  // bias and scale per block and phase) can outweigh the weights many times
  // (one tap per phase, few channels): those shapes take the channel-major
  // kernel.
  const uint64_t weights = weight_elements(p);
  const uint64_t long_tap_phases = op->long_phases;
  const uint64_t conv1d_words = mul_sat(
      static_cast<uint64_t>(p.groups),
      mul_sat(long_tap_phases, conv1d_group_words(op, op->long_taps)) +
          mul_sat(op->num_phases - long_tap_phases, conv1d_group_words(op, op->long_taps - 1)));
  // (group_words_* are size_t: they are used only when the conv1d packing fits.)
  const uint64_t conv1d_bytes = mul_sat(conv1d_words, sizeof(int32_t));
  const int64_t row_step = transposed ? op->period_rows : d;
  const bool all_contiguous = p.groups == 1 && (op->long_taps == 1 || row_step == 1);
  op->channel_major = cout_g <= 4 || (cin_g <= 2 && !all_contiguous) ||
                      conv1d_bytes > 4 * weights + kPackedSlackBytes ||
                      weights + conv1d_bytes > kMaxBytes;
  const uint64_t packed_bytes = op->channel_major ? weights * sizeof(int16_t) : conv1d_bytes;
  if (packed_bytes > kMaxBytes) {
    return too_large(error, p, "the packed weights of shape " + weight_shape_string(p),
                     packed_bytes);
  }
  if ((op->channel_major ? !op->dw_weights.reserve_discard(static_cast<size_t>(weights))
                         : !op->packed.reserve_discard(static_cast<size_t>(conv1d_words))) ||
      !op->phase_cache.reserve_discard(std::min(op->num_phases, kCachedPhases))) {
    return out_of_memory(error, p, "the packed weights of shape " + weight_shape_string(p),
                         packed_bytes);
  }
  for (size_t i = 0; i < op->phase_cache.size(); ++i) op->phase_cache[i] = phase_plan(op, i);
  return Status::kOk;
}

// Weight minus its zero point, for output channel co, input channel ci of
// co's group and kernel position k.
int16_t centred_weight(const Operator* op, int64_t co, int64_t ci, int64_t k) {
  const ConvParams& p = op->params;
  const int64_t K = p.kernel_size, cin_g = op->in_per_group, cout_g = op->out_per_group;
  const int32_t zp =
      static_cast<int32_t>(op->weight_zero_points[op->per_channel ? static_cast<size_t>(co) : 0]);
  int64_t index;
  if (p.kind == OperatorKind::kConvTranspose1d) {
    const int64_t g = co / cout_g;  // PyTorch: weight[ci][co of group][k]
    index = ((g * cin_g + ci) * cout_g + (co - g * cout_g)) * K + k;
  } else {
    index = (co * cin_g + ci) * K + k;  // weight[co][ci][k]
  }
  return static_cast<int16_t>(op->weight[static_cast<size_t>(index)] - zp);
}

void pack_weights(Operator* op) {
  const ConvParams& p = op->params;
  const int64_t cin_g = op->in_per_group, cout_g = op->out_per_group;
  PhaseWalk walk(op, 0, OutputEnd(), 0);
  for (size_t i = 0; i < op->num_phases; ++i) {
    const Phase& ph = walk.at(i);
    auto tap_k = [&ph](size_t t) { return ph.tap_k0 + static_cast<int64_t>(t) * ph.tap_k_step; };
    if (op->channel_major) {
      int16_t* w = op->dw_weights.data() + ph.dw_weight_offset;
      for (int64_t co = 0; co < p.out_channels; ++co) {
        for (int64_t ci = 0; ci < cin_g; ++ci) {
          for (size_t t = 0; t < ph.num_taps; ++t) *w++ = centred_weight(op, co, ci, tap_k(t));
        }
      }
      continue;
    }
    const bool contiguous = ph.ks == 1;
    for (int64_t g = 0; g < p.groups; ++g) {
      pack_conv1d_weights(
          static_cast<size_t>(cout_g), ph.kc, ph.ks,
          [&](size_t n, size_t t, size_t k) {
            // Contiguous runs hold the taps one after another, cin_g values each.
            const size_t tap = contiguous ? k / static_cast<size_t>(cin_g) : t;
            const size_t ci = contiguous ? k % static_cast<size_t>(cin_g) : k;
            return centred_weight(op, g * cout_g + static_cast<int64_t>(n),
                                  static_cast<int64_t>(ci), tap_k(tap));
          },
          op->packed.data() + ph.packed_offset + g * ph.packed_group_stride);
    }
  }
}

// Conv1d with a 1-wide kernel, unit stride and no padding runs QNNPACK's
// GEMM path, whose packer keeps the int32 bias exact (§4.2).
bool uses_gemm_bias(const ConvParams& p) {
  return p.kind == OperatorKind::kConv1d && p.kernel_size == 1 && p.stride == 1 &&
         ((p.padding == 0 && padding_after(p) == 0) || p.padding_mode == PaddingMode::kReflect);
}

}  // namespace

Status create_operator(const ConvParams& requested_params, Operator** op_out, Error* error) {
  *op_out = nullptr;
  const ConvParams params = resolve_same_padding(requested_params);
  Status status = validate_params(params, error);
  if (status != Status::kOk) return status;
  Operator* op = new (std::nothrow) Operator();
  if (op == nullptr) return out_of_memory(error, params, "the operator", sizeof(Operator));
  op->params = params;
  op->in_per_group = params.in_channels / params.groups;
  op->out_per_group = params.out_channels / params.groups;

  // A new module: all-zero per-tensor weights (scale 1, zero point 0), zero
  // bias when `bias` is set.
  const size_t n = static_cast<size_t>(weight_elements(params));
  const size_t cout = static_cast<size_t>(params.out_channels);
  if (!op->weight.reserve_discard(n) || !op->weight_scales.reserve_discard(1) ||
      !op->weight_zero_points.reserve_discard(1) ||
      !op->bias.reserve_discard(params.bias ? cout : 0) ||
      !op->quantized_bias.reserve_discard(cout) || !op->requant_scales.reserve_discard(cout) ||
      !op->bias_only_output.reserve_discard(cout)) {
    delete op;
    return out_of_memory(error, params, "a weight of shape " + weight_shape_string(params),
                         static_cast<uint64_t>(n) * 3);
  }
  op->kernels = &default_kernels();
  status = build_plan(op, error);
  if (status != Status::kOk) {
    delete op;
    return status;
  }
  std::memset(op->weight.data(), 0, n);
  op->weight_scales[0] = 1.0;
  op->weight_zero_points[0] = 0.0;
  op->per_channel = false;
  op->has_bias = params.bias;
  for (size_t c = 0; c < op->bias.size(); ++c) op->bias[c] = 0.0f;
  pack_weights(op);
  *op_out = op;
  return Status::kOk;
}

void delete_operator(Operator* op) { delete op; }

const ConvParams& operator_params(const Operator* op) { return op->params; }

Status check_weight_size(const Operator* op, uint64_t size, Error* error) {
  const uint64_t expected = weight_elements(op->params);
  if (size != expected) {
    return invalid(error, op->params,
                   "weight data has " + num(static_cast<double>(size)) + " elements but shape " +
                       weight_shape_string(op->params) + " needs " +
                       num(static_cast<double>(expected)));
  }
  return Status::kOk;
}

Status set_weights(Operator* op, const WeightDesc& weight, const float* bias, uint64_t bias_size,
                   Error* error) {
  const ConvParams& p = op->params;
  Status status = check_weight_size(op, weight.size, error);
  if (status != Status::kOk) return status;
  const size_t cout = static_cast<size_t>(p.out_channels);
  const uint64_t nq = weight.num_qparams;
  if (weight.per_channel ? nq != cout : nq != 1) {
    return invalid(error, p,
                   weight.per_channel
                       ? "per-channel weight scales must have outChannels (" +
                             num(static_cast<double>(cout)) + ") entries, got " +
                             num(static_cast<double>(nq))
                       : "a per-tensor weight has exactly one scale and zero point, got " +
                             num(static_cast<double>(nq)));
  }
  for (size_t c = 0; c < static_cast<size_t>(nq); ++c) {
    const std::string at = weight.per_channel ? "[" + num(static_cast<double>(c)) + "]" : "";
    if (!is_valid_scale(weight.scales[c])) {
      return invalid(error, p,
                     "weight scale" + at + " (" + num(weight.scales[c]) +
                         ") must be finite, > 0 and a normal float32");
    }
    if (!is_integer_in(weight.zero_points[c], -128, 127)) {
      return invalid(error, p,
                     "weight zeroPoint" + at + " (" + num(weight.zero_points[c]) +
                         ") must be an integer in [-128, 127]");
    }
  }
  if (bias != nullptr) {
    if (bias_size != cout) {
      return invalid(error, p,
                     "bias has " + num(static_cast<double>(bias_size)) +
                         " elements but outChannels is " + num(static_cast<double>(cout)));
    }
    for (size_t c = 0; c < cout; ++c) {
      if (!std::isfinite(bias[c])) {
        return invalid(error, p,
                       "bias[" + num(static_cast<double>(c)) + "] (" + num(bias[c]) +
                           ") must be finite as a float32");
      }
    }
  }

  // Build the new state aside, then swap it in: a failure changes nothing.
  // (The packed buffers keep their size: only their contents change.)
  Buffer<int8_t> new_weight;
  Buffer<double> new_scales, new_zero_points;
  Buffer<float> new_bias;
  // The counts are checked: at most outChannels qparams, a weight that fits wasm memory.
  const size_t weight_bytes = static_cast<size_t>(weight.size), qparams = static_cast<size_t>(nq);
  if (!new_weight.reserve_discard(weight_bytes) || !new_scales.reserve_discard(qparams) ||
      !new_zero_points.reserve_discard(qparams) ||
      !new_bias.reserve_discard(bias != nullptr ? cout : 0)) {
    return out_of_memory(error, p, "the weights", static_cast<uint64_t>(weight.size) * 3);
  }
  if (weight_bytes != 0) std::memcpy(new_weight.data(), weight.data, weight_bytes);
  std::memcpy(new_scales.data(), weight.scales, qparams * sizeof(double));
  std::memcpy(new_zero_points.data(), weight.zero_points, qparams * sizeof(double));
  if (bias != nullptr) std::memcpy(new_bias.data(), bias, cout * sizeof(float));
  op->weight.swap(new_weight);
  op->weight_scales.swap(new_scales);
  op->weight_zero_points.swap(new_zero_points);
  op->bias.swap(new_bias);
  op->per_channel = weight.per_channel;
  op->has_bias = bias != nullptr;
  pack_weights(op);
  op->derived_valid = false;
  op->ready = false;  // the next run needs a reshape for the new weights
#if QCONV_HAVE_XNNPACK
  op->xnnpack_stale = true;
#endif
  return Status::kOk;
}

Status set_output_quantization(Operator* op, double scale, double zero_point, Error* error) {
  if (!is_valid_scale(scale)) {
    return invalid(error, op->params,
                   "scale (" + num(scale) + ") must be finite, > 0 and a normal float32");
  }
  if (!is_integer_in(zero_point, 0, 255)) {
    return invalid(error, op->params,
                   "zeroPoint (" + num(zero_point) + ") must be an integer in [0, 255]");
  }
  if (scale != op->out_scale) {
    op->derived_valid = false;
    op->ready = false;
  }
  // XNNPACK bakes the output zero point into its operator: reshape again.
  if (op->backend == Backend::kXnnpack && zero_point != op->out_zero_point) op->ready = false;
  op->out_scale = scale;
  op->out_zero_point = static_cast<int32_t>(zero_point);
  return Status::kOk;
}

double output_scale(const Operator* op) { return op->out_scale; }
int32_t output_zero_point(const Operator* op) { return op->out_zero_point; }
const int8_t* weight_data(const Operator* op) { return op->weight.data(); }
size_t weight_size(const Operator* op) { return op->weight.size(); }
const double* weight_scales(const Operator* op) { return op->weight_scales.data(); }
const double* weight_zero_points(const Operator* op) { return op->weight_zero_points.data(); }
size_t num_weight_qparams(const Operator* op) { return op->weight_scales.size(); }
bool weight_per_channel(const Operator* op) { return op->per_channel; }
const float* bias_data(const Operator* op) { return op->has_bias ? op->bias.data() : nullptr; }

namespace {

// Output length and the output padding it implies (ConvTranspose1d).
Status output_length_impl(const ConvParams& p, int64_t L, int64_t requested, int64_t* lout,
                          int64_t* output_padding, Error* error) {
  if (L < 1) {
    return invalid(error, p, "input length (" + num(static_cast<double>(L)) + ") must be >= 1");
  }
  if (L > std::numeric_limits<int32_t>::max()) {
    return invalid(error, p,
                   "input length (" + num(static_cast<double>(L)) + ") must be at most 2147483647");
  }
  const int64_t K = p.kernel_size, s = p.stride, pad = p.padding, d = p.dilation;
  if (p.kind == OperatorKind::kConvTranspose1d) {
    const int64_t min_size = (L - 1) * s - 2 * pad + d * (K - 1) + 1;
    if (requested >= 0) {
      const int64_t max_size = min_size + s - 1;
      if (requested < min_size || requested > max_size || requested < 1) {
        return invalid(error, p,
                       "outputSize (" + num(static_cast<double>(requested)) +
                           ") must be between " + num(static_cast<double>(min_size)) + " and " +
                           num(static_cast<double>(max_size)) +
                           " (and >= 1) for an input of length " + num(static_cast<double>(L)));
      }
      *output_padding = requested - min_size;
      *lout = requested;
      return Status::kOk;
    }
    const int64_t n = min_size + p.output_padding;
    if (n < 1) {
      return invalid(error, p,
                     "output length ((L-1)*stride - 2*padding + dilation*(kernelSize-1) + "
                     "outputPadding + 1 = " +
                         num(static_cast<double>(n)) + " for L = " + num(static_cast<double>(L)) +
                         ") must be >= 1");
    }
    *output_padding = p.output_padding;
    *lout = n;
    return Status::kOk;
  }
  if (requested >= 0) {
    return invalid(error, p, "outputSize is a ConvTranspose1d argument; Conv1d takes none");
  }
  const int64_t pad_right = padding_after(p);
  const bool symmetric = pad_right == pad;
  if (p.padding_mode == PaddingMode::kReflect && std::max(pad, pad_right) >= L) {
    return invalid(error, p,
                   "padding (" + padding_string(p) + ") must be smaller than the input length (" +
                       num(static_cast<double>(L)) + ")" + (symmetric ? "" : " on each side") +
                       " for reflect padding");
  }
  const int64_t padded = L + pad + pad_right;
  const int64_t span = d * (K - 1) + 1;
  if (padded < span) {
    return invalid(error, p,
                   std::string(symmetric ? "padded input length (L + 2*padding = "
                                         : "padded input length (L + padding before and after = ") +
                       num(static_cast<double>(padded)) +
                       ") is shorter than the dilated kernel (dilation*(kernelSize-1) + 1 = " +
                       num(static_cast<double>(span)) + ")");
  }
  *output_padding = 0;
  *lout = (padded - span) / s + 1;
  return Status::kOk;
}

}  // namespace

Status compute_output_length(const Operator* op, int64_t input_length, int64_t requested_length,
                             int64_t* output_length, Error* error) {
  int64_t output_padding = 0;
  return output_length_impl(op->params, input_length, requested_length, output_length,
                            &output_padding, error);
}

Status reshape(Operator* op, const InputDesc& in, int64_t requested_output_length,
               int64_t* output_length, Error* error) {
  const ConvParams& p = op->params;
  op->ready = false;
  if (in.batch < 0) {
    return invalid(error, p,
                   "input batch size (" + num(static_cast<double>(in.batch)) + ") must be >= 0");
  }
  if (in.channels != p.in_channels) {
    return invalid(error, p,
                   "input channels (" + num(static_cast<double>(in.channels)) +
                       ") must equal inChannels (" + num(static_cast<double>(p.in_channels)) + ")");
  }
  int64_t lout = 0, output_padding = 0;
  Status status =
      output_length_impl(p, in.length, requested_output_length, &lout, &output_padding, error);
  if (status != Status::kOk) return status;
  if (!is_valid_scale(in.scale)) {
    return invalid(error, p,
                   "input scale (" + num(in.scale) + ") must be finite, > 0 and a normal float32");
  }
  if (!is_integer_in(in.zero_point, 0, 255)) {
    return invalid(error, p,
                   "input zeroPoint (" + num(in.zero_point) + ") must be an integer in [0, 255]");
  }

  // Per-shape plan: outputs of each phase and the padding rows they read.
  const bool transposed = p.kind == OperatorKind::kConvTranspose1d;
  const int64_t L = in.length, s = p.stride;
  int64_t pad_after = transposed ? 0 : padding_after(p);
  int64_t covered = 0;
  // The conv1d path's blocks of j span the phases' j with outputs.
  int64_t j_begin = std::numeric_limits<int64_t>::max();
  int64_t j_end = std::numeric_limits<int64_t>::min();
  const OutputEnd end = output_end(p, lout);
  PhaseWalk shape_walk(op, lout, end, 0);
  for (size_t i = 0; i < op->num_phases; ++i) {
    const Phase& ph = shape_walk.at(i);
    if (i < op->phase_cache.size()) op->phase_cache[i] = ph;
    if (ph.count > 0) {
      const int64_t j_last = ph.j_first + ph.count - 1;
      if (transposed) pad_after = std::max(pad_after, j_last - ph.c_last - (L - 1));
      j_begin = std::min(j_begin, ph.j_first);
      j_end = std::max(j_end, j_last + 1);
    }
    covered += ph.count;
  }
  if (j_begin > j_end) j_begin = j_end = 0;
  const int64_t padded_rows = op->pad_before + L + pad_after;
  // dwconv1d path: Conv1d's stride splits each channel into sub-rows (row r
  // goes to sub-row r mod stride), so every tap reads a contiguous run.
  const int64_t sub_rows = transposed ? 1 : std::min(s, padded_rows);
  const int64_t row_length = (padded_rows + sub_rows - 1) / sub_rows + kDwconv1dTile;
  // An empty batch computes nothing: it needs no scratch, so neither sizes
  // nor refuses any (its input and output are empty too).
  const bool empty = in.batch == 0;
  const uint64_t scratch_elements =
      empty ? 0
      : op->channel_major
          ? mul_sat(mul_sat(static_cast<uint64_t>(p.in_channels), static_cast<uint64_t>(sub_rows)),
                    static_cast<uint64_t>(row_length))
          : mul_sat(static_cast<uint64_t>(padded_rows), static_cast<uint64_t>(p.in_channels)) +
                kConv1dKr * 8;
  // dwconv1d path: a row pointer per input channel of a group and tap (the
  // groups share them).
  const uint64_t table_entries =
      op->channel_major && !empty
          ? static_cast<uint64_t>(op->in_per_group) * static_cast<uint64_t>(p.kernel_size)
          : 0;
  const uint64_t in_bytes =
      mul_sat(mul_sat(static_cast<uint64_t>(in.batch), static_cast<uint64_t>(p.in_channels)),
              static_cast<uint64_t>(in.length));
  const uint64_t out_bytes =
      mul_sat(mul_sat(static_cast<uint64_t>(in.batch), static_cast<uint64_t>(p.out_channels)),
              static_cast<uint64_t>(lout));
  // Threads, when the work pays for waking them: below about 50 us of work
  // the hand-off costs more than it saves.
  const uint64_t macs = mul_sat(
      mul_sat(mul_sat(static_cast<uint64_t>(in.batch), static_cast<uint64_t>(p.out_channels)),
              static_cast<uint64_t>(op->in_per_group * p.kernel_size)),
      static_cast<uint64_t>(transposed ? L : lout));
  size_t threads = pool_threads();
  if (macs < min_parallel_macs.load(std::memory_order_relaxed)) threads = 1;
  const uint64_t batch_items = static_cast<uint64_t>(in.batch);
  const bool batch_parallel =
      threads > 1 && batch_items >= threads && (batch_items % threads == 0 || batch_items >= 2 * threads);
  const uint64_t rows_copies = batch_parallel ? threads : 1;
  const uint64_t scratch_bytes = mul_sat(mul_sat(scratch_elements, sizeof(int16_t)), rows_copies) +
                                 mul_sat(table_entries, sizeof(void*));
  if (in_bytes > kMaxBytes) return too_large(error, p, "the input", in_bytes);
  if (out_bytes > kMaxBytes) return too_large(error, p, "the output", out_bytes);
  if (scratch_bytes > kMaxBytes || in_bytes + out_bytes + scratch_bytes > kMaxBytes) {
    return too_large(error, p, "the input, output and scratch buffers",
                     in_bytes + out_bytes + scratch_bytes);
  }

  const size_t cout = static_cast<size_t>(p.out_channels);
  const size_t nq = op->weight_scales.size();
  if (!op->derived_valid || op->derived_input_scale != in.scale ||
      op->derived_output_scale != op->out_scale) {
    // Check every channel before changing anything.
    for (size_t c = 0; c < nq; ++c) {
      const double ws = op->weight_scales[c];
      const float bias_scale = static_cast<float>(ws * in.scale);
      if (!is_normal_positive(bias_scale)) {
        return invalid(error, p,
                       "bias scale (weight scale " + num(ws) + " * input scale " + num(in.scale) +
                           " = " + num(bias_scale) + ") must be a normal float32");
      }
      const float rq = requantization_scale(ws, in.scale, op->out_scale);
      if (!is_normal_positive(rq)) {
        return invalid(error, p,
                       "requantization scale (weight scale " + num(ws) + " * input scale " +
                           num(in.scale) + " / output scale " + num(op->out_scale) + " = " +
                           num(rq) + ") must be a normal positive float32");
      }
    }
    const bool exact_bias = uses_gemm_bias(p);
    for (size_t c = 0; c < cout; ++c) {
      const double ws = op->weight_scales[op->per_channel ? c : 0];
      int32_t qb = op->has_bias ? quantize_bias(op->bias[c], ws, in.scale) : 0;
      if (!exact_bias) qb = bias_through_float32(qb);
      op->quantized_bias[c] = qb;
      op->requant_scales[c] = requantization_scale(ws, in.scale, op->out_scale);
    }
    if (!op->channel_major) {
      PhaseWalk walk(op, lout, end, op->phase_cache.size());
      for (size_t i = 0; i < op->num_phases; ++i) {
        const Phase& ph = walk.at(i);
        for (int64_t g = 0; g < p.groups; ++g) {
          const size_t first = static_cast<size_t>(g * op->out_per_group);
          conv1d_write_bias_scale(static_cast<size_t>(op->out_per_group), ph.kc, ph.ks,
                                  op->quantized_bias.data() + first,
                                  op->requant_scales.data() + first,
                                  op->packed.data() + ph.packed_offset + g * ph.packed_group_stride);
        }
      }
    }
    op->derived_valid = true;
    op->derived_input_scale = in.scale;
    op->derived_output_scale = op->out_scale;
  }

  if (!op->input_rows.reserve_discard(static_cast<size_t>(scratch_elements * rows_copies)) ||
      !op->dw_row_table.reserve_discard(static_cast<size_t>(table_entries))) {
    return out_of_memory(error, p, "the scratch buffers", scratch_bytes);
  }
  if (op->channel_major && !empty) {
    // Row pointers: [phase][input channel of group 0][tap]; group g reads
    // g*cin_g channels further (dwconv_channels passes the offset).
    const int64_t d = p.dilation;
    PhaseWalk walk(op, lout, end, op->phase_cache.size());
    for (size_t i = 0; i < op->num_phases; ++i) {
      const Phase& ph = walk.at(i);
      const int16_t** table = op->dw_row_table.data() + ph.dw_rows_offset;
      for (int64_t ci = 0; ci < op->in_per_group; ++ci) {
        for (size_t t = 0; t < ph.num_taps; ++t) {
          const int64_t k = ph.tap_k0 + static_cast<int64_t>(t) * ph.tap_k_step;
          int64_t sub_row = 0, offset;
          if (transposed) {
            // c(k) falls by tap_row_step per tap from c_first.
            offset = ph.row_first + static_cast<int64_t>(t) * ph.tap_row_step;
          } else {
            sub_row = (k * d) % s;
            offset = (k * d) / s;
          }
          *table++ = op->input_rows.data() + (ci * sub_rows + sub_row) * row_length + offset;
        }
      }
    }
  }
#if QCONV_HAVE_XNNPACK
  if (op->backend == Backend::kXnnpack) {
    if (op->per_channel) {
      return invalid(error, p, "the XNNPACK backend takes per-tensor weights only");
    }
    if (op->xnnpack_stale || op->xnnpack_input_scale != in.scale ||
        op->xnnpack_input_zero_point != static_cast<int32_t>(in.zero_point) ||
        op->xnnpack_output_scale != op->out_scale ||
        op->xnnpack_output_zero_point != op->out_zero_point) {
      xnnpack::DeconvolutionWeights w;
      w.data = op->weight.data();
      w.weight_scale = op->weight_scales[0];
      w.weight_zero_point = static_cast<int>(op->weight_zero_points[0]);
      w.bias = op->quantized_bias.data();  // zeros without a bias
      w.input_scale = in.scale;
      w.input_zero_point = static_cast<int>(in.zero_point);
      w.output_scale = op->out_scale;
      w.output_zero_point = op->out_zero_point;
      ConvParams xp = p;
      xp.output_padding = output_padding;
      xnnpack::Deconvolution* created = nullptr;
      const Status st = xnnpack::create_deconvolution(xp, w, &created, error);
      if (st != Status::kOk) return st;
      xnnpack::delete_deconvolution(op->xnnpack_op);
      op->xnnpack_op = created;
      op->xnnpack_stale = false;
      op->xnnpack_input_scale = in.scale;
      op->xnnpack_input_zero_point = static_cast<int32_t>(in.zero_point);
      op->xnnpack_output_scale = op->out_scale;
      op->xnnpack_output_zero_point = op->out_zero_point;
    }
    op->xnnpack_output_padding = output_padding;
  }
#endif
  op->batch = in.batch;
  op->length = L;
  op->output_length = lout;
  op->output_end = end;
  op->pad_after = pad_after;
  op->padded_rows = padded_rows;
  op->row_length = row_length;
  op->sub_rows = sub_rows;
  op->has_bias_only_outputs = covered < lout;
  // Output blocking of the conv1d path: about 32 KiB of output per block when
  // the packed weights stay in L2 (their sweep repeats per block).
  op->j_begin = j_begin;
  op->j_end = j_end;
  const int64_t out_step = transposed ? s : 1;
  const bool weights_fit_l2 = op->packed.size() * sizeof(int32_t) <= (size_t{256} << 10);
  op->j_block = std::max<int64_t>(op->j_end - op->j_begin, 1);
  op->staging_stride = 0;
  if (weights_fit_l2 && !op->channel_major) {
    const int64_t block = (32768 / std::max<int64_t>(p.out_channels * out_step, 1)) / kConv1dMr * kConv1dMr;
    op->j_block = std::min(op->j_block, std::max<int64_t>(block, 4 * kConv1dMr));
  }
  // Staging pays only when output rows alias in the cache: several blocks
  // and rows a multiple of 256 bytes apart (measured: a Cin 1 -> Cout 64
  // upsampler to 32768 positions runs 4x faster; otherwise the copy costs).
  if (!empty && op->j_block < op->j_end - op->j_begin && lout % 256 == 0) {
    // An odd number of 64-byte lines per row: consecutive rows fall in
    // different cache sets.
    size_t stride = (static_cast<size_t>(op->j_block * out_step) + 63) / 64;
    if (stride % 2 == 0) ++stride;
    // One staging area per thread.
    const size_t staging_bytes = stride * 64 * static_cast<size_t>(p.out_channels) * threads;
    if (!op->staging.reserve_discard(staging_bytes)) {
      op->ready = false;
      return out_of_memory(error, p, "the output staging buffer", staging_bytes);
    }
    op->staging_stride = stride * 64;
  }
  op->threads = threads;
  op->batch_parallel = batch_parallel;
  op->rows_stride = static_cast<size_t>(scratch_elements);
  // Work items of one batch item shared by the threads: input positions
  // (conv1d path) or channels (dwconv1d path) to prepare, in runs of 8 (the
  // transpose tile), about 2 items per thread; output channels per compute
  // item in whole kConv1dNr blocks, about 8 items per thread (a late thread
  // on a shared machine leaves less to wait for).
  op->prepare_chunk = std::max<int64_t>(op->channel_major ? p.in_channels : L, 1);
  op->channel_chunk = op->out_per_group;
  if (threads > 1 && !batch_parallel) {
    const int64_t t = static_cast<int64_t>(threads);
    const int64_t extent = op->channel_major ? p.in_channels : L;
    op->prepare_chunk = std::max<int64_t>(8, (extent / (2 * t) + 7) / 8 * 8);
    if (op->channel_major) {
      op->channel_chunk = std::max<int64_t>(1, p.out_channels / (4 * t));
    } else {
      const int64_t nr = static_cast<int64_t>(kConv1dNr);
      const int64_t blocks = (op->out_per_group + nr - 1) / nr;
      const int64_t j_blocks = (op->j_end - op->j_begin + op->j_block - 1) / op->j_block;
      const int64_t per_item = std::max<int64_t>(1, j_blocks * p.groups * blocks / (8 * t));
      op->channel_chunk = std::min(blocks, per_item) * nr;
    }
  }
  op->input_zero_point = static_cast<int32_t>(in.zero_point);
  op->input = nullptr;
  op->output = nullptr;
  op->ready = true;
  *output_length = lout;
  return Status::kOk;
}

Status setup(Operator* op, const uint8_t* input_data, uint8_t* output_data) {
  if (!op->ready) return Status::kInvalidArgument;
  const bool empty = op->batch == 0;
  if (!empty && (input_data == nullptr || output_data == nullptr)) return Status::kInvalidArgument;
  op->input = input_data;
  op->output = output_data;
  return Status::kOk;
}

namespace {

// Reflect padding (Conv1d): padded row r of an input of length L.
inline int64_t reflect_row(int64_t r, int64_t pad, int64_t L) {
  int64_t i = r - pad;
  if (i < 0) i = -i;  // reflect without repeating the edge
  if (i >= L) i = 2 * (L - 1) - i;
  return i;
}

// conv1d path: input positions [l0, l1) of one batch item to rows of
// [row][Cin] int16 (ranges of rows: threads never share a cache line but at
// the range ends).
void prepare_rows(const Operator* op, const uint8_t* x, int16_t* rows, int64_t l0, int64_t l1) {
  const ConvParams& p = op->params;
  const size_t cin = static_cast<size_t>(p.in_channels);
  op->kernels->transpose_widen(cin, static_cast<size_t>(l1 - l0), x + l0, static_cast<size_t>(op->length),
                               op->input_zero_point, rows + (op->pad_before + l0) * p.in_channels, cin);
}

// conv1d path: the padding rows of one batch item (zeros, or the reflected
// input positions, read from the input itself so that this can run beside
// prepare_rows), and the int16 the kernel may read past the last row.
void prepare_padding_rows(const Operator* op, const uint8_t* x, int16_t* rows) {
  const ConvParams& p = op->params;
  const size_t cin = static_cast<size_t>(p.in_channels);
  const int64_t L = op->length;
  const bool reflect = p.kind == OperatorKind::kConv1d && p.padding_mode == PaddingMode::kReflect;
  for (int64_t r = 0; r < op->padded_rows; ++r) {
    if (r == op->pad_before) r += L;
    if (r >= op->padded_rows) break;
    int16_t* row = rows + r * p.in_channels;
    if (reflect) {
      op->kernels->transpose_widen(cin, 1, x + reflect_row(r, op->pad_before, L), static_cast<size_t>(L),
                                   op->input_zero_point, row, cin);
    } else {
      std::memset(row, 0, cin * sizeof(int16_t));
    }
  }
  // Times a zero weight.
  std::memset(rows + op->padded_rows * p.in_channels, 0, kConv1dKr * 8 * sizeof(int16_t));
}

// dwconv1d path: input channels [c0, c1) of one batch item to
// [Cin][sub-row][row_length] int16.
void prepare_channel_rows(const Operator* op, const uint8_t* x, int16_t* rows, int64_t c0,
                          int64_t c1) {
  const ConvParams& p = op->params;
  const bool transposed = p.kind == OperatorKind::kConvTranspose1d;
  const bool reflect = !transposed && p.padding_mode == PaddingMode::kReflect;
  const int64_t L = op->length, before = op->pad_before, padded = op->padded_rows;
  const int64_t sub_rows = transposed ? 1 : std::min(p.stride, padded);
  const int64_t row_length = op->row_length;
  const int32_t zp = op->input_zero_point;
  for (int64_t c = c0; c < c1; ++c) {
    const uint8_t* src = x + c * L;
    int16_t* dst = rows + c * sub_rows * row_length;
    if (sub_rows == 1) {
      std::memset(dst, 0, static_cast<size_t>(before) * sizeof(int16_t));
      for (int64_t i = 0; i < L; ++i) dst[before + i] = static_cast<int16_t>(src[i] - zp);
      std::memset(dst + before + L, 0, static_cast<size_t>(row_length - before - L) * sizeof(int16_t));
      if (reflect) {
        for (int64_t r = 0; r < padded; ++r) {
          if (r < before || r >= before + L) {
            dst[r] = static_cast<int16_t>(src[reflect_row(r, before, L)] - zp);
          }
        }
      }
      continue;
    }
    std::memset(dst, 0, static_cast<size_t>(sub_rows * row_length) * sizeof(int16_t));
    for (int64_t r = 0; r < padded; ++r) {
      int16_t v = 0;
      if (r >= before && r < before + L) {
        v = static_cast<int16_t>(src[r - before] - zp);
      } else if (reflect) {
        v = static_cast<int16_t>(src[reflect_row(r, before, L)] - zp);
      }
      dst[(r % sub_rows) * row_length + r / sub_rows] = v;
    }
  }
}

// dwconv1d path: output channels [co0, co1) of one batch item, all phases,
// each output row finished while it is in cache. rows_offset selects the
// copy of input_rows (the row table points into copy 0).
void dwconv_channels(const Operator* op, size_t rows_offset, uint8_t* out_n, int64_t co0,
                     int64_t co1) {
  const ConvParams& p = op->params;
  const int64_t cin_g = op->in_per_group, cout_g = op->out_per_group, lout = op->output_length;
  const size_t out_step = static_cast<size_t>(p.kind == OperatorKind::kConvTranspose1d ? p.stride : 1);
  const RequantParams rq = {op->out_zero_point};
  PhaseWalk walk(op);
  for (int64_t co = co0; co < co1; ++co) {
    const int64_t g = co / cout_g;
    // Outputs no tap reaches hold the requantized bias; the kernels then
    // overwrite the others while the row is in cache.
    if (op->has_bias_only_outputs) {
      std::memset(out_n + co * lout, op->bias_only_output[co], static_cast<size_t>(lout));
    }
    // The row table points at group 0's input channels.
    const size_t group_offset = rows_offset + static_cast<size_t>(g * cin_g * op->row_length * op->sub_rows);
    for (size_t i = 0; i < op->num_phases; ++i) {
      const Phase& ph = walk.at(i);
      if (ph.count == 0) continue;
      const size_t taps_per_channel = static_cast<size_t>(cin_g) * ph.num_taps;
      op->kernels->dwconv1d(static_cast<size_t>(ph.count), taps_per_channel,
                            op->dw_row_table.data() + ph.dw_rows_offset, group_offset,
                            op->dw_weights.data() + ph.dw_weight_offset + co * taps_per_channel,
                            op->quantized_bias[co], op->requant_scales[co],
                            out_n + co * lout + ph.out_first, out_step, rq);
    }
  }
}

int64_t num_j_blocks(const Operator* op) {
  // At least one: with no output reached by a tap, block 0 writes the bias.
  return std::max<int64_t>(1, (op->j_end - op->j_begin + op->j_block - 1) / op->j_block);
}

// conv1d path: block jb of j (output j*stride + residue - padding of every
// phase, so that the phases fill one stretch of output before the next) for
// the output channels [ch0, ch1) of group g (ch0 a multiple of kConv1dNr).
// staging: this thread's staging area (used when staging_stride != 0).
void conv1d_block(const Operator* op, const int16_t* rows, uint8_t* out_n, uint8_t* staging,
                  int64_t jb, int64_t g, int64_t ch0, int64_t ch1) {
  const ConvParams& p = op->params;
  const int64_t cin = p.in_channels, cin_g = op->in_per_group, cout_g = op->out_per_group;
  const int64_t lout = op->output_length;
  const int64_t out_step = p.kind == OperatorKind::kConvTranspose1d ? p.stride : 1;
  const RequantParams rq = {op->out_zero_point};
  const int64_t j0 = op->j_begin + jb * op->j_block;
  const int64_t j1 = j0 + op->j_block;
  PhaseWalk walk(op);
  // The block's outputs: [o_first, o_last] (every phase with taps fills its
  // positions in between).
  int64_t o_first = lout, o_last = -1;
  for (size_t i = 0; i < op->num_phases; ++i) {
    const Phase& ph = walk.at(i);
    const int64_t u_begin = std::max<int64_t>(0, j0 - ph.j_first);
    const int64_t u_end = std::min<int64_t>(ph.count, j1 - ph.j_first);
    if (u_begin >= u_end) continue;
    o_first = std::min(o_first, ph.out_first + u_begin * out_step);
    o_last = std::max(o_last, ph.out_first + (u_end - 1) * out_step);
  }
  const size_t staging_stride = op->staging_stride;
  const int64_t first_channel = g * cout_g + ch0;
  const size_t nc = static_cast<size_t>(ch1 - ch0);
  if (op->has_bias_only_outputs) {
    // Outputs no tap reaches (ConvTranspose1d) hold the requantized bias.
    // The blocks partition the output (block jb owns [lo, hi): the outputs of
    // its j, from 0 for the first block, to Lout for the last), and each
    // writes the bias over all it owns before its kernels overwrite the
    // outputs taps reach: no other work item writes these bytes, whichever
    // thread runs it, and the staging copy below (whole rows o_first..o_last)
    // carries the bias, not stale bytes, between the phases' outputs.
    const int64_t lo = jb == 0 ? 0 : j0 * p.stride - p.padding;
    const int64_t hi = jb == num_j_blocks(op) - 1 ? lout : j1 * p.stride - p.padding;
    const bool staged = staging_stride != 0 && o_first <= o_last;
    for (int64_t co = first_channel; co < first_channel + static_cast<int64_t>(nc); ++co) {
      const uint8_t bias = op->bias_only_output[co];
      uint8_t* row = out_n + co * lout;
      if (staged) {
        std::memset(row + lo, bias, static_cast<size_t>(o_first - lo));
        std::memset(staging + co * staging_stride, bias, static_cast<size_t>(o_last - o_first + 1));
        std::memset(row + o_last + 1, bias, static_cast<size_t>(hi - o_last - 1));
      } else {
        std::memset(row + lo, bias, static_cast<size_t>(hi - lo));
      }
    }
  }
  if (o_first > o_last) return;
  const size_t a_row_stride = static_cast<size_t>(out_step == 1 ? p.stride * cin : cin) * sizeof(int16_t);
  uint8_t* block_out = staging_stride != 0 ? staging - o_first : out_n;
  const size_t c_col_stride = staging_stride != 0 ? staging_stride : static_cast<size_t>(lout);
  for (size_t i = 0; i < op->num_phases; ++i) {
    const Phase& ph = walk.at(i);
    const int64_t u_begin = std::max<int64_t>(0, j0 - ph.j_first);
    const int64_t u_end = std::min<int64_t>(ph.count, j1 - ph.j_first);
    if (u_begin >= u_end) continue;
    const size_t a_tap_stride = static_cast<size_t>(ph.tap_row_step * cin) * sizeof(int16_t);
    const size_t block_words = conv1d_packed_block_bytes(ph.kc, ph.ks) / sizeof(int32_t);
    const int32_t* w = op->packed.data() + ph.packed_offset + g * ph.packed_group_stride +
                       static_cast<size_t>(ch0) / kConv1dNr * block_words;
    const char* a = reinterpret_cast<const char*>(rows + ph.row_first * cin + g * cin_g);
    uint8_t* c = block_out + first_channel * c_col_stride + ph.out_first;
    const int64_t tile_rows = static_cast<int64_t>(op->kernels->conv1d_mr);
    for (int64_t u = u_begin; u < u_end; u += tile_rows) {
      const size_t mr = static_cast<size_t>(std::min<int64_t>(tile_rows, u_end - u));
      op->kernels->conv1d(mr, nc, ph.kc, ph.ks,
                          reinterpret_cast<const int16_t*>(a + u * a_row_stride), a_row_stride,
                          a_tap_stride, w, c + u * out_step, static_cast<size_t>(out_step),
                          c_col_stride, rq);
    }
  }
  if (staging_stride != 0) {
    const size_t len = static_cast<size_t>(o_last - o_first + 1);
    for (int64_t co = first_channel; co < first_channel + static_cast<int64_t>(nc); ++co) {
      std::memcpy(out_n + co * lout + o_first, staging + co * staging_stride, len);
    }
  }
}

uint8_t* staging_of(Operator* op, size_t thread) {
  return op->staging_stride == 0
             ? nullptr
             : op->staging.data() + thread * op->staging_stride * static_cast<size_t>(op->params.out_channels);
}

// One whole batch item on one thread, with that thread's scratch copy.
void run_batch_item(Operator* op, size_t thread, int64_t n) {
  const ConvParams& p = op->params;
  const int64_t cin = p.in_channels, cout = p.out_channels;
  const uint8_t* x = op->input + n * cin * op->length;
  uint8_t* out_n = op->output + n * cout * op->output_length;
  const size_t rows_offset = op->batch_parallel ? thread * op->rows_stride : 0;
  int16_t* rows = op->input_rows.data() + rows_offset;
  if (op->channel_major) {
    prepare_channel_rows(op, x, rows, 0, cin);
    dwconv_channels(op, rows_offset, out_n, 0, cout);
  } else {
    prepare_rows(op, x, rows, 0, op->length);
    prepare_padding_rows(op, x, rows);
    uint8_t* staging = staging_of(op, thread);
    const int64_t j_blocks = num_j_blocks(op);
    for (int64_t jb = 0; jb < j_blocks; ++jb) {
      for (int64_t g = 0; g < p.groups; ++g) {
        conv1d_block(op, rows, out_n, staging, jb, g, 0, op->out_per_group);
      }
    }
  }
}

// One batch item shared by the threads: the input preparation split over
// input positions (conv1d path) or channels (dwconv1d path), plus one item
// for the padding rows (conv1d path); then the tiles split over output
// blocks, groups and channel chunks (conv1d path) or channel chunks
// (dwconv1d path). A tile writes every output byte it owns, the bias-only
// ones included (see conv1d_block), so no step writes another's bytes.
void run_batch_item_shared(Operator* op, int64_t n) {
  const ConvParams& p = op->params;
  const int64_t cin = p.in_channels, cout = p.out_channels;
  const uint8_t* x = op->input + n * cin * op->length;
  uint8_t* out_n = op->output + n * cout * op->output_length;
  int16_t* rows = op->input_rows.data();
  const int64_t extent = op->channel_major ? cin : op->length;
  const int64_t prepare_items = (extent + op->prepare_chunk - 1) / op->prepare_chunk;
  auto prepare = [&](size_t, size_t item) {
    if (static_cast<int64_t>(item) == prepare_items) {
      prepare_padding_rows(op, x, rows);
      return;
    }
    const int64_t i0 = static_cast<int64_t>(item) * op->prepare_chunk;
    const int64_t i1 = std::min(extent, i0 + op->prepare_chunk);
    if (op->channel_major) {
      prepare_channel_rows(op, x, rows, i0, i1);
    } else {
      prepare_rows(op, x, rows, i0, i1);
    }
  };
  parallel_for(static_cast<size_t>(prepare_items + (op->channel_major ? 0 : 1)), prepare, op->threads);
  if (op->channel_major) {
    const int64_t chunk = op->channel_chunk;
    auto compute = [&](size_t, size_t item) {
      const int64_t co0 = static_cast<int64_t>(item) * chunk;
      dwconv_channels(op, 0, out_n, co0, std::min(cout, co0 + chunk));
    };
    parallel_for(static_cast<size_t>((cout + chunk - 1) / chunk), compute, op->threads);
  } else {
    const int64_t chunk = op->channel_chunk, cout_g = op->out_per_group;
    const int64_t chunks = (cout_g + chunk - 1) / chunk;
    auto compute = [&](size_t thread, size_t item) {
      const int64_t q = static_cast<int64_t>(item) % chunks;
      const int64_t g = static_cast<int64_t>(item) / chunks % p.groups;
      const int64_t jb = static_cast<int64_t>(item) / chunks / p.groups;
      conv1d_block(op, rows, out_n, staging_of(op, thread), jb, g, q * chunk,
                   std::min(cout_g, (q + 1) * chunk));
    };
    parallel_for(static_cast<size_t>(num_j_blocks(op) * p.groups * chunks), compute, op->threads);
  }
}

}  // namespace

Status run(Operator* op) {
  if (!op->ready || (op->batch > 0 && op->input == nullptr)) return Status::kInvalidArgument;
#if QCONV_HAVE_XNNPACK
  if (op->backend == Backend::kXnnpack) {
    if (op->batch == 0) return Status::kOk;
    if (op->xnnpack_output_zero_point != op->out_zero_point) return Status::kInvalidArgument;
    Error ignored;
    return xnnpack::run_deconvolution(op->xnnpack_op, op->batch, op->length,
                                      op->xnnpack_output_padding, op->input, op->output, &ignored);
  }
#endif
  if (op->has_bias_only_outputs) {
    for (int64_t co = 0; co < op->params.out_channels; ++co) {
      op->bias_only_output[co] = requantize_fp32_magic(op->quantized_bias[co],
                                                       op->requant_scales[co], op->out_zero_point);
    }
  }
  if (op->threads <= 1) {
    for (int64_t n = 0; n < op->batch; ++n) run_batch_item(op, 0, n);
  } else if (op->batch_parallel) {
    auto item = [op](size_t thread, size_t n) { run_batch_item(op, thread, static_cast<int64_t>(n)); };
    parallel_for(static_cast<size_t>(op->batch), item, op->threads);
  } else {
    for (int64_t n = 0; n < op->batch; ++n) run_batch_item_shared(op, n);
  }
  return Status::kOk;
}

const char* kernel_path(const Operator* op) {
  return op->channel_major ? "dwconv1d-16x1" : "conv1d-4x8c2";
}

bool backend_available(Backend backend) {
  switch (backend) {
    case Backend::kDefault:
    case Backend::kScalar:
      return true;
    case Backend::kXnnpack:
#if QCONV_HAVE_XNNPACK
      return xnnpack::available();
#else
      return false;
#endif
  }
  return false;
}

Status set_backend(Operator* op, Backend backend, Error* error) {
  if (!backend_available(backend)) {
    return invalid(error, op->params, "this build has no XNNPACK backend");
  }
  if (backend == Backend::kXnnpack && op->params.kind != OperatorKind::kConvTranspose1d) {
    return invalid(error, op->params, "the XNNPACK backend runs ConvTranspose1d only");
  }
  op->backend = backend;
  op->kernels = backend == Backend::kScalar ? &scalar_kernels() : &default_kernels();
  op->ready = false;
  return Status::kOk;
}

const char* kernel_flavour() { return default_kernels().name; }

Status set_num_threads(size_t threads, Error* error) {
  if (threads < 1) {
    if (error) error->message = "numThreads (0) must be >= 1";
    return Status::kInvalidArgument;
  }
  if (!set_pool_threads(threads)) {
    if (error) {
      error->message = pool_threads_supported()
                           ? "numThreads (" + num(static_cast<double>(threads)) + "): the system could not start the threads"
                           : "numThreads (" + num(static_cast<double>(threads)) + ") must be 1: this build has no thread support";
    }
    return Status::kInvalidArgument;
  }
  return Status::kOk;
}

size_t num_threads() { return pool_threads(); }
void set_min_parallel_work(uint64_t multiply_adds) {
  min_parallel_macs.store(multiply_adds, std::memory_order_relaxed);
}
ThreadPlan thread_plan(const Operator* op) {
  return ThreadPlan{op->threads, op->batch_parallel, op->staging_stride != 0};
}
bool threads_supported() { return pool_threads_supported(); }

}  // namespace qconv
