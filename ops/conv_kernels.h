#pragma once
// The conv2d kernel table. Each kernel computes one group of one image (dims from group_dims()),
// or, if all_groups, every group of one image at once (the conv's own dims: depthwise kernels that
// put channels in the vector lanes); conv.cpp splits the batch, loops over groups, sizes the
// buffers and sums the weight gradients.
// choose_conv_kernel() takes the first entry that applies to the dims on this CPU, in table order
// (fastest first, im2col + sgemm last: it applies to everything). Forcing a kernel by name
// (force_conv_kernel, XGRAD_CONV_KERNEL) is how the tests run every kernel that applies.
#include <algorithm>
#include <string>
#include <vector>

#include "ops/cpu.h"
#include "ops/window.h"

namespace xgrad {

// Floats of each buffer a kernel needs, for dims d.
struct ConvSizes {
  int64_t kept = 0;         // per image: what forward keeps for weight_grad (padded image, im2col)
  int64_t prepared = 0;     // once per call: weights rearranged by prepare (0: w used as it is)
  int64_t scratch = 0;      // per worker: forward's and weight_grad's scratch
  int64_t acc = 0;          // per chunk of images: weight_grad's running sums
  int64_t dx_scratch = 0;   // per worker: input_grad's scratch
  int64_t prepared_dx = 0;  // once per backward: weights as prepare_dx rearranges them for input_grad
};

struct ConvKernel {
  const char* name;
  bool (*applies)(const ConvDims& d, Isa isa);
  ConvSizes (*sizes)(const ConvDims& d);
  void (*prepare)(const ConvDims& d, const float* w, float* prepared);  // null when prepared = 0
  // y [o, oh, ow] of one image x [c, h, w]; b may be null; fills kept.
  void (*forward)(const ConvDims& d, const float* x, const float* wp, const float* b, float* kept,
                  float* scratch, float* y);
  // acc += what one image (x, its kept buffer, its output gradient g) adds to dw; acc starts at 0
  // (or, with fresh_acc, acc = that where d.acc_fresh).
  void (*weight_grad)(const ConvDims& d, const float* x, const float* kept, const float* g, float* scratch,
                      float* acc);
  // dw [o, c*kh*kw] += the weight gradient that acc holds.
  void (*weight_grad_finish)(const ConvDims& d, const float* acc, float* dw);
  // dx [c, h, w] of one image from g [o, oh, ow], the weights w as given and as prepared: by
  // prepare_dx when its size prepared_dx is not 0, else by prepare (wp = w when that is null too).
  void (*input_grad)(const ConvDims& d, const float* g, const float* w, const float* wp, float* scratch,
                     float* dx);
  bool all_groups = false;  // called once per image with the conv's dims, not once per group
  void (*prepare_dx)(const ConvDims& d, const float* w, float* prepared) = nullptr;
  // weight_grad_finish is costly (a GEMM): conv.cpp adds acc over the batch's chunks, then finishes
  // once, instead of finishing each chunk's acc and adding those.
  bool finish_once = false;
  // Where not null, forward, weight_grad and input_grad take d.n consecutive images at once, at most
  // images_per_call(d) of a batch of d.n (a small image's tiles fill too few GEMM rows alone).
  int64_t (*images_per_call)(const ConvDims& d) = nullptr;
  // Where not null, what weight_grad and then input_grad do for the same images, in one pass that
  // shares their work (the lanes transform g once); scratch as weight_grad's, dx_scratch as input_grad's.
  void (*both_grads)(const ConvDims& d, const float* x, const float* kept, const float* g, const float* wp,
                     float* scratch, float* dx_scratch, float* acc, float* dx) = nullptr;
  // weight_grad and both_grads write acc where d.acc_fresh, so conv.cpp need not zero it first (the
  // Winograd lanes' acc is cells x C x O: alexnet-cifar's conv2 zeroed 2 MB for each of 8 chunks).
  bool fresh_acc = false;
  // forward applies d.act to y itself, before y leaves the cache, and may stream y out where
  // d.stream_output (conv.cpp then runs no activation pass over y).
  bool own_activation = false;
  // A weight gradient over the whole batch, for finish_once kernels whose per-chunk sums are large
  // (the Winograd lanes' dU, the GEMM kernels' O x K, on small planes): weight_grad and both_grads
  // store each call's operands in a buffer of batch_size(d) floats for d.n images (0: not for these
  // dims), and batch_weight_grad writes acc from it in products as deep as the batch, split over the
  // pool (per Winograd cell, or by rows), so no sums over chunks are needed.
  int64_t (*batch_size)(const ConvDims& d) = nullptr;
  void (*batch_weight_grad)(const ConvDims& d, const float* batch, float* acc) = nullptr;
};

// Images per kernel call: kernel k's choice where it takes several (and one call covers all groups).
inline int64_t kernel_images_per_call(const ConvKernel& k, const ConvDims& kd, int64_t calls) {
  return k.images_per_call && calls == 1 ? std::max<int64_t>(1, k.images_per_call(kd)) : 1;
}
// The chunks of a batch of n whose weight-gradient sums conv.cpp adds in chunk order: fixed, whatever
// the thread count, so the sums' bits do not depend on it. At most 8, and no more than give each chunk
// a whole call of per_call images: ovec_images_avx512 called on 8 images where it takes 16 had half
// its sums in flight (its backward 16 -> 64, stride 2 to 5x5: 770 -> 632 µs per 64 images).
inline int64_t weight_grad_chunks(int64_t n, int64_t per_call) {
  return std::min<int64_t>({n, 8, (n + per_call - 1) / per_call});
}
// Whether conv.cpp takes kernel k's weight gradient over the whole batch (kd: the kernel's dims for
// the batch): k has batch_weight_grad, the conv has one group, and the batch's buffer takes no more
// memory than the chunks' sums it replaces (ops/KERNELS.md, session 25).
bool weight_grad_over_batch(const ConvKernel& k, const ConvDims& kd, int64_t calls);

// The dims kernel k works on for a conv of dims d, and how many calls an image takes.
inline ConvDims kernel_dims(const ConvKernel& k, const ConvDims& d) {
  return k.all_groups ? d : group_dims(d);
}
inline int64_t kernel_calls(const ConvKernel& k, const ConvDims& d) { return k.all_groups ? 1 : d.groups; }

// The share of the lanes that n values fill in vectors of `lanes` (what the kernels' conditions weigh).
inline double lanes_filled(int64_t n, int64_t lanes = 16) {
  return double(n) / double(lanes * ((n + lanes - 1) / lanes));
}

const std::vector<ConvKernel>& conv_kernels();
// The kernel for a conv of dims d on cpu_isa(): the forced one, else the first that applies.
// Throws Error when the forced kernel does not apply.
const ConvKernel& choose_conv_kernel(const ConvDims& d);
// "" = choose automatically. Initially XGRAD_CONV_KERNEL from the environment. Not thread-safe.
void force_conv_kernel(const std::string& name);

}  // namespace xgrad
