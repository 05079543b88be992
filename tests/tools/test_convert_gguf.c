/* mdi_convert gguf on GGUF files written here: version 2, alignment 64, F16
 * (and, once, BF16) matrices with F32 norms, metadata other than stories260K's (rope base,
 * epsilon), pieces spelled with U+2581, an extra tensor that is ignored, and
 * the three classifier cases (separate, absent, a copy of the embedding).
 * The expected floats of the F16 data are computed with ldexp, apart from
 * the converter's bit manipulation. */
#include <math.h>

#include "convert_test_util.h"
#include "mdi/model/hparams.h"
#include "mdi/model/tokenizer.h"

enum { DIM = 16, HIDDEN = 24, LAYERS = 2, HEADS = 4, KV_HEADS = 2, VOCAB = 512, CTX = 256 };
enum { KV_DIM = DIM / HEADS * KV_HEADS, ALIGN = 64 };

/* ---- a growing byte buffer with GGUF encoders ------------------------------ */

struct buf {
  unsigned char *b;
  size_t n, cap;
};

static void put(struct buf *w, const void *p, size_t n) {
  if (w->n + n > w->cap) {
    w->cap = (w->n + n) * 2;
    w->b = realloc(w->b, w->cap);
    if (!w->b) abort();
  }
  memcpy(w->b + w->n, p, n);
  w->n += n;
}
static void put_u32(struct buf *w, uint32_t v) { put(w, &v, 4); }
static void put_u64(struct buf *w, uint64_t v) { put(w, &v, 8); }
static void put_str(struct buf *w, const char *s, size_t n) {
  put_u64(w, n);
  put(w, s, n);
}
static void kv_u32(struct buf *w, const char *key, uint32_t v) {
  put_str(w, key, strlen(key));
  put_u32(w, 4);
  put_u32(w, v);
}
static void kv_f32(struct buf *w, const char *key, float v) {
  put_str(w, key, strlen(key));
  put_u32(w, 6);
  put(w, &v, 4);
}
static void kv_str(struct buf *w, const char *key, const char *s) {
  put_str(w, key, strlen(key));
  put_u32(w, 8);
  put_str(w, s, strlen(s));
}

/* ---- the model ---------------------------------------------------------------- */

/* One tensor to write: GGUF dims (innermost first) and its data. */
struct tensor {
  char name[64];
  int ndims;
  uint64_t dims[2];
  uint32_t type; /* 0 F32, 1 F16, 30 BF16 */
  const void *data;
  size_t bytes;
};

/* Reference value of IEEE half bits h (finite). */
static float half_ref(uint16_t h) {
  int exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  float mag = exp == 0 ? ldexpf((float)mant, -24) : ldexpf((float)(1024 + mant), exp - 25);
  return (h & 0x8000) ? -mag : mag;
}

static uint32_t rng = 12345;
/* 16-bit patterns finite both as F16 and as BF16: every sign, F16
 * exponent 0..30 (subnormals too), mantissa; a BF16 exponent of all ones
 * loses its top bit. */
static uint16_t next_half(void) {
  rng = rng * 1664525u + 1013904223u;
  uint16_t h = (uint16_t)(rng >> 16);
  if (((h >> 10) & 0x1f) == 0x1f) h = (uint16_t)(h & ~0x4000);
  if (((h >> 7) & 0xff) == 0xff) h = (uint16_t)(h & ~0x4000);
  return h;
}

/* Reference value of bfloat16 bits: the upper half of a float32, written
 * with ldexp (exponent 8 bits, mantissa 7). */
static float bf16_ref(uint16_t h) {
  int exp = (h >> 7) & 0xff, mant = h & 0x7f;
  float mag = exp == 0 ? ldexpf((float)mant, -133) : ldexpf((float)(128 + mant), exp - 134);
  return (h & 0x8000) ? -mag : mag;
}

/* 16-bit data and its expected floats, read as F16 and as BF16. */
struct half_tensor {
  uint16_t *h;
  float *want, *want_bf16;
  size_t n;
};

static struct half_tensor make_half(size_t n) {
  struct half_tensor t = {malloc(n * 2), malloc(n * 4), malloc(n * 4), n};
  for (size_t i = 0; i < n; i++) {
    t.h[i] = next_half();
    t.want[i] = half_ref(t.h[i]);
    t.want_bf16[i] = bf16_ref(t.h[i]);
  }
  return t;
}

/* The type of the 16-bit matrices of the file being written and checked. */
static uint32_t mat_type = 1;
static const float *want(const struct half_tensor *t) { return mat_type == 30 ? t->want_bf16 : t->want; }

static float *make_f32(size_t n) {
  float *f = malloc(n * 4);
  for (size_t i = 0; i < n; i++) f[i] = (float)((int)(i % 41) - 20) / 16.0f;
  return f;
}

struct model {
  struct half_tensor emb, out, mats[LAYERS][7]; /* wq wk wv wo w1 w2 w3 */
  float *norms[LAYERS][2], *final_norm, *extra;
};

static const char *const mat_gguf[7] = {"attn_q", "attn_k", "attn_v", "attn_output",
                                        "ffn_gate", "ffn_down", "ffn_up"};
static const char *const mat_ours[7] = {"wq", "wk", "wv", "wo", "w1", "w2", "w3"};
/* our [out][in] shapes */
static const int64_t mat_dims[7][2] = {{DIM, DIM},    {KV_DIM, DIM}, {KV_DIM, DIM}, {DIM, DIM},
                                       {HIDDEN, DIM}, {DIM, HIDDEN}, {HIDDEN, DIM}};

static void make_model(struct model *m) {
  m->emb = make_half((size_t)VOCAB * DIM);
  m->out = make_half((size_t)VOCAB * DIM);
  for (int l = 0; l < LAYERS; l++) {
    for (int k = 0; k < 7; k++) m->mats[l][k] = make_half((size_t)(mat_dims[k][0] * mat_dims[k][1]));
    m->norms[l][0] = make_f32(DIM);
    m->norms[l][1] = make_f32(DIM);
  }
  m->final_norm = make_f32(DIM);
  m->extra = make_f32(DIM / HEADS / 2);
}

static void free_model(struct model *m) {
  free(m->emb.h), free(m->emb.want), free(m->emb.want_bf16), free(m->out.h), free(m->out.want),
      free(m->out.want_bf16);
  for (int l = 0; l < LAYERS; l++) {
    for (int k = 0; k < 7; k++) free(m->mats[l][k].h), free(m->mats[l][k].want), free(m->mats[l][k].want_bf16);
    free(m->norms[l][0]), free(m->norms[l][1]);
  }
  free(m->final_norm), free(m->extra);
}

enum output_kind { OUT_SEPARATE, OUT_ABSENT, OUT_COPY };

static void add_tensor(struct tensor *t, int *n, const char *name, int ndims, uint64_t d0,
                       uint64_t d1, uint32_t type, const void *data) {
  struct tensor *x = &t[(*n)++];
  snprintf(x->name, sizeof x->name, "%s", name);
  x->ndims = ndims;
  x->dims[0] = d0;
  x->dims[1] = d1;
  x->type = type;
  x->data = data;
  x->bytes = (size_t)d0 * (ndims == 2 ? d1 : 1) * (type == 0 ? 4 : 2);
}

/* Write the GGUF; tokens are tok512's pieces with ' ' spelled U+2581. */
static void write_gguf(const char *path, const struct model *m, enum output_kind ok,
                       const unsigned char *tok, size_t tok_size) {
  struct tensor t[3 + 9 * LAYERS + 1];
  int nt = 0;
  add_tensor(t, &nt, "token_embd.weight", 2, DIM, VOCAB, mat_type, m->emb.h);
  add_tensor(t, &nt, "output_norm.weight", 1, DIM, 1, 0, m->final_norm);
  if (ok != OUT_ABSENT)
    add_tensor(t, &nt, "output.weight", 2, DIM, VOCAB, mat_type, ok == OUT_COPY ? m->emb.h : m->out.h);
  add_tensor(t, &nt, "unknown_extra.weight", 1, DIM / HEADS / 2, 1, 0, m->extra);
  for (int l = 0; l < LAYERS; l++) {
    char name[64];
    for (int k = 0; k < 7; k++) {
      snprintf(name, sizeof name, "blk.%d.%s.weight", l, mat_gguf[k]);
      add_tensor(t, &nt, name, 2, (uint64_t)mat_dims[k][1], (uint64_t)mat_dims[k][0], mat_type,
                 m->mats[l][k].h);
    }
    snprintf(name, sizeof name, "blk.%d.attn_norm.weight", l);
    add_tensor(t, &nt, name, 1, DIM, 1, 0, m->norms[l][0]);
    snprintf(name, sizeof name, "blk.%d.ffn_norm.weight", l);
    add_tensor(t, &nt, name, 1, DIM, 1, 0, m->norms[l][1]);
  }
  struct buf w = {0};
  put(&w, "GGUF", 4);
  put_u32(&w, 2);
  put_u64(&w, (uint64_t)nt);
  put_u64(&w, 15); /* metadata keys below */
  kv_str(&w, "general.architecture", "llama");
  kv_u32(&w, "general.alignment", ALIGN);
  kv_u32(&w, "llama.embedding_length", DIM);
  kv_u32(&w, "llama.feed_forward_length", HIDDEN);
  kv_u32(&w, "llama.block_count", LAYERS);
  kv_u32(&w, "llama.attention.head_count", HEADS);
  kv_u32(&w, "llama.attention.head_count_kv", KV_HEADS);
  kv_u32(&w, "llama.context_length", CTX);
  kv_f32(&w, "llama.attention.layer_norm_rms_epsilon", 1e-6f);
  kv_f32(&w, "llama.rope.freq_base", 500000.0f);
  kv_str(&w, "tokenizer.ggml.model", "llama");
  put_str(&w, "tokenizer.ggml.tokens", strlen("tokenizer.ggml.tokens"));
  put_u32(&w, 9);
  put_u32(&w, 8);
  put_u64(&w, VOCAB);
  float scores[VOCAB];
  size_t pos = 4;
  for (int i = 0; i < VOCAB; i++) {
    int32_t n;
    memcpy(&scores[i], tok + pos, 4);
    memcpy(&n, tok + pos + 4, 4);
    pos += 8;
    struct buf piece = {0};
    for (int k = 0; k < n; k++) {
      if (tok[pos + (size_t)k] == ' ')
        put(&piece, "\xe2\x96\x81", 3);
      else
        put(&piece, tok + pos + k, 1);
    }
    put_str(&w, piece.n ? (const char *)piece.b : "", piece.n);
    free(piece.b);
    pos += (size_t)n;
  }
  CHECK_EQ_INT(pos, tok_size);
  put_str(&w, "tokenizer.ggml.scores", strlen("tokenizer.ggml.scores"));
  put_u32(&w, 9);
  put_u32(&w, 6);
  put_u64(&w, VOCAB);
  put(&w, scores, sizeof scores);
  kv_u32(&w, "tokenizer.ggml.bos_token_id", 1);
  kv_u32(&w, "tokenizer.ggml.eos_token_id", 2);
  uint64_t off = 0;
  for (int i = 0; i < nt; i++) {
    put_str(&w, t[i].name, strlen(t[i].name));
    put_u32(&w, (uint32_t)t[i].ndims);
    for (int d = 0; d < t[i].ndims; d++) put_u64(&w, t[i].dims[d]);
    put_u32(&w, t[i].type);
    put_u64(&w, off);
    off += (t[i].bytes + ALIGN - 1) / ALIGN * ALIGN;
  }
  static const unsigned char zeros[ALIGN];
  put(&w, zeros, (ALIGN - w.n % ALIGN) % ALIGN);
  for (int i = 0; i < nt; i++) {
    put(&w, t[i].data, t[i].bytes);
    put(&w, zeros, (ALIGN - t[i].bytes % ALIGN) % ALIGN);
  }
  CHECK(convert_test_write(path, w.b, w.n) == 0);
  free(w.b);
}

static void check_converted(const char *path, const struct model *m, enum output_kind ok,
                            const unsigned char *tok) {
  struct mdi_h5 *f;
  if (mdi_h5_open(&f, path) != MDI_OK) {
    fprintf(stderr, "%s\n", mdi_error());
    CHECK(!"converted file opens");
    return;
  }
  struct mdi_hparams hp;
  CHECK(mdi_h5_read_hparams(f, &hp) == MDI_OK);
  CHECK_EQ_INT(hp.dim, DIM);
  CHECK_EQ_INT(hp.hidden_dim, HIDDEN);
  CHECK_EQ_INT(hp.n_layers, LAYERS);
  CHECK_EQ_INT(hp.n_heads, HEADS);
  CHECK_EQ_INT(hp.n_kv_heads, KV_HEADS);
  CHECK_EQ_INT(hp.vocab_size, VOCAB);
  CHECK_EQ_INT(hp.seq_len, CTX);
  CHECK(hp.norm_eps == 1e-6f);
  CHECK(hp.rope_theta == 500000.0f);
  CHECK_EQ_INT(hp.shared_classifier, ok != OUT_SEPARATE);
  const int64_t emb[2] = {VOCAB, DIM}, vec[1] = {DIM};
  CHECK(convert_test_same_floats(f, "embedding", 2, emb, want(&m->emb)));
  CHECK(convert_test_same_floats(f, "final_norm", 1, vec, m->final_norm));
  if (ok == OUT_SEPARATE)
    CHECK(convert_test_same_floats(f, "classifier", 2, emb, want(&m->out)));
  else
    CHECK(!mdi_h5_exists(f, "classifier"));
  for (int l = 0; l < LAYERS; l++) {
    char n[MDI_NAME_MAX];
    for (int k = 0; k < 7; k++) {
      mdi_weights_layer_name(n, l, mat_ours[k]);
      CHECK(convert_test_same_floats(f, n, 2, mat_dims[k], want(&m->mats[l][k])));
    }
    mdi_weights_layer_name(n, l, "attn_norm");
    CHECK(convert_test_same_floats(f, n, 1, vec, m->norms[l][0]));
    mdi_weights_layer_name(n, l, "ffn_norm");
    CHECK(convert_test_same_floats(f, n, 1, vec, m->norms[l][1]));
  }
  /* pieces come back with plain spaces: exactly tok512 */
  struct mdi_tokenizer t;
  CHECK(mdi_tokenizer_load(&t, f) == MDI_OK);
  size_t pos = 4;
  int diff = 0;
  for (int i = 0; i < VOCAB && i < t.vocab_size; i++) {
    int32_t n;
    memcpy(&n, tok + pos + 4, 4);
    pos += 8;
    if (t.piece_lens[i] != n || memcmp(t.pieces[i], tok + pos, (size_t)n) != 0) diff++;
    pos += (size_t)n;
  }
  CHECK_EQ_INT(diff, 0);
  CHECK_EQ_INT(t.bos_id, 1);
  CHECK_EQ_INT(t.eos_id, 2);
  mdi_tokenizer_free(&t);
  mdi_h5_close(f);
}

int main(void) {
  char dir[4096], tok_path[4200], gguf[4200], out[4200];
  convert_test_workdir("convert_gguf", dir, sizeof dir);
  mdi_test_source_path("models/tok512.bin", tok_path, sizeof tok_path);
  size_t tok_size;
  unsigned char *tok = convert_test_slurp(tok_path, &tok_size);
  if (!tok) return 1;
  static struct model m;
  make_model(&m);
  static const char *const kinds[] = {"separate", "absent", "copy"};
  for (int ok = OUT_SEPARATE; ok <= OUT_COPY; ok++) {
    snprintf(gguf, sizeof gguf, "%s/f16_%s.gguf", dir, kinds[ok]);
    snprintf(out, sizeof out, "%s/f16_%s.h5", dir, kinds[ok]);
    printf("output.weight %s\n", kinds[ok]);
    write_gguf(gguf, &m, (enum output_kind)ok, tok, tok_size);
    char *argv[] = {NULL, "gguf", gguf, out, NULL};
    CHECK_EQ_INT(convert_test_run(argv), 0);
    check_converted(out, &m, (enum output_kind)ok, tok);
  }
  /* the same bits as BF16 matrices: widened exactly as the upper half of a float */
  mat_type = 30;
  snprintf(gguf, sizeof gguf, "%s/bf16.gguf", dir);
  snprintf(out, sizeof out, "%s/bf16.h5", dir);
  printf("BF16 matrices\n");
  write_gguf(gguf, &m, OUT_SEPARATE, tok, tok_size);
  char *argv[] = {NULL, "gguf", gguf, out, NULL};
  CHECK_EQ_INT(convert_test_run(argv), 0);
  check_converted(out, &m, OUT_SEPARATE, tok);
  free_model(&m);
  free(tok);
  return mdi_test_finish("test_convert_gguf");
}
