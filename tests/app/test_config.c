/* INI configuration files (src/app/config.c): --print-config output read
 * back with -c gives the same options, also for values with quotes and
 * comment characters; errors name file:section:key. */
#define _GNU_SOURCE /* mkdtemp */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mdi/app/config.h"
#include "mdi/app/options.h"
#include "mdi/base/error.h"
#include "mdi_test.h"

static char dir[256];

static const char *write_file(const char *name, const char *text) {
  static char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  if (!f) {
    perror(path);
    exit(1);
  }
  fputs(text, f);
  fclose(f);
  return path;
}

static const struct mdi_option_desc *option(const char *name) {
  for (const struct mdi_option_desc *d = mdi_options_table(); d->long_name; d++)
    if (!strcmp(d->long_name, name)) return d;
  abort();
}

/* Print o, load it back into fresh defaults, compare what matters. */
static void check_round_trip(const struct mdi_options *o) {
  char path[512];
  snprintf(path, sizeof path, "%s/printed.ini", dir);
  FILE *f = fopen(path, "w");
  mdi_config_print(o, f);
  fclose(f);
  struct mdi_options back;
  mdi_options_defaults(&back);
  CHECK(mdi_config_load(&back, path) == MDI_OK);
  CHECK_STR(back.model, o->model);
  CHECK_EQ_INT(back.n_prompts, o->n_prompts);
  if (back.n_prompts == 1 && o->n_prompts == 1) CHECK_STR(back.prompts[0], o->prompts[0]);
  CHECK(back.seed == o->seed);
  CHECK(back.temperature == o->temperature && back.top_p == o->top_p && back.top_k == o->top_k);
  CHECK(back.timeout == o->timeout);
  CHECK_EQ_INT(back.batch, o->batch);
  CHECK_STR(back.split, o->split);
  CHECK_EQ_INT(back.quiet, o->quiet);
  mdi_options_free(&back);
}

static void test_round_trips(void) {
  /* a value with ' " ; # and spaces in turn; absolute paths stay as they are */
  const char *values[] = {"plain", "say \"hi\"; ok", "it's \"x\"", "it's; a # comment", "  spaced  ",
                          "back\\slash\\", "", "tab\there", "a'b\"c", "semi;colon", "x = y"};
  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
    struct mdi_options o;
    mdi_options_defaults(&o);
    char model[128];
    snprintf(model, sizeof model, "/models/%s.h5", values[i]);
    o.model = mdi_xstrdup(model);
    CHECK(mdi_option_set(&o, option("prompt"), values[i], "-p") == MDI_OK); /* --prompt */
    o.seed = 8999999999999999LL;
    o.temperature = 0.1;
    o.top_p = 1.0 / 3.0;
    o.timeout = 2.5;
    o.quiet = 1;
    check_round_trip(&o);
    mdi_options_free(&o);
  }
}

/* A value that INI cannot carry is printed as a comment, never as a line
 * that would read back as something else. */
static void test_unwritable(void) {
  struct mdi_options o;
  mdi_options_defaults(&o);
  CHECK(mdi_option_set(&o, option("prompt"), "two\nlines", "-p") == MDI_OK);
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  mdi_config_print(&o, mem);
  fclose(mem);
  CHECK(strstr(text, "; prompt = (a value with a line break cannot be written") != NULL);
  free(text);
  mdi_options_free(&o);
}

static void test_load(void) {
  struct mdi_options o;
  mdi_options_defaults(&o);
  const char *p = write_file("run.ini", "[model]\npath = m.h5\n[sampling]\nseed = 9223372036854775807\n"
                                        "top_p = 0.25\n[output]\nquiet = yes\n");
  CHECK(mdi_config_load(&o, p) == MDI_OK);
  char want[512];
  snprintf(want, sizeof want, "%s/m.h5", dir); /* relative to the config file */
  CHECK_STR(o.model, want);
  CHECK(o.seed == INT64_MAX);
  CHECK(o.top_p == 0.25);
  CHECK_EQ_INT(o.quiet, 1);
  mdi_options_free(&o);

  mdi_options_defaults(&o);
  p = write_file("bad.ini", "[sampling]\nsed = 3\n");
  CHECK(mdi_config_load(&o, p) == MDI_ERR);
  CHECK(strstr(mdi_error(), "bad.ini:sampling:sed: unknown key") != NULL);
  mdi_options_free(&o);

  mdi_options_defaults(&o);
  p = write_file("range.ini", "[sampling]\nseed = 99999999999999999999\n");
  CHECK(mdi_config_load(&o, p) == MDI_ERR);
  CHECK(strstr(mdi_error(), "range.ini:sampling:seed: 99999999999999999999 is out of range") != NULL);
  mdi_options_free(&o);
}

int main(void) {
  const char *base = getenv("MDI_BINARY_DIR");
  snprintf(dir, sizeof dir, "%s/test_config_XXXXXX", base && strlen(base) < 200 ? base : "/tmp");
  if (!mkdtemp(dir)) snprintf(dir, sizeof dir, "/tmp");
  test_round_trips();
  test_unwritable();
  test_load();
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (strcmp(dir, "/tmp") != 0 && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  return mdi_test_finish("test_config");
}
