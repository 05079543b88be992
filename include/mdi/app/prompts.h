/* The run's sequences: prompts from -p and -f, each sampled --n-samples
 * times, encoded and checked against max_seq before anything runs. */
#ifndef MDI_PROMPTS_H
#define MDI_PROMPTS_H

#include "mdi/app/options.h"
#include "mdi/model/chat.h"
#include "mdi/model/sequence.h"
#include "mdi/model/tokenizer.h"

/* Sequence ids: prompts in order (-p ones first, then file lines), and for
 * prompt j sample k the id j*K + k.  Seeds: S + id, or a JSONL line's own
 * seed + k.  A prompt file that ends in .jsonl holds JSON objects, with
 * "prompt" (text) or "messages" (a conversation, rendered with the model's
 * chat format).  --chat makes every text prompt the user's message of a
 * conversation (--system's text first). */
int mdi_prompts_build(const struct mdi_options *o, const struct mdi_tokenizer *tok, int max_seq,
                      struct mdi_request **reqs, int *n_reqs);
void mdi_prompts_free(struct mdi_request *reqs, int n_reqs);

/* How mdi_prompt_encode reads a text. */
#define MDI_PROMPT_CHAT 1u          /* a rendered chat template: its special tokens are written in it */
#define MDI_PROMPT_PARSE_SPECIAL 2u /* raw text: special tokens typed in it are those tokens */

/* One prompt's tokens, appended to ids: raw text gets the special tokens
 * the tokenizer adds (BOS for Llama, none for GPT-2 and Qwen) and its typed
 * special tokens stay text unless MDI_PROMPT_PARSE_SPECIAL; a rendered chat
 * (MDI_PROMPT_CHAT) gets nothing added and its special tokens matched.  An
 * empty result starts from BOS.  Thread-safe: the server's connections
 * encode their prompts. */
int mdi_prompt_encode(const struct mdi_tokenizer *tok, const char *text, size_t len, unsigned flags,
                      struct mdi_ids *ids);

/* Render a conversation with the model's chat format (ctx: the tokenizer;
 * the generation prompt added) into *prompt (malloc'd); fails with a
 * message when the model has no chat format.  The shape of the server's
 * and -i's chat hook (mdi_chat_render_fn). */
int mdi_prompt_chat(void *tokenizer, const struct mdi_chat_message *msgs, int n, char **prompt);

#endif
