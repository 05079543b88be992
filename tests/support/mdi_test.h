/* Minimal test harness: CHECK macros that count failures; main returns the count. */
#ifndef MDI_TEST_H
#define MDI_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int mdi_test_failures = 0;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      mdi_test_failures++;                                                     \
    }                                                                          \
  } while (0)

#define CHECK_EQ_INT(a, b)                                                              \
  do {                                                                                  \
    long long _a = (long long)(a), _b = (long long)(b);                                 \
    if (_a != _b) {                                                                     \
      fprintf(stderr, "%s:%d: CHECK_EQ_INT failed: %s = %lld, %s = %lld\n", __FILE__, \
              __LINE__, #a, _a, #b, _b);                                                \
      mdi_test_failures++;                                                              \
    }                                                                                   \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                                             \
  do {                                                                                    \
    double _a = (double)(a), _b = (double)(b);                                            \
    if (!(fabs(_a - _b) <= (tol))) {                                                      \
      fprintf(stderr, "%s:%d: CHECK_NEAR failed: %s = %.9g, %s = %.9g (tol %g)\n", __FILE__, \
              __LINE__, #a, _a, #b, _b, (double)(tol));                                   \
      mdi_test_failures++;                                                                \
    }                                                                                     \
  } while (0)

#define CHECK_STR(a, b)                                                                   \
  do {                                                                                    \
    const char *_a = (a), *_b = (b);                                                      \
    if (strcmp(_a, _b) != 0) {                                                            \
      fprintf(stderr, "%s:%d: CHECK_STR failed: %s = \"%s\", %s = \"%s\"\n", __FILE__,    \
              __LINE__, #a, _a, #b, _b);                                                  \
      mdi_test_failures++;                                                                \
    }                                                                                     \
  } while (0)

/* Path of a file in the source tree (tests get MDI_SOURCE_DIR from CTest). */
static inline const char *mdi_test_source_path(const char *rel, char *buf, size_t n) {
  const char *dir = getenv("MDI_SOURCE_DIR");
  snprintf(buf, n, "%s/%s", dir ? dir : ".", rel);
  return buf;
}

static inline int mdi_test_finish(const char *name) {
  if (mdi_test_failures)
    fprintf(stderr, "%s: %d check(s) failed\n", name, mdi_test_failures);
  else
    printf("%s: all checks passed\n", name);
  return mdi_test_failures ? 1 : 0;
}

#endif
