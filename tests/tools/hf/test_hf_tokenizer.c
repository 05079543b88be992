/* Converted Hugging Face tokenizers of the test checkpoints:
 *   test_hf_tokenizer GPT2.h5 LLAMA.h5
 *  - GPT-2's (byte-level) and Llama's (SentencePiece-style with byte
 *    fallback) encode/decode round trips on ASCII and non-ASCII text, BOS
 *    handling, byte pieces;
 *  - an hf tokenizer and a byte-bpe one (the kind files written before hf
 *    existed hold) saved and loaded encode the same;
 *  - bad byte-bpe tokenizers are refused.
 * Token ids against Hugging Face's definition are checked by the greedy and
 * encode tests (tests/reference/hf_common.py) and, for real tokenizers, by
 * test_real_tokenizers. */
#include <stdint.h>
#include <unistd.h>

#include "mdi/base/error.h"
#include "mdi/model/sequence.h"
#include "mdi/model/tokenizer.h"
#include "mdi/model/weights.h"
#include "mdi_test.h"

static int load(struct mdi_tokenizer *t, const char *path) {
  struct mdi_h5 *f;
  int rc = mdi_h5_open(&f, path);
  if (rc == MDI_OK) {
    rc = mdi_tokenizer_load(t, f);
    mdi_h5_close(f);
  }
  if (rc != MDI_OK) fprintf(stderr, "%s: %s\n", path, mdi_error());
  return rc;
}

/* Decode ids[from..n) as printed (each piece after its predecessor). */
static size_t decode(const struct mdi_tokenizer *t, const int *ids, int from, int n, char *out, size_t cap) {
  size_t len = 0;
  for (int i = from; i < n; i++) {
    char piece[256];
    size_t k = mdi_tokenizer_decode(t, i > 0 ? ids[i - 1] : -1, ids[i], piece, sizeof piece);
    if (len + k >= cap) return len;
    memcpy(out + len, piece, k);
    len += k;
  }
  out[len] = '\0';
  return len;
}

static const char *const texts[] = {
    "Hello world",
    "it's the best, isn't it? They'd say we'll see",
    "12 birds sang 345 songs at 6:30.",
    "The cat  sat   on the mat.\n\nNext line\tand a tab ",
    "H\xc3\xa9llo w\xc3\xb6rld, na\xc3\xafve caf\xc3\xa9 \xe2\x80\x94 d\xc3\xa9j\xc3\xa0 vu",
    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xc2\xbd x\xc2\xb2 \xc2\xabquotes\xc2\xbb \xf0\x9f\x99\x82!",
};

/* Every text encodes and decodes back to itself. */
static void round_trips(const struct mdi_tokenizer *t, const char *what) {
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
    const char *s = texts[i];
    const size_t len = strlen(s);
    int ids[512], n;
    char out[1024];
    CHECK_EQ_INT(mdi_tokenizer_encode(t, s, len, t->add_bos, 0, ids, &n), MDI_OK);
    CHECK(n > 0 && (size_t)n <= len + 2); /* BOS and the dummy-prefix space at most */
    CHECK_EQ_INT(ids[0] == t->bos_id, t->add_bos);
    decode(t, ids, t->add_bos, n, out, sizeof out);
    if (strcmp(out, s) != 0) {
      fprintf(stderr, "%s: \"%s\" decodes to \"%s\"\n", what, s, out);
      mdi_test_failures++;
    }
  }
}

/* Id of the byte-level piece of byte b. */
static int byte_piece(const struct mdi_tokenizer *t, int b) {
  char s[2];
  const int n = mdi_bpe_byte_char(b, s);
  return mdi_tokenizer_lookup(t, s, n);
}

/* A decoded NUL byte is dropped, whole and token by token: text is a C string. */
static void check_nul_dropped(const struct mdi_tokenizer *t, int x, int nul, int y) {
  const int ids[3] = {x, nul, y};
  char *text = NULL, piece[16];
  size_t n = 0;
  CHECK_EQ_INT(mdi_tokenizer_decode_text(t, ids, 3, 0, &text, &n), MDI_OK);
  CHECK(text && n == 2 && strcmp(text, "xy") == 0);
  free(text);
  CHECK_EQ_INT(mdi_tokenizer_decode(t, x, nul, piece, sizeof piece), 0);
}

static void test_gpt2(const struct mdi_tokenizer *t) {
  CHECK_EQ_INT(t->kind, MDI_TOKENIZER_HF);
  CHECK_EQ_INT(t->add_bos, 0);
  CHECK_EQ_INT(t->vocab_size, 300);
  CHECK_STR(t->pieces[t->eos_id], "<|endoftext|>");
  CHECK_EQ_INT(t->bos_id, t->eos_id);
  CHECK(mdi_is_stop_id(t->stop_ids, t->n_stop, t->eos_id));
  CHECK(t->n_merges == 43);
  for (int b = 0; b < 256; b++) CHECK(byte_piece(t, b) >= 0);
  CHECK(byte_piece(t, '!') == 0); /* GPT-2's ids follow the table: printable bytes first */
  round_trips(t, "gpt2");
  /* no BOS, no dummy prefix: " world" and "world" differ */
  int a[16], b[16], na, nb;
  CHECK_EQ_INT(mdi_tokenizer_encode(t, "world", 5, 0, 0, a, &na), MDI_OK);
  CHECK_EQ_INT(mdi_tokenizer_encode(t, " world", 6, 0, 0, b, &nb), MDI_OK);
  CHECK(na != nb || memcmp(a, b, (size_t)na * sizeof *a) != 0);
  CHECK_EQ_INT(mdi_tokenizer_encode(t, "", 0, 0, 0, a, &na), MDI_OK);
  CHECK_EQ_INT(na, 0);
  CHECK_EQ_INT(mdi_tokenizer_encode(t, "", 0, 1, 0, a, &na), MDI_OK);
  CHECK(na == 1 && a[0] == t->bos_id);
  /* decode: the newline byte's piece is "\xc4\x8a" (U+010A), it prints "\n" */
  char out[16];
  CHECK_EQ_INT(mdi_tokenizer_decode(t, -1, byte_piece(t, '\n'), out, sizeof out), 1);
  CHECK_STR(out, "\n");
  CHECK_EQ_INT(mdi_tokenizer_decode(t, -1, byte_piece(t, 0x01), out, sizeof out), 1); /* the byte as it is */
  CHECK_EQ_INT(mdi_tokenizer_decode(t, -1, byte_piece(t, 0xC3), out, sizeof out), 1); /* half a character */
  CHECK_EQ_INT(mdi_tokenizer_decode(t, -1, t->eos_id, out, sizeof out), 0);          /* special: nothing */
  check_nul_dropped(t, byte_piece(t, 'x'), byte_piece(t, 0), byte_piece(t, 'y'));
  CHECK(mdi_tokenizer_encode(t, "\xff", 1, 0, 0, a, &na) == MDI_ERR);                /* invalid UTF-8 */
}

static void test_llama(const struct mdi_tokenizer *t) {
  CHECK_EQ_INT(t->kind, MDI_TOKENIZER_HF);
  CHECK_EQ_INT(t->add_bos, 1);
  CHECK_EQ_INT(t->bos_id, 1);
  CHECK_EQ_INT(t->eos_id, 2);
  CHECK(t->n_stop == 1 && t->stop_ids[0] == 2);
  for (int b = 0; b < 256; b++) CHECK_EQ_INT(t->byte_ids[b], 3 + b);
  round_trips(t, "llama");
  /* "\n" and CJK are not pieces: they fall back to bytes */
  int ids[32], n;
  CHECK_EQ_INT(mdi_tokenizer_encode(t, "a\nb", 3, 1, 0, ids, &n), MDI_OK);
  int has_newline = 0;
  for (int i = 0; i < n; i++) has_newline |= ids[i] == 3 + '\n';
  CHECK(has_newline);
  check_nul_dropped(t, 3 + 'x', 3, 3 + 'y'); /* <0x78> <0x00> <0x79> */
}

/* A tokenizer saved and loaded again: same kind, merges and encodings. */
static void test_save_load(const struct mdi_tokenizer *t) {
  char path[512];
  const char *dir = getenv("MDI_BINARY_DIR");
  snprintf(path, sizeof path, "%s/test_hf_tokenizer_%ld.h5", dir ? dir : "/tmp", (long)getpid());
  struct mdi_h5w *w;
  CHECK_EQ_INT(mdi_h5w_create(&w, path), MDI_OK);
  CHECK_EQ_INT(mdi_tokenizer_save(t, w), MDI_OK);
  CHECK_EQ_INT(mdi_h5w_close(w), MDI_OK);
  struct mdi_tokenizer u;
  int rc = load(&u, path);
  remove(path);
  CHECK_EQ_INT(rc, MDI_OK);
  if (rc != MDI_OK) return;
  CHECK_EQ_INT(u.kind, t->kind);
  CHECK_EQ_INT(u.add_bos, t->add_bos);
  CHECK_EQ_INT(u.n_merges, t->n_merges);
  CHECK(memcmp(u.merges, t->merges, (size_t)t->n_merges * 2 * sizeof *t->merges) == 0);
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
    int a[512], b[512], na, nb;
    CHECK_EQ_INT(mdi_tokenizer_encode(t, texts[i], strlen(texts[i]), 0, 0, a, &na), MDI_OK);
    CHECK_EQ_INT(mdi_tokenizer_encode(&u, texts[i], strlen(texts[i]), 0, 0, b, &nb), MDI_OK);
    CHECK(na == nb && memcmp(a, b, (size_t)na * sizeof *a) == 0);
  }
  mdi_tokenizer_free(&u);
}

/* Merges that do not make a piece, and vocabularies without the 256 bytes,
 * are refused with a message. */
static void test_bad_byte_bpe(void) {
  /* pieces: the 256 bytes in GPT-2's spelling, then "ab" */
  static uint8_t bytes[1024];
  int64_t off[258];
  float scores[257] = {0};
  int64_t at = 0;
  off[0] = 0;
  for (int b = 0; b < 256; b++) {
    char s[2];
    int n = mdi_bpe_byte_char(b, s);
    memcpy(bytes + at, s, (size_t)n);
    off[b + 1] = at += n;
  }
  memcpy(bytes + at, "ab", 2);
  off[257] = at + 2;
  const int stop[1] = {0};
  struct mdi_tokenizer t;
  CHECK_EQ_INT(mdi_tokenizer_init(&t, 257, scores, bytes, off, 0, 0, stop, 1, "test"), MDI_OK);
  const int32_t good[2] = {'a', 'b'}, bad[2] = {'b', 'a'}, outside[2] = {'a', 999};
  CHECK_EQ_INT(mdi_tokenizer_set_byte_bpe(&t, bad, 1, "test"), MDI_ERR);
  CHECK(strstr(mdi_error(), "merge 0 joins pieces") != NULL);
  CHECK_EQ_INT(mdi_tokenizer_set_byte_bpe(&t, outside, 1, "test"), MDI_ERR);
  CHECK(strstr(mdi_error(), "outside the vocabulary") != NULL);
  CHECK_EQ_INT(t.kind, MDI_TOKENIZER_SENTENCEPIECE); /* unchanged by the failures */
  CHECK_EQ_INT(mdi_tokenizer_set_byte_bpe(&t, good, 1, "test"), MDI_OK);
  int ids[8], n;
  CHECK_EQ_INT(mdi_tokenizer_encode(&t, "abab", 4, 0, 0, ids, &n), MDI_OK);
  CHECK(n == 2 && ids[0] == 256 && ids[1] == 256);
  /* GPT-2's pattern makes "ab" and " ab" pre-tokens; " " + "ab" has no merge */
  CHECK_EQ_INT(mdi_tokenizer_encode(&t, "ab ab", 5, 0, 0, ids, &n), MDI_OK);
  CHECK(n == 3 && ids[0] == 256 && ids[1] == ' ' && ids[2] == 256);
  test_save_load(&t); /* a byte-bpe file stays one */
  mdi_tokenizer_free(&t);
  /* without the byte 0xFF's piece */
  CHECK_EQ_INT(mdi_tokenizer_init(&t, 255, scores, bytes, off, 0, 0, stop, 1, "test"), MDI_OK);
  CHECK_EQ_INT(mdi_tokenizer_set_byte_bpe(&t, good, 0, "test"), MDI_ERR);
  CHECK(strstr(mdi_error(), "no piece for byte 0xFF") != NULL);
  mdi_tokenizer_free(&t);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: test_hf_tokenizer GPT2.h5 LLAMA.h5\n");
    return 2;
  }
  test_bad_byte_bpe();
  struct mdi_tokenizer gpt2, llama;
  if (load(&gpt2, argv[1]) != MDI_OK || load(&llama, argv[2]) != MDI_OK) return 1;
  test_gpt2(&gpt2);
  test_llama(&llama);
  test_save_load(&gpt2);
  test_save_load(&llama);
  mdi_tokenizer_free(&gpt2);
  mdi_tokenizer_free(&llama);
  return mdi_test_finish("test_hf_tokenizer");
}
