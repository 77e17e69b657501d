// The ops between convolutions (src/qops.h) against PyTorch 1.13's bytes
// (tests/data/qops_cases.txt, written by tools/gen_qops_cases.py; format in
// its docstring) and against hand-derived values (docs/SEMANTICS.md §12).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "qops.h"

namespace qconv {
namespace {

using Bytes = std::vector<uint8_t>;

uint32_t crc32(const Bytes& data) {
  uint32_t crc = 0xffffffffu;
  for (uint8_t byte : data) {
    crc ^= byte;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

Bytes from_hex(const std::string& hex) {
  Bytes out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<uint8_t>(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
  }
  return out;
}

// An input spec of the case file: hex bytes or a formula of the index.
Bytes make_input(const std::string& spec, size_t n) {
  Bytes out(n);
  if (spec.rfind("p:", 0) == 0) {
    const size_t colon = spec.find(':', 2);
    const uint64_t m = std::stoull(spec.substr(2, colon - 2));
    const uint64_t k = std::stoull(spec.substr(colon + 1));
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>((i * m + k) & 255u);
  } else if (spec.rfind("h:", 0) == 0) {
    const uint32_t k = static_cast<uint32_t>(std::stoul(spec.substr(2)));
    for (size_t i = 0; i < n; ++i) {
      out[i] = static_cast<uint8_t>(((static_cast<uint32_t>(i) * 2654435761u + k) >> 13) & 255u);
    }
  } else if (spec == "e:hi") {
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>((i >> 8) & 255u);
  } else if (spec == "e:lo") {
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(i & 255u);
  } else {
    out = from_hex(spec);
    EXPECT_EQ(out.size(), n) << spec.substr(0, 40);
  }
  return out;
}

// Compares with an expected-output token: hex bytes or crc:XXXXXXXX.
::testing::AssertionResult matches(const Bytes& got, const std::string& expected) {
  if (expected.rfind("crc:", 0) == 0) {
    const uint32_t want = static_cast<uint32_t>(std::stoul(expected.substr(4), nullptr, 16));
    if (crc32(got) == want) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "CRC-32 differs from PyTorch's";
  }
  const Bytes want = from_hex(expected);
  if (want.size() != got.size()) {
    return ::testing::AssertionFailure() << "size " << got.size() << ", PyTorch " << want.size();
  }
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i] != want[i]) {
      return ::testing::AssertionFailure() << "byte " << i << " of " << got.size() << ": "
                                           << int(got[i]) << ", PyTorch " << int(want[i]);
    }
  }
  return ::testing::AssertionSuccess();
}

struct CaseCounts {
  int relu = 0, hardtanh = 0, leaky = 0, requant = 0, add = 0, cat = 0, pad = 0, error = 0;
  int leaky_position_dependent = 0;
};

QuantParams qp(std::istream& in) {
  QuantParams p;
  std::string s;
  in >> s >> p.zero_point;
  p.scale = std::strtod(s.c_str(), nullptr);
  return p;
}
double real(std::istream& in) {
  std::string s;
  in >> s;
  return std::strtod(s.c_str(), nullptr);
}

void run_unary(const UnaryTable& table, std::istream& in, const std::string& line) {
  size_t n;
  std::string spec, expected;
  in >> n >> spec >> expected;
  const Bytes x = make_input(spec, n);
  Bytes y(n, 0xA5);
  apply_unary(table, x.data(), y.data(), n);
  EXPECT_TRUE(matches(y, expected)) << line.substr(0, 160);
}

TEST(QopsTorchCases, AllCasesMatchPyTorch) {
  const std::string path = std::string(QCONV_SOURCE_DIR) + "/tests/data/qops_cases.txt";
  std::ifstream file(path);
  ASSERT_TRUE(file.good()) << "cannot read " << path;
  CaseCounts count;
  std::string line;
  while (std::getline(file, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream in(line);
    std::string op;
    in >> op;
    Error error;
    if (op == "relu") {
      UnaryTable t;
      ASSERT_EQ(make_relu(qp(in), &t, &error), Status::kOk) << error.message;
      run_unary(t, in, line);
      ++count.relu;
    } else if (op == "hardtanh") {
      const QuantParams q = qp(in);
      const double lo = real(in), hi = real(in);
      UnaryTable t;
      ASSERT_EQ(make_hardtanh(q, lo, hi, &t, &error), Status::kOk) << error.message;
      run_unary(t, in, line);
      ++count.hardtanh;
    } else if (op == "leaky") {
      const QuantParams a = qp(in), o = qp(in);
      const double slope = real(in);
      UnaryTable t;
      ASSERT_EQ(make_leaky_relu(a, o, slope, &t, &error), Status::kOk) << error.message;
      run_unary(t, in, line);
      ++count.leaky;
      count.leaky_position_dependent += t.position_dependent;
    } else if (op == "requant") {
      const QuantParams a = qp(in), o = qp(in);
      UnaryTable t;
      ASSERT_EQ(make_requantize(a, o, &t, &error), Status::kOk) << error.message;
      EXPECT_FALSE(t.position_dependent);
      run_unary(t, in, line);
      ++count.requant;
    } else if (op == "add") {
      const QuantParams a = qp(in), b = qp(in), o = qp(in);
      int relu;
      size_t n;
      std::string sa, sb, expected;
      in >> relu >> n >> sa >> sb >> expected;
      AddParams p;
      ASSERT_EQ(make_add(a, b, o, relu != 0, &p, &error), Status::kOk) << error.message;
      const Bytes xa = make_input(sa, n), xb = make_input(sb, n);
      Bytes y(n, 0xA5);
      apply_add(p, xa.data(), xb.data(), y.data(), n);
      EXPECT_TRUE(matches(y, expected)) << line.substr(0, 160);
      ++count.add;
    } else if (op == "cat") {
      int64_t batch, length;
      in >> batch >> length;
      const QuantParams o = qp(in);
      size_t k;
      in >> k;
      std::vector<Bytes> data(k);
      std::vector<UnaryTable> tables(k);
      std::vector<CatPart> parts(k);
      int64_t channels = 0;
      for (size_t j = 0; j < k; ++j) {
        int64_t c;
        in >> c;
        const QuantParams q = qp(in);
        std::string spec;
        in >> spec;
        data[j] = make_input(spec, static_cast<size_t>(batch * c * length));
        ASSERT_EQ(make_requantize(q, o, &tables[j], &error), Status::kOk) << error.message;
        parts[j] = CatPart{data[j].data(), c, &tables[j]};
        channels += c;
      }
      std::string expected;
      in >> expected;
      Bytes y(static_cast<size_t>(batch * channels * length), 0xA5);
      apply_cat_channels(parts.data(), k, batch, length, y.data());
      EXPECT_TRUE(matches(y, expected)) << line.substr(0, 160);
      ++count.cat;
    } else if (op == "pad") {
      int64_t batch, channels, length, left, right;
      std::string spec, expected;
      in >> batch >> channels >> length >> left >> right >> spec >> expected;
      const Bytes x = make_input(spec, static_cast<size_t>(batch * channels * length));
      Bytes y(static_cast<size_t>(batch * channels * (left + length + right)), 0xA5);
      apply_reflection_pad1d(x.data(), batch, channels, length, left, right, y.data());
      EXPECT_TRUE(matches(y, expected)) << line;
      ++count.pad;
    } else if (op == "error") {
      std::string what;
      in >> what;
      UnaryTable t;
      AddParams p;
      Status status = Status::kOk;
      if (what == "hardtanh") {
        const QuantParams q = qp(in);
        const double lo = real(in), hi = real(in);
        status = make_hardtanh(q, lo, hi, &t, &error);
      } else if (what == "leaky") {
        const QuantParams a = qp(in), o = qp(in);
        status = make_leaky_relu(a, o, real(in), &t, &error);
      } else if (what == "requant") {
        const QuantParams a = qp(in), o = qp(in);
        status = make_requantize(a, o, &t, &error);
      } else if (what == "add") {
        const QuantParams a = qp(in), b = qp(in), o = qp(in);
        int relu;
        in >> relu;
        status = make_add(a, b, o, relu != 0, &p, &error);
      } else {
        ADD_FAILURE() << "unknown error case " << line;
      }
      EXPECT_EQ(status, Status::kInvalidArgument) << line;
      EXPECT_FALSE(error.message.empty()) << line;
      ++count.error;
    } else {
      ADD_FAILURE() << "unknown case " << line.substr(0, 80);
    }
  }
  // The file's composition (tools/gen_qops_cases.py): every kind is present,
  // and leaky_relu includes parameters where the two paths differ.
  EXPECT_GE(count.relu, 50);
  EXPECT_GE(count.hardtanh, 40);
  EXPECT_GE(count.leaky, 200);
  EXPECT_GE(count.leaky_position_dependent, 24 * 6);
  EXPECT_GE(count.requant, 24);
  EXPECT_GE(count.add, 30);
  EXPECT_GE(count.cat, 17);
  EXPECT_GE(count.pad, 10);
  EXPECT_GE(count.error, 10);
  RecordProperty("cases", count.relu + count.hardtanh + count.leaky + count.requant + count.add +
                              count.cat + count.pad + count.error);
}

// ---------------------------------------------------------------------------
// Hand-derived values.

TEST(Qops, ReluIsMaxWithZeroPoint) {
  for (int32_t zp : {0, 1, 77, 128, 255}) {
    UnaryTable t;
    ASSERT_EQ(make_relu({0.1, zp}, &t, nullptr), Status::kOk);
    EXPECT_FALSE(t.position_dependent);
    for (int q = 0; q < 256; ++q) EXPECT_EQ(t.scalar_path[q], q < zp ? zp : q);
  }
}

TEST(Qops, HardtanhQuantizesItsBounds) {
  // scale 0.1, zp 128: relu6 keeps [128, 128 + rint(6 * 10) = 188].
  UnaryTable t;
  ASSERT_EQ(make_hardtanh({0.1, 128}, 0.0, 6.0, &t, nullptr), Status::kOk);
  EXPECT_EQ(t.scalar_path[0], 128);
  EXPECT_EQ(t.scalar_path[150], 150);
  EXPECT_EQ(t.scalar_path[255], 188);
  // -0.25 / 0.25: 1 / f32(0.1) = 10 in float32, rint(-2.5) = -2, rint(2.5) = 2.
  ASSERT_EQ(make_hardtanh({0.1, 128}, -0.25, 0.25, &t, nullptr), Status::kOk);
  EXPECT_EQ(t.scalar_path[0], 126);
  EXPECT_EQ(t.scalar_path[255], 130);
  // Policy: infinite bounds saturate (PyTorch's int64 cast gives 0 for them).
  ASSERT_EQ(make_hardtanh({0.1, 128}, -INFINITY, INFINITY, &t, nullptr), Status::kOk);
  for (int q = 0; q < 256; ++q) EXPECT_EQ(t.scalar_path[q], q);
  ASSERT_EQ(make_hardtanh({1e-5, 3}, -1e30, 1e30, &t, nullptr), Status::kOk);
  for (int q = 0; q < 256; ++q) EXPECT_EQ(t.scalar_path[q], q);
  Error error;
  EXPECT_EQ(make_hardtanh({0.1, 128}, NAN, 1.0, &t, &error), Status::kInvalidArgument);
  EXPECT_EQ(error.message, "hardtanh: min_val (NaN) must be a number");
  EXPECT_EQ(make_hardtanh({0.1, 128}, 2.0, 1.0, &t, &error), Status::kInvalidArgument);
  EXPECT_EQ(error.message,
            "hardtanh: min_val (2) quantizes to 148, above max_val (1) quantized to 138 "
            "(QNNPACK's clamp needs min <= max)");
  // Equal after quantization is accepted (a constant output).
  EXPECT_EQ(make_hardtanh({0.1, 128}, 300.0, 400.0, &t, nullptr), Status::kOk);
  EXPECT_EQ(t.scalar_path[0], 255);
}

TEST(Qops, UnaryPathsByPosition) {
  UnaryTable t;
  for (int q = 0; q < 256; ++q) {
    t.vector_path[q] = 1;
    t.scalar_path[q] = 2;
  }
  t.position_dependent = true;
  for (size_t n : {0u, 1u, 63u, 64u, 65u, 127u, 128u, 130u, 1000u}) {
    Bytes x(n, 0), y(n, 0xA5);
    apply_unary(t, x.data(), y.data(), n);
    for (size_t i = 0; i < n; ++i) {
      ASSERT_EQ(y[i], i < n / 64 * 64 ? 1 : 2) << "n " << n << " i " << i;
    }
  }
}

TEST(Qops, LeakyReluFusedAndPlainDequantizeDiffer) {
  // scale 0.1, zp 3 (float32 0.1 = 0x3dcccccd): the vector path computes
  // fma(s, 4, f32(s * -3)) for q = 4, which is not f32(s * 1) = s exactly
  // but one ulp away; find any q where the two paths' outputs differ for
  // some parameters, and check the tables agree elsewhere.
  int differing = 0;
  for (int zp = 0; zp < 256; ++zp) {
    UnaryTable t;
    ASSERT_EQ(make_leaky_relu({0.0371, zp}, {0.0371, zp}, 0.1, &t, nullptr), Status::kOk);
    for (int q = 0; q < 256; ++q) {
      const int d = int(t.vector_path[q]) - int(t.scalar_path[q]);
      EXPECT_LE(std::abs(d), 1);
      differing += d != 0;
    }
    // Positive inputs are kept exactly (same scale and zero point).
    for (int q = zp + 1; q < 256; ++q) EXPECT_EQ(t.scalar_path[q], q);
  }
  EXPECT_GT(differing, 0);
  Error error;
  UnaryTable t;
  EXPECT_EQ(make_leaky_relu({1.0, 0}, {1e-8, 0}, 0.1, &t, &error), Status::kInvalidArgument);
  EXPECT_NE(error.message.find("below 2^30"), std::string::npos) << error.message;
  EXPECT_EQ(make_leaky_relu({0.1, 0}, {0.1, 0}, NAN, &t, &error), Status::kInvalidArgument);
  EXPECT_EQ(error.message, "leaky_relu: negative_slope (NaN) must be finite as a float32");
  EXPECT_EQ(make_leaky_relu({0.1, 300}, {0.1, 0}, 0.1, &t, &error), Status::kInvalidArgument);
  EXPECT_EQ(error.message, "leaky_relu: input.zeroPoint (300) must be an integer in [0, 255]");
  EXPECT_EQ(make_leaky_relu({0.1, 0}, {1e-40, 0}, 0.1, &t, &error), Status::kInvalidArgument);
  EXPECT_EQ(error.message,
            "leaky_relu: output.scale (1e-40) must be a finite, positive, normal float32");
}

TEST(Qops, AddByHand) {
  AddParams p;
  // All scales 1, zero points 0: ratio 1 = 2^0, shift 21, multipliers 2^21;
  // acc = (a + b) * 2^21, so y = a + b clamped to 255.
  ASSERT_EQ(make_add({1, 0}, {1, 0}, {1, 0}, false, &p, nullptr), Status::kOk);
  EXPECT_EQ(p.shift, 21u);
  EXPECT_EQ(p.a_multiplier, 1u << 21);
  EXPECT_EQ(p.b_multiplier, 1u << 21);
  const uint8_t a[4] = {3, 100, 0, 255}, b[4] = {4, 200, 0, 255};
  uint8_t y[4];
  apply_add(p, a, b, y, 4);
  EXPECT_EQ(y[0], 7);
  EXPECT_EQ(y[1], 255);
  EXPECT_EQ(y[2], 0);
  EXPECT_EQ(y[3], 255);
  // Output scale 2: ratios 0.5 = 2^-1, shift 22, multipliers 0.5 * 2^22 = 2^21;
  // y = (a + b) / 2 rounded half away from zero: 1 + 2 -> 2, 1 + 0 -> 1.
  // With a's zero point 10: a = 9, b = 0 gives -0.5 -> -1, plus zp 5 = 4.
  ASSERT_EQ(make_add({1, 10}, {1, 0}, {2, 5}, false, &p, nullptr), Status::kOk);
  EXPECT_EQ(p.shift, 22u);
  EXPECT_EQ(p.zero_point_product, -(10 << 21));
  const uint8_t a2[3] = {11, 11, 9}, b2[3] = {2, 0, 0};
  apply_add(p, a2, b2, y, 3);
  EXPECT_EQ(y[0], 5 + 2);  // (1 + 2) / 2 = 1.5 -> 2
  EXPECT_EQ(y[1], 5 + 1);  // 0.5 -> 1
  EXPECT_EQ(y[2], 5 - 1);  // -0.5 -> -1
  // add_relu clamps below at the output zero point.
  ASSERT_EQ(make_add({1, 10}, {1, 0}, {2, 5}, true, &p, nullptr), Status::kOk);
  apply_add(p, a2, b2, y, 3);
  EXPECT_EQ(y[2], 5);
}

TEST(Qops, AddRefusals) {
  AddParams p;
  Error error;
  EXPECT_EQ(make_add({0.05, 0}, {0.05, 0}, {1500, 0}, false, &p, &error), Status::kInvalidArgument);
  EXPECT_EQ(error.message,
            "add: a.scale / output.scale (3.3333334e-05) must be in [2^-14, 2^8) (QNNPACK's limit)");
  EXPECT_EQ(make_add({0.05, 0}, {600, 0}, {2, 0}, true, &p, &error), Status::kInvalidArgument);
  EXPECT_EQ(error.message, "add_relu: b.scale / output.scale (300) must be in [2^-14, 2^8) (QNNPACK's limit)");
  EXPECT_EQ(make_add({0.05, 0}, {0.05, 0}, {0.05, 255}, true, &p, &error), Status::kInvalidArgument);
  EXPECT_NE(error.message.find("output.zeroPoint (255) must be below 255"), std::string::npos);
  EXPECT_EQ(make_add({0.05, 0}, {0.05, 0}, {0.05, 255}, false, &p, &error), Status::kOk);
  EXPECT_EQ(make_add({1e-4, 0}, {1e-4, 0}, {1, 0}, false, &p, &error), Status::kInvalidArgument);
  EXPECT_NE(error.message.find("at least 2^-10"), std::string::npos) << error.message;
}

TEST(Qops, CatAndPadByHand) {
  // Two parts [1, 1, 2] and [1, 2, 2] with the output's quantization (identity tables).
  UnaryTable id;
  ASSERT_EQ(make_requantize({0.1, 3}, {0.1, 3}, &id, nullptr), Status::kOk);
  for (int q = 0; q < 256; ++q) ASSERT_EQ(id.scalar_path[q], q);
  UnaryTable half;  // scale 0.2 -> 0.1: q' = 2 (q - 3) + 3
  ASSERT_EQ(make_requantize({0.2, 3}, {0.1, 3}, &half, nullptr), Status::kOk);
  const uint8_t p0[4] = {1, 2, 9, 9}, p1[8] = {4, 5, 6, 7, 8, 9, 10, 11};
  CatPart parts[2] = {{p0, 1, &id}, {p1, 2, &half}};
  uint8_t y[12];
  apply_cat_channels(parts, 2, 2, 2, y);
  const uint8_t want[12] = {1, 2, 5, 7, 9, 11, 9, 9, 13, 15, 17, 19};
  for (int i = 0; i < 12; ++i) EXPECT_EQ(y[i], want[i]) << i;
  const uint8_t x[4] = {1, 2, 3, 4};
  uint8_t z[6];
  apply_reflection_pad1d(x, 1, 1, 4, 2, 0, z);  // 3 2 [1 2 3 4]
  const uint8_t want_pad[6] = {3, 2, 1, 2, 3, 4};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(z[i], want_pad[i]) << i;
}

}  // namespace
}  // namespace qconv
