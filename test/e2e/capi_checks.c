/* Exercises the artifact C API's argument validation on a model with inputs
 * a: float [n, 8] and b: float [n, 8] (n symbolic), output y = a + b.
 * Prints one line per check: the status and the last error message. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pair.h"

static void report(const char *what, pair_instance *m, int status) {
  printf("%s: %d %s\n", what, status, status ? pair_last_error(m) : "ok");
}

int main(void) {
  pair_instance *m;
  if (pair_create(&m) != QCC_OK)
    return 1;
  float a[16], b[16], y[16];
  for (int i = 0; i < 16; ++i) {
    a[i] = (float)i;
    b[i] = 100.0f;
  }
  int64_t s2[2] = {2, 8}, s3[2] = {3, 8}, bad[2] = {2, 7}, neg[2] = {-1, 8};
  const void *in[2] = {a, b};
  const int64_t *ok_shapes[2] = {s2, s2};
  const int64_t *mismatch[2] = {s2, s3};
  const int64_t *static_bad[2] = {s2, bad};
  const int64_t *negative[2] = {neg, neg};
  const void *null_data[2] = {a, NULL};

  report("ok", m, pair_run(m, in, ok_shapes));
  const void *out;
  const int64_t *shape;
  pair_output(m, 0, &out, &shape);
  printf("shape %lld %lld first %g last %g\n", (long long)shape[0], (long long)shape[1],
         ((const float *)out)[0], ((const float *)out)[15]);
  report("symbolic mismatch", m, pair_run(m, in, mismatch));
  report("static dim", m, pair_run(m, in, static_bad));
  report("negative dim", m, pair_run(m, in, negative));
  report("null data", m, pair_run(m, null_data, ok_shapes));
  report("null inputs", m, pair_run(m, NULL, ok_shapes));
  void *outs[1] = {y};
  size_t small[1] = {8}, enough[1] = {sizeof y};
  report("small buffer", m, pair_run_into(m, in, ok_shapes, outs, small));
  report("run_into", m, pair_run_into(m, in, ok_shapes, outs, enough));
  printf("into %g %g\n", y[0], y[15]);
  report("threads 0", m, pair_set_num_threads(m, 0));
  printf("bad index %s %d\n", pair_input_name(7) ? "name" : "null", pair_input_rank(-1));
  printf("dim name %s %lld\n", pair_input_dim_name(0, 0), (long long)pair_input_dim(0, 0));
  pair_destroy(m);
  return 0;
}
