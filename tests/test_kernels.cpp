// Fast kernels against their reference loops (conv_reference, pool_reference) on many shapes and
// attributes, with 1 and 2 threads; results must not depend on the thread count at all.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <set>

#include "core/parallel.h"
#include "core/rng.h"
#include "ops/activation.h"
#include "ops/conv_kernels.h"
#include "ops/im2col.h"
#include "ops/pool_kernels.h"
#include "ops/registry.h"
#include "tests/conv_reference.h"
#include "tests/pool_reference.h"

using namespace xgrad;

namespace {

Tensor random(const Shape& s, Rng& rng) {
  Tensor t = make_tensor(s);
  for (float& v : t) v = rng.uniform(-1.0f, 1.0f);
  return t;
}

// The worst difference as a share of the largest value: the rounding error of a Winograd transform
// grows with the magnitudes of the whole tile it sums, not with the one output, so a small output
// next to large ones may differ by more than its own 1e-4 (F(2, 5) and F(3, 5) did, on 64 channels)
// while a wrong coefficient still shows at full size.
void check_close(const Tensor& got, const Tensor& want, const char* what) {
  REQUIRE(shape_of(got) == shape_of(want));
  double worst = 0, largest = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    worst = std::max(worst, std::fabs(double(got.data()[i]) - want.data()[i]));
    largest = std::max(largest, std::fabs(double(want.data()[i])));
  }
  worst /= 1.0 + largest;
  INFO(std::string(what) << ": worst difference " << worst << " of the largest value");
  CHECK(worst < 2e-5);  // float sums of up to ~2000 terms, in another order (seen: up to 6.2e-6)
}

struct KernelRun {
  Tensor y;
  std::vector<Tensor> grads;
};

// Forward in training mode, then backward of Σ y ⊙ g through the registered (fast) op, of the
// gradients `wanted` names (all by default; the others stay empty).
KernelRun run_kernel(const Op& op, const std::vector<Tensor>& in, const Tensor& g,
                     const std::vector<bool>& wanted = {}) {
  Inputs ptrs;
  std::vector<ValueInfo> infos;
  for (const auto& t : in) ptrs.push_back(&t), infos.push_back({shape_of(t), DType::Float32});
  KernelRun r;
  r.y = make_tensor(op.infer_shape(infos));
  Workspace ws;
  op.forward(ptrs, r.y, ws, true);
  r.grads.resize(in.size());
  Grads slots;
  for (size_t i = 0; i < r.grads.size(); ++i)
    slots.push_back(wanted.empty() || wanted[i] ? &r.grads[i] : nullptr);
  op.backward(ptrs, r.y, g, ws, slots);
  return r;
}

struct ConvCase {
  Shape x, w;
  json attrs;
};

Window window_of(const json& attrs) {
  Window win;
  win.stride = AttrReader(attrs).pair("stride", {1, 1}, 1);
  win.padding = AttrReader(attrs).padding("padding");
  win.dilation = AttrReader(attrs).pair("dilation", {1, 1}, 1);
  return win;
}

// Forces one conv kernel and an instruction-set cap for the life of the object.
struct Forced {
  Forced(const std::string& kernel, Isa isa) {
    force_conv_kernel(kernel);
    set_isa_limit(isa);
  }
  ~Forced() {
    force_conv_kernel("");
    set_isa_limit(Isa::Avx512);
  }
};

struct ConvExpected {
  Tensor y, dx, dw, db;
};

ConvExpected conv_reference(const ConvCase& c, const std::vector<Tensor>& in, const Tensor& g) {
  const ConvDims d = conv_dims(in[0], in[1], window_of(c.attrs), c.x[1] / c.w[1]);
  ConvExpected e{make_tensor(shape_of(g)), make_tensor(c.x), make_tensor(c.w), make_tensor({c.w[0]})};
  conv2d_reference_forward(d, in[0].data(), in[1].data(), in[2].data(), e.y.data());
  conv2d_reference_backward(d, in[0].data(), in[1].data(), g.data(), e.dx.data(), e.dw.data(), e.db.data());
  return e;
}

const std::vector<ConvCase>& conv_cases() {
  static const std::vector<ConvCase> cases = {
      {{9, 1, 28, 28}, {6, 1, 5, 5}, json::object()},   // LeNet conv1, a batch of odd size
      {{5, 6, 12, 12}, {16, 6, 5, 5}, json::object()},  // LeNet conv2
      {{1, 3, 7, 6}, {4, 3, 3, 3}, {{"stride", 2}}},
      {{2, 2, 6, 7}, {3, 2, 3, 2}, {{"stride", {1, 3}}}},
      {{3, 2, 5, 5}, {2, 2, 3, 3}, {{"padding", "same"}}},
      {{2, 2, 6, 6}, {2, 2, 4, 4}, {{"padding", "same"}, {"stride", 2}}},
      {{2, 2, 4, 5}, {3, 2, 3, 3}, {{"padding", {1, 2}}}},
      {{1, 1, 5, 4}, {2, 1, 2, 3}, {{"padding", "valid"}}},
      {{2, 2, 9, 9}, {2, 2, 3, 3}, {{"dilation", 2}, {"padding", 2}}},
      {{2, 3, 8, 8}, {2, 3, 3, 3}, {{"dilation", {2, 1}}, {"stride", 2}, {"padding", "same"}}},
      {{4, 5, 3, 3}, {7, 5, 1, 1}, json::object()},
      {{2, 2, 3, 3}, {2, 2, 3, 3}, {{"padding", 4}}},         // rows and columns that read only padding
      {{3, 1, 7, 37}, {11, 1, 3, 4}, {{"padding", {1, 2}}}},  // one channel: 2 output groups, 3 blocks
      {{2, 1, 9, 9}, {9, 1, 5, 5}, {{"padding", "same"}}},    // one channel: asymmetric padding
      {{2, 1, 6, 6}, {3, 1, 7, 7}, {{"padding", 3}}},         // one channel: taps reading only padding
      {{2, 1, 9, 9}, {2, 1, 3, 3}, {{"dilation", 2}}},
      {{2, 1, 11, 12}, {4, 1, 3, 3}, {{"stride", 2}, {"padding", 1}}},
      {{2, 2, 20, 20}, {3, 2, 3, 3}, json::object()},  // long thin weight gradient
      {{2, 3, 9, 10}, {20, 3, 3, 2}, {{"dilation", {2, 1}}, {"padding", {1, 2}}}},  // over channels: 2 blocks
      {{3, 4, 7, 5}, {8, 4, 2, 2}, json::object()},           // over channels: a block of 4 positions
      {{1, 2, 5, 19}, {16, 2, 3, 3}, {{"padding", "same"}}},  // over channels: rows of 8 + 8 + 3
      {{2, 5, 6, 7}, {70, 5, 3, 3}, {{"padding", "same"}}},   // over channels: 4 + 1 blocks, 45 taps in 6s
      {{2, 3, 5, 6}, {40, 3, 2, 2}, {{"dilation", 2}}},       // over channels: 2 + 1 blocks, 12 taps
      {{2, 2, 3, 4}, {9, 2, 3, 3}, {{"padding", {4, 3}}}},    // over channels: outputs wider than the input
      {{2, 3, 9, 8}, {10, 3, 3, 3}, {{"stride", 2}, {"padding", "same"}}},  // over channels, strided
      {{2, 2, 9, 11}, {17, 2, 3, 2}, {{"stride", {2, 3}}, {"dilation", {1, 2}}, {"padding", {1, 0}}}},
      // strided dx by phases: dilation 2 at stride 2 (one row phase has every tap, the other none),
      // a kernel row at stride 3 (two row phases without a tap), padding that differs by axis
      {{2, 5, 10, 9}, {9, 5, 3, 3}, {{"stride", 2}, {"dilation", {2, 1}}, {"padding", {1, 2}}}},
      {{1, 4, 10, 11}, {8, 4, 1, 3}, {{"stride", 3}, {"padding", {2, 1}}}},
      {{2, 6, 5, 5}, {6, 1, 3, 3}, {{"groups", 6}, {"padding", 1}}},         // depthwise
      {{2, 3, 19, 18}, {3, 1, 3, 3}, {{"groups", 3}, {"padding", "same"}}},  // depthwise: rows of 8 + 8 + 3
      {{1, 2, 21, 17}, {4, 1, 5, 5}, {{"groups", 2}}},                       // 2 per group: rows of 4, + 1
      {{1, 2, 6, 7},
       {2, 1, 3, 3},
       {{"groups", 2}, {"padding", 3}}},               // depthwise dx: padding beyond the kernel
      {{1, 2, 9, 20}, {2, 1, 2, 4}, {{"groups", 2}}},  // depthwise dx: even kernel, valid
      {{2, 4, 9, 8}, {8, 1, 3, 3}, {{"groups", 4}, {"stride", 2}, {"padding", "same"}}},  // multiplier 2
      {{3, 6, 6, 7}, {9, 2, 3, 3}, {{"groups", 3}, {"dilation", 2}, {"padding", 2}}},
      {{3, 20, 7, 9}, {33, 20, 1, 1}, json::object()},           // 1x1: 63 positions, 20 channels in, 33 out
      {{2, 8, 4, 4}, {12, 4, 1, 1}, {{"groups", 2}}},            // grouped 1x1
      {{2, 3, 7, 7}, {5, 3, 1, 1}, {{"stride", 2}}},             // 1x1 at stride 2: not a plain GEMM
      {{2, 4, 5, 5}, {3, 4, 1, 1}, {{"padding", 1}}},            // 1x1 with padding
      {{1, 32, 24, 24}, {32, 32, 3, 3}, {{"padding", "same"}}},  // Winograd: whole tiles of 2 and 4
      {{1, 33, 25, 26}, {34, 33, 3, 3}, json::object()},         // Winograd: partial tiles, 23x24 outputs
      {{1, 32, 22, 21}, {40, 32, 3, 3}, {{"padding", {2, 1}}}},  // Winograd: wider padding, 24x21
      {{1, 64, 6, 7}, {64, 64, 3, 3}, {{"padding", 4}}},         // Winograd: tiles reading only padding
      {{1, 128, 12, 12}, {128, 64, 3, 3}, {{"groups", 2}, {"padding", "same"}}},  // Winograd per group
      {{2, 17, 17, 19}, {24, 17, 3, 3}, {{"padding", "same"}}},  // Winograd lanes: channel tails, 2 images
      {{3, 20, 9, 11}, {18, 20, 3, 3}, {{"padding", {0, 1}}}},   // Winograd lanes: F(2, 3) only, 7x11
      {{2, 12, 10, 9}, {13, 12, 3, 3}, {{"padding", "same"}}},   // lanes from 12 channels: one part-vector
      {{2, 32, 9, 9}, {8, 32, 3, 3}, {{"padding", "same"}}},     // lanes: 8 outputs, half a vector
      {{2, 8, 7, 10}, {4, 8, 3, 3}, {{"padding", "same"}}},      // lanes at AVX2: 4 outputs
      {{1, 16, 14, 15}, {9, 16, 3, 3}, {{"padding", "same"}}},   // AVX2 lanes at AVX-512: 9 outputs
      {{2, 32, 7, 7}, {32, 32, 3, 3}, {{"padding", "same"}}},    // F(4, 3) with F(2, 3)'s weight gradient
      {{2, 17, 9, 10}, {20, 17, 5, 5}, {{"padding", "same"}}},   // Winograd F(2, 5): channel tails, 2 images
      {{1, 16, 11, 8}, {16, 16, 5, 5}, json::object()},          // F(2, 5): valid, 7x4 outputs
      {{1, 32, 6, 6}, {16, 32, 5, 5}, {{"padding", 4}}},         // F(2, 5): tiles reading only padding
      {{2, 17, 9, 9}, {20, 17, 5, 5}, {{"padding", "same"}}},    // F(3, 5): 9x9 outputs, channel tails
      {{3, 16, 4, 4}, {18, 16, 5, 5}, {{"padding", "same"}}},    // F(4, 5): one tile, most of it padding
      {{2, 17, 11, 12}, {20, 17, 7, 7}, {{"padding", "same"}}},  // F(2, 7): channel tails, 2 images
      {{1, 16, 13, 10}, {16, 16, 7, 7}, json::object()},         // F(2, 7): valid, 7x4 outputs
      {{3, 16, 3, 3}, {17, 16, 7, 7}, {{"padding", 4}}},         // F(2, 7): tiles reading only padding
      {{2, 8, 9, 9}, {8, 8, 7, 7}, {{"padding", "same"}}},       // F(2, 7) at AVX2 only: 8 channels
      {{2, 16, 26, 26}, {32, 16, 3, 3}, {{"dilation", 2}}},      // Winograd on the mosaic: 4 phases of 11x11
      {{1, 34, 34, 34}, {16, 34, 3, 3}, {{"dilation", 2}, {"padding", 1}}},  // mosaic: F(4, 3), 16x16 phases
      {{2, 17, 13, 14}, {20, 17, 3, 3}, {{"dilation", {2, 3}}, {"padding", "same"}}},  // uneven phases
      {{1, 16, 5, 9}, {16, 16, 3, 3}, {{"dilation", 2}}},  // one output row: too small for the mosaic
      {{1, 32, 12, 12}, {33, 32, 5, 5}, {{"dilation", 2}, {"padding", 4}}},  // F(4, 5) on the mosaic
      {{2, 32, 5, 5}, {33, 32, 5, 5}, {{"dilation", 2}, {"padding", 4}}},    // 5x5 outputs: not the mosaic
      {{19, 16, 6, 6}, {24, 16, 3, 3}, {{"padding", "same"}}},  // lanes: small images, several per call
      {{21, 16, 7, 7}, {20, 16, 5, 5}, {{"padding", "same"}}},  // the same at 5x5, uneven counts per chunk
      {{2, 16, 11, 12}, {24, 16, 3, 3}, {{"stride", 2}, {"padding", 1}}},  // strided, 16 channels: odd sizes
      {{1, 17, 9, 10}, {20, 17, 3, 3}, {{"stride", {2, 3}}, {"dilation", {1, 2}}, {"padding", {1, 0}}}},
      {{2, 32, 16, 16}, {64, 32, 3, 3}, {{"stride", 2}, {"padding", "same"}}},  // strided: "same" pads after
      {{1, 16, 13, 13}, {16, 16, 5, 5}, {{"stride", 2}, {"padding", 2}}},
      {{1, 3, 12, 13}, {8, 3, 7, 7}, {{"stride", 2}, {"padding", 3}}},  // a 7x7/2 stem: dx's phases start odd
      {{2, 1, 12, 13},
       {4, 1, 7, 7},
       {{"stride", 2}, {"padding", 3}}},  // the same on one channel       // strided: 5x5
      {{1, 16, 50, 50}, {16, 16, 3, 3}, {{"padding", "same"}}},  // lanes: an image in bands of tile rows
      {{1, 16, 46, 45}, {17, 16, 5, 5}, {{"padding", 1}}},       // the same at 5x5
      {{2, 8, 14, 14}, {12, 8, 3, 3}, {{"padding", "same"}}},    // direct: its own dw and dx, 8 + 4 outputs
      {{2, 9, 16, 16}, {20, 9, 3, 3}, {{"padding", 4}}},  // direct: ovec's dw, dx padding beyond the kernel
      {{1, 16, 30, 31}, {16, 16, 4, 2}, {{"padding", "same"}}},  // direct: even kernel, uneven "same"
      {{2, 3, 12, 12}, {24, 3, 5, 5}, {{"padding", 2}}},         // direct forward, ovec's dw and dx
      {{2, 16, 9, 8}, {16, 1, 3, 3}, {{"groups", 16}, {"padding", "same"}}},  // depthwise over channel lanes
      {{2, 20, 11, 12}, {20, 1, 3, 3}, {{"groups", 20}, {"stride", 2}, {"padding", 1}}},  // + a block of 4
      {{1, 32, 7, 7}, {32, 1, 5, 5}, {{"groups", 32}, {"dilation", 2}, {"padding", 4}}},
      {{2, 17, 11, 9}, {17, 1, 4, 2}, {{"groups", 17}, {"stride", {2, 1}}}},  // a row no output reads
      {{2, 64, 7, 7}, {24, 64, 5, 5}, {{"padding", "same"}}},  // ovec dx as the transposed forward
      {{1, 70, 9, 10}, {16, 70, 3, 3}, {{"dilation", 2}, {"padding", {2, 1}}}},  // the same, dilated, uneven
      {{2, 64, 8, 8}, {32, 64, 3, 2}, json::object()},  // the same, valid: transposed padding 2 and 1
      // (new cases go last: each case's random values follow from the cases before it)
      {{1, 16, 32, 12}, {16, 16, 3, 3}, {{"dilation", {11, 1}}}},  // 10 output rows: phase row 10 is empty
      {{1, 32, 14, 15}, {33, 32, 5, 5}, {{"dilation", {2, 3}}, {"padding", "same"}}},  // 5x5, uneven phases
      {{2, 32, 8, 8}, {33, 32, 3, 3}, {{"dilation", 2}, {"padding", 2}}},  // 8x8: too small for the mosaic
      {{2, 16, 5, 5},
       {24, 16, 3, 3},
       {{"dilation", 2}, {"padding", 2}}},                     // ovec dx transposed from 16 channels
      {{2, 48, 7, 6}, {20, 48, 5, 5}, {{"padding", "same"}}},  // from 48: three full vectors of channels
      {{2, 16, 9, 9}, {32, 16, 5, 5}, {{"stride", 2}, {"padding", "same"}}},  // strided dx of 5x5 outputs
      {{3, 24, 8, 7}, {40, 24, 3, 3}, {{"stride", 2}, {"padding", "same"}}},  // ovec: 4x4 outputs across rows
      {{2, 16, 5, 5}, {33, 16, 3, 3}, json::object()},  // the same on 3x3 outputs: 9 as 4 + 5, blocks 2 + 1
      {{5, 32, 9, 9}, {33, 32, 3, 3}, {{"dilation", 2}, {"padding", 2}}},  // mosaics of 3x3 tiles, 3 a call
      {{2, 8, 1, 5}, {16, 8, 3, 3}, {{"stride", 2}, {"padding", 1}}},  // dw: kernel rows reading only padding
      {{2, 13, 6, 6}, {70, 13, 5, 5}, {{"padding", "same"}}},  // dw by kernel position: 13 channels, 2 parts
      {{72, 16, 3, 3}, {20, 16, 3, 3}, {{"padding", 1}}},  // images innermost: 9-16 images a call, in 2 parts
      {{37, 20, 2, 3}, {24, 20, 1, 1}, json::object()},    // 1x1 on 6 positions: up to 11 images a call
      {{70, 8, 1, 1}, {10, 8, 1, 1}, json::object()},      // 1x1 on one position: a chunk of the batch a call
      {{5, 33, 4, 4}, {17, 33, 1, 1}, json::object()},     // 1x1 on 16 positions: up to 4 images a call
      // depthwise 3x3 on its planes: row groups 8 + 8 + 5, column blocks 16 + 16 + 3
      {{2, 5, 21, 35}, {5, 1, 3, 3}, {{"groups", 5}, {"padding", "same"}}},
      {{1, 3, 6, 12}, {3, 1, 3, 3}, {{"groups", 3}, {"padding", 5}}},  // rows and columns of padding only
      {{2, 4, 12, 13}, {4, 1, 3, 3}, {{"groups", 4}, {"padding", {0, 1}}}},  // valid rows, "same" columns
      {{1, 18, 10, 16}, {18, 1, 3, 3}, {{"groups", 18}}},  // 14 columns, one block of 16 channels + 2
      // depthwise 3x3 at stride 2, fewer than 16 channels (per-group kernels): wide rows, odd sizes
      {{2, 5, 33, 35}, {5, 1, 3, 3}, {{"groups", 5}, {"stride", 2}, {"padding", "same"}}},
      {{1, 3, 10, 9},
       {3, 1, 3, 3},
       {{"groups", 3}, {"stride", 2}, {"padding", 3}}},               // padding beyond the kernel
      {{2, 4, 8, 40}, {4, 1, 3, 3}, {{"groups", 4}, {"stride", 2}}},  // valid: columns no output reads
      // the same from 16 channels (depthwise_avx512): rows of 33 and 40, a block of 16 channels + 1
      {{1, 16, 9, 33}, {16, 1, 3, 3}, {{"groups", 16}, {"stride", 2}, {"padding", "same"}}},
      {{2, 17, 6, 40}, {17, 1, 3, 3}, {{"groups", 17}, {"stride", 2}, {"padding", {2, 1}}}},
      // depthwise_avx512 at stride 1: dx as the transposed conv's forward, or (padding past k − 1) scattered
      {{2, 17, 9, 9}, {17, 1, 7, 7}, {{"groups", 17}, {"padding", "same"}}},
      {{1, 16, 8, 8}, {16, 1, 3, 3}, {{"groups", 16}}},
      {{1, 16, 9, 9}, {16, 1, 3, 3}, {{"groups", 16}, {"dilation", 2}, {"padding", 1}}},
      {{1, 16, 6, 7}, {16, 1, 5, 5}, {{"groups", 16}, {"padding", {5, 1}}}},
      // Winograd at stride 2 on 2x2 tiles: channel tails, partial tiles (10x9 outputs), input rows no
      // tile reads (18x18 valid), padding only, "same" (pads after), 5x5 on 4x4 outputs, AVX2 only
      {{2, 17, 16, 16}, {20, 17, 3, 3}, {{"stride", 2}, {"padding", 1}}},
      {{1, 16, 19, 18}, {16, 16, 3, 3}, {{"stride", 2}, {"padding", 1}}},
      {{1, 16, 18, 18}, {16, 16, 3, 3}, {{"stride", 2}}},
      {{1, 16, 12, 12}, {18, 16, 3, 3}, {{"stride", 2}, {"padding", 3}}},
      {{3, 16, 16, 17}, {16, 16, 3, 3}, {{"stride", 2}, {"padding", "same"}}},
      {{2, 17, 19, 19}, {20, 17, 5, 5}, {{"stride", 2}, {"padding", 2}}},
      {{1, 16, 20, 21}, {16, 16, 5, 5}, {{"stride", 2}, {"padding", "same"}}},
      {{2, 32, 8, 8}, {64, 32, 5, 5}, {{"stride", 2}, {"padding", 2}}},
      {{1, 8, 9, 9}, {16, 8, 3, 3}, {{"stride", 2}, {"padding", 1}}},
      {{2, 24, 17, 16}, {40, 24, 3, 3}, {{"stride", 2}, {"padding", 1}}},  // AVX2 lanes at AVX-512
      // depthwise_avx512's scattered dx: stride with dilation, stride 3 with padding past the kernel
      {{1, 16, 10, 9}, {16, 1, 3, 3}, {{"groups", 16}, {"stride", 2}, {"dilation", 2}, {"padding", 3}}},
      {{2, 18, 11, 13}, {18, 1, 5, 5}, {{"groups", 18}, {"stride", 3}, {"padding", {1, 4}}}},
      // The lanes' weight gradient over the batch (weight_grad_over_batch): images of uneven chunks and
      // calls at their place in the batch's buffer; F(4, 3) with F(2, 3)'s; F(4, 5) on 7x7.
      {{11, 64, 4, 4}, {96, 64, 3, 3}, {{"padding", "same"}}},
      {{10, 192, 8, 8}, {192, 192, 3, 3}, {{"padding", "same"}}},
      {{9, 32, 7, 7}, {48, 32, 5, 5}, {{"padding", "same"}}},
      // ... and that of the GEMM kernels: a 1x1 conv and a strided 3x3 one on 4x4 planes
      {{9, 128, 4, 4}, {128, 128, 1, 1}, json::object()},
      {{9, 128, 8, 8}, {96, 128, 3, 3}, {{"stride", 2}, {"padding", 1}}},
  };
  return cases;
}

}  // namespace

TEST_CASE("the weight gradient's chunks: at most 8, each at least one kernel call's images") {
  CHECK(weight_grad_chunks(64, 1) == 8);
  CHECK(weight_grad_chunks(5, 1) == 5);
  CHECK(weight_grad_chunks(64, 16) == 4);  // ovec_images_avx512: 16 images a call
  CHECK(weight_grad_chunks(40, 16) == 3);
  CHECK(weight_grad_chunks(256, 16) == 8);
  CHECK(weight_grad_chunks(1, 32) == 1);
}

TEST_CASE("a conv's weight gradient is over the batch where that takes no more memory than the sums") {
  if (cpu_isa() < Isa::Avx2) return;  // the generic F(2, 3) keeps its sums per chunk
  const auto over_batch = [](const Shape& x, const Shape& w, const json& attrs) {
    const ConvDims d = conv_dims(x, w, window_of(attrs), x[1] / w[1]);
    const ConvKernel& k = choose_conv_kernel(d);
    INFO("x " << to_string(x) << ", w " << to_string(w) << ", kernel " << std::string(k.name));
    return weight_grad_over_batch(k, kernel_dims(k, d), kernel_calls(k, d));
  };
  const json same = {{"padding", "same"}};
  CHECK(over_batch({64, 128, 4, 4}, {256, 128, 3, 3}, same));  // 4 tiles an image, 32K channel pairs
  CHECK(over_batch({64, 64, 7, 7}, {128, 64, 5, 5}, same));    // alexnet-cifar's conv2
  CHECK(over_batch({11, 64, 4, 4}, {96, 64, 3, 3}, same));     // 2 chunks of a call each
  CHECK(over_batch({10, 192, 8, 8}, {192, 192, 3, 3}, same));  // F(4, 3)'s dw by F(2, 3)
  CHECK(over_batch({9, 32, 7, 7}, {48, 32, 5, 5}, same));
  CHECK_FALSE(over_batch({64, 32, 32, 32}, {32, 32, 3, 3}, same));     // 64 tiles an image, 1K pairs
  CHECK_FALSE(over_batch({64, 128, 16, 16}, {128, 128, 3, 3}, same));  // 16 tiles: 8 chunks' dU is half
  CHECK_FALSE(over_batch({64, 32, 34, 34}, {32, 32, 3, 3}, {{"dilation", 2}, {"padding", 1}}));  // mosaic
  CHECK_FALSE(over_batch({64, 128, 4, 4}, {128, 64, 3, 3}, {{"groups", 2}, {"padding", "same"}}));
  if (cpu_isa() < Isa::Avx512) return;  // the GEMM kernels below: gemm_avx512's
  CHECK(over_batch({64, 256, 8, 8}, {512, 256, 3, 3}, {{"stride", 2}, {"padding", 1}}));  // im2col, 4x4
  CHECK(over_batch({64, 256, 4, 4}, {256, 256, 1, 1}, json::object()));                   // pointwise
  CHECK_FALSE(over_batch({64, 32, 16, 16}, {32, 32, 1, 1}, json::object()));  // 256 positions an image
}

TEST_CASE("every conv2d kernel that applies matches the direct loops, on AVX-512 and AVX2, 1 and 2 threads") {
  Rng rng(7);
  std::set<std::string> ran;
  for (const auto& c : conv_cases()) {
    auto op = registry().make("conv2d", c.attrs);
    const std::vector<Tensor> in = {random(c.x, rng), random(c.w, rng), random({c.w[0]}, rng)};
    const Shape y_shape = op->infer_shape({{c.x}, {c.w}, {{c.w[0]}}});
    const Tensor g = random(y_shape, rng);
    const ConvExpected want = conv_reference(c, in, g);
    const int64_t groups = c.x[1] / c.w[1];
    const ConvDims d = conv_dims(c.x, c.w, window_of(c.attrs), groups);
    for (const Isa isa : {Isa::Avx512, Isa::Avx2, Isa::Generic})
      for (const ConvKernel& k : conv_kernels()) {
        if (isa > detected_isa() || !k.applies(kernel_dims(k, d), isa)) continue;
        INFO("x " << to_string(c.x) << ", w " << to_string(c.w) << ", attrs " << c.attrs.dump() << ", kernel "
                  << std::string(k.name) << ", " << isa_name(isa));
        Forced forced(k.name, isa);
        ran.insert(k.name);
        set_num_threads(1);
        const KernelRun one = run_kernel(*op, in, g);
        set_num_threads(2);
        const KernelRun two = run_kernel(*op, in, g);
        set_num_threads(1);
        check_close(one.y, want.y, "y");
        check_close(one.grads[0], want.dx, "dx");
        check_close(one.grads[1], want.dw, "dw");
        check_close(one.grads[2], want.db, "db");
        CHECK(two.y == one.y);  // bit for bit: the split of the batch does not change any sum
        for (size_t i = 0; i < 3; ++i) CHECK(two.grads[i] == one.grads[i]);
        // One gradient at a time takes the kernels' separate passes, both at once their shared one
        // (both_grads) where they have it: the same sums.
        const KernelRun weights = run_kernel(*op, in, g, {false, true, true});
        const KernelRun input = run_kernel(*op, in, g, {true, false, false});
        CHECK(weights.grads[1] == one.grads[1]);
        CHECK(weights.grads[2] == one.grads[2]);
        CHECK(input.grads[0] == one.grads[0]);
      }
  }
  // Every kernel of the table ran on some case (those of an instruction set this CPU lacks excepted).
  for (const ConvKernel& k : conv_kernels()) {
    const bool needs_avx512 = std::string(k.name).find("avx512") != std::string::npos;
    const bool needs_avx2 = std::string(k.name).find("avx2") != std::string::npos;
    if ((needs_avx512 && detected_isa() < Isa::Avx512) || (needs_avx2 && detected_isa() < Isa::Avx2))
      continue;
    INFO("kernel " << std::string(k.name));
    CHECK(ran.count(k.name) == 1);
  }
}

// Kernels that take several images a call lay them side by side; each sum keeps its terms and their
// order, so an image's y and dx are the bits it gets alone.
TEST_CASE("convs with several images a call give each image the bits it gets alone") {
  if (detected_isa() < Isa::Avx512) return;
  struct Batched {
    const char* kernel;
    Shape x, w;
    json attrs;
  };
  const std::vector<Batched> cases = {
      {"pointwise_avx512", {23, 20, 3, 3}, {24, 20, 1, 1}, json::object()},     // 9 positions: up to 8 a call
      {"im2col_gemm_avx512", {19, 12, 7, 7}, {10, 12, 3, 3}, {{"stride", 2}}},  // 3x3 outputs
      {"im2col_gemm_avx512", {9, 5, 4, 4}, {7, 5, 3, 3}, {{"padding", 1}}},     // 16 positions: 4 a call
  };
  for (const auto& c : cases) {
    CAPTURE(c.kernel);
    Rng rng(11);
    auto op = registry().make("conv2d", c.attrs);
    const std::vector<Tensor> in = {random(c.x, rng), random(c.w, rng), random({c.w[0]}, rng)};
    const Shape ys = op->infer_shape({{c.x}, {c.w}, {{c.w[0]}}});
    const Tensor g = random(ys, rng);
    Forced forced(c.kernel, Isa::Avx512);
    const KernelRun all = run_kernel(*op, in, g, {true, false, false});
    Tensor inferred = make_tensor(ys);  // inference keeps a call's buffers per worker, not every image's
    Workspace ws;
    op->forward({&in[0], &in[1], &in[2]}, inferred, ws, false);
    CHECK(inferred == all.y);
    const int64_t y_size = ys[1] * ys[2] * ys[3], x_size = c.x[1] * c.x[2] * c.x[3];
    for (int64_t i = 0; i < c.x[0]; ++i) {
      Tensor xi = make_tensor({1, c.x[1], c.x[2], c.x[3]}), gi = make_tensor({1, ys[1], ys[2], ys[3]});
      std::copy_n(in[0].begin() + i * x_size, x_size, xi.begin());
      std::copy_n(g.begin() + i * y_size, y_size, gi.begin());
      const KernelRun one = run_kernel(*op, {xi, in[1], in[2]}, gi, {true, false, false});
      INFO("image " << i);
      CHECK(std::equal(one.y.begin(), one.y.end(), all.y.begin() + i * y_size));
      CHECK(std::equal(one.grads[0].begin(), one.grads[0].end(), all.grads[0].begin() + i * x_size));
    }
  }
}

// Kernels with own_activation apply the activation and may stream y out (ConvDims); conv.cpp then runs
// no activation pass. Either way y must be the bits of the conv followed by the activation node.
TEST_CASE("a fused activation gives the bits of conv2d then the activation, with y streamed or not") {
  const std::vector<ConvCase> cases = {
      {{2, 32, 32, 32}, {64, 32, 3, 3}, {{"stride", 2}, {"padding", 1}}},    // ovec strided, 16x16 outputs
      {{2, 16, 32, 32}, {32, 16, 3, 3}, {{"padding", "same"}}},              // Winograd lanes, direct
      {{2, 32, 34, 34}, {32, 32, 3, 3}, {{"dilation", 2}, {"padding", 1}}},  // Winograd on the mosaic
      {{2, 24, 16, 16}, {33, 24, 5, 5}, {{"padding", "same"}}},              // ovec (forced), a part block
  };
  Rng rng(11);
  std::set<std::string> streamed;
  for (const auto& c : cases) {
    const std::vector<Tensor> in = {random(c.x, rng), random(c.w, rng), random({c.w[0]}, rng)};
    const ConvDims d = conv_dims(c.x, c.w, window_of(c.attrs), 1);
    for (const ConvKernel& k : conv_kernels()) {
      if (!k.applies(kernel_dims(k, d), detected_isa())) continue;
      Forced forced(k.name, detected_isa());
      for (const char* act : {"relu", "sigmoid", "tanh"}) {
        INFO("x " << to_string(c.x) << ", kernel " << std::string(k.name) << ", " << act);
        Tensor want =
            make_tensor(registry().make("conv2d", c.attrs)->infer_shape({{c.x}, {c.w}, {{c.w[0]}}}));
        Workspace ws;
        registry().make("conv2d", c.attrs)->forward({&in[0], &in[1], &in[2]}, want, ws, false);
        activate(activation_named(act), want.data(), int64_t(want.size()));
        json attrs = c.attrs;
        attrs["activation"] = act;
        for (const int64_t threshold : {int64_t(1) << 40, int64_t(0)}) {
          set_stream_output_bytes(threshold);
          for (const bool training : {false, true}) {
            Tensor got = make_tensor(shape_of(want));
            Workspace ws2;
            registry().make("conv2d", attrs)->forward({&in[0], &in[1], &in[2]}, got, ws2, training);
            CHECK(got == want);
          }
        }
        set_stream_output_bytes(l2_cache_bytes());
        if (k.own_activation) streamed.insert(k.name);
      }
    }
  }
  for (const char* name :
       {"ovec_strided_avx512", "ovec_avx512", "winograd_f4x3_avx512", "winograd_f4x3_dilated_avx512"})
    if (detected_isa() == Isa::Avx512) {
      INFO("kernel " << name);
      CHECK(streamed.count(name) == 1);
    }
}

TEST_CASE("forward reuses prepared weights only while the weights and the kernel are the same") {
  auto op = registry().make("conv2d", {{"padding", "same"}});
  Rng rng(9);
  const Tensor x = random({2, 32, 24, 24}, rng);  // wide enough for every Winograd kernel
  Tensor w = random({32, 32, 3, 3}, rng);
  const auto fresh = [&] {  // a new workspace: nothing to reuse
    Tensor y = make_tensor({2, 32, 24, 24});
    Workspace ws;
    op->forward({&x, &w}, y, ws, false);
    return y;
  };
  const auto same = [](const Tensor& a, const Tensor& b) {
    return std::equal(a.begin(), a.end(), b.begin());
  };
  Workspace reused;
  Tensor y = make_tensor({2, 32, 24, 24});
  op->forward({&x, &w}, y, reused, false);
  CHECK(same(y, fresh()));
  op->forward({&x, &w}, y, reused, false);  // the same weights: the prepared ones serve again
  CHECK(same(y, fresh()));
  w.data()[w.size() - 1] += 0.5f;  // one weight changed in place, in the last channel pair
  op->forward({&x, &w}, y, reused, false);
  CHECK(same(y, fresh()));
  std::vector<std::string> kernels = {"winograd_f2x3", "im2col_gemm"};
  if (detected_isa() >= Isa::Avx512) kernels.push_back("winograd_f2x3_avx512");
  for (const std::string& kernel : kernels) {  // another kernel, the same weights: it prepares its own
    Forced forced(kernel, Isa::Avx512);
    op->forward({&x, &w}, y, reused, false);
    CHECK(same(y, fresh()));
  }
}

TEST_CASE("a forced conv kernel that does not apply is an error, and the choice follows the CPU level") {
  auto op = registry().make("conv2d", {{"stride", 2}});
  const std::vector<ValueInfo> in = {{{-1, 3, 8, 8}}, {{4, 3, 3, 3}}};
  {
    Forced forced("ovec_avx512", Isa::Avx512);
    CHECK_THROWS_WITH(op->kernel_name(in), doctest::Contains("does not apply"));
  }
  {
    Forced forced("no_such_kernel", Isa::Avx512);
    CHECK_THROWS_WITH(op->kernel_name(in), doctest::Contains("no conv kernel named"));
  }
  CHECK(op->kernel_name(in) == (detected_isa() >= Isa::Avx512 ? "im2col_gemm_avx512" : "im2col_gemm"));
  auto depthwise = registry().make("conv2d", {{"groups", 3}});
  const std::vector<ValueInfo> dw_in = {{{-1, 3, 8, 8}}, {{3, 1, 3, 3}}};
  // 3x3 stride-1 convs with many channels go through Winograd on every level (KERNELS.md).
  auto same = registry().make("conv2d", {{"padding", "same"}});
  const auto vgg = [](int64_t c, int64_t hw, int64_t k = 3) {
    return std::vector<ValueInfo>{{{-1, c, hw, hw}}, {{c, c, k, k}}};
  };
  if (detected_isa() >= Isa::Avx512) {
    CHECK(same->kernel_name(vgg(32, 32)) == "winograd_f4x3_avx512");
    CHECK(same->kernel_name(vgg(16, 16)) == "winograd_f4x3_avx512");
    CHECK(same->kernel_name(vgg(128, 8)) == "winograd_f4x3_avx512");  // 4 tiles, many channels
    CHECK(same->kernel_name(vgg(128, 4)) == "winograd_f2x3_avx512");  // 1 tile of 4x4
    CHECK(same->kernel_name(vgg(16, 14)) == "winograd_f2x3_avx512");  // few channels, < 256 outputs
    CHECK(same->kernel_name(vgg(8, 28)) == "direct_avx512");          // 8 channels fill half the lanes
    CHECK(same->kernel_name(vgg(12, 28)) == "winograd_f4x3_avx512");  // 3x3 from 3/4 of the lanes
    CHECK(same->kernel_name(vgg(12, 14)) == "winograd_f2x3_avx512");
    CHECK(same->kernel_name(vgg(10, 14)) == "direct_avx512");
    CHECK(same->kernel_name(vgg(12, 14, 5)) != "winograd_f2x5_avx512");  // 5x5 from 16 channels
    const auto narrow = [](int64_t c, int64_t o, int64_t hw) {
      return std::vector<ValueInfo>{{{-1, c, hw, hw}}, {{o, c, 3, 3}}};
    };
    CHECK(same->kernel_name(narrow(32, 8, 28)) == "winograd_f4x3_avx2");  // many inputs, 8 outputs
    CHECK(same->kernel_name(vgg(24, 28)) == "winograd_f4x3_avx2");        // 24 fill 8-wide vectors
    CHECK(same->kernel_name(vgg(48, 28)) == "winograd_f4x3_avx512");      // 48 fill 16-wide ones
    CHECK(same->kernel_name(narrow(16, 8, 14)) == "winograd_f2x3_avx2");  // 8 outputs fill 8-wide lanes
    CHECK(same->kernel_name(narrow(16, 8, 28)) == "winograd_f4x3_avx2");
    CHECK(same->kernel_name(narrow(16, 8, 12)) == "direct_avx512");  // below 14x14
    CHECK(same->kernel_name(narrow(8, 8, 28)) == "direct_avx512");
    CHECK(same->kernel_name(narrow(32, 6, 28)) == "direct_avx512");
    CHECK(same->kernel_name(vgg(16, 32, 9)) == "direct_avx512");  // rows of 32 and 16 fill the lanes
    CHECK(same->kernel_name(vgg(32, 16, 9)) == "direct_avx512");
    // 5x5: the variant with the fewest products per image
    CHECK(same->kernel_name(vgg(32, 16, 5)) == "winograd_f4x5_avx512");  // 16 tiles of 64 cells
    CHECK(same->kernel_name(vgg(32, 9, 5)) == "winograd_f3x5_avx512");   // 9 of 49 (F(4, 5): 9 of 64)
    CHECK(same->kernel_name(vgg(32, 4, 5)) == "winograd_f4x5_avx512");   // one tile of 64
    CHECK(same->kernel_name(vgg(32, 18, 9)) == "ovec_avx512");           // rows of 18 fill 18 of 32 lanes
    CHECK(same->kernel_name(vgg(64, 6, 7)) == "ovec_images_avx512");     // 36 outputs: several images a call
    // 7x7: F(2, 7) from 16 channels, but small planes, mostly padding, to the kernel that skips it
    CHECK(same->kernel_name(vgg(16, 32, 7)) == "winograd_f2x7_avx512");
    CHECK(same->kernel_name(vgg(16, 10, 7)) == "winograd_f2x7_avx512");  // 100 outputs
    CHECK(same->kernel_name(vgg(16, 8, 7)) == "ovec_images_avx512");     // 64, 256 channel pairs
    CHECK(same->kernel_name(vgg(64, 8, 7)) == "winograd_f2x7_avx512");   // 64, 4096 channel pairs
    CHECK(same->kernel_name(vgg(128, 5, 7)) == "ovec_images_avx512");    // 25 outputs
    CHECK(same->kernel_name(vgg(12, 32, 7)) != "winograd_f2x7_avx512");  // 7x7 from 16 channels
    auto strided = registry().make("conv2d", {{"stride", 2}, {"padding", 1}});
    CHECK(strided->kernel_name(vgg(32, 16)) == "winograd_s2_f2x3_avx512");  // 8x8 outputs
    CHECK(strided->kernel_name(vgg(32, 14)) == "ovec_images_avx512");       // 7x7: tied, the direct kernel
    CHECK(strided->kernel_name(vgg(12, 32)) == "ovec_strided_avx512");      // 12 channels
    CHECK(strided->kernel_name(vgg(24, 16)) == "winograd_s2_f2x3_avx2");    // 24 fill 8-wide vectors
    auto strided_5x5 = registry().make("conv2d", {{"stride", 2}, {"padding", 2}});
    CHECK(strided_5x5->kernel_name(vgg(16, 16, 5)) == "winograd_s2_f2x5_avx512");  // 8x8 outputs
    CHECK(strided_5x5->kernel_name(vgg(64, 8, 5)) == "winograd_s2_f2x5_avx512");   // 4x4, 4096 pairs
    CHECK(strided_5x5->kernel_name(vgg(32, 8, 5)) != "winograd_s2_f2x5_avx512");   // 4x4, 1024 pairs
    CHECK(strided_5x5->kernel_name(vgg(64, 10, 5)) != "winograd_s2_f2x5_avx512");  // 5x5: partial tiles
    auto dilated = registry().make("conv2d", {{"dilation", 2}});  // Winograd on the phases' mosaic
    CHECK(dilated->kernel_name(vgg(16, 26)) == "winograd_f4x3_dilated_avx512");  // rows of 22: no direct
    CHECK(dilated->kernel_name(vgg(16, 36)) == "direct_avx512");                 // rows of 32 fill its lanes
    CHECK(dilated->kernel_name(vgg(32, 36)) == "winograd_f4x3_dilated_avx512");
    CHECK(dilated->kernel_name(narrow(16, 48, 36)) == "winograd_f4x3_dilated_avx512");  // 768 channel pairs
    CHECK(dilated->kernel_name(narrow(16, 24, 36)) == "direct_avx512");                 // 384
    CHECK(dilated->kernel_name(narrow(16, 32, 20)) ==
          "winograd_f4x3_dilated_avx512");                               // 16 columns, 32 outputs
    CHECK(dilated->kernel_name(narrow(24, 24, 20)) == "direct_avx512");  // 16 columns, 24 and 24
    CHECK(dilated->kernel_name(narrow(24, 24, 36)) == "winograd_f4x3_dilated_avx512");  // 32 columns
    CHECK(dilated->kernel_name(vgg(16, 28, 5)) == "ovec_avx512");  // 5x5 on the mosaic from 32 channels
    CHECK(dilated->kernel_name(vgg(32, 28, 5)) == "winograd_f4x5_dilated_avx512");
    CHECK(dilated->kernel_name(vgg(32, 12)) == "ovec_avx512");  // 8x8 outputs: the seams would dominate
    CHECK(dilated->kernel_name(vgg(32, 13)) == "winograd_f4x3_dilated_avx512");     // 9x9 outputs
    CHECK(dilated->kernel_name(vgg(32, 16, 5)) == "winograd_f4x5_dilated_avx512");  // 5x5: 8x8 outputs
    CHECK(dilated->kernel_name(vgg(32, 15, 5)) == "ovec_images_avx512");            // 5x5: 7x7 outputs
    CHECK(dilated->kernel_name(vgg(16, 24, 5)) != "ovec_images_avx512");            // 16x16 outputs: too many
    auto dilated_same = registry().make("conv2d", {{"dilation", 2}, {"padding", "same"}});
    CHECK(dilated_same->kernel_name(vgg(16, 9, 5)) == "ovec_images_avx512");  // 81 outputs, 46 % padding
    CHECK(dilated_same->kernel_name(vgg(8, 9, 5)) != "ovec_images_avx512");   // 8 channels: half the lanes
    CHECK(strided->kernel_name(vgg(16, 14)) == "ovec_images_avx512");         // to 7x7
    const auto small = [](int64_t c, int64_t o, int64_t hw) {
      return std::vector<ValueInfo>{{{-1, c, hw, hw}}, {{o, c, 3, 3}}};
    };
    CHECK(same->kernel_name(small(16, 4, 5)) == "ovec_images_avx512");  // 4 outputs: before direct's rows
    CHECK(same->kernel_name(small(12, 6, 7)) == "ovec_images_avx512");
    CHECK(same->kernel_name(small(3, 24, 5)) != "ovec_images_avx512");   // dx's lanes 3/16 full
    CHECK(same->kernel_name(small(8, 16, 14)) != "ovec_images_avx512");  // 196 outputs
    CHECK(strided->kernel_name({{{-1, 256, 14, 14}}, {{512, 256, 3, 3}}}) == "ovec_strided_avx512");  // L2
    auto grouped = registry().make("conv2d", {{"groups", 2}, {"padding", "same"}});
    CHECK(grouped->kernel_name({{{-1, 64, 5, 5}}, {{64, 32, 3, 3}}}) != "ovec_images_avx512");
    auto projection = registry().make("conv2d", {{"stride", 2}});  // a 1x1 conv is a subsample + GEMM
    CHECK(projection->kernel_name({{{-1, 32, 16, 16}}, {{64, 32, 1, 1}}}) == "im2col_gemm_avx512");
  }
  if (detected_isa() >= Isa::Avx512) {  // depthwise: 3x3 on rows of 10 or more (KERNELS.md, session 22)
    auto depthwise_same = registry().make("conv2d", {{"groups", 32}, {"padding", "same"}});
    const auto dw = [](int64_t c, int64_t hw, int64_t k = 3) {
      return std::vector<ValueInfo>{{{-1, c, hw, hw}}, {{c, 1, k, k}}};
    };
    CHECK(depthwise_same->kernel_name(dw(32, 14)) == "depthwise_rows_avx512");
    CHECK(depthwise_same->kernel_name(dw(32, 10)) == "depthwise_rows_avx512");
    CHECK(depthwise_same->kernel_name(dw(32, 7)) == "depthwise_avx512");      // rows of 7: channels in lanes
    CHECK(depthwise_same->kernel_name(dw(32, 28, 5)) == "depthwise_avx512");  // 5x5: any rows (session 23)
    CHECK(depthwise_same->kernel_name(dw(32, 16, 7)) == "depthwise_avx512");
    auto depthwise_strided = registry().make("conv2d", {{"groups", 32}, {"stride", 2}, {"padding", 1}});
    CHECK(depthwise_strided->kernel_name(dw(32, 28)) == "depthwise_avx512");
  }
  Forced avx2("", Isa::Avx2);
  auto strided_depthwise = registry().make("conv2d", {{"groups", 3}, {"stride", 2}});
  if (detected_isa() >= Isa::Avx2) {
    CHECK(depthwise->kernel_name(dw_in) == "direct_c1_avx2");
    CHECK(strided_depthwise->kernel_name(dw_in) == "plane_avx2");
  }
  if (detected_isa() >= Isa::Avx2) {
    CHECK(same->kernel_name(vgg(32, 32)) == "winograd_f4x3_avx2");
    CHECK(same->kernel_name(vgg(128, 8)) == "winograd_f2x3_avx2");  // F(4, 3) from 256 outputs at AVX2
    CHECK(same->kernel_name(vgg(8, 14)) == "winograd_f2x3_avx2");   // 8 channels fill the lanes
    CHECK(same->kernel_name({{{-1, 16, 28, 28}}, {{4, 16, 3, 3}}}) == "winograd_f4x3_avx2");  // 4 outputs
    CHECK(same->kernel_name({{{-1, 6, 28, 28}}, {{12, 6, 3, 3}}}) == "direct_avx2");
    CHECK(same->kernel_name(vgg(32, 16, 5)) == "winograd_f4x5_avx2");
    CHECK(same->kernel_name(vgg(32, 4, 5)) == "winograd_f2x5_avx2");  // at AVX2 from 4 tiles an image
    CHECK(same->kernel_name(vgg(8, 16, 7)) == "winograd_f2x7_avx2");  // 7x7 from 8 channels at AVX2
    CHECK(same->kernel_name(vgg(4, 32)) == "direct_avx2");
    CHECK(same->kernel_name(vgg(4, 10)) == "im2col_gemm");  // rows of 10 fill 10 of 16 lanes
    auto dilated = registry().make("conv2d", {{"dilation", 2}});
    CHECK(dilated->kernel_name(vgg(16, 26)) == "winograd_f4x3_dilated_avx2");
    CHECK(dilated->kernel_name(vgg(8, 26)) == "im2col_gemm");
    CHECK(dilated->kernel_name(vgg(16, 11)) == "im2col_gemm");                    // 7x7 outputs
    CHECK(dilated->kernel_name(vgg(32, 12)) == "winograd_f2x3_dilated_avx2");     // 8x8 outputs
    CHECK(dilated->kernel_name(vgg(32, 14, 5)) == "winograd_f4x5_dilated_avx2");  // 5x5: 6x6 outputs
    CHECK(dilated->kernel_name(vgg(32, 13, 5)) == "im2col_gemm");                 // 5x5 outputs
  }
  Forced generic("", Isa::Generic);
  CHECK(same->kernel_name(vgg(32, 32)) == "winograd_f2x3");
}

TEST_CASE(
    "every pool kernel that applies matches the reference loops, on AVX-512 and AVX2, 1 and 2 threads") {
  struct PoolCase {
    Shape x;
    json attrs;
    bool ties = false;  // values 0, 1, 2 only: the first largest cell must win everywhere
  };
  const std::vector<PoolCase> cases = {
      {{3, 6, 24, 24}, {{"kernel", 2}}},  // LeNet pool1
      {{2, 3, 9, 9}, {{"kernel", 2}}},    // odd size: the last row and column are dropped
      {{2, 2, 8, 8}, {{"kernel", 2}, {"stride", 1}}},
      {{1, 2, 9, 7}, {{"kernel", 3}, {"stride", 2}}},
      {{2, 3, 16, 16}, {{"kernel", 3}, {"stride", 2}}},
      {{1, 2, 7, 7}, {{"kernel", {2, 3}}, {"stride", {2, 1}}}},
      {{1, 2, 5, 6}, {{"kernel", 3}, {"stride", 2}, {"padding", "same"}}},
      {{2, 3, 16, 16}, {{"kernel", 3}, {"stride", 2}, {"padding", 1}}},
      {{2, 1, 3, 3}, {{"kernel", 2}, {"stride", 1}, {"padding", 1}}},
      {{1, 2, 37, 37}, {{"kernel", 2}}},                                      // rows of 16 + 2 windows
      {{2, 2, 48, 48}, {{"kernel", 3}, {"stride", 2}, {"padding", 1}}},       // ResNet's stem pool
      {{1, 2, 40, 37}, {{"kernel", 3}, {"stride", 1}, {"padding", "same"}}},  // padded, stride 1
      {{1, 2, 11, 21}, {{"kernel", 3}, {"stride", 3}, {"padding", 2}}},       // padded, stride 3
      {{2, 2, 48, 48}, {{"kernel", 3}, {"stride", 2}, {"padding", 1}}, true},
      {{1, 2, 17, 19}, {{"kernel", 3}, {"stride", 2}}, true},
      {{1, 2, 17, 19}, {{"kernel", 2}}, true},
      {{2, 3, 15, 16}, {{"kernel", 3}, {"stride", 2}}, true},  // 7 windows a row: two rows a vector, odd rows
      {{1, 2, 16, 16}, {{"kernel", 3}, {"stride", 2}, {"padding", 1}}, true},  // the same, padded rows mixed
      {{2, 2, 10, 9}, {{"kernel", 3}, {"stride", 1}}},                         // the same at stride 1
      // 16 planes in the lanes: whole blocks and a partial one, split over threads
      {{3, 11, 7, 7}, {{"kernel", 3}, {"stride", 2}}, true},
      {{2, 20, 9, 9}, {{"kernel", 3}, {"stride", 1}, {"padding", 1}}},
      {{4, 9, 8, 8}, {{"kernel", 2}}, true},  // 2x2/2 with 4 windows a row: the lanes, not max_2x2s2
  };
  Rng rng(11);
  std::set<std::string> ran;
  for (const auto& c : cases)
    for (const bool is_max : {true, false}) {
      auto op = registry().make(is_max ? "max_pool2d" : "avg_pool2d", c.attrs);
      std::vector<Tensor> in = {random(c.x, rng)};
      if (c.ties)
        for (float& v : in[0]) v = std::floor(1.5f * (v + 1));
      Window win;
      win.kernel = AttrReader(c.attrs).required_pair("kernel", 1);
      win.stride = AttrReader(c.attrs).pair("stride", win.kernel, 1);
      win.padding = AttrReader(c.attrs).padding("padding");
      const PoolDims d = pool_dims(in[0], win);
      Tensor y = make_tensor({c.x[0], c.x[1], d.g.out_h, d.g.out_w}), dx = make_tensor(c.x);
      std::vector<int32_t> argmax(y.size());
      const Tensor g = random(shape_of(y), rng);
      if (is_max) {
        max_pool_reference_forward(d, in[0].data(), y.data(), argmax.data());
        max_pool_reference_backward(d, g.data(), argmax.data(), dx.data());
      } else {
        avg_pool_reference_forward(d, in[0].data(), y.data());
        avg_pool_reference_backward(d, g.data(), dx.data());
      }
      for (const Isa isa : {Isa::Avx512, Isa::Avx2})
        for (const PoolKernel& k : pool_kernels()) {
          if (isa > detected_isa() || !k.applies(d, is_max, isa)) continue;
          INFO("x " << to_string(c.x) << ", attrs " << c.attrs.dump() << ", kernel " << k.name << ", "
                    << isa_name(isa));
          force_pool_kernel(k.name);
          set_isa_limit(isa);
          ran.insert(k.name);
          for (int threads : {1, 2}) {
            set_num_threads(threads);
            const KernelRun r = run_kernel(*op, in, g);
            if (is_max) CHECK(r.y == y);          // the same cells picked
            if (is_max) CHECK(r.grads[0] == dx);  // same argmax, same sums
            if (!is_max) check_close(r.y, y, "y");
            if (!is_max) check_close(r.grads[0], dx, "dx");
          }
          set_num_threads(1);
          force_pool_kernel("");
          set_isa_limit(Isa::Avx512);
        }
    }
  for (const PoolKernel& k : pool_kernels()) {
    if (std::string(k.name).find("avx512") != std::string::npos && detected_isa() < Isa::Avx512) continue;
    INFO("kernel " << std::string(k.name));
    CHECK(ran.count(k.name) == 1);
  }
}

TEST_CASE("col2im in AVX-512 vectors gives col2im's bits") {
  if (detected_isa() < Isa::Avx512) return;  // nothing to compare on this CPU
  struct Case {
    int64_t c, h, w, k, stride, pad, dilation;
    bool same;
  };
  // Rows of 3-33 outputs (whole vectors, masked tails, both), strides 1-3, dilation, valid, explicit
  // and "same" padding (uneven at stride 2), and a kernel wider than the image with padding.
  const Case cases[] = {
      {3, 9, 9, 5, 2, 0, 1, true},    {16, 9, 9, 5, 2, 0, 1, true},  {4, 32, 32, 3, 2, 1, 1, false},
      {2, 33, 33, 3, 1, 1, 1, false}, {5, 7, 40, 3, 3, 2, 1, false}, {3, 5, 5, 3, 1, 2, 2, true},
      {2, 12, 12, 1, 2, 0, 1, false}, {1, 3, 3, 5, 1, 2, 1, false},  {2, 20, 17, 7, 2, 3, 2, false}};
  Rng rng(17);
  for (const Case& cs : cases) {
    Window win;
    win.kernel = {cs.k, cs.k}, win.stride = {cs.stride, cs.stride}, win.dilation = {cs.dilation, cs.dilation};
    win.padding.mode = cs.same ? Padding::Mode::Same : Padding::Mode::Explicit;
    win.padding.pad = {cs.pad, cs.pad};
    const ConvDims d = conv_dims(Shape{1, cs.c, cs.h, cs.w}, Shape{4, cs.c, cs.k, cs.k}, win);
    const Tensor cols = random({d.patch(), d.positions()}, rng);
    std::vector<float> scratch(size_t(col2im_scratch(d))), want(size_t(cs.c * cs.h * cs.w), -1.0f),
        got(want.size(), -2.0f);
    col2im(d, cols.data(), scratch.data(), want.data());
    std::fill(scratch.begin(), scratch.end(), 7.0f);  // col2im_avx512 must not read what col2im left
    col2im_avx512(d, cols.data(), scratch.data(), got.data());
    INFO("c " << cs.c << ", " << cs.h << "x" << cs.w << ", k " << cs.k << ", stride " << cs.stride);
    CHECK(std::memcmp(got.data(), want.data(), want.size() * sizeof(float)) == 0);
  }
}

TEST_CASE("matmul matches plain loops at AVX-512 and AVX2, with 1 and 2 threads, bit for bit across them") {
  // K (and, for dw, M) past gemm_avx512's depth of 256, tails, products cut by rows and by columns;
  // dw's xᵀ read in packed panels of rows (K ≥ 1024), over two depths and with a last short panel.
  const std::vector<std::array<int64_t, 3>> shapes = {
      {300, 150, 90}, {20, 600, 403}, {3, 7, 5}, {270, 1100, 70}, {4, 0, 6}, {0, 3, 5}};  // and empty sums
  Rng rng(11);
  auto op = registry().make("matmul", json::object());
  for (const auto& [m, k, n] : shapes)
    for (const bool bias : {true, false}) {
      std::vector<Tensor> in = {random({m, k}, rng), random({k, n}, rng)};
      if (bias) in.push_back(random({n}, rng));
      const Tensor g = random({m, n}, rng);
      Tensor y = make_tensor({m, n}), dx = make_tensor({m, k}), dw = make_tensor({k, n}),
             db = make_tensor({n});
      const float *x = in[0].data(), *w = in[1].data(), *gy = g.data();
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double s = bias ? in[2].data()[j] : 0.0;
          for (int64_t q = 0; q < k; ++q) s += double(x[i * k + q]) * w[q * n + j];
          y.data()[i * n + j] = float(s);
          db.data()[j] += gy[i * n + j];
        }
      for (int64_t i = 0; i < m; ++i)
        for (int64_t q = 0; q < k; ++q) {
          double s = 0;
          for (int64_t j = 0; j < n; ++j) s += double(gy[i * n + j]) * w[q * n + j];
          dx.data()[i * k + q] = float(s);
        }
      for (int64_t q = 0; q < k; ++q)
        for (int64_t j = 0; j < n; ++j) {
          double s = 0;
          for (int64_t i = 0; i < m; ++i) s += double(x[i * k + q]) * gy[i * n + j];
          dw.data()[q * n + j] = float(s);
        }
      for (const Isa isa : {Isa::Avx512, Isa::Avx2}) {
        if (isa > detected_isa()) continue;
        INFO("m " << m << ", k " << k << ", n " << n << (bias ? ", bias, " : ", ") << isa_name(isa));
        set_isa_limit(isa);
        set_num_threads(1);
        const KernelRun one = run_kernel(*op, in, g);
        set_num_threads(2);
        const KernelRun two = run_kernel(*op, in, g);
        set_num_threads(1);
        set_isa_limit(Isa::Avx512);
        check_close(one.y, y, "y");
        check_close(one.grads[0], dx, "dx");
        check_close(one.grads[1], dw, "dw");
        if (bias) check_close(one.grads[2], db, "db");
        CHECK(two.y == one.y);
        for (size_t i = 0; i < in.size(); ++i) CHECK(two.grads[i] == one.grads[i]);
      }
    }
}
