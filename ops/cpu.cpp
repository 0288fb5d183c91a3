#include "ops/cpu.h"

#include <algorithm>
#include <cstdlib>

#include <unistd.h>

#include "core/error.h"

namespace xgrad {
namespace {

Isa detect() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq"))
    return Isa::Avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::Avx2;
  return Isa::Generic;
}

Isa limit_from_env() {
  const char* v = std::getenv("XGRAD_ISA");
  if (!v || !*v) return Isa::Avx512;
  try {
    return parse_isa(v);
  } catch (const Error& e) {
    throw Error(std::string("XGRAD_ISA: ") + e.what());
  }
}

Isa& limit() {
  static Isa l = limit_from_env();
  return l;
}

}  // namespace

Isa detected_isa() {
  static const Isa isa = detect();
  return isa;
}

Isa cpu_isa() { return std::min(detected_isa(), limit()); }

void set_isa_limit(Isa l) { limit() = l; }

std::string isa_name(Isa isa) {
  switch (isa) {
    case Isa::Avx512:
      return "avx512";
    case Isa::Avx2:
      return "avx2";
    default:
      return "generic";
  }
}

int64_t l2_cache_bytes() {
  static const int64_t bytes = [] {
    const long reported = sysconf(_SC_LEVEL2_CACHE_SIZE);
    return reported > 0 ? int64_t(reported) : int64_t(1) << 20;
  }();
  return bytes;
}

namespace {
int64_t& stream_bytes() {
  static int64_t bytes = l2_cache_bytes();
  return bytes;
}
}  // namespace

int64_t stream_output_bytes() { return stream_bytes(); }
void set_stream_output_bytes(int64_t bytes) { stream_bytes() = bytes; }

Isa parse_isa(const std::string& name) {
  for (Isa i : {Isa::Generic, Isa::Avx2, Isa::Avx512})
    if (isa_name(i) == name) return i;
  throw Error("expected generic, avx2 or avx512, found \"" + name + "\"");
}

}  // namespace xgrad
