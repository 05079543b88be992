/* INI configuration files: the only file that includes iniparser.h. */
#include "mdi/app/config.h"

#include <errno.h>
#include <iniparser.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "mdi/base/error.h"
#include "mdi/base/path.h"

/* iniparser reports syntax errors through a printf-like callback; keep the
 * first one so it becomes our single message. */
static char ini_error[512];

static int capture_error(const char *fmt, ...) {
  if (ini_error[0]) return 0;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ini_error, sizeof ini_error, fmt, ap);
  va_end(ap);
  for (char *p = ini_error; *p; p++)
    if (*p == '\n') *p = ' ';
  return 0;
}

static const struct mdi_option_desc *find_key(const char *section, const char *key) {
  for (const struct mdi_option_desc *d = mdi_options_table(); d->long_name; d++)
    if (d->section && !strcmp(d->section, section) && !strcmp(d->key, key)) return d;
  return NULL;
}

static int known_section(const char *section) {
  for (const struct mdi_option_desc *d = mdi_options_table(); d->long_name; d++)
    if (d->section && !strcmp(d->section, section)) return 1;
  return 0;
}

/* "dir/of/file.ini" + "model.h5" -> "dir/of/model.h5"; absolute names stay. */
static char *relative_to(const char *config, const char *value) {
  const char *slash = strrchr(config, '/');
  if (value[0] == '/' || !slash || !value[0]) return mdi_xstrdup(value);
  size_t dir = (size_t)(slash - config) + 1, n = strlen(value);
  char *out = mdi_xmalloc(dir + n + 1, "path");
  memcpy(out, config, dir);
  memcpy(out + dir, value, n + 1);
  return out;
}

static int apply_entry(struct mdi_options *o, const char *path, const char *entry, const char *value) {
  const char *colon = strchr(entry, ':');
  /* iniparser files keys before the first [section] under an empty section */
  if (!colon || colon == entry) return mdi_fail("%s: key \"%s\" is outside any [section]", path, colon ? colon + 1 : entry);
  char section[64];
  snprintf(section, sizeof section, "%.*s", (int)(colon - entry), entry);
  const char *key = colon + 1;
  char where[256];
  snprintf(where, sizeof where, "%s:%s:%s", path, section, key);
  const struct mdi_option_desc *d = find_key(section, key);
  if (!d) return mdi_fail("%s: unknown key (see docs/CONFIG.md or --print-config)", where);
  if (d->is_path) {
    char *resolved = relative_to(path, value);
    int rc = mdi_option_set(o, d, resolved, where);
    free(resolved);
    return rc;
  }
  return mdi_option_set(o, d, value, where);
}

int mdi_config_load(struct mdi_options *o, const char *path) {
  const int kind = mdi_path_input(path, "the config file");
  if (kind < 0) return MDI_ERR;
  FILE *probe = kind ? fopen(path, "r") : NULL;
  if (!probe) return mdi_fail("%s: cannot read the config file: %s", path, strerror(kind ? errno : ENOENT));
  /* iniparser would read a byte order mark as part of the first line */
  unsigned char head[3] = {0};
  const size_t got = fread(head, 1, sizeof head, probe);
  fclose(probe);
  if (got == 3 && head[0] == 0xEF && head[1] == 0xBB && head[2] == 0xBF)
    return mdi_fail("%s: the config file starts with a UTF-8 byte order mark (BOM), which the INI reader does "
                    "not accept: save it as UTF-8 without BOM", path);
  ini_error[0] = '\0';
  iniparser_set_error_callback(capture_error);
  dictionary *d = iniparser_load(path);
  if (!d) return mdi_fail("%s: not a valid INI file: %s", path, ini_error[0] ? ini_error : "parse error");
  int rc = MDI_OK;
  /* sections first, so an unknown one is named as such */
  for (int s = 0; s < iniparser_getnsec(d) && rc == MDI_OK; s++) {
    const char *name = iniparser_getsecname(d, s);
    if (!known_section(name))
      rc = mdi_fail("%s: unknown section [%s] (sections: model, run, sampling, pipeline, output, server)", path, name);
  }
  /* the dictionary holds "section" entries (no value) and "section:key" ones */
  for (ssize_t i = 0; i < d->size && rc == MDI_OK; i++) {
    if (!d->key[i] || !d->val[i]) continue;
    rc = apply_entry(o, path, d->key[i], d->val[i]);
  }
  iniparser_freedict(d);
  return rc;
}

/* `key = value` as iniparser 4.1 reads it back: it has no escapes, only a
 * value between double quotes (which may hold ' ; # and spaces), between
 * single quotes (which may hold "), or bare (no ; or #, no surrounding
 * space).  A value that none of these can carry (a line break, or both
 * quote marks with a comment character) becomes a comment saying so. */
static void print_string(FILE *out, const char *key, const char *v) {
  const size_t n = strlen(v);
  const int dq = strchr(v, '"') != NULL, sq = strchr(v, '\'') != NULL;
  const int bare_ok = n > 0 && !strpbrk(v, ";#") && v[0] != '"' && v[0] != '\'' && v[0] != ' ' && v[0] != '\t' &&
                      v[n - 1] != ' ' && v[n - 1] != '\t' && v[n - 1] != '\\';
  if (strpbrk(v, "\n\r"))
    fprintf(out, "; %s = (a value with a line break cannot be written in an INI file)\n", key);
  else if (!dq)
    fprintf(out, "%s = \"%s\"\n", key, v);
  else if (!sq)
    fprintf(out, "%s = '%s'\n", key, v);
  else if (bare_ok)
    fprintf(out, "%s = %s\n", key, v);
  else
    fprintf(out, "; %s = (a value with both quote marks and a ; or # cannot be written in an INI file)\n", key);
}

void mdi_config_print(const struct mdi_options *o, FILE *out) {
  const char *done[16];
  int n_done = 0;
  fprintf(out, "; mdi_pipeline configuration (mdi_pipeline -c FILE)\n");
  for (const struct mdi_option_desc *s = mdi_options_table(); s->long_name; s++) {
    if (!s->section) continue;
    int seen = 0;
    for (int i = 0; i < n_done; i++) seen |= !strcmp(done[i], s->section);
    if (seen) continue;
    done[n_done++] = s->section;
    fprintf(out, "\n[%s]\n", s->section);
    for (const struct mdi_option_desc *d = s; d->long_name; d++) {
      if (!d->section || strcmp(d->section, s->section)) continue;
      const void *field = (const char *)o + d->offset;
      switch (d->type) {
        case MDI_OPT_STRING: {
          const char *v = *(char *const *)field;
          if (v) print_string(out, d->key, v);
          else fprintf(out, "; %s =\n", d->key);
          break;
        }
        case MDI_OPT_STRINGS: /* an INI section holds a key once: one prompt */
          if (o->n_prompts == 1) print_string(out, d->key, o->prompts[0]);
          else if (o->n_prompts == 0) fprintf(out, "; %s =\n", d->key);
          else fprintf(out, "; %s = (%d prompts given with -p: a config file holds one; use prompt_file)\n",
                       d->key, o->n_prompts);
          break;
        case MDI_OPT_INT: {
          const int v = *(const int *)field;
          /* a value below the range is the "chosen automatically" default */
          if (d->min < d->max && v < d->min) fprintf(out, "; %s = (automatic)\n", d->key);
          else fprintf(out, "%s = %d\n", d->key, v);
          break;
        }
        case MDI_OPT_INT64: fprintf(out, "%s = %lld\n", d->key, (long long)*(const int64_t *)field); break;
        case MDI_OPT_DOUBLE: { /* 15 digits, or 17 when 15 do not read back as the same double */
          const double v = *(const double *)field;
          char num[40];
          snprintf(num, sizeof num, "%.15g", v);
          if (strtod(num, NULL) != v) snprintf(num, sizeof num, "%.17g", v);
          fprintf(out, "%s = %s\n", d->key, num);
          break;
        }
        case MDI_OPT_FLAG: fprintf(out, "%s = %s\n", d->key, *(const int *)field ? "true" : "false"); break;
      }
    }
  }
}

int mdi_config_resolve(struct mdi_options *o, int argc, char **argv) {
  /* a first pass finds -c; the second applies the command line over the file */
  struct mdi_options cli;
  mdi_options_defaults(&cli);
  int rc = mdi_options_parse(&cli, argc, argv);
  mdi_options_defaults(o);
  if (rc == MDI_OK && cli.config) rc = mdi_config_load(o, cli.config);
  if (rc == MDI_OK && cli.n_prompts > 0) { /* prompts on the command line replace the file's */
    for (int i = 0; i < o->n_prompts; i++) free(o->prompts[i]);
    o->n_prompts = 0;
  }
  if (rc == MDI_OK) rc = mdi_options_parse(o, argc, argv);
  mdi_options_free(&cli);
  return rc;
}
