/* The tokenizer of a GGUF file, from llama.cpp's tokenizer.ggml.* metadata
 * (see convert.h, convert_gguf_read_tokenizer).  The tensors and the
 * model's hyperparameters are convert_gguf.c's.
 *
 *  - tokenizer.ggml.model "llama" (SentencePiece BPE; llama2.c's models,
 *    Llama 2, TinyLlama, Mistral v0.1, Phi-3): the sentencepiece kind, pieces
 *    with U+2581 spelled ' ' as in llama2.c's tokenizer.bin, scores as
 *    stored; the control and user-defined tokens become special_ids, which a
 *    rendered chat template's text is split at, as llama.cpp splits it.
 *  - "gpt2" (byte-level BPE; Llama 3, Qwen, SmolLM, GPT-2-style vocabularies):
 *    the hf kind with the pipeline of the original tokenizer.json, chosen by
 *    tokenizer.ggml.pre as llama.cpp's llama-vocab.cpp chooses its split
 *    patterns; control tokens are special added tokens, user-defined ones
 *    (Qwen3's <think>) added tokens that are always matched; BOS/EOS as
 *    tokenizer.ggml.add_bos_token / add_eos_token say (llama-bpe: BOS by
 *    default, as llama.cpp).  A pre-tokenizer name not in the table is
 *    refused by name.
 * Both: tokenizer.chat_template is recognised as a built-in chat format;
 * generation stops at EOS, EOT, EOM and the tokens llama.cpp ends a
 * generation at by their text (<|eot_id|>, <|im_end|>, <|end|>, ...). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "gguf_reader.h"
#include "mdi/base/error.h"
#include "mdi/base/json.h"
#include "mdi/model/chat.h"
#include "mdi/model/tokenizer.h"

/* SentencePiece's word-boundary mark U+2581, stored by llama2.c as ' '. */
static const char SPM_SPACE[] = "\xe2\x96\x81";

/* llama.cpp's token types (tokenizer.ggml.token_type). */
enum { TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_USER_DEFINED = 4, TT_UNUSED = 5, TT_BYTE = 6 };

/* The split patterns of the original tokenizer.json files (llama.cpp's
 * llama-vocab.cpp has adapted copies of the same expressions). */
static const char LLAMA3_REGEX[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char QWEN2_REGEX[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/* tokenizer.ggml.pre -> the pipeline (names as llama.cpp maps them). */
enum pre_kind { PRE_GPT2, PRE_LLAMA3, PRE_QWEN2, PRE_SMOLLM };
static const struct {
  const char *name;
  enum pre_kind kind;
} pre_names[] = {
    {"gpt-2", PRE_GPT2},      {"phi-2", PRE_GPT2},       {"llama-bpe", PRE_LLAMA3},        {"llama3", PRE_LLAMA3},
    {"llama-v3", PRE_LLAMA3}, {"qwen2", PRE_QWEN2},      {"deepseek-r1-qwen", PRE_QWEN2}, {"smollm", PRE_SMOLLM},
};

/* The texts llama.cpp ends a generation at (llama-vocab.cpp, special_eog_ids). */
static const char *const eog_texts[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                                        "<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>", "<end_of_utterance>", NULL};

struct vocab {
  struct gguf_file *g;
  int n;
  char **tokens;  /* [n] as stored (NUL-terminated) */
  int32_t *types; /* [n]; TT_NORMAL when the file has none */
  int spm;        /* "llama": pieces are written with ' ' for U+2581 */
};

static int keep_token(void *ctx, int64_t i, const char *s, size_t len) {
  struct vocab *v = ctx;
  if (memchr(s, 0, len)) return mdi_fail("%s: token %lld contains a NUL byte", v->g->in.path, (long long)i);
  v->tokens[i] = mdi_xmalloc(len + 1, "token");
  memcpy(v->tokens[i], s, len);
  v->tokens[i][len] = '\0';
  return 0;
}

static void free_vocab(struct vocab *v) {
  for (int i = 0; v->tokens && i < v->n; i++) free(v->tokens[i]);
  free(v->tokens);
  free(v->types);
}

/* tokenizer.ggml.token_type: int32 per token (absent: all normal). */
static int read_types(struct vocab *v) {
  v->types = mdi_xmalloc((size_t)v->n * sizeof *v->types, "token types");
  for (int i = 0; i < v->n; i++) v->types[i] = TT_NORMAL;
  const struct gguf_kv *kv = gguf_find_kv(v->g, "tokenizer.ggml.token_type");
  if (!kv) return MDI_OK;
  if (kv->type != GGUF_ARRAY || (kv->elem_type != GGUF_I32 && kv->elem_type != GGUF_U32) || kv->count != v->n)
    return mdi_fail("%s: tokenizer.ggml.token_type must be %d int32 values", v->g->in.path, v->n);
  return convert_input_read_at(&v->g->in, kv->value_off, v->types, (size_t)v->n * 4, "tokenizer.ggml.token_type");
}

static int read_bool(struct gguf_file *g, const char *key, int fallback, int *out) {
  const struct gguf_kv *kv = gguf_find_kv(g, key);
  *out = fallback;
  if (!kv) return MDI_OK;
  if (kv->type != GGUF_BOOL) return mdi_fail("%s: %s must be a boolean", g->in.path, key);
  unsigned char b;
  if (convert_input_read_at(&g->in, kv->value_off, &b, 1, key) != MDI_OK) return MDI_ERR;
  *out = b != 0;
  return MDI_OK;
}

/* An id of the metadata (absent: fallback); outside the vocabulary: -1. */
static int special_id(struct gguf_file *g, const char *key, int fallback, int n, int *out) {
  int64_t v;
  const int found = gguf_get_int(g, key, &v);
  if (found < 0) return MDI_ERR;
  *out = found ? (v >= 0 && v < n ? (int)v : -1) : fallback;
  if (found && *out < 0) mdi_log_info("note: %s: %s = %lld is outside the vocabulary", g->in.path, key, (long long)v);
  return MDI_OK;
}

static int find_token(const struct vocab *v, const char *s) {
  for (int i = 0; i < v->n; i++)
    if (!strcmp(v->tokens[i], s)) return i;
  return -1;
}

/* Stop ids: EOS, EOT, EOM and llama.cpp's end-of-generation texts. */
static int stop_ids(const struct vocab *v, int eos, int *stop, int *n_stop) {
  int eot, eom, cand[3 + 16], n = 0;
  if (special_id(v->g, "tokenizer.ggml.eot_token_id", -1, v->n, &eot) != MDI_OK ||
      special_id(v->g, "tokenizer.ggml.eom_token_id", -1, v->n, &eom) != MDI_OK)
    return MDI_ERR;
  cand[n++] = eos, cand[n++] = eot, cand[n++] = eom;
  for (int k = 0; eog_texts[k]; k++) cand[n++] = find_token(v, eog_texts[k]);
  for (int k = 0; k < n; k++) {
    int seen = cand[k] < 0;
    for (int i = 0; i < *n_stop && !seen; i++) seen = stop[i] == cand[k];
    if (!seen && *n_stop < MDI_MAX_STOP_IDS) stop[(*n_stop)++] = cand[k];
  }
  return MDI_OK;
}

/* Pieces back to back, offsets[n+1]; U+2581 as ' ' for SentencePiece. */
static uint8_t *pack(const struct vocab *v, int64_t *offsets) {
  size_t total = 1;
  for (int i = 0; i < v->n; i++) total += strlen(v->tokens[i]);
  uint8_t *p = mdi_xmalloc(total, "tokenizer pieces");
  size_t at = 0;
  offsets[0] = 0;
  for (int i = 0; i < v->n; i++) {
    for (const char *s = v->tokens[i]; *s;) {
      if (v->spm && !strncmp(s, SPM_SPACE, 3)) p[at++] = ' ', s += 3;
      else p[at++] = (uint8_t)*s++;
    }
    offsets[i + 1] = (int64_t)at;
  }
  return p;
}

/* ---- gpt2: the hf pipeline ------------------------------------------------------- */

static int pre_kind(const struct vocab *v, enum pre_kind *kind) {
  char pre[64] = "";
  const int found = gguf_get_string(v->g, "tokenizer.ggml.pre", pre, sizeof pre);
  if (found < 0) return MDI_ERR;
  for (size_t i = 0; found && i < sizeof pre_names / sizeof pre_names[0]; i++)
    if (!strcmp(pre, pre_names[i].name)) return *kind = pre_names[i].kind, MDI_OK;
  return mdi_fail("%s: tokenizer.ggml.pre \"%s\" is not supported (gpt-2, phi-2, llama-bpe, llama3, llama-v3, qwen2, "
                  "deepseek-r1-qwen and smollm are)", v->g->in.path, found ? pre : "(missing)");
}

static void split_step(struct mdi_json_writer *w, const char *regex) {
  mdi_jw_object_begin(w, NULL);
  mdi_jw_cstring(w, "type", "Split");
  mdi_jw_object_begin(w, "pattern");
  mdi_jw_cstring(w, "Regex", regex);
  mdi_jw_object_end(w);
  mdi_jw_cstring(w, "behavior", "Isolated");
  mdi_jw_bool(w, "invert", 0);
  mdi_jw_object_end(w);
}

static void byte_level_step(struct mdi_json_writer *w, const char *key, int use_regex) {
  mdi_jw_object_begin(w, key);
  mdi_jw_cstring(w, "type", "ByteLevel");
  mdi_jw_bool(w, "add_prefix_space", 0);
  mdi_jw_bool(w, "use_regex", use_regex);
  mdi_jw_object_end(w);
}

/* The pipeline description of a gpt2 vocabulary (docs/FORMAT.md). */
static void describe(const struct vocab *v, enum pre_kind kind, int bos, int eos, int add_bos, int add_eos,
                     struct mdi_json_writer *w) {
  mdi_jw_object_begin(w, NULL);
  if (kind == PRE_QWEN2) { /* Qwen's tokenizer.json normalizes to NFC (llama.cpp does not) */
    mdi_jw_object_begin(w, "normalizer");
    mdi_jw_cstring(w, "type", "NFC");
    mdi_jw_object_end(w);
  }
  if (kind == PRE_GPT2) {
    byte_level_step(w, "pre_tokenizer", 1);
  } else {
    mdi_jw_object_begin(w, "pre_tokenizer");
    mdi_jw_cstring(w, "type", "Sequence");
    mdi_jw_array_begin(w, "pretokenizers");
    if (kind == PRE_SMOLLM) {
      mdi_jw_object_begin(w, NULL);
      mdi_jw_cstring(w, "type", "Digits");
      mdi_jw_bool(w, "individual_digits", 1);
      mdi_jw_object_end(w);
    } else {
      split_step(w, kind == PRE_LLAMA3 ? LLAMA3_REGEX : QWEN2_REGEX);
    }
    byte_level_step(w, NULL, kind == PRE_SMOLLM);
    mdi_jw_array_end(w);
    mdi_jw_object_end(w);
  }
  byte_level_step(w, "decoder", 1);
  mdi_jw_object_begin(w, "model");
  mdi_jw_bool(w, "ignore_merges", kind == PRE_LLAMA3);
  mdi_jw_cstring(w, "merge_order", "rank");
  mdi_jw_object_end(w);
  mdi_jw_array_begin(w, "added_tokens");
  for (int i = 0; i < v->n; i++) {
    const int t = v->types[i];
    if (t != TT_CONTROL && t != TT_USER_DEFINED && t != TT_UNKNOWN) continue;
    mdi_jw_object_begin(w, NULL);
    mdi_jw_int(w, "id", i);
    mdi_jw_cstring(w, "content", v->tokens[i]);
    mdi_jw_bool(w, "special", t != TT_USER_DEFINED);
    mdi_jw_bool(w, "normalized", 0);
    mdi_jw_bool(w, "in_vocab", 1); /* llama.cpp finds every token's text */
    mdi_jw_object_end(w);
  }
  mdi_jw_array_end(w);
  const int pre[1] = {bos}, post[1] = {eos};
  mdi_jw_object_begin(w, "post_processor");
  mdi_jw_int_array(w, "prefix", pre, add_bos && bos >= 0);
  mdi_jw_int_array(w, "suffix", post, add_eos && eos >= 0);
  mdi_jw_object_end(w);
  mdi_jw_object_end(w);
}

/* tokenizer.ggml.merges: "a b" strings, split at the first space after the
 * first byte as llama.cpp splits them, as id pairs. */
struct merge_ctx {
  const struct vocab *v;
  struct entry_index *index;
  int32_t *pairs;
  int bad;
};

struct entry_index {
  const char *s;
  int id;
};

static int cmp_entry(const void *a, const void *b) {
  const struct entry_index *x = a, *y = b;
  const int c = strcmp(x->s, y->s);
  return c ? c : (x->id > y->id) - (x->id < y->id);
}

static int lookup(const struct entry_index *idx, int n, const char *s) {
  int lo = 0, hi = n;
  while (lo < hi) {
    const int mid = lo + (hi - lo) / 2;
    if (strcmp(idx[mid].s, s) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo < n && !strcmp(idx[lo].s, s) ? idx[lo].id : -1;
}

static int add_merge(void *ctx, int64_t r, const char *s, size_t len) {
  struct merge_ctx *m = ctx;
  char *buf = mdi_xmalloc(len + 1, "merge");
  memcpy(buf, s, len);
  buf[len] = '\0';
  char *space = len > 1 ? strchr(buf + 1, ' ') : NULL;
  int rc = 0;
  if (!space) {
    rc = mdi_fail("%s: tokenizer.ggml.merges[%lld] \"%.40s\" is not two tokens joined by a space", m->v->g->in.path,
                  (long long)r, buf);
  } else {
    *space = '\0';
    const int a = lookup(m->index, m->v->n, buf), b = lookup(m->index, m->v->n, space + 1);
    if (a < 0 || b < 0)
      rc = mdi_fail("%s: tokenizer.ggml.merges[%lld]: \"%.40s\" is not a token", m->v->g->in.path, (long long)r,
                    a < 0 ? buf : space + 1);
    m->pairs[2 * r] = a;
    m->pairs[2 * r + 1] = b;
  }
  free(buf);
  return rc;
}

static int read_merges(const struct vocab *v, int32_t **pairs, int *n) {
  const struct gguf_kv *kv = gguf_find_kv(v->g, "tokenizer.ggml.merges");
  *pairs = NULL;
  *n = 0;
  if (!kv) return mdi_fail("%s: metadata tokenizer.ggml.merges is missing (a gpt2 vocabulary needs them)", v->g->in.path);
  if (kv->count < 0 || kv->count > (1 << 26)) return mdi_fail("%s: tokenizer.ggml.merges has too many entries", v->g->in.path);
  struct entry_index *idx = mdi_xmalloc((size_t)v->n * sizeof *idx, "token index");
  for (int i = 0; i < v->n; i++) idx[i] = (struct entry_index){v->tokens[i], i};
  qsort(idx, (size_t)v->n, sizeof *idx, cmp_entry);
  struct merge_ctx m = {v, idx, mdi_xmalloc((size_t)(kv->count > 0 ? kv->count : 1) * 2 * sizeof(int32_t), "merges"), 0};
  const int rc = gguf_read_string_array(v->g, kv, add_merge, &m);
  free(idx);
  if (rc != MDI_OK) {
    free(m.pairs);
    return MDI_ERR;
  }
  *pairs = m.pairs;
  *n = (int)kv->count;
  return MDI_OK;
}

/* ---- the reader -------------------------------------------------------------------- */

/* The chat template and the strings it calls bos_token and eos_token. */
static void read_chat(struct gguf_file *g, struct mdi_tokenizer *t) {
  const size_t cap = (size_t)1 << 20; /* real templates are at most tens of KiB */
  char *tmpl = mdi_xmalloc(cap, "chat template");
  const int found = gguf_get_string(g, "tokenizer.chat_template", tmpl, cap);
  if (found <= 0) {
    if (found < 0) mdi_log_info("note: %s; chat will not be available", mdi_error());
    free(tmpl);
    return;
  }
  t->chat_template = mdi_xrealloc(tmpl, strlen(tmpl) + 1, "chat template");
  const char *format = mdi_chat_recognize(t->chat_template);
  if (format) {
    snprintf(t->chat_format, sizeof t->chat_format, "%s", format);
    mdi_log_info("%s: chat template recognised as \"%s\"", g->in.path, format);
  } else {
    mdi_log_info("note: %s: the chat template is none of the built-in formats (stored; --chat will refuse it)",
                 g->in.path);
  }
  /* llama.cpp gives a template the texts of its BOS and EOS tokens */
  snprintf(t->chat_bos, sizeof t->chat_bos, "%.*s", t->piece_lens[t->bos_id], t->pieces[t->bos_id]);
  snprintf(t->chat_eos, sizeof t->chat_eos, "%.*s", t->piece_lens[t->eos_id], t->pieces[t->eos_id]);
}

int convert_gguf_read_tokenizer(struct gguf_file *g, int n, struct mdi_tokenizer *t) {
  char model[64] = "llama";
  const int found = gguf_get_string(g, "tokenizer.ggml.model", model, sizeof model);
  if (found < 0) return MDI_ERR;
  const int spm = !strcmp(model, "llama"), gpt2 = !strcmp(model, "gpt2");
  if (!spm && !gpt2)
    return mdi_fail("%s: tokenizer model '%s' is not supported ('llama', SentencePiece BPE, and 'gpt2', byte-level "
                    "BPE, are)", g->in.path, model);
  struct vocab v = {.g = g, .n = n, .spm = spm};
  const struct gguf_kv *tokens = gguf_find_kv(g, "tokenizer.ggml.tokens"), *scores_kv = gguf_find_kv(g, "tokenizer.ggml.scores");
  float *scores = mdi_xcalloc((size_t)n, sizeof *scores, "tokenizer scores");
  int64_t *offsets = mdi_xmalloc(((size_t)n + 1) * sizeof *offsets, "tokenizer offsets");
  uint8_t *bytes = NULL;
  int32_t *merges = NULL;
  int n_merges = 0, rc = MDI_ERR, bos, eos, stop[MDI_MAX_STOP_IDS], n_stop = 0, add_bos, add_eos;
  struct mdi_json_writer w;
  mdi_jw_init(&w, 0);
  v.tokens = mdi_xcalloc((size_t)n, sizeof *v.tokens, "tokens");
  if (!tokens || gguf_read_string_array(g, tokens, keep_token, &v) != MDI_OK || read_types(&v) != MDI_OK) goto done;
  if (spm && !scores_kv) {
    mdi_fail("%s: metadata tokenizer.ggml.scores is missing", g->in.path);
    goto done;
  }
  if (scores_kv && scores_kv->count != n) {
    mdi_fail("%s: tokenizer.ggml.scores has %lld entries but tokenizer.ggml.tokens has %d", g->in.path,
             (long long)scores_kv->count, n);
    goto done;
  }
  if (scores_kv && gguf_read_f32_array(g, scores_kv, scores) != MDI_OK) goto done;
  /* llama.cpp's defaults: BOS 1 and EOS 2 for SentencePiece, 11 for gpt2 */
  if (special_id(g, "tokenizer.ggml.bos_token_id", spm ? 1 : 11, n, &bos) != MDI_OK ||
      special_id(g, "tokenizer.ggml.eos_token_id", spm ? 2 : 11, n, &eos) != MDI_OK)
    goto done;
  if (spm) stop[n_stop++] = bos; /* llama2.c-trained models end a text with BOS */
  if (stop_ids(&v, eos, stop, &n_stop) != MDI_OK) goto done;
  bytes = pack(&v, offsets);
  if (mdi_tokenizer_init(t, n, scores, bytes, offsets, bos, eos, stop, n_stop, g->in.path) != MDI_OK) goto done;
  if (spm) {
    int *special = mdi_xmalloc((size_t)n * sizeof *special, "special tokens"), k = 0;
    for (int i = 0; i < n; i++)
      if ((v.types[i] == TT_CONTROL || v.types[i] == TT_USER_DEFINED) && t->piece_lens[i] > 0 && i != bos && i != eos)
        special[k++] = i;
    rc = mdi_tokenizer_set_special(t, special, k, g->in.path);
    free(special);
  } else {
    enum pre_kind kind = PRE_GPT2;
    rc = pre_kind(&v, &kind);
    if (rc == MDI_OK) rc = read_bool(g, "tokenizer.ggml.add_bos_token", kind == PRE_LLAMA3, &add_bos);
    if (rc == MDI_OK) rc = read_bool(g, "tokenizer.ggml.add_eos_token", 0, &add_eos);
    if (rc == MDI_OK) rc = read_merges(&v, &merges, &n_merges);
    if (rc == MDI_OK) {
      describe(&v, kind, bos, eos, add_bos, add_eos, &w);
      size_t len;
      const char *json = mdi_jw_text(&w, &len);
      rc = mdi_tokenizer_set_hf(t, merges, n_merges, json, len, g->in.path);
    }
  }
  if (rc == MDI_OK) read_chat(g, t);
  if (rc != MDI_OK) mdi_tokenizer_free(t);
done:
  free_vocab(&v);
  free(scores);
  free(offsets);
  free(bytes);
  free(merges);
  mdi_jw_free(&w);
  return rc;
}
