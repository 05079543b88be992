/* The server's endpoints (docs/SERVING.md): POST /v1/completions and
 * /v1/chat/completions (whole or streamed as server-sent events), GET
 * /v1/models, /health and /metrics (Prometheus text).  Requests become
 * intake jobs; errors are OpenAI error objects.  The handler runs in the
 * connection's own thread and blocks while its request runs. */
#ifndef MDI_ENDPOINTS_H
#define MDI_ENDPOINTS_H

#include <stdint.h>

#include "mdi/app/http.h"
#include "mdi/app/intake.h"
#include "mdi/app/openai.h"
#include "mdi/app/options.h"
#include "mdi/model/tokenizer.h"

enum { MDI_EP_COUNT = 6, MDI_EP_CODES = 11 };

/* Renders chat messages into a prompt (the model's chat template); NULL
 * when the model has none.  Returns MDI_ERR with the message set when the
 * conversation does not fit the template. */
typedef int (*mdi_chat_renderer)(void *ctx, const struct mdi_api_message *m, int n, char **prompt);

struct mdi_endpoints {
  struct mdi_intake *intake;
  const struct mdi_tokenizer *tok;
  const struct mdi_options *opt;
  int max_seq;
  const char *api_key;          /* NULL: no key needed */
  const char *model_name;
  int64_t created;              /* Unix time the server started */
  mdi_chat_renderer chat;         /* NULL: /v1/chat/completions answers 400 */
  void *chat_ctx;
  /* counters (atomic) */
  uint64_t next_seed;           /* requests without a seed: --seed, then one more per sequence */
  uint64_t next_id;
  long requests[MDI_EP_COUNT][MDI_EP_CODES];
  int draining;                 /* /health says so */
};

/* Set the fields above the counters; the counters start at zero. */
void mdi_endpoints_init(struct mdi_endpoints *ep);
/* The mdi_http_handler. */
void mdi_endpoints_handle(void *ctx, const struct mdi_http_request *rq, struct mdi_http_response *rs);

#endif
