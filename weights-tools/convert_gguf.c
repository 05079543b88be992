/* mdi_convert gguf: a GGUF llama model to the HDF5 model file.  F32 and F16
 * tensors become float32; matrices of the quantized types mdi-llm runs
 * (quant.h) keep their blocks as they are (docs/FORMAT.md, "Quantized
 * weights"); gguf_reader.c refuses any other type by name.
 *
 * Names: token_embd -> /embedding, output_norm -> /final_norm, output ->
 * /classifier, blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output,
 * ffn_norm, ffn_gate, ffn_down, ffn_up} -> layers/NNN/{attn_norm, wq, wk, wv,
 * wo, ffn_norm, w1, w2, w3}.  GGUF lists dims innermost first, so a GGUF
 * [in, out] tensor is our row-major [out][in], with the same bytes.
 *
 * Q/K are copied as they are.  llama.cpp's Hugging Face converter permutes
 * the rows of attn_q/attn_k for its rotate-half RoPE; its llama2.c converter
 * (the origin of llama2.c-family GGUFs such as stories260K.gguf) does not,
 * and that is the interleaved-pair RoPE this project implements.  Undoing
 * the permutation is left out until a permuted model can be tested. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "gguf_reader.h"
#include "mdi/base/error.h"
#include "mdi/model/tokenizer.h"

/* GGUF name of each layer tensor (enum convert_layer_tensor order). */
static const char *const gguf_layer_names[CONVERT_N_LAYER_TENSORS] = {
    "attn_norm", "attn_q", "attn_k", "attn_v", "attn_output",
    "ffn_norm",  "ffn_gate", "ffn_down", "ffn_up"};

/* SentencePiece's word-boundary mark U+2581, stored by llama2.c as ' '. */
static const char SPM_SPACE[] = "\xe2\x96\x81";

/* An integer hyperparameter: `fallback` when absent and not required. */
static int get_int_field(struct gguf_file *g, const char *key, int required, int fallback,
                         int *out) {
  int64_t v;
  int found = gguf_get_int(g, key, &v);
  if (found < 0) return MDI_ERR;
  if (!found) {
    if (required) return mdi_fail("%s: metadata %s is missing", g->in.path, key);
    *out = fallback;
    return MDI_OK;
  }
  if (v < -2147483647LL || v > 2147483647LL)
    return mdi_fail("%s: metadata %s = %lld is out of range", g->in.path, key, (long long)v);
  *out = (int)v;
  return MDI_OK;
}

/* Features that change the computation and that this project lacks. */
static int reject_unsupported(struct gguf_file *g) {
  char s[64];
  int found = gguf_get_string(g, "llama.rope.scaling.type", s, sizeof s);
  if (found < 0) return MDI_ERR;
  if (found && strcmp(s, "none") != 0)
    return mdi_fail("%s: RoPE scaling '%s' is not supported", g->in.path, s);
  double scale;
  found = gguf_get_float(g, "llama.rope.scale_linear", &scale);
  if (found < 0) return MDI_ERR;
  if (found && scale != 1.0)
    return mdi_fail("%s: linear RoPE scaling %g is not supported", g->in.path, scale);
  int experts = 0;
  if (get_int_field(g, "llama.expert_count", 0, 0, &experts) != MDI_OK) return MDI_ERR;
  if (experts > 0)
    return mdi_fail("%s: mixture-of-experts models (%d experts) are not supported", g->in.path,
                    experts);
  return MDI_OK;
}

static int read_hparams(struct gguf_file *g, struct mdi_hparams *hp) {
  memset(hp, 0, sizeof *hp);
  char arch[64];
  int found = gguf_get_string(g, "general.architecture", arch, sizeof arch);
  if (found < 0) return MDI_ERR;
  if (!found) return mdi_fail("%s: metadata general.architecture is missing", g->in.path);
  if (strcmp(arch, "llama") != 0)
    return mdi_fail("%s: architecture '%s' is not supported (only llama)", g->in.path, arch);
  snprintf(hp->arch, sizeof hp->arch, "llama");
  if (get_int_field(g, "llama.embedding_length", 1, 0, &hp->dim) ||
      get_int_field(g, "llama.feed_forward_length", 1, 0, &hp->hidden_dim) ||
      get_int_field(g, "llama.block_count", 1, 0, &hp->n_layers) ||
      get_int_field(g, "llama.attention.head_count", 1, 0, &hp->n_heads) ||
      get_int_field(g, "llama.attention.head_count_kv", 0, hp->n_heads, &hp->n_kv_heads) ||
      get_int_field(g, "llama.context_length", 1, 0, &hp->seq_len))
    return MDI_ERR;
  double eps, theta = 10000.0;
  found = gguf_get_float(g, "llama.attention.layer_norm_rms_epsilon", &eps);
  if (found < 0) return MDI_ERR;
  if (!found)
    return mdi_fail("%s: metadata llama.attention.layer_norm_rms_epsilon is missing", g->in.path);
  if (gguf_get_float(g, "llama.rope.freq_base", &theta) < 0) return MDI_ERR;
  hp->norm_eps = (float)eps;
  hp->rope_theta = (float)theta;
  /* the vocabulary size comes from the tokens; shared is decided later */
  const struct gguf_kv *tokens = gguf_find_kv(g, "tokenizer.ggml.tokens");
  if (!tokens) return mdi_fail("%s: metadata tokenizer.ggml.tokens is missing", g->in.path);
  if (tokens->type != GGUF_ARRAY || tokens->elem_type != GGUF_STRING)
    return mdi_fail("%s: metadata tokenizer.ggml.tokens should be an array of strings",
                    g->in.path);
  hp->vocab_size = tokens->count > 0x7fffffff ? -1 : (int)tokens->count;
  hp->shared_classifier = 1;
  char source[4200];
  snprintf(source, sizeof source, "%s: GGUF metadata", g->in.path);
  if (mdi_hparams_validate(hp, source) != MDI_OK) return MDI_ERR;
  int rot = 0, vocab = 0;
  if (get_int_field(g, "llama.rope.dimension_count", 0, mdi_hparams_head_size(hp), &rot) ||
      get_int_field(g, "llama.vocab_size", 0, hp->vocab_size, &vocab))
    return MDI_ERR;
  if (rot != mdi_hparams_head_size(hp))
    return mdi_fail("%s: llama.rope.dimension_count = %d but the head size is %d (partial RoPE is "
                    "not supported)", g->in.path, rot, mdi_hparams_head_size(hp));
  if (vocab != hp->vocab_size)
    return mdi_fail("%s: llama.vocab_size = %d but tokenizer.ggml.tokens has %d entries",
                    g->in.path, vocab, hp->vocab_size);
  return reject_unsupported(g);
}

/* ---- tokenizer ----------------------------------------------------------- */

struct pieces {
  const char *path;
  uint8_t *bytes; /* all pieces, back to back */
  size_t len, cap;
  int64_t *offsets; /* [vocab+1] */
};

/* Append one token, with U+2581 spelled ' ' as in llama2.c's tokenizer.bin. */
static int add_piece(void *ctx, int64_t i, const char *s, size_t len) {
  struct pieces *p = ctx;
  if (p->len + len > p->cap) { /* len bytes suffice: U+2581 -> ' ' only shrinks */
    size_t want = p->cap ? p->cap : 4096;
    while (want < p->len + len) want *= 2;
    uint8_t *b = realloc(p->bytes, want);
    if (!b) return mdi_fail("out of memory: cannot allocate %zu bytes for tokenizer pieces", want);
    p->bytes = b;
    p->cap = want;
  }
  if (memchr(s, 0, len)) return mdi_fail("%s: token %lld contains a NUL byte", p->path, (long long)i);
  for (size_t k = 0; k < len;) {
    if (k + 3 <= len && memcmp(s + k, SPM_SPACE, 3) == 0) {
      p->bytes[p->len++] = ' ';
      k += 3;
    } else {
      p->bytes[p->len++] = (uint8_t)s[k++];
    }
  }
  p->offsets[i + 1] = (int64_t)p->len;
  return 0;
}

static int special_id(struct gguf_file *g, const char *key, int fallback, int *out) {
  int64_t v;
  int found = gguf_get_int(g, key, &v);
  if (found < 0) return MDI_ERR;
  if (!found) {
    mdi_log_info("note: %s: %s is missing, using %d", g->in.path, key, fallback);
    v = fallback;
  }
  *out = v < -1 || v > 0x7fffffff ? -1 : (int)v; /* mdi_tokenizer_init checks the range */
  return MDI_OK;
}

static int read_tokenizer(struct gguf_file *g, int vocab, struct mdi_tokenizer *t) {
  char model[64];
  int found = gguf_get_string(g, "tokenizer.ggml.model", model, sizeof model);
  if (found < 0) return MDI_ERR;
  if (found && strcmp(model, "llama") != 0)
    return mdi_fail("%s: tokenizer model '%s' is not supported (only 'llama', SentencePiece BPE)",
                    g->in.path, model);
  const struct gguf_kv *tokens = gguf_find_kv(g, "tokenizer.ggml.tokens");
  const struct gguf_kv *scores_kv = gguf_find_kv(g, "tokenizer.ggml.scores");
  if (!scores_kv) return mdi_fail("%s: metadata tokenizer.ggml.scores is missing", g->in.path);
  if (scores_kv->count != vocab)
    return mdi_fail("%s: tokenizer.ggml.scores has %lld entries but tokenizer.ggml.tokens has %d",
                    g->in.path, (long long)scores_kv->count, vocab);
  int bos, eos;
  if (special_id(g, "tokenizer.ggml.bos_token_id", 1, &bos) != MDI_OK ||
      special_id(g, "tokenizer.ggml.eos_token_id", 2, &eos) != MDI_OK)
    return MDI_ERR;
  struct pieces p = {.path = g->in.path};
  float *scores = mdi_malloc((size_t)vocab * sizeof *scores, "tokenizer scores");
  p.offsets = mdi_malloc(((size_t)vocab + 1) * sizeof *p.offsets, "tokenizer offsets");
  int rc = MDI_ERR;
  if (!scores || !p.offsets) goto done;
  p.offsets[0] = 0;
  if (gguf_read_f32_array(g, scores_kv, scores) != MDI_OK ||
      gguf_read_string_array(g, tokens, add_piece, &p) != MDI_OK)
    goto done;
  /* stop at BOS and EOS, as for llama2.c models: llama2.c-trained models end
   * a text with BOS; EOS is what llama.cpp stops at */
  const int stop[2] = {bos, eos};
  static const uint8_t none = 0;
  rc = mdi_tokenizer_init(t, vocab, scores, p.bytes ? p.bytes : &none, p.offsets, bos, eos, stop,
                          bos == eos ? 1 : 2, g->in.path);
done:
  free(p.bytes);
  free(p.offsets);
  free(scores);
  return rc;
}

/* ---- tensors ------------------------------------------------------------- */

/* Find `name` and check its shape: our row-major dims[0..ndims) reversed. */
static int locate(struct gguf_file *g, const char *name, int ndims, const int64_t *dims,
                  struct convert_tensor_src *src, const struct gguf_tensor **found) {
  const struct gguf_tensor *t = gguf_find_tensor(g, name);
  if (!t) return mdi_fail("%s: tensor %s is missing", g->in.path, name);
  int same = t->n_dims == ndims;
  for (int i = 0; same && i < ndims; i++) same = t->dims[i] == dims[ndims - 1 - i];
  if (!same) {
    char have[96] = "", want[96] = "";
    size_t h = 0, w = 0;
    for (int i = 0; i < t->n_dims; i++)
      h += (size_t)snprintf(have + h, sizeof have - h, "%s%lld", i ? ", " : "",
                            (long long)t->dims[i]);
    for (int i = 0; i < ndims; i++)
      w += (size_t)snprintf(want + w, sizeof want - w, "%s%lld", i ? ", " : "",
                            (long long)dims[ndims - 1 - i]);
    return mdi_fail("%s: tensor %s has dims [%s] but the metadata implies [%s] (GGUF order, "
                    "innermost first)", g->in.path, name, have, want);
  }
  gguf_tensor_src(t, src);
  if (found) *found = t;
  return MDI_OK;
}

/* Is `output` a copy of `token_embd` (same type and bytes)? */
static int classifier_is_embedding(struct gguf_file *g, const struct gguf_tensor *emb,
                                   const struct gguf_tensor *out, int *same) {
  *same = 0;
  if (emb->type != out->type || emb->bytes != out->bytes) return MDI_OK;
  return convert_same_bytes(&g->in, emb->off, out->off, emb->bytes, "token_embd/output", same);
}

/* 1 when `name` is one of the tensors locate_tensors uses. */
static int is_used_name(const char *name, int n_layers) {
  if (strcmp(name, "token_embd.weight") == 0 || strcmp(name, "output_norm.weight") == 0 ||
      strcmp(name, "output.weight") == 0)
    return 1;
  int layer, end = 0;
  char part[32];
  if (sscanf(name, "blk.%d.%31[a-z_].weight%n", &layer, part, &end) != 2 || name[end] != '\0' ||
      layer < 0 || layer >= n_layers)
    return 0;
  for (int t = 0; t < CONVERT_N_LAYER_TENSORS; t++)
    if (strcmp(part, gguf_layer_names[t]) == 0) return 1;
  return 0;
}

static const char *first_unused(const struct gguf_file *g, int n_layers) {
  for (int64_t i = 0; i < g->n_tensors; i++)
    if (!is_used_name(g->tensors[i].name, n_layers)) return g->tensors[i].name;
  return "?";
}

static int locate_tensors(struct gguf_file *g, struct convert_model_src *src) {
  struct mdi_hparams *hp = &src->hp;
  const int64_t emb_dims[2] = {hp->vocab_size, hp->dim}, norm_dims[1] = {hp->dim};
  const struct gguf_tensor *emb, *out = NULL;
  int used = 2;
  if (locate(g, "token_embd.weight", 2, emb_dims, &src->embedding, &emb) != MDI_OK ||
      locate(g, "output_norm.weight", 1, norm_dims, &src->final_norm, NULL) != MDI_OK)
    return MDI_ERR;
  for (int l = 0; l < hp->n_layers; l++)
    for (int t = 0; t < CONVERT_N_LAYER_TENSORS; t++) {
      char name[96];
      int ndims;
      int64_t dims[2];
      snprintf(name, sizeof name, "blk.%d.%s.weight", l, gguf_layer_names[t]);
      convert_layer_shape(hp, (enum convert_layer_tensor)t, &ndims, dims);
      if (locate(g, name, ndims, dims, &src->layers[(size_t)l * CONVERT_N_LAYER_TENSORS + t],
                 NULL) != MDI_OK)
        return MDI_ERR;
      used++;
    }
  hp->shared_classifier = 1;
  if (gguf_find_tensor(g, "output.weight")) {
    int same;
    used++;
    if (locate(g, "output.weight", 2, emb_dims, &src->classifier, &out) != MDI_OK ||
        classifier_is_embedding(g, emb, out, &same) != MDI_OK)
      return MDI_ERR;
    hp->shared_classifier = same;
    if (same)
      mdi_log_info("note: %s: output.weight is a copy of token_embd.weight: classifier shared",
                   g->in.path);
  }
  if (used < g->n_tensors)
    mdi_log_warn("%s: %lld tensors are not part of the llama layout and are ignored (e.g. %s)",
                 g->in.path, (long long)(g->n_tensors - used), first_unused(g, hp->n_layers));
  return MDI_OK;
}

static void usage(FILE *out) {
  fprintf(out,
          "usage: mdi_convert gguf MODEL.gguf OUT.h5\n"
          "\n"
          "Convert a GGUF (version 2 or 3) llama model and its SentencePiece ('llama')\n"
          "vocabulary into an mdi-llm HDF5 model file (docs/FORMAT.md).  F16 is widened\n"
          "to float32; matrices in Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K or Q6_K stay\n"
          "quantized, block for block (what llama.cpp's Q4_K_M, Q5_K_S, ... files mix);\n"
          "other types (IQ*, TQ*, ...) are refused naming the tensor.\n"
          "Pieces are stored with U+2581 replaced by a space, as llama2.c stores them;\n"
          "generation stops at BOS and EOS.  Q/K rows are copied unpermuted (right for\n"
          "GGUFs made from llama2.c checkpoints).\n"
          "\n"
          "options:\n"
          "  -q, --quiet   no progress notes\n"
          "  -h, --help    this help\n");
}

int convert_gguf_locate(struct gguf_file *g, struct convert_model_src *src,
                        struct mdi_tokenizer *tok) {
  memset(src, 0, sizeof *src);
  src->in = &g->in;
  if (read_hparams(g, &src->hp) != MDI_OK) return MDI_ERR;
  src->layers = mdi_calloc((size_t)src->hp.n_layers * CONVERT_N_LAYER_TENSORS, sizeof *src->layers,
                           "tensor table");
  if (!src->layers) return MDI_ERR;
  if (locate_tensors(g, src) != MDI_OK ||
      gguf_quantization_name(g, src->quantization, sizeof src->quantization) != MDI_OK)
    return MDI_ERR;
  return read_tokenizer(g, src->hp.vocab_size, tok);
}

static int convert(const char *model, const char *out) {
  struct gguf_file g;
  if (gguf_open(&g, model) != MDI_OK) return MDI_ERR;
  struct convert_model_src src;
  struct mdi_tokenizer tok;
  int rc = MDI_ERR;
  if (convert_gguf_locate(&g, &src, &tok) != MDI_OK) goto done;
  if (src.hp.seq_len == 2048)
    mdi_log_info("note: %s: seq_len 2048 is taken from llama.context_length; it is also the "
                 "default of llama.cpp's llama2.c converter, whatever the model was trained with "
                 "(stories260K: 512)", model);
  rc = convert_write_model(&src, &tok, out);
  if (rc == MDI_OK) convert_report_written(out, &src.hp);
  mdi_tokenizer_free(&tok);
done:
  free(src.layers);
  gguf_close(&g);
  return rc;
}

int convert_gguf_main(int argc, char **argv) {
  const char *pos[2];
  int help, n_pos;
  if (convert_parse_args(argc, argv, NULL, 0, &help, pos, 2, &n_pos) != MDI_OK) {
    mdi_log_error("gguf: %s (see 'mdi_convert gguf --help')", mdi_error());
    return CONVERT_EXIT_USAGE;
  }
  if (help) {
    usage(stdout);
    return CONVERT_EXIT_OK;
  }
  if (n_pos != 2) {
    mdi_log_error("gguf: expected MODEL.gguf and OUT.h5 (see 'mdi_convert gguf --help')");
    return CONVERT_EXIT_USAGE;
  }
  if (convert_check_output(pos[1], pos, 1) != MDI_OK || convert(pos[0], pos[1]) != MDI_OK) {
    mdi_log_error("%s", mdi_error());
    return CONVERT_EXIT_FAIL;
  }
  return CONVERT_EXIT_OK;
}
