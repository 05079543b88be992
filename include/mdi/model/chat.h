/* Chat formats: built-in formatters that render a conversation byte for
 * byte as a model's Jinja chat template does (in transformers'
 * apply_chat_template environment; tests/reference/chat/README.md describes
 * each one).  There is no template engine: when a model is converted, its
 * chat template is recognised as one of these formats and the format's name
 * is stored in the model file (/tokenizer attribute chat_format).
 *
 *   llama2          Llama 2 chat: [INST] <<SYS>> ... [/INST]
 *   llama3          Llama 3.0 Instruct: header ids, no default system block
 *   llama3.1        Llama 3.1/3.3: a system block with the knowledge cutoff and
 *                   a date (default 26 Jul 2024)
 *   llama3.2        Llama 3.2: the same, today's date by default
 *   qwen2           Qwen2 Instruct ChatML, default system "You are a helpful assistant."
 *   qwen2.5         Qwen2.5 Instruct ChatML with its default system text
 *   qwen3           Qwen3: ChatML, <think> blocks, enable_thinking
 *   smollm2         SmolLM2 Instruct ChatML with its default system text
 *   chatml          plain ChatML (no default system), enable_thinking false
 *                   adds an empty <think> block
 *   mistral-v0.1, mistral-legacy, mistral-v0.2, mistral-v0.3
 *                   the [INST] variants of Mistral Instruct's releases
 *   phi3, phi3.5, phi3-original, phi4-mini
 *                   <|user|> ... <|end|> variants
 *   zephyr          TinyLlama chat (Zephyr): <|user|>\n ... </s>
 */
#ifndef MDI_CHAT_H
#define MDI_CHAT_H

#include <stddef.h>

struct mdi_chat_message {
  char *role;    /* "system", "user", "assistant", ... */
  char *content;
};

struct mdi_chat_options {
  int add_generation_prompt;
  const char *date_string; /* Llama 3.1/3.2's date_string; NULL: the template's default */
  const char *today;       /* what strftime_now("%d %b %Y") gives; NULL: the local date now */
  int enable_thinking;     /* Qwen3's enable_thinking: -1 not given, 0 false, 1 true */
};

/* The built-in format a chat template is, or NULL when it is none of them
 * (the template is compared as a whole with the known ones). */
const char *mdi_chat_recognize(const char *tmpl);

/* 1 when `format` names a built-in format. */
int mdi_chat_known(const char *format);

/* The formats, NULL-terminated (for messages and --help). */
const char *const *mdi_chat_formats(void);

/* Render msgs[0..n) in `format` into a new NUL-terminated string (*out,
 * malloc'd).  bos and eos are the strings the template knows as bos_token
 * and eos_token ("" when the model has none).  A conversation the template
 * refuses (roles that do not alternate, ...) fails with the template's own
 * message; so does an unknown format. */
int mdi_chat_render(const char *format, const char *bos, const char *eos, const struct mdi_chat_message *msgs,
                    int n, const struct mdi_chat_options *opt, char **out);

#endif
