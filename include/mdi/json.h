/* The program's JSON formats; json.c is the only file that includes cJSON.h.
 *  - the output journal (-o): one object per finished sequence per line;
 *  - JSONL prompt files: {"prompt": ..., "max_tokens": ..., "seed": ...,
 *    "temperature": ..., "top_p": ..., "top_k": ...};
 *  - the stats file (--stats);
 *  - any other JSON document read as a tree (mdi_json_doc): Hugging Face
 *    config.json, tokenizer.json, safetensors headers and shard indexes. */
#ifndef MDI_JSON_H
#define MDI_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "mdi/stats.h"

struct mdi_seq_record {
  int id;
  const char *prompt;
  const int *prompt_tokens;  /* with BOS */
  int n_prompt;
  const int *tokens;         /* generated, without the stop token */
  int n_tokens;
  const char *text;          /* generated text as printed */
  size_t text_len;
  const char *finish_reason; /* "stop" or "length" */
  uint64_t seed;
};

struct mdi_journal;

/* Create (truncate) the journal, or with `append` add to its end. */
int mdi_journal_open(struct mdi_journal **j, const char *path, int append);

/* A sequence already in a journal. */
struct mdi_journal_entry {
  int id;
  char *prompt;  /* malloc'd */
};

/* Read an existing journal for --resume: every complete line must be a
 * journal object.  A last line without its newline or that does not parse
 * (a crash while writing) is dropped: the file is truncated to the end of
 * the last complete line, and *torn says so.  A missing file is empty. */
int mdi_journal_read(const char *path, struct mdi_journal_entry **entries, int *n, int *torn);
void mdi_journal_entries_free(struct mdi_journal_entry *entries, int n);
/* Append one line and flush it to the file. */
int mdi_journal_write(struct mdi_journal *j, const struct mdi_seq_record *r);
int mdi_journal_close(struct mdi_journal *j);

struct mdi_prompt_line {
  char *prompt;        /* malloc'd */
  int max_tokens;      /* -1: not given */
  int64_t seed;        /* -1: not given */
  double temperature;  /* -1: not given */
  double top_p;        /* -1: not given */
  int top_k;           /* -1: not given */
};

/* Parse one JSONL prompt line; `where` ("file:line") prefixes errors. */
int mdi_json_parse_prompt(const char *line, const char *where, struct mdi_prompt_line *out);

int mdi_stats_write_json(const char *path, const struct mdi_run_stats *s);

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
 * gives the line and byte offset.  A string escape \u0000 is refused: the
 * parser would cut the string there, and no format read here needs it. */
int mdi_json_parse(struct mdi_json_doc **out, const char *text, size_t len, const char *source);
/* Read and parse a whole file of at most max_bytes bytes. */
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

/* Scalars: the string (NULL unless v is a string), the number (v must be a
 * number), the boolean (v must be a boolean). */
const char *mdi_json_string(const struct mdi_json *v);
double mdi_json_number(const struct mdi_json *v);
int mdi_json_bool(const struct mdi_json *v);
/* 1 when v is a number with an integer value in [lo, hi] (stored in *out). */
int mdi_json_int(const struct mdi_json *v, int64_t lo, int64_t hi, int64_t *out);

#endif
