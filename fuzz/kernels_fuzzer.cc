// libFuzzer harness over the micro-kernels: every SIMD128 kernel (natively
// via SIMDe) against its scalar twin on fuzzed tile sizes, strides, values,
// biases, scales and zero points; the bytes must be identical. Reads and
// writes stay inside buffers sized exactly as each kernel's contract says,
// so ASan catches any overrun.
#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "microkernels/microkernels.h"
#include "packing.h"

namespace {

using namespace qconv;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "kernels_fuzzer: %s\n", what);
    std::abort();
  }
}

float scale_value(FuzzedDataProvider& fdp) {
  return static_cast<float>(std::exp2(fdp.ConsumeFloatingPointInRange<double>(-40.0, 20.0)));
}

void fuzz_conv1d(FuzzedDataProvider& fdp) {
  const size_t mr = fdp.ConsumeIntegralInRange<size_t>(1, kConv1dMr);
  const size_t nc = fdp.ConsumeIntegralInRange<size_t>(1, 40);
  const size_t kc = fdp.ConsumeIntegralInRange<size_t>(1, 70);
  const size_t ks = fdp.ConsumeIntegralInRange<size_t>(1, 4);
  const size_t a_row = fdp.ConsumeIntegralInRange<size_t>(1, 2 * kc + 3);
  const size_t a_tap = fdp.ConsumeIntegralInRange<size_t>(0, 3 * kc);
  const size_t c_row = fdp.ConsumeIntegralInRange<size_t>(1, 50);
  const size_t c_col = fdp.ConsumeIntegralInRange<size_t>(1, 50);
  // Exactly what the kernel may read: each run of kc rounded up to 2.
  std::vector<int16_t> a((mr - 1) * a_row + (ks - 1) * a_tap + conv1d_kc_rounded(kc));
  for (auto& v : a) v = fdp.ConsumeIntegralInRange<int16_t>(-255, 255);
  std::vector<int16_t> w(nc * ks * kc);
  for (auto& v : w) v = fdp.ConsumeIntegralInRange<int16_t>(-255, 255);
  std::vector<int32_t> bias(nc);
  std::vector<float> scale(nc);
  for (size_t n = 0; n < nc; ++n) {
    bias[n] = fdp.ConsumeIntegral<int32_t>();
    scale[n] = scale_value(fdp);
  }
  const RequantParams params = {fdp.ConsumeIntegralInRange<int32_t>(0, 255)};
  const size_t blocks = (nc + kConv1dNr - 1) / kConv1dNr;
  std::vector<int32_t> packed(blocks * conv1d_packed_block_bytes(kc, ks) / sizeof(int32_t));
  pack_conv1d_weights(nc, kc, ks, [&](size_t n, size_t t, size_t k) { return w[(n * ks + t) * kc + k]; },
                      packed.data());
  pack_conv1d_bias_scale(nc, kc, ks, bias.data(), scale.data(), packed.data());
  // Output positions may coincide (strides are fuzzed); both kernels write
  // in the same order, so the last write wins the same way.
  const size_t c_size = (mr - 1) * c_row + (nc - 1) * c_col + 1;
  std::vector<uint8_t> c_simd(c_size, 0), c_scalar(c_size, 0);
  qu8_conv1d_fp32_ukernel_4x8c2__wasmsimd_dot16(mr, nc, kc, ks, a.data(), a_row * 2, a_tap * 2, packed.data(),
                                           c_simd.data(), c_row, c_col, params);
  qu8_conv1d_fp32_ukernel_4x8c2__scalar(mr, nc, kc, ks, a.data(), a_row * 2, a_tap * 2, packed.data(), c_scalar.data(),
                                   c_row, c_col, params);
  if (c_row * mr <= c_col || c_col * nc <= c_row) {  // no two outputs share a byte
    check(c_simd == c_scalar, "conv1d: SIMD and scalar twin differ");
  }
}

void fuzz_dwconv1d(FuzzedDataProvider& fdp) {
  const size_t n = fdp.ConsumeIntegralInRange<size_t>(1, 80);
  const size_t taps = fdp.ConsumeIntegralInRange<size_t>(1, 12);
  const size_t offset = fdp.ConsumeIntegralInRange<size_t>(0, 20);
  const size_t stride = fdp.ConsumeIntegralInRange<size_t>(1, 5);
  const size_t row_size = offset + (n + kDwconv1dTile - 1) / kDwconv1dTile * kDwconv1dTile;
  std::vector<std::vector<int16_t>> rows(taps, std::vector<int16_t>(row_size));
  std::vector<const int16_t*> pointers;
  for (auto& r : rows) {
    for (auto& v : r) v = fdp.ConsumeIntegralInRange<int16_t>(-255, 255);
    pointers.push_back(r.data());
  }
  std::vector<int16_t> w(taps);
  for (auto& v : w) v = fdp.ConsumeIntegralInRange<int16_t>(-255, 255);
  const int32_t bias = fdp.ConsumeIntegral<int32_t>();
  const float scale = scale_value(fdp);
  const RequantParams params = {fdp.ConsumeIntegralInRange<int32_t>(0, 255)};
  std::vector<uint8_t> c_simd((n - 1) * stride + 1, 0), c_scalar((n - 1) * stride + 1, 0);
  qu8_dwconv1d_fp32_ukernel_16x1__wasmsimd_mul16(n, taps, pointers.data(), offset, w.data(), bias, scale,
                                            c_simd.data(), stride, params);
  qu8_dwconv1d_fp32_ukernel_16x1__scalar(n, taps, pointers.data(), offset, w.data(), bias, scale, c_scalar.data(),
                                    stride, params);
  check(c_simd == c_scalar, "dwconv1d: SIMD and scalar twin differ");
}

void fuzz_transpose(FuzzedDataProvider& fdp) {
  const size_t channels = fdp.ConsumeIntegralInRange<size_t>(1, 40);
  const size_t length = fdp.ConsumeIntegralInRange<size_t>(1, 40);
  const size_t row_stride = channels + fdp.ConsumeIntegralInRange<size_t>(0, 9);
  const int32_t zp = fdp.ConsumeIntegralInRange<int32_t>(0, 255);
  const size_t x_stride = length + fdp.ConsumeIntegralInRange<size_t>(0, 9);
  // Exactly the bytes the contract lets the kernel read: the last channel ends at its length.
  std::vector<uint8_t> x((channels - 1) * x_stride + length);
  for (auto& v : x) v = fdp.ConsumeIntegral<uint8_t>();
  std::vector<int16_t> r_simd((length - 1) * row_stride + channels, 7), r_scalar(r_simd.size(), 7);
  qu8_transpose_widen_ukernel_8x8__wasmsimd(channels, length, x.data(), x_stride, zp, r_simd.data(), row_stride);
  qu8_transpose_widen_ukernel_8x8__scalar(channels, length, x.data(), x_stride, zp, r_scalar.data(), row_stride);
  check(r_simd == r_scalar, "transpose-widen: SIMD and scalar twin differ");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  switch (fdp.ConsumeIntegralInRange<int>(0, 2)) {
    case 0: fuzz_conv1d(fdp); break;
    case 1: fuzz_dwconv1d(fdp); break;
    default: fuzz_transpose(fdp); break;
  }
  return 0;
}
