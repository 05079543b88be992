/* Text, journal and progress output of rank 0 (see output.h). */
#include "mdi/app/output.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mdi/app/journal.h"
#include "mdi/app/signals.h"
#include "mdi/base/error.h"

int mdi_output_init(struct mdi_output *o, const struct mdi_tokenizer *tok, const char *journal_path,
                    int append, int n_total, int progress) {
  memset(o, 0, sizeof *o);
  o->tok = tok;
  o->text = stdout;
  o->stream = n_total == 1;
  o->n_total = n_total;
  o->progress = progress && isatty(STDERR_FILENO);
  if (journal_path && mdi_journal_open(&o->journal, journal_path, append) != MDI_OK) return MDI_ERR;
  return MDI_OK;
}

size_t mdi_output_decode(const struct mdi_tokenizer *tok, const int *tokens, int from, int n, int fresh,
                         char **buf, size_t *cap) {
  size_t len = 0;
  const size_t piece_max = (size_t)tok->max_token_length + 8;
  for (int i = from; i < n; i++) {
    if (len + piece_max + 1 > *cap) {
      size_t want = 2 * (*cap + piece_max + 1);
      char *p = realloc(*buf, want);
      if (!p) MDI_PANIC("out of memory decoding text");
      *buf = p;
      *cap = want;
    }
    const int prev = i > 0 && (i > from || !fresh) ? tokens[i - 1] : -1;
    len += mdi_tokenizer_decode(tok, prev, tokens[i], *buf + len, piece_max);
  }
  if (*buf) (*buf)[len] = '\0';
  return len;
}

static void print_progress(struct mdi_output *o, double now, int force) {
  if (!o->progress || (!force && now - o->t_last_progress < 0.2)) return;
  o->t_last_progress = now;
  double dt = now - o->t_start;
  fprintf(stderr, "\r%d/%d sequences, %ld tokens, %.1f tok/s ", o->n_done, o->n_total, o->generated,
          dt > 0 ? o->generated / dt : 0.0);
  fflush(stderr);
}

/* The first token printed: a sequence that starts with BOS (always for
 * llama2.c-style tokenizers; for GPT-2 only from an empty prompt) does not
 * print it, one whose prompt has no BOS prints every token. */
static int first_printed(const struct mdi_tokenizer *tok, const struct mdi_sequence *seq) {
  if (seq->req->chat) return seq->req->n_prompt; /* a chat prints the reply, not the rendered conversation */
  return seq->n_tokens > 0 && seq->tokens[0] == tok->bos_id ? 1 : 0;
}

/* Streaming: print the tokens after BOS that are not printed yet. */
static void stream_out(struct mdi_output *o, const struct mdi_sequence *seq) {
  if (o->streamed == 0) o->streamed = first_printed(o->tok, seq); /* BOS itself is never printed */
  const int fresh = seq->req->chat && o->streamed == seq->req->n_prompt; /* a reply starts its own text */
  size_t n = mdi_output_decode(o->tok, seq->tokens, o->streamed, seq->n_tokens, fresh, &o->buf, &o->cap);
  /* decode starts each piece from its predecessor, so a partial range is exact */
  errno = 0;
  if (n) fwrite(o->buf, 1, n, o->text); /* buf is still NULL when nothing was ever decoded */
  if (fflush(o->text) != 0 && !o->text_errno) o->text_errno = errno ? errno : EIO; /* told at the finish */
  o->streamed = seq->n_tokens;
}

void mdi_output_token(struct mdi_output *o, const struct mdi_sequence *seq, double now) {
  o->generated++;
  if (o->t_start == 0) o->t_start = now;
  if (o->stream) stream_out(o, seq);
  print_progress(o, now, 0);
}

static int write_journal(struct mdi_output *o, const struct mdi_sequence *seq);

int mdi_output_finish(struct mdi_output *o, const struct mdi_sequence *seq, double now) {
  const struct mdi_request *r = seq->req;
  o->n_done++;
  errno = 0; /* a failed write of the text leaves its error here */
  if (o->stream) {
    stream_out(o, seq);
    fputc('\n', o->text);
  } else {
    size_t n = mdi_output_decode(o->tok, seq->tokens, first_printed(o->tok, seq), seq->n_tokens, r->chat, &o->buf,
                                 &o->cap);
    fprintf(o->text, "=== sequence %d ===\n", r->id);
    if (n) fwrite(o->buf, 1, n, o->text);
    fputc('\n', o->text);
  }
  /* a full disk or a closed pipe: the error shows here (or at the next
   * flush); the journal line is still written, then the run stops */
  if ((fflush(o->text) != 0 || ferror(o->text)) && !o->text_errno) o->text_errno = errno ? errno : EIO;
  print_progress(o, now, 1);
  const int rc = write_journal(o, seq);
  if (rc != MDI_OK || !o->text_errno || mdi_signals_unread(o->text_errno)) return rc;
  return mdi_fail("standard output: writing the text failed: %s", strerror(o->text_errno));
}

/* The sequence's journal line (none without -o). */
static int write_journal(struct mdi_output *o, const struct mdi_sequence *seq) {
  const struct mdi_request *r = seq->req;
  if (!o->journal) return MDI_OK;
  /* generated text only; its first piece is decoded after the last prompt token */
  size_t len = mdi_output_decode(o->tok, seq->tokens, r->n_prompt, seq->n_tokens, r->chat, &o->buf, &o->cap);
  struct mdi_seq_record rec = {
      .id = r->id,
      .prompt = r->prompt,
      .prompt_tokens = r->prompt_tokens,
      .n_prompt = r->n_prompt,
      .tokens = seq->tokens + r->n_prompt,
      .n_tokens = seq->n_tokens - r->n_prompt,
      .text = o->buf ? o->buf : "",
      .text_len = len,
      .finish_reason = seq->finish == MDI_FINISH_STOP ? "stop" : "length",
      .seed = r->seed,
      .model = o->model,
      .temperature = r->sampling.temperature,
      .top_p = r->sampling.top_p,
      .top_k = r->sampling.top_k,
      .max_tokens = r->max_new,
      .max_seq_len = o->max_seq_len,
  };
  return mdi_journal_write(o->journal, &rec);
}

int mdi_output_close(struct mdi_output *o) {
  if (o->progress && o->n_total) fputc('\n', stderr);
  int rc = mdi_journal_close(o->journal);
  if (rc == MDI_OK && (fflush(o->text) != 0 || ferror(o->text)) &&
      !mdi_signals_unread(o->text_errno ? o->text_errno : errno))
    rc = mdi_fail("standard output: writing the text failed: %s", strerror(o->text_errno ? o->text_errno : errno ? errno : EIO));
  free(o->buf);
  memset(o, 0, sizeof *o);
  return rc;
}

static int sink_token(void *o, const struct mdi_sequence *seq, double now) {
  mdi_output_token(o, seq, now);
  return MDI_SINK_GO_ON;
}
static int sink_finish(void *o, const struct mdi_sequence *seq, double now) { return mdi_output_finish(o, seq, now); }

struct mdi_sequence_sink mdi_output_sink(struct mdi_output *o) {
  return (struct mdi_sequence_sink){.ctx = o, .token = sink_token, .finish = sink_finish};
}
