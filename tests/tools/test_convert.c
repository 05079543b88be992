/* mdi_convert on the shipped stories260K files: the legacy .bin, the
 * version-1 .bin and the GGUF must give bit-identical tensors, which must be
 * the floats of stories260K.bin (read here independently of the tool), and
 * the tokenizer of tok512.bin.  Also: files with a separate classifier
 * (legacy negative vocab_size, version-1 shared_classifier = 0), `info`, and
 * the command-line exit codes. */
#include "convert_test_util.h"
#include "mdi/model/hparams.h"
#include "mdi/model/tokenizer.h"

/* stories260K (models/README.md) */
enum { DIM = 64, HIDDEN = 172, LAYERS = 5, HEADS = 8, KV_HEADS = 4, VOCAB = 512, SEQ = 512 };
enum { KV_DIM = DIM / HEADS * KV_HEADS, HEAD = DIM / HEADS };

/* The tensors of stories260K.bin, located by the legacy layout. */
struct ref {
  const float *emb;                     /* [VOCAB][DIM] */
  const float *rms_att, *rms_ffn;       /* [LAYERS][DIM] */
  const float *wq, *wo;                 /* [LAYERS][DIM][DIM] */
  const float *wk, *wv;                 /* [LAYERS][KV_DIM][DIM] */
  const float *w1, *w3;                 /* [LAYERS][HIDDEN][DIM] */
  const float *w2;                      /* [LAYERS][DIM][HIDDEN] */
  const float *rms_final;               /* [DIM] */
  size_t floats;                        /* floats after the header, RoPE tables included */
};

static void locate_ref(const unsigned char *file, struct ref *r) {
  const float *p = (const float *)(file + 28);
  const float *start = p;
  r->emb = p, p += VOCAB * DIM;
  r->rms_att = p, p += LAYERS * DIM;
  r->wq = p, p += LAYERS * DIM * DIM;
  r->wk = p, p += LAYERS * KV_DIM * DIM;
  r->wv = p, p += LAYERS * KV_DIM * DIM;
  r->wo = p, p += LAYERS * DIM * DIM;
  r->rms_ffn = p, p += LAYERS * DIM;
  r->w1 = p, p += LAYERS * HIDDEN * DIM;
  r->w2 = p, p += LAYERS * DIM * HIDDEN;
  r->w3 = p, p += LAYERS * HIDDEN * DIM;
  r->rms_final = p, p += DIM;
  p += 2 * SEQ * HEAD / 2; /* freq_cis_real, freq_cis_imag */
  r->floats = (size_t)(p - start);
}

static void check_hparams(struct mdi_h5 *f, int seq_len, int shared) {
  struct mdi_hparams hp;
  CHECK(mdi_h5_read_hparams(f, &hp) == MDI_OK);
  CHECK_STR(hp.arch, "llama");
  CHECK_EQ_INT(hp.dim, DIM);
  CHECK_EQ_INT(hp.hidden_dim, HIDDEN);
  CHECK_EQ_INT(hp.n_layers, LAYERS);
  CHECK_EQ_INT(hp.n_heads, HEADS);
  CHECK_EQ_INT(hp.n_kv_heads, KV_HEADS);
  CHECK_EQ_INT(hp.vocab_size, VOCAB);
  CHECK_EQ_INT(hp.seq_len, seq_len);
  CHECK(hp.norm_eps == 1e-5f);
  CHECK(hp.rope_theta == 10000.0f);
  CHECK_EQ_INT(hp.shared_classifier, shared);
}

/* Every weight dataset equals the reference; /classifier equals `cls`, or is
 * absent when cls is NULL. */
static void check_weights(struct mdi_h5 *f, const struct ref *r, const float *cls) {
  const int64_t emb[2] = {VOCAB, DIM}, vec[1] = {DIM}, sq[2] = {DIM, DIM}, kv[2] = {KV_DIM, DIM},
                up[2] = {HIDDEN, DIM}, down[2] = {DIM, HIDDEN};
  CHECK(convert_test_same_floats(f, "embedding", 2, emb, r->emb));
  CHECK(convert_test_same_floats(f, "final_norm", 1, vec, r->rms_final));
  for (int l = 0; l < LAYERS; l++) {
    char n[MDI_NAME_MAX];
#define LAYER(name, nd, dims, src, per_layer)          \
  mdi_weights_layer_name(n, l, name);                  \
  CHECK(convert_test_same_floats(f, n, nd, dims, src + (size_t)l * (per_layer)))
    LAYER("attn_norm", 1, vec, r->rms_att, DIM);
    LAYER("wq", 2, sq, r->wq, DIM * DIM);
    LAYER("wk", 2, kv, r->wk, KV_DIM * DIM);
    LAYER("wv", 2, kv, r->wv, KV_DIM * DIM);
    LAYER("wo", 2, sq, r->wo, DIM * DIM);
    LAYER("ffn_norm", 1, vec, r->rms_ffn, DIM);
    LAYER("w1", 2, up, r->w1, HIDDEN * DIM);
    LAYER("w2", 2, down, r->w2, DIM * HIDDEN);
    LAYER("w3", 2, up, r->w3, HIDDEN * DIM);
#undef LAYER
  }
  if (cls)
    CHECK(convert_test_same_floats(f, "classifier", 2, emb, cls));
  else
    CHECK(!mdi_h5_exists(f, "classifier"));
}

/* tok512.bin parsed here: pieces and scores. */
struct tok_ref {
  char *piece[VOCAB];
  int len[VOCAB];
  float score[VOCAB];
};

static int parse_tok512(const unsigned char *b, size_t size, struct tok_ref *t) {
  size_t pos = 4;
  for (int i = 0; i < VOCAB; i++) {
    int32_t n;
    if (pos + 8 > size) return -1;
    memcpy(&t->score[i], b + pos, 4);
    memcpy(&n, b + pos + 4, 4);
    pos += 8;
    if (n < 0 || pos + (size_t)n > size) return -1;
    t->piece[i] = (char *)b + pos;
    t->len[i] = n;
    pos += (size_t)n;
  }
  return pos == size ? 0 : -1;
}

/* The tokenizer equals tok512, except BOS/EOS spelled <s>, </s> in a GGUF. */
static void check_tokenizer(struct mdi_h5 *f, const struct tok_ref *ref, int gguf) {
  struct mdi_tokenizer t;
  if (mdi_tokenizer_load(&t, f) != MDI_OK) {
    fprintf(stderr, "%s\n", mdi_error());
    CHECK(!"tokenizer loads");
    return;
  }
  CHECK_EQ_INT(t.vocab_size, VOCAB);
  CHECK_EQ_INT(t.bos_id, 1);
  CHECK_EQ_INT(t.eos_id, 2);
  CHECK_EQ_INT(t.n_stop, 2);
  CHECK_EQ_INT(t.stop_ids[0], 1);
  CHECK_EQ_INT(t.stop_ids[1], 2);
  int diff = 0;
  for (int i = 0; i < VOCAB && i < t.vocab_size; i++) {
    const char *want = ref->piece[i];
    int want_len = ref->len[i];
    if (gguf && (i == 1 || i == 2)) {
      want = i == 1 ? "<s>" : "</s>";
      want_len = (int)strlen(want);
    }
    if (t.piece_lens[i] != want_len || memcmp(t.pieces[i], want, (size_t)want_len) != 0 ||
        memcmp(&t.scores[i], &ref->score[i], sizeof(float)) != 0) {
      if (!diff) fprintf(stderr, "%s: token %d: \"%s\" differs\n", mdi_h5_path(f), i, t.pieces[i]);
      diff++;
    }
  }
  CHECK_EQ_INT(diff, 0);
  mdi_tokenizer_free(&t);
}

static void check_model(const char *path, const struct ref *r, const struct tok_ref *tok,
                        int seq_len, const float *cls, int gguf) {
  struct mdi_h5 *f;
  if (mdi_h5_open(&f, path) != MDI_OK) {
    fprintf(stderr, "%s\n", mdi_error());
    CHECK(!"model opens");
    return;
  }
  printf("checking %s\n", path);
  check_hparams(f, seq_len, cls == NULL);
  check_weights(f, r, cls);
  check_tokenizer(f, tok, gguf);
  mdi_h5_close(f);
  char *info[] = {NULL, "info", (char *)path, NULL};
  CHECK_EQ_INT(convert_test_run(info), 0);
}

/* A copy of `src` with a separate classifier appended: the legacy file gets
 * vocab_size negated, the version-1 file shared_classifier = 0. */
static int write_with_classifier(const char *out, const unsigned char *src, size_t size,
                                 int legacy, const float *cls) {
  size_t cls_bytes = (size_t)VOCAB * DIM * sizeof(float);
  unsigned char *b = malloc(size + cls_bytes);
  if (!b) return -1;
  memcpy(b, src, size);
  if (legacy) {
    int32_t v = -VOCAB;
    memcpy(b + 5 * 4, &v, 4);
  } else {
    b[36] = 0;
  }
  memcpy(b + size, cls, cls_bytes);
  int rc = convert_test_write(out, b, size + cls_bytes);
  free(b);
  return rc;
}

static int convert_llama2c(const char *model, const char *tok, const char *out) {
  char *argv[] = {NULL, "llama2c", (char *)model, "--tokenizer", (char *)tok, (char *)out, NULL};
  return convert_test_run(argv);
}

static void check_usage(const char *model, const char *tok, const char *dir) {
  char out[4200];
  snprintf(out, sizeof out, "%s/usage.h5", dir);
  char *none[] = {NULL, NULL};
  char *help[] = {NULL, "--help", NULL};
  char *sub_help[] = {NULL, "gguf", "-h", NULL};
  char *no_tok[] = {NULL, "llama2c", (char *)model, out, NULL};
  char *bad_opt[] = {NULL, "llama2c", "--frobnicate", (char *)model, "--tokenizer", (char *)tok,
                     out, NULL};
  char *bad_cmd[] = {NULL, "hf", NULL};
  char *extra[] = {NULL, "info", out, out, NULL};
  CHECK_EQ_INT(convert_test_run(none), 2);
  CHECK_EQ_INT(convert_test_run(help), 0);
  CHECK_EQ_INT(convert_test_run(sub_help), 0);
  CHECK_EQ_INT(convert_test_run(no_tok), 2);
  CHECK_EQ_INT(convert_test_run(bad_opt), 2);
  CHECK_EQ_INT(convert_test_run(bad_cmd), 2);
  CHECK_EQ_INT(convert_test_run(extra), 2);
}

int main(void) {
  char dir[4096], legacy[4200], v1[4200], gguf[4200], tok[4200], out[4200];
  convert_test_workdir("convert_models", dir, sizeof dir);
  mdi_test_source_path("models/stories260K.bin", legacy, sizeof legacy);
  mdi_test_source_path("models/stories260K.v1.bin", v1, sizeof v1);
  mdi_test_source_path("models/stories260K.gguf", gguf, sizeof gguf);
  mdi_test_source_path("models/tok512.bin", tok, sizeof tok);

  size_t legacy_size, v1_size, tok_size;
  unsigned char *legacy_bytes = convert_test_slurp(legacy, &legacy_size);
  unsigned char *v1_bytes = convert_test_slurp(v1, &v1_size);
  unsigned char *tok_bytes = convert_test_slurp(tok, &tok_size);
  if (!legacy_bytes || !v1_bytes || !tok_bytes) return 1;
  struct ref r;
  locate_ref(legacy_bytes, &r);
  CHECK_EQ_INT(28 + 4 * r.floats, legacy_size);
  static struct tok_ref tref;
  CHECK(parse_tok512(tok_bytes, tok_size, &tref) == 0);

  /* (a) the three shipped files */
  snprintf(out, sizeof out, "%s/legacy.h5", dir);
  CHECK_EQ_INT(convert_llama2c(legacy, tok, out), 0);
  check_model(out, &r, &tref, SEQ, NULL, 0);
  snprintf(out, sizeof out, "%s/v1.h5", dir);
  CHECK_EQ_INT(convert_llama2c(v1, tok, out), 0);
  check_model(out, &r, &tref, SEQ, NULL, 0);
  snprintf(out, sizeof out, "%s/gguf.h5", dir);
  char *gguf_argv[] = {NULL, "gguf", gguf, out, NULL};
  CHECK_EQ_INT(convert_test_run(gguf_argv), 0);
  check_model(out, &r, &tref, 2048 /* the GGUF's context_length */, NULL, 1);

  /* (b) separate classifiers: any data distinct from the embedding */
  static float cls[VOCAB * DIM];
  for (int i = 0; i < VOCAB * DIM; i++) cls[i] = (float)(i % 997) * 0.001f - 0.5f;
  char model[4200];
  snprintf(model, sizeof model, "%s/legacy_classifier.bin", dir);
  snprintf(out, sizeof out, "%s/legacy_classifier.h5", dir);
  CHECK(write_with_classifier(model, legacy_bytes, legacy_size, 1, cls) == 0);
  CHECK_EQ_INT(convert_llama2c(model, tok, out), 0);
  check_model(out, &r, &tref, SEQ, cls, 0);
  snprintf(model, sizeof model, "%s/v1_classifier.bin", dir);
  snprintf(out, sizeof out, "%s/v1_classifier.h5", dir);
  CHECK(write_with_classifier(model, v1_bytes, v1_size, 0, cls) == 0);
  CHECK_EQ_INT(convert_llama2c(model, tok, out), 0);
  check_model(out, &r, &tref, SEQ, cls, 0);

  check_usage(legacy, tok, dir);
  free(legacy_bytes);
  free(v1_bytes);
  free(tok_bytes);
  return mdi_test_finish("test_convert");
}
