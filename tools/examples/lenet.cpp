// The seed notebook's LeNet in C++: Fashion-MNIST, sigmoid LeNet, SGD lr 0.9, batch 32, 5 epochs,
// then the test loss and accuracy. Usage: lenet [DATA_DIR] [TRAIN_SAMPLES] [EPOCHS] (default: the
// whole training set, 5 epochs; DATA_DIR as `xgrad train --data`).
#include <cstdio>
#include <string>

#include "core/dataset.h"
#include "graph/builder.h"
#include "graph/data.h"
#include "graph/network.h"
#include "tools/examples/example_main.h"

using namespace xgrad;

int example(int argc, char** argv) {
  // Data: 28x28 grey images in [0, 1], labels 0..9.
  FashionMnist data = load_fashion_mnist(argc > 1 ? argv[1] : "");
  BatchSource train = take(batches_of(data.train), argc > 2 ? std::stoul(argv[2]) : data.train.size());
  BatchSource test = batches_of(data.test);

  // Model: two conv + max-pool blocks, three dense layers, sigmoid activations.
  GraphBuilder b("lenet");
  Value x = b.input("image", {-1, 1, 28, 28});
  Value h = b.sigmoid(layers::conv2d(b, "conv1", x, 6, 5));
  h = b.max_pool2d(h, PoolOptions(2).stride(2).padding(Pad::Same));
  h = b.sigmoid(layers::conv2d(b, "conv2", h, 16, 5));
  h = b.max_pool2d(h, PoolOptions(2).stride(2).padding(Pad::Same));
  h = b.flatten(h);
  h = b.sigmoid(layers::dense(b, "fc1", h, 120));
  h = b.sigmoid(layers::dense(b, "fc2", h, 84));
  Value logits = layers::dense(b, "fc3", h, 10);
  b.output("logits", logits);
  b.output("loss", b.softmax_cross_entropy(logits, b.input("label", {-1}, DType::Int32)));

  // Compile and train.
  Network model(b.finish());
  model.compile(sgd(0.9));
  model.fit(train, FitOptions().batch(32).epochs(argc > 3 ? std::stoi(argv[3]) : 5));

  // Evaluate: [loss, accuracy] on the test set.
  Evaluation e = model.evaluate(test, 256);
  std::printf("[%.4f, %.4f]\n", e.loss, e.accuracy);
  return 0;
}
