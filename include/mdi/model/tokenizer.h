/* The tokenizer: BPE of one of three kinds (docs/FORMAT.md, "The tokenizer
 * group"):
 *  - "sentencepiece" (the default): SentencePiece-style BPE with byte
 *    fallback, as llama2.c uses it: merges by piece score, a dummy-prefix
 *    space, "<0xNN>" pieces for bytes without a piece;
 *  - "byte-bpe": GPT-2's byte-level BPE: the text is pre-tokenized with
 *    GPT-2's pattern, each byte is one of 256 base pieces (spelled through
 *    GPT-2's byte-to-unicode table), and merges apply by rank (files written
 *    before "hf" existed; run as the "hf" pipeline of GPT-2);
 *  - "hf": a Hugging Face tokenizers pipeline (normalizer, pre-tokenizer,
 *    BPE model, added tokens, post-processor, decoder) described by the
 *    JSON dataset /tokenizer/pipeline, run as tokenizers runs it.
 *
 * In the model file it is the group /tokenizer:
 *   scores        float32 [vocab]
 *   piece_offsets int64   [vocab+1]   piece i = piece_bytes[off[i] .. off[i+1])
 *   piece_bytes   uint8   [total]     raw bytes, no NUL terminators
 *   stop_ids      int32   [n_stop]    generation stops when one is sampled
 *   merges        int32   [n][2]      byte-bpe, hf: token-id pairs, rank order
 *   pipeline      uint8   [len]       hf only: the pipeline as JSON text
 *   chat_template uint8   [len]       optional: the model's Jinja chat template
 *   special_ids   int32   [n]         optional, sentencepiece: special tokens matched in a chat
 *   attributes: bos_id, eos_id, max_token_length; kind and add_bos
 *   (optional: "sentencepiece" and 1 when absent); optional chat_format,
 *   chat_bos, chat_eos (the built-in chat formatter and the strings its
 *   template calls bos_token and eos_token; src/model/chat.c)
 */
#ifndef MDI_TOKENIZER_H
#define MDI_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

struct mdi_h5;
struct mdi_h5w;

#define MDI_MAX_STOP_IDS 16
/* Longest piece accepted: real vocabularies stay far below (Llama 2: 16
 * bytes, tok512: 7, Llama 3: 256); the bound keeps merge buffers small. */
#define MDI_MAX_PIECE_BYTES 4096

enum mdi_tokenizer_kind { MDI_TOKENIZER_SENTENCEPIECE = 0, MDI_TOKENIZER_BYTE_BPE = 1, MDI_TOKENIZER_HF = 2 };

struct mdi_tok_pipeline; /* the "hf" pipeline (src/model/tokenizer_hf.h) */

/* A growable list of token ids. */
struct mdi_ids {
  int *v;
  int n, cap;
};
void mdi_ids_push(struct mdi_ids *l, int id);
void mdi_ids_free(struct mdi_ids *l);

/* Options of mdi_tokenizer_encode_text. */
#define MDI_ENCODE_SPECIAL 1u       /* add the special tokens the tokenizer adds to a text (BOS...) */
#define MDI_ENCODE_PARSE_SPECIAL 2u /* special tokens typed in the text are those tokens */

/* One merge of a byte-bpe tokenizer in its hash table: pieces left and
 * right merge into `result` with priority `rank` (lower merges first). */
struct mdi_bpe_merge {
  int32_t left, right, rank, result; /* left = -1: an empty slot */
};

struct mdi_tokenizer {
  int vocab_size;
  char **pieces;          /* [vocab] NUL-terminated copies (pieces hold no NUL) */
  int *piece_lens;        /* [vocab] */
  float *scores;          /* [vocab] merge scores: higher merges first */
  int *piece_slots;       /* [piece_mask + 1] ids by hash of their piece (open addressing), -1 empty */
  uint32_t piece_mask;
  int byte_ids[256];      /* sentencepiece: id of the piece "<0xNN>" for byte NN;
                             byte-bpe: id of the base piece of byte NN; -1 if absent */
  int bos_id, eos_id;
  int stop_ids[MDI_MAX_STOP_IDS];
  int n_stop;
  int max_token_length;
  enum mdi_tokenizer_kind kind;
  int add_bos;            /* prompts start with bos_id */
  /* byte-bpe and hf */
  int n_merges;
  int32_t *merges;        /* [n_merges][2] piece ids in rank order */
  struct mdi_bpe_merge *merge_table; /* [merge_mask + 1] open addressing on (left, right) */
  uint32_t merge_mask;
  struct mdi_tok_pipeline *hf; /* hf, and byte-bpe run as GPT-2's pipeline */
  /* chat (optional; empty strings when the model file names no formatter) */
  char chat_format[32];
  char chat_bos[64], chat_eos[64];
  char *chat_template; /* NULL when absent */
  /* sentencepiece: the special tokens besides BOS and EOS (GGUF's control
   * and user-defined tokens); all are matched in a text when asked */
  int *special_ids;    /* [n_special] */
  int n_special;
};

/* Build from raw arrays (copies everything): a sentencepiece tokenizer with
 * add_bos = 1.  `pieces_bytes`/`offsets` as in the file.  Validates ids and
 * lengths; `source` names the origin in errors. */
int mdi_tokenizer_init(struct mdi_tokenizer *t, int vocab_size, const float *scores,
                       const uint8_t *piece_bytes, const int64_t *offsets, int bos_id,
                       int eos_id, const int *stop_ids, int n_stop, const char *source);
/* Make an initialized tokenizer a byte-bpe one with merges[n_merges][2]
 * (copied; rank = index).  Every byte needs its base piece (GPT-2's
 * byte-to-unicode spelling), and each merge's concatenation must be a piece.
 * Sets add_bos = 0.  On error t is left as it was. */
int mdi_tokenizer_set_byte_bpe(struct mdi_tokenizer *t, const int32_t *merges, int n_merges,
                               const char *source);
/* The special tokens of a sentencepiece tokenizer (copied; ids checked). */
int mdi_tokenizer_set_special(struct mdi_tokenizer *t, const int *ids, int n, const char *source);
/* Make an initialized tokenizer an hf one: merges[n_merges][2] (copied;
 * rank = index) and the pipeline description json[0..len) (docs/FORMAT.md).
 * On error t is left as it was. */
int mdi_tokenizer_set_hf(struct mdi_tokenizer *t, const int32_t *merges, int n_merges, const char *json,
                         size_t len, const char *source);
/* The pipeline description of an hf tokenizer (NULL for the other kinds). */
const char *mdi_tokenizer_pipeline_json(const struct mdi_tokenizer *t);
/* Read the /tokenizer group of an open model file. */
int mdi_tokenizer_load(struct mdi_tokenizer *t, struct mdi_h5 *f);
/* Write t as the /tokenizer group. */
int mdi_tokenizer_save(const struct mdi_tokenizer *t, struct mdi_h5w *w);
void mdi_tokenizer_free(struct mdi_tokenizer *t);
/* "sentencepiece", "byte-bpe" or "hf" */
const char *mdi_tokenizer_kind_name(enum mdi_tokenizer_kind kind);

/* Encode UTF-8 text.  sentencepiece, as llama2.c does: optional BOS, a
 * dummy-prefix space when the text is not empty, each code point looked up
 * (bytes fall back to <0xNN>), then greedy merges of the best-scoring pair.
 * byte-bpe: optional BOS, then each pre-token's bytes merged by rank.  `ids`
 * must hold len + 3 entries.  Fails (message set) on invalid UTF-8 or NUL
 * bytes. */
int mdi_tokenizer_encode(const struct mdi_tokenizer *t, const char *text, size_t len, int add_bos,
                         int add_eos, int *ids, int *n_ids);

/* Encode UTF-8 text into out (appended; the caller frees it): the kind's
 * own rules, with flags MDI_ENCODE_SPECIAL (sentencepiece and byte-bpe: BOS
 * when add_bos; hf: the post-processor's tokens) and MDI_ENCODE_PARSE_SPECIAL
 * (hf: special added tokens typed in the text are matched; without it they
 * are text, as tokenizers' split_special_tokens; non-special added tokens
 * are always matched).  Fails (message set) on invalid UTF-8 or NUL bytes. */
int mdi_tokenizer_encode_text(const struct mdi_tokenizer *t, const char *text, size_t len, unsigned flags,
                              struct mdi_ids *out);

/* Decode ids[0..n) as a whole, into a new NUL-terminated string: hf as
 * tokenizers' decode (skip_special_tokens when skip_special), the other
 * kinds as the concatenation of mdi_tokenizer_decode. */
int mdi_tokenizer_decode_text(const struct mdi_tokenizer *t, const int *ids, int n, int skip_special, char **out,
                              size_t *out_len);

/* 1 when id is a special added token (hf), or BOS/EOS (the other kinds). */
int mdi_tokenizer_is_special(const struct mdi_tokenizer *t, int id);

/* The bytes printed for `token` following `prev` (llama2.c decode +
 * safe_printf): sentencepiece drops the leading space after BOS and turns
 * "<0xNN>" pieces into the raw byte; byte-bpe maps each character of the
 * piece back to its byte; a single unprintable byte prints nothing.
 * hf: the decoder applied to the token alone (as the first of the text when
 * prev < 0 or prev is a special token), special tokens print nothing.
 * Returns the number of bytes written to out (out holds >= max_token_length+1;
 * 8 + max_token_length is always enough). */
size_t mdi_tokenizer_decode(const struct mdi_tokenizer *t, int prev, int token, char *out,
                            size_t cap);

/* Id of the piece equal to s[0..len) (the lowest id when pieces repeat), or -1. */
int mdi_tokenizer_lookup(const struct mdi_tokenizer *t, const char *s, int len);

/* ---- byte-level BPE pieces (tokenizer_bpe.c) ----------------------------- */

/* GPT-2's byte-to-unicode table: the code point that spells byte b in a
 * byte-level vocabulary (printable Latin-1 bytes spell themselves, the
 * others 256 + n), and its UTF-8 form in buf (returns its length, 1 or 2). */
int mdi_bpe_byte_char(int b, char buf[2]);


#endif
