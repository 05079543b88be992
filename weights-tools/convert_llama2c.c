/* mdi_convert llama2c: llama2.c checkpoints to the HDF5 model file.
 *
 * Two layouts, both little-endian float32, matrices row-major [out][in]:
 *  - legacy (v0): a 28-byte header of 7 int32 (dim, hidden_dim, n_layers,
 *    n_heads, n_kv_heads, vocab_size, seq_len), then token_embedding,
 *    rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3 (each covering all layers),
 *    rms_final, the RoPE tables freq_cis_real and freq_cis_imag
 *    ([seq_len][head_size/2] each, skipped), and a classifier [vocab][dim]
 *    only when vocab_size is negative.
 *  - version 1 (export.py's version1_export): a 256-byte header (uint32
 *    magic "ak42", int32 version 1, the same 7 int32, uint8
 *    shared_classifier, zero padding), then rms_att, rms_ffn, rms_final,
 *    tok_embeddings, wq, wk, wv, wo, w1, w2, w3, and the classifier when not
 *    shared.  No RoPE tables.
 * Each per-layer tensor is read at its own offset: layer l of a tensor of
 * n floats per layer lies at base + l * n * 4. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "mdi/base/error.h"
#include "mdi/model/tokenizer.h"

#define LEGACY_HEADER_BYTES 28
#define V1_HEADER_BYTES 256
#define V1_MAGIC 0x616b3432u /* "ak42" read as little-endian uint32 */

/* Which header the file starts with. */
enum llama2c_kind { LLAMA2C_LEGACY, LLAMA2C_V1 };

/* A parsed header: the hyperparameters and the kind. */
struct llama2c_header {
  enum llama2c_kind kind;
  struct mdi_hparams hp;
};

static const char *kind_name(enum llama2c_kind k) {
  return k == LLAMA2C_LEGACY ? "llama2.c legacy" : "llama2.c version 1";
}

/* Recognize files that are plainly something else, for a useful message. */
static int reject_other_formats(const char *path, const unsigned char *b) {
  if (memcmp(b, "GGUF", 4) == 0)
    return mdi_fail("%s: this is a GGUF file; convert it with 'mdi_convert gguf'", path);
  if (memcmp(b, "\x89HDF", 4) == 0)
    return mdi_fail("%s: this is an HDF5 file (already converted?); see 'mdi_convert info'", path);
  return MDI_OK;
}

static int read_header(struct convert_input *in, struct llama2c_header *h) {
  unsigned char b[V1_HEADER_BYTES];
  memset(h, 0, sizeof *h);
  if (in->size < LEGACY_HEADER_BYTES)
    return mdi_fail("%s: file is %lld bytes, too short for a llama2.c header (%d bytes)", in->path,
                    (long long)in->size, LEGACY_HEADER_BYTES);
  if (convert_input_read_at(in, 0, b, LEGACY_HEADER_BYTES, "header") != MDI_OK) return MDI_ERR;
  if (reject_other_formats(in->path, b) != MDI_OK) return MDI_ERR;
  uint32_t magic;
  memcpy(&magic, b, 4);
  int32_t v[7];
  int shared = 1;
  if (magic == V1_MAGIC) {
    h->kind = LLAMA2C_V1;
    if (in->size < V1_HEADER_BYTES)
      return mdi_fail("%s: file is %lld bytes, too short for a llama2.c version 1 header (%d bytes)",
                      in->path, (long long)in->size, V1_HEADER_BYTES);
    if (convert_input_read_at(in, 0, b, V1_HEADER_BYTES, "header") != MDI_OK) return MDI_ERR;
    int32_t version;
    memcpy(&version, b + 4, 4);
    if (version == 2)
      return mdi_fail("%s: llama2.c version 2 (int8 quantized) files are not supported; export "
                      "version 1 (float32)", in->path);
    if (version != 1)
      return mdi_fail("%s: llama2.c export version %d is not supported (only 1)", in->path,
                      (int)version);
    memcpy(v, b + 8, sizeof v);
    if (b[36] > 1)
      return mdi_fail("%s: shared_classifier byte is %d, expected 0 or 1", in->path, (int)b[36]);
    shared = b[36];
  } else {
    h->kind = LLAMA2C_LEGACY;
    memcpy(v, b, sizeof v);
    /* legacy files say "separate classifier" with a negative vocab_size */
    if (v[5] < 0 && v[5] != INT32_MIN) {
      v[5] = -v[5];
      shared = 0;
    }
  }
  struct mdi_hparams *hp = &h->hp;
  snprintf(hp->arch, sizeof hp->arch, "llama");
  hp->dim = v[0];
  hp->hidden_dim = v[1];
  hp->n_layers = v[2];
  hp->n_heads = v[3];
  hp->n_kv_heads = v[4];
  hp->vocab_size = v[5];
  hp->seq_len = v[6];
  hp->norm_eps = 1e-5f;
  hp->rope_theta = 10000.0f;
  hp->shared_classifier = shared;
  char source[4200]; /* "MODEL.bin: llama2.c legacy header" names the file in messages */
  snprintf(source, sizeof source, "%s: %s header", in->path, kind_name(h->kind));
  return mdi_hparams_validate(hp, source);
}

/* Per-layer float counts of each layer tensor. */
static int64_t layer_floats(const struct mdi_hparams *hp, int t) {
  int ndims;
  int64_t dims[2];
  convert_layer_shape(hp, (enum convert_layer_tensor)t, &ndims, dims);
  return ndims == 2 ? dims[0] * dims[1] : dims[0];
}

/* Bytes of a float32 tensor of n floats. */
#define F32_BYTES(n) ((int64_t)(n) * 4)

/* Lay out the tensors: fills src (layers[] for layer 0 through n_layers-1)
 * and returns the bytes the file needs in *end.  Validated hparams keep all
 * products far below 2^63. */
static void layout(const struct llama2c_header *h, struct convert_model_src *src, int64_t *end) {
  const struct mdi_hparams *hp = &h->hp;
  const int64_t L = hp->n_layers, emb = F32_BYTES((int64_t)hp->vocab_size * hp->dim);
  int64_t base[CONVERT_N_LLAMA2_TENSORS]; /* offset of layer 0 of each tensor */
  int64_t pos;
  if (h->kind == LLAMA2C_LEGACY) {
    pos = LEGACY_HEADER_BYTES;
    src->embedding.off = pos;
    pos += emb;
    static const int order[] = {CONVERT_ATTN_NORM, CONVERT_WQ, CONVERT_WK, CONVERT_WV, CONVERT_WO,
                                CONVERT_FFN_NORM,  CONVERT_W1, CONVERT_W2, CONVERT_W3};
    for (int i = 0; i < CONVERT_N_LLAMA2_TENSORS; i++) {
      base[order[i]] = pos;
      pos += L * F32_BYTES(layer_floats(hp, order[i]));
    }
    src->final_norm.off = pos;
    pos += F32_BYTES(hp->dim);
    /* freq_cis_real and freq_cis_imag: [seq_len][head_size/2] each */
    pos += 2 * F32_BYTES((int64_t)hp->seq_len * (mdi_hparams_head_size(hp) / 2));
  } else {
    pos = V1_HEADER_BYTES;
    base[CONVERT_ATTN_NORM] = pos;
    pos += L * F32_BYTES(hp->dim);
    base[CONVERT_FFN_NORM] = pos;
    pos += L * F32_BYTES(hp->dim);
    src->final_norm.off = pos;
    pos += F32_BYTES(hp->dim);
    src->embedding.off = pos;
    pos += emb;
    static const int order[] = {CONVERT_WQ, CONVERT_WK, CONVERT_WV, CONVERT_WO,
                                CONVERT_W1, CONVERT_W2, CONVERT_W3};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
      base[order[i]] = pos;
      pos += L * F32_BYTES(layer_floats(hp, order[i]));
    }
  }
  src->classifier.off = -1;
  if (!hp->shared_classifier) {
    src->classifier.off = pos;
    pos += emb;
  }
  for (int l = 0; l < hp->n_layers; l++)
    for (int t = 0; t < CONVERT_N_LLAMA2_TENSORS; t++) {
      struct convert_tensor_src *ts = &src->layers[(size_t)l * CONVERT_N_LAYER_TENSORS + t];
      ts->off = base[t] + l * F32_BYTES(layer_floats(hp, t));
      ts->type = CONVERT_SRC_F32;
    }
  src->embedding.type = src->final_norm.type = src->classifier.type = CONVERT_SRC_F32;
  *end = pos;
}

/* The file must hold every tensor the header announces. */
static int check_size(const struct convert_input *in, const struct llama2c_header *h,
                      int64_t end) {
  char desc[256];
  convert_describe_hparams(&h->hp, desc, sizeof desc);
  if (in->size < end)
    return mdi_fail("%s: file is %lld bytes but the %s header (%s%s) needs %lld", in->path,
                    (long long)in->size, kind_name(h->kind), desc,
                    h->hp.shared_classifier ? "" : ", separate classifier", (long long)end);
  if (in->size > end) {
    int64_t extra = in->size - end;
    int looks_like_classifier = h->kind == LLAMA2C_LEGACY && h->hp.shared_classifier &&
                                extra == F32_BYTES((int64_t)h->hp.vocab_size * h->hp.dim);
    mdi_log_warn("%s: the last %lld bytes are not part of the model and are ignored%s", in->path,
                 (long long)extra,
                 looks_like_classifier
                     ? " (they have the size of a classifier, but a legacy file marks one with a "
                       "negative vocab_size)"
                     : "");
  }
  return MDI_OK;
}

static void usage(FILE *out) {
  fprintf(out,
          "usage: mdi_convert llama2c MODEL.bin --tokenizer TOK.bin OUT.h5\n"
          "\n"
          "Convert a llama2.c checkpoint (legacy/v0 or version 1 export, float32) and its\n"
          "tokenizer.bin into an mdi-llm HDF5 model file (docs/FORMAT.md).\n"
          "norm_eps is 1e-5 and rope_theta 10000, as run.c uses them; BOS = 1, EOS = 2,\n"
          "and generation stops at either.\n"
          "\n"
          "options:\n"
          "  --tokenizer TOK.bin  llama2.c tokenizer for the model (required)\n"
          "  -q, --quiet          no progress notes\n"
          "  -h, --help           this help\n");
}

int convert_llama2c_locate(struct convert_input *in, struct convert_model_src *src,
                           const char **format) {
  struct llama2c_header h;
  int64_t end;
  memset(src, 0, sizeof *src);
  src->in = in;
  if (read_header(in, &h) != MDI_OK) return MDI_ERR;
  src->hp = h.hp;
  src->layers = mdi_calloc((size_t)h.hp.n_layers * CONVERT_N_LAYER_TENSORS, sizeof *src->layers,
                           "tensor table");
  if (!src->layers) return MDI_ERR;
  layout(&h, src, &end);
  if (check_size(in, &h, end) != MDI_OK) return MDI_ERR;
  if (format) *format = kind_name(h.kind);
  return MDI_OK;
}

static int convert(const char *model, const char *tok_path, const char *out) {
  struct convert_input in;
  if (convert_input_open(&in, model) != MDI_OK) return MDI_ERR;
  struct convert_model_src src;
  struct mdi_tokenizer tok;
  int have_tok = 0, rc = MDI_ERR;
  const char *format = "";
  if (convert_llama2c_locate(&in, &src, &format) != MDI_OK) goto done;
  if (convert_read_llama2c_tokenizer(&tok, tok_path, src.hp.vocab_size) != MDI_OK) goto done;
  have_tok = 1;
  mdi_log_info("%s: %s, %d layers, dim %d, vocab %d%s", model, format, src.hp.n_layers, src.hp.dim,
               src.hp.vocab_size, src.hp.shared_classifier ? "" : ", separate classifier");
  const char *inputs[2] = {model, tok_path};
  if (convert_write_model(&src, &tok, out, inputs, 2) != MDI_OK) goto done;
  convert_report_written(out, &src.hp);
  rc = MDI_OK;
done:
  if (have_tok) mdi_tokenizer_free(&tok);
  free(src.layers);
  convert_input_close(&in);
  return rc;
}

int convert_llama2c_main(int argc, char **argv) {
  const char *tok = NULL, *pos[2];
  const struct convert_opt opts[] = {{"--tokenizer", &tok}};
  int help, n_pos;
  if (convert_parse_args(argc, argv, opts, 1, &help, pos, 2, &n_pos) != MDI_OK) {
    mdi_log_error("llama2c: %s (see 'mdi_convert llama2c --help')", mdi_error());
    return CONVERT_EXIT_USAGE;
  }
  if (help) {
    usage(stdout);
    return CONVERT_EXIT_OK;
  }
  if (n_pos != 2 || !tok) {
    mdi_log_error("llama2c: %s (see 'mdi_convert llama2c --help')",
                  n_pos != 2 ? "expected MODEL.bin and OUT.h5" : "--tokenizer TOK.bin is required");
    return CONVERT_EXIT_USAGE;
  }
  const char *inputs[2] = {pos[0], tok};
  if (convert_check_output(pos[1], inputs, 2) != MDI_OK || convert(pos[0], tok, pos[1]) != MDI_OK) {
    mdi_log_error("%s", mdi_error());
    return CONVERT_EXIT_FAIL;
  }
  return CONVERT_EXIT_OK;
}
