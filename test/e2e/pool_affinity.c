/* Which CPUs the pool's workers may run on. With as many threads as the
 * process has CPUs (at most 4 here), worker k must be pinned to the k-th
 * allowed CPU; with one thread more than CPUs (when that is within
 * QCC_MAX_THREADS), no worker may be pinned.
 * Prints "ok <threads pinned> <threads unpinned>" (0 for a check that did
 * not apply) or the first failure. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "runtime.h"

typedef struct {
  cpu_set_t masks[QCC_MAX_THREADS];
  int seen[QCC_MAX_THREADS]; /* atomic */
} record;

static void note(void *data, int64_t begin, int64_t end, int thread) {
  (void)begin;
  (void)end;
  record *r = data;
  if (!__atomic_load_n(&r->seen[thread], __ATOMIC_ACQUIRE)) {
    sched_getaffinity(0, sizeof r->masks[thread], &r->masks[thread]);
    __atomic_store_n(&r->seen[thread], 1, __ATOMIC_RELEASE);
  }
  /* Long enough chunks that a worker woken late still finds some. */
  struct timespec t = {0, 200000};
  nanosleep(&t, NULL);
}

/* Runs regions until every thread index has run a chunk; 0 if some never did. */
static int collect(int threads, record *r) {
  memset(r, 0, sizeof *r);
  qcc_rt_context ctx;
  qcc_rt_context_init(&ctx);
  qcc_rt_context_set_threads(&ctx, threads);
  int all = 0;
  for (int tries = 0; tries < 500 && !all; ++tries) {
    qcc_rt_parallel_for(&ctx, 4 * threads, 1, note, r);
    all = 1;
    for (int t = 0; t < threads; ++t)
      all &= __atomic_load_n(&r->seen[t], __ATOMIC_ACQUIRE);
  }
  qcc_rt_context_release(&ctx);
  return all;
}

int main(void) {
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) {
    printf("sched_getaffinity failed\n");
    return 1;
  }
  int cpus[CPU_SETSIZE], n = 0;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &allowed))
      cpus[n++] = c;
  static record r;
  /* One CPU leaves nothing to pin: only the oversubscribed check runs. */
  const int pinned = n < 2 ? 0 : n < 4 ? n : 4;
  if (pinned && !collect(pinned, &r)) {
    printf("a worker never ran with %d threads\n", pinned);
    return 1;
  }
  for (int t = 1; t < pinned; ++t) {
    cpu_set_t want;
    CPU_ZERO(&want);
    CPU_SET(cpus[t], &want);
    if (!CPU_EQUAL(&r.masks[t], &want)) {
      printf("worker %d of %d threads: not pinned to CPU %d alone\n", t, pinned, cpus[t]);
      return 1;
    }
  }
  /* Past QCC_MAX_THREADS CPUs no thread count oversubscribes them. */
  const int unpinned = n + 1 <= QCC_MAX_THREADS ? n + 1 : 0;
  if (unpinned && !collect(unpinned, &r)) {
    printf("a worker never ran with %d threads\n", unpinned);
    return 1;
  }
  for (int t = 1; t < unpinned; ++t)
    if (!CPU_EQUAL(&r.masks[t], &allowed)) {
      printf("worker %d of %d threads on %d CPUs: pinned\n", t, unpinned, n);
      return 1;
    }
  printf("ok %d %d\n", pinned, unpinned);
  return 0;
}
