// The elementwise micro-kernels of the ops between convolutions, timed in
// wasm under Node (one thread): ns per element of each LUT and add kernel and
// of the loops qops.cc ran before them, interleaved round by round so that a
// noisy machine slows every contender alike; the medians are compared as
// ratios. Built with the wasm flavours (build/wasm/qconv-ops-bench.cjs):
//
//   node build/wasm/qconv-ops-bench.cjs
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "microkernels/microkernels.h"
#include "qops.h"

namespace {

using namespace qconv;

// qops.cc's loops before the micro-kernels.
void old_lut(size_t n, const uint8_t* input, uint8_t* output, const uint8_t* table) {
  for (size_t i = 0; i < n; ++i) output[i] = table[input[i]];
}

void old_add(size_t count, const uint8_t* a, const uint8_t* b, uint8_t* output, const AddParams& p) {
  const uint32_t am = p.a_multiplier, bm = p.b_multiplier;
  const uint32_t zpp = static_cast<uint32_t>(p.zero_point_product);
  const uint32_t mask = static_cast<uint32_t>(p.remainder_mask);
  const int32_t threshold = p.remainder_threshold;
  const uint32_t shift = p.shift;
  const int32_t zp = p.output_zero_point, ymin = p.output_min, ymax = p.output_max;
  for (size_t i = 0; i < count; ++i) {
    const int32_t acc = static_cast<int32_t>(zpp + a[i] * am + b[i] * bm);
    const int32_t rem = static_cast<int32_t>(static_cast<uint32_t>(acc) & mask) - (acc < 0 ? 1 : 0);
    int32_t y = (acc >> shift) + (rem > threshold ? 1 : 0) + zp;
    y = y < ymin ? ymin : (y > ymax ? ymax : y);
    output[i] = static_cast<uint8_t>(y);
  }
}

double now_ns() {
  return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count());
}

struct Contender {
  std::string name;
  std::function<void()> run;
  std::vector<double> ns_per_element;
};

// Rounds of every contender in turn; each round runs a contender `reps`
// times over n elements.
void compare(const char* title, size_t n, std::vector<Contender>& cs, int rounds = 15) {
  const int reps = static_cast<int>(std::max<size_t>(1, (size_t{1} << 22) / n));
  for (auto& c : cs) c.run();  // warm up
  for (int r = 0; r < rounds; ++r) {
    for (auto& c : cs) {
      const double t0 = now_ns();
      for (int i = 0; i < reps; ++i) c.run();
      c.ns_per_element.push_back((now_ns() - t0) / (static_cast<double>(reps) * n));
    }
  }
  std::printf("%s, n = %zu:\n", title, n);
  double base = 0;
  for (auto& c : cs) {
    std::sort(c.ns_per_element.begin(), c.ns_per_element.end());
    const double med = c.ns_per_element[c.ns_per_element.size() / 2];
    if (base == 0) base = med;
    std::printf("  %-34s %7.3f ns/element   old/this %5.2fx\n", c.name.c_str(), med, base / med);
  }
}

}  // namespace

int main() {
  std::mt19937 rng(1);
  std::vector<uint8_t> table(256);
  for (auto& v : table) v = static_cast<uint8_t>(rng());
  AddParams add;
  make_add({0.02, 120}, {0.03, 131}, {0.04, 127}, false, &add, nullptr);
  for (size_t n : {size_t{4096}, size_t{44544}, size_t{712704}}) {
    std::vector<uint8_t> a(n + 64), b(n + 64), y(n + 64);
    for (auto& v : a) v = static_cast<uint8_t>(rng());
    for (auto& v : b) v = static_cast<uint8_t>(rng());
    std::vector<Contender> lut = {
        {"old loop (qops.cc before)", [&] { old_lut(n, a.data(), y.data(), table.data()); }, {}},
        {"x8_lut_ukernel_64x__scalar", [&] { x8_lut_ukernel_64x__scalar(n, a.data(), y.data(), table.data()); }, {}},
        {"x8_lut_ukernel_64x__scalar_u32", [&] { x8_lut_ukernel_64x__scalar_u32(n, a.data(), y.data(), table.data()); }, {}},
#if defined(__wasm_simd128__) || !defined(__wasm__)
        {"x8_lut_ukernel_64x__wasmsimd_swizzle",
         [&] { x8_lut_ukernel_64x__wasmsimd_swizzle(n, a.data(), y.data(), table.data()); }, {}},
#endif
    };
    compare("x8 lut", n, lut);
    std::vector<Contender> vadd = {
        {"old loop (qops.cc before)", [&] { old_add(n, a.data(), b.data(), y.data(), add); }, {}},
        {"qu8_vadd_ukernel_16x__scalar", [&] { qu8_vadd_ukernel_16x__scalar(n, a.data(), b.data(), y.data(), add); }, {}},
#if defined(__wasm_simd128__) || !defined(__wasm__)
        {"qu8_vadd_ukernel_16x__wasmsimd", [&] { qu8_vadd_ukernel_16x__wasmsimd(n, a.data(), b.data(), y.data(), add); }, {}},
#endif
    };
    compare("qu8 vadd", n, vadd);
  }
  // ReflectionPad1d(3) over MelGAN-size shapes: [C, L] -> [C, L + 6].
  for (auto shape : {std::pair<int64_t, int64_t>{512, 87}, {64, 5568}, {32, 22272}}) {
    const size_t n = static_cast<size_t>(shape.first * shape.second);
    std::vector<uint8_t> x(n), y(static_cast<size_t>(shape.first * (shape.second + 6)));
    std::vector<Contender> pad = {
        {"apply_reflection_pad1d", [&] { apply_reflection_pad1d(x.data(), 1, shape.first, shape.second, 3, 3, y.data()); }, {}},
    };
    compare(("reflection_pad1d(3) C " + std::to_string(shape.first)).c_str(), n, pad);
  }
  return 0;
}
