/* The output journal (-o FILE.jsonl): one JSON object per finished
 * sequence per line, each written whole and flushed, so a crash loses at
 * most the line being written; --resume reads it back.
 *
 * A line says what the sequence is and how it was made, so that --resume
 * can refuse to mix two runs in one file (docs/RELIABILITY.md, "The
 * journal"):
 *   id, prompt, prompt_tokens, tokens, text, finish_reason, seed,
 *   model (the digest of the weights and tokenizer: 16 hex digits),
 *   temperature, top_p, top_k, max_tokens, max_seq_len.
 * Journals of earlier versions end at "seed"; they resume with only the
 * prompts and seeds compared. */
#ifndef MDI_JOURNAL_H
#define MDI_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "mdi/model/sequence.h"

/* What one line holds. */
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
  const char *model;         /* the run's model digest (16 hex digits) */
  float temperature, top_p;  /* the sequence's sampling settings */
  int top_k;
  int max_tokens;            /* its new-token limit (0: until stop or max_seq_len) */
  int max_seq_len;           /* the run's positions per sequence */
};

struct mdi_journal;

/* Take an exclusive lock on the journal file (created if missing) for the
 * rest of this process, before reading it for --resume or truncating it: a
 * second job on the same file, or the ranks of a killed job that are still
 * ending, would otherwise interleave their lines with ours.  MDI_ERR with a
 * message naming the file when another process holds it. */
int mdi_journal_lock(const char *path);

/* Create (truncate) the journal, or with `append` add to its end. */
int mdi_journal_open(struct mdi_journal **j, const char *path, int append);
/* Append one line and flush it to the file. */
int mdi_journal_write(struct mdi_journal *j, const struct mdi_seq_record *r);
int mdi_journal_close(struct mdi_journal *j);

/* A sequence already in a journal.  The settings are those of the line;
 * has_settings is 0 for a line of an earlier version (id, prompt and seed
 * only). */
struct mdi_journal_entry {
  int id;
  int line;      /* line number in the file, from 1 */
  char *prompt;  /* malloc'd */
  uint64_t seed;
  int has_settings;
  char model[24];
  double temperature, top_p;
  int top_k, max_tokens, max_seq_len;
};

/* Read an existing journal for --resume: every complete line must be a
 * journal object.  A last line without its newline or that does not parse
 * (a crash while writing) is dropped: the file is truncated to the end of
 * the last complete line, and *torn says so.  A missing file is empty. */
int mdi_journal_read(const char *path, struct mdi_journal_entry **entries, int *n, int *torn);
void mdi_journal_entries_free(struct mdi_journal_entry *entries, int n);

/* --resume: drop the requests whose sequences are already in the journal
 * (matched by id).  Each line must have been made by this run: the same
 * prompt, seed, sampling settings, token limit and max_seq_len, else the
 * journal belongs to another run and the message names the setting.  The
 * model digest is known only once the weights are loaded: *model gets the
 * journal's ("" when its lines predate it), for mdi_journal_check_model.
 * *skipped counts the dropped requests; *torn is set when a torn last line
 * was cut off. */
int mdi_journal_resume(const char *path, struct mdi_request *reqs, int *n_reqs, int max_seq_len, char model[24],
                       int *skipped, int *torn);
/* The journal's model digest (from mdi_journal_resume) against the run's. */
int mdi_journal_check_model(const char *path, const char *journal_model, const char *model);

#endif
