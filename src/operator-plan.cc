// Planning: the phases and kernel path a module's parameters imply (create),
// and for each input shape the outputs of every phase, the padding rows, the
// output blocks, the split over threads and the dwconv1d path's row table
// (reshape). Nothing here reads a caller's value unchecked: operator.cc
// checks them first.
#include <algorithm>
#include <atomic>
#include <limits>

#include "operator.h"
#include "threadpool.h"

namespace qconv {

// Below this many multiply-adds a forward runs on one thread (set_min_parallel_work).
extern std::atomic<uint64_t> min_parallel_macs;

namespace {

// The largest stride the conv1d path zips its phases for (the kernel set
// has the x2 zip only).
constexpr int64_t kZipMaxStride = 2;
// The fewest output positions per phase the zip is used for.
constexpr int64_t kZipMinPositions = 64;

// Packed weights stay within 4 bytes per weight element plus this (the
// conv1d tile's padding and per-block bias and scales); where its packing
// would take more, the operator takes the dwconv1d kernel (2 bytes each).
constexpr uint64_t kPackedSlackBytes = uint64_t{64} << 10;

// conv1d path: kc and ks of a phase of n taps. Tap runs that are contiguous
// in the [row][Cin] layout (one group, taps on consecutive rows) become one
// long dot product: the dense GEMM case.
void conv1d_shape(const Operator* op, size_t n, size_t* kc, size_t* ks) {
  const ConvParams& p = op->params;
  const int64_t row_step = is_transposed(p) ? op->plan.period_rows : p.dilation;
  const bool contiguous = p.groups == 1 && (n == 1 || row_step == 1);
  const size_t cin_g = static_cast<size_t>(op->plan.in_per_group);
  *kc = contiguous ? n * cin_g : cin_g;
  *ks = contiguous ? 1 : n;
}

// conv1d path: packed int32 words per group of a phase of n taps.
uint64_t conv1d_group_words(const Operator* op, size_t n) {
  if (n == 0) return 0;
  size_t kc = 0, ks = 0;
  conv1d_shape(op, n, &kc, &ks);
  const uint64_t blocks =
      static_cast<uint64_t>((op->plan.out_per_group + kConv1dNr - 1) / kConv1dNr);
  return mul_sat(blocks, conv1d_packed_block_bytes(kc, ks) / sizeof(int32_t));
}

// Fills a phase's plan from its index, num_taps, first_tap, residue and
// c_last (phase_plan and phase_step set those).
void complete_phase(const Operator* op, Phase* ph, size_t i) {
  const ConvParams& p = op->params;
  const ParamPlan& plan = op->plan;
  if (is_transposed(p)) {
    const int64_t last = static_cast<int64_t>(ph->num_taps) - 1;
    ph->tap_k0 = static_cast<int64_t>(i) + last * plan.tap_period;
    ph->tap_k_step = -plan.tap_period;
    // c(k) = (k*dilation - residue) / stride grows by period_rows per period.
    ph->c_first = ph->c_last + last * plan.period_rows;
    ph->tap_row_step = ph->num_taps > 1 ? plan.period_rows : 0;
    // j_first = max(0, ceil((padding - residue) / stride)), 0 <= residue < stride.
    ph->j_first = ph->residue < plan.pad_remainder ? plan.pad_quotient + 1 : plan.pad_quotient;
  } else {
    ph->tap_row_step = p.dilation;
  }
  // Each kernel path's fields (plan_parameters needs the conv1d ones to choose).
  if (plan.channel_major) {
    ph->dw_weight_offset = static_cast<size_t>(p.out_channels * plan.in_per_group) * ph->first_tap;
    ph->dw_rows_offset = static_cast<size_t>(plan.in_per_group) * ph->first_tap;
  } else {
    conv1d_shape(op, ph->num_taps, &ph->kc, &ph->ks);
    ph->packed_group_stride = i < plan.long_phases ? plan.group_words_long : plan.group_words_short;
  }
}

// The phases' sizes: how many, and how many taps each.
void plan_phases(Operator* op) {
  const ConvParams& p = op->params;
  ParamPlan& plan = op->plan;
  const int64_t K = p.kernel_size, s = p.stride, d = p.dilation;
  if (is_transposed(p)) {
    // Taps k and k' share a phase when (k - k')*d = 0 (mod s), that is when
    // k = k' (mod s / gcd(d, s)).
    int64_t a = d, b = s;
    while (b != 0) {
      const int64_t r = a % b;
      a = b;
      b = r;
    }
    plan.tap_period = s / a;
    plan.period_rows = d / a;
    plan.num_phases = static_cast<size_t>(std::min(K, plan.tap_period));
    plan.long_taps = static_cast<size_t>((K + plan.tap_period - 1) / plan.tap_period);
    plan.long_phases =
        K % plan.tap_period == 0 ? plan.num_phases : static_cast<size_t>(K % plan.tap_period);
  } else {
    plan.num_phases = 1;
    plan.long_taps = static_cast<size_t>(K);
    plan.long_phases = 1;
  }
  plan.group_words_long = static_cast<size_t>(conv1d_group_words(op, plan.long_taps));
  plan.group_words_short = static_cast<size_t>(conv1d_group_words(op, plan.long_taps - 1));
  plan.pad_quotient = p.padding / s;
  plan.pad_remainder = p.padding % s;
  plan.dilation_quotient = d / s;
  plan.dilation_remainder = d % s;
  plan.pad_before = is_transposed(p) ? 0 : p.padding;
  if (is_transposed(p)) {
    PhaseWalk walk(op, 0, OutputEnd(), 0);
    for (size_t i = 0; i < plan.num_phases; ++i) {
      const Phase& ph = walk.at(i);
      plan.pad_before = std::max(plan.pad_before, ph.c_first - ph.j_first);
    }
  }
}

// The rows the phases with outputs read: the padding after the input, the
// span of phase index j with outputs, and whether some outputs are reached
// by no tap.
void plan_phase_extent(const Operator* op, ShapePlan* s) {
  const ConvParams& p = op->params;
  const bool transposed = is_transposed(p);
  const int64_t L = s->length, lout = s->output_length;
  s->pad_after = transposed ? 0 : padding_after(p);
  int64_t covered = 0;
  int64_t j_begin = std::numeric_limits<int64_t>::max();
  int64_t j_end = std::numeric_limits<int64_t>::min();
  PhaseWalk walk(op, lout, s->output_end, 0);
  for (size_t i = 0; i < op->plan.num_phases; ++i) {
    const Phase& ph = walk.at(i);
    if (ph.count > 0) {
      const int64_t j_last = ph.j_first + ph.count - 1;
      if (transposed) s->pad_after = std::max(s->pad_after, j_last - ph.c_last - (L - 1));
      j_begin = std::min(j_begin, ph.j_first);
      j_end = std::max(j_end, j_last + 1);
    }
    covered += ph.count;
  }
  if (j_begin > j_end) j_begin = j_end = 0;
  s->j_begin = j_begin;
  s->j_end = j_end;
  s->has_bias_only_outputs = covered < lout;
}

// Output blocking of the conv1d path: about 32 KiB of output per block when
// the packed weights stay in L2 (their sweep repeats per block), and the
// staging area that keeps a block's rows in distinct cache sets.
void plan_blocks(const Operator* op, ShapePlan* s) {
  const ConvParams& p = op->params;
  const int64_t out_step = is_transposed(p) ? p.stride : 1;
  const bool weights_fit_l2 = op->weights.packed.size() * sizeof(int32_t) <= (size_t{256} << 10);
  s->j_block = std::max<int64_t>(s->j_end - s->j_begin, 1);
  s->staging_stride = 0;
  s->staging_bytes = 0;
  if (weights_fit_l2 && !op->plan.channel_major) {
    const int64_t block =
        (32768 / std::max<int64_t>(p.out_channels * out_step, 1)) / kConv1dMr * kConv1dMr;
    s->j_block = std::min(s->j_block, std::max<int64_t>(block, 4 * kConv1dMr));
  }
  // Staging pays only when output rows alias in the cache: several blocks
  // and rows a multiple of 256 bytes apart (measured: a Cin 1 -> Cout 64
  // upsampler to 32768 positions runs 4x faster; otherwise the copy costs).
  if (s->batch > 0 && s->j_block < s->j_end - s->j_begin && s->output_length % 256 == 0) {
    // An odd number of 64-byte lines per row: consecutive rows fall in
    // different cache sets.
    size_t lines = (static_cast<size_t>(s->j_block * out_step) + 63) / 64;
    if (lines % 2 == 0) ++lines;
    s->staging_stride = lines * 64;
    // One staging area per thread.
    s->staging_bytes = s->staging_stride * static_cast<size_t>(p.out_channels) * s->threads;
  }
  // Zip staging: about 16 KiB per thread (it stays in L1 between the
  // kernels' stores and the zip's loads), a multiple of the kernel's 4 rows.
  // Stride 2 only: measured in wasm (V8 11.3), S5 and S8 (stride 2) ran
  // 2-3% faster, S4 (stride 4) the same, S6 (stride 3, 16 channels per
  // group, 1-2 taps of 16) 6-12% slower, so only stride 2 is zipped.
  s->zip_chunk = 0;
  s->zip_row = 0;
  s->zip_bytes = 0;
  const int64_t stride = p.stride;
  // Short rows (S2: 6 positions per phase) do not pay for the staging and
  // the zip calls: measured 0.25 us more per forward there.
  if (s->batch > 0 && is_transposed(p) && !op->plan.channel_major && stride >= 2 &&
      stride <= kZipMaxStride && static_cast<int64_t>(op->plan.num_phases) == stride &&
      s->j_end - s->j_begin >= kZipMinPositions) {
    const int64_t per_j = op->plan.out_per_group * stride;
    const int64_t chunk = std::max<int64_t>(16384 / per_j, 32) / kConv1dMr * kConv1dMr;
    s->zip_chunk = std::min(chunk, s->j_block);
    // An odd number of 64-byte lines per row, as for staging_stride.
    size_t lines = (static_cast<size_t>(s->zip_chunk) + 63) / 64;
    if (lines % 2 == 0) ++lines;
    s->zip_row = lines * 64;
    s->zip_bytes = s->zip_row * static_cast<size_t>(per_j) * s->threads;
  }
}

// Threads, when the work pays for waking them (below about 50 us of work
// the hand-off costs more than it saves), and how they split it.
void plan_threads(const Operator* op, ShapePlan* s) {
  const ConvParams& p = op->params;
  const uint64_t macs = mul_sat(
      mul_sat(mul_sat(static_cast<uint64_t>(s->batch), static_cast<uint64_t>(p.out_channels)),
              static_cast<uint64_t>(op->plan.in_per_group * p.kernel_size)),
      static_cast<uint64_t>(is_transposed(p) ? s->length : s->output_length));
  size_t threads = pool_threads();
  if (macs < min_parallel_macs.load(std::memory_order_relaxed)) threads = 1;
  const uint64_t batch_items = static_cast<uint64_t>(s->batch);
  s->threads = threads;
  s->batch_parallel = threads > 1 && batch_items >= threads &&
                      (batch_items % threads == 0 || batch_items >= 2 * threads);
  s->rows_copies = s->batch_parallel ? threads : 1;
}

// Work items of one batch item shared by the threads: input positions
// (conv1d path) or channels (dwconv1d path) to prepare, in runs of 8 (the
// transpose tile), about 2 items per thread; output channels per compute
// item in whole kConv1dNr blocks, about 8 items per thread (a late thread
// on a shared machine leaves less to wait for).
void plan_work_items(const Operator* op, ShapePlan* s) {
  const ConvParams& p = op->params;
  const bool channel_major = op->plan.channel_major;
  const int64_t extent = channel_major ? p.in_channels : s->length;
  s->prepare_chunk = std::max<int64_t>(extent, 1);
  s->channel_chunk = op->plan.out_per_group;
  if (s->threads <= 1 || s->batch_parallel) return;
  const int64_t t = static_cast<int64_t>(s->threads);
  s->prepare_chunk = std::max<int64_t>(8, (extent / (2 * t) + 7) / 8 * 8);
  if (channel_major) {
    s->channel_chunk = std::max<int64_t>(1, p.out_channels / (4 * t));
  } else {
    const int64_t nr = static_cast<int64_t>(kConv1dNr);
    const int64_t blocks = (op->plan.out_per_group + nr - 1) / nr;
    const int64_t j_blocks = (s->j_end - s->j_begin + s->j_block - 1) / s->j_block;
    const int64_t per_item = std::max<int64_t>(1, j_blocks * p.groups * blocks / (8 * t));
    s->channel_chunk = std::min(blocks, per_item) * nr;
  }
}

// dwconv1d path: a row pointer per phase, input channel of group 0 and tap,
// into copy 0 of input_rows; group g reads g*cin_g channels further
// (run passes the offset).
void build_row_table(Operator* op, const ShapePlan& s) {
  const ConvParams& p = op->params;
  if (!op->plan.channel_major || s.batch == 0) return;
  const bool transposed = is_transposed(p);
  const int64_t d = p.dilation, stride = p.stride;
  const int16_t* rows = op->scratch.input_rows.data();
  PhaseWalk walk(op, s.output_length, s.output_end, 0);
  for (size_t i = 0; i < op->plan.num_phases; ++i) {
    const Phase& ph = walk.at(i);
    const int16_t** table = op->scratch.row_table.data() + ph.dw_rows_offset;
    for (int64_t ci = 0; ci < op->plan.in_per_group; ++ci) {
      for (size_t t = 0; t < ph.num_taps; ++t) {
        const int64_t k = ph.tap_k0 + static_cast<int64_t>(t) * ph.tap_k_step;
        int64_t sub_row = 0, offset;
        if (transposed) {
          // c(k) falls by tap_row_step per tap from c_first.
          offset = ph.row_first + static_cast<int64_t>(t) * ph.tap_row_step;
        } else {
          sub_row = (k * d) % stride;
          offset = (k * d) / stride;
        }
        *table++ = rows + (ci * s.sub_rows + sub_row) * s.row_length + offset;
      }
    }
  }
}

}  // namespace

Status plan_parameters(Operator* op, Error* error) {
  const ConvParams& p = op->params;
  ParamPlan& plan = op->plan;
  plan.in_per_group = p.in_channels / p.groups;
  plan.out_per_group = p.out_channels / p.groups;
  plan_phases(op);

  // The 4x8 tile wastes most of its work below 5 channels per group, or on
  // 1-2 values per tap run, and its packing (8-channel blocks, even runs, a
  // bias and scale per block and phase) can outweigh the weights many times
  // (one tap per phase, few channels): those shapes take the channel-major
  // kernel.
  const uint64_t weights = weight_elements(p);
  const uint64_t long_phases = plan.long_phases;
  const uint64_t conv1d_words = mul_sat(
      static_cast<uint64_t>(p.groups),
      mul_sat(long_phases, conv1d_group_words(op, plan.long_taps)) +
          mul_sat(plan.num_phases - long_phases, conv1d_group_words(op, plan.long_taps - 1)));
  // (group_words_* are size_t: they are used only when the conv1d packing fits.)
  const uint64_t conv1d_bytes = mul_sat(conv1d_words, sizeof(int32_t));
  const int64_t row_step = is_transposed(p) ? plan.period_rows : p.dilation;
  const bool all_contiguous = p.groups == 1 && (plan.long_taps == 1 || row_step == 1);
  plan.channel_major = plan.out_per_group <= 4 || (plan.in_per_group <= 2 && !all_contiguous) ||
                       conv1d_bytes > 4 * weights + kPackedSlackBytes ||
                       weights + conv1d_bytes > kMaxBytes;
  plan.dw_pair = plan.channel_major && is_transposed(p) && p.stride == 2 &&
                 plan.num_phases == 2 &&
                 static_cast<uint64_t>(plan.in_per_group) * plan.long_taps <= kDwconv1dPairMaxTaps;
  const uint64_t packed_bytes = plan.channel_major ? weights * sizeof(int16_t) : conv1d_bytes;
  if (packed_bytes > kMaxBytes) {
    return too_large(error, p, "the packed weights of shape " + weight_shape_string(p),
                     packed_bytes);
  }
  Weights& w = op->weights;
  if ((plan.channel_major ? !w.dw_packed.reserve_discard(static_cast<size_t>(weights))
                          : !w.packed.reserve_discard(static_cast<size_t>(conv1d_words))) ||
      !op->phase_cache.reserve_discard(std::min(plan.num_phases, kCachedPhases))) {
    return out_of_memory(error, p, "the packed weights of shape " + weight_shape_string(p),
                         packed_bytes);
  }
  for (size_t i = 0; i < op->phase_cache.size(); ++i) op->phase_cache[i] = phase_plan(op, i);
  return Status::kOk;
}

Phase phase_plan(const Operator* op, size_t i) {
  const ConvParams& p = op->params;
  const ParamPlan& plan = op->plan;
  Phase ph;
  const bool long_phase = i < plan.long_phases;
  const size_t shorter = long_phase ? 0 : i - plan.long_phases;
  ph.num_taps = long_phase ? plan.long_taps : plan.long_taps - 1;
  ph.first_tap = i * plan.long_taps - shorter;
  ph.packed_offset = static_cast<size_t>(p.groups) *
                     ((i - shorter) * plan.group_words_long + shorter * plan.group_words_short);
  if (is_transposed(p)) {
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
  const ParamPlan& plan = op->plan;
  ph->first_tap += ph->num_taps;
  ph->packed_offset += static_cast<size_t>(p.groups) * ph->packed_group_stride;
  if (i + 1 == plan.long_phases) ph->num_taps = plan.long_taps - 1;
  ph->residue += plan.dilation_remainder;
  ph->c_last += plan.dilation_quotient;
  if (ph->residue >= p.stride) {
    ph->residue -= p.stride;
    ++ph->c_last;
  }
  complete_phase(op, ph, i + 1);
}

OutputEnd output_end(const ConvParams& p, int64_t lout) {
  const int64_t a = lout - 1 + p.padding;  // >= 0
  return OutputEnd{a / p.stride, a % p.stride};
}

// A phase's per-shape fields for an output of length lout (end: output_end).
void phase_shape(const Operator* op, Phase* ph, int64_t lout, OutputEnd end) {
  const ConvParams& p = op->params;
  if (is_transposed(p)) {
    // j_last = floor((lout - 1 + padding - residue) / stride), 0 <= residue < stride.
    const int64_t j_last = ph->residue <= end.remainder ? end.quotient : end.quotient - 1;
    ph->count = std::max<int64_t>(0, j_last - ph->j_first + 1);
    ph->out_first = ph->residue + p.stride * ph->j_first - p.padding;
    ph->row_first = op->plan.pad_before + ph->j_first - ph->c_first;
  } else {
    ph->count = lout;
    ph->out_first = 0;
    ph->row_first = 0;
  }
}

Status plan_shape(const Operator* op, const InputDesc& in, int64_t lout, ShapePlan* shape,
                  Error* error) {
  const ConvParams& p = op->params;
  ShapePlan s;
  s.batch = in.batch;
  s.length = in.length;
  s.output_length = lout;
  s.output_end = output_end(p, lout);
  s.input_zero_point = static_cast<int32_t>(in.zero_point);
  plan_phase_extent(op, &s);
  s.padded_rows = op->plan.pad_before + in.length + s.pad_after;
  // dwconv1d path: Conv1d's stride splits each channel into sub-rows (row r
  // goes to sub-row r mod stride), so every tap reads a contiguous run.
  s.sub_rows = is_transposed(p) ? 1 : std::min(p.stride, s.padded_rows);
  s.row_length = (s.padded_rows + s.sub_rows - 1) / s.sub_rows + kDwconv1dTile;
  plan_threads(op, &s);

  // An empty batch computes nothing: it needs no scratch, so neither sizes
  // nor refuses any (its input and output are empty too).
  const bool empty = in.batch == 0;
  const uint64_t cin = static_cast<uint64_t>(p.in_channels);
  const uint64_t rows_elements =
      empty                    ? 0
      : op->plan.channel_major ? mul_sat(mul_sat(cin, static_cast<uint64_t>(s.sub_rows)),
                                         static_cast<uint64_t>(s.row_length))
                               // + what the conv1d kernel may read past the last row.
                               : mul_sat(static_cast<uint64_t>(s.padded_rows), cin) + kConv1dKr * 8;
  // dwconv1d path: a row pointer per input channel of a group and tap (the
  // groups share them).
  const uint64_t table_entries =
      op->plan.channel_major && !empty
          ? static_cast<uint64_t>(op->plan.in_per_group) * static_cast<uint64_t>(p.kernel_size)
          : 0;
  const uint64_t batch = static_cast<uint64_t>(in.batch);
  const uint64_t in_bytes = mul_sat(mul_sat(batch, cin), static_cast<uint64_t>(in.length));
  const uint64_t out_bytes =
      mul_sat(mul_sat(batch, static_cast<uint64_t>(p.out_channels)), static_cast<uint64_t>(lout));
  const uint64_t scratch_bytes = mul_sat(mul_sat(rows_elements, sizeof(int16_t)), s.rows_copies) +
                                 mul_sat(table_entries, sizeof(void*));
  if (in_bytes > kMaxBytes) return too_large(error, p, "the input", in_bytes);
  if (out_bytes > kMaxBytes) return too_large(error, p, "the output", out_bytes);
  if (scratch_bytes > kMaxBytes || in_bytes + out_bytes + scratch_bytes > kMaxBytes) {
    return too_large(error, p, "the input, output and scratch buffers",
                     in_bytes + out_bytes + scratch_bytes);
  }
  s.rows_stride = static_cast<size_t>(rows_elements);
  s.table_entries = static_cast<size_t>(table_entries);
  plan_blocks(op, &s);
  plan_work_items(op, &s);
  *shape = s;
  return Status::kOk;
}

Status reserve_scratch(Operator* op, const ShapePlan& shape, Error* error) {
  Scratch& scratch = op->scratch;
  const bool rows_ok = scratch.input_rows.reserve_discard(shape.rows_stride * shape.rows_copies) &&
                       scratch.row_table.reserve_discard(shape.table_entries);
  const bool staging_ok =
      rows_ok && (shape.staging_bytes == 0 || scratch.staging.reserve_discard(shape.staging_bytes)) &&
      (shape.zip_bytes == 0 || scratch.zip_staging.reserve_discard(shape.zip_bytes));
  if (rows_ok && staging_ok) return Status::kOk;
  // The current plan keeps running: its sizes are within the buffers'
  // capacity (never shrunk), but its rows may have moved.
  if (op->ready) {
    const ShapePlan& current = op->shape;
    scratch.input_rows.reserve_discard(current.rows_stride * current.rows_copies);
    scratch.row_table.reserve_discard(current.table_entries);
    build_row_table(op, current);
  }
  const ConvParams& p = op->params;
  if (!rows_ok) {
    const uint64_t bytes = mul_sat(mul_sat(shape.rows_stride, sizeof(int16_t)), shape.rows_copies) +
                           mul_sat(shape.table_entries, sizeof(void*));
    return out_of_memory(error, p, "the scratch buffers", bytes);
  }
  return out_of_memory(error, p, "the output staging buffers", shape.staging_bytes + shape.zip_bytes);
}

void commit_shape(Operator* op, const ShapePlan& shape) {
  op->shape = shape;
  for (size_t i = 0; i < op->phase_cache.size(); ++i) {
    phase_shape(op, &op->phase_cache[i], shape.output_length, shape.output_end);
  }
  build_row_table(op, shape);
}

}  // namespace qconv
