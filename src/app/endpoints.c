/* The server's endpoints (see endpoints.h). */
#include "mdi/app/endpoints.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mdi/app/prompts.h"
#include "mdi/base/error.h"

#define SSE_WAIT_S 0.2 /* how often a waiting connection looks whether its client is still there */

enum { EP_COMPLETIONS, EP_CHAT, EP_MODELS, EP_HEALTH, EP_METRICS, EP_OTHER };
static const char *const ep_names[MDI_EP_COUNT] = {"/v1/completions", "/v1/chat/completions", "/v1/models",
                                                   "/health", "/metrics", "other"};
static const int codes[MDI_EP_CODES] = {200, 400, 401, 404, 405, 408, 413, 499, 500, 503, 0};

void mdi_endpoints_init(struct mdi_endpoints *ep) {
  ep->next_seed = (uint64_t)ep->opt->seed;
  ep->next_id = 0;
  memset(ep->requests, 0, sizeof ep->requests);
  ep->draining = 0;
}

static void count(struct mdi_endpoints *ep, int endpoint, int status) {
  int c = 0;
  while (codes[c] && codes[c] != status) c++;
  __atomic_add_fetch(&ep->requests[endpoint][c], 1, __ATOMIC_RELAXED);
}

/* ---- replies ------------------------------------------------------------- */

static void reply(struct mdi_http_response *rs, int status, const char *ctype, const char *text, size_t len) {
  rs->status = status;
  rs->content_type = ctype;
  rs->body = mdi_xmalloc(len + 1, "response");
  memcpy(rs->body, text, len);
  rs->body[len] = '\0';
  rs->len = len;
}

static void reply_json(struct mdi_http_response *rs, int status, struct mdi_json_writer *w) {
  size_t len;
  const char *text = mdi_jw_text(w, &len);
  reply(rs, status, "application/json", text, len);
  mdi_jw_free(w);
}

static void reply_error(struct mdi_http_response *rs, const struct mdi_api_error *e) {
  struct mdi_json_writer w;
  mdi_jw_init(&w, 0);
  mdi_api_write_error(&w, e);
  reply_json(rs, e->status, &w);
  if (e->status == 503) rs->header_name = "Retry-After", rs->header_value = "1";
  if (e->status == 401) rs->header_name = "WWW-Authenticate", rs->header_value = "Bearer";
}

/* ---- completions --------------------------------------------------------- */

static const char *finish_name(enum mdi_finish f) { return f == MDI_FINISH_STOP ? "stop" : "length"; }

/* A streamed response: chunks of every choice as they grow, then the usage
 * (if asked) and [DONE]. */
struct sse {
  struct mdi_http_stream base;
  struct mdi_job *job;
  struct mdi_api_meta meta;
  char id[48];
  char *model;
  int n;
  unsigned char *started, *ended; /* [n] */
  int include_usage;
  struct mdi_take take;
  struct mdi_api_usage usage;
  char *out;                      /* formatted events not yet sent */
  size_t len, cap, pos;
  int done;                       /* nothing comes after out */
  double keepalive_s, t_sent;     /* a comment line after this long without events */
};

static void sse_append(struct sse *s, const char *a, size_t n) {
  if (s->len + n > s->cap) {
    s->cap = 2 * (s->len + n);
    s->out = mdi_xrealloc(s->out, s->cap, "event stream");
  }
  memcpy(s->out + s->len, a, n);
  s->len += n;
}

static void sse_event(struct sse *s, struct mdi_json_writer *w) {
  size_t n;
  const char *text = mdi_jw_text(w, &n);
  sse_append(s, "data: ", 6);
  sse_append(s, text, n);
  sse_append(s, "\n\n", 2);
  mdi_jw_free(w);
}

/* Format what the choices produced since the last look. */
static void sse_produce(struct sse *s) {
  int all_ended = 1, cancelled = 0;
  for (int k = 0; k < s->n; k++) {
    if (s->ended[k]) continue;
    mdi_job_take(s->job, k, &s->take);
    const struct mdi_take *t = &s->take;
    if (t->done && t->finish == MDI_FINISH_CANCEL) {
      cancelled = 1;
      s->ended[k] = 1;
      continue;
    }
    /* one event per token; a token whose text ends inside a character (or
     * has none) goes with the next */
    size_t from = 0;
    int first = 0;
    for (int i = 0; i < t->n_ids || (i == 0 && t->done); i++) {
      const int last = i >= t->n_ids - 1;
      const size_t end = last ? t->len : t->ends[i];
      if (!last && (end == from || ((unsigned char)t->text[end] & 0xC0) == 0x80)) continue;
      const int n = t->n_ids ? i + 1 - first : 0;
      struct mdi_api_choice c = {t->text + from, end - from, n ? t->ids + first : NULL, n,
                                 last && t->done ? finish_name(t->finish) : NULL};
      struct mdi_json_writer w;
      mdi_jw_init(&w, 0);
      mdi_api_write_chunk(&w, &s->meta, k, &c, !s->started[k], s->include_usage);
      sse_event(s, &w);
      s->started[k] = 1;
      from = end;
      first = i + 1;
    }
    if (t->done) {
      s->ended[k] = 1;
      s->usage.prompt_tokens = t->n_prompt;
      s->usage.completion_tokens += t->n_generated;
    }
    all_ended &= s->ended[k];
  }
  struct mdi_json_writer w;
  if (cancelled) { /* the server is shutting down: an error event ends the stream */
    struct mdi_api_error e;
    mdi_api_fail(&e, 503, "server_error", "server_shutting_down", NULL,
                 "The server is shutting down; this request was cancelled.");
    mdi_jw_init(&w, 0);
    mdi_api_write_error(&w, &e);
    sse_event(s, &w);
    s->done = 1;
  } else if (all_ended) {
    if (s->include_usage) {
      mdi_jw_init(&w, 0);
      mdi_api_write_usage_chunk(&w, &s->meta, &s->usage);
      sse_event(s, &w);
    }
    sse_append(s, "data: [DONE]\n\n", 14);
    s->done = 1;
  }
}

static long sse_read(struct mdi_http_stream *base, char *buf, size_t max) {
  struct sse *s = (struct sse *)base;
  for (;;) {
    if (s->pos < s->len) {
      size_t n = s->len - s->pos;
      if (n > max) n = max;
      memcpy(buf, s->out + s->pos, n);
      s->pos += n;
      return (long)n;
    }
    if (s->done) return 0;
    s->pos = s->len = 0;
    sse_produce(s);
    const double now = mdi_intake_clock();
    /* nothing new for a while (a long prefill, a busy ring): a comment keeps
     * the connection's idle timeout (and a proxy's) from closing it */
    if (!s->len && now - s->t_sent >= s->keepalive_s) sse_append(s, ": keep-alive\n\n", 14);
    if (s->len) {
      s->t_sent = now;
      continue;
    }
    if (mdi_http_gone(s->base.conn)) return -1;
    mdi_job_wait(s->job, SSE_WAIT_S);
  }
}

static void sse_close(struct mdi_http_stream *base, int complete) {
  struct sse *s = (struct sse *)base;
  if (!complete) mdi_job_cancel(s->job); /* the client left: free its slots within a trip */
  mdi_job_release(s->job);
  mdi_take_free(&s->take);
  free(s->started);
  free(s->ended);
  free(s->out);
  free(s->model);
  free(s);
}

static void start_stream(struct mdi_http_response *rs, struct mdi_job *job, const struct mdi_api_meta *meta,
                         int n, int include_usage, double client_timeout) {
  struct sse *s = mdi_xcalloc(1, sizeof *s, "stream");
  s->keepalive_s = client_timeout / 3;
  s->t_sent = mdi_intake_clock();
  s->base.read = sse_read;
  s->base.close = sse_close;
  s->job = job;
  s->meta = *meta;
  snprintf(s->id, sizeof s->id, "%s", meta->id);
  s->model = mdi_xstrdup(meta->model);
  s->meta.id = s->id;
  s->meta.model = s->model;
  s->n = n;
  s->started = mdi_xcalloc((size_t)n, 1, "stream");
  s->ended = mdi_xcalloc((size_t)n, 1, "stream");
  s->include_usage = include_usage;
  rs->status = 200;
  rs->content_type = "text/event-stream";
  rs->stream = &s->base;
}

/* Wait for the whole answer; NULL status 499 when the client left. */
static void finish_whole(struct mdi_http_response *rs, void *conn, struct mdi_job *job, const struct mdi_api_meta *meta,
                         int n) {
  while (!mdi_job_wait(job, SSE_WAIT_S)) {
    if (mdi_http_gone(conn)) {
      mdi_job_cancel(job);
      mdi_job_release(job);
      struct mdi_api_error e;
      mdi_api_fail(&e, 499, "invalid_request_error", NULL, NULL, "The client closed the connection.");
      reply_error(rs, &e);
      return;
    }
  }
  struct mdi_take *takes = mdi_xcalloc((size_t)n, sizeof *takes, "choices");
  struct mdi_api_choice *choices = mdi_xcalloc((size_t)n, sizeof *choices, "choices");
  struct mdi_api_usage usage = {0, 0};
  int cancelled = 0;
  for (int k = 0; k < n; k++) {
    mdi_job_take(job, k, &takes[k]);
    const struct mdi_take *t = &takes[k];
    choices[k] = (struct mdi_api_choice){t->text, t->len, t->ids, t->n_ids, finish_name(t->finish)};
    cancelled |= t->finish == MDI_FINISH_CANCEL;
    usage.prompt_tokens = t->n_prompt;
    usage.completion_tokens += t->n_generated;
  }
  mdi_job_release(job);
  if (cancelled) {
    struct mdi_api_error e;
    mdi_api_fail(&e, 503, "server_error", "server_shutting_down", NULL,
                 "The server is shutting down; this request was cancelled.");
    reply_error(rs, &e);
  } else {
    struct mdi_json_writer w;
    mdi_jw_init(&w, 0);
    mdi_api_write_response(&w, meta, choices, n, &usage);
    reply_json(rs, 200, &w);
  }
  for (int k = 0; k < n; k++) mdi_take_free(&takes[k]);
  free(takes);
  free(choices);
}

/* The request's prompt text: as given, or the chat rendered. */
static int prompt_text(struct mdi_endpoints *ep, const struct mdi_api_request *r, char **text, struct mdi_api_error *e) {
  if (r->kind == MDI_API_COMPLETIONS) {
    *text = mdi_xstrdup(r->prompt);
    return MDI_OK;
  }
  if (!ep->chat)
    return mdi_api_fail(e, 400, "invalid_request_error", "no_chat_template", "messages",
                        "The model %s has no chat template: use /v1/completions.", ep->model_name);
  if (ep->chat(ep->chat_ctx, r->messages, r->n_messages, text) != MDI_OK)
    return mdi_api_fail(e, 400, "invalid_request_error", "invalid_value", "messages", "%s", mdi_error());
  return MDI_OK;
}

static void completion(struct mdi_endpoints *ep, const struct mdi_http_request *rq, struct mdi_http_response *rs,
                       enum mdi_api_kind kind) {
  struct mdi_api_request r;
  struct mdi_api_error e;
  char *text = NULL;
  struct mdi_ids ids = {0};
  if (mdi_api_parse(kind, rq->body, rq->body_len, &r, &e) != MDI_OK) {
    reply_error(rs, &e);
    return;
  }
  if (prompt_text(ep, &r, &text, &e) != MDI_OK) goto fail;
  if (mdi_prompt_encode(ep->tok, text, strlen(text), kind == MDI_API_CHAT ? MDI_PROMPT_CHAT : 0, &ids) != MDI_OK) {
    mdi_api_fail(&e, 400, "invalid_request_error", "invalid_value", kind == MDI_API_CHAT ? "messages" : "prompt",
                 "The prompt cannot be encoded: %s", mdi_error());
    goto fail;
  }
  const int n_prompt = ids.n;
  if (n_prompt > ep->max_seq) {
    mdi_api_fail(&e, 400, "invalid_request_error", "context_length_exceeded", kind == MDI_API_CHAT ? "messages" : "prompt",
                 "This model's maximum context length is %d tokens. However, your prompt is %d tokens.", ep->max_seq,
                 n_prompt);
    goto fail;
  }
  const struct mdi_options *o = ep->opt;
  const int cap = o->max_tokens_cap > 0 ? o->max_tokens_cap : ep->max_seq;
  int max_new = r.max_tokens > 0 ? r.max_tokens : o->max_new_tokens;
  if (max_new == 0 || max_new > cap) max_new = cap;
  const uint64_t seed = r.has_seed ? r.seed : __atomic_fetch_add(&ep->next_seed, (uint64_t)r.n, __ATOMIC_RELAXED);
  struct mdi_job_spec spec = {
      .prompt = text,
      .prompt_tokens = ids.v,
      .n_prompt = n_prompt,
      .n = r.n,
      .max_new = max_new,
      .seed = seed,
      .sampling = {(float)(r.temperature >= 0 ? r.temperature : o->temperature),
                   (float)(r.top_p >= 0 ? r.top_p : o->top_p), r.top_k >= 0 ? r.top_k : o->top_k},
      .stop = (const char *const *)r.stop,
      .n_stop = r.n_stop,
  };
  int closed;
  struct mdi_job *job = mdi_intake_submit(ep->intake, &spec, &closed);
  if (!job) {
    if (closed) mdi_api_fail(&e, 503, "server_error", "server_shutting_down", NULL, "The server is shutting down.");
    else mdi_api_fail(&e, 503, "server_error", "server_busy", NULL,
                      "The server is busy: its queue of %d sequences (--max-queue) is full. Try again later.",
                      o->max_queue);
    goto fail;
  }
  char id[48];
  snprintf(id, sizeof id, "%s-%08llx%08llx", kind == MDI_API_CHAT ? "chatcmpl" : "cmpl",
           (unsigned long long)ep->created, (unsigned long long)__atomic_add_fetch(&ep->next_id, 1, __ATOMIC_RELAXED));
  const struct mdi_api_meta meta = {kind, id, (int64_t)time(NULL), ep->model_name, r.return_tokens};
  if (r.stream) start_stream(rs, job, &meta, r.n, r.include_usage, o->client_timeout);
  else finish_whole(rs, rq->conn, job, &meta, r.n);
  goto done;
fail:
  reply_error(rs, &e);
done:
  free(text);
  mdi_ids_free(&ids);
  mdi_api_request_free(&r);
}

/* ---- the other endpoints ------------------------------------------------- */

static void metrics(struct mdi_endpoints *ep, struct mdi_http_response *rs) {
  struct mdi_intake_stats st;
  mdi_intake_snapshot(ep->intake, &st, NULL); /* n_ranks, fixed at start */
  const int n_ranks = st.n_ranks;
  struct mdi_rank_load *loads = mdi_xcalloc((size_t)n_ranks, sizeof *loads, "metrics");
  mdi_intake_snapshot(ep->intake, &st, loads);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) MDI_PANIC("out of memory writing metrics");
  fprintf(f, "# HELP mdi_requests_total HTTP requests by endpoint and status code.\n"
             "# TYPE mdi_requests_total counter\n");
  for (int i = 0; i < MDI_EP_COUNT; i++)
    for (int c = 0; c < MDI_EP_CODES; c++) {
      const long v = __atomic_load_n(&ep->requests[i][c], __ATOMIC_RELAXED);
      if (v) fprintf(f, "mdi_requests_total{endpoint=\"%s\",code=\"%d\"} %ld\n", ep_names[i], codes[c], v);
    }
  fprintf(f, "# HELP mdi_jobs_total Completion requests accepted into the queue.\n# TYPE mdi_jobs_total counter\n"
             "mdi_jobs_total %ld\n", st.jobs);
  fprintf(f, "# HELP mdi_jobs_rejected_total Completion requests refused (queue full or shutting down).\n"
             "# TYPE mdi_jobs_rejected_total counter\nmdi_jobs_rejected_total %ld\n", st.rejected);
  fprintf(f, "# HELP mdi_sequences_total Sequences (choices) finished, by reason.\n# TYPE mdi_sequences_total counter\n"
             "mdi_sequences_total{reason=\"stop\"} %ld\nmdi_sequences_total{reason=\"length\"} %ld\n"
             "mdi_sequences_total{reason=\"cancelled\"} %ld\n",
          st.finished[MDI_FINISH_STOP], st.finished[MDI_FINISH_LENGTH], st.finished[MDI_FINISH_CANCEL]);
  fprintf(f, "# HELP mdi_prompt_tokens_total Prompt tokens that went through the ring.\n"
             "# TYPE mdi_prompt_tokens_total counter\nmdi_prompt_tokens_total %ld\n", st.prompt_tokens);
  fprintf(f, "# HELP mdi_generated_tokens_total Tokens generated.\n# TYPE mdi_generated_tokens_total counter\n"
             "mdi_generated_tokens_total %ld\n", st.generated_tokens);
  fprintf(f, "# HELP mdi_queue_depth Sequences waiting for a free slot.\n# TYPE mdi_queue_depth gauge\n"
             "mdi_queue_depth %d\n", st.waiting);
  fprintf(f, "# HELP mdi_slots_busy Slots holding a sequence.\n# TYPE mdi_slots_busy gauge\nmdi_slots_busy %d\n",
          st.busy);
  fprintf(f, "# HELP mdi_slots Sequence slots (batch x micro-batches).\n# TYPE mdi_slots gauge\nmdi_slots %d\n",
          st.slots);
  fprintf(f, "# HELP mdi_time_to_first_token_seconds From a request's arrival to its first token.\n"
             "# TYPE mdi_time_to_first_token_seconds summary\n"
             "mdi_time_to_first_token_seconds_sum %.6f\nmdi_time_to_first_token_seconds_count %ld\n",
          st.ttft_sum_s, st.ttft_count);
  fprintf(f, "# HELP mdi_rank_compute_seconds_total Seconds each rank spent computing (rank 0: also sampling).\n"
             "# TYPE mdi_rank_compute_seconds_total counter\n");
  for (int i = 0; i < n_ranks; i++)
    fprintf(f, "mdi_rank_compute_seconds_total{rank=\"%d\"} %.6f\n", i, loads[i].compute_s);
  fprintf(f, "# HELP mdi_rank_idle_seconds_total Seconds each rank's ring loop spent not computing.\n"
             "# TYPE mdi_rank_idle_seconds_total counter\n");
  for (int i = 0; i < n_ranks; i++) {
    const double idle = loads[i].wall_s > loads[i].compute_s ? loads[i].wall_s - loads[i].compute_s : 0.0;
    fprintf(f, "mdi_rank_idle_seconds_total{rank=\"%d\"} %.6f\n", i, idle);
  }
  fclose(f);
  reply(rs, 200, "text/plain; version=0.0.4; charset=utf-8", buf, len);
  free(buf);
  free(loads);
}

/* Constant-time comparison of "Bearer KEY" with the key. */
static int authorized(const struct mdi_endpoints *ep, const char *header) {
  if (!ep->api_key) return 1;
  if (!header || strncmp(header, "Bearer ", 7) != 0) return 0;
  const char *given = header + 7;
  const size_t a = strlen(given), b = strlen(ep->api_key);
  unsigned diff = (unsigned)(a ^ b);
  for (size_t i = 0; i < a; i++) diff |= (unsigned char)given[i] ^ (unsigned char)ep->api_key[i % (b ? b : 1)];
  return diff == 0;
}

static int route(const char *path) {
  if (!strcmp(path, "/v1/completions")) return EP_COMPLETIONS;
  if (!strcmp(path, "/v1/chat/completions")) return EP_CHAT;
  if (!strcmp(path, "/v1/models") || !strncmp(path, "/v1/models/", 11)) return EP_MODELS;
  if (!strcmp(path, "/health")) return EP_HEALTH;
  if (!strcmp(path, "/metrics")) return EP_METRICS;
  return EP_OTHER;
}

static void dispatch(struct mdi_endpoints *ep, const struct mdi_http_request *rq, struct mdi_http_response *rs, int which) {
  struct mdi_api_error e;
  const int post = which == EP_COMPLETIONS || which == EP_CHAT;
  if (rq->header_timeout) {
    mdi_api_fail(&e, 408, "invalid_request_error", "request_timeout", NULL,
                 "The request's header did not arrive within %g s (--client-timeout).", ep->opt->client_timeout);
    reply_error(rs, &e);
    return;
  }
  if (which == EP_HEALTH && !strcmp(rq->method, "GET")) {
    const int draining = __atomic_load_n(&ep->draining, __ATOMIC_RELAXED);
    const char *body = draining ? "{\"status\":\"draining\"}" : "{\"status\":\"ok\"}";
    reply(rs, draining ? 503 : 200, "application/json", body, strlen(body));
    return;
  }
  if (!authorized(ep, rq->authorization)) {
    mdi_api_fail(&e, 401, "invalid_request_error", "invalid_api_key", NULL,
                 rq->authorization ? "Incorrect API key provided." : "You didn't provide an API key (Authorization: Bearer KEY).");
    reply_error(rs, &e);
    return;
  }
  if (which == EP_OTHER) {
    mdi_api_fail(&e, 404, "invalid_request_error", "unknown_url", NULL, "Unknown request URL: %s %.200s.", rq->method,
                 rq->path);
    reply_error(rs, &e);
    return;
  }
  if (strcmp(rq->method, post ? "POST" : "GET") != 0) {
    mdi_api_fail(&e, 405, "invalid_request_error", "method_not_allowed", NULL, "%s %.200s: use %s.", rq->method,
                 rq->path, post ? "POST" : "GET");
    reply_error(rs, &e);
    rs->header_name = "Allow", rs->header_value = post ? "POST" : "GET";
    return;
  }
  if (rq->too_large) {
    mdi_api_fail(&e, 413, "invalid_request_error", "request_too_large", NULL,
                 "The request body is larger than %d bytes (--max-body).", ep->opt->max_body);
    reply_error(rs, &e);
    return;
  }
  struct mdi_json_writer w;
  switch (which) {
    case EP_COMPLETIONS: completion(ep, rq, rs, MDI_API_COMPLETIONS); return;
    case EP_CHAT: completion(ep, rq, rs, MDI_API_CHAT); return;
    case EP_METRICS: metrics(ep, rs); return;
    case EP_MODELS: {
      const char *one = !strncmp(rq->path, "/v1/models/", 11) ? rq->path + 11 : NULL;
      if (one && strcmp(one, ep->model_name) != 0) {
        mdi_api_fail(&e, 404, "invalid_request_error", "model_not_found", "model", "The model '%.200s' does not exist.",
                     one);
        reply_error(rs, &e);
        return;
      }
      mdi_jw_init(&w, 0);
      mdi_api_write_models(&w, ep->model_name, ep->created, one != NULL);
      reply_json(rs, 200, &w);
      return;
    }
  }
}

void mdi_endpoints_handle(void *ctx, const struct mdi_http_request *rq, struct mdi_http_response *rs) {
  struct mdi_endpoints *ep = ctx;
  const int which = route(rq->path);
  dispatch(ep, rq, rs, which);
  count(ep, which, rs->status);
}
