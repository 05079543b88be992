/* Command-line options of mdi_pipeline (see options.h). */
#include "mdi/app/options.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdi/base/error.h"

#define OFF(field) offsetof(struct mdi_options, field)
#define NOLIM 0, 0, 0 /* no range, not a path */
#define PATH 0, 0, 1  /* a file name */

static const struct mdi_option_desc table[] = {
    {"model", 'm', "model", "path", MDI_OPT_STRING, OFF(model), "FILE",
     "model file (.h5), or the prefix of per-rank files PREFIX.rankNNN.h5", PATH},
    {"max-seq-len", 0, "model", "max_seq_len", MDI_OPT_INT, OFF(max_seq_len), "N",
     "positions per sequence: KV-cache size (default: the model's seq_len)", 0, 1 << 20, 0},
    {"prompt", 'p', "run", "prompt", MDI_OPT_STRINGS, OFF(prompts), "TEXT",
     "a prompt (repeatable; \"\" starts from BOS alone)", NOLIM},
    {"prompt-file", 'f', "run", "prompt_file", MDI_OPT_STRING, OFF(prompt_file), "FILE",
     "prompts, one per line (ids are line numbers from 0; - reads standard input); a .jsonl file holds objects with "
     "\"prompt\" (or \"messages\": [{\"role\", \"content\"}], a conversation, or \"prompt_tokens\": token ids fed "
     "as they are) and optional \"max_tokens\", "
     "\"seed\", \"temperature\", \"top_p\", \"top_k\"", PATH},
    {"chat", 0, "run", "chat", MDI_OPT_FLAG, OFF(chat), NULL,
     "each prompt (-p, a line of -f) is the user's message of a conversation, rendered with the model's "
     "chat format; the output is the reply (a .jsonl line may give \"messages\" instead)", NOLIM},
    {"system", 0, "run", "system", MDI_OPT_STRING, OFF(system), "TEXT",
     "with --chat and \"messages\" lines: the system message, unless the conversation starts with one", NOLIM},
    {"parse-special", 0, "run", "parse_special", MDI_OPT_FLAG, OFF(parse_special), NULL,
     "special tokens typed in a raw prompt (<|eot_id|>, <s>) are those tokens, not text", NOLIM},
    {"n-samples", 0, "run", "n_samples", MDI_OPT_INT, OFF(n_samples), "K",
     "samples of each prompt, seeds S+id (default 1)", 1, 1 << 20, 0},
    {"max-new-tokens", 'n', "run", "max_new_tokens", MDI_OPT_INT, OFF(max_new_tokens), "N",
     "new tokens per sequence; 0 = until a stop token or max-seq-len (default 256)", 0, 1 << 20, 0},
    {"timeout", 0, "run", "timeout", MDI_OPT_DOUBLE, OFF(timeout), "SECONDS",
     "end the job when a rank waits longer than this on a neighbour; 0 = never (default 60)", 0, 1e9, 0},
    {"temperature", 't', "sampling", "temperature", MDI_OPT_DOUBLE, OFF(temperature), "T",
     "sampling temperature; 0 = greedy (default 1.0)", 0, 100, 0},
    {"top-p", 0, "sampling", "top_p", MDI_OPT_DOUBLE, OFF(top_p), "P",
     "nucleus sampling threshold; 1 = off (default 0.9)", 0, 1, 0},
    {"top-k", 0, "sampling", "top_k", MDI_OPT_INT, OFF(top_k), "K",
     "sample among the K most likely tokens; 0 = off (default 0)", 0, 1 << 22, 0},
    {"seed", 's', "sampling", "seed", MDI_OPT_INT64, OFF(seed), "S",
     "random seed of sequence 0; sequence i uses S+i (default 42)", 1, 0x1p63, 0}, /* 2^63: INT64_MAX */
    {"split", 0, "pipeline", "split", MDI_OPT_STRING, OFF(split), "SPEC",
     "layers per rank: auto (balanced by weights), calibrate (balanced by each rank's measured speed "
     "and memory), or counts a,b,c (one per rank, rank 0 first)", NOLIM},
    {"rank0-layers", 0, "pipeline", "rank0_layers", MDI_OPT_INT, OFF(rank0_layers), "K",
     "layers owned by rank 0 with --split auto; 0 = rank 0 only embeds and samples "
     "(default: chosen by the planner)", 0, 1024, 0},
    {"classifier-tail", 0, "pipeline", "classifier_tail", MDI_OPT_INT, OFF(classifier_tail), "ROWS",
     "the last rank computes the logits of the vocabulary's last ROWS entries (rounded up to whole panels of 64) "
     "and rank 0 the rest; 0 = rank 0 computes all (default: chosen by the planner to balance rank 0 and the "
     "last rank; 0 with per-rank files)", 0, 1 << 30, 0},
    {"batch", 'b', "pipeline", "batch", MDI_OPT_INT, OFF(batch), "B",
     "sequences per micro-batch (default 8)", 1, 4096, 0},
    {"micro-batches", 0, "pipeline", "micro_batches", MDI_OPT_INT, OFF(micro_batches), "M",
     "micro-batches in flight (default: the number of ranks)", 1, 4096, 0},
    {"threads", 0, "pipeline", "threads", MDI_OPT_INT, OFF(threads), "N",
     "compute threads per rank (default 1)", 1, 1024, 0},
    {"output", 'o', "output", "output", MDI_OPT_STRING, OFF(output), "FILE",
     "JSONL journal: one line per sequence, written when it finishes", PATH},
    {"resume", 0, "output", "resume", MDI_OPT_FLAG, OFF(resume), NULL,
     "continue an interrupted run: keep the sequences already in -o FILE, generate the rest", NOLIM},
    {"stats", 0, "output", "stats", MDI_OPT_STRING, OFF(stats), "FILE",
     "write run statistics (per rank and totals) as JSON", PATH},
    {"quiet", 'q', "output", "quiet", MDI_OPT_FLAG, OFF(quiet), NULL,
     "no progress line or summary on stderr", NOLIM},
    {"verbose", 'v', "output", "verbose", MDI_OPT_FLAG, OFF(verbose), NULL,
     "prefix messages with rank and host; print the split and memory per rank", NOLIM},
    {"interactive", 'i', "run", "interactive", MDI_OPT_FLAG, OFF(interactive), NULL,
     "a prompt loop on the terminal: each line is a prompt, its text streams as it is generated", NOLIM},
    {"serve", 0, "server", "listen", MDI_OPT_STRING, OFF(serve), "[HOST:]PORT",
     "serve the OpenAI API (/v1/completions, /v1/chat/completions, /v1/models, /health, /metrics) "
     "over HTTP from rank 0; HOST defaults to 127.0.0.1 (see docs/SERVING.md)", NOLIM},
    {"api-key", 0, "server", "api_key", MDI_OPT_STRING, OFF(api_key), "KEY",
     "clients must send \"Authorization: Bearer KEY\" (default: the MDI_API_KEY variable, else no key)", NOLIM},
    {"model-name", 0, "server", "model_name", MDI_OPT_STRING, OFF(model_name), "NAME",
     "the model's id in the API (default: the model file's name without .h5)", NOLIM},
    {"max-queue", 0, "server", "max_queue", MDI_OPT_INT, OFF(max_queue), "N",
     "sequences that may wait for a free slot; more get 503 (default 256)", 1, 1 << 20, 0},
    {"max-body", 0, "server", "max_body", MDI_OPT_INT, OFF(max_body), "BYTES",
     "largest request body; more gets 413 (default 1048576)", 64, 1 << 30, 0},
    {"max-tokens-cap", 0, "server", "max_tokens_cap", MDI_OPT_INT, OFF(max_tokens_cap), "N",
     "a request's max_tokens is cut to N (default 0: max-seq-len)", 0, 1 << 20, 0},
    {"client-timeout", 0, "server", "client_timeout", MDI_OPT_DOUBLE, OFF(client_timeout), "SECONDS",
     "a request header not complete this long after it began gets 408; idle connections close 1 s later (default 30)", 1, 86400, 0},
    {"drain-timeout", 0, "server", "drain_timeout", MDI_OPT_DOUBLE, OFF(drain_timeout), "SECONDS",
     "on SIGINT/SIGTERM: stop accepting, let running requests finish this long, then cancel them (default 30)",
     0, 86400, 0},
    {"config", 'c', NULL, NULL, MDI_OPT_STRING, OFF(config), "FILE",
     "read options from an INI file (command-line options override it)", NOLIM},
    {"print-config", 0, NULL, NULL, MDI_OPT_FLAG, OFF(print_config), NULL,
     "print the effective configuration as INI and exit", NOLIM},
    {"help", 'h', NULL, NULL, MDI_OPT_FLAG, OFF(help), NULL, "show this help and exit", NOLIM},
    {"version", 0, NULL, NULL, MDI_OPT_FLAG, OFF(version), NULL, "print the version and exit", NOLIM},
    {NULL, 0, NULL, NULL, 0, 0, NULL, NULL, NOLIM},
};

const struct mdi_option_desc *mdi_options_table(void) { return table; }

void mdi_options_defaults(struct mdi_options *o) {
  memset(o, 0, sizeof *o);
  o->n_samples = 1;
  o->max_new_tokens = 256;
  o->timeout = 60.0;
  o->temperature = 1.0;
  o->top_p = 0.9;
  o->top_k = 0;
  o->seed = 42;
  o->split = mdi_xstrdup("auto");
  o->rank0_layers = -1;
  o->classifier_tail = -1;
  o->batch = 8;
  o->micro_batches = 0;
  o->threads = 1;
  o->max_queue = 256;
  o->max_body = 1 << 20;
  o->client_timeout = 30.0;
  o->drain_timeout = 30.0;
}

void mdi_options_free(struct mdi_options *o) {
  for (const struct mdi_option_desc *d = table; d->long_name; d++) {
    void *field = (char *)o + d->offset;
    if (d->type == MDI_OPT_STRING) free(*(char **)field);
  }
  for (int i = 0; i < o->n_prompts; i++) free(o->prompts[i]);
  free(o->prompts);
  memset(o, 0, sizeof *o);
}

/* Integer options use the table's double bounds; a maximum of 2^63 stands
 * for INT64_MAX, which a double cannot hold exactly. */
static int64_t int_bound(double b) {
  if (b >= 0x1p63) return INT64_MAX;
  if (b <= -0x1p63) return INT64_MIN;
  return (int64_t)b;
}

/* Integers are parsed as integers (a seed is exact to the last digit), never
 * through a double.  Returns 1 when parsed, 0 when not a number, -1 when the
 * number is too large for its type (ERANGE). */
static int parse_number(const char *value, int integer, int64_t *iv, double *dv) {
  char *end;
  errno = 0;
  if (integer) *iv = strtoll(value, &end, 10);
  else *dv = strtod(value, &end);
  if (end == value || *end != '\0') return 0;
  if (errno == ERANGE) return -1;
  if (!integer && !isfinite(*dv)) return 0; /* "inf", "nan" */
  return errno ? 0 : 1;
}

int mdi_option_set(struct mdi_options *o, const struct mdi_option_desc *d, const char *value,
                   const char *where) {
  void *field = (char *)o + d->offset;
  switch (d->type) {
    case MDI_OPT_STRING:
      free(*(char **)field);
      *(char **)field = mdi_xstrdup(value);
      return MDI_OK;
    case MDI_OPT_STRINGS: {
      if (o->n_prompts >= MDI_MAX_PROMPTS)
        return mdi_fail("%s: more than %d prompts; use a prompt file", where, MDI_MAX_PROMPTS);
      if (!o->prompts) o->prompts = mdi_xcalloc(MDI_MAX_PROMPTS, sizeof(char *), "prompts");
      o->prompts[o->n_prompts++] = mdi_xstrdup(value);
      return MDI_OK;
    }
    case MDI_OPT_FLAG: {
      if (value == NULL || !strcmp(value, "1") || !strcmp(value, "true") || !strcmp(value, "yes")) {
        *(int *)field = 1;
      } else if (!strcmp(value, "0") || !strcmp(value, "false") || !strcmp(value, "no")) {
        *(int *)field = 0;
      } else {
        return mdi_fail("%s: \"%s\" is not a boolean (use true or false)", where, value);
      }
      return MDI_OK;
    }
    case MDI_OPT_INT:
    case MDI_OPT_INT64:
    case MDI_OPT_DOUBLE: break;
  }
  const int integer = d->type != MDI_OPT_DOUBLE, ranged = d->min < d->max;
  int64_t iv = 0;
  double dv = 0;
  const int parsed = parse_number(value, integer, &iv, &dv);
  if (parsed == 0) return mdi_fail("%s: \"%s\" is not %s", where, value, integer ? "an integer" : "a number");
  if (integer) {
    const int64_t lo = ranged ? int_bound(d->min) : INT64_MIN;
    const int64_t hi = ranged ? int_bound(d->max) : d->type == MDI_OPT_INT ? INT32_MAX : INT64_MAX;
    if (parsed < 0 || iv < lo || iv > hi || (d->type == MDI_OPT_INT && (iv < INT32_MIN || iv > INT32_MAX)))
      return mdi_fail("%s: %s is out of range [%lld, %lld]", where, value, (long long)lo, (long long)hi);
    if (d->type == MDI_OPT_INT) *(int *)field = (int)iv;
    else *(int64_t *)field = iv;
    return MDI_OK;
  }
  if (parsed < 0 || (ranged && (dv < d->min || dv > d->max))) {
    if (ranged) return mdi_fail("%s: %s is out of range [%.15g, %.15g]", where, value, d->min, d->max);
    return mdi_fail("%s: %s is out of range", where, value);
  }
  *(double *)field = dv;
  return MDI_OK;
}

static const struct mdi_option_desc *find_long(const char *name, size_t len) {
  for (const struct mdi_option_desc *d = table; d->long_name; d++)
    if (strlen(d->long_name) == len && !strncmp(d->long_name, name, len)) return d;
  return NULL;
}

static const struct mdi_option_desc *find_short(char c) {
  for (const struct mdi_option_desc *d = table; d->long_name; d++)
    if (d->short_name == c) return d;
  return NULL;
}

int mdi_options_parse(struct mdi_options *o, int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *value = NULL;
    const struct mdi_option_desc *d = NULL;
    char where[96];
    if (a[0] == '-' && a[1] == '-' && a[2]) {
      const char *eq = strchr(a + 2, '=');
      size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
      d = find_long(a + 2, len);
      if (!d) return mdi_fail("unknown option %s (see --help)", a);
      if (eq) value = eq + 1;
    } else if (a[0] == '-' && a[1] && !a[2]) {
      d = find_short(a[1]);
      if (!d) return mdi_fail("unknown option %s (see --help)", a);
    } else {
      return mdi_fail("unexpected argument \"%s\" (options start with - or --; see --help)", a);
    }
    snprintf(where, sizeof where, "--%s", d->long_name);
    if (d->type == MDI_OPT_FLAG) {
      if (value) return mdi_fail("%s takes no value", where);
    } else if (!value) {
      if (i + 1 >= argc) return mdi_fail("%s needs a value (%s)", where, d->arg);
      value = argv[++i];
    }
    if (mdi_option_set(o, d, value, where) != MDI_OK) return MDI_ERR;
  }
  return MDI_OK;
}

int mdi_options_validate(const struct mdi_options *o) {
  if (!o->model || !o->model[0]) return mdi_fail("no model given: use -m MODEL.h5 (see --help)");
  if (o->top_p <= 0.0) return mdi_fail("--top-p must be > 0 (1 turns nucleus sampling off)");
  if (o->resume && !o->output) return mdi_fail("--resume needs the output file of the interrupted run (-o FILE)");
  if (o->serve || o->interactive) {
    const char *mode = o->serve ? "--serve" : "--interactive";
    if (o->serve && o->interactive) return mdi_fail("--serve and --interactive: choose one");
    if (o->n_prompts || o->prompt_file)
      return mdi_fail("%s takes its prompts from %s: drop -p and -f", mode, o->serve ? "HTTP clients" : "the terminal");
    if (o->output || o->resume) return mdi_fail("%s: -o and --resume are for batch runs", mode);
    if (o->n_samples != 1) return mdi_fail("%s: --n-samples is for batch runs (clients ask for n)", mode);
  }
  return MDI_OK;
}

void mdi_options_print_help(const char *program) {
  printf("Usage: %s -m MODEL.h5 [options]\n"
         "       mpirun -np N %s -m MODEL.h5 -f PROMPTS.txt [options]\n\n"
         "Model-distributed LLM inference: the layers are split over the MPI ranks,\n"
         "which form a ring; many sequences travel it at once in micro-batches.\n"
         "Rank 0 embeds, samples and writes the output. Text goes to stdout.\n\nOptions:\n",
         program, program);
  for (const struct mdi_option_desc *d = table; d->long_name; d++) {
    char left[64];
    if (d->short_name)
      snprintf(left, sizeof left, "-%c, --%s%s%s", d->short_name, d->long_name, d->arg ? " " : "",
               d->arg ? d->arg : "");
    else
      snprintf(left, sizeof left, "    --%s%s%s", d->long_name, d->arg ? " " : "", d->arg ? d->arg : "");
    printf("  %-30s %s\n", left, d->help);
  }
  printf("\nEvery option except -c, --print-config, --help and --version can also be set in the\n"
         "config file as `key = value` in its [section]; see docs/CONFIG.md.\n"
         "\nExit status (every rank alike):\n"
         "  0    success\n"
         "  1    an error: bad input, a file that cannot be read or written (standard output too),\n"
         "       not enough memory, a rank that failed\n"
         "  2    a usage error: an unknown option, a bad value, a bad config file\n"
         "  3    a rank gave no sign of life for --timeout seconds (the job is ended)\n"
         "  70   an internal error (a bug: please report it)\n"
         "  130  interrupted by SIGINT, 143 by SIGTERM: the finished sequences are in -o FILE,\n"
         "       --resume goes on (mpirun itself exits 1 when it is the one signalled)\n"
         "A rank killed by a signal, or a job ended by MPI_Abort, gives mpirun's status instead.\n");
}
