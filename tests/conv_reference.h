#pragma once
// The simple direct-loop conv2d: the test oracle of every conv kernel (ops/conv_kernels.h).
#include "ops/window.h"

namespace xgrad {

// y[n,o,i,j] = b[o] + Σ_c,p,q x[n,c, i*sh - pt + p*dh, j*sw - pl + q*dw] * w[o,c,p,q]; b may be null.
void conv2d_reference_forward(const ConvDims& d, const float* x, const float* w, const float* b, float* y);

// Overwrites each non-null gradient: dx[n,c,r,s] = Σ g*w, dw[o,c,p,q] = Σ g*x, db[o] = Σ g[n,o,:,:].
void conv2d_reference_backward(const ConvDims& d, const float* x, const float* w, const float* gy, float* dx,
                               float* dw, float* db);

}  // namespace xgrad
