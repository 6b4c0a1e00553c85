/*===- model_api.c - the C API every qcc artifact exposes ------------------===
 *
 * Compiled to LLVM bitcode when qcc is built and linked into each model's
 * object, where the compiler renames the qcc_model_ prefix to the model's
 * --name and provides the qcc_model_inputs/outputs tables and the
 * qcc_model_invoke thunk that calls the generated code.
 *
 * Only libc is used: no global mutable state, every call validates its
 * arguments and reports errors through the instance.
 *===----------------------------------------------------------------------===*/
#include <stdarg.h>

#include "runtime.h"

int strcmp(const char *, const char *);
int vsnprintf(char *, size_t, const char *, va_list);

typedef struct {
  const char *name;
  int32_t dtype; /* ONNX TensorProto numbering */
  int32_t rank;
  const int64_t *dims;           /* -1 for symbolic dims */
  const char *const *dim_names;  /* NULL entries for static dims */
} qcc_tensor_info;

extern const qcc_tensor_info qcc_model_inputs[];
extern const qcc_tensor_info qcc_model_outputs[];
extern const int32_t qcc_model_input_count;
extern const int32_t qcc_model_output_count;
/* results: the generated entry point's result descriptor(s); args: one
 * pointer per input descriptor. */
extern void qcc_model_invoke(qcc_rt_context *ctx, void *results, void **args);

enum { QCC_OK = 0, QCC_ERROR_INVALID_ARGUMENT = 1, QCC_ERROR_OUT_OF_MEMORY = 2 };

typedef struct qcc_model_instance {
  char error[512];
  qcc_rt_context ctx;
  int has_outputs;
  /* Owned outputs of the last run. */
  void **out_data;
  int64_t *out_shapes; /* concatenated */
  void **out_alloc;
} qcc_model_instance;

static size_t dtype_size(int32_t dtype) {
  switch (dtype) {
  case 1: case 6: case 12: return 4;  /* float, int32, uint32 */
  case 2: case 3: case 9: return 1;   /* uint8, int8, bool */
  case 4: case 5: case 10: case 16: return 2;
  case 7: case 11: case 13: return 8; /* int64, double, uint64 */
  default: return 0;
  }
}

static int fail(qcc_model_instance *inst, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(inst->error, sizeof inst->error, fmt, ap);
  va_end(ap);
  return code;
}

static int out_offset(int i) {
  int off = 0;
  for (int k = 0; k < i; ++k)
    off += qcc_model_outputs[k].rank;
  return off;
}

static void release_outputs(qcc_model_instance *inst) {
  if (inst->out_alloc)
    for (int i = 0; i < qcc_model_output_count; ++i)
      free(inst->out_alloc[i]);
  free(inst->out_alloc);
  free(inst->out_data);
  free(inst->out_shapes);
  inst->out_alloc = NULL;
  inst->out_data = NULL;
  inst->out_shapes = NULL;
  inst->has_outputs = 0;
}

int qcc_model_create(qcc_model_instance **out) {
  if (!out)
    return QCC_ERROR_INVALID_ARGUMENT;
  qcc_model_instance *inst = calloc(1, sizeof *inst);
  if (!inst)
    return QCC_ERROR_OUT_OF_MEMORY;
  qcc_rt_context_init(&inst->ctx);
  qcc_rt_context_set_threads(&inst->ctx, qcc_rt_default_threads());
  *out = inst;
  return QCC_OK;
}

void qcc_model_destroy(qcc_model_instance *inst) {
  if (!inst)
    return;
  release_outputs(inst);
  qcc_rt_context_release(&inst->ctx);
  free(inst);
}

const char *qcc_model_last_error(const qcc_model_instance *inst) {
  return inst ? inst->error : "null instance";
}

int qcc_model_set_num_threads(qcc_model_instance *inst, int n) {
  if (!inst)
    return QCC_ERROR_INVALID_ARGUMENT;
  if (n < 1)
    return fail(inst, QCC_ERROR_INVALID_ARGUMENT,
                "thread count must be at least 1, got %d", n);
  if (n > QCC_MAX_THREADS)
    return fail(inst, QCC_ERROR_INVALID_ARGUMENT,
                "thread count must be at most %d, got %d", QCC_MAX_THREADS, n);
  qcc_rt_context_set_threads(&inst->ctx, n);
  return QCC_OK;
}

int qcc_model_num_inputs(void) { return qcc_model_input_count; }
int qcc_model_num_outputs(void) { return qcc_model_output_count; }

static const qcc_tensor_info *info(int output, int i) {
  if (output)
    return i >= 0 && i < qcc_model_output_count ? &qcc_model_outputs[i] : NULL;
  return i >= 0 && i < qcc_model_input_count ? &qcc_model_inputs[i] : NULL;
}

const char *qcc_model_input_name(int i) { const qcc_tensor_info *t = info(0, i); return t ? t->name : NULL; }
const char *qcc_model_output_name(int i) { const qcc_tensor_info *t = info(1, i); return t ? t->name : NULL; }
int qcc_model_input_dtype(int i) { const qcc_tensor_info *t = info(0, i); return t ? t->dtype : -1; }
int qcc_model_output_dtype(int i) { const qcc_tensor_info *t = info(1, i); return t ? t->dtype : -1; }
int qcc_model_input_rank(int i) { const qcc_tensor_info *t = info(0, i); return t ? t->rank : -1; }
int qcc_model_output_rank(int i) { const qcc_tensor_info *t = info(1, i); return t ? t->rank : -1; }

static int64_t dim_of(const qcc_tensor_info *t, int d) {
  return t && d >= 0 && d < t->rank ? t->dims[d] : -2;
}
int64_t qcc_model_input_dim(int i, int d) { return dim_of(info(0, i), d); }
int64_t qcc_model_output_dim(int i, int d) { return dim_of(info(1, i), d); }
const char *qcc_model_input_dim_name(int i, int d) {
  const qcc_tensor_info *t = info(0, i);
  return t && d >= 0 && d < t->rank ? t->dim_names[d] : NULL;
}
const char *qcc_model_output_dim_name(int i, int d) {
  const qcc_tensor_info *t = info(1, i);
  return t && d >= 0 && d < t->rank ? t->dim_names[d] : NULL;
}

/* Checks input shapes against static dims and symbolic-dim consistency. */
static int check_inputs(qcc_model_instance *inst, const void *const *inputs,
                        const int64_t *const *shapes) {
  if (qcc_model_input_count > 0 && (!inputs || !shapes))
    return fail(inst, QCC_ERROR_INVALID_ARGUMENT, "inputs and input_shapes must not be NULL");
  for (int i = 0; i < qcc_model_input_count; ++i) {
    const qcc_tensor_info *t = &qcc_model_inputs[i];
    if (!shapes[i] && t->rank > 0)
      return fail(inst, QCC_ERROR_INVALID_ARGUMENT, "input %d ('%s'): shape is NULL", i, t->name);
    int64_t n = 1;
    for (int d = 0; d < t->rank; ++d) {
      int64_t v = shapes[i][d];
      if (v < 0 || v > ((int64_t)1 << 40))
        return fail(inst, QCC_ERROR_INVALID_ARGUMENT,
                    "input %d ('%s'): dim %d is %lld, out of range", i, t->name, d, (long long)v);
      if (t->dims[d] >= 0 && v != t->dims[d])
        return fail(inst, QCC_ERROR_INVALID_ARGUMENT,
                    "input %d ('%s'): dim %d must be %lld, got %lld", i, t->name, d,
                    (long long)t->dims[d], (long long)v);
      /* Same symbolic name, same size. */
      if (t->dim_names[d])
        for (int j = 0; j <= i; ++j)
          for (int e = 0; e < qcc_model_inputs[j].rank; ++e) {
            if ((j == i && e >= d) || !qcc_model_inputs[j].dim_names[e] ||
                strcmp(qcc_model_inputs[j].dim_names[e], t->dim_names[d]) != 0)
              continue;
            if (shapes[j][e] != v)
              return fail(inst, QCC_ERROR_INVALID_ARGUMENT,
                          "input %d ('%s') dim %d is %lld but dim '%s' is %lld in input %d ('%s')",
                          i, t->name, d, (long long)v, t->dim_names[d], (long long)shapes[j][e], j,
                          qcc_model_inputs[j].name);
          }
      n *= v;
    }
    if (n > 0 && !inputs[i])
      return fail(inst, QCC_ERROR_INVALID_ARGUMENT, "input %d ('%s'): data is NULL", i, t->name);
  }
  return QCC_OK;
}

int qcc_model_run(qcc_model_instance *inst, const void *const *inputs,
                  const int64_t *const *input_shapes) {
  if (!inst)
    return QCC_ERROR_INVALID_ARGUMENT;
  inst->error[0] = 0;
  int status = check_inputs(inst, inputs, input_shapes);
  if (status)
    return status;
  release_outputs(inst);

  /* Memref descriptors: {allocated, aligned, offset, sizes[r], strides[r]}. */
  int nin = qcc_model_input_count, nout = qcc_model_output_count;
  int64_t *descs = NULL, *results = NULL;
  void **args = NULL;
  size_t in_words = 0, out_words = 0;
  for (int i = 0; i < nin; ++i)
    in_words += 3 + 2 * (size_t)qcc_model_inputs[i].rank;
  for (int i = 0; i < nout; ++i)
    out_words += 3 + 2 * (size_t)qcc_model_outputs[i].rank;
  descs = calloc(in_words + 1, sizeof(int64_t));
  results = calloc(out_words + 1, sizeof(int64_t));
  args = calloc((size_t)nin + 1, sizeof(void *));
  inst->out_data = calloc((size_t)nout + 1, sizeof(void *));
  inst->out_alloc = calloc((size_t)nout + 1, sizeof(void *));
  inst->out_shapes = calloc((size_t)out_offset(nout) + 1, sizeof(int64_t));
  if (!descs || !results || !args || !inst->out_data || !inst->out_alloc || !inst->out_shapes) {
    free(descs); free(results); free(args);
    release_outputs(inst);
    return fail(inst, QCC_ERROR_OUT_OF_MEMORY, "out of memory");
  }
  int64_t *p = descs;
  for (int i = 0; i < nin; ++i) {
    int r = qcc_model_inputs[i].rank;
    args[i] = p;
    p[0] = p[1] = (int64_t)(intptr_t)inputs[i];
    p[2] = 0;
    int64_t stride = 1;
    for (int d = r - 1; d >= 0; --d) {
      p[3 + d] = input_shapes[i][d];
      p[3 + r + d] = stride;
      stride *= input_shapes[i][d];
    }
    p += 3 + 2 * r;
  }
  qcc_model_invoke(&inst->ctx, results, args);

  /* Results become owned outputs, packed row-major: adopted or copied. */
  int64_t *q = results;
  for (int i = 0; i < nout; ++i) {
    const qcc_tensor_info *t = &qcc_model_outputs[i];
    int r = t->rank;
    char *base = (char *)(intptr_t)q[1];
    size_t esize = dtype_size(t->dtype);
    int64_t *shape = inst->out_shapes + out_offset(i);
    int64_t n = 1;
    int contiguous = 1;
    int64_t expect = 1;
    for (int d = r - 1; d >= 0; --d) {
      shape[d] = q[3 + d];
      n *= q[3 + d];
      if (q[3 + d] != 1 && q[3 + r + d] != expect)
        contiguous = 0;
      expect *= q[3 + d];
    }
    /* A contiguous result in a buffer of its own (no input's memory, no
     * other output's) becomes the output as it is, saving a copy. */
    void *alloc = (void *)(intptr_t)q[0];
    int shared = !alloc;
    for (int k = 0; k < nin && !shared; ++k)
      shared = alloc == inputs[k];
    const int64_t *other = results;
    for (int k = 0; k < nout && !shared; ++k) {
      shared = k != i && other[0] == q[0];
      other += 3 + 2 * qcc_model_outputs[k].rank;
    }
    if (contiguous && !shared) {
      inst->out_data[i] = base + q[2] * (int64_t)esize;
      inst->out_alloc[i] = alloc;
      q += 3 + 2 * r;
      continue;
    }
    void *data = malloc(n > 0 ? (size_t)n * esize : 1);
    if (!data) {
      free(descs); free(results); free(args);
      return fail(inst, QCC_ERROR_OUT_OF_MEMORY, "out of memory");
    }
    if (contiguous) {
      memcpy(data, base + q[2] * (int64_t)esize, (size_t)n * esize);
    } else {
      /* Strided gather, element by element. */
      for (int64_t e = 0; e < n; ++e) {
        int64_t rem = e, off = q[2];
        for (int d = r - 1; d >= 0; --d) {
          int64_t idx = rem % q[3 + d];
          rem /= q[3 + d];
          off += idx * q[3 + r + d];
        }
        memcpy((char *)data + e * esize, base + off * (int64_t)esize, esize);
      }
    }
    inst->out_data[i] = data;
    inst->out_alloc[i] = data;
    q += 3 + 2 * r;
  }
  /* Result buffers belong to the caller of the generated code; free each
   * once, never an input's memory and never one an output kept. Only
   * after every output is copied: one buffer may back several outputs. */
  q = results;
  for (int i = 0; i < nout; ++i) {
    void *alloc = (void *)(intptr_t)q[0];
    int seen = alloc == inst->out_alloc[i];
    for (int k = 0; k < nin && !seen; ++k)
      seen = alloc == inputs[k];
    int64_t *prev = results;
    for (int k = 0; k < i && !seen; ++k) {
      seen = prev[0] == q[0];
      prev += 3 + 2 * qcc_model_outputs[k].rank;
    }
    if (!seen)
      free(alloc);
    q += 3 + 2 * qcc_model_outputs[i].rank;
  }
  free(descs);
  free(results);
  free(args);
  inst->has_outputs = 1;
  return QCC_OK;
}

int qcc_model_output(const qcc_model_instance *inst, int i, const void **data,
                     const int64_t **shape) {
  if (!inst || !data || !shape || i < 0 || i >= qcc_model_output_count)
    return QCC_ERROR_INVALID_ARGUMENT;
  if (!inst->has_outputs)
    return QCC_ERROR_INVALID_ARGUMENT;
  *data = inst->out_data[i];
  *shape = inst->out_shapes + out_offset(i);
  return QCC_OK;
}

int qcc_model_run_into(qcc_model_instance *inst, const void *const *inputs,
                       const int64_t *const *input_shapes, void *const *outputs,
                       const size_t *output_capacities) {
  if (!inst)
    return QCC_ERROR_INVALID_ARGUMENT;
  if (qcc_model_output_count > 0 && (!outputs || !output_capacities))
    return fail(inst, QCC_ERROR_INVALID_ARGUMENT, "outputs and output_capacities must not be NULL");
  int status = qcc_model_run(inst, inputs, input_shapes);
  if (status)
    return status;
  for (int i = 0; i < qcc_model_output_count; ++i) {
    const qcc_tensor_info *t = &qcc_model_outputs[i];
    const int64_t *shape = inst->out_shapes + out_offset(i);
    size_t bytes = dtype_size(t->dtype);
    for (int d = 0; d < t->rank; ++d)
      bytes *= (size_t)shape[d];
    if (bytes > output_capacities[i])
      return fail(inst, QCC_ERROR_INVALID_ARGUMENT,
                  "output %d ('%s') needs %zu bytes, buffer holds %zu", i, t->name, bytes,
                  output_capacities[i]);
    if (bytes && !outputs[i])
      return fail(inst, QCC_ERROR_INVALID_ARGUMENT, "output %d ('%s'): buffer is NULL", i, t->name);
    if (bytes)
      memcpy(outputs[i], inst->out_data[i], bytes);
  }
  return QCC_OK;
}
