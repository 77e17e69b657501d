// The operator's state and what its stages share. Not a public header.
//
// Stages, one file each (like XNNPACK's operators/, indirection.c,
// packing.c and operator-run.c):
//   operator.cc       the entry points of qconv.h and every check of a
//                     caller's value; reshape orchestrates the others;
//   operator-plan.cc  phases, the per-shape plan (blocks, threads) and the
//                     row table (the dwconv1d path's indirection);
//   packing.cc        packed weights and the requantization parameters;
//   operator-run.cc   run(): input preparation and the micro-kernel calls.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include "buffer.h"
#include "microkernels/microkernels.h"
#include "qconv/qconv.h"

namespace qconv {

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
  int64_t j_first = 0;       // first j with o >= 0
  int64_t c_first = 0;       // c of the first tap (the largest)
  int64_t c_last = 0;        // c of the last tap (the smallest)
  int64_t tap_row_step = 0;  // input rows between consecutive taps
  // conv1d kernel: kc int16 per tap run, ks runs; packed weights per group.
  size_t kc = 0, ks = 0;
  size_t packed_offset = 0;        // in int32 units
  size_t packed_group_stride = 0;  // in int32 units
  // dwconv1d kernel: weights [out channel][in channel of group][tap] and row
  // pointers [in channel of group][tap] (group g's are g*cin_g channel rows on).
  size_t dw_weight_offset = 0;
  size_t dw_rows_offset = 0;
  // Per shape (reshape).
  int64_t out_first = 0;  // first output position
  int64_t count = 0;      // outputs in the phase
  int64_t row_first = 0;  // conv1d path: padded input row of output 0, tap 0
};

// ConvTranspose1d: (lout - 1 + padding) divided by the stride, so that
// phase_shape divides nothing.
struct OutputEnd {
  int64_t quotient = 0, remainder = 0;
};

// What the parameters alone decide (create): the phases and the kernel path.
struct ParamPlan {
  int64_t in_per_group = 0;
  int64_t out_per_group = 0;
  bool channel_major = false;  // dwconv1d path instead of the conv1d tile
  // dwconv1d path, a stride-2 ConvTranspose1d with two phases: the 2x8c2
  // kernel computes both at once from uint8 rows (input_rows holds bytes).
  bool dw_pair = false;
  size_t num_phases = 0;       // phases with at least one tap
  int64_t tap_period = 1;      // ConvTranspose1d: taps k and k + tap_period share a phase
  int64_t period_rows = 0;     // ConvTranspose1d: input rows between those two taps
  size_t long_phases = 0;      // the first long_phases phases have long_taps taps,
  size_t long_taps = 0;        // the others long_taps - 1
  size_t group_words_long = 0, group_words_short = 0;  // conv1d path: packed words per group
  int64_t pad_quotient = 0, pad_remainder = 0;  // ConvTranspose1d: padding / stride, % stride
  int64_t dilation_quotient = 0,
          dilation_remainder = 0;  // ConvTranspose1d: dilation / stride, % stride
  int64_t pad_before = 0;          // zero (or reflected) rows before the input
};

// The caller's weights, kept for the accessors, and their packed form in
// the order the kernels read it (set_weights).
struct Weights {
  Buffer<int8_t> data;
  Buffer<double> scales;
  Buffer<double> zero_points;
  bool per_channel = false;
  Buffer<float> bias;  // empty (size 0) when there is no bias
  bool has_bias = false;
  Buffer<int32_t> packed;     // conv1d path: blocks of kConv1dNr channels
  Buffer<int16_t> dw_packed;  // dwconv1d path
};

// Derived from (weights, input scale, output scale); rebuilt by the reshape
// after one of them changed.
struct Requantization {
  bool valid = false;
  double input_scale = 0.0;
  double output_scale = 0.0;
  Buffer<int32_t> bias;              // per output channel, quantized (§4.1-4.2)
  Buffer<float> scales;              // per output channel (§4.3)
  Buffer<uint8_t> bias_only_output;  // requantized bias: outputs no tap reaches (run)
};

// One input shape's plan (reshape): what run() loops over, and the scratch
// it needs. plan_shape computes it without touching the operator.
struct ShapePlan {
  int64_t batch = 0;
  int64_t length = 0;
  int64_t output_length = 0;
  OutputEnd output_end;
  int32_t input_zero_point = 0;
  int64_t pad_after = 0;
  int64_t padded_rows = 0;  // pad_before + L + pad_after
  int64_t row_length = 0;   // dwconv1d path: int16 per (channel, sub-row)
  int64_t sub_rows = 1;     // dwconv1d path: sub-rows per channel (Conv1d's stride)
  bool has_bias_only_outputs = false;
  int64_t j_begin = 0, j_end = 0, j_block = 1;  // conv1d path: blocks of phase index j
  // conv1d path with blocks: the kernels write a block's outputs here, rows
  // staging_stride apart, then whole rows are copied out. Output rows lout
  // apart (often a power of two) would map channels onto the same cache sets.
  size_t staging_stride = 0;
  // conv1d path, a ConvTranspose1d of stride 2-4 with a phase per residue:
  // the kernels write up to zip_chunk j of each phase into zip staging
  // ([channel][phase][j], rows zip_row bytes apart) with their 4-byte stores,
  // and a zip kernel interleaves them into the output row (0: not used).
  int64_t zip_chunk = 0;
  size_t zip_row = 0;
  // Threads (from the pool's size at reshape). With batch_parallel each
  // thread runs whole batch items on its own copy of the scratch
  // (input_rows, staging); otherwise batch items run one after the other and
  // the threads share each item's tiles.
  size_t threads = 1;
  bool batch_parallel = false;
  int64_t prepare_chunk = 1;  // input positions or channels per preparation item
  int64_t channel_chunk = 1;  // output channels per compute item (per group)
  // Scratch sizes.
  size_t rows_stride = 0;  // int16 per copy of input_rows
  size_t rows_copies = 1;
  size_t table_entries = 0;  // dwconv1d path: row pointers
  size_t staging_bytes = 0;
  size_t zip_bytes = 0;  // zip staging, all threads
};

// Sized by reshape; a steady state allocates nothing.
struct Scratch {
  // conv1d path: [row][Cin]; dwconv1d: [Cin][sub-row][row_length] (dw_pair: uint8
  // [Cin][row_length] at the same element offsets, in bytes).
  Buffer<int16_t> input_rows;
  Buffer<const int16_t*> row_table;  // dwconv1d path: points into input_rows copy 0
  Buffer<uint8_t> staging;           // conv1d path: one area per thread
  Buffer<uint8_t> zip_staging;       // conv1d path: one area per thread
};

// Grouped by what sets each part.
struct Operator {
  // create_operator
  ConvParams params;
  ParamPlan plan;
  Buffer<Phase> phase_cache;  // the first phases; their per-shape fields: reshape
  // create_operator, set_backend
  const KernelSet* kernels = nullptr;
  // set_weights
  Weights weights;
  // set_output_quantization
  double out_scale = 1.0;
  int32_t out_zero_point = 0;
  // set_fused_relu
  bool relu = false;
  // reshape
  Requantization requant;
  ShapePlan shape;
  Scratch scratch;
  bool ready = false;  // a reshape for the current weights and scales succeeded
  // reshape's fast path: what the last successful reshape was given (and the
  // settings its plan read), so that the same call again changes nothing.
  struct ReshapeKey {
    InputDesc in;
    int64_t requested = -1;
    size_t pool_threads = 0;
    uint64_t min_parallel_macs = 0;
    const KernelSet* kernels = nullptr;
  } last_reshape;
  // run: requant.bias_only_output holds the bias requantized for this
  // (zero point * 2 + relu); -1 when the requantization changed since.
  int64_t bias_only_key = -1;
  // setup
  const uint8_t* input = nullptr;
  uint8_t* output = nullptr;
};

// Phases kept in Operator::phase_cache (with their per-shape fields): all
// of them for every usual kernel, so run() reads them; beyond, it derives them.
constexpr size_t kCachedPhases = 16;

// ---- Small arithmetic shared by the stages.

// a * b, saturating at UINT64_MAX instead of wrapping.
inline uint64_t mul_sat(uint64_t a, uint64_t b) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) {
    return std::numeric_limits<uint64_t>::max();
  }
  return a * b;
}

inline uint64_t weight_elements(const ConvParams& p) {
  return mul_sat(mul_sat(static_cast<uint64_t>(p.out_channels),
                         static_cast<uint64_t>(p.in_channels / p.groups)),
                 static_cast<uint64_t>(p.kernel_size));
}

// Conv1d's padding after the input: asymmetric when it differs from p.padding.
inline int64_t padding_after(const ConvParams& p) {
  return p.padding_right >= 0 ? p.padding_right : p.padding;
}

inline bool is_transposed(const ConvParams& p) { return p.kind == OperatorKind::kConvTranspose1d; }

// ---- Messages (operator-messages.cc): "Kind: <message>", numbers printed as
// JavaScript prints them so that messages read the same in JS and natively.
std::string num(double v);
std::string weight_shape_string(const ConvParams& p);
std::string padding_string(const ConvParams& p);
Status invalid(Error* error, const ConvParams& p, const std::string& message);
// A size beyond what wasm memory can hold.
Status too_large(Error* error, const ConvParams& p, const std::string& what, uint64_t bytes);
// An allocation within the limits failed: says how much was asked and how
// much is held, so the caller knows what freeing would help.
Status out_of_memory(Error* error, const ConvParams& p, const std::string& what, uint64_t bytes);

// ---- operator-plan.cc

// The phases, the kernel path and the packed weights' buffers (create).
Status plan_parameters(Operator* op, Error* error);
// Phase i's plan (what depends on the parameters only).
Phase phase_plan(const Operator* op, size_t i);
void phase_step(const Operator* op, Phase* ph, size_t i);
OutputEnd output_end(const ConvParams& p, int64_t lout);
void phase_shape(const Operator* op, Phase* ph, int64_t lout, OutputEnd end);
// The plan of an input [batch, Cin, length] with an output of length lout
// (checked), and whether its buffers fit the limits. Changes nothing.
Status plan_shape(const Operator* op, const InputDesc& in, int64_t lout, ShapePlan* shape,
                  Error* error);
// Grows the scratch to what `shape` needs. On failure the operator's current
// plan still runs (its row table is rebuilt if its rows moved).
Status reserve_scratch(Operator* op, const ShapePlan& shape, Error* error);
// Makes `shape` the operator's plan: the cached phases' per-shape fields and
// the row table. Cannot fail (reserve_scratch made the room).
void commit_shape(Operator* op, const ShapePlan& shape);

// The phases with their per-shape fields, for loops over them in order:
// the cached ones as stored, the others each derived from the one before
// (phase_step) when the loop goes in order, else from its index.
class PhaseWalk {
 public:
  // The shape of the last reshape.
  explicit PhaseWalk(const Operator* op)
      : PhaseWalk(op, op->shape.output_length, op->shape.output_end, op->phase_cache.size()) {}
  // Another shape, reading the first `cached` phases from the cache.
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

// ---- packing.cc

void pack_weights(Operator* op);
// The requantization parameters for an input scale, checked first by
// check_requantization (operator.cc). Writes op->requant and the bias and
// scale slots of the packed weights.
void compute_requantization(Operator* op, double input_scale);

// ---- operator-run.cc

// run() once setup has bound the buffers of the planned shape.
void run_plan(Operator* op);

}  // namespace qconv
