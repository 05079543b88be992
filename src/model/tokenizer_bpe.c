/* Byte-level BPE, GPT-2's tokenizer (include/mdi/tokenizer.h, kind
 * "byte-bpe"): the byte-to-unicode table, the pre-tokenizer, the merge
 * table, and encoding and decoding of pieces.
 *
 * A byte-level vocabulary spells every byte as one character: the printable
 * bytes '!'..'~', 0xA1..0xAC and 0xAE..0xFF as themselves, the other 68 as
 * U+0100 + n in byte order (space is U+0120 'Ġ', newline U+010A 'Ċ').  The
 * pieces are stored in that spelling (as in the vocabulary of tokenizer.json),
 * so no piece holds a NUL, and decoding maps each character back to its byte. */
#include "tokenizer_bpe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdi/base/error.h"
#include "mdi/base/utf8.h"

/* ---- the byte-to-unicode table --------------------------------------------- */

static int byte_spells_itself(int b) {
  return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

/* Code point spelling byte b. */
static int byte_code_point(int b) {
  if (byte_spells_itself(b)) return b;
  int n = 0; /* bytes before b that do not spell themselves */
  for (int c = 0; c < b; c++) n += !byte_spells_itself(c);
  return 256 + n;
}

int mdi_bpe_byte_char(int b, char buf[2]) {
  MDI_ASSERT(b >= 0 && b < 256);
  const int cp = byte_code_point(b);
  if (cp < 0x80) {
    buf[0] = (char)cp;
    return 1;
  }
  buf[0] = (char)(0xC0 | (cp >> 6)); /* every code point of the table is below U+0800 */
  buf[1] = (char)(0x80 | (cp & 0x3F));
  return 2;
}

/* The byte a code point spells, or -1 when it is not in the table. */
static int code_point_byte(int cp) {
  static int table[324]; /* code points 0..323: the table's range */
  static int ready = 0;
  if (!ready) {
    for (int i = 0; i < 324; i++) table[i] = -1;
    for (int b = 0; b < 256; b++) table[byte_code_point(b)] = b;
    ready = 1; /* idempotent: concurrent first calls write the same values */
  }
  return cp >= 0 && cp < 324 ? table[cp] : -1;
}

/* ---- code points ----------------------------------------------------------- */

/* The code point at s[0..len) of valid UTF-8; *n is its byte length. */
static int next_code_point(const char *s, size_t len, int *n) {
  uint32_t cp;
  *n = mdi_utf8_decode(s, len, &cp);
  MDI_ASSERT(*n > 0); /* callers pass text already checked */
  return (int)cp;
}

/* What the pattern's classes see: \s, \p{L}, \p{N}, or none of them. */
enum cp_class { CP_LETTER = 0, CP_SPACE, CP_NUMBER, CP_OTHER };

/* Non-letters above ASCII, sorted: White_Space, numbers (Nd, Nl, No), and
 * "other" (punctuation, symbols, marks, controls, format characters).
 * Latin-1 is exact; beyond it the common blocks are covered (general
 * punctuation, currency, arrows, mathematical and technical symbols,
 * shapes, dingbats, CJK punctuation, full-width forms, emoji, the digits of
 * the major scripts, combining diacritics) and everything else counts as a
 * letter, which misplaces e.g. the vowel signs of Indic scripts. */
static const struct cp_range {
  int lo, hi;
  enum cp_class cls;
} non_letters[] = {
    {0x80, 0x84, CP_OTHER},       {0x85, 0x85, CP_SPACE},       {0x86, 0x9F, CP_OTHER},
    {0xA0, 0xA0, CP_SPACE},       {0xA1, 0xA9, CP_OTHER},       {0xAB, 0xB1, CP_OTHER},
    {0xB2, 0xB3, CP_NUMBER},      {0xB4, 0xB4, CP_OTHER},       {0xB6, 0xB8, CP_OTHER},
    {0xB9, 0xB9, CP_NUMBER},      {0xBB, 0xBB, CP_OTHER},       {0xBC, 0xBE, CP_NUMBER},
    {0xBF, 0xBF, CP_OTHER},       {0xD7, 0xD7, CP_OTHER},       {0xF7, 0xF7, CP_OTHER},
    {0x2C2, 0x2C5, CP_OTHER},     {0x2D2, 0x2DF, CP_OTHER},     {0x2E5, 0x2EB, CP_OTHER},
    {0x2ED, 0x2ED, CP_OTHER},     {0x2EF, 0x36F, CP_OTHER},     {0x375, 0x375, CP_OTHER},
    {0x37E, 0x37E, CP_OTHER},     {0x384, 0x385, CP_OTHER},     {0x387, 0x387, CP_OTHER},
    {0x3F6, 0x3F6, CP_OTHER},     {0x482, 0x489, CP_OTHER},     {0x55A, 0x55F, CP_OTHER},
    {0x589, 0x58A, CP_OTHER},     {0x591, 0x5C7, CP_OTHER},     {0x5F3, 0x5F4, CP_OTHER},
    {0x600, 0x61F, CP_OTHER},     {0x64B, 0x65F, CP_OTHER},     {0x660, 0x669, CP_NUMBER},
    {0x66A, 0x66D, CP_OTHER},     {0x670, 0x670, CP_OTHER},     {0x6D4, 0x6D4, CP_OTHER},
    {0x6D6, 0x6E4, CP_OTHER},     {0x6E7, 0x6ED, CP_OTHER},     {0x6F0, 0x6F9, CP_NUMBER},
    {0x6FD, 0x6FE, CP_OTHER},     {0x7C0, 0x7C9, CP_NUMBER},    {0x900, 0x903, CP_OTHER},
    {0x93A, 0x93C, CP_OTHER},     {0x93E, 0x94F, CP_OTHER},     {0x951, 0x957, CP_OTHER},
    {0x962, 0x965, CP_OTHER},     {0x966, 0x96F, CP_NUMBER},    {0x970, 0x970, CP_OTHER},
    {0x9E6, 0x9EF, CP_NUMBER},    {0xA66, 0xA6F, CP_NUMBER},    {0xAE6, 0xAEF, CP_NUMBER},
    {0xB66, 0xB6F, CP_NUMBER},    {0xBE6, 0xBF2, CP_NUMBER},    {0xC66, 0xC6F, CP_NUMBER},
    {0xCE6, 0xCEF, CP_NUMBER},    {0xD66, 0xD6F, CP_NUMBER},    {0xE31, 0xE31, CP_OTHER},
    {0xE34, 0xE3A, CP_OTHER},     {0xE3F, 0xE3F, CP_OTHER},     {0xE47, 0xE4F, CP_OTHER},
    {0xE50, 0xE59, CP_NUMBER},    {0xE5A, 0xE5B, CP_OTHER},     {0xED0, 0xED9, CP_NUMBER},
    {0xF20, 0xF33, CP_NUMBER},    {0x1040, 0x1049, CP_NUMBER},  {0x1680, 0x1680, CP_SPACE},
    {0x16EE, 0x16F0, CP_NUMBER},  {0x17E0, 0x17E9, CP_NUMBER},  {0x1810, 0x1819, CP_NUMBER},
    {0x2000, 0x200A, CP_SPACE},   {0x200B, 0x2027, CP_OTHER},   {0x2028, 0x2029, CP_SPACE},
    {0x202A, 0x202E, CP_OTHER},   {0x202F, 0x202F, CP_SPACE},   {0x2030, 0x205E, CP_OTHER},
    {0x205F, 0x205F, CP_SPACE},   {0x2060, 0x206F, CP_OTHER},   {0x2070, 0x2070, CP_NUMBER},
    {0x2074, 0x2079, CP_NUMBER},  {0x207A, 0x207E, CP_OTHER},   {0x2080, 0x2089, CP_NUMBER},
    {0x208A, 0x208E, CP_OTHER},   {0x20A0, 0x20C0, CP_OTHER},   {0x20D0, 0x20F0, CP_OTHER},
    {0x2100, 0x2101, CP_OTHER},   {0x2103, 0x2106, CP_OTHER},   {0x2108, 0x2109, CP_OTHER},
    {0x2114, 0x2114, CP_OTHER},   {0x2116, 0x2118, CP_OTHER},   {0x211E, 0x2123, CP_OTHER},
    {0x2125, 0x2125, CP_OTHER},   {0x2127, 0x2127, CP_OTHER},   {0x2129, 0x2129, CP_OTHER},
    {0x212E, 0x212E, CP_OTHER},   {0x213A, 0x213B, CP_OTHER},   {0x2140, 0x2144, CP_OTHER},
    {0x214A, 0x214D, CP_OTHER},   {0x214F, 0x214F, CP_OTHER},   {0x2150, 0x2182, CP_NUMBER},
    {0x2185, 0x2189, CP_NUMBER},  {0x218A, 0x218B, CP_OTHER},   {0x2190, 0x245F, CP_OTHER},
    {0x2460, 0x249B, CP_NUMBER},  {0x249C, 0x24E9, CP_OTHER},   {0x24EA, 0x24FF, CP_NUMBER},
    {0x2500, 0x2775, CP_OTHER},   {0x2776, 0x2793, CP_NUMBER},  {0x2794, 0x2BFF, CP_OTHER},
    {0x2E00, 0x2E2E, CP_OTHER},   {0x2E30, 0x2E7F, CP_OTHER},   {0x2E80, 0x2FFF, CP_OTHER},
    {0x3000, 0x3000, CP_SPACE},   {0x3001, 0x3004, CP_OTHER},   {0x3007, 0x3007, CP_NUMBER},
    {0x3008, 0x3020, CP_OTHER},   {0x3021, 0x3029, CP_NUMBER},  {0x302A, 0x3030, CP_OTHER},
    {0x3036, 0x3037, CP_OTHER},   {0x3038, 0x303A, CP_NUMBER},  {0x303D, 0x303F, CP_OTHER},
    {0x3099, 0x309C, CP_OTHER},   {0x30A0, 0x30A0, CP_OTHER},   {0x30FB, 0x30FB, CP_OTHER},
    {0x3190, 0x3191, CP_OTHER},   {0x3192, 0x3195, CP_NUMBER},  {0x3196, 0x319F, CP_OTHER},
    {0x31C0, 0x31E3, CP_OTHER},   {0x3200, 0x321E, CP_OTHER},   {0x3220, 0x3229, CP_NUMBER},
    {0x322A, 0x3247, CP_OTHER},   {0x3248, 0x324F, CP_NUMBER},  {0x3250, 0x3250, CP_OTHER},
    {0x3251, 0x325F, CP_NUMBER},  {0x3260, 0x327F, CP_OTHER},   {0x3280, 0x3289, CP_NUMBER},
    {0x328A, 0x32B0, CP_OTHER},   {0x32B1, 0x32BF, CP_NUMBER},  {0x32C0, 0x33FF, CP_OTHER},
    {0x4DC0, 0x4DFF, CP_OTHER},   {0xFB29, 0xFB29, CP_OTHER},   {0xFD3E, 0xFD3F, CP_OTHER},
    {0xFE00, 0xFE19, CP_OTHER},   {0xFE20, 0xFE6B, CP_OTHER},   {0xFEFF, 0xFEFF, CP_OTHER},
    {0xFF01, 0xFF0F, CP_OTHER},   {0xFF10, 0xFF19, CP_NUMBER},  {0xFF1A, 0xFF20, CP_OTHER},
    {0xFF3B, 0xFF40, CP_OTHER},   {0xFF5B, 0xFF65, CP_OTHER},   {0xFFE0, 0xFFEE, CP_OTHER},
    {0xFFF9, 0xFFFD, CP_OTHER},   {0x1D100, 0x1D1FF, CP_OTHER}, {0x1D7CE, 0x1D7FF, CP_NUMBER},
    {0x1F000, 0x1F0FF, CP_OTHER}, {0x1F100, 0x1F10C, CP_NUMBER}, {0x1F10D, 0x1FAFF, CP_OTHER},
    {0xE0000, 0xE007F, CP_OTHER}, {0xE0100, 0xE01EF, CP_OTHER},
};

static enum cp_class classify(int cp) {
  if (cp < 0x80) {
    if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z')) return CP_LETTER;
    if (cp >= '0' && cp <= '9') return CP_NUMBER;
    if (cp == ' ' || (cp >= '\t' && cp <= '\r')) return CP_SPACE;
    return CP_OTHER;
  }
  size_t lo = 0, hi = sizeof non_letters / sizeof non_letters[0];
  while (lo < hi) { /* the first range ending at or after cp */
    const size_t mid = (lo + hi) / 2;
    if (non_letters[mid].hi < cp)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo < sizeof non_letters / sizeof non_letters[0] && non_letters[lo].lo <= cp) return non_letters[lo].cls;
  return CP_LETTER;
}

/* ---- the pre-tokenizer ------------------------------------------------------- */

/* Class and byte length of the code point at byte offset i (CP_OTHER past the end is never asked). */
static enum cp_class class_at(const char *text, size_t len, size_t i, int *n) {
  return classify(next_code_point(text + i, len - i, n));
}

/* Length of the contraction 's 't 're 've 'm 'll 'd at text[i] (lower case
 * only, as GPT-2's pattern), or 0. */
static size_t contraction(const char *text, size_t len, size_t i) {
  static const char *const tails[] = {"s", "t", "re", "ve", "m", "ll", "d"};
  if (text[i] != '\'') return 0;
  for (size_t k = 0; k < sizeof tails / sizeof tails[0]; k++) {
    const size_t n = strlen(tails[k]);
    if (i + 1 + n <= len && memcmp(text + i + 1, tails[k], n) == 0) return 1 + n;
  }
  return 0;
}

/* End of the run of code points of class cls starting at byte i. */
static size_t run_end(const char *text, size_t len, size_t i, enum cp_class cls) {
  int n;
  while (i < len && class_at(text, len, i, &n) == cls) i += (size_t)n;
  return i;
}

size_t mdi_bpe_pretokenize(const char *text, size_t len, size_t *ends) {
  size_t count = 0, i = 0;
  while (i < len) {
    int n;
    const enum cp_class c = class_at(text, len, i, &n);
    size_t end = i + contraction(text, len, i);
    if (end == i) {
      /* " ?X+" for X = letters, numbers, other: an optional plain space, then the run */
      size_t at = i;
      enum cp_class x = c;
      if (text[i] == ' ' && i + 1 < len) {
        int m;
        const enum cp_class next = class_at(text, len, i + 1, &m);
        if (next != CP_SPACE) at = i + 1, x = next;
      }
      if (x != CP_SPACE) {
        end = run_end(text, len, at, x);
      } else {
        /* "\s+(?!\S)|\s+": a white-space run; before a non-space it leaves its
         * last character to start the next piece (" ?X+" takes a space),
         * unless the run is a single character */
        size_t last = i;           /* start of the run's last character */
        end = i;
        while (end < len && class_at(text, len, end, &n) == CP_SPACE) last = end, end += (size_t)n;
        if (end < len && last > i) end = last;
      }
    }
    ends[count++] = end;
    i = end;
  }
  return count;
}

/* ---- merges ------------------------------------------------------------------ */

static uint32_t pair_hash(int32_t a, int32_t b) {
  uint64_t h = ((uint64_t)(uint32_t)a << 32 | (uint32_t)b) * 0x9E3779B97F4A7C15ull;
  return (uint32_t)(h >> 32);
}

/* The slot of (a, b): its merge, or the empty slot where it would go. */
static struct mdi_bpe_merge *find_slot(struct mdi_bpe_merge *table, uint32_t mask, int32_t a, int32_t b) {
  for (uint32_t i = pair_hash(a, b) & mask;; i = (i + 1) & mask)
    if (table[i].left < 0 || (table[i].left == a && table[i].right == b)) return &table[i];
}

int mdi_tokenizer_set_byte_bpe(struct mdi_tokenizer *t, const int32_t *merges, int n_merges,
                               const char *source) {
  const char *src = source ? source : "tokenizer";
  int byte_ids[256];
  for (int b = 0; b < 256; b++) {
    char s[2];
    const int n = mdi_bpe_byte_char(b, s);
    byte_ids[b] = mdi_tokenizer_lookup(t, s, n);
    if (byte_ids[b] < 0)
      return mdi_fail("%s: byte-level tokenizer has no piece for byte 0x%02X (spelled \"%.*s\")", src, b, n, s);
  }
  if (n_merges < 0 || n_merges > (1 << 26))
    return mdi_fail("%s: %d merges is out of range", src, n_merges);
  uint32_t cap = 16;
  while (cap < 2u * (uint32_t)n_merges) cap *= 2; /* load factor at most 1/2 */
  struct mdi_bpe_merge *table = mdi_malloc((size_t)cap * sizeof *table, "tokenizer merge table");
  int32_t *copy = mdi_malloc((size_t)(n_merges > 0 ? n_merges : 1) * 2 * sizeof *copy, "tokenizer merges");
  char *buf = mdi_malloc(2 * (size_t)t->max_token_length + 1, "tokenizer merge buffer");
  if (!table || !copy || !buf) goto fail;
  for (uint32_t i = 0; i < cap; i++) table[i].left = -1;
  for (int r = 0; r < n_merges; r++) {
    const int32_t a = merges[2 * r], b = merges[2 * r + 1];
    if (a < 0 || a >= t->vocab_size || b < 0 || b >= t->vocab_size) {
      mdi_fail("%s: merge %d joins ids %d and %d, outside the vocabulary [0, %d)", src, r, (int)a, (int)b,
               t->vocab_size);
      goto fail;
    }
    const int la = t->piece_lens[a], lb = t->piece_lens[b];
    memcpy(buf, t->pieces[a], (size_t)la);
    memcpy(buf + la, t->pieces[b], (size_t)lb);
    const int result = la + lb <= 2 * t->max_token_length ? mdi_tokenizer_lookup(t, buf, la + lb) : -1;
    if (result < 0) {
      mdi_fail("%s: merge %d joins pieces %d and %d into \"%.*s\", which is not a piece", src, r, (int)a,
               (int)b, la + lb, buf);
      goto fail;
    }
    struct mdi_bpe_merge *slot = find_slot(table, cap - 1, a, b);
    if (slot->left < 0) *slot = (struct mdi_bpe_merge){a, b, r, result}; /* a repeated pair keeps its first rank */
    copy[2 * r] = a;
    copy[2 * r + 1] = b;
  }
  free(buf);
  free(t->merges);
  free(t->merge_table);
  t->merges = copy;
  t->n_merges = n_merges;
  t->merge_table = table;
  t->merge_mask = cap - 1;
  memcpy(t->byte_ids, byte_ids, sizeof byte_ids);
  t->kind = MDI_TOKENIZER_BYTE_BPE;
  t->add_bos = 0;
  return MDI_OK;
fail:
  free(table);
  free(copy);
  free(buf);
  return MDI_ERR;
}

/* The merge of (a, b), or NULL. */
static const struct mdi_bpe_merge *merge_of(const struct mdi_tokenizer *t, int a, int b) {
  const struct mdi_bpe_merge *m = find_slot(t->merge_table, t->merge_mask, a, b);
  return m->left < 0 ? NULL : m;
}

/* Merge ids[0..n) by rank: repeatedly the adjacent pair of lowest rank (the
 * leftmost of equal ranks) becomes its merged piece.  rank[i] caches the
 * rank of (ids[i], ids[i+1]) (INT32_MAX: no merge); only the pairs touching
 * a merge change.  Returns the new n. */
static int merge_word(const struct mdi_tokenizer *t, int *ids, int n, int32_t *rank) {
  for (int i = 0; i + 1 < n; i++) {
    const struct mdi_bpe_merge *m = merge_of(t, ids[i], ids[i + 1]);
    rank[i] = m ? m->rank : INT32_MAX;
  }
  for (;;) {
    int best = -1;
    for (int i = 0; i + 1 < n; i++)
      if (rank[i] != INT32_MAX && (best < 0 || rank[i] < rank[best])) best = i;
    if (best < 0) return n;
    ids[best] = merge_of(t, ids[best], ids[best + 1])->result;
    memmove(ids + best + 1, ids + best + 2, (size_t)(n - best - 2) * sizeof *ids);
    if (n - best - 3 > 0) memmove(rank + best + 1, rank + best + 2, (size_t)(n - best - 3) * sizeof *rank);
    n--;
    for (int i = best - 1; i <= best; i++) {
      if (i < 0 || i + 1 >= n) continue;
      const struct mdi_bpe_merge *m = merge_of(t, ids[i], ids[i + 1]);
      rank[i] = m ? m->rank : INT32_MAX;
    }
  }
}

int mdi_bpe_encode(const struct mdi_tokenizer *t, const char *text, size_t len, int *ids, int *n) {
  size_t *ends = mdi_malloc((len > 0 ? len : 1) * sizeof *ends, "pre-tokenizer pieces");
  int32_t *rank = mdi_malloc((len > 0 ? len : 1) * sizeof *rank, "tokenizer merge ranks");
  if (!ends || !rank) {
    free(ends);
    free(rank);
    return MDI_ERR;
  }
  const size_t count = mdi_bpe_pretokenize(text, len, ends);
  size_t start = 0;
  for (size_t k = 0; k < count; k++) {
    int *word = ids + *n; /* one base piece per byte, then merged in place */
    int m = 0;
    for (size_t i = start; i < ends[k]; i++) word[m++] = t->byte_ids[(unsigned char)text[i]];
    *n += merge_word(t, word, m, rank);
    start = ends[k];
  }
  free(ends);
  free(rank);
  return MDI_OK;
}

size_t mdi_bpe_decode(const struct mdi_tokenizer *t, int token, char *out, size_t cap) {
  const char *p = t->pieces[token];
  const size_t len = (size_t)t->piece_lens[token];
  size_t o = 0;
  for (size_t i = 0; i < len;) {
    int n;
    const int b = code_point_byte(next_code_point(p + i, len - i, &n));
    if (b >= 0) { /* a byte's spelling: never longer than the byte, so out keeps up */
      out[o++] = (char)b;
    } else { /* a character outside the table (in an added token): as it is */
      memcpy(out + o, p + i, (size_t)n);
      o += (size_t)n;
    }
    i += (size_t)n;
  }
  MDI_ASSERT(o < cap);
  out[o] = '\0';
  return o;
}
