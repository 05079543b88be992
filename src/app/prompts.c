/* Building the run's requests (see prompts.h). */
#include "mdi/app/prompts.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdi/base/error.h"
#include "mdi/base/json.h"
#include "mdi/base/path.h"
#include "mdi/base/progress.h"

/* A prompt before sampling: text, where it came from, per-prompt overrides. */
struct prompt {
  char *text;
  size_t len;
  struct mdi_chat_message *msgs; /* a conversation to render ([n_msgs]); NULL: text is the prompt */
  int n_msgs;
  int *ids;       /* a JSONL line's "prompt_tokens" ([n_ids]); NULL: encode text or msgs */
  int n_ids;
  char where[96];
  int max_tokens; /* -1: the -n option */
  int64_t seed;   /* -1: S + id */
  struct mdi_sampler_params sampling;
};

struct prompt_list {
  struct prompt *items;
  int n, cap;
};

/* Appends a prompt with the command line's settings. */
static struct prompt *push(struct prompt_list *l, const struct mdi_options *o) {
  if (l->n == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 16;
    struct prompt *p = realloc(l->items, (size_t)l->cap * sizeof *p);
    if (!p) MDI_PANIC("out of memory reading prompts");
    l->items = p;
  }
  struct prompt *p = &l->items[l->n++];
  memset(p, 0, sizeof *p);
  p->max_tokens = -1;
  p->seed = -1;
  p->sampling = (struct mdi_sampler_params){(float)o->temperature, (float)o->top_p, o->top_k};
  return p;
}

static int ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* One JSONL prompt line: its keys, -1 where not given. */
struct prompt_line {
  char *prompt;        /* malloc'd; NULL when the line has messages or prompt_tokens */
  struct mdi_chat_message *msgs; /* malloc'd [n_msgs] */
  int n_msgs;
  int *ids;            /* "prompt_tokens", malloc'd [n_ids] */
  int n_ids;
  int max_tokens;
  int64_t seed;
  double temperature;
  double top_p;
  int top_k;
};

/* Numeric keys of a JSONL prompt line and their accepted ranges (integer
 * keys exactly, up to INT64_MAX for a seed). */
struct prompt_key {
  const char *name;
  int integer;
  int64_t ilo, ihi;
  double lo, hi;
};
static const struct prompt_key prompt_keys[] = {
    {"max_tokens", 1, 0, 1 << 20, 0, 0},  {"seed", 1, 1, INT64_MAX, 0, 0},
    {"temperature", 0, 0, 0, 0, 100},     {"top_p", 0, 0, 0, 1e-9, 1},
    {"top_k", 1, 0, 1 << 22, 0, 0},
};

/* The JSON parser's message for a line, without its "SOURCE:LINE: " prefix,
 * copied out of the message buffer that the next mdi_fail overwrites. */
static const char *json_reason(const char *where, char *buf, size_t size) {
  const char *m = mdi_error();
  const size_t n = strlen(where);
  if (!strncmp(m, where, n) && !strncmp(m + n, ":1: ", 4)) m += n + 4;
  snprintf(buf, size, "%s", m);
  return buf;
}

/* Store value v of key k in out, or fail naming the line and key. */
static int set_key(const struct prompt_key *k, const struct mdi_json *v, const char *where,
                   struct prompt_line *out) {
  int64_t iv = 0;
  double dv = 0;
  if (k->integer) {
    if (!mdi_json_int(v, k->ilo, k->ihi, &iv))
      return mdi_fail("%s: \"%s\" must be an integer in [%lld, %lld]", where, k->name, (long long)k->ilo,
                      (long long)k->ihi);
  } else {
    dv = mdi_json_type(v) == MDI_JSON_NUMBER ? mdi_json_number(v) : NAN;
    if (!(dv >= k->lo && dv <= k->hi))
      return mdi_fail("%s: \"%s\" must be a number in [%g, %g]", where, k->name, k->lo, k->hi);
  }
  if (!strcmp(k->name, "max_tokens")) out->max_tokens = (int)iv;
  if (!strcmp(k->name, "seed")) out->seed = iv;
  if (!strcmp(k->name, "temperature")) out->temperature = dv;
  if (!strcmp(k->name, "top_p")) out->top_p = dv;
  if (!strcmp(k->name, "top_k")) out->top_k = (int)iv;
  return MDI_OK;
}

/* "messages": [{"role": "...", "content": "..."}, ...] of a JSONL line. */
static int parse_messages(const struct mdi_json *v, const char *where, struct prompt_line *out) {
  const int n = mdi_json_count(v);
  if (mdi_json_type(v) != MDI_JSON_ARRAY || n == 0)
    return mdi_fail("%s: \"messages\" must be a non-empty list of {\"role\", \"content\"} objects", where);
  out->msgs = mdi_xcalloc((size_t)n, sizeof *out->msgs, "chat messages");
  for (const struct mdi_json *m = mdi_json_first(v); m; m = mdi_json_next(m)) {
    const char *role = mdi_json_string(mdi_json_get(m, "role")), *content = mdi_json_string(mdi_json_get(m, "content"));
    if (mdi_json_type(m) != MDI_JSON_OBJECT || !role || !content || mdi_json_count(m) != 2)
      return mdi_fail("%s: message %d of \"messages\" must be {\"role\": string, \"content\": string}", where,
                      out->n_msgs + 1);
    out->msgs[out->n_msgs++] = (struct mdi_chat_message){mdi_xstrdup(role), mdi_xstrdup(content)};
  }
  return MDI_OK;
}

/* "prompt_tokens": a non-empty array of token ids, fed as they are (the
 * caller checks them against the vocabulary). */
static int parse_prompt_tokens(const struct mdi_json *v, const char *where, struct prompt_line *out) {
  const int n = mdi_json_type(v) == MDI_JSON_ARRAY ? mdi_json_count(v) : 0;
  if (n == 0) return mdi_fail("%s: \"prompt_tokens\" must be a non-empty array of token ids", where);
  out->ids = mdi_xmalloc((size_t)n * sizeof *out->ids, "prompt tokens");
  int i = 0;
  for (const struct mdi_json *e = mdi_json_first(v); e; e = mdi_json_next(e), i++) {
    int64_t id;
    if (!mdi_json_int(e, 0, 0x7fffffff, &id))
      return mdi_fail("%s: \"prompt_tokens\"[%d] is not a token id (an integer >= 0)", where, i);
    out->ids[i] = (int)id;
  }
  out->n_ids = n;
  return MDI_OK;
}

static void free_messages(struct mdi_chat_message *m, int n) {
  for (int i = 0; i < n; i++) free(m[i].role), free(m[i].content);
  free(m);
}

static int parse_prompt_line(const char *line, size_t len, const char *where, struct prompt_line *out) {
  *out = (struct prompt_line){NULL, NULL, 0, NULL, 0, -1, -1, -1, -1, -1};
  struct mdi_json_doc *doc;
  if (mdi_json_parse(&doc, line, len, where) != MDI_OK) {
    char buf[512];
    const char *why = json_reason(where, buf, sizeof buf);
    const char *at = strstr(why, "byte offset ");
    if (!strncmp(why, "unexpected text after", 21) && at)
      return mdi_fail("%s: text after the JSON object at byte offset %ld: one object per line", where,
                      strtol(at + 12, NULL, 10));
    if (!strncmp(why, "not valid JSON: ", 16)) why += 16;
    return mdi_fail("%s: not a JSON object: %s", where, why);
  }
  const struct mdi_json *o = mdi_json_root(doc);
  int rc = MDI_ERR;
  if (mdi_json_type(o) != MDI_JSON_OBJECT) {
    mdi_fail("%s: not a JSON object but %s %s", where, mdi_json_type(o) == MDI_JSON_ARRAY ? "an" : "a",
             mdi_json_type_name(o));
    goto done;
  }
  for (const struct mdi_json *it = mdi_json_first(o); it; it = mdi_json_next(it)) {
    const char *key = mdi_json_key(it);
    if (mdi_json_get(o, key) != it) {
      mdi_fail("%s: key \"%s\" appears twice", where, key);
      goto done;
    }
    if (!strcmp(key, "prompt")) {
      if (!mdi_json_string(it)) {
        mdi_fail("%s: \"prompt\" must be a string", where);
        goto done;
      }
      continue;
    }
    if (!strcmp(key, "messages")) {
      if (parse_messages(it, where, out) != MDI_OK) goto done;
      continue;
    }
    if (!strcmp(key, "prompt_tokens")) {
      if (out->ids) {
        mdi_fail("%s: \"prompt_tokens\" is given twice", where);
        goto done;
      }
      if (parse_prompt_tokens(it, where, out) != MDI_OK) goto done;
      continue;
    }
    const struct prompt_key *k = NULL;
    for (size_t i = 0; i < sizeof prompt_keys / sizeof prompt_keys[0]; i++)
      if (!strcmp(key, prompt_keys[i].name)) k = &prompt_keys[i];
    if (!k) {
      mdi_fail("%s: unknown key \"%s\" (expected prompt, messages or prompt_tokens, max_tokens, seed, temperature, "
               "top_p, top_k)", where, key);
      goto done;
    }
    if (set_key(k, it, where, out) != MDI_OK) goto done;
  }
  const char *prompt = mdi_json_string(mdi_json_get(o, "prompt"));
  if ((prompt != NULL) + (out->msgs != NULL) + (out->ids != NULL) != 1) {
    mdi_fail("%s: the object needs one of \"prompt\", \"messages\" or \"prompt_tokens\"", where);
    goto done;
  }
  if (prompt) out->prompt = mdi_xstrdup(prompt);
  rc = MDI_OK;
done:
  if (rc != MDI_OK) {
    free_messages(out->msgs, out->n_msgs), out->msgs = NULL;
    free(out->ids), out->ids = NULL;
  }
  mdi_json_free(doc);
  return rc;
}

static int read_file(const char *path, const struct mdi_options *o, struct prompt_list *l) {
  const int std_in = !strcmp(path, "-"); /* -f -: prompts from standard input */
  /* else a FIFO would block and /dev/zero never end: regular files only */
  const int kind = std_in ? 1 : mdi_path_input(path, "the prompt file");
  if (kind < 0) return MDI_ERR;
  FILE *f = std_in ? stdin : kind ? fopen(path, "rb") : NULL;
  if (!f) return mdi_fail("%s: cannot read the prompt file: %s", path, strerror(kind ? errno : ENOENT));
  const int jsonl = ends_with(path, ".jsonl");
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  int lineno = 0, first = l->n, rc = MDI_OK;
  while ((n = getline(&line, &cap, f)) >= 0) {
    lineno++;
    if (n > 0 && line[n - 1] == '\n') line[--n] = '\0';
    if (n > 0 && line[n - 1] == '\r') line[--n] = '\0';
    if (memchr(line, '\0', (size_t)n)) {
      rc = mdi_fail("%s:%d: the line contains a NUL byte", path, lineno);
      break;
    }
    if (jsonl && n == 0) continue; /* blank lines separate nothing in JSONL */
    struct prompt *p = push(l, o);
    snprintf(p->where, sizeof p->where, "%s:%d", path, lineno);
    if (jsonl) {
      struct prompt_line pl;
      if (parse_prompt_line(line, (size_t)n, p->where, &pl) != MDI_OK) {
        l->n--;
        rc = MDI_ERR;
        break;
      }
      p->text = pl.prompt ? pl.prompt : mdi_xstrdup("");
      p->msgs = pl.msgs;
      p->n_msgs = pl.n_msgs;
      p->ids = pl.ids;
      p->n_ids = pl.n_ids;
      p->max_tokens = pl.max_tokens;
      p->seed = pl.seed;
      if (pl.temperature >= 0) p->sampling.temperature = (float)pl.temperature;
      if (pl.top_p >= 0) p->sampling.top_p = (float)pl.top_p;
      if (pl.top_k >= 0) p->sampling.top_k = pl.top_k;
    } else {
      p->text = mdi_xstrdup(line);
    }
    p->len = strlen(p->text);
  }
  if (rc == MDI_OK && ferror(f)) rc = mdi_fail("%s: reading the prompt file failed: %s", path, strerror(errno));
  if (rc == MDI_OK && l->n == first) rc = mdi_fail("%s: the prompt file holds no prompts", path);
  free(line);
  if (!std_in) fclose(f);
  return rc;
}

static void free_list(struct prompt_list *l) {
  for (int i = 0; i < l->n; i++)
    free(l->items[i].text), free(l->items[i].ids), free_messages(l->items[i].msgs, l->items[i].n_msgs);
  free(l->items);
}

int mdi_prompt_chat(void *tokenizer, const struct mdi_chat_message *msgs, int n, char **prompt) {
  const struct mdi_tokenizer *tok = tokenizer;
  if (!tok->chat_format[0])
    return mdi_fail(tok->chat_template ? "the model's chat template is none of the built-in chat formats, so chat "
                                         "is not available (docs/MODELS.md, \"Chat\")"
                                       : "the model has no chat template, so chat is not available");
  const struct mdi_chat_options opt = {.add_generation_prompt = 1, .enable_thinking = -1};
  return mdi_chat_render(tok->chat_format, tok->chat_bos, tok->chat_eos, msgs, n, &opt, prompt);
}

/* The conversation of p (its messages, or its text as the user's message
 * under --chat), with --system first unless it has a system message. */
static int render_chat(const struct prompt *p, const struct mdi_options *o, const struct mdi_tokenizer *tok,
                       char **out) {
  const int n = p->msgs ? p->n_msgs : 1;
  struct mdi_chat_message *m = mdi_xcalloc((size_t)n + 1, sizeof *m, "chat messages"), *at = m;
  const int add_system = o->system && (!p->msgs || strcmp(p->msgs[0].role, "system") != 0);
  if (add_system) *at++ = (struct mdi_chat_message){"system", o->system};
  if (p->msgs) memcpy(at, p->msgs, (size_t)n * sizeof *m);
  else *at = (struct mdi_chat_message){"user", p->text};
  const int rc = mdi_prompt_chat((void *)tok, m, n + add_system, out);
  free(m);
  return rc;
}

int mdi_prompt_encode(const struct mdi_tokenizer *tok, const char *text, size_t len, unsigned flags,
                      struct mdi_ids *ids) {
  /* raw text gets the tokenizer's own special tokens (llama2.c-style ones
   * and Llama's post-processor add BOS, GPT-2's and Qwen's add none); a
   * rendered chat template has its special tokens written in it */
  const unsigned how = flags & MDI_PROMPT_CHAT ? MDI_ENCODE_PARSE_SPECIAL
                       : MDI_ENCODE_SPECIAL | (flags & MDI_PROMPT_PARSE_SPECIAL ? MDI_ENCODE_PARSE_SPECIAL : 0);
  if (mdi_tokenizer_encode_text(tok, text, len, how, ids) != MDI_OK) return MDI_ERR;
  /* an empty prompt starts from BOS all the same, the token GPT-2
   * generates unconditioned text from (<|endoftext|>) */
  if (ids->n == 0) mdi_ids_push(ids, tok->bos_id);
  return MDI_OK;
}

/* Token ids given by the prompt line: fed as they are (no BOS is added, no
 * chat rendering); the journal's prompt text is what they decode to. */
static int take_ids(struct mdi_request *r, const struct prompt *p, const struct mdi_tokenizer *tok, int max_seq) {
  for (int i = 0; i < p->n_ids; i++)
    if (p->ids[i] >= tok->vocab_size)
      return mdi_fail("prompt %s: prompt_tokens[%d] = %d is not below the vocabulary size %d", p->where, i,
                      p->ids[i], tok->vocab_size);
  size_t len;
  if (mdi_tokenizer_decode_text(tok, p->ids, p->n_ids, 0, &r->prompt, &len) != MDI_OK)
    return mdi_fail_context("prompt %s", p->where);
  r->n_prompt = p->n_ids;
  r->prompt_tokens = mdi_xmalloc((size_t)p->n_ids * sizeof(int), "prompt tokens");
  memcpy(r->prompt_tokens, p->ids, (size_t)p->n_ids * sizeof(int));
  if (r->n_prompt > max_seq)
    return mdi_fail("prompt %s is %d tokens long but max-seq-len is %d", p->where, r->n_prompt, max_seq);
  return MDI_OK;
}

/* The longest piece in bytes, 0 when the byte count of a text says nothing
 * about its tokens: an "hf" pipeline may normalize the text shorter (NFKC,
 * stripped accents or spaces) before any piece covers it. */
static int longest_piece(const struct mdi_tokenizer *tok) {
  if (tok->kind == MDI_TOKENIZER_HF) return 0;
  int n = 1;
  for (int i = 0; i < tok->vocab_size; i++)
    if (tok->piece_lens[i] > n) n = tok->piece_lens[i];
  return n;
}

static int encode(struct mdi_request *r, const struct prompt *p, const struct mdi_options *o,
                  const struct mdi_tokenizer *tok, int max_seq, int piece_max) {
  if (p->ids) return take_ids(r, p, tok, max_seq);
  struct mdi_ids ids = {0};
  unsigned flags = o->parse_special ? MDI_PROMPT_PARSE_SPECIAL : 0;
  if (p->msgs || o->chat) { /* the rendered conversation is the prompt */
    if (render_chat(p, o, tok, &r->prompt) != MDI_OK) return mdi_fail_context("prompt %s", p->where);
    flags = MDI_PROMPT_CHAT;
    r->chat = 1;
  } else {
    r->prompt = mdi_xstrdup(p->text);
  }
  /* no token covers more bytes of the text than the longest piece: a text
   * longer than that allows is refused before the encoder spends time on it */
  const size_t len = strlen(r->prompt);
  if (piece_max > 0 && (len + (size_t)piece_max - 1) / (size_t)piece_max > (size_t)max_seq)
    return mdi_fail("prompt %s is %zu bytes: at least %zu tokens (no piece is longer than %d bytes), more than "
                    "max-seq-len %d", p->where, len, (len + (size_t)piece_max - 1) / (size_t)piece_max, piece_max,
                    max_seq);
  if (mdi_prompt_encode(tok, r->prompt, len, flags, &ids) != MDI_OK) {
    mdi_ids_free(&ids);
    return mdi_fail_context("prompt %s", p->where);
  }
  r->prompt_tokens = ids.v;
  r->n_prompt = ids.n;
  if (r->n_prompt > max_seq)
    return mdi_fail("prompt %s is %d tokens long but max-seq-len is %d", p->where, r->n_prompt, max_seq);
  return mdi_progress(); /* alive (the start-up timeout), or interrupted */
}

int mdi_prompts_build(const struct mdi_options *o, const struct mdi_tokenizer *tok, int max_seq,
                      struct mdi_request **reqs_out, int *n_out) {
  struct prompt_list l = {0};
  *reqs_out = NULL;
  *n_out = 0;
  for (int i = 0; i < o->n_prompts; i++) {
    struct prompt *p = push(&l, o);
    p->text = mdi_xstrdup(o->prompts[i]);
    p->len = strlen(p->text);
    snprintf(p->where, sizeof p->where, "-p #%d", i + 1);
  }
  if (o->prompt_file && read_file(o->prompt_file, o, &l) != MDI_OK) {
    free_list(&l);
    return MDI_ERR;
  }
  if (l.n == 0) { /* no prompt at all: one sequence from BOS */
    struct prompt *p = push(&l, o);
    p->text = mdi_xstrdup("");
    snprintf(p->where, sizeof p->where, "(none)");
  }
  const int K = o->n_samples;
  if ((int64_t)l.n * K > MDI_MAX_SEQUENCES) {
    mdi_fail("%d prompts x --n-samples %d = %lld sequences: at most %d in one run (split the prompts over "
             "several runs)", l.n, K, (long long)l.n * K, MDI_MAX_SEQUENCES);
    free_list(&l);
    return MDI_ERR;
  }
  const int n = l.n * K, piece_max = longest_piece(tok);
  struct mdi_request *reqs = mdi_calloc((size_t)n, sizeof *reqs, "requests");
  if (!reqs) {
    free_list(&l);
    return MDI_ERR;
  }
  int rc = MDI_OK;
  for (int j = 0; j < l.n && rc == MDI_OK; j++) {
    const struct prompt *p = &l.items[j];
    for (int k = 0; k < K && rc == MDI_OK; k++) {
      struct mdi_request *r = &reqs[j * K + k];
      r->id = j * K + k;
      r->max_new = p->max_tokens >= 0 ? p->max_tokens : o->max_new_tokens;
      r->seed = p->seed >= 0 ? (uint64_t)p->seed + (uint64_t)k : (uint64_t)o->seed + (uint64_t)r->id;
      r->sampling = p->sampling;
      if (k == 0) {
        rc = encode(r, p, o, tok, max_seq, piece_max);
      } else { /* samples share the first one's encoding */
        r->prompt = mdi_xstrdup(reqs[j * K].prompt);
        r->chat = reqs[j * K].chat;
        r->n_prompt = reqs[j * K].n_prompt;
        r->prompt_tokens = mdi_xmalloc((size_t)r->n_prompt * sizeof(int), "prompt tokens");
        memcpy(r->prompt_tokens, reqs[j * K].prompt_tokens, (size_t)r->n_prompt * sizeof(int));
      }
    }
  }
  free_list(&l);
  if (rc != MDI_OK) {
    mdi_prompts_free(reqs, n);
    return MDI_ERR;
  }
  *reqs_out = reqs;
  *n_out = n;
  return MDI_OK;
}

void mdi_prompts_free(struct mdi_request *reqs, int n) {
  if (!reqs) return;
  for (int i = 0; i < n; i++) {
    free(reqs[i].prompt);
    free(reqs[i].prompt_tokens);
  }
  free(reqs);
}
