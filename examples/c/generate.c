/* Greedy text generation with a compiled Llama-style decoder.
 *
 *   qcc llama.onnx -o build/llama --name=llama
 *   cc -std=c99 generate.c -Ibuild build/libllama.a -lm -o generate
 *   ./generate 5 17 42 7      # prompt token ids; prints 8 generated ids
 *
 * The prompt is run once (prefill); each new token then runs alone against
 * the key/value cache the previous step returned. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llama.h"

#define NEW_TOKENS 8

static void check(llama_instance *m, int status) {
  if (status != QCC_OK) {
    fprintf(stderr, "error: %s\n", llama_last_error(m));
    exit(1);
  }
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s TOKEN_ID...\n", argv[0]);
    return 2;
  }
  llama_instance *m;
  if (llama_create(&m) != QCC_OK)
    return 1;

  /* Inputs: input_ids, attention_mask, position_ids, then past key/value
   * per layer; outputs: logits, then present key/value per layer. */
  int n_in = llama_num_inputs(), n_out = llama_num_outputs();
  int layers = (n_in - 3) / 2;
  int64_t kv_heads = llama_input_dim(3, 1), head_dim = llama_input_dim(3, 3);
  int64_t vocab = llama_output_dim(0, 2);

  int64_t seq = argc - 1, past = 0;
  int64_t *ids = malloc(sizeof(int64_t) * seq);
  for (int64_t i = 0; i < seq; ++i)
    ids[i] = atoll(argv[1 + i]);
  float **cache = calloc(2 * layers, sizeof(float *));

  for (int step = 0; step < NEW_TOKENS; ++step) {
    int64_t total = past + seq;
    int64_t *mask = malloc(sizeof(int64_t) * total), *pos = malloc(sizeof(int64_t) * seq);
    for (int64_t i = 0; i < total; ++i)
      mask[i] = 1;
    for (int64_t i = 0; i < seq; ++i)
      pos[i] = past + i;
    const void **inputs = calloc(n_in, sizeof(void *));
    const int64_t **shapes = calloc(n_in, sizeof(int64_t *));
    int64_t ids_shape[2] = {1, seq}, mask_shape[2] = {1, total};
    int64_t kv_shape[4] = {1, kv_heads, past, head_dim};
    inputs[0] = ids; shapes[0] = ids_shape;
    inputs[1] = mask; shapes[1] = mask_shape;
    inputs[2] = pos; shapes[2] = ids_shape;
    for (int i = 0; i < 2 * layers; ++i) {
      inputs[3 + i] = cache[i];
      shapes[3 + i] = kv_shape;
    }
    check(m, llama_run(m, inputs, shapes));

    /* Greedy choice from the last position's logits. */
    const void *data;
    const int64_t *shape;
    check(m, llama_output(m, 0, &data, &shape));
    const float *last = (const float *)data + (shape[1] - 1) * vocab;
    int64_t best = 0;
    for (int64_t v = 1; v < vocab; ++v)
      if (last[v] > last[best])
        best = v;
    printf("%lld%s", (long long)best, step + 1 < NEW_TOKENS ? " " : "\n");

    /* The present cache becomes the next step's past. */
    for (int i = 0; i < 2 * layers; ++i) {
      check(m, llama_output(m, 1 + i, &data, &shape));
      size_t bytes = sizeof(float) * shape[0] * shape[1] * shape[2] * shape[3];
      free(cache[i]);
      cache[i] = malloc(bytes ? bytes : 1);
      memcpy(cache[i], data, bytes);
    }
    past = total;
    seq = 1;
    ids[0] = best;
    free(mask); free(pos); free(inputs); free(shapes);
  }
  for (int i = 0; i < 2 * layers; ++i)
    free(cache[i]);
  free(cache);
  free(ids);
  llama_destroy(m);
  (void)n_out;
  return 0;
}
