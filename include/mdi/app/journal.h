/* The output journal (-o FILE.jsonl): one JSON object per finished
 * sequence per line, each written whole and flushed, so a crash loses at
 * most the line being written; --resume reads it back. */
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

/* --resume: drop the requests whose sequences are already in the journal
 * (matched by id; the prompt must be the same, else the journal belongs to
 * another run).  *skipped counts them; *torn is set when a torn last line
 * was cut off. */
int mdi_journal_resume(const char *path, struct mdi_request *reqs, int *n_reqs, int *skipped, int *torn);

#endif
