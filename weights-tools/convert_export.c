/* mdi_convert export-llama2c: a model file back to llama2.c's legacy (v0)
 * checkpoint, the file upstream run.c reads, and optionally its tokenizer.bin.
 *
 * Checkpoint, little-endian:
 *   int32 dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len
 *         (vocab_size negative when the classifier is separate)
 *   float32 token_embedding [vocab][dim]
 *           rms_att [L][dim], wq [L][dim][dim], wk [L][kv_dim][dim],
 *           wv [L][kv_dim][dim], wo [L][dim][dim], rms_ffn [L][dim],
 *           w1 [L][hidden][dim], w2 [L][dim][hidden], w3 [L][hidden][dim]
 *           rms_final [dim]
 *           freq_cis_real [seq_len][head_size/2], freq_cis_imag (the same)
 *           classifier [vocab][dim] only when separate
 * The RoPE tables are what llama2.c's export.py wrote (cos and sin of
 * pos * theta^(-2i/head_size), in float32); run.c skips them by size.  They
 * are computed here with the C library's cosf/sinf, which may differ from
 * PyTorch's in the last bit.
 *
 * Tokenizer: int32 max_token_length, then per token float32 score, int32
 * length, the piece's bytes.  Tensors are copied in chunks, so the export
 * needs little memory whatever the model's size. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "mdi/base/error.h"
#include "mdi/model/rankfiles.h"
#include "mdi/model/tokenizer.h"
#include "mdi/model/weights.h"

/* convert_rows_fn: append the rows to the checkpoint. */
static int append_rows(void *ctx, const struct convert_tensor *t, const float *rows, int64_t row0,
                       int64_t nrows) {
  (void)row0;
  const int64_t cols = t->ndims == 2 ? t->dims[1] : t->dims[0];
  return convert_output_write(ctx, rows, (size_t)(nrows * cols) * sizeof(float), t->name);
}

static int copy_tensor(struct mdi_h5 *f, struct convert_output *o, const struct mdi_hparams *hp, int index) {
  struct convert_tensor t;
  convert_tensor_at(hp, index, &t);
  return convert_read_tensor_rows(f, &t, append_rows, o);
}

/* freq_cis_real then freq_cis_imag, one position (head_size/2 floats) at a time. */
static int write_rope_tables(struct convert_output *o, const struct mdi_hparams *hp) {
  const int head_size = mdi_hparams_head_size(hp), half = head_size / 2;
  float *row = mdi_malloc((size_t)half * sizeof(float), "RoPE table row"); /* [head_size/2] */
  if (!row) return MDI_ERR;
  int rc = MDI_OK;
  for (int part = 0; part < 2 && rc == MDI_OK; part++)
    for (int pos = 0; pos < hp->seq_len && rc == MDI_OK; pos++) {
      for (int i = 0; i < half; i++) {
        /* as export.py: float32 frequencies, float32 angle pos * freq */
        float freq = 1.0f / powf(hp->rope_theta, (float)(2 * i) / (float)head_size);
        float angle = (float)pos * freq;
        row[i] = part == 0 ? cosf(angle) : sinf(angle);
      }
      rc = convert_output_write(o, row, (size_t)half * sizeof(float), part == 0 ? "freq_cis_real" : "freq_cis_imag");
    }
  free(row);
  return rc;
}

static int write_checkpoint(struct mdi_h5 *f, const struct mdi_hparams *hp, struct convert_output *o) {
  const int32_t header[7] = {hp->dim, hp->hidden_dim, hp->n_layers, hp->n_heads, hp->n_kv_heads,
                             hp->shared_classifier ? hp->vocab_size : -hp->vocab_size, hp->seq_len};
  if (convert_output_write(o, header, sizeof header, "header") != MDI_OK || copy_tensor(f, o, hp, 0) != MDI_OK)
    return MDI_ERR;
  /* llama2.c groups by tensor kind, all layers of one kind together, in the
   * order of enum convert_layer_tensor; canonical index 1 + 9 * layer + kind */
  for (int kind = 0; kind < CONVERT_N_LLAMA2_TENSORS; kind++)
    for (int l = 0; l < hp->n_layers; l++)
      if (copy_tensor(f, o, hp, 1 + l * CONVERT_N_LLAMA2_TENSORS + kind) != MDI_OK) return MDI_ERR;
  const int final_norm = 1 + hp->n_layers * CONVERT_N_LLAMA2_TENSORS;
  if (copy_tensor(f, o, hp, final_norm) != MDI_OK || write_rope_tables(o, hp) != MDI_OK) return MDI_ERR;
  if (!hp->shared_classifier && copy_tensor(f, o, hp, final_norm + 1) != MDI_OK) return MDI_ERR;
  return MDI_OK;
}

/* An hf tokenizer as llama2.c's: pieces with U+2581 as a space, and each
 * piece scored -rank of the first merge that makes it (-1e10, never merged
 * into, for the others), so that run.c's best-score rule merges as the
 * ranks do (what mdi_convert hf wrote before the hf kind existed).  Only a
 * SentencePiece-style vocabulary (byte pieces <0x00>..<0xFF>) fits run.c. */
static int llama2c_view(const char *in, const struct mdi_tokenizer *t, float *scores, char **pieces, int *lens) {
  for (int b = 0; b < 256; b++)
    if (t->byte_ids[b] < 0)
      return mdi_fail("%s: the tokenizer has no byte piece <0x%02X>: llama2.c's tokenizer.bin holds "
                      "SentencePiece-style tokenizers only (not byte-level BPE)", in, b);
  for (int i = 0; i < t->vocab_size; i++) scores[i] = -1e10f;
  for (uint32_t k = 0; k <= t->merge_mask; k++) {
    const struct mdi_bpe_merge *m = &t->merge_table[k];
    if (m->left >= 0 && -(float)m->rank > scores[m->result]) scores[m->result] = -(float)m->rank;
  }
  for (int i = 0; i < t->vocab_size; i++) {
    char *p = pieces[i] = mdi_xmalloc((size_t)t->piece_lens[i] + 1, "piece");
    int n = 0;
    for (int k = 0; k < t->piece_lens[i]; k++) {
      if (k + 3 <= t->piece_lens[i] && !memcmp(t->pieces[i] + k, "\xe2\x96\x81", 3)) {
        p[n++] = ' ';
        k += 2;
      } else {
        p[n++] = t->pieces[i][k];
      }
    }
    lens[i] = n;
  }
  return MDI_OK;
}

static int write_tokenizer(const char *in, const struct mdi_tokenizer *t, struct convert_output *o) {
  const int hf = t->kind == MDI_TOKENIZER_HF;
  float *scores = t->scores;
  char **pieces = t->pieces;
  int *lens = t->piece_lens, rc = MDI_ERR;
  if (t->kind == MDI_TOKENIZER_BYTE_BPE)
    return mdi_fail("%s: the tokenizer is byte-level BPE; llama2.c's tokenizer.bin holds SentencePiece-style "
                    "tokenizers only", in);
  if (hf) {
    scores = mdi_xmalloc((size_t)t->vocab_size * sizeof *scores, "scores");
    pieces = mdi_xcalloc((size_t)t->vocab_size, sizeof *pieces, "pieces");
    lens = mdi_xmalloc((size_t)t->vocab_size * sizeof *lens, "piece lengths");
    if (llama2c_view(in, t, scores, pieces, lens) != MDI_OK) goto done;
  }
  int32_t max_len = 0;
  for (int i = 0; i < t->vocab_size; i++)
    if (lens[i] > max_len) max_len = lens[i];
  if (!hf) max_len = t->max_token_length;
  if (convert_output_write(o, &max_len, 4, "max_token_length") != MDI_OK) goto done;
  for (int i = 0; i < t->vocab_size; i++) {
    const int32_t len = lens[i];
    if (convert_output_write(o, &scores[i], 4, "a score") != MDI_OK || convert_output_write(o, &len, 4, "a length") != MDI_OK ||
        convert_output_write(o, pieces[i], (size_t)len, "a piece") != MDI_OK)
      goto done;
  }
  rc = MDI_OK;
done:
  if (hf) {
    for (int i = 0; i < t->vocab_size; i++) free(pieces[i]);
    free(pieces);
    free(scores);
    free(lens);
  }
  return rc;
}

/* What run.c cannot represent: it is told, not refused. */
static void warn_llama2c_limits(const char *in, const struct mdi_hparams *hp, const struct mdi_tokenizer *tok) {
  if (hp->norm_eps != 1e-5f)
    mdi_log_warn("%s: norm_eps is %g but run.c uses 1e-5", in, (double)hp->norm_eps);
  if (hp->rope_theta != 10000.0f)
    mdi_log_warn("%s: rope_theta is %g but run.c uses 10000", in, (double)hp->rope_theta);
  if (tok && (tok->bos_id != 1 || tok->eos_id != 2))
    mdi_log_warn("%s: BOS/EOS are ids %d/%d but run.c uses 1/2", in, tok->bos_id, tok->eos_id);
}

static int export_model(const char *in, const char *out, const char *tok_out) {
  struct mdi_h5 *f;
  if (mdi_h5_open(&f, in) != MDI_OK) return MDI_ERR;
  struct mdi_hparams hp;
  struct mdi_tokenizer tok;
  int have_tok = 0, rc = MDI_ERR;
  struct convert_output o = {0}, ot = {0};
  char *tmp[2] = {NULL, NULL}; /* OUT.tmp and TOK.tmp, renamed over both when both are complete */
  if (mdi_h5_read_hparams(f, &hp) != MDI_OK) goto done;
  if (mdi_hparams_is_gpt2(&hp)) { /* run.c knows the Llama block only */
    mdi_fail("%s: arch gpt2 cannot be exported to llama2.c (its checkpoint holds Llama models only)", in);
    goto done;
  }
  if (mdi_hparams_has_options(&hp)) {
    char opts[256];
    mdi_hparams_describe_options(&hp, opts, sizeof opts);
    mdi_fail("%s: llama2.c's run.c computes Llama 2's block only; this model has %s", in, opts);
    goto done;
  }
  if (mdi_rankfile_is_rankfile(f)) {
    mdi_fail("%s is one rank's part of a split model; export the whole model file", in);
    goto done;
  }
  /* run.c is float32 only (runq.c's int8 checkpoint is another format) */
  int quantized;
  char why[MDI_NAME_MAX + 64];
  if (convert_model_quantized(f, &hp, &quantized, why, sizeof why) != MDI_OK) goto done;
  if (quantized) {
    mdi_fail("%s is quantized (%s); llama2.c's run.c reads float32 weights only: export the float32 model "
             "it was quantized from", in, why);
    goto done;
  }
  if (tok_out) {
    if (mdi_tokenizer_load(&tok, f) != MDI_OK) goto done;
    have_tok = 1;
  }
  warn_llama2c_limits(in, &hp, have_tok ? &tok : NULL);
  const char *inputs[1] = {in};
  if (convert_tmp_name(out, inputs, 1, &tmp[0]) != MDI_OK ||
      (tok_out && convert_tmp_name(tok_out, inputs, 1, &tmp[1]) != MDI_OK) ||
      convert_output_open(&o, tmp[0]) != MDI_OK)
    goto done;
  convert_remove_on_signal_list(tmp, 1);
  int failed = write_checkpoint(f, &hp, &o) != MDI_OK;
  if (!failed && tok_out) {
    failed = convert_output_open(&ot, tmp[1]) != MDI_OK;
    if (!failed) convert_remove_on_signal_list(tmp, 2);
    if (!failed) failed = write_tokenizer(in, &tok, &ot) != MDI_OK;
  }
  /* close both; any failure removes both, so no half of a pair is renamed */
  int c1 = convert_output_close(&o, failed), c2 = convert_output_close(&ot, failed || c1 != MDI_OK);
  if (c1 == MDI_OK && c2 != MDI_OK) remove(tmp[0]);
  const int ok = c1 == MDI_OK && c2 == MDI_OK ? MDI_OK : MDI_ERR;
  c1 = convert_tmp_end(tmp[0], out, ok);
  c2 = convert_tmp_end(tmp[1], tok_out, c1);
  tmp[0] = tmp[1] = NULL;
  if (c1 != MDI_OK || c2 != MDI_OK) goto done;
  mdi_log_info("wrote %s: llama2.c legacy checkpoint, %d layers, dim %d, vocab %d%s", out, hp.n_layers,
               hp.dim, hp.vocab_size, hp.shared_classifier ? "" : ", separate classifier");
  if (tok_out) mdi_log_info("wrote %s: llama2.c tokenizer, %d pieces", tok_out, tok.vocab_size);
  rc = MDI_OK;
done:
  convert_remove_on_signal_list(NULL, 0);
  free(tmp[0]);
  free(tmp[1]);
  if (have_tok) mdi_tokenizer_free(&tok);
  mdi_h5_close(f);
  return rc;
}

static void usage(FILE *out) {
  fprintf(out,
          "usage: mdi_convert export-llama2c IN.h5 OUT.bin [--tokenizer-out TOK.bin]\n"
          "\n"
          "Write an mdi-llm model file as a llama2.c legacy (v0) checkpoint, the format\n"
          "upstream run.c reads (a negative vocab_size marks a separate classifier; the\n"
          "RoPE tables are included), and optionally its tokenizer in llama2.c's\n"
          "tokenizer.bin format.  run.c assumes norm_eps 1e-5, rope_theta 10000, BOS 1 and\n"
          "EOS 2; other values are exported with a warning.  A quantized model (mdi_convert\n"
          "quantize) is refused: run.c reads float32 weights only.\n"
          "\n"
          "options:\n"
          "  --tokenizer-out TOK.bin  also write the tokenizer\n"
          "  -q, --quiet              no progress notes\n"
          "  -h, --help               this help\n");
}

int convert_export_llama2c_main(int argc, char **argv) {
  const char *tok_out = NULL, *pos[2];
  const struct convert_opt opts[] = {{"--tokenizer-out", &tok_out}};
  int help, n_pos;
  int rc = convert_parse_args(argc, argv, opts, 1, &help, pos, 2, &n_pos);
  if (rc == MDI_OK && help) {
    usage(stdout);
    return CONVERT_EXIT_OK;
  }
  if (rc == MDI_OK && n_pos != 2) rc = mdi_fail("expected IN.h5 and OUT.bin");
  if (rc == MDI_OK && tok_out && strcmp(tok_out, pos[1]) == 0)
    rc = mdi_fail("--tokenizer-out %s is also the checkpoint's name", tok_out);
  if (rc != MDI_OK) {
    mdi_log_error("export-llama2c: %s (see 'mdi_convert export-llama2c --help')", mdi_error());
    return CONVERT_EXIT_USAGE;
  }
  const char *inputs[1] = {pos[0]};
  if (convert_check_output(pos[1], inputs, 1) != MDI_OK ||
      (tok_out && convert_check_output(tok_out, inputs, 1) != MDI_OK) ||
      export_model(pos[0], pos[1], tok_out) != MDI_OK) {
    mdi_log_error("%s", mdi_error());
    return CONVERT_EXIT_FAIL;
  }
  return CONVERT_EXIT_OK;
}
