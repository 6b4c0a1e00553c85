/* Runs a compiled model on raw little-endian input files and writes raw
 * output files; the model's prefix comes from -DMODEL=<name>.
 *
 *   raw_runner OUTDIR FILE RANK DIM... [FILE RANK DIM...]...
 *
 * Prints one line per output: "<index> <dim> <dim> ...". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define API(fn) CAT(MODEL, CAT(_, fn))
#define STR2(x) #x
#define STR(x) STR2(x)
#include STR(MODEL.h)

static size_t dtype_size(int d) {
  switch (d) {
  case 1: case 6: case 12: return 4;
  case 2: case 3: case 9: return 1;
  case 4: case 5: case 10: case 16: return 2;
  default: return 8;
  }
}

int main(int argc, char **argv) {
  int n = API(num_inputs)();
  const void **inputs = calloc(n + 1, sizeof(void *));
  const int64_t **shapes = calloc(n + 1, sizeof(int64_t *));
  int a = 2;
  for (int i = 0; i < n; ++i) {
    if (a + 1 >= argc)
      return 2;
    const char *file = argv[a++];
    int rank = atoi(argv[a++]);
    int64_t *shape = calloc(rank + 1, sizeof(int64_t));
    size_t count = 1;
    for (int d = 0; d < rank; ++d) {
      shape[d] = atoll(argv[a++]);
      count *= (size_t)shape[d];
    }
    size_t bytes = count * dtype_size(API(input_dtype)(i));
    void *data = malloc(bytes + 1);
    FILE *f = fopen(file, "rb");
    if (!f || fread(data, 1, bytes, f) != bytes)
      return 3;
    fclose(f);
    inputs[i] = data;
    shapes[i] = shape;
  }
  API(instance) *m;
  if (API(create)(&m) || API(run)(m, inputs, shapes)) {
    fprintf(stderr, "error: %s\n", API(last_error)(m));
    return 1;
  }
  for (int i = 0; i < API(num_outputs)(); ++i) {
    const void *data;
    const int64_t *shape;
    API(output)(m, i, &data, &shape);
    size_t count = 1;
    printf("%d", i);
    for (int d = 0; d < API(output_rank)(i); ++d) {
      printf(" %lld", (long long)shape[d]);
      count *= (size_t)shape[d];
    }
    printf("\n");
    char path[4096];
    snprintf(path, sizeof path, "%s/out%d.bin", argv[1], i);
    FILE *f = fopen(path, "wb");
    fwrite(data, dtype_size(API(output_dtype)(i)), count, f);
    fclose(f);
  }
  API(destroy)(m);
  return 0;
}
