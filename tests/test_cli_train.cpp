// `xgrad train`, `eval` and `predict` end to end on a tiny Fashion-like IDX set written by the test:
// outputs, checkpoint/resume identity through SIGINT, the NaN stop, and bad option values.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "core/dataset.h"
#include "graph/builder.h"
#include "graph/data_fit.h"
#include "graph/serialize.h"
#include "models/lenet.h"
#include "tests/cli.h"
#include "tests/idx_writer.h"
#include "tests/paths.h"
#include "tests/test_serialize_util.h"

namespace fs = std::filesystem;
using namespace xgrad;

namespace {

using Result = test::CliRun;

// A temp dir holding a tiny Fashion-like data set (tests/idx_writer.h) where the commands run.
class Tiny {
 public:
  Tiny() {
    std::filesystem::create_directories(dir_.file("data"));
    write_fashion_like_dir(dir_.file("data"), 120, 40, 3);
    save_model(dir_.file("lenet.json"), lenet("relu"), nullptr, nlohmann::json::object());
  }
  std::string file(const std::string& name) const { return dir_.file(name); }
  std::string data() const { return dir_.file("data"); }

  Result run(const std::string& args) const { return shell("\"$XGRAD\" " + args); }
  // A shell script run in the temp dir, with $XGRAD naming the program.
  Result shell(const std::string& script) const { return test::run_shell(dir_.path(), script); }
  // Fast settings for the tiny set; `extra` overrides nothing, it adds.
  Result train(const std::string& extra) const {
    return run(
        "train --model lenet.json --data data --epochs 2 --batch 10 "
        "--optimizer adam --lr 0.01 --threads 1 " +
        extra);
  }

 private:
  TempDir dir_;
};

bool same_weights(const std::string& a, const std::string& b) {
  const Model ma = load_model(a), mb = load_model(b);
  if (ma.weights.size() != mb.weights.size()) return false;
  for (const auto& [name, t] : ma.weights) {
    const Tensor& u = mb.weights.at(name);
    if (u.size() != t.size() || std::memcmp(u.data(), t.data(), t.size() * sizeof(float)) != 0) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("xgrad train writes the model, its meta, a CSV log and an SVG plot") {
  Tiny t;
  const Result r = t.train("--out m.json --log curve.csv");
  INFO(r.out, r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out.find("epoch 1/2") != std::string::npos);
  CHECK(r.out.find("epoch 2/2") != std::string::npos);
  CHECK(r.out.find("test accuracy") != std::string::npos);
  const Model m = load_model(t.file("m.json"));
  CHECK(m.weights.size() == 10);
  CHECK(m.meta.at("training").at("optimizer").at("type") == "adam");
  CHECK(m.meta.at("training").at("epochs") == 2);
  const double acc = m.meta.at("test_accuracy").get<double>();
  CHECK(acc > 0.8);  // the tiny set's bars are easy; chance is 0.1
  const std::string csv = test::slurp(t.file("curve.csv"));
  CHECK(csv.rfind("epoch,lr,train_loss,train_accuracy,test_loss,test_accuracy,seconds\n1,0.01,", 0) == 0);
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 3);
  const std::string svg = test::slurp(t.file("curve.svg"));
  CHECK(svg.rfind("<svg", 0) == 0);
  CHECK(svg.find("polyline") != std::string::npos);
  CHECK(svg.find("accuracy") != std::string::npos);

  const Result e = t.run("eval --model m.json --data data");
  INFO(e.err);
  REQUIRE(e.status == 0);
  CHECK(e.out.find("on 40 test samples") != std::string::npos);
  CHECK(e.out.find("Ankle boot") != std::string::npos);
  CHECK(e.out.find("confusion matrix") != std::string::npos);
  char expected[64];
  std::snprintf(expected, sizeof expected, "accuracy %.4f", acc);
  CHECK(e.out.find(expected) != std::string::npos);  // eval agrees with training's final figure

  const Result p = t.run("predict --model m.json --images data/t10k-images-idx3-ubyte.gz --index 2:5");
  INFO(p.err);
  REQUIRE(p.status == 0);
  CHECK(std::count(p.out.begin(), p.out.end(), '\n') == 4);  // header + 3 images
  CHECK(p.out.find("\n2 ") != std::string::npos);
  CHECK(p.out.find("\n4 ") != std::string::npos);

  std::string pgm = "P5\n# a comment\n28 28\n255\n";
  const auto idx = load_fashion_mnist(t.data());
  pgm.append(reinterpret_cast<const char*>(idx.test.image(7)), 784);
  write_bytes(t.file("seven.pgm"), std::vector<uint8_t>(pgm.begin(), pgm.end()));
  const Result q = t.run("predict --model m.json --images seven.pgm");
  INFO(q.err);
  REQUIRE(q.status == 0);
  REQUIRE(std::count(q.out.begin(), q.out.end(), '\n') == 2);
  const Result same = t.run("predict --model m.json --images data/t10k-images-idx3-ubyte.gz --index 7");
  REQUIRE(same.status == 0);
  // The PGM holds test image 7: the same class, name and probability, only the index differs.
  CHECK(q.out.substr(q.out.find('\n') + 2) == same.out.substr(same.out.find('\n') + 2));
}

TEST_CASE("data_inputs: image and label by name, else the int32 input or the loss's target is the label") {
  GraphBuilder named("named");
  named.input("label", {-1}, DType::Int32);
  Value image = named.input("image", {-1, 4});
  named.output("loss", named.sum(image));
  CHECK(data_inputs(named.finish()).data == "image");

  GraphBuilder ids("ids-first");
  Value id = ids.input("class_id", {-1}, DType::Int32);  // declared before the data
  Value px = ids.input("pixels", {-1, 4});
  ids.output("loss", ids.softmax_cross_entropy(layers::dense(ids, "fc", px, 3), id));
  const DataInputs a = data_inputs(ids.finish());
  CHECK(a.data == "pixels");
  CHECK(a.label == "class_id");

  GraphBuilder reg("regression");
  Value target = reg.input("target", {-1, 2});  // float, declared first: the loss says it is the label
  Value features = reg.input("features", {-1, 4});
  reg.output("loss", reg.mse(layers::dense(reg, "fc", features, 2), target));
  const DataInputs r = data_inputs(reg.finish());
  CHECK(r.data == "features");
  CHECK(r.label == "target");

  GraphBuilder one("one-input");
  one.output("y", one.relu(one.input("x", {-1, 2})));
  CHECK(data_inputs(one.finish()).label.empty());
}

TEST_CASE("a model whose inputs have their own names (labels first) trains, evaluates and predicts") {
  Tiny t;
  GraphBuilder b("named-inputs");
  Value y = b.input("class_id", {-1}, DType::Int32);
  Value x = b.input("pixels", {-1, 1, 28, 28});
  Value logits = layers::dense(b, "fc", b.flatten(x), 10);
  b.output("logits", logits);
  b.output("loss", b.softmax_cross_entropy(logits, y));
  save_model(t.file("named.json"), b.finish(), nullptr, nlohmann::json::object());
  Result r = t.run("train --model named.json --data data --epochs 1 --batch 10 --threads 1 --out n.json");
  INFO(r.out, r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out.find("test accuracy") != std::string::npos);
  r = t.run("eval --model n.json --data data");
  REQUIRE(r.status == 0);
  CHECK(r.out.find("on 40 test samples") != std::string::npos);
  r = t.run("predict --model n.json --images data/t10k-images-idx3-ubyte.gz --index 0:2");
  REQUIRE(r.status == 0);
  CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 3);  // header + 2 images
}

TEST_CASE("Ctrl-C writes a checkpoint and exits 130; resuming ends with the weights of an unbroken run") {
  Tiny t;
  REQUIRE(t.train("--out whole.json").status == 0);
  for (int stop : {5, 12, 24}) {  // mid epoch 1, epoch 2, the very last step
    const std::string ck = "ck" + std::to_string(stop) + ".json";
    const Result r =
        t.train("--out part.json --checkpoint " + ck + " --interrupt-after " + std::to_string(stop));
    INFO(r.out, r.err);
    CHECK(r.status == 130);
    CHECK(r.out.find("interrupted at") != std::string::npos);
    const Result resumed = t.train("--out part.json --checkpoint " + ck + " --resume");
    INFO(resumed.out, resumed.err);
    REQUIRE(resumed.status == 0);
    CHECK(same_weights(t.file("whole.json"), t.file("part.json")));
  }
  const Result other = t.run(
      "train --model lenet.json --data data --epochs 2 --batch 10 --optimizer adam --lr 0.02 --out x.json "
      "--checkpoint ck5.json --resume");
  CHECK(other.status != 0);
  INFO(other.err);
  CHECK(other.err.find("optimizer.lr = 0.01, this run asks for 0.02; resume with the same settings") !=
        std::string::npos);
}

TEST_CASE("--augment: in the start line and the meta, changes the weights, and a Ctrl-C resume stays exact") {
  Tiny t;
  const Result plain = t.train("--out plain.json");
  REQUIRE(plain.status == 0);
  CHECK(plain.out.find("augmentation") == std::string::npos);
  const Result whole = t.train("--out whole.json --augment flip,shift=2");
  INFO(whole.out, whole.err);
  REQUIRE(whole.status == 0);
  CHECK(whole.out.find("2 epochs, augmentation flip,shift=2, 1 threads") != std::string::npos);
  CHECK(load_model(t.file("whole.json")).meta.at("training").at("augment") == "flip,shift=2");
  CHECK(load_model(t.file("plain.json")).meta.at("training").at("augment") == "none");
  CHECK_FALSE(same_weights(t.file("plain.json"), t.file("whole.json")));
  REQUIRE(
      t.train("--out part.json --augment flip,shift=2 --checkpoint ck.json --interrupt-after 15").status ==
      130);
  const Result other = t.train("--out part.json --augment flip --checkpoint ck.json --resume");
  CHECK(other.err.find("augment = \"flip,shift=2\", this run asks for \"flip\"") != std::string::npos);
  const Result resumed = t.train("--out part.json --augment flip,shift=2 --checkpoint ck.json --resume");
  INFO(resumed.err);
  REQUIRE(resumed.status == 0);
  CHECK(same_weights(t.file("whole.json"), t.file("part.json")));
}

TEST_CASE("a NaN loss stops xgrad train with the step and node, a non-zero exit and no model") {
  Tiny t;
  const Result r = t.run(
      "train --model lenet.json --data data --epochs 2 "
      "--batch 10 --lr 1e6 --threads 1 --out nan.json");
  INFO(r.out, r.err);
  CHECK(r.status == 1);
  CHECK(r.err.find("xgrad: error: training stopped: the ") != std::string::npos);
  CHECK(r.err.find("epoch 1, step ") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(t.file("nan.json")));
}

TEST_CASE("bad option values of train, eval and predict get a clear message") {
  Tiny t;
#define TRAIN "train --model lenet.json --data data "
  const std::pair<const char*, const char*> cases[] = {
      {TRAIN "--epochs 0", "--epochs must be >= 1, got 0"},
      {TRAIN "--batch -3", "--batch must be >= 1, got -3"},
      {TRAIN "--lr -1", "lr must be a finite number > 0, got -1"},
      {TRAIN "--optimizer rmsprop", "unknown optimizer \"rmsprop\""},
      {TRAIN "--momentum 1.5", "momentum must be in [0, 1), got 1.5"},
      {TRAIN "--nesterov", "Nesterov momentum needs momentum > 0"},
      {TRAIN "--optimizer adam --beta2 1", "beta2 must be in [0, 1), got 1"},
      {TRAIN "--schedule linear", "unknown learning-rate schedule \"linear\""},
      {TRAIN "--schedule step --gamma 0", "gamma must be in (0, 1]"},
      {TRAIN "--resume", "--resume needs --checkpoint FILE"},
      {TRAIN "--checkpoint-every -1", "--checkpoint-every must be >= 0, got -1"},
      {TRAIN "--threads -2", "--threads must be >= 0, got -2"},
      {TRAIN "--train-samples -1", "--train-samples must be >= 0, got -1"},
      {TRAIN "--out ''", "--out must name a file"},
      {TRAIN "--augment rotate", "--augment: augmentation \"rotate\" is unknown (valid: flip, shift=N, none"},
      {TRAIN "--augment shift=-2", "--augment: augmentation \"shift=-2\": the shift must be a whole number"},
      {TRAIN "--augment shift=28",
       "augmentation shift 28 is not below the image size 28x28 of input \"image\""},
      {TRAIN "--checkpoint none.json --resume", "none.json"},
      {"train --model missing.json --data data", "missing.json"},
      {"train --model lenet.json --data nowhere", "nowhere"},
      {"eval --model missing.json --data data", "missing.json"},
      {"eval --batch 0", "--batch must be >= 1, got 0"},
      {"predict --model missing.json --images x.pgm", "missing.json"},
  };
#undef TRAIN
  for (const auto& [args, message] : cases) {
    const Result r = t.run(args);
    INFO(args, " -> ", r.err);
    CHECK(r.status != 0);
    CHECK(r.err.find("xgrad: error: ") != std::string::npos);
    CHECK(r.err.find(message) != std::string::npos);
  }
}

TEST_CASE("[slow] LeNet-relu with Adam learns the real Fashion-MNIST: 1 epoch on 12000 samples beats 0.70") {
  const std::string dir = default_data_dir();
  if (!std::filesystem::exists(dir + "/t10k-labels-idx1-ubyte.gz") &&
      !std::filesystem::exists(dir + "/t10k-labels-idx1-ubyte")) {
    MESSAGE("Fashion-MNIST not installed at " << dir << "; skipped");
    return;
  }
  TempDir d;
  save_model(d.file("relu.json"), lenet("relu"), nullptr, nlohmann::json::object());
  REQUIRE(test::run_xgrad(d.path(),
                          "train --model relu.json --optimizer adam --lr 0.001 --batch 32 --epochs 1 "
                          "--train-samples 12000 --test-samples 2000 --out out.json")
              .status == 0);
  const double acc = load_model(d.file("out.json")).meta.at("test_accuracy").get<double>();
  MESSAGE("test accuracy after 1 epoch on 12000 samples: " << acc);
  CHECK(acc > 0.70);
}

TEST_CASE("built-in model names work from any directory; the default is the reference LeNet") {
  Tiny t;  // runs in a temp dir, away from the checkout's models/
  const Result r = t.run("train --data data --epochs 1 --batch 10 --threads 1 --out d.json");
  INFO(r.out, r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out.find("training lenet (") != std::string::npos);
  CHECK(load_model(t.file("d.json")).graph.name() == "lenet");
  const Result relu =
      t.run("train --model lenet-relu --data data --epochs 1 --batch 10 --threads 1 --out r.json");
  INFO(relu.err);
  REQUIRE(relu.status == 0);
  const Model trained_relu = load_model(t.file("r.json"));
  CHECK(trained_relu.graph.node(trained_relu.graph.id("act1")).op->type() == "relu");
  const Result summary = t.run("summary --model mlp");
  CHECK(summary.status == 0);
  CHECK(summary.out.find("fc1") != std::string::npos);
  const Result typo = t.run("train --model lenett --data data");
  CHECK(typo.status != 0);
  CHECK(typo.err.find("lenett: no such model file, nor a built-in model (lenet, lenet-relu, mlp, vgg, "
                      "resnet, mobilenet)") != std::string::npos);
}

TEST_CASE("[slow] kill -9 during training, then --resume: exactly the weights of an uninterrupted run") {
  Tiny t;
  const std::string train =
      "\"$XGRAD\" train --model lenet.json --data data --epochs 10 --batch 10 --optimizer adam "
      "--lr 0.01 --threads 1 --checkpoint-every 1";
  REQUIRE(t.shell(train + " --out whole.json --checkpoint whole-ck.json").status == 0);
  // SIGKILL as soon as the first checkpoint is there: no handler runs, whatever was being written
  // stays as it is (often the next checkpoint).
  const Result killed = t.shell(train +
                                " --checkpoint ck.json --out part.json >/dev/null & pid=$!; i=0; "
                                "while [ ! -s ck.json ] && [ $i -lt 3000 ]; do sleep 0.01; i=$((i+1)); done; "
                                "kill -9 $pid; wait $pid; echo $?");
  INFO(killed.out, killed.err);
  REQUIRE(killed.out == "137\n");  // killed, not finished
  CHECK_FALSE(fs::exists(t.file("part.json")));
  for (const auto& e : fs::directory_iterator(t.file("")))
    CHECK(e.path().filename().string().find(".tmp") == std::string::npos);  // no temp file left
  const Result resumed = t.shell(train + " --checkpoint ck.json --out part.json --resume");
  INFO(resumed.out, resumed.err);
  REQUIRE(resumed.status == 0);
  CHECK(same_weights(t.file("whole.json"), t.file("part.json")));
}
