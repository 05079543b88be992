/* Command-line options (src/app/options.c): values, exact 64-bit seeds,
 * ranges and the messages of bad values. */
#include <stdint.h>
#include <string.h>

#include "mdi/app/options.h"
#include "mdi/base/error.h"
#include "mdi_test.h"

/* Parse argv (NULL-terminated, without the program name) over defaults. */
static int parse(struct mdi_options *o, const char *const *args) {
  char *argv[32] = {"mdi_pipeline"};
  int argc = 1;
  for (; args[argc - 1]; argc++) argv[argc] = (char *)args[argc - 1];
  mdi_options_defaults(o);
  return mdi_options_parse(o, argc, argv);
}

/* Parsing fails with a message holding `what`. */
static void check_refused(const char *const *args, const char *what) {
  struct mdi_options o;
  CHECK(parse(&o, args) == MDI_ERR);
  if (!strstr(mdi_error(), what)) {
    fprintf(stderr, "message \"%s\" lacks \"%s\"\n", mdi_error(), what);
    mdi_test_failures++;
  }
  mdi_options_free(&o);
}

static void test_values(void) {
  struct mdi_options o;
  const char *args[] = {"-m", "m.h5", "--top-p=0.5", "-n", "7", "-q", "--top-k", "40", "-p", "a", "-p", "",
                        "--timeout", "2.5", NULL};
  CHECK(parse(&o, args) == MDI_OK);
  CHECK_STR(o.model, "m.h5");
  CHECK_NEAR(o.top_p, 0.5, 0);
  CHECK_EQ_INT(o.max_new_tokens, 7);
  CHECK_EQ_INT(o.quiet, 1);
  CHECK_EQ_INT(o.top_k, 40);
  CHECK_EQ_INT(o.n_prompts, 2);
  CHECK_STR(o.prompts[1], "");
  CHECK_NEAR(o.timeout, 2.5, 0);
  CHECK_EQ_INT(o.seed, 42); /* the default */
  CHECK(mdi_options_validate(&o) == MDI_OK);
  mdi_options_free(&o);
}

/* Seeds are exact to the last digit: a double would turn these into
 * 9000000000000000 and 9223372036854775808. */
static void test_seeds(void) {
  struct mdi_options o;
  const char *a1[] = {"-s", "8999999999999999", NULL};
  CHECK(parse(&o, a1) == MDI_OK);
  CHECK(o.seed == 8999999999999999LL);
  mdi_options_free(&o);
  const char *a2[] = {"--seed", "9223372036854775807", NULL};
  CHECK(parse(&o, a2) == MDI_OK);
  CHECK(o.seed == INT64_MAX);
  mdi_options_free(&o);
  const char *a3[] = {"-s", "9223372036854775808", NULL};
  check_refused(a3, "--seed: 9223372036854775808 is out of range [1, 9223372036854775807]");
  const char *a4[] = {"-s", "99999999999999999999999", NULL};
  check_refused(a4, "is out of range [1, 9223372036854775807]");
  const char *a5[] = {"-s", "0", NULL};
  check_refused(a5, "--seed: 0 is out of range [1, 9223372036854775807]");
  const char *a6[] = {"-s", "1.5", NULL};
  check_refused(a6, "--seed: \"1.5\" is not an integer");
  const char *a7[] = {"-s", "12abc", NULL};
  check_refused(a7, "--seed: \"12abc\" is not an integer");
}

static void test_refused(void) {
  const char *a1[] = {"-n", "abc", NULL};
  check_refused(a1, "--max-new-tokens: \"abc\" is not an integer");
  const char *a2[] = {"-n", "99999999999", NULL};
  check_refused(a2, "--max-new-tokens: 99999999999 is out of range [0, 1048576]");
  const char *a3[] = {"-t", "1e999", NULL};
  check_refused(a3, "--temperature: 1e999 is out of range [0, 100]");
  const char *a4[] = {"-t", "nan", NULL};
  check_refused(a4, "--temperature: \"nan\" is not a number");
  const char *a5[] = {"--top-p", "1.5", NULL};
  check_refused(a5, "--top-p: 1.5 is out of range [0, 1]");
  const char *a6[] = {"--quiet=yes", NULL};
  check_refused(a6, "--quiet takes no value");
  const char *a7[] = {"--frobnicate", NULL};
  check_refused(a7, "unknown option --frobnicate");
  const char *a8[] = {"--top-p", NULL};
  check_refused(a8, "--top-p needs a value (P)");
  const char *a9[] = {"model.h5", NULL};
  check_refused(a9, "unexpected argument \"model.h5\"");
  const char *a10[] = {"--n-samples", "-2", NULL};
  check_refused(a10, "--n-samples: -2 is out of range [1, 1048576]");

  struct mdi_options o;
  const char *v1[] = {"-q", NULL};
  CHECK(parse(&o, v1) == MDI_OK);
  CHECK(mdi_options_validate(&o) == MDI_ERR);
  CHECK(strstr(mdi_error(), "no model given") != NULL);
  mdi_options_free(&o);
  const char *v2[] = {"-m", "m.h5", "--resume", NULL};
  CHECK(parse(&o, v2) == MDI_OK);
  CHECK(mdi_options_validate(&o) == MDI_ERR);
  CHECK(strstr(mdi_error(), "--resume needs the output file") != NULL);
  mdi_options_free(&o);
}

int main(void) {
  test_values();
  test_seeds();
  test_refused();
  return mdi_test_finish("test_options");
}
