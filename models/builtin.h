#pragma once
// The models built into xgrad, by name: what `xgrad train --model lenet` means, from any directory.
// A name that is not built in is a model file's path.
#include <string>
#include <vector>

#include "graph/serialize.h"

namespace xgrad {

// "lenet" (the sigmoid reference), "lenet-relu", "mlp", "vgg", "resnet", "mobilenet"; later builders add
// theirs here.
const std::vector<std::string>& builtin_model_names();
std::string builtin_name_list();  // "lenet, lenet-relu, ..."
// The builder's graph; throws Error listing the names for an unknown one.
Graph builtin_graph(const std::string& name);
// A built-in name gives its graph (no weights, empty meta); anything else is loaded as a model
// file (`./lenet` reads a file named lenet).
Model load_model_or_builtin(const std::string& name_or_path);

}  // namespace xgrad
