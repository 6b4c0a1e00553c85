/* Stress for the runtime's thread pool: many parallel regions of varying
 * size and grain, some after a pause long enough for the workers to fall
 * asleep, with more threads than cores so workers wake late. Every index
 * of every region must be run exactly once, by a thread index in range,
 * and the call must not return before all of its chunks are done.
 * Prints "ok <regions>" or the first failure; built with and without
 * ThreadSanitizer by the test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime.h"

enum { MAX_N = 4096 };

typedef struct {
  int counts[MAX_N]; /* atomic */
  int threads;
  int bad_thread;    /* atomic */
} region;

static void mark(void *data, int64_t begin, int64_t end, int thread) {
  region *r = data;
  if (thread < 0 || thread >= r->threads)
    __atomic_store_n(&r->bad_thread, 1, __ATOMIC_RELAXED);
  for (int64_t i = begin; i < end; ++i)
    __atomic_add_fetch(&r->counts[i], 1, __ATOMIC_RELAXED);
}

static void nap(long ns) {
  struct timespec t = {0, ns};
  nanosleep(&t, NULL);
}

int main(int argc, char **argv) {
  int regions = argc > 1 ? atoi(argv[1]) : 20000;
  static region r;
  uint32_t seed = 1;
  for (int threads = 2; threads <= 5; ++threads) {
    qcc_rt_context ctx;
    qcc_rt_context_init(&ctx);
    qcc_rt_context_set_threads(&ctx, threads);
    for (int i = 0; i < regions / 4; ++i) {
      seed = seed * 1664525u + 1013904223u;
      int64_t n = 1 + (seed >> 8) % MAX_N, grain = 1 + (seed >> 20) % 64;
      if (i % 500 == 0)
        nap(3000000); /* workers go to sleep */
      memset(r.counts, 0, sizeof r.counts);
      r.threads = threads;
      qcc_rt_parallel_for(&ctx, n, grain, mark, &r);
      for (int64_t k = 0; k < MAX_N; ++k) {
        int want = k < n ? 1 : 0, got = __atomic_load_n(&r.counts[k], __ATOMIC_RELAXED);
        if (got != want) {
          printf("threads %d region %d (n %lld grain %lld): index %lld ran %d times\n", threads,
                 i, (long long)n, (long long)grain, (long long)k, got);
          return 1;
        }
      }
      if (r.bad_thread) {
        printf("threads %d region %d: thread index out of range\n", threads, i);
        return 1;
      }
    }
    qcc_rt_context_release(&ctx);
  }
  printf("ok %d\n", regions);
  return 0;
}
