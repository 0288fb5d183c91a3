// Without ONNX at build time, the ONNX functions exist and say how to get them.
#ifndef XGRAD_WITH_ONNX
#include "core/error.h"
#include "graph/onnx.h"

namespace xgrad {
namespace {

[[noreturn]] void unavailable() {
  throw Error("xgrad was built without ONNX (install libonnx-dev and libprotobuf-dev, then rebuild)");
}

}  // namespace

bool onnx_available() { return false; }

std::string onnx_export_bytes(const Graph&, const Params&, const nlohmann::json&, const OnnxExportOptions&) {
  unavailable();
}

void export_onnx(const std::string&, const Graph&, const Params&, const nlohmann::json&,
                 const OnnxExportOptions&) {
  unavailable();
}

Model onnx_import_bytes(const std::string&, const std::string&, const OnnxImportOptions&) { unavailable(); }

Model import_onnx(const std::string&, const OnnxImportOptions&) { unavailable(); }

}  // namespace xgrad
#endif
