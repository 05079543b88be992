/* The run's sequences: prompts from -p and -f, each sampled --n-samples
 * times, encoded and checked against max_seq before anything runs. */
#ifndef MDI_PROMPTS_H
#define MDI_PROMPTS_H

#include "mdi/app/options.h"
#include "mdi/model/sequence.h"
#include "mdi/model/tokenizer.h"

/* Sequence ids: prompts in order (-p ones first, then file lines), and for
 * prompt j sample k the id j*K + k.  Seeds: S + id, or a JSONL line's own
 * seed + k.  A prompt file that ends in .jsonl holds JSON objects. */
int mdi_prompts_build(const struct mdi_options *o, const struct mdi_tokenizer *tok, int max_seq,
                      struct mdi_request **reqs, int *n_reqs);
void mdi_prompts_free(struct mdi_request *reqs, int n_reqs);

/* One prompt's tokens as a batch run makes them (BOS when the tokenizer
 * wants it, and always before an empty prompt); tokens holds len + 3.
 * Thread-safe: the server's connections encode their prompts. */
int mdi_prompt_encode(const struct mdi_tokenizer *tok, const char *text, size_t len, int *tokens, int *n_tokens);

#endif
