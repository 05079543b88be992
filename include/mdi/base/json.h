/* JSON, read and written.  Below every library: the converters read Hugging
 * Face config.json, tokenizer.json and safetensors headers with it, the
 * application its prompt files and journal, and writes the journal and the
 * stats.
 *
 * The reader is strict RFC 8259 (json.c, our own: no third-party parser):
 * one value, then only white space; no comments, trailing commas, leading
 * zeros, NaN or Infinity; no raw control bytes inside strings; surrogate
 * escapes must pair.  Numbers keep both a double and, for integer lexemes,
 * the exact 64-bit value, so a seed of 8999999999999999 reads back as
 * itself.  Bytes >= 0x80 inside strings pass through as they are (UTF-8 is
 * checked by whoever needs it, e.g. the tokenizer).  Nesting deeper than 512
 * levels is refused. */
#ifndef MDI_JSON_H
#define MDI_JSON_H

#include <stddef.h>
#include <stdint.h>

/* ---- reading a JSON document as a tree ---------------------------------- */

struct mdi_json_doc; /* a parsed document; owns every value in it */
struct mdi_json;     /* one value of a document, valid until mdi_json_free */

enum mdi_json_type {
  MDI_JSON_NULL,
  MDI_JSON_BOOL,
  MDI_JSON_NUMBER,
  MDI_JSON_STRING,
  MDI_JSON_ARRAY,
  MDI_JSON_OBJECT
};

/* Parse text[0..len) (no NUL terminator needed).  `source` names the text in
 * errors ("DIR/config.json", "model.safetensors: header"); a syntax error
 * gives the line, what is wrong and the byte offset ("SOURCE:LINE: not valid
 * JSON: expected ':' after a member name (byte offset 12 of 40)"), text after
 * the value "SOURCE:LINE: unexpected text after the JSON value".  A string
 * escape \u0000 is refused: strings are NUL-terminated, and no format read
 * here needs it. */
int mdi_json_parse(struct mdi_json_doc **out, const char *text, size_t len, const char *source);
/* Read and parse a whole file of at most max_bytes bytes.  The file must be
 * UTF-8 text, as Hugging Face's readers of config.json and tokenizer.json
 * require ("PATH:LINE: not UTF-8 text: an invalid byte sequence at byte
 * offset N"); mdi_json_parse leaves that to its callers. */
int mdi_json_parse_file(struct mdi_json_doc **out, const char *path, size_t max_bytes);
void mdi_json_free(struct mdi_json_doc *doc);

const struct mdi_json *mdi_json_root(const struct mdi_json_doc *doc);
enum mdi_json_type mdi_json_type(const struct mdi_json *v);
/* "null", "boolean", "number", "string", "array", "object" for messages. */
const char *mdi_json_type_name(const struct mdi_json *v);

/* Member `key` of an object (the first one when a key repeats); NULL when v
 * is not an object or has no such member.  Linear in the object's size. */
const struct mdi_json *mdi_json_get(const struct mdi_json *v, const char *key);
/* Elements of an array or members of an object: the first, then the next
 * (NULL at the end); each step is O(1). */
const struct mdi_json *mdi_json_first(const struct mdi_json *v);
const struct mdi_json *mdi_json_next(const struct mdi_json *v);
int mdi_json_count(const struct mdi_json *v); /* elements or members; 0 for scalars */
/* The key of an object member (NULL for an array element). */
const char *mdi_json_key(const struct mdi_json *member);

/* Scalars: the string (NULL unless v is a string) and its length in bytes,
 * the number (v must be a number), the boolean (v must be a boolean). */
const char *mdi_json_string(const struct mdi_json *v);
size_t mdi_json_string_len(const struct mdi_json *v);
double mdi_json_number(const struct mdi_json *v);
int mdi_json_bool(const struct mdi_json *v);
/* 1 when v is a number with an integer value in [lo, hi] (stored in *out):
 * an integer lexeme exactly, whatever its size; a fraction or exponent form
 * ("5.0", "1e3") when its double is an integer of at most 2^53. */
int mdi_json_int(const struct mdi_json *v, int64_t lo, int64_t hi, int64_t *out);
/* The same for unsigned 64-bit values in [0, hi]. */
int mdi_json_uint(const struct mdi_json *v, uint64_t hi, uint64_t *out);

/* ---- writing ----------------------------------------------------------- */

/* JSON text built in memory.  Inside an object every value takes a key;
 * at the top level and inside arrays key is NULL.  Strings are written as
 * valid UTF-8 (bytes that are not become U+FFFD), integers exactly (64-bit),
 * doubles so they read back to the same value (non-finite ones as 0).
 * pretty: one object member per line, indented by two spaces; arrays of
 * scalars stay on one line.  Out of memory ends the process (MDI_PANIC):
 * the documents are small. */
struct mdi_json_writer {
  char *buf;
  size_t len, cap;
  int depth;
  int pretty;
  unsigned char items[32]; /* per open container: 0 no value yet, 1 scalars, 2 a container among them */
  unsigned char object[32]; /* per open container: an object (1) or an array (0) */
};

void mdi_jw_init(struct mdi_json_writer *w, int pretty);
void mdi_jw_free(struct mdi_json_writer *w);
/* The text so far (NUL-terminated; owned by w). */
const char *mdi_jw_text(const struct mdi_json_writer *w, size_t *len);

void mdi_jw_object_begin(struct mdi_json_writer *w, const char *key);
void mdi_jw_object_end(struct mdi_json_writer *w);
void mdi_jw_array_begin(struct mdi_json_writer *w, const char *key);
void mdi_jw_array_end(struct mdi_json_writer *w);
void mdi_jw_string(struct mdi_json_writer *w, const char *key, const char *s, size_t len);
void mdi_jw_cstring(struct mdi_json_writer *w, const char *key, const char *s);
void mdi_jw_int(struct mdi_json_writer *w, const char *key, int64_t v);
void mdi_jw_uint(struct mdi_json_writer *w, const char *key, uint64_t v);
void mdi_jw_double(struct mdi_json_writer *w, const char *key, double v);
/* A float with the fewest digits that read back as the same float ("0.9"). */
void mdi_jw_float(struct mdi_json_writer *w, const char *key, float v);
void mdi_jw_bool(struct mdi_json_writer *w, const char *key, int v);
void mdi_jw_null(struct mdi_json_writer *w, const char *key);
void mdi_jw_int_array(struct mdi_json_writer *w, const char *key, const int *v, int n);
/* A copy of a parsed value (objects keep their member order; numbers with
 * an integer value are written as integers).  Nesting is limited to the
 * writer's 32 levels (deeper: MDI_PANIC). */
void mdi_jw_value(struct mdi_json_writer *w, const char *key, const struct mdi_json *v);

#endif
