/* Options of mdi_pipeline: one table describes every option (long and short
 * name, config-file section and key, type, help), so the command line, the
 * INI config file, --help and --print-config all agree. */
#ifndef MDI_OPTIONS_H
#define MDI_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#define MDI_MAX_PROMPTS 4096
/* Sequences in one run (prompts x --n-samples): ids and counts stay far
 * from INT_MAX, and the requests (prompt, tokens, settings) fit in memory. */
#define MDI_MAX_SEQUENCES (1 << 22)

struct mdi_options {
  /* [model] */
  char *model;            /* HDF5 model file, or per-rank prefix */
  int max_seq_len;        /* positions per sequence (0 = the model's seq_len) */
  /* [run] */
  char **prompts;         /* -p, in order */
  int n_prompts;
  char *prompt_file;      /* -f: one prompt per line, or JSONL */
  int n_samples;          /* samples of each prompt */
  int chat;               /* each text prompt is the user's message of a conversation */
  char *system;           /* --system: the system message of --chat conversations */
  int parse_special;      /* special tokens typed in raw prompts are those tokens */
  int max_new_tokens;     /* -n: new tokens per sequence (0 = until stop or max_seq_len) */
  double timeout;         /* seconds a rank may wait on a neighbour */
  /* [sampling] */
  double temperature;
  double top_p;
  int top_k;
  int64_t seed;
  /* [pipeline] */
  char *split;            /* "auto", "calibrate" or counts "a,b,c" */
  int rank0_layers;       /* -1 = chosen by the planner */
  int classifier_tail;    /* vocabulary rows the last rank classifies; -1 = chosen by the planner */
  int batch;              /* B: sequences per micro-batch */
  int micro_batches;      /* M: micro-batches in flight (0 = number of ranks) */
  int threads;            /* threads per rank */
  /* [output] */
  char *output;           /* JSONL journal */
  char *stats;            /* stats JSON */
  int resume;             /* skip the sequences already in `output` */
  int quiet;
  int verbose;
  /* [server] */
  char *serve;            /* --serve [HOST:]PORT: an OpenAI-compatible HTTP server on rank 0 */
  char *api_key;          /* clients must send "Authorization: Bearer KEY" */
  char *model_name;       /* the model's id in the API (default: the model file's name) */
  int max_queue;          /* sequences that may wait for a slot */
  int max_body;           /* bytes of a request body */
  int max_tokens_cap;     /* a request's max_tokens is cut to this (0 = max-seq-len) */
  double client_timeout;  /* seconds a connection may stay idle */
  double drain_timeout;   /* seconds to finish running requests after SIGINT/SIGTERM */
  int interactive;        /* -i: a prompt loop on the terminal */
  /* command line only */
  char *config;           /* -c */
  int print_config;
  int help;
  int version;
};

enum mdi_opt_type { MDI_OPT_STRING, MDI_OPT_STRINGS, MDI_OPT_INT, MDI_OPT_INT64, MDI_OPT_DOUBLE, MDI_OPT_FLAG };

struct mdi_option_desc {
  const char *long_name;  /* --long-name */
  char short_name;        /* -x, or 0 */
  const char *section;    /* config section, NULL: command line only */
  const char *key;        /* config key */
  enum mdi_opt_type type;
  size_t offset;          /* into struct mdi_options */
  const char *arg;        /* argument name in --help */
  const char *help;
  double min, max;        /* accepted range of numbers */
  int is_path;            /* a file name: relative to the config file's directory */
};

/* The table, terminated by an entry with long_name == NULL. */
const struct mdi_option_desc *mdi_options_table(void);

void mdi_options_defaults(struct mdi_options *o);
void mdi_options_free(struct mdi_options *o);

/* Set one option from text (CLI argument or config value); `where` names the
 * source in errors ("--top-p" or "run.ini:sampling:top_p"). */
int mdi_option_set(struct mdi_options *o, const struct mdi_option_desc *d, const char *value,
                   const char *where);

/* Parse the command line into o (defaults must be set first).  Returns
 * MDI_OK, or MDI_ERR with the message set (a usage error). */
int mdi_options_parse(struct mdi_options *o, int argc, char **argv);

/* Checks across options (e.g. a prompt source is not both given and empty). */
int mdi_options_validate(const struct mdi_options *o);

void mdi_options_print_help(const char *program);

#endif
