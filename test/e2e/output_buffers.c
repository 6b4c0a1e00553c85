/* Runs a model whose outputs are a constant (y), an input passed through
 * (z), and one sum exposed twice (w and w2, one buffer), three times in a
 * row, printing every output each time. Built with ASan/LSan: results the
 * API hands out as they are, and those it copies, must be freed exactly
 * once, on the next run or at destroy. */
#include <stdint.h>
#include <stdio.h>

#include "outs.h"

int main(void) {
  outs_instance *m;
  if (outs_create(&m) != QCC_OK)
    return 1;
  float x[6];
  int64_t shape_x[2] = {2, 3};
  const void *in[1] = {x};
  const int64_t *shapes[1] = {shape_x};
  for (int run = 0; run < 3; ++run) {
    for (int i = 0; i < 6; ++i)
      x[i] = (float)(10 * run + i);
    if (outs_run(m, in, shapes) != QCC_OK) {
      printf("run %d failed: %s\n", run, outs_last_error(m));
      return 1;
    }
    /* The caller may overwrite its input after a run: no output may
     * alias it. */
    for (int i = 0; i < 6; ++i)
      x[i] = -1.0f;
    for (int o = 0; o < 4; ++o) {
      const void *data;
      const int64_t *shape;
      if (outs_output(m, o, &data, &shape) != QCC_OK)
        return 1;
      printf("run %d out %d:", run, o);
      for (int i = 0; i < shape[0] * shape[1]; ++i)
        printf(" %g", ((const float *)data)[i]);
      printf("\n");
    }
  }
  outs_destroy(m);
  return 0;
}
