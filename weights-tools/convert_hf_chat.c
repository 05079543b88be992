/* The tokenizer of a Hugging Face directory beyond tokenizer.json (see
 * convert.h): tokenizer_config.json's chat template and bos/eos strings,
 * generation_config.json's stop ids.  Both files are optional. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "convert.h"
#include "mdi/base/error.h"
#include "mdi/base/json.h"
#include "mdi/model/chat.h"
#include "mdi/model/tokenizer.h"

#define MAX_CONFIG_BYTES ((size_t)64 << 20)

/* Parse DIR/name when it exists (*doc NULL when it does not). */
static int parse_optional(const char *dir, const char *name, char *path, size_t cap, struct mdi_json_doc **doc) {
  *doc = NULL;
  if ((size_t)snprintf(path, cap, "%s/%s", dir, name) >= cap) return mdi_fail("%s: path too long", dir);
  if (access(path, F_OK) != 0) return MDI_OK;
  return mdi_json_parse_file(doc, path, MAX_CONFIG_BYTES);
}

/* generation_config.json's eos_token_id (an id or a list) joins the stop ids:
 * Llama 3 Instruct stops at <|eot_id|> as well as <|end_of_text|>. */
static int add_stops(struct mdi_tokenizer *t, const char *path, const struct mdi_json *root) {
  const struct mdi_json *eos = mdi_json_get(root, "eos_token_id");
  if (!eos || mdi_json_type(eos) == MDI_JSON_NULL) return MDI_OK;
  const int list = mdi_json_type(eos) == MDI_JSON_ARRAY;
  for (const struct mdi_json *e = list ? mdi_json_first(eos) : eos; e; e = list ? mdi_json_next(e) : NULL) {
    int64_t id;
    if (!mdi_json_int(e, 0, t->vocab_size - 1, &id))
      return mdi_fail("%s: \"eos_token_id\" must be ids in the vocabulary [0, %d)", path, t->vocab_size);
    int seen = 0;
    for (int k = 0; k < t->n_stop; k++) seen |= t->stop_ids[k] == id;
    if (seen) continue;
    if (t->n_stop == MDI_MAX_STOP_IDS) return mdi_fail("%s: more than %d stop ids", path, MDI_MAX_STOP_IDS);
    t->stop_ids[t->n_stop++] = (int)id;
  }
  return MDI_OK;
}

/* bos_token / eos_token: a string, or an added-token object with "content". */
static int token_string(const char *path, const struct mdi_json *root, const char *key, char *out, size_t cap) {
  const struct mdi_json *v = mdi_json_get(root, key);
  const char *s = mdi_json_string(v);
  if (!s) s = mdi_json_string(mdi_json_get(v, "content"));
  if (!s) return MDI_OK; /* absent or null: the template gets an empty string */
  if (strlen(s) >= cap) return mdi_fail("%s: \"%s\" is longer than %zu bytes", path, key, cap - 1);
  memcpy(out, s, strlen(s) + 1);
  return MDI_OK;
}

/* chat_template: a string, or a list of {"name", "template"} (the "default" one). */
static const char *chat_template(const struct mdi_json *root) {
  const struct mdi_json *v = mdi_json_get(root, "chat_template");
  if (mdi_json_string(v)) return mdi_json_string(v);
  for (const struct mdi_json *e = mdi_json_first(v); e; e = mdi_json_next(e)) {
    const char *name = mdi_json_string(mdi_json_get(e, "name"));
    if (name && !strcmp(name, "default")) return mdi_json_string(mdi_json_get(e, "template"));
  }
  return NULL;
}

static int read_chat(struct mdi_tokenizer *t, const char *path, const struct mdi_json *root) {
  if (token_string(path, root, "bos_token", t->chat_bos, sizeof t->chat_bos) != MDI_OK ||
      token_string(path, root, "eos_token", t->chat_eos, sizeof t->chat_eos) != MDI_OK)
    return MDI_ERR;
  const char *tmpl = chat_template(root);
  if (!tmpl) return MDI_OK;
  t->chat_template = mdi_xstrdup(tmpl);
  const char *format = mdi_chat_recognize(tmpl);
  if (format) {
    snprintf(t->chat_format, sizeof t->chat_format, "%s", format);
    mdi_log_info("%s: chat template recognised as \"%s\"", path, format);
  } else {
    mdi_log_info("note: %s: the chat template is none of the built-in formats (stored; --chat will refuse it)", path);
  }
  return MDI_OK;
}

int convert_read_hf_tokenizer(struct mdi_tokenizer *t, const char *dir, int vocab_size,
                              const struct convert_hf_ids *ids) {
  char path[4096];
  if ((size_t)snprintf(path, sizeof path, "%s/tokenizer.json", dir) >= sizeof path)
    return mdi_fail("%s: path too long", dir);
  if (convert_read_hf_tokenizer_json(t, path, vocab_size, ids) != MDI_OK) return MDI_ERR;
  struct mdi_json_doc *doc;
  int rc = parse_optional(dir, "generation_config.json", path, sizeof path, &doc);
  if (rc == MDI_OK && doc) rc = add_stops(t, path, mdi_json_root(doc));
  mdi_json_free(doc);
  if (rc == MDI_OK) rc = parse_optional(dir, "tokenizer_config.json", path, sizeof path, &doc);
  if (rc == MDI_OK && doc) rc = read_chat(t, path, mdi_json_root(doc));
  mdi_json_free(doc);
  if (rc != MDI_OK) mdi_tokenizer_free(t);
  return rc;
}
