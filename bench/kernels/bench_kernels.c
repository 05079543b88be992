/* Linear-layer kernels side by side: mdi_matmul (packed panels, float32 and
 * Q8_0) against BLIS sgemm on the same shapes, for several rows M (1 = one
 * sequence decoding, 16 or 64 = a micro-batch or a prefill chunk).
 *
 *   mdi_bench_kernels [--threads "1 2"] [--rows "1 4 16 64"] [--n 2048] [--k 768]
 *                     [--layers 12] [--seconds 1.0] [--csv FILE]
 *
 * A "layer" is one N x K matrix; --layers of them are used in turn so that
 * the weights (layers x N x K x 4 bytes) do not stay in the caches, as in a
 * real forward pass.  Prints GFLOP/s (2 M N K per matrix) and the weight
 * bytes streamed per second; the CSV has one row per kernel, threads and M.
 * Before anything is timed, every kernel's output is compared with
 * mdi_matmul_ref (the largest difference is printed; a wrong kernel stops
 * the benchmark).  The only file that includes blis.h. */
#include <blis.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mdi/base/error.h"
#include "mdi/model/matmul.h"

struct opts {
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
          "  --layers L       matrices used in turn, so weights leave the caches (default 12)\n"
          "  --seconds S      time per point (default 1.0)\n"
          "  --csv FILE       also write the table as CSV\n");
}

static void parse(int argc, char **argv, struct opts *o) {
  *o = (struct opts){.n_threads = 2, .threads = {1, 2}, .n_rows = 4, .rows = {1, 4, 16, 64}, .n = 2048,
                     .k = 768, .layers = 12, .seconds = 1.0};
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

enum kernel { K_F32, K_Q8, K_BLIS };
static const char *kernel_name[] = {"mdi_matmul f32", "mdi_matmul q8_0", "blis sgemm"};

struct weights {
  struct mdi_matrix *f32, *q8;
  float **rowmajor; /* BLIS: W[N][K] as stored in the file */
};

static void call(enum kernel kind, const struct weights *w, int layer, float *out, const float *x, int M, int N,
                 int K) {
  if (kind == K_F32) mdi_matmul(out, x, &w->f32[layer], M);
  else if (kind == K_Q8) mdi_matmul(out, x, &w->q8[layer], M);
  else sgemm_blis(out, x, w->rowmajor[layer], M, N, K);
}

/* Seconds per matrix: calls over all layers in turn for at least `seconds`. */
static double time_kernel(enum kernel kind, const struct weights *w, const struct opts *o, float *out,
                          const float *x, int M) {
  for (int l = 0; l < o->layers; l++) call(kind, w, l, out, x, M, o->n, o->k); /* warm-up */
  long calls = 0;
  const double t0 = now_s();
  double t = t0;
  do {
    for (int l = 0; l < o->layers; l++) call(kind, w, l, out, x, M, o->n, o->k);
    calls += o->layers;
    t = now_s();
  } while (t - t0 < o->seconds);
  return (t - t0) / (double)calls;
}

int main(int argc, char **argv) {
  struct opts o;
  parse(argc, argv, &o);
  const int N = o.n, K = o.k;
  int max_rows = 1;
  for (int i = 0; i < o.n_rows; i++) max_rows = o.rows[i] > max_rows ? o.rows[i] : max_rows;

  struct weights w = {mdi_xcalloc((size_t)o.layers, sizeof *w.f32, "matrices"),
                      mdi_xcalloc((size_t)o.layers, sizeof *w.q8, "matrices"),
                      mdi_xcalloc((size_t)o.layers, sizeof *w.rowmajor, "matrices")};
  int8_t *q = mdi_xmalloc((size_t)N * K, "quantized rows");
  float *scales = mdi_xmalloc((size_t)N * ((K + MDI_Q8_GROUP - 1) / MDI_Q8_GROUP) * sizeof(float), "scales");
  for (int l = 0; l < o.layers; l++) {
    float *m = mdi_aligned_alloc((size_t)N * K * sizeof(float), "weights");
    if (!m || mdi_matrix_alloc(&w.f32[l], N, K, "weights") != MDI_OK ||
        mdi_matrix_alloc_q8(&w.q8[l], N, K, "weights") != MDI_OK) {
      fprintf(stderr, "mdi_bench_kernels: %s\n", mdi_error());
      return 1;
    }
    for (size_t i = 0; i < (size_t)N * K; i++) m[i] = (float)((i * 2654435761u + (size_t)l) % 2001) * 1e-3f - 1.0f;
    mdi_matrix_set_rows(&w.f32[l], 0, N, m);
    const int groups = (K + MDI_Q8_GROUP - 1) / MDI_Q8_GROUP;
    for (int r = 0; r < N; r++) mdi_q8_quantize_row(m + (size_t)r * K, K, q + (size_t)r * K, scales + (size_t)r * groups);
    mdi_matrix_set_rows_q8(&w.q8[l], 0, N, q, scales);
    w.rowmajor[l] = m;
  }
  free(q);
  free(scales);
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
  /* validation: each kernel on the largest M against the plain triple loop
   * (Q8_0 against the same loop on its dequantized weights) */
  {
    const int M = max_rows;
    float *ref = mdi_xmalloc((size_t)M * N * sizeof(float), "reference");
    float *deq = mdi_xmalloc((size_t)N * K * sizeof(float), "dequantized weights");
    for (int r = 0; r < N; r++) mdi_matrix_get_row(&w.q8[0], r, deq + (size_t)r * K);
    for (int kind = K_F32; kind <= K_BLIS; kind++) {
      call(kind, &w, 0, out, x, M, N, K);
      mdi_matmul_ref(ref, x, kind == K_Q8 ? deq : w.rowmajor[0], M, N, K);
      double worst = 0;
      for (size_t i = 0; i < (size_t)M * N; i++) worst = fmax(worst, fabs((double)out[i] - ref[i]));
      printf("check %-16s M=%d: max |out - ref| = %.3g\n", kernel_name[kind], M, worst);
      if (!(worst <= 1e-4 * K)) {
        fprintf(stderr, "mdi_bench_kernels: %s gives wrong results\n", kernel_name[kind]);
        return 1;
      }
    }
    free(ref);
    free(deq);
  }
  if (csv) fprintf(csv, "kernel,threads,M,N,K,layers,us_per_matrix,gflops,weight_gbs\n");
  printf("%d x %d matrices, %d of them (%.0f MB float32), %.1f s per point\n", N, K, o.layers,
         (double)o.layers * N * K * 4 / 1e6, o.seconds);
  printf("%-16s %7s %4s %12s %9s %14s\n", "kernel", "threads", "M", "us/matrix", "GFLOP/s", "weights GB/s");
  for (int ti = 0; ti < o.n_threads; ti++) {
    mdi_matmul_set_threads(o.threads[ti]);
    bli_thread_set_num_threads(o.threads[ti]);
    for (int ri = 0; ri < o.n_rows; ri++) {
      const int M = o.rows[ri];
      for (int kind = K_F32; kind <= K_BLIS; kind++) {
        const double s = time_kernel(kind, &w, &o, out, x, M);
        const double gflops = 2.0 * M * N * K / s / 1e9;
        const double bytes = kind == K_Q8 ? (double)mdi_matrix_bytes(&w.q8[0]) : (double)N * K * 4;
        printf("%-16s %7d %4d %12.1f %9.1f %14.1f\n", kernel_name[kind], o.threads[ti], M, s * 1e6, gflops,
               bytes / s / 1e9);
        if (csv)
          fprintf(csv, "%s,%d,%d,%d,%d,%d,%.3f,%.3f,%.3f\n", kernel_name[kind], o.threads[ti], M, N, K, o.layers,
                  s * 1e6, gflops, bytes / s / 1e9);
      }
    }
  }
  if (csv && fclose(csv) != 0) {
    fprintf(stderr, "mdi_bench_kernels: error writing %s\n", o.csv);
    return 1;
  }
  for (int l = 0; l < o.layers; l++) {
    mdi_matrix_free(&w.f32[l]);
    mdi_matrix_free(&w.q8[l]);
    free(w.rowmajor[l]);
  }
  free(w.f32);
  free(w.q8);
  free(w.rowmajor);
  free(x);
  free(out);
  return 0;
}
