/* mdi_convert export-gguf: a llama model file as a GGUF v3 file llama.cpp
 * runs, with the same weights: float32 tensors as F32, quantized matrices as
 * their blocks (the GGUF types they came from), so llama.cpp and mdi-llm can
 * be measured on one set of weights (bench/perf.sh --llamacpp).
 *
 * Metadata: general.architecture = llama and the llama.* hyperparameters
 * (rope.dimension_count = rope_dim: mdi-llm rotates adjacent pairs, which is
 * llama.cpp's RoPE for llama; Q/K rows are written as they are, as
 * llama.cpp's llama2.c converter does; attention.key_length/value_length
 * when head_dim is not dim / n_heads; the rope frequency factors as the
 * tensor rope_freqs.weight, as convert_hf_to_gguf.py writes Llama 3's; the
 * biases of Llama's attention_bias/mlp_bias under llama.cpp's names; q/k
 * norms and sliding windows, which its llama architecture lacks, are
 * refused); tokenizer.ggml.model = llama with the
 * SentencePiece pieces (' ' written as U+2581, the inverse of `mdi_convert
 * gguf`), scores, token types (BYTE for <0xNN>, CONTROL for BOS and EOS,
 * NORMAL otherwise) and the BOS/EOS ids.  Names: embedding -> token_embd,
 * layers/NNN/{attn_norm, wq, wk, wv, wo, ffn_norm, w1, w2, w3} ->
 * blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm, ffn_gate,
 * ffn_down, ffn_up}, final_norm -> output_norm, classifier -> output.  Data
 * is aligned to 32 bytes and streamed in chunks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "mdi/base/error.h"
#include "mdi/model/quant.h"
#include "mdi/model/rankfiles.h"
#include "mdi/model/tokenizer.h"
#include "mdi/model/weights.h"

#define ALIGNMENT 32

/* GGUF value types used here */
enum { T_U32 = 4, T_I32 = 5, T_F32 = 6, T_STRING = 8, T_ARRAY = 9 };

/* llama.cpp's name of each layer tensor (enum convert_layer_tensor order);
 * NULL for the options llama.cpp's llama architecture lacks (check_source
 * refuses them). */
static const char *const gguf_names[CONVERT_N_LAYER_TENSORS] = {
    "attn_norm.weight", "attn_q.weight",    "attn_k.weight",   "attn_v.weight", "attn_output.weight",
    "ffn_norm.weight",  "ffn_gate.weight",  "ffn_down.weight", "ffn_up.weight", "attn_q.bias",
    "attn_k.bias",      "attn_v.bias",      "attn_output.bias", NULL,           NULL,
    "ffn_gate.bias",    "ffn_down.bias",    "ffn_up.bias"};

/* One tensor of the output: where it comes from and how it is stored. */
struct out_tensor {
  struct convert_tensor t;
  char name[64];              /* its GGUF name */
  enum mdi_matrix_type type;  /* F32 or the stored block type */
  uint64_t offset, bytes;     /* in the data section */
};

struct export_job {
  struct mdi_h5 *src;
  struct mdi_hparams hp;
  struct mdi_tokenizer tok;
  struct out_tensor *tensors;
  int n_tensors;
  struct convert_output o;
};

static int put(struct export_job *j, const void *p, size_t n) { return convert_output_write(&j->o, p, n, "the header"); }
static int put_u32(struct export_job *j, uint32_t v) { return put(j, &v, 4); }
static int put_u64(struct export_job *j, uint64_t v) { return put(j, &v, 8); }
static int put_str(struct export_job *j, const char *s, size_t n) { return put_u64(j, n) || put(j, s, n); }
static int put_key(struct export_job *j, const char *key, uint32_t type) {
  return put_str(j, key, strlen(key)) || put_u32(j, type);
}
static int kv_u32(struct export_job *j, const char *key, uint32_t v) { return put_key(j, key, T_U32) || put_u32(j, v); }
static int kv_f32(struct export_job *j, const char *key, float v) { return put_key(j, key, T_F32) || put(j, &v, 4); }
static int kv_str(struct export_job *j, const char *key, const char *v) {
  return put_key(j, key, T_STRING) || put_str(j, v, strlen(v));
}

/* A piece as GGUF spells it: ' ' -> U+2581 (buf holds 3 x len bytes). */
static size_t spm_piece(const char *piece, int len, char *buf) {
  size_t n = 0;
  for (int i = 0; i < len; i++) {
    if (piece[i] == ' ') {
      memcpy(buf + n, "\xe2\x96\x81", 3);
      n += 3;
    } else {
      buf[n++] = piece[i];
    }
  }
  return n;
}

static int token_type(const struct mdi_tokenizer *t, int id) {
  if (id == t->bos_id || id == t->eos_id) return 3; /* CONTROL */
  for (int b = 0; b < 256; b++)
    if (t->byte_ids[b] == id) return 6; /* BYTE */
  return 1;                             /* NORMAL */
}

static int write_tokenizer(struct export_job *j) {
  const struct mdi_tokenizer *t = &j->tok;
  const uint64_t n = (uint64_t)t->vocab_size;
  char *buf = mdi_malloc((size_t)t->max_token_length * 3 + 1, "token");
  if (!buf) return MDI_ERR;
  int rc = kv_str(j, "tokenizer.ggml.model", "llama") || put_key(j, "tokenizer.ggml.tokens", T_ARRAY) ||
           put_u32(j, T_STRING) || put_u64(j, n);
  for (int i = 0; i < t->vocab_size && rc == MDI_OK; i++) rc = put_str(j, buf, spm_piece(t->pieces[i], t->piece_lens[i], buf));
  rc = rc || put_key(j, "tokenizer.ggml.scores", T_ARRAY) || put_u32(j, T_F32) || put_u64(j, n) ||
       put(j, t->scores, (size_t)n * 4) || put_key(j, "tokenizer.ggml.token_type", T_ARRAY) || put_u32(j, T_I32) ||
       put_u64(j, n);
  for (int i = 0; i < t->vocab_size && rc == MDI_OK; i++) {
    const int32_t type = token_type(t, i);
    rc = put(j, &type, 4);
  }
  free(buf);
  return rc || kv_u32(j, "tokenizer.ggml.bos_token_id", (uint32_t)t->bos_id) ||
                 kv_u32(j, "tokenizer.ggml.eos_token_id", (uint32_t)t->eos_id)
             ? MDI_ERR
             : MDI_OK;
}

/* The output's tensors in canonical order with their GGUF names, types and
 * places in the data section. */
static int plan_tensors(struct export_job *j) {
  const int n = convert_tensor_count(&j->hp);
  j->tensors = mdi_calloc((size_t)n, sizeof *j->tensors, "tensor table");
  if (!j->tensors) return MDI_ERR;
  /* the rope factors (F32 [rope_dim/2]) go first, at offset 0 */
  uint64_t at = (uint64_t)j->hp.n_rope_factors * 4;
  at = (at + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
  for (int i = 0; i < n; i++) {
    struct out_tensor *o = &j->tensors[i];
    convert_tensor_at(&j->hp, i, &o->t);
    const char *kind = convert_tensor_kind(&o->t);
    if (o->t.layer >= 0) {
      int k = 0;
      while (strcmp(convert_layer_tensor_names[k], kind) != 0) k++;
      MDI_ASSERT(gguf_names[k] != NULL); /* check_source refused the others */
      snprintf(o->name, sizeof o->name, "blk.%d.%s", o->t.layer, gguf_names[k]);
    } else {
      snprintf(o->name, sizeof o->name, "%s.weight",
               !strcmp(kind, "embedding") ? "token_embd" : !strcmp(kind, "final_norm") ? "output_norm" : "output");
    }
    o->type = MDI_MATRIX_F32;
    if (o->t.ndims == 2 && mdi_h5_matrix_type(j->src, o->t.name, &o->type) != MDI_OK) return MDI_ERR;
    const int64_t rows = o->t.ndims == 2 ? o->t.dims[0] : 1, cols = o->t.ndims == 2 ? o->t.dims[1] : o->t.dims[0];
    if (o->type != MDI_MATRIX_F32 && cols % mdi_quant_format(o->type)->block)
      return mdi_fail("%s: /%s is %s but its rows of %lld weights are not whole blocks", mdi_h5_path(j->src),
                      o->t.name, mdi_quant_format(o->type)->name, (long long)cols);
    o->offset = at;
    o->bytes = (uint64_t)rows * mdi_quant_row_bytes(o->type, cols);
    at += (o->bytes + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
  }
  j->n_tensors = n;
  return MDI_OK;
}

static int write_header(struct export_job *j) {
  const struct mdi_hparams *hp = &j->hp;
  const int hs = mdi_hparams_head_size(hp), own_head = hp->dim % hp->n_heads != 0 || hs != hp->dim / hp->n_heads;
  const int factors = hp->n_rope_factors > 0;
  const uint32_t n_kv = 3 + 10 + 6 + (own_head ? 2 : 0); /* general.*, llama.*, tokenizer.* written below */
  if (put(j, "GGUF", 4) || put_u32(j, 3) || put_u64(j, (uint64_t)j->n_tensors + (uint64_t)factors) ||
      put_u64(j, n_kv) ||
      kv_str(j, "general.architecture", "llama") || kv_str(j, "general.name", "mdi-llm export") ||
      kv_u32(j, "general.alignment", ALIGNMENT) || kv_u32(j, "llama.context_length", (uint32_t)hp->seq_len) ||
      kv_u32(j, "llama.embedding_length", (uint32_t)hp->dim) ||
      kv_u32(j, "llama.feed_forward_length", (uint32_t)hp->hidden_dim) ||
      kv_u32(j, "llama.block_count", (uint32_t)hp->n_layers) ||
      kv_u32(j, "llama.attention.head_count", (uint32_t)hp->n_heads) ||
      kv_u32(j, "llama.attention.head_count_kv", (uint32_t)hp->n_kv_heads) ||
      kv_u32(j, "llama.rope.dimension_count", (uint32_t)mdi_hparams_rope_dim(hp)) ||
      (own_head && (kv_u32(j, "llama.attention.key_length", (uint32_t)hs) ||
                    kv_u32(j, "llama.attention.value_length", (uint32_t)hs))) ||
      kv_f32(j, "llama.attention.layer_norm_rms_epsilon", hp->norm_eps) ||
      kv_f32(j, "llama.rope.freq_base", hp->rope_theta) || kv_u32(j, "llama.vocab_size", (uint32_t)hp->vocab_size) ||
      write_tokenizer(j))
    return MDI_ERR;
  if (factors && (put_str(j, "rope_freqs.weight", strlen("rope_freqs.weight")) || put_u32(j, 1) ||
                  put_u64(j, (uint64_t)hp->n_rope_factors) || put_u32(j, 0 /* F32 */) || put_u64(j, 0)))
    return MDI_ERR;
  for (int i = 0; i < j->n_tensors; i++) {
    const struct out_tensor *o = &j->tensors[i];
    const uint64_t inner = (uint64_t)(o->t.ndims == 2 ? o->t.dims[1] : o->t.dims[0]), outer = (uint64_t)o->t.dims[0];
    if (put_str(j, o->name, strlen(o->name)) || put_u32(j, (uint32_t)o->t.ndims) || put_u64(j, inner) ||
        (o->t.ndims == 2 && put_u64(j, outer)) || put_u32(j, (uint32_t)mdi_quant_format(o->type)->ggml_type) ||
        put_u64(j, o->offset))
      return MDI_ERR;
  }
  return MDI_OK;
}

/* Zero bytes up to the next multiple of the alignment. */
static int pad(struct export_job *j) {
  static const char zeros[ALIGNMENT];
  const long at = ftell(j->o.f);
  if (at < 0) return mdi_fail("%s: cannot tell the position: %s", j->o.path, strerror(errno));
  return convert_output_write(&j->o, zeros, (size_t)((ALIGNMENT - at % ALIGNMENT) % ALIGNMENT), "padding");
}

static int append_floats(void *ctx, const struct convert_tensor *t, const float *rows, int64_t row0, int64_t nrows) {
  (void)row0;
  const int64_t cols = t->ndims == 2 ? t->dims[1] : t->dims[0];
  return convert_output_write(&((struct export_job *)ctx)->o, rows, (size_t)(nrows * cols) * sizeof(float), t->name);
}

static int append_blocks(void *ctx, const char *name, enum mdi_dtype type, const void *rows, int64_t row0,
                         int64_t nrows, int64_t cols) {
  (void)type;
  (void)row0;
  return convert_output_write(&((struct export_job *)ctx)->o, rows, (size_t)(nrows * cols), name);
}

static int write_data(struct export_job *j) {
  if (j->hp.n_rope_factors &&
      (pad(j) != MDI_OK ||
       convert_output_write(&j->o, j->hp.rope_factors, (size_t)j->hp.n_rope_factors * 4, "rope_freqs") != MDI_OK))
    return MDI_ERR;
  for (int i = 0; i < j->n_tensors; i++) {
    const struct out_tensor *o = &j->tensors[i];
    if (pad(j) != MDI_OK) return MDI_ERR;
    const int rc = o->type == MDI_MATRIX_F32
                       ? convert_read_tensor_rows(j->src, &o->t, append_floats, j)
                       : convert_read_dataset_rows(j->src, o->t.name, MDI_U8, o->t.dims[0],
                                                   (int64_t)mdi_quant_row_bytes(o->type, o->t.dims[1]), append_blocks, j);
    if (rc != MDI_OK) return MDI_ERR;
  }
  return MDI_OK;
}

static int check_source(struct export_job *j, const char *in) {
  if (mdi_h5_read_hparams(j->src, &j->hp) != MDI_OK) return MDI_ERR;
  if (mdi_hparams_is_gpt2(&j->hp))
    return mdi_fail("%s: arch gpt2 cannot be exported to GGUF (export-gguf writes llama models)", in);
  if (mdi_rankfile_is_rankfile(j->src))
    return mdi_fail("%s is one rank's part of a split model; export the whole model file", in);
  const int longrope = j->hp.n_rope_factors_long > 0 || (j->hp.rope_attn_factor != 0.0f && j->hp.rope_attn_factor != 1.0f);
  if (j->hp.qk_norm || j->hp.sliding_window || longrope)
    return mdi_fail("%s: export-gguf writes llama.cpp's llama architecture, which has no %s", in,
                    j->hp.qk_norm ? "q/k norms (qk_norm)" : j->hp.sliding_window ? "sliding window" : "LongRoPE");
  if (mdi_tokenizer_load(&j->tok, j->src) != MDI_OK) return MDI_ERR;
  if (j->tok.kind != MDI_TOKENIZER_SENTENCEPIECE) {
    mdi_tokenizer_free(&j->tok);
    return mdi_fail("%s: the tokenizer is %s; export-gguf writes SentencePiece ('llama') vocabularies only", in,
                    mdi_tokenizer_kind_name(j->tok.kind));
  }
  return MDI_OK;
}

static int export_gguf(const char *in, const char *out) {
  struct export_job j;
  memset(&j, 0, sizeof j);
  if (mdi_h5_open(&j.src, in) != MDI_OK) return MDI_ERR;
  char *tmp = NULL;
  int rc = MDI_ERR, have_tok = 0;
  if (check_source(&j, in) != MDI_OK) goto done;
  have_tok = 1;
  if (plan_tensors(&j) != MDI_OK || convert_tmp_begin(out, &in, 1, &tmp) != MDI_OK) goto done;
  if (convert_output_open(&j.o, tmp) == MDI_OK) {
    const int failed = write_header(&j) != MDI_OK || write_data(&j) != MDI_OK;
    rc = convert_output_close(&j.o, failed); /* removes tmp on failure */
  }
  rc = convert_tmp_end(tmp, out, rc);
  if (rc == MDI_OK)
    mdi_log_info("wrote %s: GGUF v3, llama, %d tensors, %d layers, vocab %d", out, j.n_tensors, j.hp.n_layers,
                 j.hp.vocab_size);
done:
  if (have_tok) mdi_tokenizer_free(&j.tok);
  free(j.tensors);
  mdi_h5_close(j.src);
  return rc;
}

static void usage(FILE *out) {
  fprintf(out,
          "usage: mdi_convert export-gguf IN.h5 OUT.gguf\n"
          "\n"
          "Write a llama model file as a GGUF v3 file for llama.cpp with the same weights:\n"
          "float32 tensors as F32, quantized matrices as their blocks (Q8_0, Q4_K, ...),\n"
          "llama.cpp's tensor names and metadata, and the SentencePiece vocabulary.  For\n"
          "running llama.cpp on exactly the weights mdi-llm runs (bench/perf.sh --llamacpp).\n"
          "\n"
          "options:\n"
          "  -q, --quiet   no progress notes\n"
          "  -h, --help    this help\n");
}

int convert_export_gguf_main(int argc, char **argv) {
  const char *pos[2];
  int help, n_pos;
  int rc = convert_parse_args(argc, argv, NULL, 0, &help, pos, 2, &n_pos);
  if (rc == MDI_OK && help) {
    usage(stdout);
    return CONVERT_EXIT_OK;
  }
  if (rc == MDI_OK && n_pos != 2) rc = mdi_fail("expected IN.h5 and OUT.gguf");
  if (rc != MDI_OK) {
    mdi_log_error("export-gguf: %s (see 'mdi_convert export-gguf --help')", mdi_error());
    return CONVERT_EXIT_USAGE;
  }
  if (convert_check_output(pos[1], pos, 1) != MDI_OK || export_gguf(pos[0], pos[1]) != MDI_OK) {
    mdi_log_error("%s", mdi_error());
    return CONVERT_EXIT_FAIL;
  }
  return CONVERT_EXIT_OK;
}
