/* Memory bandwidth on this machine, for bench/perf.sh: a STREAM-like triad
 * a[i] = b[i] + s * c[i] and a read-only sum over float arrays much larger
 * than the caches, with OpenMP threads.  The arrays ask for transparent huge
 * pages (madvise MADV_HUGEPAGE: granted when the kernel's THP mode is
 * "always" or "madvise"); the read-only sum is measured a second time over an
 * array kept on 4 KiB pages (MADV_NOHUGEPAGE), because a stream's speed can
 * depend on the page size: in a virtual machine every TLB miss is a
 * two-level page walk.
 *
 *   gcc -O3 -march=native -fopenmp stream_triad.c -o stream_triad
 *   OMP_NUM_THREADS=N ./stream_triad [MIB [REPEATS]]
 *
 * MIB is the size of each array (default 1024: three arrays of 1 GiB for the
 * triad, the sum reads the first one; a fourth on 4 KiB pages). Every pass is
 * timed; the output is one line of key=value pairs (GB = 1e9 bytes):
 *
 *   threads=2 mib=1024 repeats=7 read_gbs=40.1 read_best_gbs=44.0 triad_gbs=38.2 triad_best_gbs=41.5
 *   read_4k_gbs=25.0 read_4k_best_gbs=27.1 huge_kib=3145728
 *
 * read_* count the bytes read by the sum (4 per element); triad_* count
 * STREAM's 12 bytes per element (two reads, one write; the write-allocate
 * read is not counted, as in STREAM); read_4k_* is the sum over 4 KiB pages.
 * The plain figures are medians over the repeats, *_best_* the fastest pass;
 * huge_kib is the process's AnonHugePages after the runs (0: no huge pages
 * were granted, every figure is on 4 KiB pages). */
#define _GNU_SOURCE
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define HUGE_ALIGN ((size_t)2 << 20)

/* n floats, 2 MiB aligned; huge pages asked for (or refused) before first touch */
static float *alloc_array(size_t n, int huge) {
  size_t bytes = (n * sizeof(float) + HUGE_ALIGN - 1) / HUGE_ALIGN * HUGE_ALIGN;
  void *p = NULL;
  if (posix_memalign(&p, HUGE_ALIGN, bytes) != 0) return NULL;
#ifdef MADV_HUGEPAGE
  madvise(p, bytes, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
#else
  (void)huge;
#endif
  return p;
}

/* AnonHugePages of this process, KiB (-1 when unknown) */
static long anon_huge_kib(void) {
  FILE *f = fopen("/proc/self/smaps_rollup", "r");
  char line[256];
  long kib = -1;
  if (!f) return -1;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "AnonHugePages:", 14) == 0) kib = atol(line + 14);
  fclose(f);
  return kib;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double best(const double *v, int n) {
  double b = v[0];
  for (int i = 1; i < n; i++) b = v[i] > b ? v[i] : b;
  return b;
}

/* Sum of a[0..n): 64 independent partial sums per thread (four vectors of
 * 16) so the loop runs at load speed rather than at the latency of one add
 * chain. */
static double read_sum(const float *restrict a, size_t n) {
  double total = 0.0;
#pragma omp parallel reduction(+ : total)
  {
    float acc[64] = {0};
#pragma omp for schedule(static)
    for (size_t i = 0; i < n / 64; i++) {
      const float *p = a + i * 64;
#pragma omp simd
      for (int j = 0; j < 64; j++) acc[j] += p[j];
    }
    for (int j = 0; j < 64; j++) total += acc[j];
  }
  for (size_t i = n / 64 * 64; i < n; i++) total += a[i];
  return total;
}

static void triad(float *restrict a, const float *restrict b, const float *restrict c, float s, size_t n) {
#pragma omp parallel for simd schedule(static)
  for (size_t i = 0; i < n; i++) a[i] = b[i] + s * c[i];
}

int main(int argc, char **argv) {
  const long mib = argc > 1 ? atol(argv[1]) : 1024;
  const int reps = argc > 2 ? atoi(argv[2]) : 7;
  if (mib < 1 || reps < 1 || reps > 1000) {
    fprintf(stderr, "usage: stream_triad [MIB >= 1 [REPEATS 1..1000]]\n");
    return 2;
  }
  const size_t n = (size_t)mib * 1024 * 1024 / sizeof(float);
  float *a = alloc_array(n, 1), *b = alloc_array(n, 1), *c = alloc_array(n, 1), *d = alloc_array(n, 0);
  if (!a || !b || !c || !d) {
    fprintf(stderr, "stream_triad: cannot allocate 4 x %ld MiB\n", mib);
    return 1;
  }
  /* first touch by the threads that will read the pages */
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; i++) {
    a[i] = 1.0f;
    b[i] = 2.0f;
    c[i] = 0.5f;
    d[i] = 1.0f;
  }
  double *rd = malloc((size_t)reps * sizeof *rd), *tr = malloc((size_t)reps * sizeof *tr);
  double *r4 = malloc((size_t)reps * sizeof *r4);
  if (!rd || !tr || !r4) return 1;
  double check = 0.0;
  check += read_sum(a, n) + read_sum(d, n); /* warm-up passes */
  for (int r = 0; r < reps; r++) {
    double t0 = now();
    check += read_sum(a, n);
    double t1 = now();
    triad(a, b, c, 0.5f + 1e-3f * (float)r, n);
    double t2 = now();
    check += read_sum(d, n);
    double t3 = now();
    rd[r] = (double)n * sizeof(float) / (t1 - t0) / 1e9;
    tr[r] = 3.0 * (double)n * sizeof(float) / (t2 - t1) / 1e9;
    r4[r] = (double)n * sizeof(float) / (t3 - t2) / 1e9;
  }
  const double rb = best(rd, reps), tb = best(tr, reps), r4b = best(r4, reps);
  printf("threads=%d mib=%ld repeats=%d read_gbs=%.2f read_best_gbs=%.2f triad_gbs=%.2f triad_best_gbs=%.2f "
         "read_4k_gbs=%.2f read_4k_best_gbs=%.2f huge_kib=%ld\n",
         omp_get_max_threads(), mib, reps, median(rd, reps), rb, median(tr, reps), tb, median(r4, reps), r4b,
         anon_huge_kib());
  /* keep the sums alive */
  if (check == 42.0) fprintf(stderr, "%g\n", check);
  free(rd);
  free(tr);
  free(r4);
  free(a);
  free(b);
  free(c);
  free(d);
  return 0;
}
