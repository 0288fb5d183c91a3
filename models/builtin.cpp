#include "models/builtin.h"

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "models/lenet.h"
#include "models/mobilenet.h"
#include "models/resnet.h"
#include "models/vgg.h"

namespace xgrad {

const std::vector<std::string>& builtin_model_names() {
  static const std::vector<std::string> names = {"lenet", "lenet-relu", "mlp", "vgg", "resnet", "mobilenet"};
  return names;
}

std::string builtin_name_list() {
  std::string known;
  for (const auto& n : builtin_model_names()) known += (known.empty() ? "" : ", ") + n;
  return known;
}

Graph builtin_graph(const std::string& name) {
  if (name == "lenet") return lenet("sigmoid");
  if (name == "lenet-relu") return lenet("relu");
  if (name == "mlp") return mlp();
  if (name == "vgg") return vgg();
  if (name == "resnet") return resnet();
  if (name == "mobilenet") return mobilenet();
  throw Error("unknown model \"" + name + "\" (built in: " + builtin_name_list() + ")");
}

Model load_model_or_builtin(const std::string& name_or_path) {
  const auto& names = builtin_model_names();
  if (std::find(names.begin(), names.end(), name_or_path) == names.end()) {
    if (!std::filesystem::exists(name_or_path))
      throw Error(name_or_path + ": no such model file, nor a built-in model (" + builtin_name_list() + ")");
    return load_model(name_or_path);
  }
  Model m;
  m.graph = builtin_graph(name_or_path);
  return m;
}

}  // namespace xgrad
