/* Tokenizer tests on the real tok512 vocabulary (models/tok512.bin):
 * encoding as llama2.c's run.c, decoding, byte fallback, UTF-8 checks, and
 * the /tokenizer group of the HDF5 model file with its validation. */
#include <stdint.h>
#include <unistd.h>

#include "mdi/base/error.h"
#include "mdi/base/utf8.h"
#include "mdi/model/sequence.h"
#include "mdi/model/tokenizer.h"
#include "mdi/model/weights.h"
#include "mdi_test.h"

#define CHECK_HAS(haystack, needle)                                                         \
  do {                                                                                      \
    const char *_h = (haystack), *_n = (needle);                                            \
    if (!strstr(_h, _n)) {                                                                  \
      fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__, _h, _n); \
      mdi_test_failures++;                                                                  \
    }                                                                                       \
  } while (0)

/* llama2.c's tokenizer.bin as raw arrays (the layout mdi_tokenizer_init takes). */
struct raw_vocab {
  int vocab, max_token_length;
  float scores[1024];     /* [vocab] */
  int64_t offsets[1025];  /* [vocab+1] */
  uint8_t bytes[65536];   /* [offsets[vocab]] */
};

/* tokenizer.bin: int32 max_token_length, then per token float32 score,
 * int32 len, len bytes; the vocabulary size is what the file holds. */
static int read_tokenizer_bin(const char *path, struct raw_vocab *r) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  int ok = fread(&r->max_token_length, 4, 1, f) == 1;
  r->vocab = 0;
  r->offsets[0] = 0;
  float score;
  int32_t len;
  while (ok && r->vocab < 1024 && fread(&score, 4, 1, f) == 1) {
    int64_t at = r->offsets[r->vocab];
    ok = fread(&len, 4, 1, f) == 1 && len >= 0 && at + len <= (int64_t)sizeof r->bytes &&
         fread(r->bytes + at, 1, (size_t)len, f) == (size_t)len;
    r->scores[r->vocab] = score;
    r->offsets[++r->vocab] = at + len;
  }
  fclose(f);
  return ok ? 0 : -1;
}

static struct raw_vocab raw; /* tok512 */
static const int tok512_stops[2] = {1, 2};

static int init_tok512(struct mdi_tokenizer *t) {
  return mdi_tokenizer_init(t, raw.vocab, raw.scores, raw.bytes, raw.offsets, 1, 2, tok512_stops,
                            2, "tok512.bin");
}

static int encode_str(const struct mdi_tokenizer *t, const char *s, int *ids, int *n) {
  return mdi_tokenizer_encode(t, s, strlen(s), 1, 0, ids, n);
}

static void check_ids(const int *got, int n_got, const int *want, int n_want, const char *text) {
  int same = n_got == n_want;
  for (int i = 0; same && i < n_got; i++) same = got[i] == want[i];
  if (!same) {
    fprintf(stderr, "encoding of \"%s\" differs:", text);
    for (int i = 0; i < n_got; i++) fprintf(stderr, " %d", got[i]);
    fprintf(stderr, "\n");
    mdi_test_failures++;
  }
}

/* Concatenated decode of ids[1..n) following ids[0] (BOS), as printed. */
static void decode_all(const struct mdi_tokenizer *t, const int *ids, int n, char *out,
                       size_t cap) {
  size_t len = 0;
  out[0] = '\0';
  for (int i = 1; i < n; i++) {
    char piece[64];
    size_t k = mdi_tokenizer_decode(t, ids[i - 1], ids[i], piece, sizeof piece);
    CHECK(len + k < cap);
    if (len + k >= cap) return;
    memcpy(out + len, piece, k + 1);
    len += k;
  }
}

static void test_init(const struct mdi_tokenizer *t) {
  CHECK_EQ_INT(t->vocab_size, 512);
  CHECK_EQ_INT(t->max_token_length, 7);
  CHECK_STR(t->pieces[1], "\n<s>\n");
  CHECK_STR(t->pieces[403], " Once");
  CHECK_STR(t->pieces[317], " Lily");
  CHECK_EQ_INT(t->piece_lens[376], 7);
  CHECK_NEAR(t->scores[260], -1.0, 0);
  for (int b = 0; b < 256; b++) CHECK_EQ_INT(t->byte_ids[b], b + 3);
  for (int i = 0; i < t->vocab_size; i++) /* tok512's pieces are distinct: each finds itself */
    CHECK_EQ_INT(mdi_tokenizer_lookup(t, t->pieces[i], t->piece_lens[i]), i);
  CHECK_EQ_INT(mdi_tokenizer_lookup(t, "no such piece", 13), -1);
  CHECK(mdi_is_stop_id(t->stop_ids, t->n_stop, 1));
  CHECK(mdi_is_stop_id(t->stop_ids, t->n_stop, 2));
  CHECK(!mdi_is_stop_id(t->stop_ids, t->n_stop, 0));
  CHECK(!mdi_is_stop_id(t->stop_ids, t->n_stop, 403));
}

static void test_encode_reference(const struct mdi_tokenizer *t) {
  int ids[64], n;
  const int once[] = {1, 403, 407, 261, 378};
  CHECK_EQ_INT(encode_str(t, "Once upon a time", ids, &n), MDI_OK);
  check_ids(ids, n, once, 5, "Once upon a time");

  const int once_eos[] = {1, 403, 407, 261, 378, 2};
  CHECK_EQ_INT(mdi_tokenizer_encode(t, "Once upon a time", 16, 1, 1, ids, &n), MDI_OK);
  check_ids(ids, n, once_eos, 6, "Once upon a time (+EOS)");

  CHECK_EQ_INT(mdi_tokenizer_encode(t, "Once upon a time", 16, 0, 0, ids, &n), MDI_OK);
  check_ids(ids, n, once + 1, 4, "Once upon a time (no BOS)");

  /* empty text: no dummy prefix */
  const int bos[] = {1}, bos_eos[] = {1, 2};
  CHECK_EQ_INT(mdi_tokenizer_encode(t, "", 0, 1, 0, ids, &n), MDI_OK);
  check_ids(ids, n, bos, 1, "");
  CHECK_EQ_INT(mdi_tokenizer_encode(t, "", 0, 1, 1, ids, &n), MDI_OK);
  check_ids(ids, n, bos_eos, 2, "(+EOS)");
  CHECK_EQ_INT(mdi_tokenizer_encode(t, "", 0, 0, 0, ids, &n), MDI_OK);
  CHECK_EQ_INT(n, 0);

  /* a single space: the dummy prefix and the text's space merge only if
   * "  " is a piece; tok512 has none */
  const int space[] = {1, 410, 410};
  CHECK_EQ_INT(encode_str(t, " ", ids, &n), MDI_OK);
  check_ids(ids, n, space, 3, " ");
}

static void test_round_trip(const struct mdi_tokenizer *t) {
  static const char *texts[] = {
      "Once upon a time, there was a little girl named Lily.",
      "She said, \"I'm sorry, mom. I didn't know what to do.\"\nHer mom said, \"Don't worry.\"",
      "Tim & Sue ran 42 miles!",
      "  two leading spaces and a trailing one ",
      "tabs\tand\nnew\r\nlines",
      "x",
      "Zzyzx qwpf {braces} [brackets] ~tilde~ `back` |pipe| 100%",
  };
  for (size_t k = 0; k < sizeof texts / sizeof *texts; k++) {
    const char *s = texts[k];
    int ids[512], n;
    char out[1024];
    CHECK_EQ_INT(encode_str(t, s, ids, &n), MDI_OK);
    CHECK(n >= 2 && ids[0] == 1);
    CHECK((size_t)n <= strlen(s) + 2);
    decode_all(t, ids, n, out, sizeof out);
    CHECK_STR(out, s);
  }
}

static void test_byte_fallback(const struct mdi_tokenizer *t) {
  int ids[64], n;
  char out[256];
  /* multi-byte code points that are pieces: é (C3 A9) is 485, “ (E2 80 9C)
   * is 465 */
  const int e_acute[] = {1, 410, 485}, quote[] = {1, 410, 465, 403};
  CHECK_EQ_INT(encode_str(t, "\xC3\xA9", ids, &n), MDI_OK);
  check_ids(ids, n, e_acute, 3, "e-acute");
  CHECK_EQ_INT(encode_str(t, "\xE2\x80\x9C Once", ids, &n), MDI_OK);
  check_ids(ids, n, quote, 4, "quote Once");
  decode_all(t, ids, n, out, sizeof out);
  CHECK_STR(out, "\xE2\x80\x9C Once");

  /* ü = C3 BC is no piece, so two byte pieces follow the dummy-prefix
   * space (id 410) */
  const int u_uml[] = {1, 410, 0xC3 + 3, 0xBC + 3};
  CHECK_EQ_INT(encode_str(t, "\xC3\xBC", ids, &n), MDI_OK);
  check_ids(ids, n, u_uml, 4, "u-umlaut");
  CHECK_EQ_INT(t->byte_ids[0xC3], 0xC3 + 3);
  CHECK_STR(t->pieces[ids[2]], "<0xC3>");
  decode_all(t, ids, n, out, sizeof out);
  CHECK_STR(out, "\xC3\xBC");

  /* 日本 = E6 97 A5, E6 9C AC */
  const int nihon[] = {1, 410, 0xE6 + 3, 0x97 + 3, 0xA5 + 3, 0xE6 + 3, 0x9C + 3, 0xAC + 3};
  CHECK_EQ_INT(encode_str(t, "\xE6\x97\xA5\xE6\x9C\xAC", ids, &n), MDI_OK);
  check_ids(ids, n, nihon, 8, "nihon");
  decode_all(t, ids, n, out, sizeof out);
  CHECK_STR(out, "\xE6\x97\xA5\xE6\x9C\xAC");

  /* mixed ASCII, 2-, 3- and 4-byte characters (U+1F600 = F0 9F 98 80) */
  static const char *mixed[] = {"caf\xC3\xA9 \xC3\xBC and \xE6\x97\xA5\xE6\x9C\xAC, ok",
                                "smile \xF0\x9F\x98\x80!", "\xC2\xA9 2024 \xE2\x82\xAC 5"};
  for (size_t k = 0; k < sizeof mixed / sizeof *mixed; k++) {
    CHECK_EQ_INT(encode_str(t, mixed[k], ids, &n), MDI_OK);
    decode_all(t, ids, n, out, sizeof out);
    CHECK_STR(out, mixed[k]);
  }
}

static void test_decode(const struct mdi_tokenizer *t) {
  char out[16];
  CHECK_EQ_INT(mdi_tokenizer_decode(t, 1, 403, out, sizeof out), 4);
  CHECK_STR(out, "Once"); /* leading space dropped after BOS */
  mdi_tokenizer_decode(t, 403, 407, out, sizeof out);
  CHECK_STR(out, " upon");
  mdi_tokenizer_decode(t, 432, 13, out, sizeof out); /* <0x0A> */
  CHECK_STR(out, "\n");
  mdi_tokenizer_decode(t, 5, 0x09 + 3, out, sizeof out);
  CHECK_STR(out, "\t");
  /* control bytes and NUL print nothing */
  CHECK_EQ_INT(mdi_tokenizer_decode(t, 5, 3, out, sizeof out), 0);
  CHECK_STR(out, "");
  CHECK_EQ_INT(mdi_tokenizer_decode(t, 5, 0x01 + 3, out, sizeof out), 0);
  CHECK_EQ_INT(mdi_tokenizer_decode(t, 5, 0x7F + 3, out, sizeof out), 0);
  /* " " right after BOS becomes empty */
  CHECK_EQ_INT(mdi_tokenizer_decode(t, 1, 410, out, sizeof out), 0);
  mdi_tokenizer_decode(t, 2, 410, out, sizeof out);
  CHECK_STR(out, " ");
  /* special pieces print as stored */
  mdi_tokenizer_decode(t, 5, 2, out, sizeof out);
  CHECK_STR(out, "\n</s>\n");
  mdi_tokenizer_decode(t, 5, 0, out, sizeof out);
  CHECK_STR(out, "<unk>");
}

static void expect_encode_error(const struct mdi_tokenizer *t, const char *s, size_t len,
                                const char *offset_text) {
  int ids[64], n = -1;
  mdi_error_clear();
  CHECK_EQ_INT(mdi_tokenizer_encode(t, s, len, 1, 0, ids, &n), MDI_ERR);
  CHECK_EQ_INT(n, 0);
  CHECK_HAS(mdi_error(), "not valid UTF-8");
  CHECK_HAS(mdi_error(), offset_text);
}

static void test_invalid_utf8(const struct mdi_tokenizer *t) {
  expect_encode_error(t, "ab\xFF", 3, "byte offset 2");
  expect_encode_error(t, "\xC3", 1, "byte offset 0");              /* truncated */
  expect_encode_error(t, "ok \xC3 x", 6, "byte offset 3");         /* missing continuation */
  expect_encode_error(t, "\xC0\xAF", 2, "byte offset 0");          /* overlong '/' */
  expect_encode_error(t, "\xE0\x80\xAF", 3, "byte offset 0");      /* overlong */
  expect_encode_error(t, "a\xED\xA0\x80", 4, "byte offset 1");     /* surrogate U+D800 */
  expect_encode_error(t, "\xF4\x90\x80\x80", 4, "byte offset 0");  /* above U+10FFFF */
  expect_encode_error(t, "x\x80", 2, "byte offset 1");             /* lone continuation */
  expect_encode_error(t, "ab\0cd", 5, "byte offset 2");
  CHECK_HAS(mdi_error(), "NUL");

  CHECK(mdi_utf8_valid("", 0));
  CHECK(mdi_utf8_valid("plain ascii", 11));
  CHECK(mdi_utf8_valid("\xC3\xA9\xE6\x97\xA5\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF\xED\x9F\xBF", 16));
  CHECK(!mdi_utf8_valid("\xED\xBF\xBF", 3));
  CHECK(!mdi_utf8_valid("\xF8\x88\x80\x80\x80", 5));
  CHECK(!mdi_utf8_valid("a\0", 2));
  /* only len bytes are looked at */
  CHECK(mdi_utf8_valid("ab\xFF", 2));
}

/* ---- HDF5 ---------------------------------------------------------------- */

static void temp_path(char *buf, size_t n, const char *tag) {
  const char *dir = getenv("MDI_BINARY_DIR");
  snprintf(buf, n, "%s/test_tokenizer_%s_%ld.h5", dir ? dir : "/tmp", tag, (long)getpid());
}

static void test_save_load(const struct mdi_tokenizer *t) {
  char path[512];
  temp_path(path, sizeof path, "roundtrip");
  struct mdi_h5w *w;
  CHECK_EQ_INT(mdi_h5w_create(&w, path), MDI_OK);
  CHECK_EQ_INT(mdi_tokenizer_save(t, w), MDI_OK);
  CHECK_EQ_INT(mdi_h5w_close(w), MDI_OK);

  struct mdi_h5 *f;
  struct mdi_tokenizer u;
  CHECK_EQ_INT(mdi_h5_open(&f, path), MDI_OK);
  int rc = mdi_tokenizer_load(&u, f);
  CHECK_EQ_INT(rc, MDI_OK);
  if (rc != MDI_OK) fprintf(stderr, "load: %s\n", mdi_error());
  mdi_h5_close(f);
  remove(path);
  if (rc != MDI_OK) return;
  CHECK_EQ_INT(u.vocab_size, t->vocab_size);
  int same = 1;
  for (int i = 0; i < t->vocab_size; i++) {
    same &= u.piece_lens[i] == t->piece_lens[i];
    same &= memcmp(u.pieces[i], t->pieces[i], (size_t)t->piece_lens[i] + 1) == 0;
    same &= memcmp(&u.scores[i], &t->scores[i], sizeof(float)) == 0;
    same &= mdi_tokenizer_lookup(&u, t->pieces[i], t->piece_lens[i]) == i;
  }
  CHECK(same);
  CHECK(memcmp(u.byte_ids, t->byte_ids, sizeof u.byte_ids) == 0);
  CHECK_EQ_INT(u.bos_id, t->bos_id);
  CHECK_EQ_INT(u.eos_id, t->eos_id);
  CHECK_EQ_INT(u.n_stop, t->n_stop);
  for (int i = 0; i < t->n_stop; i++) CHECK_EQ_INT(u.stop_ids[i], t->stop_ids[i]);
  CHECK_EQ_INT(u.max_token_length, t->max_token_length);
  int ids[32], n; /* len + 3 */
  const int once[] = {1, 403, 407, 261, 378};
  CHECK_EQ_INT(encode_str(&u, "Once upon a time", ids, &n), MDI_OK);
  check_ids(ids, n, once, 5, "Once upon a time (loaded)");
  mdi_tokenizer_free(&u);
  mdi_tokenizer_free(&u); /* a freed tokenizer is zeroed, freeing again is harmless */
}

/* A /tokenizer group written field by field, so single fields can be broken. */
struct group_spec {
  int vocab;
  const float *scores;
  const int64_t *offsets;
  int64_t n_offsets;
  const uint8_t *bytes;
  int64_t n_bytes;
  const int32_t *stops;
  int64_t n_stops;
  int64_t bos_id, eos_id, max_token_length;
  int scores_as_int; /* write scores with the wrong dtype */
};

static void spec_from_raw(struct group_spec *g, const int32_t *stops) {
  *g = (struct group_spec){raw.vocab,      raw.scores, raw.offsets, raw.vocab + 1, raw.bytes,
                           raw.offsets[raw.vocab], stops, 2, 1, 2, raw.max_token_length, 0};
}

/* Write g to a fresh file and load it; returns the load result, with the
 * error message left in mdi_error(). */
static int load_spec(const struct group_spec *g, char *path, size_t n) {
  temp_path(path, n, "bad");
  struct mdi_h5w *w;
  if (mdi_h5w_create(&w, path) != MDI_OK) return 99;
  int64_t v = g->vocab;
  int32_t iscores[1024] = {0};
  int wrc = (g->scores_as_int ? mdi_h5w_write(w, "tokenizer/scores", MDI_I32, 1, &v, iscores)
                              : mdi_h5w_write(w, "tokenizer/scores", MDI_F32, 1, &v, g->scores)) ||
            mdi_h5w_write(w, "tokenizer/piece_offsets", MDI_I64, 1, &g->n_offsets, g->offsets) ||
            mdi_h5w_write(w, "tokenizer/piece_bytes", MDI_U8, 1, &g->n_bytes, g->bytes) ||
            mdi_h5w_write(w, "tokenizer/stop_ids", MDI_I32, 1, &g->n_stops, g->stops) ||
            mdi_h5w_attr_int(w, "/tokenizer", "bos_id", g->bos_id) ||
            mdi_h5w_attr_int(w, "/tokenizer", "eos_id", g->eos_id) ||
            mdi_h5w_attr_int(w, "/tokenizer", "max_token_length", g->max_token_length);
  if (mdi_h5w_close(w) != MDI_OK || wrc) return 99;
  struct mdi_h5 *f;
  if (mdi_h5_open(&f, path) != MDI_OK) return 99;
  struct mdi_tokenizer t;
  mdi_error_clear();
  int rc = mdi_tokenizer_load(&t, f);
  mdi_h5_close(f);
  remove(path);
  if (rc == MDI_OK) mdi_tokenizer_free(&t);
  return rc;
}

static void expect_load_error(const struct group_spec *g, const char *what) {
  char path[512];
  CHECK_EQ_INT(load_spec(g, path, sizeof path), MDI_ERR);
  CHECK_HAS(mdi_error(), path);
  CHECK_HAS(mdi_error(), what);
}

static void test_load_validation(void) {
  static int64_t off[1025];
  static uint8_t bytes[65536];
  int32_t stops[17] = {1, 2};
  struct group_spec g;
  char path[512];

  spec_from_raw(&g, stops);
  CHECK_EQ_INT(load_spec(&g, path, sizeof path), MDI_OK); /* the unmodified group loads */

  memcpy(off, raw.offsets, sizeof off);
  off[100] = raw.offsets[raw.vocab] + 50;
  g.offsets = off;
  expect_load_error(&g, "piece_offsets[100]");

  memcpy(off, raw.offsets, sizeof off);
  off[100] = off[99] - 1; /* in range but decreasing */
  expect_load_error(&g, "piece_offsets");

  spec_from_raw(&g, stops);
  g.n_bytes--; /* offsets run past the bytes */
  expect_load_error(&g, "piece_bytes");

  spec_from_raw(&g, stops);
  g.n_offsets = raw.vocab; /* does not match scores */
  expect_load_error(&g, "piece_offsets");

  spec_from_raw(&g, stops);
  memcpy(bytes, raw.bytes, sizeof bytes);
  bytes[raw.offsets[300] + 1] = 0;
  g.bytes = bytes;
  expect_load_error(&g, "NUL");

  spec_from_raw(&g, stops);
  g.bos_id = 512;
  expect_load_error(&g, "bos_id");
  spec_from_raw(&g, stops);
  g.eos_id = -1;
  expect_load_error(&g, "eos_id");
  spec_from_raw(&g, stops);
  g.max_token_length = 3;
  expect_load_error(&g, "max_token_length");

  spec_from_raw(&g, stops);
  stops[1] = 9999;
  expect_load_error(&g, "stop_ids");
  stops[1] = 2;
  g.n_stops = 17;
  expect_load_error(&g, "stop_ids");

  spec_from_raw(&g, stops);
  g.scores_as_int = 1;
  expect_load_error(&g, "tokenizer/scores");

  /* a model file without the group */
  temp_path(path, sizeof path, "empty");
  struct mdi_h5w *w;
  struct mdi_h5 *f;
  struct mdi_tokenizer t;
  CHECK_EQ_INT(mdi_h5w_create(&w, path), MDI_OK);
  CHECK_EQ_INT(mdi_h5w_close(w), MDI_OK);
  CHECK_EQ_INT(mdi_h5_open(&f, path), MDI_OK);
  CHECK_EQ_INT(mdi_tokenizer_load(&t, f), MDI_ERR);
  CHECK_HAS(mdi_error(), path);
  CHECK_HAS(mdi_error(), "/tokenizer");
  mdi_h5_close(f);
  remove(path);
}

static void test_init_validation(void) {
  struct mdi_tokenizer t;
  const float scores[3] = {0, 0, 0};
  const uint8_t bytes[] = "abcdef";
  const int64_t good[4] = {0, 1, 3, 6}, bad_start[4] = {1, 1, 3, 6}, bad_order[4] = {0, 3, 2, 6};
  const int stops[MDI_MAX_STOP_IDS + 1] = {0};
  CHECK_EQ_INT(mdi_tokenizer_init(&t, 3, scores, bytes, good, 0, 1, stops, 1, "mini"), MDI_OK);
  CHECK_EQ_INT(t.max_token_length, 3);
  CHECK_STR(t.pieces[2], "def");
  CHECK_EQ_INT(t.byte_ids['a'], -1); /* no <0xNN> pieces at all */
  int ids[16], n;
  /* without byte pieces a character outside the vocabulary cannot be encoded */
  CHECK_EQ_INT(mdi_tokenizer_encode(&t, "z", 1, 1, 0, ids, &n), MDI_ERR);
  CHECK_HAS(mdi_error(), "<0x20>");
  mdi_tokenizer_free(&t);

  CHECK_EQ_INT(mdi_tokenizer_init(&t, 3, scores, bytes, bad_start, 0, 1, stops, 1, "mini"),
               MDI_ERR);
  CHECK_HAS(mdi_error(), "mini");
  CHECK_HAS(mdi_error(), "piece_offsets[0]");
  CHECK_EQ_INT(mdi_tokenizer_init(&t, 3, scores, bytes, bad_order, 0, 1, stops, 1, "mini"),
               MDI_ERR);
  CHECK_HAS(mdi_error(), "piece_offsets");
  CHECK_EQ_INT(mdi_tokenizer_init(&t, 3, scores, bytes, good, 3, 1, stops, 1, "mini"), MDI_ERR);
  CHECK_HAS(mdi_error(), "bos_id");
  CHECK_EQ_INT(mdi_tokenizer_init(&t, 3, scores, bytes, good, 0, 1, stops, MDI_MAX_STOP_IDS + 1,
                                   "mini"), MDI_ERR);
  CHECK_HAS(mdi_error(), "stop_ids");
  CHECK_EQ_INT(mdi_tokenizer_init(&t, 0, scores, bytes, good, 0, 0, stops, 0, "mini"), MDI_ERR);
  CHECK_HAS(mdi_error(), "vocab_size");

  static uint8_t long_piece[5000];
  memset(long_piece, 'a', sizeof long_piece);
  const int64_t long_off[2] = {0, 4097};
  const int no_stop[1] = {0};
  CHECK_EQ_INT(mdi_tokenizer_init(&t, 1, scores, long_piece, long_off, 0, 0, no_stop, 0, "long"),
               MDI_ERR);
  CHECK_HAS(mdi_error(), "4096");
  const int64_t ok_off[2] = {0, 4096};
  CHECK_EQ_INT(mdi_tokenizer_init(&t, 1, scores, long_piece, ok_off, 0, 0, no_stop, 0, "long"),
               MDI_OK);
  mdi_tokenizer_free(&t);
}

int main(void) {
  char path[512];
  mdi_test_source_path("models/tok512.bin", path, sizeof path);
  if (read_tokenizer_bin(path, &raw) != 0) {
    fprintf(stderr, "cannot read %s\n", path);
    return 1;
  }
  struct mdi_tokenizer t;
  if (init_tok512(&t) != MDI_OK) {
    fprintf(stderr, "init: %s\n", mdi_error());
    return 1;
  }
  test_init(&t);
  test_encode_reference(&t);
  test_round_trip(&t);
  test_byte_fallback(&t);
  test_decode(&t);
  test_invalid_utf8(&t);
  test_save_load(&t);
  test_load_validation();
  test_init_validation();
  mdi_tokenizer_free(&t);
  return mdi_test_finish("test_tokenizer");
}
