/* Linear-layer kernels side by side: mdi_matmul (float32 panels, and the
 * integer kernels of each quantized type) against BLIS sgemm on the same
 * shapes, for several rows M (1 = one sequence decoding, 16 or 64 = a
 * micro-batch or a prefill chunk).
 *
 *   mdi_bench_kernels [--threads "1 2"] [--rows "1 4 16 64"] [--n 2048] [--k 768]
 *                     [--types "f32 q8_0"] [--isa auto] [--layers 12] [--seconds 1.0]
 *                     [--csv FILE]
 *
 * A "layer" is one N x K matrix; --layers of them are used in turn so that
 * the weights (layers x N x K x 4 bytes) do not stay in the caches, as in a
 * real forward pass.  Prints GFLOP/s (2 M N K per matrix), the weight
 * bytes streamed per second and the CPU time per matrix (per thread: on a
 * shared host, what the call would take with its CPUs to itself); the CSV
 * has one row per kernel, threads and M.
 * Before anything is timed, every kernel's output is compared with its
 * reference: mdi_matmul_ref for float32 and BLIS (the largest difference is
 * printed), mdi_qmatmul_ref for a quantized type (which must be equal); a
 * wrong kernel stops the benchmark.  The only file that includes blis.h. */
#include <blis.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mdi/base/error.h"
#include "mdi/model/matmul.h"

struct opts {
  enum mdi_matrix_type types[MDI_MATRIX_N_TYPES];
  int n_types;
  int threads[8], n_threads;
  int rows[16], n_rows;
  int n, k, layers;
  double seconds;
  const char *csv;
};

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int parse_list(const char *s, int *out, int max, const char *what) {
  int n = 0;
  char *copy = mdi_xmalloc(strlen(s) + 1, "argument");
  strcpy(copy, s);
  for (char *tok = strtok(copy, " ,"); tok; tok = strtok(NULL, " ,")) {
    char *end;
    long v = strtol(tok, &end, 10);
    if (*end || v < 1 || v > 4096 || n == max) {
      fprintf(stderr, "mdi_bench_kernels: %s: '%s' is not a positive number (at most %d of them)\n", what, tok, max);
      exit(2);
    }
    out[n++] = (int)v;
  }
  free(copy);
  if (n == 0) {
    fprintf(stderr, "mdi_bench_kernels: %s: empty list\n", what);
    exit(2);
  }
  return n;
}

static int parse_int(const char *s, const char *what, int lo, int hi) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*end || v < lo || v > hi) {
    fprintf(stderr, "mdi_bench_kernels: %s: '%s' is not an integer in [%d, %d]\n", what, s, lo, hi);
    exit(2);
  }
  return (int)v;
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: mdi_bench_kernels [options]\n"
          "  --threads LIST   thread counts (default \"1 2\")\n"
          "  --rows LIST      rows M per call (default \"1 4 16 64\")\n"
          "  --n N            output features of a matrix (default 2048)\n"
          "  --k K            input features (default 768)\n"
          "  --types LIST     weight types: f32 q8_0 q4_0 q4_1 q5_0 q5_1 q4_k q5_k q6_k (default \"f32 q8_0\")\n"
          "  --isa NAME       quantized kernels: auto, generic, avx2, avx512, neon, neon-dotprod (default auto)\n"
          "  --layers L       matrices used in turn, so weights leave the caches (default 12)\n"
          "  --seconds S      time per point (default 1.0)\n"
          "  --csv FILE       also write the table as CSV\n");
}

static void parse_types(const char *s, struct opts *o) {
  char *copy = mdi_xmalloc(strlen(s) + 1, "argument");
  strcpy(copy, s);
  o->n_types = 0;
  for (char *tok = strtok(copy, " ,"); tok; tok = strtok(NULL, " ,")) {
    if (o->n_types == MDI_MATRIX_N_TYPES || mdi_quant_parse(tok, &o->types[o->n_types]) != MDI_OK) {
      fprintf(stderr, "mdi_bench_kernels: --types: '%s' is not a weight type\n", tok);
      exit(2);
    }
    o->n_types++;
  }
  free(copy);
}

static void set_isa(const char *name) {
  static const char *const names[] = {"auto", "generic", "avx2", "avx512", "neon", "neon-dotprod"};
  for (int i = 0; i < 6; i++)
    if (!strcmp(name, names[i])) {
      if (mdi_matmul_set_isa((enum mdi_isa)i) == MDI_OK) return;
      fprintf(stderr, "mdi_bench_kernels: --isa %s: this build or CPU has no such kernels\n", name);
      exit(2);
    }
  fprintf(stderr, "mdi_bench_kernels: --isa %s: not auto, generic, avx2, avx512, neon or neon-dotprod\n", name);
  exit(2);
}

static void parse(int argc, char **argv, struct opts *o) {
  *o = (struct opts){.n_types = 2, .types = {MDI_MATRIX_F32, MDI_MATRIX_Q8_0}, .n_threads = 2, .threads = {1, 2},
                     .n_rows = 4, .rows = {1, 4, 16, 64}, .n = 2048, .k = 768, .layers = 12, .seconds = 1.0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      exit(0);
    }
    if (i + 1 >= argc) {
      usage(stderr);
      fprintf(stderr, "mdi_bench_kernels: %s needs a value\n", a);
      exit(2);
    }
    const char *v = argv[++i];
    if (!strcmp(a, "--threads")) o->n_threads = parse_list(v, o->threads, 8, a);
    else if (!strcmp(a, "--rows")) o->n_rows = parse_list(v, o->rows, 16, a);
    else if (!strcmp(a, "--n")) o->n = parse_int(v, a, 1, 1 << 16);
    else if (!strcmp(a, "--k")) o->k = parse_int(v, a, 1, 1 << 16);
    else if (!strcmp(a, "--layers")) o->layers = parse_int(v, a, 1, 1024);
    else if (!strcmp(a, "--types")) parse_types(v, o);
    else if (!strcmp(a, "--isa")) set_isa(v);
    else if (!strcmp(a, "--seconds")) o->seconds = atof(v) > 0 ? atof(v) : 1.0;
    else if (!strcmp(a, "--csv")) o->csv = v;
    else {
      usage(stderr);
      fprintf(stderr, "mdi_bench_kernels: unknown argument '%s'\n", a);
      exit(2);
    }
  }
}

/* BLIS sgemm on row-major W[N][K]: out[M][N] = x[M][K] . W^T */
static void sgemm_blis(float *out, const float *x, const float *w, int M, int N, int K) {
  float alpha = 1.0f, beta = 0.0f;
  bli_sgemm(BLIS_NO_TRANSPOSE, BLIS_TRANSPOSE, M, N, K, &alpha, (float *)x, K, 1, (float *)w, K, 1, &beta, out, N,
            1);
}

/* A kernel: mdi_matmul on matrices of types[kind], or BLIS (kind == n_types). */
struct weights {
  struct mdi_matrix **m; /* [n_types][layers] */
  uint8_t **blocks;      /* [n_types]: layer 0's rows of blocks (quantized types), for the check */
  float **rowmajor;      /* BLIS: W[N][K] as stored in a float32 file */
  int n_types;
};

static void call(int kind, const struct weights *w, int layer, float *out, const float *x, int M, int N, int K) {
  if (kind < w->n_types) mdi_matmul(out, x, &w->m[kind][layer], M);
  else sgemm_blis(out, x, w->rowmajor[layer], M, N, K);
}

static void kernel_name(const struct opts *o, int kind, char *name, size_t size) {
  if (kind == o->n_types) {
    snprintf(name, size, "blis sgemm");
    return;
  }
  snprintf(name, size, "mdi_matmul %s", mdi_quant_format(o->types[kind])->name);
  for (char *c = name; *c; c++) *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
}

/* Seconds per matrix: calls over all layers in turn for at least `seconds`. */
/* CPU seconds of the whole process (every thread): on a shared host the
 * time the kernel ran, whatever else ran meanwhile. */
static double cpu_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Seconds per matrix, wall and CPU (divided by the threads: the wall time
 * the calls would take on idle CPUs). */
static double time_kernel(int kind, const struct weights *w, const struct opts *o, float *out,
                          const float *x, int M, int threads, double *cpu_per_call) {
  for (int l = 0; l < o->layers; l++) call(kind, w, l, out, x, M, o->n, o->k); /* warm-up */
  long calls = 0;
  const double t0 = now_s(), c0 = cpu_s();
  double t = t0;
  do {
    for (int l = 0; l < o->layers; l++) call(kind, w, l, out, x, M, o->n, o->k);
    calls += o->layers;
    t = now_s();
  } while (t - t0 < o->seconds);
  *cpu_per_call = (cpu_s() - c0) / threads / (double)calls;
  return (t - t0) / (double)calls;
}

int main(int argc, char **argv) {
  struct opts o;
  parse(argc, argv, &o);
  const int N = o.n, K = o.k;
  int max_rows = 1;
  for (int i = 0; i < o.n_rows; i++) max_rows = o.rows[i] > max_rows ? o.rows[i] : max_rows;

  struct weights w = {mdi_xcalloc((size_t)o.n_types, sizeof *w.m, "matrices"),
                      mdi_xcalloc((size_t)o.n_types, sizeof *w.blocks, "matrices"),
                      mdi_xcalloc((size_t)o.layers, sizeof *w.rowmajor, "matrices"), o.n_types};
  for (int t = 0; t < o.n_types; t++) {
    if (K % mdi_quant_format(o.types[t])->block) {
      fprintf(stderr, "mdi_bench_kernels: --k %d is not whole %s blocks of %d\n", K, mdi_quant_format(o.types[t])->name,
              mdi_quant_format(o.types[t])->block);
      return 2;
    }
    w.m[t] = mdi_xcalloc((size_t)o.layers, sizeof *w.m[t], "matrices");
    if (o.types[t] != MDI_MATRIX_F32) w.blocks[t] = mdi_xmalloc((size_t)N * mdi_quant_row_bytes(o.types[t], K), "blocks");
  }
  uint8_t *blocks = mdi_xmalloc((size_t)N * K * 4, "quantized rows");
  for (int l = 0; l < o.layers; l++) {
    float *m = mdi_aligned_alloc((size_t)N * K * sizeof(float), "weights");
    if (!m) {
      fprintf(stderr, "mdi_bench_kernels: %s\n", mdi_error());
      return 1;
    }
    for (size_t i = 0; i < (size_t)N * K; i++) m[i] = (float)((i * 2654435761u + (size_t)l) % 2001) * 1e-3f - 1.0f;
    for (int t = 0; t < o.n_types; t++) {
      struct mdi_matrix *mat = &w.m[t][l];
      if (mdi_matrix_alloc_type(mat, o.types[t], N, K, "weights") != MDI_OK) {
        fprintf(stderr, "mdi_bench_kernels: %s\n", mdi_error());
        return 1;
      }
      if (o.types[t] == MDI_MATRIX_F32) {
        mdi_matrix_set_rows(mat, 0, N, m);
        continue;
      }
      const size_t rb = mdi_quant_row_bytes(o.types[t], K);
      uint8_t *b = l == 0 ? w.blocks[t] : blocks;
      for (int r = 0; r < N; r++) mdi_quant_quantize_row(o.types[t], m + (size_t)r * K, b + (size_t)r * rb, K);
      mdi_matrix_set_rows_blocks(mat, 0, N, b);
    }
    w.rowmajor[l] = m;
  }
  free(blocks);
  float *x = mdi_aligned_alloc((size_t)max_rows * K * sizeof(float), "input");
  float *out = mdi_aligned_alloc((size_t)max_rows * N * sizeof(float), "output");
  if (!x || !out) {
    fprintf(stderr, "mdi_bench_kernels: %s\n", mdi_error());
    return 1;
  }
  for (size_t i = 0; i < (size_t)max_rows * K; i++) x[i] = (float)(i % 17) * 0.05f - 0.4f;

  FILE *csv = NULL;
  if (o.csv && !(csv = fopen(o.csv, "w"))) {
    fprintf(stderr, "mdi_bench_kernels: cannot write %s\n", o.csv);
    return 1;
  }
  /* validation: each kernel on the largest M against its reference: the
   * plain triple loop (float32, BLIS), or the quantized kernels' own
   * arithmetic on the blocks, which they must match exactly */
  {
    const int M = max_rows;
    float *ref = mdi_xmalloc((size_t)M * N * sizeof(float), "reference");
    for (int kind = 0; kind <= o.n_types; kind++) {
      char name[32];
      kernel_name(&o, kind, name, sizeof name);
      const int quantized = kind < o.n_types && o.types[kind] != MDI_MATRIX_F32;
      call(kind, &w, 0, out, x, M, N, K);
      if (quantized) mdi_qmatmul_ref(ref, x, o.types[kind], w.blocks[kind], M, N, K);
      else mdi_matmul_ref(ref, x, w.rowmajor[0], M, N, K);
      double worst = 0;
      for (size_t i = 0; i < (size_t)M * N; i++) worst = fmax(worst, fabs((double)out[i] - ref[i]));
      printf("check %-16s M=%d: max |out - ref| = %.3g\n", name, M, worst);
      if (!(worst <= (quantized ? 0.0 : 1e-4 * K))) {
        fprintf(stderr, "mdi_bench_kernels: %s gives wrong results\n", name);
        return 1;
      }
    }
    free(ref);
  }
  if (csv) fprintf(csv, "kernel,threads,M,N,K,layers,us_per_matrix,gflops,weight_gbs,cpu_us_per_matrix\n");
  printf("%d x %d matrices, %d of them (%.0f MB float32), %.1f s per point; quantized kernels: %s\n", N, K, o.layers,
         (double)o.layers * N * K * 4 / 1e6, o.seconds, mdi_matmul_isa_name());
  printf("%-16s %7s %4s %12s %9s %14s %12s\n", "kernel", "threads", "M", "us/matrix", "GFLOP/s", "weights GB/s",
         "cpu us/mat");
  for (int ti = 0; ti < o.n_threads; ti++) {
    mdi_matmul_set_threads(o.threads[ti]);
    bli_thread_set_num_threads(o.threads[ti]);
    for (int ri = 0; ri < o.n_rows; ri++) {
      const int M = o.rows[ri];
      for (int kind = 0; kind <= o.n_types; kind++) {
        char name[32];
        kernel_name(&o, kind, name, sizeof name);
        double cpu;
        const double s = time_kernel(kind, &w, &o, out, x, M, o.threads[ti], &cpu);
        const double gflops = 2.0 * M * N * K / s / 1e9;
        const double bytes = kind < o.n_types ? (double)mdi_matrix_bytes(&w.m[kind][0]) : (double)N * K * 4;
        printf("%-16s %7d %4d %12.1f %9.1f %14.1f %12.1f\n", name, o.threads[ti], M, s * 1e6, gflops, bytes / s / 1e9,
               cpu * 1e6);
        if (csv)
          fprintf(csv, "%s,%d,%d,%d,%d,%d,%.3f,%.3f,%.3f,%.3f\n", name, o.threads[ti], M, N, K, o.layers, s * 1e6, gflops,
                  bytes / s / 1e9, cpu * 1e6);
      }
    }
  }
  if (csv && fclose(csv) != 0) {
    fprintf(stderr, "mdi_bench_kernels: error writing %s\n", o.csv);
    return 1;
  }
  for (int l = 0; l < o.layers; l++) {
    for (int t = 0; t < o.n_types; t++) mdi_matrix_free(&w.m[t][l]);
    free(w.rowmajor[l]);
  }
  for (int t = 0; t < o.n_types; t++) {
    free(w.m[t]);
    free(w.blocks[t]);
  }
  free(w.m);
  free(w.blocks);
  free(w.rowmajor);
  free(x);
  free(out);
  return 0;
}
