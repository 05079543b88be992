/* OpenAI request parsing and response writing (see openai.h). */
#include "mdi/app/openai.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdi/base/error.h"

int mdi_api_fail(struct mdi_api_error *e, int status, const char *type, const char *code, const char *param,
                 const char *fmt, ...) {
  e->status = status;
  e->type = type;
  e->code = code;
  snprintf(e->param, sizeof e->param, "%s", param ? param : "");
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->message, sizeof e->message, fmt, ap);
  va_end(ap);
  return MDI_ERR;
}

static int bad_type(struct mdi_api_error *e, const char *param, const char *expected, const struct mdi_json *v) {
  return mdi_api_fail(e, 400, "invalid_request_error", "invalid_type", param,
                      "Invalid type for '%s': expected %s, but got %s instead.", param, expected,
                      mdi_json_type_name(v));
}

static int bad_value(struct mdi_api_error *e, const char *param, const char *what) {
  return mdi_api_fail(e, 400, "invalid_request_error", "invalid_value", param, "Invalid value for '%s': %s.", param,
                      what);
}

/* JSON null counts as absent, as OpenAI treats it. */
static const struct mdi_json *field(const struct mdi_json *o, const char *key) {
  const struct mdi_json *v = mdi_json_get(o, key);
  return v && mdi_json_type(v) != MDI_JSON_NULL ? v : NULL;
}

static int get_number(const struct mdi_json *o, const char *key, double lo, double hi, double *out,
                      struct mdi_api_error *e) {
  const struct mdi_json *v = field(o, key);
  if (!v) return MDI_OK;
  if (mdi_json_type(v) != MDI_JSON_NUMBER) return bad_type(e, key, "a number", v);
  const double x = mdi_json_number(v);
  if (!(x >= lo && x <= hi)) {
    char what[96];
    snprintf(what, sizeof what, "%g is not in [%g, %g]", x, lo, hi);
    return bad_value(e, key, what);
  }
  *out = x;
  return MDI_OK;
}

static int get_int(const struct mdi_json *o, const char *key, int64_t lo, int64_t hi, int64_t *out,
                   struct mdi_api_error *e) {
  const struct mdi_json *v = field(o, key);
  if (!v) return MDI_OK;
  if (mdi_json_type(v) != MDI_JSON_NUMBER) return bad_type(e, key, "an integer", v);
  if (!mdi_json_int(v, lo, hi, out)) {
    char what[96];
    snprintf(what, sizeof what, "expected an integer in [%lld, %lld]", (long long)lo, (long long)hi);
    return bad_value(e, key, what);
  }
  return MDI_OK;
}

static int get_bool(const struct mdi_json *o, const char *key, int *out, struct mdi_api_error *e) {
  const struct mdi_json *v = field(o, key);
  if (!v) return MDI_OK;
  if (mdi_json_type(v) != MDI_JSON_BOOL) return bad_type(e, key, "a boolean", v);
  *out = mdi_json_bool(v);
  return MDI_OK;
}

static int get_stop(const struct mdi_json *o, struct mdi_api_request *r, struct mdi_api_error *e) {
  const struct mdi_json *v = field(o, "stop");
  if (!v) return MDI_OK;
  if (mdi_json_type(v) == MDI_JSON_STRING) {
    if (!mdi_json_string(v)[0]) return bad_value(e, "stop", "a stop string must not be empty");
    r->stop[r->n_stop++] = mdi_xstrdup(mdi_json_string(v));
    return MDI_OK;
  }
  if (mdi_json_type(v) != MDI_JSON_ARRAY) return bad_type(e, "stop", "a string or an array of strings", v);
  if (mdi_json_count(v) > MDI_API_MAX_STOP) return bad_value(e, "stop", "at most 4 stop strings");
  for (const struct mdi_json *s = mdi_json_first(v); s; s = mdi_json_next(s)) {
    if (mdi_json_type(s) != MDI_JSON_STRING) return bad_type(e, "stop", "an array of strings", s);
    if (!mdi_json_string(s)[0]) return bad_value(e, "stop", "a stop string must not be empty");
    r->stop[r->n_stop++] = mdi_xstrdup(mdi_json_string(s));
  }
  return MDI_OK;
}

static int get_prompt(const struct mdi_json *o, struct mdi_api_request *r, struct mdi_api_error *e) {
  const struct mdi_json *v = field(o, "prompt");
  if (!v) return mdi_api_fail(e, 400, "invalid_request_error", "missing_required_parameter", "prompt",
                              "Missing required parameter: 'prompt'.");
  if (mdi_json_type(v) == MDI_JSON_ARRAY && mdi_json_count(v) == 1 &&
      mdi_json_type(mdi_json_first(v)) == MDI_JSON_STRING)
    v = mdi_json_first(v);
  else if (mdi_json_type(v) == MDI_JSON_ARRAY)
    return bad_value(e, "prompt", "one prompt (a string) per request is supported");
  if (mdi_json_type(v) != MDI_JSON_STRING) return bad_type(e, "prompt", "a string", v);
  r->prompt = mdi_xstrdup(mdi_json_string(v));
  return MDI_OK;
}

/* A message's content: a string, or parts of type "text" (joined). */
static int get_content(const struct mdi_json *m, char **out, struct mdi_api_error *e) {
  const struct mdi_json *c = field(m, "content");
  if (!c) {
    *out = mdi_xstrdup("");
    return MDI_OK;
  }
  if (mdi_json_type(c) == MDI_JSON_STRING) {
    *out = mdi_xstrdup(mdi_json_string(c));
    return MDI_OK;
  }
  if (mdi_json_type(c) != MDI_JSON_ARRAY) return bad_type(e, "messages.content", "a string or an array", c);
  size_t len = 0;
  for (const struct mdi_json *p = mdi_json_first(c); p; p = mdi_json_next(p)) {
    const char *type = mdi_json_string(mdi_json_get(p, "type"));
    const char *text = mdi_json_string(mdi_json_get(p, "text"));
    if (!type || strcmp(type, "text") != 0 || !text)
      return bad_value(e, "messages.content", "only parts of type \"text\" are supported");
    len += strlen(text);
  }
  char *s = mdi_xmalloc(len + 1, "message");
  s[0] = '\0';
  for (const struct mdi_json *p = mdi_json_first(c); p; p = mdi_json_next(p))
    strcat(s, mdi_json_string(mdi_json_get(p, "text")));
  *out = s;
  return MDI_OK;
}

static int get_messages(const struct mdi_json *o, struct mdi_api_request *r, struct mdi_api_error *e) {
  const struct mdi_json *v = field(o, "messages");
  if (!v) return mdi_api_fail(e, 400, "invalid_request_error", "missing_required_parameter", "messages",
                              "Missing required parameter: 'messages'.");
  if (mdi_json_type(v) != MDI_JSON_ARRAY) return bad_type(e, "messages", "an array", v);
  const int n = mdi_json_count(v);
  if (n == 0) return bad_value(e, "messages", "at least one message is needed");
  r->messages = mdi_xcalloc((size_t)n, sizeof *r->messages, "messages");
  for (const struct mdi_json *m = mdi_json_first(v); m; m = mdi_json_next(m)) {
    if (mdi_json_type(m) != MDI_JSON_OBJECT) return bad_type(e, "messages", "an array of objects", m);
    const struct mdi_json *role = field(m, "role");
    if (!role) return mdi_api_fail(e, 400, "invalid_request_error", "missing_required_parameter", "messages.role",
                                   "Missing required parameter: 'messages.role'.");
    if (mdi_json_type(role) != MDI_JSON_STRING) return bad_type(e, "messages.role", "a string", role);
    struct mdi_api_message *cm = &r->messages[r->n_messages++];
    cm->role = mdi_xstrdup(mdi_json_string(role));
    if (get_content(m, &cm->content, e) != MDI_OK) return MDI_ERR;
  }
  return MDI_OK;
}

int mdi_api_parse(enum mdi_api_kind kind, const char *body, size_t len, struct mdi_api_request *r,
                  struct mdi_api_error *e) {
  memset(r, 0, sizeof *r);
  r->kind = kind;
  r->max_tokens = -1;
  r->temperature = r->top_p = -1;
  r->top_k = -1;
  r->n = 1;
  struct mdi_json_doc *doc;
  if (mdi_json_parse(&doc, body, len, "request body") != MDI_OK)
    return mdi_api_fail(e, 400, "invalid_request_error", "invalid_json", NULL,
                        "We could not parse the JSON body of your request: %s", mdi_error());
  const struct mdi_json *o = mdi_json_root(doc);
  int rc = MDI_ERR;
  int64_t v;
  if (mdi_json_type(o) != MDI_JSON_OBJECT) {
    mdi_api_fail(e, 400, "invalid_request_error", "invalid_json", NULL,
                 "The request body must be a JSON object, not %s.", mdi_json_type_name(o));
    goto done;
  }
  const struct mdi_json *model = field(o, "model");
  if (model && mdi_json_type(model) != MDI_JSON_STRING) {
    bad_type(e, "model", "a string", model);
    goto done;
  }
  if (model) r->model = mdi_xstrdup(mdi_json_string(model));
  if ((kind == MDI_API_COMPLETIONS ? get_prompt(o, r, e) : get_messages(o, r, e)) != MDI_OK) goto done;
  /* chat's newer name for max_tokens */
  const char *max_key = kind == MDI_API_CHAT && field(o, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  v = -1;
  if (get_int(o, max_key, 1, 1 << 30, &v, e) != MDI_OK) goto done;
  r->max_tokens = (int)v;
  if (get_number(o, "temperature", 0, 2, &r->temperature, e) != MDI_OK) goto done;
  if (get_number(o, "top_p", 0, 1, &r->top_p, e) != MDI_OK) goto done;
  if (r->top_p == 0) { /* nucleus of nothing: the sampler needs top_p > 0 */
    bad_value(e, "top_p", "0 is not in (0, 1]");
    goto done;
  }
  v = -1;
  if (get_int(o, "top_k", 0, 1 << 22, &v, e) != MDI_OK) goto done;
  r->top_k = (int)v;
  v = -1;
  if (get_int(o, "seed", 0, INT64_MAX, &v, e) != MDI_OK) goto done;
  if (v >= 0) r->has_seed = 1, r->seed = (uint64_t)v;
  v = 1;
  if (get_int(o, "n", 1, MDI_API_MAX_N, &v, e) != MDI_OK) goto done;
  r->n = (int)v;
  if (get_stop(o, r, e) != MDI_OK || get_bool(o, "stream", &r->stream, e) != MDI_OK ||
      get_bool(o, "return_tokens", &r->return_tokens, e) != MDI_OK)
    goto done;
  const struct mdi_json *so = field(o, "stream_options");
  if (so && mdi_json_type(so) != MDI_JSON_OBJECT) {
    bad_type(e, "stream_options", "an object", so);
    goto done;
  }
  if (so && get_bool(so, "include_usage", &r->include_usage, e) != MDI_OK) goto done;
  rc = MDI_OK;
done:
  mdi_json_free(doc);
  if (rc != MDI_OK) mdi_api_request_free(r);
  return rc;
}

void mdi_api_request_free(struct mdi_api_request *r) {
  free(r->model);
  free(r->prompt);
  for (int i = 0; i < r->n_messages; i++) {
    free(r->messages[i].role);
    free(r->messages[i].content);
  }
  free(r->messages);
  for (int i = 0; i < r->n_stop; i++) free(r->stop[i]);
  memset(r, 0, sizeof *r);
}

/* ---- writing ------------------------------------------------------------- */

void mdi_api_write_error(struct mdi_json_writer *w, const struct mdi_api_error *e) {
  mdi_jw_object_begin(w, NULL);
  mdi_jw_object_begin(w, "error");
  mdi_jw_cstring(w, "message", e->message);
  mdi_jw_cstring(w, "type", e->type ? e->type : "invalid_request_error");
  if (e->param[0]) mdi_jw_cstring(w, "param", e->param);
  else mdi_jw_null(w, "param");
  if (e->code) mdi_jw_cstring(w, "code", e->code);
  else mdi_jw_null(w, "code");
  mdi_jw_object_end(w);
  mdi_jw_object_end(w);
}

static void write_head(struct mdi_json_writer *w, const struct mdi_api_meta *m, int chunk) {
  mdi_jw_cstring(w, "id", m->id);
  mdi_jw_cstring(w, "object",
                 m->kind == MDI_API_COMPLETIONS ? "text_completion" : chunk ? "chat.completion.chunk" : "chat.completion");
  mdi_jw_int(w, "created", m->created);
  mdi_jw_cstring(w, "model", m->model);
}

static void write_usage(struct mdi_json_writer *w, const struct mdi_api_usage *u) {
  mdi_jw_object_begin(w, "usage");
  mdi_jw_int(w, "prompt_tokens", u->prompt_tokens);
  mdi_jw_int(w, "completion_tokens", u->completion_tokens);
  mdi_jw_int(w, "total_tokens", u->prompt_tokens + u->completion_tokens);
  mdi_jw_object_end(w);
}

static void write_finish(struct mdi_json_writer *w, const char *reason) {
  if (reason) mdi_jw_cstring(w, "finish_reason", reason);
  else mdi_jw_null(w, "finish_reason");
}

void mdi_api_write_response(struct mdi_json_writer *w, const struct mdi_api_meta *m, const struct mdi_api_choice *c,
                            int n, const struct mdi_api_usage *u) {
  mdi_jw_object_begin(w, NULL);
  write_head(w, m, 0);
  mdi_jw_array_begin(w, "choices");
  for (int k = 0; k < n; k++) {
    mdi_jw_object_begin(w, NULL);
    mdi_jw_int(w, "index", k);
    if (m->kind == MDI_API_COMPLETIONS) {
      mdi_jw_string(w, "text", c[k].text, c[k].len);
    } else {
      mdi_jw_object_begin(w, "message");
      mdi_jw_cstring(w, "role", "assistant");
      mdi_jw_string(w, "content", c[k].text, c[k].len);
      mdi_jw_object_end(w);
    }
    mdi_jw_null(w, "logprobs");
    write_finish(w, c[k].finish_reason);
    if (m->return_tokens) mdi_jw_int_array(w, "tokens", c[k].ids, c[k].n_ids);
    mdi_jw_object_end(w);
  }
  mdi_jw_array_end(w);
  write_usage(w, u);
  mdi_jw_object_end(w);
}

void mdi_api_write_chunk(struct mdi_json_writer *w, const struct mdi_api_meta *m, int index,
                         const struct mdi_api_choice *c, int first, int with_usage) {
  mdi_jw_object_begin(w, NULL);
  write_head(w, m, 1);
  mdi_jw_array_begin(w, "choices");
  mdi_jw_object_begin(w, NULL);
  mdi_jw_int(w, "index", index);
  if (m->kind == MDI_API_COMPLETIONS) {
    mdi_jw_string(w, "text", c->text, c->len);
  } else {
    mdi_jw_object_begin(w, "delta");
    if (first) mdi_jw_cstring(w, "role", "assistant");
    if (c->len || !c->finish_reason) mdi_jw_string(w, "content", c->text, c->len);
    mdi_jw_object_end(w);
  }
  mdi_jw_null(w, "logprobs");
  write_finish(w, c->finish_reason);
  if (m->return_tokens) mdi_jw_int_array(w, "tokens", c->ids, c->n_ids);
  mdi_jw_object_end(w);
  mdi_jw_array_end(w);
  if (with_usage) mdi_jw_null(w, "usage");
  mdi_jw_object_end(w);
}

void mdi_api_write_usage_chunk(struct mdi_json_writer *w, const struct mdi_api_meta *m, const struct mdi_api_usage *u) {
  mdi_jw_object_begin(w, NULL);
  write_head(w, m, 1);
  mdi_jw_array_begin(w, "choices");
  mdi_jw_array_end(w);
  write_usage(w, u);
  mdi_jw_object_end(w);
}

static void write_model(struct mdi_json_writer *w, const char *model, int64_t created) {
  mdi_jw_object_begin(w, NULL);
  mdi_jw_cstring(w, "id", model);
  mdi_jw_cstring(w, "object", "model");
  mdi_jw_int(w, "created", created);
  mdi_jw_cstring(w, "owned_by", "mdi-llm");
  mdi_jw_object_end(w);
}

void mdi_api_write_models(struct mdi_json_writer *w, const char *model, int64_t created, int one) {
  if (one) {
    write_model(w, model, created);
    return;
  }
  mdi_jw_object_begin(w, NULL);
  mdi_jw_cstring(w, "object", "list");
  mdi_jw_array_begin(w, "data");
  write_model(w, model, created);
  mdi_jw_array_end(w);
  mdi_jw_object_end(w);
}
