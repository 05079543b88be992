/* JSON read (a strict RFC 8259 parser) and written (see json.h). */
#include "mdi/base/json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mdi/base/error.h"
#include "mdi/base/utf8.h"

/* ---- reading a JSON document as a tree (json.h) ------------------------- */

/* A value: members and elements are linked through `next`, in text order. */
struct mdi_json {
  const char *key;         /* object member: its key (NUL-terminated), else NULL */
  struct mdi_json *next;   /* next member or element */
  union {
    struct mdi_json *first; /* array, object: first element or member */
    const char *str;        /* string (NUL-terminated, no NUL inside) */
    int boolean;
  } u;
  double number;           /* number: its value as a double */
  uint64_t magnitude;      /* number: |value| when `exact` */
  size_t len;              /* string: bytes */
  unsigned char type;      /* enum mdi_json_type */
  unsigned char exact;     /* number: an integer lexeme whose magnitude fits 64 bits */
  unsigned char negative;  /* number: a leading minus sign */
};

/* Values are allocated in blocks that live as long as the document. */
struct node_block {
  struct node_block *prev;
  size_t used, cap;
  struct mdi_json nodes[];
};

struct mdi_json_doc {
  struct mdi_json *root;
  struct node_block *blocks;
  char *strings;           /* every decoded string and key, NUL-terminated */
};

/* Deeper nesting than this is refused: the parser recurses once per level. */
#define MAX_DEPTH 512

struct parser {
  const char *text;
  size_t len, pos;
  struct mdi_json_doc *doc;
  char *out;               /* next free byte of doc->strings */
  const char *error;       /* what is wrong at pos */
};

static struct mdi_json *new_node(struct parser *p, enum mdi_json_type type) {
  struct node_block *b = p->doc->blocks;
  if (!b || b->used == b->cap) {
    const size_t cap = b ? 2 * b->cap : 64;
    struct node_block *nb = mdi_malloc(sizeof *nb + cap * sizeof nb->nodes[0], "JSON document");
    if (!nb) return NULL;
    nb->prev = b;
    nb->used = 0;
    nb->cap = cap;
    p->doc->blocks = b = nb;
  }
  struct mdi_json *v = &b->nodes[b->used++];
  memset(v, 0, sizeof *v);
  v->type = (unsigned char)type;
  return v;
}

static int fail_at(struct parser *p, const char *what) {
  p->error = what;
  return MDI_ERR;
}

static void skip_space(struct parser *p) {
  while (p->pos < p->len) {
    const char c = p->text[p->pos];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
    p->pos++;
  }
}

static int hex4(const char *s, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    const char c = s[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
    else return 0;
  }
  *out = v;
  return 1;
}

/* A string at pos (the opening quote), decoded into p->out.  The decoded
 * bytes and their NUL never outgrow the quoted text, so doc->strings, as
 * long as the whole text, always has room. */
static int parse_string(struct parser *p, const char **str, size_t *len) {
  p->pos++; /* the opening quote */
  char *start = p->out, *o = p->out;
  for (;;) {
    if (p->pos >= p->len) return fail_at(p, "a string is not closed");
    /* copy the plain run up to the next quote, backslash or control byte */
    const char *s = p->text + p->pos, *end = p->text + p->len, *q = s;
    while (q < end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20) q++;
    memcpy(o, s, (size_t)(q - s));
    o += q - s;
    p->pos += (size_t)(q - s);
    if (q == end) return fail_at(p, "a string is not closed");
    const unsigned char c = (unsigned char)*q;
    if (c == '"') {
      p->pos++;
      break;
    }
    if (c < 0x20) return fail_at(p, "a control character inside a string (write it as an escape, e.g. \\n or \\t)");
    /* an escape */
    if (p->pos + 1 >= p->len) return fail_at(p, "a string is not closed");
    const char e = p->text[p->pos + 1];
    p->pos += 2;
    switch (e) {
      case '"': *o++ = '"'; continue;
      case '\\': *o++ = '\\'; continue;
      case '/': *o++ = '/'; continue;
      case 'b': *o++ = '\b'; continue;
      case 'f': *o++ = '\f'; continue;
      case 'n': *o++ = '\n'; continue;
      case 'r': *o++ = '\r'; continue;
      case 't': *o++ = '\t'; continue;
      case 'u': break;
      default: p->pos -= 2; return fail_at(p, "an invalid escape in a string");
    }
    unsigned cp;
    if (p->pos + 4 > p->len || !hex4(p->text + p->pos, &cp)) {
      p->pos -= 2;
      return fail_at(p, "\\u is not followed by four hexadecimal digits");
    }
    p->pos += 4;
    if (cp >= 0xDC00 && cp <= 0xDFFF) {
      p->pos -= 6;
      return fail_at(p, "a lone low surrogate \\uDC00-\\uDFFF");
    }
    if (cp >= 0xD800 && cp <= 0xDBFF) { /* a pair: \uD8xx\uDCxx */
      unsigned lo;
      if (p->pos + 6 > p->len || p->text[p->pos] != '\\' || p->text[p->pos + 1] != 'u' ||
          !hex4(p->text + p->pos + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
        p->pos -= 6;
        return fail_at(p, "a high surrogate \\uD800-\\uDBFF without its low surrogate");
      }
      p->pos += 6;
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    if (cp == 0) {
      p->pos -= 6;
      return fail_at(p, "the escape \\u0000 is not supported (strings here hold no NUL byte)");
    }
    o += mdi_utf8_encode(cp, o);
  }
  *o = '\0';
  *str = start;
  *len = (size_t)(o - start);
  p->out = o + 1;
  return MDI_OK;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?; integers without fraction
 * or exponent are also kept exactly (64-bit magnitude). */
static int parse_number(struct parser *p, struct mdi_json *v) {
  const char *t = p->text;
  const size_t start = p->pos;
  size_t i = p->pos;
  if (i < p->len && t[i] == '-') v->negative = 1, i++;
  if (i >= p->len || !is_digit(t[i])) return fail_at(p, "a number without digits");
  const size_t digits = i;
  if (t[i] == '0') {
    i++;
    if (i < p->len && is_digit(t[i])) return fail_at(p, "a number with a leading zero");
  } else {
    while (i < p->len && is_digit(t[i])) i++;
  }
  int integer = 1;
  v->exact = 1;
  for (size_t k = digits; k < i; k++) {
    const uint64_t d = (uint64_t)(t[k] - '0');
    if (v->magnitude > (UINT64_MAX - d) / 10) v->exact = 0;
    else v->magnitude = v->magnitude * 10 + d;
  }
  if (i < p->len && t[i] == '.') {
    integer = 0;
    if (++i >= p->len || !is_digit(t[i])) return fail_at(p, "a number with no digit after its decimal point");
    while (i < p->len && is_digit(t[i])) i++;
  }
  if (i < p->len && (t[i] == 'e' || t[i] == 'E')) {
    integer = 0;
    i++;
    if (i < p->len && (t[i] == '+' || t[i] == '-')) i++;
    if (i >= p->len || !is_digit(t[i])) return fail_at(p, "a number with no digit in its exponent");
    while (i < p->len && is_digit(t[i])) i++;
  }
  if (!integer) v->exact = 0, v->magnitude = 0;
  /* strtod needs a NUL-terminated copy: the text need not have one */
  char small[64], *copy = small;
  const size_t n = i - start;
  if (n >= sizeof small && !(copy = mdi_malloc(n + 1, "JSON number"))) return fail_at(p, "out of memory");
  memcpy(copy, t + start, n);
  copy[n] = '\0';
  v->number = strtod(copy, NULL);
  if (copy != small) free(copy);
  if (!isfinite(v->number)) return fail_at(p, "a number too large for a double");
  p->pos = i;
  return MDI_OK;
}

static int parse_value(struct parser *p, struct mdi_json **out, int depth);

static int literal(struct parser *p, const char *word) {
  const size_t n = strlen(word);
  if (p->len - p->pos < n || memcmp(p->text + p->pos, word, n) != 0) return 0;
  p->pos += n;
  return 1;
}

/* An array or object at pos (its opening bracket). */
static int parse_container(struct parser *p, struct mdi_json *v, int depth) {
  const int object = v->type == MDI_JSON_OBJECT;
  const char close = object ? '}' : ']';
  struct mdi_json **tail = &v->u.first;
  p->pos++;
  skip_space(p);
  if (p->pos < p->len && p->text[p->pos] == close) {
    p->pos++;
    return MDI_OK;
  }
  for (;;) {
    const char *key = NULL;
    if (object) {
      size_t key_len;
      if (p->pos >= p->len || p->text[p->pos] != '"') return fail_at(p, "expected a member name in double quotes");
      if (parse_string(p, &key, &key_len) != MDI_OK) return MDI_ERR;
      skip_space(p);
      if (p->pos >= p->len || p->text[p->pos] != ':') return fail_at(p, "expected ':' after a member name");
      p->pos++;
    }
    struct mdi_json *item;
    if (parse_value(p, &item, depth + 1) != MDI_OK) return MDI_ERR;
    item->key = key;
    *tail = item;
    tail = &item->next;
    skip_space(p);
    if (p->pos < p->len && p->text[p->pos] == ',') {
      p->pos++;
      skip_space(p);
      continue;
    }
    if (p->pos < p->len && p->text[p->pos] == close) {
      p->pos++;
      return MDI_OK;
    }
    return fail_at(p, object ? "expected ',' or '}' after an object member" : "expected ',' or ']' after an array element");
  }
}

static int parse_value(struct parser *p, struct mdi_json **out, int depth) {
  skip_space(p);
  if (depth > MAX_DEPTH) return fail_at(p, "arrays and objects nested more than 512 levels deep");
  if (p->pos >= p->len) return fail_at(p, "the text ends where a value was expected");
  const char c = p->text[p->pos];
  enum mdi_json_type type;
  switch (c) {
    case '{': type = MDI_JSON_OBJECT; break;
    case '[': type = MDI_JSON_ARRAY; break;
    case '"': type = MDI_JSON_STRING; break;
    case 't':
    case 'f': type = MDI_JSON_BOOL; break;
    case 'n': type = MDI_JSON_NULL; break;
    default:
      if (c != '-' && !is_digit(c)) return fail_at(p, "expected a value");
      type = MDI_JSON_NUMBER;
  }
  struct mdi_json *v = new_node(p, type);
  if (!v) return fail_at(p, "out of memory");
  *out = v;
  switch (type) {
    case MDI_JSON_OBJECT:
    case MDI_JSON_ARRAY: return parse_container(p, v, depth);
    case MDI_JSON_STRING: return parse_string(p, &v->u.str, &v->len);
    case MDI_JSON_NUMBER: return parse_number(p, v);
    case MDI_JSON_BOOL:
      if (literal(p, "true")) v->u.boolean = 1;
      else if (!literal(p, "false")) return fail_at(p, "expected a value");
      return MDI_OK;
    case MDI_JSON_NULL: return literal(p, "null") ? MDI_OK : fail_at(p, "expected a value");
  }
  return MDI_OK;
}

/* Line (from 1) of byte offset off in text. */
static long line_of(const char *text, size_t off) {
  long line = 1;
  for (size_t i = 0; i < off; i++) line += text[i] == '\n';
  return line;
}

int mdi_json_parse(struct mdi_json_doc **out, const char *text, size_t len, const char *source) {
  *out = NULL;
  struct mdi_json_doc *d = mdi_calloc(1, sizeof *d, "JSON document");
  if (!d) return MDI_ERR;
  d->strings = mdi_malloc(len + 1, "JSON document");
  if (!d->strings) {
    free(d);
    return MDI_ERR;
  }
  struct parser p = {.text = text, .len = len, .doc = d, .out = d->strings};
  int rc = parse_value(&p, &d->root, 0);
  if (rc == MDI_OK) {
    skip_space(&p);
    if (p.pos < len) {
      mdi_json_free(d);
      return mdi_fail("%s:%ld: unexpected text after the JSON value (byte offset %zu)", source,
                      line_of(text, p.pos), p.pos);
    }
    *out = d;
    return MDI_OK;
  }
  mdi_json_free(d);
  if (p.error && !strcmp(p.error, "out of memory")) return MDI_ERR; /* mdi_malloc's message stands */
  return mdi_fail("%s:%ld: not valid JSON: %s (byte offset %zu of %zu)", source, line_of(text, p.pos),
                  p.error ? p.error : "a syntax error", p.pos, len);
}

int mdi_json_parse_file(struct mdi_json_doc **out, const char *path, size_t max_bytes) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) return mdi_fail("%s: cannot open: %s", path, strerror(errno));
  int rc = MDI_ERR;
  char *text = NULL;
  long size = -1;
  if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
  if (size < 0 || fseek(f, 0, SEEK_SET) != 0) {
    mdi_fail("%s: cannot determine the file size: %s", path, strerror(errno));
  } else if ((unsigned long)size > max_bytes) {
    mdi_fail("%s: the file is %ld bytes, more than the %zu accepted for this JSON file", path, size, max_bytes);
  } else if ((text = mdi_malloc((size_t)size + 1, path)) != NULL) {
    size_t bad;
    if (fread(text, 1, (size_t)size, f) != (size_t)size)
      mdi_fail("%s: reading failed: %s", path, ferror(f) ? strerror(errno) : "the file ended early");
    else if ((bad = mdi_utf8_bad_offset(text, (size_t)size)) < (size_t)size)
      mdi_fail("%s:%ld: not UTF-8 text: %s at byte offset %zu", path, line_of(text, bad),
               text[bad] ? "an invalid byte sequence" : "a NUL byte", bad);
    else
      rc = mdi_json_parse(out, text, (size_t)size, path);
  }
  free(text);
  fclose(f);
  return rc;
}

void mdi_json_free(struct mdi_json_doc *doc) {
  if (!doc) return;
  for (struct node_block *b = doc->blocks, *prev; b; b = prev) {
    prev = b->prev;
    free(b);
  }
  free(doc->strings);
  free(doc);
}

const struct mdi_json *mdi_json_root(const struct mdi_json_doc *doc) { return doc->root; }

enum mdi_json_type mdi_json_type(const struct mdi_json *v) { return (enum mdi_json_type)v->type; }

const char *mdi_json_type_name(const struct mdi_json *v) {
  static const char *const names[] = {"null", "boolean", "number", "string", "array", "object"};
  return names[mdi_json_type(v)];
}

const struct mdi_json *mdi_json_get(const struct mdi_json *v, const char *key) {
  if (!v || v->type != MDI_JSON_OBJECT) return NULL;
  for (const struct mdi_json *m = v->u.first; m; m = m->next)
    if (!strcmp(m->key, key)) return m;
  return NULL;
}

const struct mdi_json *mdi_json_first(const struct mdi_json *v) {
  return v && (v->type == MDI_JSON_ARRAY || v->type == MDI_JSON_OBJECT) ? v->u.first : NULL;
}

const struct mdi_json *mdi_json_next(const struct mdi_json *v) { return v ? v->next : NULL; }

int mdi_json_count(const struct mdi_json *v) {
  int n = 0;
  for (const struct mdi_json *e = mdi_json_first(v); e; e = mdi_json_next(e)) n++;
  return n;
}

const char *mdi_json_key(const struct mdi_json *member) { return member ? member->key : NULL; }

const char *mdi_json_string(const struct mdi_json *v) {
  return v && v->type == MDI_JSON_STRING ? v->u.str : NULL;
}

size_t mdi_json_string_len(const struct mdi_json *v) {
  return v && v->type == MDI_JSON_STRING ? v->len : 0;
}

double mdi_json_number(const struct mdi_json *v) {
  MDI_ASSERT(v && v->type == MDI_JSON_NUMBER);
  return v->number;
}

int mdi_json_bool(const struct mdi_json *v) {
  MDI_ASSERT(v && v->type == MDI_JSON_BOOL);
  return v->u.boolean;
}

/* The exact integer value of a number as sign and magnitude: from its
 * lexeme, or from a double with an integer value up to 2^53 ("1e3", "5.0"). */
static int integer_value(const struct mdi_json *v, int *negative, uint64_t *magnitude) {
  if (!v || v->type != MDI_JSON_NUMBER) return 0;
  if (v->exact) {
    *negative = v->negative && v->magnitude != 0;
    *magnitude = v->magnitude;
    return 1;
  }
  const double d = v->number;
  if (!(d == floor(d)) || fabs(d) > 9007199254740992.0) return 0;
  *negative = d < 0;
  *magnitude = (uint64_t)fabs(d);
  return 1;
}

int mdi_json_int(const struct mdi_json *v, int64_t lo, int64_t hi, int64_t *out) {
  int negative;
  uint64_t m;
  if (!integer_value(v, &negative, &m)) return 0;
  int64_t value;
  if (negative) {
    if (m > (uint64_t)INT64_MAX + 1) return 0;
    value = m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m;
  } else {
    if (m > (uint64_t)INT64_MAX) return 0;
    value = (int64_t)m;
  }
  if (value < lo || value > hi) return 0;
  *out = value;
  return 1;
}

int mdi_json_uint(const struct mdi_json *v, uint64_t hi, uint64_t *out) {
  int negative;
  uint64_t m;
  if (!integer_value(v, &negative, &m) || negative || m > hi) return 0;
  *out = m;
  return 1;
}

/* ---- writing (json.h) ---------------------------------------------------- */

static void put(struct mdi_json_writer *w, const char *s, size_t n) {
  if (w->len + n + 1 > w->cap) {
    size_t want = w->cap ? 2 * w->cap : 256;
    while (want < w->len + n + 1) want *= 2;
    w->buf = mdi_xrealloc(w->buf, want, "JSON text");
    w->cap = want;
  }
  memcpy(w->buf + w->len, s, n);
  w->len += n;
  w->buf[w->len] = '\0';
}

static void puts_(struct mdi_json_writer *w, const char *s) { put(w, s, strlen(s)); }

static void newline(struct mdi_json_writer *w, int depth) {
  put(w, "\n", 1);
  for (int i = 0; i < depth; i++) put(w, "  ", 2);
}

static void escaped(struct mdi_json_writer *w, const char *s, size_t n) {
  char *clean = mdi_xmalloc(3 * n + 1, "JSON string");
  n = mdi_utf8_sanitize(s, n, clean);
  put(w, "\"", 1);
  size_t run = 0; /* bytes copied as they are, written in one piece */
  for (size_t i = 0; i < n; i++) {
    const unsigned char c = (unsigned char)clean[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    put(w, clean + run, i - run);
    run = i + 1;
    char esc[8];
    switch (c) {
    case '"': puts_(w, "\\\""); break;
    case '\\': puts_(w, "\\\\"); break;
    case '\n': puts_(w, "\\n"); break;
    case '\r': puts_(w, "\\r"); break;
    case '\t': puts_(w, "\\t"); break;
    case '\b': puts_(w, "\\b"); break;
    case '\f': puts_(w, "\\f"); break;
    default:
      snprintf(esc, sizeof esc, "\\u%04x", c);
      puts_(w, esc);
    }
  }
  put(w, clean + run, n - run);
  put(w, "\"", 1);
  free(clean);
}

/* Separator, line break and key before a value; `container`: the value
 * opens an object or array (in pretty arrays those go on their own line). */
static void before_value(struct mdi_json_writer *w, const char *key, int container) {
  if (w->depth == 0) {
    MDI_ASSERT(!key && w->len == 0);
    return;
  }
  const int d = w->depth - 1, in_object = w->object[d];
  MDI_ASSERT(in_object == (key != NULL));
  if (w->items[d]) put(w, ",", 1);
  if (w->pretty && (in_object || container)) newline(w, w->depth);
  if (container) w->items[d] = 2;
  else if (!w->items[d]) w->items[d] = 1;
  if (key) {
    escaped(w, key, strlen(key));
    put(w, w->pretty ? ": " : ":", w->pretty ? 2 : 1);
  }
}

void mdi_jw_init(struct mdi_json_writer *w, int pretty) {
  memset(w, 0, sizeof *w);
  w->pretty = pretty;
}

void mdi_jw_free(struct mdi_json_writer *w) {
  free(w->buf);
  memset(w, 0, sizeof *w);
}

const char *mdi_jw_text(const struct mdi_json_writer *w, size_t *len) {
  MDI_ASSERT(w->depth == 0);
  if (len) *len = w->len;
  return w->buf ? w->buf : "";
}

static void open_container(struct mdi_json_writer *w, const char *key, int object) {
  before_value(w, key, 1);
  MDI_ASSERT(w->depth < (int)sizeof w->items);
  w->items[w->depth] = 0;
  w->object[w->depth] = (unsigned char)object;
  w->depth++;
  put(w, object ? "{" : "[", 1);
}

static void close_container(struct mdi_json_writer *w, int object) {
  MDI_ASSERT(w->depth > 0 && w->object[w->depth - 1] == object);
  w->depth--;
  const int items = w->items[w->depth];
  /* a pretty container closes on its own line when its values had lines */
  if (w->pretty && (object ? items != 0 : items == 2)) newline(w, w->depth);
  put(w, object ? "}" : "]", 1);
}

void mdi_jw_object_begin(struct mdi_json_writer *w, const char *key) { open_container(w, key, 1); }
void mdi_jw_object_end(struct mdi_json_writer *w) { close_container(w, 1); }
void mdi_jw_array_begin(struct mdi_json_writer *w, const char *key) { open_container(w, key, 0); }
void mdi_jw_array_end(struct mdi_json_writer *w) { close_container(w, 0); }

void mdi_jw_string(struct mdi_json_writer *w, const char *key, const char *s, size_t len) {
  before_value(w, key, 0);
  escaped(w, s, len);
}

void mdi_jw_cstring(struct mdi_json_writer *w, const char *key, const char *s) {
  mdi_jw_string(w, key, s, strlen(s));
}

void mdi_jw_int(struct mdi_json_writer *w, const char *key, int64_t v) {
  char num[32];
  before_value(w, key, 0);
  puts_(w, (snprintf(num, sizeof num, "%lld", (long long)v), num));
}

void mdi_jw_uint(struct mdi_json_writer *w, const char *key, uint64_t v) {
  char num[32];
  before_value(w, key, 0);
  puts_(w, (snprintf(num, sizeof num, "%llu", (unsigned long long)v), num));
}

void mdi_jw_double(struct mdi_json_writer *w, const char *key, double v) {
  char num[40];
  before_value(w, key, 0);
  if (!isfinite(v)) v = 0.0;
  /* the shortest of 15 or 17 digits that reads back as v */
  snprintf(num, sizeof num, "%.15g", v);
  if (strtod(num, NULL) != v) snprintf(num, sizeof num, "%.17g", v);
  puts_(w, num);
}

void mdi_jw_float(struct mdi_json_writer *w, const char *key, float v) {
  char num[40];
  before_value(w, key, 0);
  if (!isfinite(v)) v = 0.0f;
  /* the fewest digits (6 to 9) that read back as the same float */
  for (int digits = 6; digits <= 9; digits++) {
    snprintf(num, sizeof num, "%.*g", digits, (double)v);
    if ((float)strtod(num, NULL) == v) break;
  }
  puts_(w, num);
}

void mdi_jw_bool(struct mdi_json_writer *w, const char *key, int v) {
  before_value(w, key, 0);
  puts_(w, v ? "true" : "false");
}

void mdi_jw_null(struct mdi_json_writer *w, const char *key) {
  before_value(w, key, 0);
  puts_(w, "null");
}

void mdi_jw_int_array(struct mdi_json_writer *w, const char *key, const int *v, int n) {
  mdi_jw_array_begin(w, key);
  for (int i = 0; i < n; i++) mdi_jw_int(w, NULL, v[i]);
  mdi_jw_array_end(w);
}

void mdi_jw_value(struct mdi_json_writer *w, const char *key, const struct mdi_json *v) {
  switch (mdi_json_type(v)) {
    case MDI_JSON_NULL: mdi_jw_null(w, key); break;
    case MDI_JSON_BOOL: mdi_jw_bool(w, key, mdi_json_bool(v)); break;
    case MDI_JSON_STRING: mdi_jw_cstring(w, key, mdi_json_string(v)); break;
    case MDI_JSON_NUMBER: {
      int64_t i;
      if (mdi_json_int(v, -((int64_t)1 << 53), (int64_t)1 << 53, &i)) mdi_jw_int(w, key, i);
      else mdi_jw_double(w, key, mdi_json_number(v));
      break;
    }
    case MDI_JSON_ARRAY:
    case MDI_JSON_OBJECT: {
      const int object = mdi_json_type(v) == MDI_JSON_OBJECT;
      open_container(w, key, object);
      for (const struct mdi_json *e = mdi_json_first(v); e; e = mdi_json_next(e))
        mdi_jw_value(w, object ? mdi_json_key(e) : NULL, e);
      close_container(w, object);
      break;
    }
  }
}
