/* A Hugging Face tokenizers pipeline inside the tokenizer module (kind "hf",
 * docs/FORMAT.md "The tokenizer group"): what tokenizer.c calls, and what
 * the files of the pipeline share.  Not a public API.
 *
 * Encoding runs the steps of `tokenizers` in its order:
 *   added tokens that are not `normalized`, matched in the raw text
 *   -> the normalizer on each remaining segment
 *   -> added tokens that are `normalized`, matched in the normalized text
 *   -> the pre-tokenizer steps on each remaining segment
 *   -> the BPE model on each pre-token
 *   -> the post-processor's special tokens (when asked for).
 * Decoding runs the decoder steps on the tokens' strings.
 *
 * Files: tokenizer_pipeline.c reads the stored description and builds the
 * lookups; tokenizer_steps.c has the normalizers and pre-tokenizers;
 * tokenizer_hf.c the encoder (added tokens, the driver); tokenizer_decode.c
 * the decoders; tokenizer_bpe.c the BPE merges shared with the other kinds. */
#ifndef MDI_TOKENIZER_HF_H
#define MDI_TOKENIZER_HF_H

#include <stddef.h>
#include <stdint.h>

#include "mdi/model/tokenizer.h"

struct mdi_regex;
struct mdi_json;

/* A Split/Replace pattern: a literal string (re NULL) or a regex. */
struct hf_pattern {
  char *str; /* NUL-terminated; the regex source or the literal */
  size_t len;
  struct mdi_regex *re;
};

enum hf_norm_type { HF_NFC, HF_NFD, HF_NFKC, HF_NFKD, HF_PREPEND, HF_REPLACE, HF_LOWERCASE, HF_STRIP };

struct hf_norm {
  enum hf_norm_type type;
  char *text; /* Prepend: what is prepended; Replace: the replacement */
  size_t text_len;
  struct hf_pattern pat; /* Replace */
  int left, right;       /* Strip */
};

enum hf_pre_type { HF_SPLIT, HF_BYTE_LEVEL, HF_METASPACE, HF_DIGITS };
enum hf_behavior { HF_REMOVED, HF_ISOLATED, HF_MERGED_WITH_PREVIOUS, HF_MERGED_WITH_NEXT, HF_CONTIGUOUS };
enum hf_prepend { HF_PREPEND_ALWAYS, HF_PREPEND_FIRST, HF_PREPEND_NEVER };

struct hf_pre {
  enum hf_pre_type type;
  struct hf_pattern pat; /* Split */
  enum hf_behavior behavior;
  int invert;
  int add_prefix_space, use_regex; /* ByteLevel */
  uint32_t repl;                   /* Metaspace: the replacement character */
  char repl_utf8[4];
  int repl_len;
  enum hf_prepend prepend;
  int split;
  int individual_digits; /* Digits */
};

enum hf_dec_type { HF_DEC_BYTE_LEVEL, HF_DEC_METASPACE, HF_DEC_REPLACE, HF_DEC_BYTE_FALLBACK, HF_DEC_FUSE, HF_DEC_STRIP };

struct hf_dec {
  enum hf_dec_type type;
  struct hf_pattern pat; /* Replace */
  char *content;         /* Replace */
  size_t content_len;
  uint32_t cp;          /* Metaspace: replacement; Strip: the stripped character */
  enum hf_prepend prepend; /* Metaspace */
  int start, stop;      /* Strip */
};

/* An added token (tokenizer.json "added_tokens"). */
struct hf_added {
  int id;
  char *content, *norm; /* norm: the normalized content (normalized tokens only) */
  size_t len, norm_len;
  unsigned char special, lstrip, rstrip, normalized, single_word;
  unsigned char in_vocab; /* also a piece of the BPE model's vocabulary */
};

/* Byte trie of added-token contents for leftmost-longest matching. */
struct hf_trie_node {
  int child, sibling; /* first child, next sibling; -1: none */
  int token;          /* index into added[] ending here, or -1 */
  unsigned char byte;
};
struct hf_trie {
  struct hf_trie_node *nodes; /* nodes[0] is the root */
  int n, cap;
};

/* Piece bytes -> id, open addressing (the BPE model's vocabulary). */
struct hf_vocab_hash {
  int *slots; /* [mask + 1] ids, -1 empty */
  uint32_t mask;
};

struct mdi_tok_pipeline {
  char *json; /* the stored description (NUL-terminated) */
  size_t json_len;
  struct hf_norm *norm;
  int n_norm;
  struct hf_pre *pre;
  int n_pre;
  struct hf_dec *dec;
  int n_dec;
  struct hf_added *added;
  int n_added;
  int *added_of_id; /* [vocab] index into added[], or -1 */
  struct hf_trie raw_trie, norm_trie;
  int *prefix, n_prefix, *suffix, n_suffix; /* post-processor, single sequence */
  /* the BPE model */
  int byte_fallback, ignore_merges, fuse_unk, unk_id; /* unk_id -1: none */
  char *unk_missing; /* an unk_token that is not in the vocabulary: an error once a text needs it */
  int by_score; /* merge the pair whose merged piece scores highest (SentencePiece, llama.cpp's SPM) */
  char *subword_prefix, *word_suffix; /* continuing_subword_prefix, end_of_word_suffix; NULL: none */
  size_t subword_prefix_len, word_suffix_len;
  int byte_piece[256]; /* id of "<0xNN>" in the model's vocabulary, or -1 */
  struct hf_vocab_hash vocab;
};

/* ---- tokenizer_pipeline.c ---------------------------------------------------- */

/* Build t->hf from the description json[0..len) (docs/FORMAT.md); the pieces,
 * scores and merge pairs of t are already set.  `source` names it in errors. */
int mdi_hf_pipeline_build(struct mdi_tokenizer *t, const char *json, size_t len, const char *source);
/* The pipeline of a legacy byte-bpe tokenizer: GPT-2's ByteLevel. */
int mdi_hf_pipeline_byte_level(struct mdi_tokenizer *t, const char *source);
void mdi_hf_pipeline_free(struct mdi_tok_pipeline *p);
/* Id of the model-vocabulary piece s[0..len), or -1. */
int mdi_hf_vocab_lookup(const struct mdi_tok_pipeline *p, const struct mdi_tokenizer *t, const char *s, size_t len);

/* ---- tokenizer_steps.c -------------------------------------------------------- */

/* Text during encoding: a segment of text (id -1) or an added token already
 * matched (id >= 0).  origin0: the segment starts at offset 0 of the input
 * (Metaspace's prepend_scheme "first" asks). */
struct hf_piece {
  const char *s;
  size_t len;
  int id;
  int origin0;
};
struct hf_pieces {
  struct hf_piece *v;
  int n, cap;
};
void hf_pieces_push(struct hf_pieces *l, const char *s, size_t len, int id, int origin0);

/* Bump allocator for the strings the steps make during one encode. */
struct hf_arena {
  struct hf_arena_block *head;
};
char *hf_arena_alloc(struct hf_arena *a, size_t n);
void hf_arena_free(struct hf_arena *a);

/* The normalizer on s[0..len): *out points to the result (s itself or arena memory). */
int hf_normalize(const struct mdi_tok_pipeline *p, const char *s, size_t len, struct hf_arena *a, const char **out,
                 size_t *out_len);
/* One pre-tokenizer step: the text pieces of in become the pieces of out. */
int hf_pre_tokenize(const struct hf_pre *step, const struct hf_pieces *in, struct hf_pieces *out, struct hf_arena *a);
/* The matches of pat in s[0..len) as covering (start, end, is_match) runs (tokenizers' find_matches). */
struct hf_span {
  size_t start, end;
  int match;
};
struct hf_spans {
  struct hf_span *v;
  int n, cap;
};
int hf_find_matches(const struct hf_pattern *pat, const char *s, size_t len, struct hf_spans *out);

/* ---- tokenizer_hf.c ------------------------------------------------------------ */

int mdi_hf_encode(const struct mdi_tokenizer *t, const char *text, size_t len, unsigned flags, struct mdi_ids *out);

/* ---- tokenizer_decode.c -------------------------------------------------------- */

/* The whole-sequence decode of tokenizers (skip_special_tokens as asked). */
int mdi_hf_decode(const struct mdi_tokenizer *t, const int *ids, int n, int skip_special, char **out, size_t *out_len);
/* The bytes printed for token following prev (streaming; see tokenizer.h). */
size_t mdi_hf_decode_piece(const struct mdi_tokenizer *t, int prev, int token, char *out, size_t cap);
/* Upper bound of mdi_hf_decode_piece's output for any token. */
size_t mdi_hf_decode_piece_max(const struct mdi_tokenizer *t);

#endif
