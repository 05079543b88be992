/* Errors, logging and checked allocation.
 *
 * Two tiers (as in ggml):
 *  - bad input (files, arguments, configs) is a returned error: the function
 *    records one message with mdi_fail() and returns MDI_ERR; the caller
 *    passes it up, and the program prints mdi_error() once and exits non-zero.
 *  - a broken internal invariant is a bug: MDI_ASSERT / MDI_PANIC print
 *    "[rank R] file:line: message" and end the whole job (the communication
 *    module installs an abort hook that calls MPI_Abort).
 */
#ifndef MDI_ERROR_H
#define MDI_ERROR_H

#include <stddef.h>

#define MDI_OK 0
#define MDI_ERR (-1)

/* Record the error message (printf format) and return MDI_ERR. */
int mdi_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prefix the recorded message with more context: "<context>: <old message>". */
int mdi_fail_context(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The last message recorded by this thread ("" when none). */
const char *mdi_error(void);
void mdi_error_clear(void);

/* Program name and rank used as message prefix: "mdi_pipeline: " or
 * "[rank 2] mdi_pipeline: " when the job has more than one rank. */
void mdi_log_set_program(const char *name);
void mdi_log_set_rank(int rank, int n_ranks);
void mdi_log_set_host(const char *host); /* --verbose: "[rank 2@node3]" */
void mdi_log_set_quiet(int quiet);

/* "<prefix>error: <message>\n" on stderr. */
void mdi_log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "<prefix>warning: ..." on stderr (not suppressed by --quiet). */
void mdi_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "<prefix>message" on stderr unless quiet. */
void mdi_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "<prefix>message" on stderr even when quiet: what a user must know about
 * a run that ended early (how far it got, how to go on). */
void mdi_log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Called by MDI_PANIC after printing; must not return.  Default: abort(). */
void mdi_set_abort_hook(void (*hook)(int code));

_Noreturn void mdi_panic(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define MDI_PANIC(...) mdi_panic(__FILE__, __LINE__, __VA_ARGS__)
#define MDI_ASSERT(cond)                                                       \
  do {                                                                         \
    if (!(cond)) mdi_panic(__FILE__, __LINE__, "assertion failed: %s", #cond); \
  } while (0)

/* Checked allocation.  On failure they record "out of memory: cannot
 * allocate N bytes for <what>" and return NULL, so the caller can report it
 * as a user-level error (a model too large for this board). */
void *mdi_malloc(size_t bytes, const char *what);
void *mdi_calloc(size_t count, size_t size, const char *what);
/* 64-byte aligned (cache line, AVX-512); blocks of 2 MiB or more are 2 MiB
 * aligned and advised onto transparent huge pages.  Release with free(). */
void *mdi_aligned_alloc(size_t bytes, const char *what);
/* Allocation that must not fail (small bookkeeping): panics on failure. */
void *mdi_xmalloc(size_t bytes, const char *what);
void *mdi_xcalloc(size_t count, size_t size, const char *what);
void *mdi_xrealloc(void *p, size_t bytes, const char *what);
char *mdi_xstrdup(const char *s);

/* count * size with overflow check; returns MDI_ERR (message set) on overflow. */
int mdi_mul_size(size_t count, size_t size, size_t *out);

#endif
