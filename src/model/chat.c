/* The built-in chat formats (include/mdi/model/chat.h).  Each formatter is
 * its model's Jinja template read as C: the same branches in the same
 * order, Python's str.strip() where the template trims, the template's own
 * error messages where it raises.  Tool calls are not rendered (messages
 * are role and text). */
#include "mdi/model/chat.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mdi/base/error.h"
#include "mdi/base/utf8.h"

/* ---- text ---------------------------------------------------------------------- */

struct buf {
  char *s;
  size_t n, cap;
};

static void put(struct buf *b, const char *s, size_t n) {
  if (b->n + n + 1 > b->cap) {
    b->cap = 2 * (b->n + n + 1);
    b->s = mdi_xrealloc(b->s, b->cap, "chat text");
  }
  memcpy(b->s + b->n, s, n);
  b->n += n;
  b->s[b->n] = '\0';
}

static void puts_(struct buf *b, const char *s) { put(b, s, strlen(s)); }

/* A slice of a string. */
struct span {
  const char *s;
  size_t n;
};

static struct span whole(const char *s) { return (struct span){s, strlen(s)}; }
static void put_span(struct buf *b, struct span x) { put(b, x.s, x.n); }

/* Python's str.isspace() for one character. */
static int py_space(uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* str.strip() (Jinja's trim) on valid UTF-8. */
static struct span strip(struct span x) {
  while (x.n > 0) {
    uint32_t c;
    const int k = mdi_utf8_decode(x.s, x.n, &c);
    if (k <= 0 || !py_space(c)) break;
    x.s += k, x.n -= (size_t)k;
  }
  while (x.n > 0) {
    size_t i = x.n - 1;
    while (i > 0 && ((unsigned char)x.s[i] & 0xC0) == 0x80) i--;
    uint32_t c;
    if (mdi_utf8_decode(x.s + i, x.n - i, &c) <= 0 || !py_space(c)) break;
    x.n = i;
  }
  return x;
}

static struct span lstrip_nl(struct span x) {
  while (x.n > 0 && x.s[0] == '\n') x.s++, x.n--;
  return x;
}

static struct span rstrip_nl(struct span x) {
  while (x.n > 0 && x.s[x.n - 1] == '\n') x.n--;
  return x;
}

/* Offset of the first / last occurrence of w in x, or -1. */
static long find_first(struct span x, const char *w) {
  const size_t k = strlen(w);
  for (size_t i = 0; i + k <= x.n; i++)
    if (!memcmp(x.s + i, w, k)) return (long)i;
  return -1;
}

static long find_last(struct span x, const char *w) {
  const size_t k = strlen(w);
  for (size_t i = x.n >= k ? x.n - k + 1 : 0; i-- > 0;)
    if (!memcmp(x.s + i, w, k)) return (long)i;
  return -1;
}

static int is(const struct mdi_chat_message *m, const char *role) { return !strcmp(m->role, role); }

/* ---- the formats ------------------------------------------------------------------- */

struct conv {
  const struct mdi_chat_message *m;
  int n;
  const char *bos, *eos;
  const struct mdi_chat_options *opt;
};

typedef int (*format_fn)(const struct conv *c, struct buf *b, const void *arg);

static int llama2(const struct conv *c, struct buf *b, const void *arg) {
  (void)arg;
  const int has_sys = c->n > 0 && is(&c->m[0], "system");
  const struct mdi_chat_message *m = c->m + has_sys;
  const int n = c->n - has_sys;
  for (int i = 0; i < n; i++) {
    if (is(&m[i], "user") != (i % 2 == 0))
      return mdi_fail("Conversation roles must alternate user/assistant/user/assistant/...");
    struct buf content = {0};
    if (i == 0 && has_sys) {
      puts_(&content, "<<SYS>>\n");
      puts_(&content, c->m[0].content);
      puts_(&content, "\n<</SYS>>\n\n");
    }
    puts_(&content, m[i].content);
    if (is(&m[i], "user")) {
      puts_(b, c->bos);
      puts_(b, "[INST] ");
      put_span(b, strip((struct span){content.s, content.n}));
      puts_(b, " [/INST]");
    } else if (is(&m[i], "assistant")) {
      puts_(b, " ");
      put_span(b, strip((struct span){content.s, content.n}));
      puts_(b, " ");
      puts_(b, c->eos);
    }
    free(content.s);
  }
  return MDI_OK;
}

/* One message as open + role + sep + content + close, the shape of the
 * header-based formats (Llama 3, ChatML, Phi-4). */
static void turn(struct buf *b, const char *open, const char *role, const char *sep, struct span content,
                 const char *close) {
  puts_(b, open);
  puts_(b, role);
  puts_(b, sep);
  put_span(b, content);
  puts_(b, close);
}

static void llama3_header(struct buf *b, const char *role, struct span content) {
  turn(b, "<|start_header_id|>", role, "<|end_header_id|>\n\n", content, "<|eot_id|>");
}

static int llama3(const struct conv *c, struct buf *b, const void *arg) {
  (void)arg;
  for (int i = 0; i < c->n; i++) {
    if (i == 0) puts_(b, c->bos);
    llama3_header(b, c->m[i].role, strip(whole(c->m[i].content)));
  }
  if (c->opt->add_generation_prompt) puts_(b, "<|start_header_id|>assistant<|end_header_id|>\n\n");
  return MDI_OK;
}

/* Llama 3.1 and 3.2; arg: 0 for 3.1 (default date fixed), 1 for 3.2 (today). */
static int llama31(const struct conv *c, struct buf *b, const void *arg) {
  char today[32];
  const char *date = c->opt->date_string;
  if (!date && arg) {
    if (c->opt->today) {
      date = c->opt->today;
    } else {
      const time_t now = time(NULL);
      struct tm tm;
      localtime_r(&now, &tm);
      strftime(today, sizeof today, "%d %b %Y", &tm);
      date = today;
    }
  }
  if (!date) date = "26 Jul 2024";
  puts_(b, c->bos);
  const int has_sys = c->n > 0 && is(&c->m[0], "system");
  puts_(b, "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: ");
  puts_(b, date);
  puts_(b, "\n\n");
  if (has_sys) put_span(b, strip(whole(c->m[0].content)));
  puts_(b, "<|eot_id|>");
  for (int i = has_sys; i < c->n; i++) {
    if (is(&c->m[i], "tool") || is(&c->m[i], "ipython")) llama3_header(b, "ipython", whole(c->m[i].content));
    else llama3_header(b, c->m[i].role, strip(whole(c->m[i].content)));
  }
  if (c->opt->add_generation_prompt) puts_(b, "<|start_header_id|>assistant<|end_header_id|>\n\n");
  return MDI_OK;
}

static void chatml(struct buf *b, const char *role, struct span content) {
  turn(b, "<|im_start|>", role, "\n", content, "<|im_end|>\n");
}

/* Qwen's tool results: consecutive tool messages share one user turn. */
static void tool_response(const struct conv *c, struct buf *b, int i) {
  if (i == 0 || !is(&c->m[i - 1], "tool")) puts_(b, "<|im_start|>user");
  puts_(b, "\n<tool_response>\n");
  puts_(b, c->m[i].content);
  puts_(b, "\n</tool_response>");
  if (i == c->n - 1 || !is(&c->m[i + 1], "tool")) puts_(b, "<|im_end|>\n");
}

static int qwen25(const struct conv *c, struct buf *b, const void *arg) {
  (void)arg;
  if (c->n > 0 && is(&c->m[0], "system")) chatml(b, "system", whole(c->m[0].content));
  else puts_(b, "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n");
  for (int i = 0; i < c->n; i++) {
    const struct mdi_chat_message *m = &c->m[i];
    if (is(m, "user") || (is(m, "system") && i > 0) || is(m, "assistant")) chatml(b, m->role, whole(m->content));
    else if (is(m, "tool")) tool_response(c, b, i);
  }
  if (c->opt->add_generation_prompt) puts_(b, "<|im_start|>assistant\n");
  return MDI_OK;
}

/* SmolLM2 and Qwen2: arg is the default system text. */
static int chatml_default_system(const struct conv *c, struct buf *b, const void *arg) {
  for (int i = 0; i < c->n; i++) {
    if (i == 0 && !is(&c->m[0], "system")) chatml(b, "system", whole(arg));
    chatml(b, c->m[i].role, whole(c->m[i].content));
  }
  if (c->opt->add_generation_prompt) puts_(b, "<|im_start|>assistant\n");
  return MDI_OK;
}

static int plain_chatml(const struct conv *c, struct buf *b, const void *arg) {
  (void)arg;
  for (int i = 0; i < c->n; i++) chatml(b, c->m[i].role, whole(c->m[i].content));
  if (c->opt->add_generation_prompt) {
    puts_(b, "<|im_start|>assistant\n");
    if (c->opt->enable_thinking == 0) puts_(b, "<think>\n\n</think>\n\n");
  }
  return MDI_OK;
}

static int qwen3(const struct conv *c, struct buf *b, const void *arg) {
  (void)arg;
  if (c->n > 0 && is(&c->m[0], "system")) chatml(b, "system", whole(c->m[0].content));
  int last_query = c->n - 1;
  for (int i = c->n - 1; i >= 0; i--) {
    const struct span s = whole(c->m[i].content);
    const int wrapped = s.n >= 15 && !strncmp(s.s, "<tool_response>", 15) && s.n >= 16 &&
                        !memcmp(s.s + s.n - 16, "</tool_response>", 16);
    if (is(&c->m[i], "user") && !wrapped) {
      last_query = i;
      break;
    }
  }
  for (int i = 0; i < c->n; i++) {
    const struct mdi_chat_message *m = &c->m[i];
    struct span content = whole(m->content), reasoning = {"", 0};
    if (is(m, "user") || (is(m, "system") && i > 0)) {
      chatml(b, m->role, content);
    } else if (is(m, "assistant")) {
      if (find_first(content, "</think>") >= 0) {
        struct span before = {content.s, (size_t)find_first(content, "</think>")};
        before = rstrip_nl(before);
        const long open = find_last(before, "<think>");
        if (open >= 0) before.s += open + 7, before.n -= (size_t)open + 7;
        reasoning = lstrip_nl(before);
        const size_t after = (size_t)find_last(content, "</think>") + 8;
        content = lstrip_nl((struct span){content.s + after, content.n - after});
      }
      puts_(b, "<|im_start|>assistant\n");
      if (i > last_query && (i == c->n - 1 || reasoning.n > 0)) {
        puts_(b, "<think>\n");
        put_span(b, lstrip_nl(rstrip_nl(reasoning)));
        puts_(b, "\n</think>\n\n");
        content = lstrip_nl(content);
      }
      put_span(b, content);
      puts_(b, "<|im_end|>\n");
    } else if (is(m, "tool")) {
      tool_response(c, b, i);
    }
  }
  if (c->opt->add_generation_prompt) {
    puts_(b, "<|im_start|>assistant\n");
    if (c->opt->enable_thinking == 0) puts_(b, "<think>\n\n</think>\n\n");
  }
  return MDI_OK;
}

/* The Mistral variants.  arg: "v0.1" and "legacy" check the roles as they
 * go; "v0.2" and "v0.3" take a first system message out first. */
static int mistral(const struct conv *c, struct buf *b, const void *arg) {
  const char *v = arg;
  if (!strcmp(v, "v0.1") || !strcmp(v, "legacy")) {
    puts_(b, c->bos);
    for (int i = 0; i < c->n; i++) {
      const struct mdi_chat_message *m = &c->m[i];
      if (is(m, "user") != (i % 2 == 0))
        return mdi_fail("Conversation roles must alternate user/assistant/user/assistant/...");
      if (is(m, "user")) {
        puts_(b, "[INST] ");
        puts_(b, m->content);
        puts_(b, " [/INST]");
      } else if (is(m, "assistant")) {
        puts_(b, m->content);
        puts_(b, c->eos);
        if (!strcmp(v, "v0.1")) puts_(b, " ");
      } else {
        return mdi_fail("Only user and assistant roles are supported!");
      }
    }
    return MDI_OK;
  }
  const int v3 = !strcmp(v, "v0.3");
  const int has_sys = c->n > 0 && is(&c->m[0], "system");
  const struct mdi_chat_message *m = c->m + has_sys;
  const int n = c->n - has_sys;
  static const char alternate[] =
      "After the optional system message, conversation roles must alternate user/assistant/user/assistant/...";
  static const char only[] =
      "Only user and assistant roles are supported, with the exception of an initial optional system message!";
  for (int i = 0, k = 0; v3 && i < n; i++) { /* v0.3 checks every role before it writes anything */
    if (is(&m[i], "tool") || is(&m[i], "tool_results")) continue;
    if (is(&m[i], "user") != (k++ % 2 == 0)) return mdi_fail("%s", alternate);
  }
  puts_(b, c->bos);
  for (int i = 0; i < n; i++) {
    if (!v3 && is(&m[i], "user") != (i % 2 == 0)) return mdi_fail("%s", alternate);
    if (is(&m[i], "user")) {
      const int with_sys = has_sys && (v3 ? i == n - 1 : i == 0);
      puts_(b, v3 ? "[INST] " : " [INST] ");
      if (with_sys) puts_(b, c->m[0].content), puts_(b, "\n\n");
      puts_(b, m[i].content);
      puts_(b, v3 ? "[/INST]" : " [/INST]");
    } else if (is(&m[i], "assistant")) {
      puts_(b, " ");
      put_span(b, v3 ? strip(whole(m[i].content)) : whole(m[i].content));
      puts_(b, c->eos);
    } else if (v3 && (is(&m[i], "tool") || is(&m[i], "tool_results"))) {
      return mdi_fail("Tool call IDs should be alphanumeric strings with length 9!");
    } else {
      return mdi_fail("%s", only);
    }
  }
  return MDI_OK;
}

/* Phi-3 (4k), Phi-3.5 (arg "3.5": an empty system message is left out). */
static int phi3(const struct conv *c, struct buf *b, const void *arg) {
  for (int i = 0; i < c->n; i++) {
    const struct mdi_chat_message *m = &c->m[i];
    const char *tag = is(m, "system") ? "<|system|>\n" : is(m, "user") ? "<|user|>\n" : is(m, "assistant") ? "<|assistant|>\n" : NULL;
    if (!tag || (arg && is(m, "system") && !m->content[0])) continue;
    puts_(b, tag);
    puts_(b, m->content);
    puts_(b, "<|end|>\n");
  }
  puts_(b, c->opt->add_generation_prompt ? "<|assistant|>\n" : c->eos);
  return MDI_OK;
}

static int phi3_original(const struct conv *c, struct buf *b, const void *arg) {
  (void)arg;
  puts_(b, c->bos);
  for (int i = 0; i < c->n; i++) {
    if (is(&c->m[i], "user")) {
      puts_(b, "<|user|>\n");
      puts_(b, c->m[i].content);
      puts_(b, "<|end|>\n<|assistant|>\n");
    } else if (is(&c->m[i], "assistant")) {
      puts_(b, c->m[i].content);
      puts_(b, "<|end|>\n");
    }
  }
  return MDI_OK;
}

static int phi4(const struct conv *c, struct buf *b, const void *arg) {
  (void)arg;
  for (int i = 0; i < c->n; i++) turn(b, "<|", c->m[i].role, "|>", whole(c->m[i].content), "<|end|>");
  puts_(b, c->opt->add_generation_prompt ? "<|assistant|>" : c->eos);
  return MDI_OK;
}

static int zephyr(const struct conv *c, struct buf *b, const void *arg) {
  (void)arg;
  for (int i = 0; i < c->n; i++) {
    const struct mdi_chat_message *m = &c->m[i];
    const char *tag = is(m, "user") ? "<|user|>\n" : is(m, "system") ? "<|system|>\n" : is(m, "assistant") ? "<|assistant|>\n" : NULL;
    if (tag) {
      puts_(b, tag);
      puts_(b, m->content);
      puts_(b, c->eos);
      puts_(b, "\n");
    }
    if (i == c->n - 1 && c->opt->add_generation_prompt) puts_(b, "<|assistant|>\n");
  }
  return MDI_OK;
}

/* ---- the table ----------------------------------------------------------------------- */

static const struct format {
  const char *name;
  format_fn fn;
  const void *arg;
} formats[] = {
    {"llama2", llama2, NULL},
    {"llama3", llama3, NULL},
    {"llama3.1", llama31, NULL},
    {"llama3.2", llama31, "today"},
    {"qwen2", chatml_default_system, "You are a helpful assistant."},
    {"qwen2.5", qwen25, NULL},
    {"qwen3", qwen3, NULL},
    {"smollm2", chatml_default_system, "You are a helpful AI assistant named SmolLM, trained by Hugging Face"},
    {"chatml", plain_chatml, NULL},
    {"mistral-v0.1", mistral, "v0.1"},
    {"mistral-legacy", mistral, "legacy"},
    {"mistral-v0.2", mistral, "v0.2"},
    {"mistral-v0.3", mistral, "v0.3"},
    {"phi3", phi3, NULL},
    {"phi3.5", phi3, "3.5"},
    {"phi3-original", phi3_original, NULL},
    {"phi4-mini", phi4, NULL},
    {"zephyr", zephyr, NULL},
};
#define N_FORMATS (sizeof formats / sizeof formats[0])

/* Known templates: FNV-1a 64 of the exact text, its length, its format.
 * The sources are in tests/data/chat/templates/SOURCES.json; qwen2 and
 * chatml are the Qwen2 and Qwen3 templates of the architecture fixtures. */
static const struct known {
  uint64_t hash;
  size_t len;
  const char *format;
} known[] = {
    {0xf344eecf1bd3a427ull, 815, "llama2"},          /* Llama-2-7b-chat-hf */
    {0x0e60067a5537498eull, 389, "llama3"},          /* Meta-Llama-3-8B-Instruct */
    {0x60848a05837ce656ull, 4614, "llama3.1"},       /* Llama-3.1-8B-Instruct, Llama-3.3-70B-Instruct */
    {0x0ac29b9538e2befaull, 3827, "llama3.2"},       /* Llama-3.2-3B-Instruct */
    {0x8a87094e0e1e24c5ull, 328, "qwen2"},           /* Qwen2-Instruct */
    {0xc2b27ee60f1b8775ull, 2507, "qwen2.5"},        /* Qwen2.5-*-Instruct */
    {0x959a4551391a6549ull, 4168, "qwen3"},          /* Qwen3-0.6B, Oct 2025 */
    {0x2bfdb7aa9754484eull, 4116, "qwen3"},          /* Qwen3-0.6B, May 2025 */
    {0x45ec583d4d25bc3aull, 368, "smollm2"},         /* SmolLM2-*-Instruct */
    {0x69b5c406f300c324ull, 309, "chatml"},          /* ChatML with enable_thinking */
    {0xc730acc029ce6ee0ull, 477, "mistral-v0.1"},    /* Mistral-7B-Instruct-v0.1 */
    {0x8c734b90b4f8d84dull, 470, "mistral-legacy"},  /* Mistral-7B-Instruct-v0.2, Mixtral-8x7B-Instruct, 2023 */
    {0xf741d22a1d1ed6d7ull, 1058, "mistral-v0.2"},   /* Mistral-7B-Instruct-v0.2, 2024 */
    {0x763320906faf8dbfull, 3959, "mistral-v0.3"},   /* Mistral-7B-Instruct-v0.3 */
    {0xecebdb26677c663dull, 407, "phi3"},            /* Phi-3-mini-4k-instruct */
    {0xcf278cde387a54c8ull, 430, "phi3.5"},          /* Phi-3.5-mini-instruct */
    {0x4ebae769b67b72f1ull, 269, "phi3-original"},   /* Phi-3-mini, April 2024 */
    {0xd6a2d985b28ca308ull, 423, "phi4-mini"},       /* Phi-4-mini-instruct */
    {0xcd8b49000db02c2cull, 410, "zephyr"},          /* TinyLlama-1.1B-Chat-v1.0 (Zephyr) */
};

static uint64_t fnv64(const char *s, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
  return h;
}

const char *mdi_chat_recognize(const char *tmpl) {
  const size_t n = strlen(tmpl);
  const uint64_t h = fnv64(tmpl, n);
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (known[i].hash == h && known[i].len == n) return known[i].format;
  return NULL;
}

static const struct format *find(const char *name) {
  for (size_t i = 0; i < N_FORMATS; i++)
    if (!strcmp(formats[i].name, name)) return &formats[i];
  return NULL;
}

int mdi_chat_known(const char *format) { return format && find(format) != NULL; }

const char *const *mdi_chat_formats(void) {
  static const char *names[N_FORMATS + 1];
  for (size_t i = 0; i < N_FORMATS; i++) names[i] = formats[i].name;
  return names;
}

int mdi_chat_render(const char *format, const char *bos, const char *eos, const struct mdi_chat_message *msgs,
                    int n, const struct mdi_chat_options *opt, char **out) {
  *out = NULL;
  const struct format *f = find(format ? format : "");
  if (!f) return mdi_fail("chat format \"%s\" is not one of the built-in formats", format ? format : "");
  static const struct mdi_chat_options defaults = {.enable_thinking = -1};
  const struct conv c = {msgs, n, bos ? bos : "", eos ? eos : "", opt ? opt : &defaults};
  struct buf b = {0};
  puts_(&b, "");
  if (f->fn(&c, &b, f->arg) != MDI_OK) {
    free(b.s);
    return MDI_ERR;
  }
  *out = b.s;
  return MDI_OK;
}
