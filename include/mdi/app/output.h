/* What rank 0 produces: text on stdout, the JSONL journal, the progress line.
 *
 * With one sequence the text streams token by token as llama2.c prints it
 * (prompt, then each new piece, then a newline).  With several, each
 * sequence is printed whole when it finishes, under a "=== sequence N ==="
 * line, in the order they finish; the journal has the structured record. */
#ifndef MDI_OUTPUT_H
#define MDI_OUTPUT_H

#include <stdio.h>

#include "mdi/model/sequence.h"
#include "mdi/model/tokenizer.h"

struct mdi_journal;

struct mdi_output {
  const struct mdi_tokenizer *tok;
  struct mdi_journal *journal;  /* NULL: no -o */
  FILE *text;                   /* stdout */
  int text_errno;               /* writing the text failed with this error (0: not) */
  int stream;                   /* one sequence: print as it grows */
  int streamed;                 /* tokens of the streamed sequence already printed */
  int n_total, n_done;
  int progress;                 /* draw the progress line on stderr */
  double t_start, t_last_progress;
  long generated;
  char *buf;                    /* decode buffer */
  size_t cap;
  /* what each journal line records about the run (set before the ring runs) */
  char model[24];               /* the model digest */
  int max_seq_len;
};

/* append: add to an existing journal (--resume) instead of truncating it. */
int mdi_output_init(struct mdi_output *o, const struct mdi_tokenizer *tok, const char *journal_path,
                    int append, int n_total, int progress);
/* The sequence grew by one token (not called for a stop token). */
void mdi_output_token(struct mdi_output *o, const struct mdi_sequence *seq, double now);
/* The sequence finished: print it, write its journal line.  MDI_ERR when the
 * journal line could not be written, or the text could not (standard output
 * on a full disk, a closed pipe): the journal line is written first. */
int mdi_output_finish(struct mdi_output *o, const struct mdi_sequence *seq, double now);
int mdi_output_close(struct mdi_output *o);
/* The two calls above as the sink the ring's rank 0 feeds. */
struct mdi_sequence_sink mdi_output_sink(struct mdi_output *o);

/* The printed text of tokens[from, n) (each decoded after its predecessor;
 * fresh: tokens[from] starts a text of its own, as a chat reply does),
 * appended to *buf; returns its length.  Used for stdout and the journal. */
size_t mdi_output_decode(const struct mdi_tokenizer *tok, const int *tokens, int from, int n, int fresh,
                         char **buf, size_t *cap);

#endif
