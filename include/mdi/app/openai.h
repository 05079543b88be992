/* The OpenAI API's JSON: requests of /v1/completions and
 * /v1/chat/completions read into a struct (unknown fields ignored, as
 * OpenAI does; a known field of the wrong type or out of range is a 400
 * naming it), and the response objects, stream chunks and error objects
 * written.  No HTTP here (that is http.c) and no model (serve.c joins them). */
#ifndef MDI_OPENAI_H
#define MDI_OPENAI_H

#include <stddef.h>
#include <stdint.h>

#include "mdi/base/json.h"

#define MDI_API_MAX_STOP 4
#define MDI_API_MAX_N 64

enum mdi_api_kind { MDI_API_COMPLETIONS, MDI_API_CHAT };

struct mdi_api_message {
  char *role;     /* "system", "user", "assistant", ... */
  char *content;  /* text (parts of type "text" joined) */
};

struct mdi_api_request {
  enum mdi_api_kind kind;
  char *model;                   /* NULL when absent */
  char *prompt;                  /* completions */
  struct mdi_api_message *messages; /* chat: [n_messages] */
  int n_messages;
  int max_tokens;                /* -1: absent (max_tokens, or max_completion_tokens for chat) */
  double temperature, top_p;     /* -1: absent */
  int top_k;                     /* -1: absent (an extension, as in llama.cpp) */
  int has_seed;
  uint64_t seed;
  char *stop[MDI_API_MAX_STOP];
  int n_stop;
  int n;                         /* choices (default 1) */
  int stream;
  int include_usage;             /* stream_options.include_usage */
  int return_tokens;             /* extension: token ids in every choice and chunk */
};

/* An error as OpenAI reports it: {"error": {"message", "type", "param", "code"}}. */
struct mdi_api_error {
  int status;                    /* HTTP status */
  const char *type;              /* "invalid_request_error", "server_error", ... */
  const char *code;              /* NULL or e.g. "context_length_exceeded" */
  char param[64];                /* "" when none */
  char message[512];
};

/* Set an error (printf-style message); returns MDI_ERR. */
int mdi_api_fail(struct mdi_api_error *e, int status, const char *type, const char *code, const char *param,
                 const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Parse a request body.  MDI_ERR with *err set (status 400) when it is not
 * a valid request. */
int mdi_api_parse(enum mdi_api_kind kind, const char *body, size_t len, struct mdi_api_request *out,
                  struct mdi_api_error *err);
void mdi_api_request_free(struct mdi_api_request *r);

/* ---- writing ------------------------------------------------------------- */

/* What one choice produced. */
struct mdi_api_choice {
  const char *text;
  size_t len;
  const int *ids;                /* with return_tokens */
  int n_ids;
  const char *finish_reason;     /* "stop", "length" or NULL (not yet) */
};

/* Fields every response and chunk carries. */
struct mdi_api_meta {
  enum mdi_api_kind kind;
  const char *id;                /* "cmpl-..." or "chatcmpl-..." */
  int64_t created;               /* Unix time */
  const char *model;
  int return_tokens;
};

struct mdi_api_usage {
  long prompt_tokens, completion_tokens;
};

void mdi_api_write_error(struct mdi_json_writer *w, const struct mdi_api_error *e);
/* The whole response: choices[n], usage. */
void mdi_api_write_response(struct mdi_json_writer *w, const struct mdi_api_meta *m, const struct mdi_api_choice *c,
                            int n, const struct mdi_api_usage *u);
/* One stream chunk for choice `index`: new text (may be empty), and the
 * finish reason on its last chunk.  first: the chat delta carries the role.
 * with_usage: "usage": null (stream_options.include_usage). */
void mdi_api_write_chunk(struct mdi_json_writer *w, const struct mdi_api_meta *m, int index,
                         const struct mdi_api_choice *c, int first, int with_usage);
/* The last chunk of a stream with include_usage: no choices, the usage. */
void mdi_api_write_usage_chunk(struct mdi_json_writer *w, const struct mdi_api_meta *m, const struct mdi_api_usage *u);
/* GET /v1/models (model_id NULL) or /v1/models/ID. */
void mdi_api_write_models(struct mdi_json_writer *w, const char *model, int64_t created, int one);

#endif
