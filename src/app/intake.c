/* The queue between frontends and the ring (see intake.h).
 *
 * One mutex guards the queue, every job's state and the statistics; each
 * job has a condition variable its frontend waits on, and rank 0 waits on
 * `arrived` when the ring is idle.  Decoding a token happens outside the
 * lock; appending it, the stop-string check and the wake-up inside. */
#include "mdi/app/intake.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mdi/base/error.h"
#include "mdi/base/utf8.h"

struct choice {
  struct mdi_request req;    /* req.owner = this choice; the ring holds &req */
  struct mdi_job *job;
  char *text;                /* generated text, cut before a stop string */
  size_t len, cap;
  size_t safe;               /* text[0, safe) may be shown */
  size_t taken;              /* text[0, taken) was handed to the frontend */
  int *ids;                  /* generated token ids */
  size_t *ends;              /* [n_ids] the text's length after each token */
  int n_ids, cap_ids, ids_taken;
  int done;
  enum mdi_finish finish;
  int got_first;
};

struct mdi_job {
  struct mdi_intake *in;
  int n;
  struct choice *choices;    /* [n] */
  char *stop[MDI_MAX_STOP_STRINGS];
  size_t stop_len[MDI_MAX_STOP_STRINGS];
  int n_stop;
  int *prompt_tokens;        /* shared by the choices */
  char *prompt;
  int next_out;              /* choices handed to the ring so far */
  int running;               /* handed out and not finished */
  int released;              /* the frontend let go */
  int queued;                /* in the intake's queue */
  int updates;               /* bumped on every change, for waiters */
  double t_submit;
  pthread_cond_t cond;
  struct mdi_job *next;      /* queue link */
  struct mdi_job *all_prev, *all_next; /* every live job */
};

struct mdi_intake {
  pthread_mutex_t mu;
  pthread_cond_t arrived;    /* rank 0 waits here when the ring is idle */
  const struct mdi_tokenizer *tok;
  struct mdi_job *head, *tail;
  struct mdi_job *all;       /* every live job */
  int waiting;               /* sequences in queued jobs not yet handed out (read without the lock
                                by pending(): an atomic) */
  int max_queue;
  int closed;
  int jobs;                  /* not yet freed */
  struct mdi_intake_stats st;
  struct mdi_rank_load *loads; /* [n_ranks] */
};

/* The absolute time timeout_s from now on `clock`, for pthread_cond_timedwait. */
static struct timespec deadline(clockid_t clock, double timeout_s) {
  struct timespec t;
  clock_gettime(clock, &t);
  const double ns = (double)t.tv_nsec + timeout_s * 1e9;
  t.tv_sec += (time_t)(ns / 1e9);
  t.tv_nsec = (long)(ns - (double)(time_t)(ns / 1e9) * 1e9);
  return t;
}

double mdi_intake_clock(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

struct mdi_intake *mdi_intake_create(const struct mdi_tokenizer *tok, int max_queue, int slots, int n_ranks) {
  struct mdi_intake *in = mdi_xcalloc(1, sizeof *in, "intake");
  pthread_mutex_init(&in->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&in->arrived, &ca);
  pthread_condattr_destroy(&ca);
  in->tok = tok;
  in->max_queue = max_queue;
  in->st.slots = slots;
  in->st.n_ranks = n_ranks;
  in->loads = mdi_xcalloc((size_t)n_ranks, sizeof *in->loads, "rank loads");
  return in;
}

void mdi_intake_destroy(struct mdi_intake *in) {
  if (!in) return;
  MDI_ASSERT(in->jobs == 0);
  pthread_cond_destroy(&in->arrived);
  pthread_mutex_destroy(&in->mu);
  free(in->loads);
  free(in);
}

static void free_memory(struct mdi_job *j) {
  for (int k = 0; k < j->n; k++) {
    free(j->choices[k].text);
    free(j->choices[k].ids);
    free(j->choices[k].ends);
  }
  for (int s = 0; s < j->n_stop; s++) free(j->stop[s]);
  free(j->choices);
  free(j->prompt_tokens);
  free(j->prompt);
  pthread_cond_destroy(&j->cond);
  free(j);
}

/* With the lock held. */
static void free_job(struct mdi_job *j) {
  struct mdi_intake *in = j->in;
  if (j->all_prev) j->all_prev->all_next = j->all_next;
  else in->all = j->all_next;
  if (j->all_next) j->all_next->all_prev = j->all_prev;
  in->jobs--;
  free_memory(j);
}

/* With the lock held: free the job once nobody holds it. */
static void maybe_free(struct mdi_job *j) {
  if (j->released && j->running == 0 && !j->queued) free_job(j);
}

struct mdi_job *mdi_intake_submit(struct mdi_intake *in, const struct mdi_job_spec *spec, int *closed) {
  MDI_ASSERT(spec->n >= 1 && spec->n_stop <= MDI_MAX_STOP_STRINGS && spec->n_prompt >= 1);
  struct mdi_job *j = mdi_xcalloc(1, sizeof *j, "job");
  j->n = spec->n;
  j->choices = mdi_xcalloc((size_t)spec->n, sizeof *j->choices, "job");
  j->prompt = mdi_xstrdup(spec->prompt ? spec->prompt : "");
  j->prompt_tokens = mdi_xmalloc((size_t)spec->n_prompt * sizeof(int), "prompt tokens");
  memcpy(j->prompt_tokens, spec->prompt_tokens, (size_t)spec->n_prompt * sizeof(int));
  for (int s = 0; s < spec->n_stop; s++) {
    j->stop[s] = mdi_xstrdup(spec->stop[s]);
    j->stop_len[s] = strlen(spec->stop[s]);
    MDI_ASSERT(j->stop_len[s] > 0);
  }
  j->n_stop = spec->n_stop;
  for (int k = 0; k < spec->n; k++) {
    struct choice *c = &j->choices[k];
    c->job = j;
    c->req = (struct mdi_request){.id = k, .prompt = j->prompt, .prompt_tokens = j->prompt_tokens,
                                  .n_prompt = spec->n_prompt, .max_new = spec->max_new,
                                  .seed = spec->seed + (uint64_t)k, .sampling = spec->sampling, .owner = c};
  }
  pthread_cond_init(&j->cond, NULL);
  j->t_submit = mdi_intake_clock();
  pthread_mutex_lock(&in->mu);
  *closed = in->closed;
  if (in->closed || in->waiting + spec->n > in->max_queue) {
    in->st.rejected++;
    pthread_mutex_unlock(&in->mu);
    free_memory(j);
    return NULL;
  }
  j->in = in;
  in->jobs++;
  in->st.jobs++;
  j->all_next = in->all;
  if (in->all) in->all->all_prev = j;
  in->all = j;
  j->queued = 1;
  if (in->tail) in->tail->next = j;
  else in->head = j;
  in->tail = j;
  __atomic_add_fetch(&in->waiting, spec->n, __ATOMIC_RELEASE);
  pthread_cond_signal(&in->arrived);
  pthread_mutex_unlock(&in->mu);
  return j;
}

/* With the lock held: take job j out of the queue. */
static void unqueue(struct mdi_intake *in, struct mdi_job *j) {
  struct mdi_job **p = &in->head, *prev = NULL;
  while (*p && *p != j) prev = *p, p = &(*p)->next;
  MDI_ASSERT(*p == j);
  *p = j->next;
  if (in->tail == j) in->tail = prev;
  j->next = NULL;
  j->queued = 0;
  __atomic_sub_fetch(&in->waiting, j->n - j->next_out, __ATOMIC_RELEASE);
}

int mdi_job_wait(struct mdi_job *j, double timeout_s) {
  struct mdi_intake *in = j->in;
  pthread_mutex_lock(&in->mu);
  const int seen = j->updates;
  int all_done = 1;
  for (int k = 0; k < j->n; k++) all_done &= j->choices[k].done;
  if (!all_done && timeout_s > 0) {
    const struct timespec until = deadline(CLOCK_REALTIME, timeout_s); /* (j->cond has the default clock) */
    while (j->updates == seen) {
      if (pthread_cond_timedwait(&j->cond, &in->mu, &until) == ETIMEDOUT) break;
    }
    all_done = 1;
    for (int k = 0; k < j->n; k++) all_done &= j->choices[k].done;
  }
  pthread_mutex_unlock(&in->mu);
  return all_done;
}

static void take_grow(struct mdi_take *t, size_t len, int n_ids) {
  if (len + 1 > t->cap) {
    t->cap = 2 * (len + 1);
    t->text = mdi_xrealloc(t->text, t->cap, "take");
  }
  if (n_ids > t->cap_ids) {
    t->cap_ids = 2 * n_ids;
    t->ids = mdi_xrealloc(t->ids, (size_t)t->cap_ids * sizeof(int), "take");
    t->ends = mdi_xrealloc(t->ends, (size_t)t->cap_ids * sizeof(size_t), "take");
  }
}

/* 1 when text[0, end) ends between two characters. */
static int char_boundary(const char *text, size_t len, size_t end) {
  return end >= len || ((unsigned char)text[end] & 0xC0) != 0x80;
}

void mdi_job_take(struct mdi_job *j, int k, struct mdi_take *t) {
  MDI_ASSERT(k >= 0 && k < j->n);
  pthread_mutex_lock(&j->in->mu);
  struct choice *c = &j->choices[k];
  /* whole tokens only: up to the last one whose text ends in the safe part
   * on a character boundary (everything once the choice is done) */
  int upto = c->ids_taken;
  size_t end = c->taken;
  for (int i = c->ids_taken; i < c->n_ids; i++) {
    const size_t e = c->ends[i] < c->len ? c->ends[i] : c->len; /* (a stop string cut the text) */
    if (!c->done && (e > c->safe || !char_boundary(c->text, c->len, e))) continue;
    upto = i + 1;
    if (e > end) end = e;
  }
  if (c->done) upto = c->n_ids, end = c->len;
  const size_t len = end - c->taken;
  const int n_ids = upto - c->ids_taken;
  take_grow(t, len, n_ids);
  if (len) memcpy(t->text, c->text + c->taken, len); /* (c->text is NULL before the first token) */
  t->text[len] = '\0';
  t->len = len;
  for (int i = 0; i < n_ids; i++) {
    const size_t e = c->ends[c->ids_taken + i];
    t->ids[i] = c->ids[c->ids_taken + i];
    t->ends[i] = (e < end ? e : end) - c->taken;
  }
  t->n_ids = n_ids;
  c->taken = end;
  c->ids_taken = upto;
  t->done = c->done && upto == c->n_ids;
  t->finish = c->finish;
  t->n_prompt = c->req.n_prompt;
  t->n_generated = c->n_ids;
  pthread_mutex_unlock(&j->in->mu);
}

void mdi_take_free(struct mdi_take *t) {
  free(t->text);
  free(t->ids);
  free(t->ends);
  memset(t, 0, sizeof *t);
}

/* With the lock held: a choice ends (also one never handed to the ring). */
static void end_choice(struct mdi_intake *in, struct choice *c, enum mdi_finish why) {
  c->done = 1;
  c->finish = why;
  c->safe = c->len;
  in->st.finished[why]++;
  c->job->updates++;
  pthread_cond_broadcast(&c->job->cond);
}

/* With the lock held: queued choices end here, running ones at their next trip. */
static void cancel_locked(struct mdi_intake *in, struct mdi_job *j) {
  if (j->queued) {
    const int from = j->next_out;
    unqueue(in, j);
    for (int k = from; k < j->n; k++) end_choice(in, &j->choices[k], MDI_FINISH_CANCEL);
    j->next_out = j->n;
  }
  for (int k = 0; k < j->n; k++)
    if (!j->choices[k].done) mdi_request_cancel(&j->choices[k].req);
}

void mdi_job_cancel(struct mdi_job *j) {
  struct mdi_intake *in = j->in;
  pthread_mutex_lock(&in->mu);
  cancel_locked(in, j);
  maybe_free(j);
  pthread_mutex_unlock(&in->mu);
}

void mdi_job_release(struct mdi_job *j) {
  struct mdi_intake *in = j->in;
  pthread_mutex_lock(&in->mu);
  MDI_ASSERT(!j->released);
  j->released = 1;
  maybe_free(j);
  pthread_mutex_unlock(&in->mu);
}

double mdi_job_submitted(const struct mdi_job *j) { return j->t_submit; }

void mdi_intake_close(struct mdi_intake *in) {
  pthread_mutex_lock(&in->mu);
  in->closed = 1;
  pthread_cond_broadcast(&in->arrived);
  pthread_mutex_unlock(&in->mu);
}

void mdi_intake_cancel_all(struct mdi_intake *in) {
  pthread_mutex_lock(&in->mu);
  in->closed = 1;
  for (struct mdi_job *j = in->all, *next; j; j = next) {
    next = j->all_next; /* a released job may be freed by maybe_free */
    cancel_locked(in, j);
    maybe_free(j);
  }
  pthread_cond_broadcast(&in->arrived);
  pthread_mutex_unlock(&in->mu);
}

int mdi_intake_jobs(struct mdi_intake *in) {
  pthread_mutex_lock(&in->mu);
  const int n = in->jobs;
  pthread_mutex_unlock(&in->mu);
  return n;
}

/* ---- the ring's source --------------------------------------------------- */

static const struct mdi_request *source_next(void *ctx) {
  struct mdi_intake *in = ctx;
  pthread_mutex_lock(&in->mu);
  struct mdi_job *j = in->head;
  const struct mdi_request *r = NULL;
  if (j) {
    struct choice *c = &j->choices[j->next_out++];
    r = &c->req;
    j->running++;
    in->st.busy++;
    __atomic_sub_fetch(&in->waiting, 1, __ATOMIC_RELEASE);
    if (j->next_out == j->n) {
      in->head = j->next;
      if (!in->head) in->tail = NULL;
      j->next = NULL;
      j->queued = 0;
    }
  }
  pthread_mutex_unlock(&in->mu);
  return r;
}

static int source_pending(void *ctx) {
  struct mdi_intake *in = ctx;
  return __atomic_load_n(&in->waiting, __ATOMIC_ACQUIRE) > 0;
}

static void source_wait(void *ctx, double timeout_s) {
  struct mdi_intake *in = ctx;
  const struct timespec until = deadline(CLOCK_MONOTONIC, timeout_s);
  pthread_mutex_lock(&in->mu);
  while (!in->head && !in->closed)
    if (pthread_cond_timedwait(&in->arrived, &in->mu, &until) == ETIMEDOUT) break;
  pthread_mutex_unlock(&in->mu);
}

static int source_closed(void *ctx) {
  struct mdi_intake *in = ctx;
  pthread_mutex_lock(&in->mu);
  const int closed = in->closed && !in->head;
  pthread_mutex_unlock(&in->mu);
  return closed;
}

struct mdi_request_source mdi_intake_source(struct mdi_intake *in) {
  return (struct mdi_request_source){in, source_next, source_pending, source_wait, source_closed};
}

/* ---- the ring's sink ----------------------------------------------------- */

/* Bytes at the end of text[0, len) that must wait: an incomplete UTF-8
 * character, or the longest tail that is the start of a stop string. */
static size_t holdback(const struct mdi_job *j, const char *text, size_t len) {
  size_t hold = 0;
  for (size_t back = 1; back <= 3 && back <= len; back++) {
    const unsigned char c = (unsigned char)text[len - back];
    if ((c & 0xC0) == 0x80) continue; /* a continuation byte: look further back */
    if (c >= 0xC0 && (size_t)mdi_utf8_seq_len(c) > back) hold = back;
    break;
  }
  for (int s = 0; s < j->n_stop; s++)
    for (size_t n = j->stop_len[s] - 1; n > hold; n--)
      if (n <= len && memcmp(text + len - n, j->stop[s], n) == 0) {
        hold = n;
        break;
      }
  return hold;
}

/* The first stop string in text that ends after `from`; its offset or -1. */
static long find_stop(const struct mdi_job *j, const char *text, size_t len, size_t from) {
  long best = -1;
  for (int s = 0; s < j->n_stop; s++) {
    const size_t n = j->stop_len[s];
    const size_t start = from >= n ? from - n + 1 : 0;
    for (size_t i = start; i + n <= len; i++)
      if (memcmp(text + i, j->stop[s], n) == 0) {
        if (best < 0 || (long)i < best) best = (long)i;
        break;
      }
  }
  return best;
}

static int sink_token(void *ctx, const struct mdi_sequence *seq, double now) {
  (void)now;
  struct mdi_intake *in = ctx;
  struct choice *c = seq->req->owner;
  struct mdi_job *j = c->job;
  const int token = seq->tokens[seq->n_tokens - 1];
  char piece[512];
  const size_t piece_max = (size_t)in->tok->max_token_length + 8;
  char *buf = piece_max <= sizeof piece ? piece : mdi_xmalloc(piece_max, "piece");
  const size_t n = mdi_tokenizer_decode(in->tok, seq->tokens[seq->n_tokens - 2], token, buf, piece_max);
  int verdict = MDI_SINK_GO_ON;
  pthread_mutex_lock(&in->mu);
  if (c->len + n + 1 > c->cap) {
    c->cap = 2 * (c->len + n + 1) + 64;
    c->text = mdi_xrealloc(c->text, c->cap, "generated text");
  }
  const size_t before = c->len;
  memcpy(c->text + c->len, buf, n);
  c->len += n;
  if (c->n_ids == c->cap_ids) {
    c->cap_ids = 2 * c->cap_ids + 16;
    c->ids = mdi_xrealloc(c->ids, (size_t)c->cap_ids * sizeof(int), "generated ids");
    c->ends = mdi_xrealloc(c->ends, (size_t)c->cap_ids * sizeof(size_t), "generated ids");
  }
  c->ends[c->n_ids] = c->len;
  c->ids[c->n_ids++] = token;
  in->st.generated_tokens++;
  if (!c->got_first) {
    c->got_first = 1;
    in->st.ttft_sum_s += mdi_intake_clock() - j->t_submit;
    in->st.ttft_count++;
  }
  const long stop_at = j->n_stop ? find_stop(j, c->text, c->len, before) : -1;
  if (stop_at >= 0) {
    c->len = (size_t)stop_at; /* the stop string and what follows it are not part of the text */
    verdict = MDI_SINK_STOP;
  }
  const size_t safe = c->len - holdback(j, c->text, c->len);
  if (safe > c->safe) c->safe = safe;
  j->updates++;
  pthread_cond_broadcast(&j->cond);
  pthread_mutex_unlock(&in->mu);
  if (buf != piece) free(buf);
  return verdict;
}

static int sink_finish(void *ctx, const struct mdi_sequence *seq, double now) {
  (void)now;
  struct mdi_intake *in = ctx;
  struct choice *c = seq->req->owner;
  struct mdi_job *j = c->job;
  pthread_mutex_lock(&in->mu);
  if (seq->n_fed > 0) in->st.prompt_tokens += c->req.n_prompt; /* its prompt went through the ring */
  end_choice(in, c, seq->finish);
  j->running--;
  in->st.busy--;
  maybe_free(j);
  pthread_mutex_unlock(&in->mu);
  return MDI_OK;
}

static void sink_load(void *ctx, const struct mdi_rank_load *load, int n_ranks) {
  struct mdi_intake *in = ctx;
  pthread_mutex_lock(&in->mu);
  if (n_ranks > in->st.n_ranks) n_ranks = in->st.n_ranks;
  memcpy(in->loads, load, (size_t)n_ranks * sizeof *load);
  pthread_mutex_unlock(&in->mu);
}

struct mdi_sequence_sink mdi_intake_sink(struct mdi_intake *in) {
  return (struct mdi_sequence_sink){.ctx = in, .token = sink_token, .finish = sink_finish, .load = sink_load};
}

void mdi_intake_snapshot(struct mdi_intake *in, struct mdi_intake_stats *st, struct mdi_rank_load *loads) {
  pthread_mutex_lock(&in->mu);
  *st = in->st;
  st->waiting = __atomic_load_n(&in->waiting, __ATOMIC_ACQUIRE);
  if (loads) memcpy(loads, in->loads, (size_t)in->st.n_ranks * sizeof *loads);
  st->loads = loads;
  pthread_mutex_unlock(&in->mu);
}
