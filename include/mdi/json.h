/* The program's JSON formats; json.c is the only file that includes cJSON.h.
 *  - the output journal (-o): one object per finished sequence per line;
 *  - JSONL prompt files: {"prompt": ..., "max_tokens": ..., "seed": ...,
 *    "temperature": ..., "top_p": ..., "top_k": ...};
 *  - the stats file (--stats). */
#ifndef MDI_JSON_H
#define MDI_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "mdi/stats.h"

struct mdi_seq_record {
  int id;
  const char *prompt;
  const int *prompt_tokens;  /* with BOS */
  int n_prompt;
  const int *tokens;         /* generated, without the stop token */
  int n_tokens;
  const char *text;          /* generated text as printed */
  size_t text_len;
  const char *finish_reason; /* "stop" or "length" */
  uint64_t seed;
};

struct mdi_journal;

/* Create (truncate) the journal, or with `append` add to its end. */
int mdi_journal_open(struct mdi_journal **j, const char *path, int append);

/* A sequence already in a journal. */
struct mdi_journal_entry {
  int id;
  char *prompt;  /* malloc'd */
};

/* Read an existing journal for --resume: every complete line must be a
 * journal object.  A last line without its newline or that does not parse
 * (a crash while writing) is dropped: the file is truncated to the end of
 * the last complete line, and *torn says so.  A missing file is empty. */
int mdi_journal_read(const char *path, struct mdi_journal_entry **entries, int *n, int *torn);
void mdi_journal_entries_free(struct mdi_journal_entry *entries, int n);
/* Append one line and flush it to the file. */
int mdi_journal_write(struct mdi_journal *j, const struct mdi_seq_record *r);
int mdi_journal_close(struct mdi_journal *j);

struct mdi_prompt_line {
  char *prompt;        /* malloc'd */
  int max_tokens;      /* -1: not given */
  int64_t seed;        /* -1: not given */
  double temperature;  /* -1: not given */
  double top_p;        /* -1: not given */
  int top_k;           /* -1: not given */
};

/* Parse one JSONL prompt line; `where` ("file:line") prefixes errors. */
int mdi_json_parse_prompt(const char *line, const char *where, struct mdi_prompt_line *out);

int mdi_stats_write_json(const char *path, const struct mdi_run_stats *s);

#endif
