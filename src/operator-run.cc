// run(): each batch item's input widened to int16 (minus its zero point) in
// the layout the kernel path reads, then the micro-kernels over output
// blocks, groups and channel tiles, on one thread or split over the pool's.
// Everything it reads was planned and sized by reshape; it allocates nothing.
#include <algorithm>
#include <cstring>

#include "operator.h"
#include "quantization.h"
#include "threadpool.h"

namespace qconv {

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
  op->kernels->transpose_widen(cin, static_cast<size_t>(l1 - l0), x + l0,
                               static_cast<size_t>(op->shape.length), op->shape.input_zero_point,
                               rows + (op->plan.pad_before + l0) * p.in_channels, cin);
}

// conv1d path: the padding rows of one batch item (zeros, or the reflected
// input positions, read from the input itself so that this can run beside
// prepare_rows), and the int16 the kernel may read past the last row.
void prepare_padding_rows(const Operator* op, const uint8_t* x, int16_t* rows) {
  const ConvParams& p = op->params;
  const size_t cin = static_cast<size_t>(p.in_channels);
  const int64_t L = op->shape.length;
  const bool reflect = p.kind == OperatorKind::kConv1d && p.padding_mode == PaddingMode::kReflect;
  for (int64_t r = 0; r < op->shape.padded_rows; ++r) {
    if (r == op->plan.pad_before) r += L;
    if (r >= op->shape.padded_rows) break;
    int16_t* row = rows + r * p.in_channels;
    if (reflect) {
      op->kernels->transpose_widen(cin, 1, x + reflect_row(r, op->plan.pad_before, L),
                                   static_cast<size_t>(L), op->shape.input_zero_point, row, cin);
    } else {
      std::memset(row, 0, cin * sizeof(int16_t));
    }
  }
  // Times a zero weight.
  std::memset(rows + op->shape.padded_rows * p.in_channels, 0, kConv1dKr * 8 * sizeof(int16_t));
}

// dwconv1d path: input channels [c0, c1) of one batch item to
// [Cin][sub-row][row_length] int16.
void prepare_channel_rows(const Operator* op, const uint8_t* x, int16_t* rows, int64_t c0,
                          int64_t c1) {
  const ConvParams& p = op->params;
  const bool transposed = p.kind == OperatorKind::kConvTranspose1d;
  const bool reflect = !transposed && p.padding_mode == PaddingMode::kReflect;
  const int64_t L = op->shape.length, before = op->plan.pad_before, padded = op->shape.padded_rows;
  const int64_t sub_rows = transposed ? 1 : std::min(p.stride, padded);
  const int64_t row_length = op->shape.row_length;
  const int32_t zp = op->shape.input_zero_point;
  if (op->plan.dw_pair) {
    // uint8 rows: the 2x8c2 kernel widens as it loads. Padding holds the
    // zero point (x - zp = 0); the slack is filled too, so that every byte
    // the kernel reads is defined.
    uint8_t* bytes = reinterpret_cast<uint8_t*>(rows);
    for (int64_t c = c0; c < c1; ++c) {
      uint8_t* dst = bytes + c * row_length;
      std::memset(dst, zp, static_cast<size_t>(before));
      std::memcpy(dst + before, x + c * L, static_cast<size_t>(L));
      std::memset(dst + before + L, zp, static_cast<size_t>(row_length - before - L));
    }
    return;
  }
  for (int64_t c = c0; c < c1; ++c) {
    const uint8_t* src = x + c * L;
    int16_t* dst = rows + c * sub_rows * row_length;
    if (sub_rows == 1) {
      std::memset(dst, 0, static_cast<size_t>(before) * sizeof(int16_t));
      for (int64_t i = 0; i < L; ++i) dst[before + i] = static_cast<int16_t>(src[i] - zp);
      std::memset(dst + before + L, 0,
                  static_cast<size_t>(row_length - before - L) * sizeof(int16_t));
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

// One phase's taps for the 2x8c2 kernel, from output u0 of the phase on:
// uint8 row pointers and weights, padded to an even count with zero weights.
struct PairTaps {
  const uint8_t* rows[kDwconv1dPairMaxTaps + 1];
  int16_t w[kDwconv1dPairMaxTaps + 1];
  size_t count = 0;
  void pad_back() { rows[count] = rows[count - 1], w[count++] = 0; }
  void pad_front() {
    for (size_t t = count; t > 0; --t) rows[t] = rows[t - 1], w[t] = w[t - 1];
    rows[0] = rows[1], w[0] = 0;  // the caller may point it elsewhere
    ++count;
  }
};

void pair_taps(const Operator* op, const Phase& ph, const uint8_t* base, size_t group_offset,
               int64_t co, int64_t u0, PairTaps* taps) {
  const size_t n = static_cast<size_t>(op->plan.in_per_group) * ph.num_taps;
  const int16_t* const* table = op->scratch.row_table.data() + ph.dw_rows_offset;
  const int16_t* rows0 = op->scratch.input_rows.data();
  const int16_t* w = op->weights.dw_packed.data() + ph.dw_weight_offset + co * n;
  for (size_t t = 0; t < n; ++t) {
    taps->rows[t] = base + (table[t] - rows0) + group_offset + u0;
    taps->w[t] = w[t];
  }
  taps->count = n;
}

bool same_rows(const PairTaps& a, const PairTaps& b) {
  if (a.count != b.count) return false;
  for (size_t t = 0; t < a.count; ++t) {
    if (a.rows[t] != b.rows[t]) return false;
  }
  return true;
}

// Evens the tap counts of a and b, with zero weights where they let the two
// phases read the same rows (a K = 3 kernel: 2 taps and 1).
void even_taps(PairTaps* a, PairTaps* b) {
  for (PairTaps* longer : {a, b}) {
    PairTaps* shorter = longer == a ? b : a;
    if (longer->count != shorter->count + 1 || longer->count % 2 != 0) continue;
    PairTaps front = *shorter, back = *shorter;
    front.pad_front();
    front.rows[0] = longer->rows[0];
    back.pad_back();
    back.rows[back.count - 1] = longer->rows[longer->count - 1];
    if (same_rows(front, *longer)) *shorter = front;
    if (same_rows(back, *longer)) *shorter = back;
  }
  while (a->count < b->count || a->count % 2 != 0) a->pad_back();
  while (b->count < a->count || b->count % 2 != 0) b->pad_back();
}

// One output from a phase's taps (output 0 when the 2x8c2 calls start at 1):
// the kernels' arithmetic, without a kernel call per channel.
uint8_t single_output(const PairTaps& taps, int32_t zero_point, int32_t bias, float scale,
                      const RequantParams& rq) {
  uint32_t acc = static_cast<uint32_t>(bias);
  for (size_t t = 0; t < taps.count; ++t) {
    acc += static_cast<uint32_t>(int32_t{taps.w[t]} * (int32_t{taps.rows[t][0]} - zero_point));
  }
  return requantize_fp32_magic(static_cast<int32_t>(acc), scale, rq.output_zero_point,
                               rq.min_less_zero_point);
}

// dwconv1d path with dw_pair: output channels [co0, co1), both phases of
// each in one 2x8c2 call. The calls start at output 0 (even phase at u, odd
// at u), or at output 1 (odd at u, even at u + 1) when only that lets the
// phases share their rows; channels differ only by where their rows start,
// so the first channel decides for all.
void dwconv_channels_pair(const Operator* op, size_t rows_offset, uint8_t* out_n, int64_t co0,
                          int64_t co1) {
  const int64_t cin_g = op->plan.in_per_group, cout_g = op->plan.out_per_group,
                lout = op->shape.output_length;
  const int32_t zp = op->shape.input_zero_point;
  const RequantParams rq = {op->out_zero_point, op->relu ? 0.0f : -512.0f};
  const uint8_t* base = reinterpret_cast<const uint8_t*>(op->scratch.input_rows.data() + rows_offset);
  PhaseWalk walk(op);
  // Phase f fills the even outputs, phase 1 - f the odd ones.
  const Phase* ph[2] = {&walk.at(0), &walk.at(1)};
  const size_t f = ph[0]->out_first == 0 ? 0 : 1;
  const Phase& even = *ph[f];
  const Phase& odd = *ph[1 - f];
  auto group_offset = [&](int64_t co) {
    return static_cast<size_t>(co / cout_g * cin_g * op->shape.row_length);
  };
  bool from_one = false;
  if (odd.count > 0 && co0 < co1) {
    PairTaps a, b, a1, b1;
    pair_taps(op, even, base, group_offset(co0), co0, 0, &a);
    pair_taps(op, odd, base, group_offset(co0), co0, 0, &b);
    even_taps(&a, &b);
    pair_taps(op, odd, base, group_offset(co0), co0, 0, &a1);
    pair_taps(op, even, base, group_offset(co0), co0, 1, &b1);
    even_taps(&a1, &b1);
    from_one = !same_rows(a, b) && same_rows(a1, b1);
  }
  for (int64_t co = co0; co < co1; ++co) {
    const int32_t bias = op->requant.bias[co];
    const float scale = op->requant.scales[co];
    uint8_t* c = out_n + co * lout;
    PairTaps a, b;
    pair_taps(op, even, base, group_offset(co), co, 0, &a);
    if (odd.count == 0) {  // lout == 1
      c[0] = single_output(a, zp, bias, scale, rq);
      continue;
    }
    if (from_one) {
      c[0] = single_output(a, zp, bias, scale, rq);
      pair_taps(op, odd, base, group_offset(co), co, 0, &a);
      pair_taps(op, even, base, group_offset(co), co, 1, &b);
      even_taps(&a, &b);
      op->kernels->dwconv1d_pair(static_cast<size_t>(lout - 1), a.count / 2, a.rows, a.w, b.rows,
                                 b.w, zp, bias, scale, c + 1, rq);
      continue;
    }
    pair_taps(op, odd, base, group_offset(co), co, 0, &b);
    even_taps(&a, &b);
    op->kernels->dwconv1d_pair(static_cast<size_t>(lout), a.count / 2, a.rows, a.w, b.rows, b.w,
                               zp, bias, scale, c, rq);
  }
}

// dwconv1d path: output channels [co0, co1) of one batch item, all phases,
// each output row finished while it is in cache. rows_offset selects the
// copy of input_rows (the row table points into copy 0).
void dwconv_channels(const Operator* op, size_t rows_offset, uint8_t* out_n, int64_t co0,
                     int64_t co1) {
  const ConvParams& p = op->params;
  const int64_t cin_g = op->plan.in_per_group, cout_g = op->plan.out_per_group,
                lout = op->shape.output_length;
  if (op->plan.dw_pair) {
    dwconv_channels_pair(op, rows_offset, out_n, co0, co1);
    return;
  }
  const size_t out_step =
      static_cast<size_t>(p.kind == OperatorKind::kConvTranspose1d ? p.stride : 1);
  const RequantParams rq = {op->out_zero_point, op->relu ? 0.0f : -512.0f};
  PhaseWalk walk(op);
  for (int64_t co = co0; co < co1; ++co) {
    const int64_t g = co / cout_g;
    // Outputs no tap reaches hold the requantized bias; the kernels then
    // overwrite the others while the row is in cache.
    if (op->shape.has_bias_only_outputs) {
      std::memset(out_n + co * lout, op->requant.bias_only_output[co], static_cast<size_t>(lout));
    }
    // The row table points at group 0's input channels.
    const size_t group_offset =
        rows_offset + static_cast<size_t>(g * cin_g * op->shape.row_length * op->shape.sub_rows);
    for (size_t i = 0; i < op->plan.num_phases; ++i) {
      const Phase& ph = walk.at(i);
      if (ph.count == 0) continue;
      const size_t taps_per_channel = static_cast<size_t>(cin_g) * ph.num_taps;
      op->kernels->dwconv1d(
          static_cast<size_t>(ph.count), taps_per_channel,
          op->scratch.row_table.data() + ph.dw_rows_offset, group_offset,
          op->weights.dw_packed.data() + ph.dw_weight_offset + co * taps_per_channel,
          op->requant.bias[co], op->requant.scales[co], out_n + co * lout + ph.out_first, out_step,
          rq);
    }
  }
}

int64_t num_j_blocks(const Operator* op) {
  // At least one: with no output reached by a tap, block 0 writes the bias.
  return std::max<int64_t>(
      1, (op->shape.j_end - op->shape.j_begin + op->shape.j_block - 1) / op->shape.j_block);
}

// conv1d path: block jb of j (output j*stride + residue - padding of every
// phase, so that the phases fill one stretch of output before the next) for
// the output channels [ch0, ch1) of group g (ch0 a multiple of kConv1dNr).
// staging, zip_staging: this thread's staging areas (used when
// staging_stride, zip_chunk != 0).
void conv1d_block(const Operator* op, const int16_t* rows, uint8_t* out_n, uint8_t* staging,
                  uint8_t* zip_staging, int64_t jb, int64_t g, int64_t ch0, int64_t ch1) {
  const ConvParams& p = op->params;
  const int64_t cin = p.in_channels, cin_g = op->plan.in_per_group, cout_g = op->plan.out_per_group;
  const int64_t lout = op->shape.output_length;
  const int64_t out_step = p.kind == OperatorKind::kConvTranspose1d ? p.stride : 1;
  const RequantParams rq = {op->out_zero_point, op->relu ? 0.0f : -512.0f};
  const int64_t j0 = op->shape.j_begin + jb * op->shape.j_block;
  const int64_t j1 = j0 + op->shape.j_block;
  PhaseWalk walk(op);
  // The block's outputs: [o_first, o_last] (every phase with taps fills its
  // positions in between).
  int64_t o_first = lout, o_last = -1;
  for (size_t i = 0; i < op->plan.num_phases; ++i) {
    const Phase& ph = walk.at(i);
    const int64_t u_begin = std::max<int64_t>(0, j0 - ph.j_first);
    const int64_t u_end = std::min<int64_t>(ph.count, j1 - ph.j_first);
    if (u_begin >= u_end) continue;
    o_first = std::min(o_first, ph.out_first + u_begin * out_step);
    o_last = std::max(o_last, ph.out_first + (u_end - 1) * out_step);
  }
  const size_t staging_stride = op->shape.staging_stride;
  const int64_t first_channel = g * cout_g + ch0;
  const size_t nc = static_cast<size_t>(ch1 - ch0);
  if (op->shape.has_bias_only_outputs) {
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
      const uint8_t bias = op->requant.bias_only_output[co];
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
  const size_t a_row_stride =
      static_cast<size_t>(out_step == 1 ? p.stride * cin : cin) * sizeof(int16_t);
  uint8_t* block_out = staging_stride != 0 ? staging - o_first : out_n;
  const size_t c_col_stride = staging_stride != 0 ? staging_stride : static_cast<size_t>(lout);
  // Phase ph's outputs j in [ja, jb) of the block's channels, to c (output
  // j_first at c, positions c_row_stride apart, channels c_col_stride apart).
  auto run_phase = [&](const Phase& ph, int64_t ja, int64_t jb, uint8_t* c, size_t c_row_stride,
                       size_t channel_stride) {
    const size_t a_tap_stride = static_cast<size_t>(ph.tap_row_step * cin) * sizeof(int16_t);
    const size_t block_words = conv1d_packed_block_bytes(ph.kc, ph.ks) / sizeof(int32_t);
    const int32_t* w = op->weights.packed.data() + ph.packed_offset + g * ph.packed_group_stride +
                       static_cast<size_t>(ch0) / kConv1dNr * block_words;
    const char* a = reinterpret_cast<const char*>(rows + ph.row_first * cin + g * cin_g);
    const int64_t u_begin = ja - ph.j_first;
    // The kernel walks the rows itself: one call per phase.
    op->kernels->conv1d(static_cast<size_t>(jb - ja), nc, ph.kc, ph.ks,
                        reinterpret_cast<const int16_t*>(a + u_begin * a_row_stride),
                        a_row_stride, a_tap_stride, w, c + u_begin * c_row_stride, c_row_stride,
                        channel_stride, rq);
  };
  // Zip: the j every phase has in this block (those of the sequence ends
  // take the strided stores below).
  int64_t zip_begin = j1, zip_end = j1;
  if (op->shape.zip_chunk != 0) {
    zip_begin = j0;
    for (size_t i = 0; i < op->plan.num_phases; ++i) {
      const Phase& ph = walk.at(i);
      zip_begin = std::max(zip_begin, ph.j_first);
      zip_end = std::min(zip_end, ph.j_first + ph.count);
    }
  }
  if (zip_begin >= zip_end) zip_begin = zip_end = j1;
  for (size_t i = 0; i < op->plan.num_phases; ++i) {
    const Phase& ph = walk.at(i);
    uint8_t* c = block_out + first_channel * c_col_stride + ph.out_first;
    const int64_t ja = std::max<int64_t>(j0, ph.j_first);
    const int64_t jb = std::min<int64_t>(j1, ph.j_first + ph.count);
    const size_t step = static_cast<size_t>(out_step);
    if (ja < std::min(jb, zip_begin)) run_phase(ph, ja, std::min(jb, zip_begin), c, step, c_col_stride);
    if (std::max(ja, zip_end) < jb) run_phase(ph, std::max(ja, zip_end), jb, c, step, c_col_stride);
  }
  if (zip_begin < zip_end) {
    // Phase rows by residue r: output o = j*stride + r - padding.
    const size_t s = static_cast<size_t>(p.stride), zip_row = op->shape.zip_row;
    const ZipUkernelFn zip = op->kernels->zip_x2;
    for (int64_t jc = zip_begin; jc < zip_end; jc += op->shape.zip_chunk) {
      const int64_t jn = std::min(op->shape.zip_chunk, zip_end - jc);
      for (size_t i = 0; i < op->plan.num_phases; ++i) {
        const Phase& ph = walk.at(i);
        // Row of j = jc at zip_staging + residue * zip_row.
        uint8_t* c = zip_staging + static_cast<size_t>(ph.residue) * zip_row - (jc - ph.j_first);
        run_phase(ph, jc, jc + jn, c, 1, s * zip_row);
      }
      uint8_t* o = block_out + first_channel * c_col_stride + (jc * p.stride - p.padding);
      for (size_t ch = 0; ch < nc; ++ch) {
        zip(static_cast<size_t>(jn), zip_staging + ch * s * zip_row, zip_row, o + ch * c_col_stride);
      }
    }
  }
  if (staging_stride != 0) {
    const size_t len = static_cast<size_t>(o_last - o_first + 1);
    for (int64_t co = first_channel; co < first_channel + static_cast<int64_t>(nc); ++co) {
      std::memcpy(out_n + co * lout + o_first, staging + co * staging_stride, len);
    }
  }
}

uint8_t* zip_staging_of(Operator* op, size_t thread) {
  return op->shape.zip_chunk == 0 ? nullptr
                                  : op->scratch.zip_staging.data() +
                                        thread * (op->shape.zip_bytes / op->shape.threads);
}

uint8_t* staging_of(Operator* op, size_t thread) {
  return op->shape.staging_stride == 0
             ? nullptr
             : op->scratch.staging.data() +
                   thread * op->shape.staging_stride * static_cast<size_t>(op->params.out_channels);
}

// One whole batch item on one thread, with that thread's scratch copy.
void run_batch_item(Operator* op, size_t thread, int64_t n) {
  const ConvParams& p = op->params;
  const int64_t cin = p.in_channels, cout = p.out_channels;
  const uint8_t* x = op->input + n * cin * op->shape.length;
  uint8_t* out_n = op->output + n * cout * op->shape.output_length;
  const size_t rows_offset = op->shape.batch_parallel ? thread * op->shape.rows_stride : 0;
  int16_t* rows = op->scratch.input_rows.data() + rows_offset;
  if (op->plan.channel_major) {
    prepare_channel_rows(op, x, rows, 0, cin);
    dwconv_channels(op, rows_offset, out_n, 0, cout);
  } else {
    prepare_rows(op, x, rows, 0, op->shape.length);
    prepare_padding_rows(op, x, rows);
    uint8_t* staging = staging_of(op, thread);
    const int64_t j_blocks = num_j_blocks(op);
    for (int64_t jb = 0; jb < j_blocks; ++jb) {
      for (int64_t g = 0; g < p.groups; ++g) {
        conv1d_block(op, rows, out_n, staging, zip_staging_of(op, thread), jb, g, 0,
                     op->plan.out_per_group);
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
  const uint8_t* x = op->input + n * cin * op->shape.length;
  uint8_t* out_n = op->output + n * cout * op->shape.output_length;
  int16_t* rows = op->scratch.input_rows.data();
  const int64_t extent = op->plan.channel_major ? cin : op->shape.length;
  const int64_t prepare_items = (extent + op->shape.prepare_chunk - 1) / op->shape.prepare_chunk;
  auto prepare = [&](size_t, size_t item) {
    if (static_cast<int64_t>(item) == prepare_items) {
      prepare_padding_rows(op, x, rows);
      return;
    }
    const int64_t i0 = static_cast<int64_t>(item) * op->shape.prepare_chunk;
    const int64_t i1 = std::min(extent, i0 + op->shape.prepare_chunk);
    if (op->plan.channel_major) {
      prepare_channel_rows(op, x, rows, i0, i1);
    } else {
      prepare_rows(op, x, rows, i0, i1);
    }
  };
  parallel_for(static_cast<size_t>(prepare_items + (op->plan.channel_major ? 0 : 1)), prepare,
               op->shape.threads);
  if (op->plan.channel_major) {
    const int64_t chunk = op->shape.channel_chunk;
    auto compute = [&](size_t, size_t item) {
      const int64_t co0 = static_cast<int64_t>(item) * chunk;
      dwconv_channels(op, 0, out_n, co0, std::min(cout, co0 + chunk));
    };
    parallel_for(static_cast<size_t>((cout + chunk - 1) / chunk), compute, op->shape.threads);
  } else {
    const int64_t chunk = op->shape.channel_chunk, cout_g = op->plan.out_per_group;
    const int64_t chunks = (cout_g + chunk - 1) / chunk;
    auto compute = [&](size_t thread, size_t item) {
      const int64_t q = static_cast<int64_t>(item) % chunks;
      const int64_t g = static_cast<int64_t>(item) / chunks % p.groups;
      const int64_t jb = static_cast<int64_t>(item) / chunks / p.groups;
      conv1d_block(op, rows, out_n, staging_of(op, thread), zip_staging_of(op, thread), jb, g,
                   q * chunk,
                   std::min(cout_g, (q + 1) * chunk));
    };
    parallel_for(static_cast<size_t>(num_j_blocks(op) * p.groups * chunks), compute,
                 op->shape.threads);
  }
}

}  // namespace

void run_plan(Operator* op) {
  const ShapePlan& s = op->shape;
  const int64_t bias_key = int64_t{op->out_zero_point} * 2 + (op->relu ? 1 : 0);
  if (s.has_bias_only_outputs && op->bias_only_key != bias_key) {
    // The output zero point or the ReLU may have changed since the reshape
    // (not per run: a tiny forward would pay Cout requantizations).
    op->bias_only_key = bias_key;
    for (int64_t co = 0; co < op->params.out_channels; ++co) {
      op->requant.bias_only_output[co] =
          requantize_fp32_magic(op->requant.bias[co], op->requant.scales[co], op->out_zero_point,
                                op->relu ? 0.0f : -512.0f);
    }
  }
  if (s.threads <= 1) {
    for (int64_t n = 0; n < s.batch; ++n) run_batch_item(op, 0, n);
  } else if (s.batch_parallel) {
    auto item = [op](size_t thread, size_t n) {
      run_batch_item(op, thread, static_cast<int64_t>(n));
    };
    parallel_for(static_cast<size_t>(s.batch), item, s.threads);
  } else {
    for (int64_t n = 0; n < s.batch; ++n) run_batch_item_shared(op, n);
  }
}

}  // namespace qconv
