/* The built-in chat formats against Jinja2's renderings of the real
 * templates (tests/reference/chat/README.md):
 *   test_chat DATA_DIR
 * DATA_DIR holds templates/SOURCES.json, templates/NAME.jinja,
 * conversations.json and expected/NAME.jsonl.  Every template must be
 * recognised as its format (the table below), and every line of its
 * expected file (each kwargs variant, conversation and
 * add_generation_prompt) must render byte for byte, or fail with the same
 * message when the template refuses the conversation. */
#include <stdint.h>

#include "mdi/base/error.h"
#include "mdi/base/json.h"
#include "mdi/model/chat.h"
#include "mdi_test.h"

/* The format each template of tests/data/chat is. */
static const struct {
  const char *name, *format;
} expect[] = {
    {"llama2_7b_chat", "llama2"},
    {"llama3_8b_instruct", "llama3"},
    {"llama3_1_8b_instruct", "llama3.1"},
    {"llama3_2_3b_instruct", "llama3.2"},
    {"qwen2_5_instruct", "qwen2.5"},
    {"qwen3_0_6b", "qwen3"},
    {"qwen3_0_6b_2025_05", "qwen3"},
    {"smollm2_instruct", "smollm2"},
    {"mistral_7b_instruct_v0_1_legacy", "mistral-v0.1"},
    {"mistral_instruct_legacy", "mistral-legacy"},
    {"mistral_7b_instruct_v0_2", "mistral-v0.2"},
    {"mistral_7b_instruct_v0_3", "mistral-v0.3"},
    {"phi3_mini_4k_instruct", "phi3"},
    {"phi3_5_mini_instruct", "phi3.5"},
    {"phi3_mini_original", "phi3-original"},
    {"phi4_mini_instruct", "phi4-mini"},
    {"tinyllama_1_1b_chat_v1_0", "zephyr"},
    /* the architecture fixtures' Qwen templates (tests/data/chat_fixtures) */
    {"qwen2_instruct", "qwen2"},
    {"chatml_thinking", "chatml"},
};

/* What strftime_now gives in render.py (its frozen clock, 2025-01-02). */
#define FROZEN_TODAY "02 Jan 2025"

static char *read_text(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  const long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  if (s && fread(s, 1, (size_t)n, f) != (size_t)n) s[0] = '\0';
  if (s) s[n] = '\0';
  fclose(f);
  return s;
}

/* Conversation i of conversations.json as messages. */
static int messages(const struct mdi_json *conv, struct mdi_chat_message *m, int cap) {
  int n = 0;
  for (const struct mdi_json *e = mdi_json_first(mdi_json_get(conv, "messages")); e && n < cap; e = mdi_json_next(e))
    m[n++] = (struct mdi_chat_message){(char *)mdi_json_string(mdi_json_get(e, "role")),
                                       (char *)mdi_json_string(mdi_json_get(e, "content"))};
  return n;
}

/* Check every line of expected/NAME.jsonl; returns the number of lines. */
static int check_template(const char *dir, const char *name, const char *format, const struct mdi_json *convs) {
  char path[4096];
  snprintf(path, sizeof path, "%s/templates/%s.jinja", dir, name);
  char *tmpl = read_text(path);
  CHECK(tmpl != NULL);
  if (!tmpl) return 0;
  const char *got = mdi_chat_recognize(tmpl);
  if (!got || strcmp(got, format) != 0) {
    fprintf(stderr, "%s: recognised as %s, expected %s\n", name, got ? got : "(none)", format);
    mdi_test_failures++;
  }
  free(tmpl);
  snprintf(path, sizeof path, "%s/expected/%s.jsonl", dir, name);
  FILE *f = fopen(path, "r");
  CHECK(f != NULL);
  if (!f) return 0;
  char *line = NULL;
  size_t cap = 0;
  int lines = 0, bad = 0;
  while (getline(&line, &cap, f) > 0) {
    struct mdi_json_doc *doc;
    if (mdi_json_parse(&doc, line, strlen(line), path) != MDI_OK) {
      fprintf(stderr, "%s\n", mdi_error());
      mdi_test_failures++;
      break;
    }
    const struct mdi_json *o = mdi_json_root(doc), *kw = mdi_json_get(o, "kwargs");
    int64_t ci;
    mdi_json_int(mdi_json_get(o, "conversation"), 0, 1000, &ci);
    const struct mdi_json *conv = mdi_json_first(convs);
    for (int64_t k = 0; k < ci && conv; k++) conv = mdi_json_next(conv);
    struct mdi_chat_message m[64];
    const int n = messages(conv, m, 64);
    const struct mdi_json *think = mdi_json_get(kw, "enable_thinking");
    const struct mdi_chat_options opt = {
        .add_generation_prompt = mdi_json_bool(mdi_json_get(o, "add_generation_prompt")),
        .date_string = mdi_json_string(mdi_json_get(kw, "date_string")),
        .today = FROZEN_TODAY,
        .enable_thinking = think ? mdi_json_bool(think) : -1,
    };
    const char *bos = mdi_json_string(mdi_json_get(kw, "bos_token")), *eos = mdi_json_string(mdi_json_get(kw, "eos_token"));
    char *text = NULL;
    const int rc = mdi_chat_render(format, bos ? bos : "", eos ? eos : "", m, n, &opt, &text);
    const char *want = mdi_json_string(mdi_json_get(o, "text")), *error = mdi_json_string(mdi_json_get(o, "error"));
    const int same = want ? rc == MDI_OK && !strcmp(text, want) : rc != MDI_OK && error && !strcmp(mdi_error(), error);
    if (!same && bad++ < 3)
      fprintf(stderr, "%s line %d (conversation %lld, agp %d):\n  got  %s\n  want %s\n", name, lines + 1, (long long)ci,
              opt.add_generation_prompt, rc == MDI_OK ? text : mdi_error(), want ? want : error);
    if (!same) mdi_test_failures++;
    free(text);
    mdi_json_free(doc);
    lines++;
  }
  free(line);
  fclose(f);
  printf("%-34s %-15s %3d renderings, %d differ\n", name, format, lines, bad);
  return lines;
}

int main(int argc, char **argv) {
  char chat[4096], fixtures[4096];
  char *defaults[] = {argv[0], (char *)mdi_test_source_path("tests/data/chat", chat, sizeof chat),
                      (char *)mdi_test_source_path("tests/data/chat_fixtures", fixtures, sizeof fixtures)};
  if (argc < 2) argc = 3, argv = defaults;
  int total = 0;
  for (int a = 1; a < argc; a++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/conversations.json", argv[a]);
    struct mdi_json_doc *convs, *sources;
    if (mdi_json_parse_file(&convs, path, 1 << 20) != MDI_OK) {
      fprintf(stderr, "%s\n", mdi_error());
      return 1;
    }
    snprintf(path, sizeof path, "%s/templates/SOURCES.json", argv[a]);
    if (mdi_json_parse_file(&sources, path, 1 << 20) != MDI_OK) {
      fprintf(stderr, "%s\n", mdi_error());
      return 1;
    }
    /* every template the data holds is checked, and each must be in the table */
    for (const struct mdi_json *s = mdi_json_first(mdi_json_root(sources)); s; s = mdi_json_next(s)) {
      const char *name = mdi_json_key(s), *format = NULL;
      for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++)
        if (!strcmp(expect[i].name, name)) format = expect[i].format;
      if (!format) {
        fprintf(stderr, "%s: no expected format for template %s\n", argv[0], name);
        mdi_test_failures++;
        continue;
      }
      total += check_template(argv[a], name, format, mdi_json_get(mdi_json_root(convs), "conversations"));
    }
    mdi_json_free(convs);
    mdi_json_free(sources);
  }
  printf("%d renderings checked\n", total);
  CHECK(total > 0);
  /* an unknown format and an unknown template */
  char *out;
  CHECK_EQ_INT(mdi_chat_render("no-such-format", "", "", NULL, 0, NULL, &out), MDI_ERR);
  CHECK(strstr(mdi_error(), "no-such-format") != NULL);
  CHECK(mdi_chat_recognize("{{ messages }}") == NULL);
  return mdi_test_finish("test_chat");
}
