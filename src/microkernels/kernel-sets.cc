// Which micro-kernels a build runs. The wasm scalar flavour has only the
// scalar twins; the SIMD flavour, and native builds through SIMDe, run the
// SIMD128 kernels by default.
#include "microkernels/microkernels.h"

namespace qconv {

const KernelSet& scalar_kernels() {
  static const KernelSet set = {qu8_conv1d_fp32_ukernel_4x8c2__scalar,
                                qu8_dwconv1d_fp32_ukernel_16x1__scalar,
                                qu8_dwconv1d_fp32_ukernel_2x8c2__scalar,
                                qu8_transpose_widen_ukernel_8x8__scalar,
                                x8_lut_ukernel_64x__scalar, qu8_vadd_ukernel_16x__scalar,
                                x8_zip_x2_ukernel_16x__scalar,
                                "scalar"};
  return set;
}

const KernelSet& default_kernels() {
#if defined(__wasm__) && !defined(__wasm_simd128__)
  return scalar_kernels();
#else
  static const KernelSet set = {qu8_conv1d_fp32_ukernel_4x8c2__wasmsimd_dot16,
                                qu8_dwconv1d_fp32_ukernel_16x1__wasmsimd_mul16,
                                qu8_dwconv1d_fp32_ukernel_2x8c2__wasmsimd_dot16,
                                qu8_transpose_widen_ukernel_8x8__wasmsimd,
                                // The swizzle LUT measures slower than the
                                // scalar one in V8 (bench/ops_bench.cc:
                                // 0.50 vs 0.34 ns per byte on x86-64).
                                x8_lut_ukernel_64x__scalar, qu8_vadd_ukernel_16x__wasmsimd,
                                x8_zip_x2_ukernel_16x__wasmsimd,
                                "wasmsimd"};
  return set;
#endif
}

}  // namespace qconv
