// The graph runner (src/model.h) against the same graph run by hand: each
// operator on its own buffers and each op of qops.h applied directly. The
// numerics of the ops are checked against PyTorch elsewhere (qops_test.cc,
// tests/js/models.*.test.js); here: ordering, shapes, the arena's reuse of
// memory, ownership, errors, a full heap at every allocation, and threads.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "heap.h"
#include "model.h"
#include "qconv/qconv.h"
#include "qops.h"

namespace {

using qconv::Error;
using qconv::Model;
using qconv::ModelOp;
using qconv::Operator;
using qconv::QuantParams;
using qconv::Status;

struct ConvSpec {
  qconv::OperatorKind kind;
  int64_t cin, cout, k, stride, padding;
  QuantParams out;
  bool relu;
  uint32_t seed;
};

Operator* make_conv(const ConvSpec& s) {
  qconv::ConvParams p;
  p.kind = s.kind;
  p.in_channels = s.cin;
  p.out_channels = s.cout;
  p.kernel_size = s.k;
  p.stride = s.stride;
  p.padding = s.padding;
  Operator* op = nullptr;
  Error e;
  EXPECT_EQ(qconv::create_operator(p, &op, &e), Status::kOk) << e.message;
  std::mt19937 rng(s.seed);
  std::vector<int8_t> w(static_cast<size_t>(s.cin * s.cout * s.k));
  for (auto& v : w) v = static_cast<int8_t>(static_cast<int>(rng() % 61) - 30);
  std::vector<float> bias(static_cast<size_t>(s.cout));
  for (auto& v : bias) v = static_cast<float>(static_cast<int>(rng() % 200) - 100) * 0.01f;
  const double scale = 0.004, zp = 1;
  qconv::WeightDesc d;
  d.data = w.data();
  d.size = w.size();
  d.scales = &scale;
  d.zero_points = &zp;
  EXPECT_EQ(qconv::set_weights(op, d, bias.data(), bias.size(), &e), Status::kOk) << e.message;
  EXPECT_EQ(qconv::set_output_quantization(op, s.out.scale, s.out.zero_point, &e), Status::kOk) << e.message;
  qconv::set_fused_relu(op, s.relu);
  return op;
}

std::vector<uint8_t> run_conv(const ConvSpec& s, const std::vector<uint8_t>& x, int64_t n, int64_t l,
                              QuantParams in, int64_t* lout) {
  Operator* op = make_conv(s);
  qconv::InputDesc d;
  d.batch = n;
  d.channels = s.cin;
  d.length = l;
  d.scale = in.scale;
  d.zero_point = in.zero_point;
  Error e;
  EXPECT_EQ(qconv::reshape(op, d, -1, lout, &e), Status::kOk) << e.message;
  std::vector<uint8_t> y(static_cast<size_t>(n * s.cout * *lout));
  EXPECT_EQ(qconv::setup(op, x.data(), y.data()), Status::kOk);
  EXPECT_EQ(qconv::run(op), Status::kOk);
  qconv::delete_operator(op);
  return y;
}

const QuantParams kX{0.05, 128}, kC1{0.1, 120}, kLeaky{0.08, 110}, kUp{0.06, 125}, kC2{0.07, 130},
    kSum{0.1, 128}, kCat{0.09, 127};
const ConvSpec kConv1{qconv::OperatorKind::kConv1d, 4, 8, 3, 1, 1, kC1, true, 1};
const ConvSpec kUpConv{qconv::OperatorKind::kConvTranspose1d, 8, 4, 4, 2, 1, kUp, false, 2};
const ConvSpec kConv2{qconv::OperatorKind::kConv1d, 4, 4, 3, 1, 0, kC2, false, 3};

// x[N,4,L] -> conv1 (relu) -> leaky_relu -> up (2L) -> pad (1,1) -> conv2 (2L)
//   -> add_relu(up, conv2) -> cat(sum, up)
struct Graph {
  std::unique_ptr<Model, void (*)(Model*)> model{nullptr, qconv::delete_model};
  int32_t x, c1, leaky, up, pad, c2, sum, cat;
};

Graph build_graph() {
  Graph g;
  Model* m = nullptr;
  Error e;
  EXPECT_EQ(qconv::create_model(&m, &e), Status::kOk);
  g.model.reset(m);
  auto tensor = [&](int64_t channels, QuantParams q) {
    int32_t t = -1;
    EXPECT_EQ(qconv::add_tensor(m, channels, q.scale, q.zero_point, &t, &e), Status::kOk) << e.message;
    return t;
  };
  g.x = tensor(4, kX);
  g.c1 = tensor(8, kC1);
  g.leaky = tensor(8, kLeaky);
  g.up = tensor(4, kUp);
  g.pad = tensor(4, kUp);
  g.c2 = tensor(4, kC2);
  g.sum = tensor(4, kSum);
  g.cat = tensor(8, kCat);
  EXPECT_EQ(qconv::set_model_input(m, g.x, &e), Status::kOk);
  EXPECT_EQ(qconv::add_conv_node(m, make_conv(kConv1), g.x, g.c1, true, -1, -1, &e), Status::kOk) << e.message;
  EXPECT_EQ(qconv::add_unary_node(m, ModelOp::kLeakyRelu, g.c1, g.leaky, 0.2, 0, &e), Status::kOk) << e.message;
  EXPECT_EQ(qconv::add_conv_node(m, make_conv(kUpConv), g.leaky, g.up, false, -1, -1, &e), Status::kOk) << e.message;
  EXPECT_EQ(qconv::add_reflection_pad_node(m, g.up, g.pad, 1, 1, false, &e), Status::kOk) << e.message;
  EXPECT_EQ(qconv::add_conv_node(m, make_conv(kConv2), g.pad, g.c2, false, -1, -1, &e), Status::kOk) << e.message;
  EXPECT_EQ(qconv::add_add_node(m, g.up, g.c2, g.sum, true, &e), Status::kOk) << e.message;
  const int32_t parts[2] = {g.sum, g.up};
  EXPECT_EQ(qconv::add_cat_node(m, parts, 2, g.cat, &e), Status::kOk) << e.message;
  EXPECT_EQ(qconv::set_model_output(m, g.cat, &e), Status::kOk) << e.message;
  return g;
}

std::vector<uint8_t> by_hand(const std::vector<uint8_t>& x, int64_t n, int64_t l) {
  Error e;
  int64_t l1 = 0, l2 = 0, l3 = 0;
  std::vector<uint8_t> c1 = run_conv(kConv1, x, n, l, kX, &l1);
  std::vector<uint8_t> leaky(c1.size());
  qconv::UnaryTable table;
  EXPECT_EQ(qconv::make_leaky_relu(kC1, kLeaky, 0.2, &table, &e), Status::kOk);
  qconv::apply_unary(table, c1.data(), leaky.data(), c1.size());
  std::vector<uint8_t> up = run_conv(kUpConv, leaky, n, l1, kLeaky, &l2);
  std::vector<uint8_t> pad(static_cast<size_t>(n * 4 * (l2 + 2)));
  qconv::apply_reflection_pad1d(up.data(), n, 4, l2, 1, 1, pad.data());
  std::vector<uint8_t> c2 = run_conv(kConv2, pad, n, l2 + 2, kUp, &l3);
  EXPECT_EQ(l3, l2);
  qconv::AddParams add;
  EXPECT_EQ(qconv::make_add(kUp, kC2, kSum, true, &add, &e), Status::kOk);
  std::vector<uint8_t> sum(up.size());
  qconv::apply_add(add, up.data(), c2.data(), sum.data(), sum.size());
  qconv::UnaryTable t0, t1;
  EXPECT_EQ(qconv::make_requantize(kSum, kCat, &t0, &e), Status::kOk);
  EXPECT_EQ(qconv::make_requantize(kUp, kCat, &t1, &e), Status::kOk);
  qconv::CatPart parts[2];
  parts[0] = {sum.data(), 4, &t0};
  parts[1] = {up.data(), 4, &t1};
  std::vector<uint8_t> cat(static_cast<size_t>(n * 8 * l2));
  qconv::apply_cat_channels(parts, 2, n, l2, cat.data());
  return cat;
}

std::vector<uint8_t> input(int64_t n, int64_t l, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> x(static_cast<size_t>(n * 4 * l));
  for (auto& v : x) v = static_cast<uint8_t>(rng());
  return x;
}

std::vector<uint8_t> run_graph(Graph& g, const std::vector<uint8_t>& x, int64_t n, int64_t l, bool keep_all) {
  Error e;
  Model* m = g.model.get();
  EXPECT_EQ(qconv::reshape_model(m, n, l, keep_all, &e), Status::kOk) << e.message;
  if (!x.empty()) std::memcpy(qconv::model_tensor_data(m, g.x), x.data(), x.size());
  EXPECT_EQ(qconv::run_model(m, 0, qconv::model_num_nodes(m), &e), Status::kOk) << e.message;
  const int64_t lout = qconv::model_tensor_length(m, g.cat);
  const uint8_t* y = qconv::model_tensor_data(m, g.cat);
  return std::vector<uint8_t>(y, y + n * 8 * lout);
}

TEST(Model, MatchesTheGraphRunByHand) {
  Graph g = build_graph();
  for (auto [n, l] : {std::pair<int64_t, int64_t>{1, 5}, {2, 17}, {3, 64}, {1, 2}, {2, 301}}) {
    const std::vector<uint8_t> x = input(n, l, static_cast<uint32_t>(n * 1000 + l));
    const std::vector<uint8_t> expected = by_hand(x, n, l);
    EXPECT_EQ(run_graph(g, x, n, l, false), expected) << "N " << n << " L " << l;
    EXPECT_EQ(run_graph(g, x, n, l, true), expected) << "keep_all, N " << n << " L " << l;
    EXPECT_EQ(qconv::model_tensor_length(g.model.get(), g.cat), 2 * l);
  }
}

TEST(Model, ArenaReusesMemoryOfTensorsNoLongerRead) {
  Graph g = build_graph();
  Error e;
  ASSERT_EQ(qconv::reshape_model(g.model.get(), 2, 1000, true, &e), Status::kOk);
  const size_t all = qconv::model_arena_bytes(g.model.get());
  // Fresh model (the arena never shrinks): only what is live at once.
  Graph h = build_graph();
  ASSERT_EQ(qconv::reshape_model(h.model.get(), 2, 1000, false, &e), Status::kOk);
  const size_t reused = qconv::model_arena_bytes(h.model.get());
  // Every tensor: x 8000, c1 16000, leaky 16000, up 16000, pad 16016, c2 16000, sum 16000, cat 32000.
  EXPECT_GE(all, 8000u + 16000 * 3 + 16016 + 16000 * 2 + 32000);
  EXPECT_LT(reused, all * 3 / 4);
  // Inputs of a node never share memory with its output: checked by the
  // bytes above; here the intermediates of keep_all stay readable after run.
  const std::vector<uint8_t> x = input(2, 1000, 7);
  run_graph(g, x, 2, 1000, true);
  EXPECT_EQ(0, std::memcmp(qconv::model_tensor_data(g.model.get(), g.x), x.data(), x.size()));
}

TEST(Model, ErrorsNameTheNodeAndLeaveTheModelUsable) {
  Graph g = build_graph();
  Error e;
  Model* m = g.model.get();
  // Too short for conv2 (k3, no padding) after the padding? L=1: up gives 2, pad 4, fine; L=0 fails in conv1.
  EXPECT_EQ(qconv::reshape_model(m, 1, 0, false, &e), Status::kInvalidArgument);
  EXPECT_NE(e.message.find("node 0 (conv1d): "), std::string::npos) << e.message;
  EXPECT_EQ(qconv::run_model(m, 0, 7, &e), Status::kInvalidArgument);
  EXPECT_NE(e.message.find("needs a successful reshape"), std::string::npos) << e.message;
  const std::vector<uint8_t> x = input(1, 9, 3);
  EXPECT_EQ(run_graph(g, x, 1, 9, false), by_hand(x, 1, 9));
  // Building errors.
  int32_t t = -1;
  EXPECT_EQ(qconv::add_tensor(m, 0, 0.1, 0, &t, &e), Status::kInvalidArgument);
  EXPECT_NE(e.message.find("channels (0) must be an integer in [1, 2^31 - 1]"), std::string::npos) << e.message;
  EXPECT_EQ(qconv::add_tensor(m, 4, 0.1, 3.5, &t, &e), Status::kInvalidArgument);
  EXPECT_EQ(qconv::add_unary_node(m, ModelOp::kRelu, g.x, g.c1, 0, 0, &e), Status::kInvalidArgument);
  EXPECT_NE(e.message.find("node 7 (relu): output tensor 1 is already the output of an earlier node"), std::string::npos) << e.message;
  // A conv handed over and refused is freed (ASan would see a leak).
  int32_t fresh = -1;
  ASSERT_EQ(qconv::add_tensor(m, 5, 0.1, 0, &fresh, &e), Status::kOk);
  EXPECT_EQ(qconv::add_conv_node(m, make_conv(kConv2), g.cat, fresh, false, -1, -1, &e), Status::kInvalidArgument);
  EXPECT_NE(e.message.find("the Conv1d takes 4 channels but input tensor 7 has 8"), std::string::npos) << e.message;
  EXPECT_EQ(qconv::add_conv_node(m, nullptr, g.cat, fresh, false, -1, -1, &e), Status::kInvalidArgument);
  EXPECT_EQ(run_graph(g, x, 1, 9, false), by_hand(x, 1, 9));
}

TEST(Model, AddOfDifferentLengthsIsRefusedAtReshape) {
  Model* m = nullptr;
  Error e;
  ASSERT_EQ(qconv::create_model(&m, &e), Status::kOk);
  std::unique_ptr<Model, void (*)(Model*)> owner(m, qconv::delete_model);
  int32_t x, p, s;
  ASSERT_EQ(qconv::add_tensor(m, 2, 0.1, 10, &x, &e), Status::kOk);
  ASSERT_EQ(qconv::add_tensor(m, 2, 0.1, 10, &p, &e), Status::kOk);
  ASSERT_EQ(qconv::add_tensor(m, 2, 0.2, 10, &s, &e), Status::kOk);
  ASSERT_EQ(qconv::set_model_input(m, x, &e), Status::kOk);
  ASSERT_EQ(qconv::add_reflection_pad_node(m, x, p, 1, 0, false, &e), Status::kOk);
  ASSERT_EQ(qconv::add_add_node(m, x, p, s, false, &e), Status::kOk) << e.message;
  ASSERT_EQ(qconv::set_model_output(m, s, &e), Status::kOk);
  EXPECT_EQ(qconv::reshape_model(m, 1, 5, false, &e), Status::kInvalidArgument);
  EXPECT_NE(e.message.find("node 1 (add): the inputs' lengths differ (5 and 6)"), std::string::npos) << e.message;
}

TEST(Model, EveryAllocationOfAReshapeMayFail) {
  const std::vector<uint8_t> x = input(2, 40, 11);
  const std::vector<uint8_t> expected = by_hand(x, 2, 40);
  Graph g = build_graph();
  Error e;
  bool succeeded = false;
  for (int64_t k = 0; k < 200 && !succeeded; ++k) {
    qconv::fail_allocations_after(k);
    const Status s = qconv::reshape_model(g.model.get(), 2, 40, false, &e);
    qconv::fail_allocations_after(-1);
    if (s == Status::kOk) {
      succeeded = true;
    } else {
      EXPECT_EQ(s, Status::kOutOfMemory) << e.message;
      EXPECT_NE(e.message.find("out of memory"), std::string::npos) << e.message;
      EXPECT_EQ(qconv::run_model(g.model.get(), 0, 7, &e), Status::kInvalidArgument);
    }
  }
  EXPECT_TRUE(succeeded);
  EXPECT_EQ(run_graph(g, x, 2, 40, false), expected);
}

TEST(ThreadsModel, SameBytesOnOneTwoAndFourThreads) {
  if (!qconv::threads_supported()) GTEST_SKIP() << "this build has no threads";
  const std::vector<uint8_t> x = input(2, 3000, 5);
  const std::vector<uint8_t> expected = by_hand(x, 2, 3000);
  qconv::set_min_parallel_work(1);
  for (size_t threads : {1, 2, 4}) {
    Error e;
    ASSERT_EQ(qconv::set_num_threads(threads, &e), Status::kOk) << e.message;
    Graph g = build_graph();
    EXPECT_EQ(run_graph(g, x, 2, 3000, false), expected) << threads << " threads";
  }
  Error e;
  qconv::set_num_threads(1, &e);
  qconv::set_min_parallel_work(uint64_t{1} << 20);
}

// A fused ReLU on the shapes where threads once went wrong (issue 11):
// ConvTranspose1d outputs no tap reaches (stride > K: bias-only phases) in
// output rows a multiple of 256 bytes long (staged output blocks), and the
// depthwise path; on 1, 2 and 4 threads every byte is max(the plain
// one-thread output, zero point).
TEST(ThreadsModel, FusedReluOnBiasOnlyPhasesAndStagedRows) {
  struct Shape {
    qconv::OperatorKind kind;
    int64_t cin, cout, k, stride, padding, output_padding, groups, batch, length;
  };
  const Shape shapes[] = {
      {qconv::OperatorKind::kConvTranspose1d, 16, 16, 2, 5, 0, 4, 1, 2, 51},    // Lout 256, 3 of 5 phases bias-only
      {qconv::OperatorKind::kConvTranspose1d, 8, 24, 3, 7, 1, 0, 1, 1, 74},     // Lout 512 (odd channel count of blocks)
      {qconv::OperatorKind::kConvTranspose1d, 12, 12, 4, 2, 1, 0, 12, 3, 128},  // depthwise, Lout 256
      {qconv::OperatorKind::kConv1d, 10, 9, 3, 1, 1, 0, 1, 2, 768},             // odd channels, Lout 768
  };
  qconv::set_min_parallel_work(1);
  for (const Shape& sh : shapes) {
    std::vector<uint8_t> reference;
    for (size_t threads : {1, 2, 4}) {
      Error e;
      ASSERT_EQ(qconv::set_num_threads(threads, &e), Status::kOk) << e.message;
      for (bool relu : {false, true}) {
        qconv::ConvParams p;
        p.kind = sh.kind;
        p.in_channels = sh.cin;
        p.out_channels = sh.cout;
        p.kernel_size = sh.k;
        p.stride = sh.stride;
        p.padding = sh.padding;
        p.output_padding = sh.output_padding;
        p.groups = sh.groups;
        Operator* op = nullptr;
        ASSERT_EQ(qconv::create_operator(p, &op, &e), Status::kOk) << e.message;
        std::mt19937 rng(static_cast<uint32_t>(sh.cin * 131 + sh.k));
        std::vector<int8_t> w(static_cast<size_t>(sh.cout * (sh.cin / sh.groups) * sh.k));
        for (auto& v : w) v = static_cast<int8_t>(static_cast<int>(rng() % 61) - 30);
        std::vector<float> bias(static_cast<size_t>(sh.cout));
        for (auto& v : bias) v = static_cast<float>(static_cast<int>(rng() % 200) - 100) * 0.01f;
        const double scale = 0.004, wzp = 0;
        qconv::WeightDesc d;
        d.data = w.data();
        d.size = w.size();
        d.scales = &scale;
        d.zero_points = &wzp;
        ASSERT_EQ(qconv::set_weights(op, d, bias.data(), bias.size(), &e), Status::kOk) << e.message;
        ASSERT_EQ(qconv::set_output_quantization(op, 0.05, 131, &e), Status::kOk);
        qconv::set_fused_relu(op, relu);
        qconv::InputDesc in;
        in.batch = sh.batch;
        in.channels = sh.cin;
        in.length = sh.length;
        in.scale = 0.05;
        in.zero_point = 120;
        int64_t lout = 0;
        ASSERT_EQ(qconv::reshape(op, in, -1, &lout, &e), Status::kOk) << e.message;
        EXPECT_EQ(lout % 256, 0);
        std::vector<uint8_t> x(static_cast<size_t>(sh.batch * sh.cin * sh.length));
        for (auto& v : x) v = static_cast<uint8_t>(rng());
        std::vector<uint8_t> y(static_cast<size_t>(sh.batch * sh.cout * lout), 0xA5);
        ASSERT_EQ(qconv::setup(op, x.data(), y.data()), Status::kOk);
        ASSERT_EQ(qconv::run(op), Status::kOk);
        qconv::delete_operator(op);
        if (!relu) {
          if (threads == 1) reference = y;
          EXPECT_EQ(y, reference) << "plain, " << threads << " threads";
          continue;
        }
        std::vector<uint8_t> expected = reference;
        size_t clamped = 0;
        for (auto& v : expected) {
          if (v < 131) {
            v = 131;
            ++clamped;
          }
        }
        EXPECT_GT(clamped, 0u);
        EXPECT_EQ(y, expected) << "relu, " << threads << " threads, Lout " << lout;
      }
    }
  }
  Error e;
  qconv::set_num_threads(1, &e);
  qconv::set_min_parallel_work(uint64_t{1} << 20);
}

}  // namespace
