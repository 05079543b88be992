/* Rank 0's front for requests that arrive while the ring runs (see serve.h).
 *
 * Threads: libmicrohttpd's (one per connection) or the terminal loop submit
 * jobs; a watcher thread turns SIGINT/SIGTERM (written to a pipe by the
 * handler, the one async-signal-safe way out) into the drain; rank 0's main
 * thread runs the ring and never blocks on any of them. */
#include "mdi/app/serve.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mdi/app/endpoints.h"
#include "mdi/app/http.h"
#include "mdi/app/intake.h"
#include "mdi/app/interactive.h"
#include "mdi/app/prompts.h"
#include "mdi/app/signals.h"
#include "mdi/base/error.h"

struct mdi_serve {
  struct mdi_serve_config cfg;
  struct mdi_intake *intake;
  struct mdi_http *http;
  struct mdi_endpoints ep;
  char model_name[256];
  char *api_key;
  pthread_t watcher, terminal;
  int has_watcher, has_terminal;
  struct mdi_interactive term;
};

/* ---- signals (app/signals.c: the handler writes each one to a pipe) ------ */

/* Seconds the drain may take.  A signal from our parent under Open MPI is
 * mpirun (or its daemon on another node) passing on its own SIGINT or
 * SIGTERM: it sends SIGKILL odls_base_sigkill_timeout seconds later (1 by
 * default), so the drain gets half of that, and the other half is for the
 * cancellations, STOP round the ring and the ranks' exit. */
static double drain_budget(const struct mdi_serve *s, int *from_launcher, double *kill_after) {
  const double t = s->cfg.opt->drain_timeout;
  *from_launcher = getenv("OMPI_COMM_WORLD_RANK") && mdi_signals_sender() == (long)getppid();
  if (!*from_launcher) return t;
  const char *k = getenv("OMPI_MCA_odls_base_sigkill_timeout");
  *kill_after = k && atof(k) > 0 ? atof(k) : 1.0;
  return t < *kill_after / 2 ? t : *kill_after / 2;
}

/* The server's shutdown: the first signal stops accepting and starts the
 * drain, a second one (or the drain timeout) cancels what still runs.  A
 * zero byte on the pipe ends the thread. */
static void *watch_signals(void *arg) {
  struct mdi_serve *s = arg;
  int draining = 0, cancelled = 0;
  double deadline = 0;
  for (;;) {
    struct pollfd p = {.fd = mdi_signals_fd(), .events = POLLIN};
    const int wait_ms = draining && !cancelled ? 100 : -1;
    if (poll(&p, 1, wait_ms) > 0) {
      unsigned char b;
      if (read(mdi_signals_fd(), &b, 1) == 1) {
        if (b == 0) return NULL;
        if (!draining) {
          draining = 1;
          int from_launcher;
          double kill_after = 0;
          const double budget = drain_budget(s, &from_launcher, &kill_after);
          deadline = mdi_intake_clock() + budget;
          __atomic_store_n(&s->ep.draining, 1, __ATOMIC_RELAXED);
          mdi_http_quiesce(s->http);
          mdi_intake_close(s->intake);
          if (from_launcher)
            mdi_log_info("%s by mpirun, which kills every rank %g s later (odls_base_sigkill_timeout): no new "
                         "requests; %d running or queued get %g s to finish", strsignal(b), kill_after,
                         mdi_intake_jobs(s->intake), budget);
          else
            mdi_log_info("%s: no new requests; %d running or queued get %g s to finish (--drain-timeout)",
                         strsignal(b), mdi_intake_jobs(s->intake), budget);
        } else if (!cancelled) {
          mdi_log_info("%s again: cancelling the requests that still run", strsignal(b));
          deadline = 0;
        }
      }
    }
    if (draining && !cancelled && mdi_intake_clock() >= deadline) {
      cancelled = 1;
      mdi_intake_cancel_all(s->intake);
    }
  }
}

/* ---- start and finish ---------------------------------------------------- */

/* "dir/stories260K.h5" -> "stories260K" */
static void default_model_name(const char *model, char *out, size_t cap) {
  const char *slash = strrchr(model, '/');
  const char *base = slash ? slash + 1 : model;
  size_t n = strlen(base);
  if (n > 3 && !strcmp(base + n - 3, ".h5")) n -= 3;
  snprintf(out, cap, "%.*s", (int)n, base);
}
/* The server's and -i's chat hook: the API's messages rendered with the
 * model's chat format (ctx: the tokenizer). */
static int render_chat(void *tok, const struct mdi_api_message *m, int n, char **prompt) {
  struct mdi_chat_message *c = mdi_xcalloc((size_t)(n > 0 ? n : 1), sizeof *c, "chat messages");
  for (int i = 0; i < n; i++) c[i] = (struct mdi_chat_message){m[i].role, m[i].content};
  const int rc = mdi_prompt_chat(tok, c, n, prompt);
  free(c);
  return rc;
}


int mdi_serve_start(struct mdi_serve **out, const struct mdi_serve_config *cfg) {
  const struct mdi_options *o = cfg->opt;
  struct mdi_serve *s = mdi_xcalloc(1, sizeof *s, "server");
  s->cfg = *cfg;
  s->intake = mdi_intake_create(cfg->tok, o->max_queue, cfg->slots, cfg->n_ranks);
  if (mdi_signals_install(0) != MDI_OK) { /* a second signal cancels, it does not kill */
    mdi_intake_destroy(s->intake);
    free(s);
    return MDI_ERR;
  }
  if (o->interactive) {
    /* with a chat format each line is the user's turn of a conversation */
    const int chat = cfg->tok->chat_format[0] != '\0';
    s->term = (struct mdi_interactive){s->intake, cfg->tok, o, cfg->max_seq, chat ? render_chat : NULL,
                                       (void *)cfg->tok, mdi_signals_fd()};
    pthread_create(&s->terminal, NULL, mdi_interactive_main, &s->term);
    s->has_terminal = 1;
    *out = s;
    return MDI_OK;
  }
  if (o->model_name) snprintf(s->model_name, sizeof s->model_name, "%s", o->model_name);
  else default_model_name(o->model, s->model_name, sizeof s->model_name);
  const char *env_key = getenv("MDI_API_KEY");
  if (o->api_key || (env_key && env_key[0])) s->api_key = mdi_xstrdup(o->api_key ? o->api_key : env_key);
  s->ep = (struct mdi_endpoints){.intake = s->intake, .tok = cfg->tok, .opt = o, .max_seq = cfg->max_seq,
                                 .api_key = s->api_key, .model_name = s->model_name, .created = (int64_t)time(NULL),
                                 .chat = cfg->tok->chat_format[0] ? render_chat : NULL, .chat_ctx = (void *)cfg->tok};
  mdi_endpoints_init(&s->ep);
  const struct mdi_http_config hc = {o->serve, (size_t)o->max_body, o->client_timeout, 1024};
  int port;
  if (mdi_http_start(&s->http, &hc, mdi_endpoints_handle, &s->ep, &port) != MDI_OK) {
    mdi_signals_remove();
    mdi_intake_destroy(s->intake);
    free(s->api_key);
    free(s);
    return MDI_ERR;
  }
  pthread_create(&s->watcher, NULL, watch_signals, s);
  s->has_watcher = 1;
  /* not an info line: scripts wait for it even with --quiet */
  fprintf(stderr, "mdi_pipeline: serving %s on port %d (pid %d, %d slots, model \"%s\"%s)\n", o->serve, port,
          (int)getpid(), cfg->slots, s->model_name, s->api_key ? ", API key required" : "");
  fflush(stderr);
  *out = s;
  return MDI_OK;
}

struct mdi_request_source mdi_serve_source(struct mdi_serve *s) { return mdi_intake_source(s->intake); }
struct mdi_sequence_sink mdi_serve_sink(struct mdi_serve *s) { return mdi_intake_sink(s->intake); }

void mdi_serve_finish(struct mdi_serve *s) {
  if (!s) return;
  if (s->has_watcher) {
    mdi_signals_wake(0); /* the watcher's end */
    pthread_join(s->watcher, NULL);
  }
  if (s->has_terminal) pthread_join(s->terminal, NULL);
  /* streams send their last events before the connections close */
  const double until = mdi_intake_clock() + 5.0;
  while (mdi_intake_jobs(s->intake) > 0 && mdi_intake_clock() < until) {
    struct timespec ts = {0, 10000000};
    nanosleep(&ts, NULL);
  }
  mdi_http_stop(s->http);
  mdi_signals_remove();
  mdi_intake_destroy(s->intake);
  free(s->api_key);
  free(s);
}

void mdi_serve_stage_signals(void) { mdi_signals_ignore(); }
