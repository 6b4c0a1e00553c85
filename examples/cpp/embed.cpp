// Sentence embeddings with the compiled MiniLM encoder, from C++.
//
//   qcc minilm.onnx -o build/minilm --name=minilm
//   c++ -std=c++17 embed.cpp -Ibuild build/libminilm.so -o embed
//   ./embed "101 1037 2158 102" "101 2158 102"   # token ids per sentence
//
// Prints each embedding's L2 norm and the pairwise cosine similarities.
#include <cmath>
#include <cstdio>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "minilm.h"

namespace {
// Owns an instance; turns error codes into exceptions.
class Encoder {
public:
  Encoder() {
    minilm_instance *raw = nullptr;
    if (minilm_create(&raw) != QCC_OK)
      throw std::runtime_error("cannot create a minilm instance");
    instance_.reset(raw);
  }

  std::vector<float> embed(const std::vector<int64_t> &ids) {
    std::vector<int64_t> mask(ids.size(), 1), types(ids.size(), 0);
    int64_t shape[2] = {1, static_cast<int64_t>(ids.size())};
    const void *inputs[3] = {ids.data(), mask.data(), types.data()};
    const int64_t *shapes[3] = {shape, shape, shape};
    if (minilm_run(instance_.get(), inputs, shapes) != QCC_OK)
      throw std::runtime_error(minilm_last_error(instance_.get()));
    // Output 1 is the sentence embedding, [batch, 384].
    const void *data;
    const int64_t *out_shape;
    minilm_output(instance_.get(), 1, &data, &out_shape);
    const float *f = static_cast<const float *>(data);
    return std::vector<float>(f, f + out_shape[1]);
  }

private:
  struct Destroy {
    void operator()(minilm_instance *m) const { minilm_destroy(m); }
  };
  std::unique_ptr<minilm_instance, Destroy> instance_;
};

double dot(const std::vector<float> &a, const std::vector<float> &b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i)
    s += double(a[i]) * b[i];
  return s;
}
} // namespace

int main(int argc, char **argv) {
  try {
    Encoder encoder;
    std::vector<std::vector<float>> embeddings;
    for (int i = 1; i < argc; ++i) {
      std::istringstream in(argv[i]);
      std::vector<int64_t> ids;
      for (int64_t id; in >> id;)
        ids.push_back(id);
      embeddings.push_back(encoder.embed(ids));
      std::printf("norm %d %.6f\n", i - 1, std::sqrt(dot(embeddings.back(), embeddings.back())));
    }
    for (size_t i = 0; i < embeddings.size(); ++i)
      for (size_t j = i + 1; j < embeddings.size(); ++j)
        std::printf("cos %zu %zu %.6f\n", i, j, dot(embeddings[i], embeddings[j]));
  } catch (const std::exception &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
