/* Error messages, log prefixes and checked allocation (see error.h). */
#include "mdi/base/error.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MDI_ERROR_MAX 1024

/* per thread: the server's connection threads encode prompts (and may fail)
 * while rank 0's loop runs */
static _Thread_local char error_msg[MDI_ERROR_MAX];
static char program[64] = "mdi";
static char host[64];
static int log_rank = 0, log_n_ranks = 1, quiet = 0;
static void (*abort_hook)(int) = NULL;

int mdi_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(error_msg, sizeof error_msg, fmt, ap);
  va_end(ap);
  return MDI_ERR;
}

int mdi_fail_context(const char *fmt, ...) {
  char ctx[MDI_ERROR_MAX], old[MDI_ERROR_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ctx, sizeof ctx, fmt, ap);
  va_end(ap);
  memcpy(old, error_msg, sizeof old);
  size_t n = strlen(ctx);
  if (n > sizeof error_msg - 3) n = sizeof error_msg - 3;
  memcpy(error_msg, ctx, n);
  memcpy(error_msg + n, ": ", 2);
  size_t rest = sizeof error_msg - n - 3;
  size_t m = strnlen(old, rest);
  memcpy(error_msg + n + 2, old, m);
  error_msg[n + 2 + m] = '\0';
  return MDI_ERR;
}

const char *mdi_error(void) { return error_msg; }
void mdi_error_clear(void) { error_msg[0] = '\0'; }

void mdi_log_set_program(const char *name) { snprintf(program, sizeof program, "%s", name); }
void mdi_log_set_rank(int rank, int n_ranks) {
  log_rank = rank;
  log_n_ranks = n_ranks;
}
void mdi_log_set_host(const char *h) { snprintf(host, sizeof host, "%s", h ? h : ""); }
void mdi_log_set_quiet(int q) { quiet = q; }

static void print_prefix(FILE *out) {
  if (log_n_ranks > 1 || host[0]) {
    if (host[0])
      fprintf(out, "[rank %d@%s] ", log_rank, host);
    else
      fprintf(out, "[rank %d] ", log_rank);
  }
  fprintf(out, "%s: ", program);
}

static void vlog(const char *kind, const char *fmt, va_list ap) {
  /* one fprintf per line keeps lines of different ranks from interleaving */
  char line[2 * MDI_ERROR_MAX];
  vsnprintf(line, sizeof line, fmt, ap);
  char prefix[160];
  FILE *mem = fmemopen(prefix, sizeof prefix, "w");
  if (mem) {
    print_prefix(mem);
    fclose(mem);
  } else {
    prefix[0] = '\0';
  }
  fprintf(stderr, "%s%s%s\n", prefix, kind, line);
  fflush(stderr);
}

void mdi_log_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vlog("error: ", fmt, ap);
  va_end(ap);
}

void mdi_log_warn(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vlog("warning: ", fmt, ap);
  va_end(ap);
}

void mdi_log_info(const char *fmt, ...) {
  if (quiet) return;
  va_list ap;
  va_start(ap, fmt);
  vlog("", fmt, ap);
  va_end(ap);
}

void mdi_log_notice(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vlog("", fmt, ap);
  va_end(ap);
}

void mdi_set_abort_hook(void (*hook)(int)) { abort_hook = hook; }

void mdi_panic(const char *file, int line, const char *fmt, ...) {
  char msg[MDI_ERROR_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr, "[rank %d] %s:%d: internal error: %s\n", log_rank, file, line, msg);
  fflush(stderr);
  if (abort_hook) abort_hook(70);
  abort();
}

int mdi_mul_size(size_t count, size_t size, size_t *out) {
  if (size != 0 && count > SIZE_MAX / size)
    return mdi_fail("size overflow: %zu x %zu bytes", count, size);
  *out = count * size;
  return MDI_OK;
}

void *mdi_malloc(size_t bytes, const char *what) {
  void *p = malloc(bytes ? bytes : 1);
  if (!p) mdi_fail("out of memory: cannot allocate %zu bytes for %s", bytes, what);
  return p;
}

void *mdi_calloc(size_t count, size_t size, const char *what) {
  size_t bytes = 0;
  if (mdi_mul_size(count, size, &bytes) != MDI_OK) return NULL;
  void *p = calloc(count ? count : 1, size ? size : 1);
  if (!p) mdi_fail("out of memory: cannot allocate %zu bytes for %s", bytes, what);
  return p;
}

/* Blocks of at least a huge page (weights, KV caches) are aligned to 2 MiB and
 * asked to be backed by transparent huge pages before their first touch:
 * streaming the weights through 4 KiB pages costs TLB misses, and this machine
 * kind reads about 1.8x faster from huge pages (bench/perf/stream_triad.c). */
#define MDI_HUGE_PAGE ((size_t)2 << 20)

void *mdi_aligned_alloc(size_t bytes, const char *what) {
  void *p = NULL;
  const size_t align = bytes >= MDI_HUGE_PAGE ? MDI_HUGE_PAGE : 64;
  size_t rounded = (bytes + align - 1) / align * align;
  if (rounded < bytes || posix_memalign(&p, align, rounded ? rounded : 64) != 0) {
    mdi_fail("out of memory: cannot allocate %zu bytes for %s", bytes, what);
    return NULL;
  }
#ifdef MADV_HUGEPAGE
  /* advice only: without transparent huge pages the block works as it is */
  if (align == MDI_HUGE_PAGE) (void)madvise(p, rounded, MADV_HUGEPAGE);
#endif
  return p;
}

void *mdi_xmalloc(size_t bytes, const char *what) {
  void *p = mdi_malloc(bytes, what);
  if (!p) MDI_PANIC("%s", mdi_error());
  return p;
}

void *mdi_xcalloc(size_t count, size_t size, const char *what) {
  void *p = mdi_calloc(count, size, what);
  if (!p) MDI_PANIC("%s", mdi_error());
  return p;
}

void *mdi_xrealloc(void *p, size_t bytes, const char *what) {
  void *q = realloc(p, bytes ? bytes : 1);
  if (!q) MDI_PANIC("out of memory: cannot allocate %zu bytes for %s", bytes, what);
  return q;
}

char *mdi_xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = mdi_xmalloc(n, "string");
  memcpy(p, s, n);
  return p;
}
