#pragma once
// Which vector instructions the kernels may use, decided at run time (__builtin_cpu_supports), so
// one binary built without -march=native runs its AVX-512 kernels where they exist and its AVX2
// or plain ones elsewhere. XGRAD_ISA=avx2 (or generic) in the environment, or set_isa_limit(),
// caps the level: that is how the tests run the AVX2 kernels on an AVX-512 machine.
#include <cstdint>
#include <string>

// Per-function targets for kernels compiled beside the build's default flags; the BEGIN/END pairs
// apply one to every function between them (lambdas included). Include all headers before BEGIN,
// so inline library code keeps the default target.
#define XGRAD_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define XGRAD_TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))
#if defined(__clang__)
#define XGRAD_AVX512_BEGIN \
  _Pragma(                 \
      "clang attribute push(__attribute__((target(\"avx512f,avx512vl,avx512bw,avx512dq,avx2,fma\"))), \
          apply_to = function)")
#define XGRAD_AVX512_END _Pragma("clang attribute pop")
#define XGRAD_AVX2_BEGIN \
  _Pragma("clang attribute push(__attribute__((target(\"avx2,fma\"))), apply_to = function)")
#define XGRAD_AVX2_END _Pragma("clang attribute pop")
#else
#define XGRAD_AVX512_BEGIN \
  _Pragma("GCC push_options") _Pragma("GCC target(\"avx512f,avx512vl,avx512bw,avx512dq,avx2,fma\")")
#define XGRAD_AVX512_END _Pragma("GCC pop_options")
#define XGRAD_AVX2_BEGIN _Pragma("GCC push_options") _Pragma("GCC target(\"avx2,fma\")")
#define XGRAD_AVX2_END _Pragma("GCC pop_options")
#endif

namespace xgrad {

enum class Isa { Generic = 0, Avx2 = 1, Avx512 = 2 };

// The level kernels may use now: what the CPU has, capped by XGRAD_ISA and set_isa_limit.
Isa cpu_isa();
// What the CPU itself supports (AVX2 means AVX2 + FMA; AVX-512 means F, VL, BW and DQ).
Isa detected_isa();
// Caps cpu_isa() (Avx512 = no cap beyond the CPU). Not thread-safe: call between runs.
void set_isa_limit(Isa limit);
std::string isa_name(Isa isa);
// Bytes of one core's L2 cache as the OS reports it (1 MiB where it reports none).
int64_t l2_cache_bytes();
// A conv's forward output larger than this many bytes (a batch's) may go out with non-temporal
// stores (ConvDims::stream_output): l2_cache_bytes() unless set; the tests set 0 to stream every one.
int64_t stream_output_bytes();
void set_stream_output_bytes(int64_t bytes);
Isa parse_isa(const std::string& name);  // "generic", "avx2", "avx512"; throws Error otherwise

}  // namespace xgrad
