// Weights and requantization parameters in the form the micro-kernels read:
// weights minus their zero point, packed per kernel path (set_weights), and
// the quantized bias and requantization scale per output channel for one
// input and output scale (reshape). The arithmetic is quantization.h's.
#include "packing.h"

#include <cstring>

#include "operator.h"
#include "quantization.h"

namespace qconv {

void pack_conv1d_bias_scale(size_t nc, size_t kc, size_t ks, const int32_t* bias,
                            const float* scale, void* packed) {
  const size_t weight_bytes = ks * conv1d_kc_rounded(kc) * kConv1dNr * sizeof(int16_t);
  char* block = static_cast<char*>(packed);
  for (size_t n0 = 0; n0 < nc; n0 += kConv1dNr) {
    for (size_t n = 0; n < kConv1dNr; ++n) {
      const bool inside = n0 + n < nc;
      const int32_t b = inside ? bias[n0 + n] : 0;
      const float s = inside ? scale[n0 + n] : 1.0f;
      std::memcpy(block + n * sizeof(int32_t), &b, sizeof b);
      std::memcpy(block + kConv1dNr * sizeof(int32_t) + weight_bytes + n * sizeof(float), &s,
                  sizeof s);
    }
    block += conv1d_packed_block_bytes(kc, ks);
  }
}

namespace {

// Weight minus its zero point, for output channel co, input channel ci of
// co's group and kernel position k.
int16_t centred_weight(const Operator* op, int64_t co, int64_t ci, int64_t k) {
  const ConvParams& p = op->params;
  const Weights& w = op->weights;
  const int64_t K = p.kernel_size, cin_g = op->plan.in_per_group, cout_g = op->plan.out_per_group;
  const int32_t zp =
      static_cast<int32_t>(w.zero_points[w.per_channel ? static_cast<size_t>(co) : 0]);
  int64_t index;
  if (is_transposed(p)) {
    const int64_t g = co / cout_g;  // PyTorch: weight[ci][co of group][k]
    index = ((g * cin_g + ci) * cout_g + (co - g * cout_g)) * K + k;
  } else {
    index = (co * cin_g + ci) * K + k;  // weight[co][ci][k]
  }
  return static_cast<int16_t>(w.data[static_cast<size_t>(index)] - zp);
}

// Conv1d with a 1-wide kernel, unit stride and no padding runs QNNPACK's
// GEMM path, whose packer keeps the int32 bias exact (§4.2).
bool uses_gemm_bias(const ConvParams& p) {
  return p.kind == OperatorKind::kConv1d && p.kernel_size == 1 && p.stride == 1 &&
         ((p.padding == 0 && padding_after(p) == 0) || p.padding_mode == PaddingMode::kReflect);
}

}  // namespace

void pack_weights(Operator* op) {
  const ConvParams& p = op->params;
  const int64_t cin_g = op->plan.in_per_group, cout_g = op->plan.out_per_group;
  PhaseWalk walk(op, 0, OutputEnd(), 0);
  for (size_t i = 0; i < op->plan.num_phases; ++i) {
    const Phase& ph = walk.at(i);
    auto tap_k = [&ph](size_t t) { return ph.tap_k0 + static_cast<int64_t>(t) * ph.tap_k_step; };
    if (op->plan.channel_major) {
      // [output channel][input channel of its group][tap]
      int16_t* w = op->weights.dw_packed.data() + ph.dw_weight_offset;
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
          op->weights.packed.data() + ph.packed_offset + g * ph.packed_group_stride);
    }
  }
}

void compute_requantization(Operator* op, double input_scale) {
  const ConvParams& p = op->params;
  const Weights& w = op->weights;
  Requantization& rq = op->requant;
  const bool exact_bias = uses_gemm_bias(p);
  for (size_t c = 0; c < static_cast<size_t>(p.out_channels); ++c) {
    const double ws = w.scales[w.per_channel ? c : 0];
    int32_t qb = w.has_bias ? quantize_bias(w.bias[c], ws, input_scale) : 0;
    if (!exact_bias) qb = bias_through_float32(qb);
    rq.bias[c] = qb;
    rq.scales[c] = requantization_scale(ws, input_scale, op->out_scale);
  }
  if (!op->plan.channel_major) {
    const size_t cout_g = static_cast<size_t>(op->plan.out_per_group);
    PhaseWalk walk(op, 0, OutputEnd(), 0);
    for (size_t i = 0; i < op->plan.num_phases; ++i) {
      const Phase& ph = walk.at(i);
      for (size_t g = 0; g < static_cast<size_t>(p.groups); ++g) {
        pack_conv1d_bias_scale(
            cout_g, ph.kc, ph.ks, rq.bias.data() + g * cout_g, rq.scales.data() + g * cout_g,
            op->weights.packed.data() + ph.packed_offset + g * ph.packed_group_stride);
      }
    }
  }
  rq.valid = true;
  rq.input_scale = input_scale;
  rq.output_scale = op->out_scale;
}

}  // namespace qconv
