/* mdi_convert info: describe a model file and check its layout against its
 * own hyperparameters (docs/FORMAT.md), float32 or quantized: every weight
 * dataset with its type, shape, bytes and bits per weight.  A per-rank file
 * (mdi_convert split) is checked to hold its rank's share of the weights and
 * nothing else. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "mdi/base/error.h"
#include "mdi/model/matmul.h"
#include "mdi/model/rankfiles.h"
#include "mdi/model/split.h"
#include "mdi/model/tokenizer.h"
#include "mdi/model/weights.h"

/* One dataset as listed by mdi_h5_list. */
struct entry {
  char *name;
  char dtype[16];             /* HDF5's: "float32", "uint8", ... */
  int ndims;
  int64_t dims[MDI_MAX_DIMS]; /* as stored: a quantized matrix is [rows][row bytes] */
  int64_t bytes;
  int quantized;              /* uint8 blocks with a valid type attribute */
  enum mdi_matrix_type qtype;
  int64_t cols;               /* quantized: weights per row */
};

struct listing {
  struct entry *e;
  int n, cap;
};

static int collect(const struct mdi_h5_dataset_info *d, void *ctx) {
  struct listing *l = ctx;
  if (l->n == l->cap) {
    int cap = l->cap ? 2 * l->cap : 64;
    struct entry *e = realloc(l->e, (size_t)cap * sizeof *e);
    if (!e) return mdi_fail("out of memory: cannot list datasets");
    l->e = e;
    l->cap = cap;
  }
  struct entry *e = &l->e[l->n++];
  memset(e, 0, sizeof *e); /* not quantized until resolve_types says so */
  e->name = mdi_xstrdup(d->name);
  snprintf(e->dtype, sizeof e->dtype, "%s", d->dtype);
  e->ndims = d->ndims;
  e->bytes = (int64_t)d->elem_size;
  for (int i = 0; i < d->ndims; i++) {
    e->dims[i] = d->dims[i];
    e->bytes *= d->dims[i];
  }
  return 0;
}

static void free_listing(struct listing *l) {
  for (int i = 0; i < l->n; i++) free(l->e[i].name);
  free(l->e);
}

static const struct entry *find(const struct listing *l, const char *name) {
  for (int i = 0; i < l->n; i++)
    if (strcmp(l->e[i].name, name) == 0) return &l->e[i];
  return NULL;
}

static void format_shape(char *buf, size_t size, int ndims, const int64_t *dims) {
  size_t used = 0;
  buf[0] = '\0';
  for (int i = 0; i < ndims && used < size; i++)
    used += (size_t)snprintf(buf + used, size - used, "[%lld]", (long long)dims[i]);
}

/* The block type of each uint8 dataset outside /tokenizer (its type
 * attribute, when it names one), so that quantized matrices show as such. */
static void resolve_types(struct mdi_h5 *f, struct listing *l) {
  for (int i = 0; i < l->n; i++) {
    struct entry *e = &l->e[i];
    char type[16];
    if (strcmp(e->dtype, "uint8") != 0 || e->ndims != 2 || strncmp(e->name, "tokenizer/", 10) == 0 ||
        !mdi_h5_attr_exists(f, e->name, MDI_QUANT_TYPE_ATTR) ||
        mdi_h5_attr_string(f, e->name, MDI_QUANT_TYPE_ATTR, type, sizeof type) != MDI_OK ||
        mdi_quant_parse(type, &e->qtype) != MDI_OK || e->qtype == MDI_MATRIX_F32) {
      mdi_error_clear();
      continue;
    }
    const struct mdi_quant_format *qf = mdi_quant_format(e->qtype);
    if (e->dims[1] % qf->bytes != 0) continue; /* not whole blocks: expect() reports it */
    e->quantized = 1;
    e->cols = e->dims[1] / qf->bytes * qf->block;
  }
}

/* Report a missing or malformed weight dataset; counts the problems.  A
 * matrix that may be quantized (`quant`) is float32 [rows][cols], or the
 * uint8 rows of blocks of a quantized type whose rows are whole blocks. */
static void expect(const struct listing *l, const char *name, int ndims, const int64_t *dims, int quant,
                   int *problems) {
  const struct entry *e = find(l, name);
  char want[64], have[64];
  const char *kinds = quant ? "float32 or quantized" : "float32";
  format_shape(want, sizeof want, ndims, dims);
  if (!e) {
    printf("  problem: /%s is missing (expected %s %s)\n", name, kinds, want);
    (*problems)++;
    return;
  }
  if (quant && e->quantized) {
    const struct mdi_quant_format *qf = mdi_quant_format(e->qtype);
    if (e->dims[0] != dims[0] || e->cols != dims[1]) {
      format_shape(have, sizeof have, 2, (const int64_t[]){e->dims[0], e->cols});
      printf("  problem: /%s is %s %s, expected %s\n", name, qf->name, have, want);
      (*problems)++;
    }
    return;
  }
  int same = e->ndims == ndims && strcmp(e->dtype, "float32") == 0;
  for (int i = 0; same && i < ndims; i++) same = e->dims[i] == dims[i];
  if (!same) {
    format_shape(have, sizeof have, e->ndims, e->dims);
    printf("  problem: /%s is %s %s, expected %s %s%s\n", name, e->dtype, have, kinds, want,
           strcmp(e->dtype, "int8") == 0 ? " (int8 with NAME_scale is the Q8_0 layout of earlier versions: "
                                           "quantize the float32 model again)"
           : strcmp(e->dtype, "uint8") == 0 ? " (uint8 without a valid quant_type attribute or whole blocks)"
                                            : "");
    (*problems)++;
  }
}

/* Report a weight dataset that belongs to another rank's file. */
static void absent(const struct listing *l, const char *name, const char *owner, int *problems) {
  if (!find(l, name)) return;
  printf("  problem: /%s is present but belongs to %s\n", name, owner);
  (*problems)++;
}

/* Which weights a file must hold: layers [first, last), and the embedding,
 * final norm and classifier when `head`.  A whole model holds everything; a
 * per-rank file only its rank's share, and no other rank's. */
struct share {
  int first, last, head;
};

/* Check the weight datasets against the hyperparameters; returns the number
 * of problems (each printed). */
static int check_layout(const struct listing *l, const struct mdi_hparams *hp, const struct share *s) {
  int problems = 0;
  const int64_t emb[2] = {hp->vocab_size, hp->dim}, norm[1] = {hp->dim};
  /* gpt2's head has two more tensors (read as float32 only) */
  const int gpt2 = mdi_hparams_is_gpt2(hp);
  const int64_t pos[2] = {hp->seq_len, hp->dim};
  if (s->head) {
    expect(l, "embedding", 2, emb, 1, &problems);
    if (gpt2) expect(l, "position_embedding", 2, pos, 0, &problems);
  } else {
    absent(l, "embedding", "rank 0's file", &problems);
    absent(l, "final_norm", "rank 0's file", &problems);
    absent(l, "classifier", "rank 0's file", &problems);
    if (gpt2) {
      absent(l, "position_embedding", "rank 0's file", &problems);
      absent(l, "final_norm_bias", "rank 0's file", &problems);
    }
  }
  for (int layer = 0; layer < hp->n_layers; layer++)
    for (int t = 0; t < convert_layer_tensor_count(hp); t++) {
      char name[MDI_NAME_MAX];
      const char *kind;
      int ndims;
      int64_t dims[2];
      convert_layer_tensor_at(hp, t, &kind, &ndims, dims);
      mdi_weights_layer_name(name, layer, kind);
      if (layer >= s->first && layer < s->last)
        expect(l, name, ndims, dims, ndims == 2, &problems);
      else
        absent(l, name, "another rank's file", &problems);
    }
  if (!s->head) return problems;
  expect(l, "final_norm", 1, norm, 0, &problems);
  if (gpt2) expect(l, "final_norm_bias", 1, norm, 0, &problems);
  if (!hp->shared_classifier) {
    expect(l, "classifier", 2, emb, 1, &problems);
  } else if (find(l, "classifier")) {
    printf("  problem: /classifier exists but shared_classifier = 1\n");
    problems++;
  }
  return problems;
}

/* The split attributes of a per-rank file (checked against each other). */
static int print_rank_info(struct mdi_h5 *f, const struct mdi_hparams *hp, struct share *s) {
  int64_t rank, n_ranks;
  if (mdi_h5_attr_int(f, "/", "rank", &rank) != MDI_OK || mdi_h5_attr_int(f, "/", "n_ranks", &n_ranks) != MDI_OK)
    return MDI_ERR;
  if (n_ranks < 1 || n_ranks > 1024 || rank < 0 || rank >= n_ranks)
    return mdi_fail("%s: rank %lld of %lld ranks is impossible", mdi_h5_path(f), (long long)rank,
                    (long long)n_ranks);
  struct mdi_rankfile_info *info = mdi_malloc(sizeof *info, "rank file attributes");
  if (!info) return MDI_ERR;
  int rc = mdi_rankfile_read_info(f, (int)rank, (int)n_ranks, hp->n_layers, info);
  if (rc == MDI_OK) {
    char split[4096];
    mdi_split_format(info->split, info->n_ranks, split, sizeof split);
    printf("rank                %d of %d (per-rank file)\n", info->rank, info->n_ranks);
    printf("layers              [%d,%d) (split %s)\n", info->layer_first, info->layer_last, split);
    printf("model_fingerprint   %s\n", info->fingerprint);
    *s = (struct share){info->layer_first, info->layer_last, info->rank == 0};
  }
  free(info);
  return rc;
}

/* Print a piece with C escapes for control bytes and quotes. */
static void print_piece(const char *s, int len) {
  putchar('"');
  for (int i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '\n') fputs("\\n", stdout);
    else if (c == '\t') fputs("\\t", stdout);
    else if (c == '"' || c == '\\') printf("\\%c", c);
    else if (c < 0x20 || c == 0x7f) printf("\\x%02x", c);
    else putchar(c);
  }
  putchar('"');
}

static void print_tokenizer(const struct mdi_tokenizer *t) {
  printf("tokenizer:\n");
  printf("  kind              %s (%s)\n", mdi_tokenizer_kind_name(t->kind),
         t->add_bos ? "prompts start with BOS" : "no BOS before prompts");
  printf("  vocab_size        %d\n", t->vocab_size);
  printf("  bos_id            %d ", t->bos_id);
  print_piece(t->pieces[t->bos_id], t->piece_lens[t->bos_id]);
  printf("\n  eos_id            %d ", t->eos_id);
  print_piece(t->pieces[t->eos_id], t->piece_lens[t->eos_id]);
  printf("\n  stop_ids         ");
  for (int i = 0; i < t->n_stop; i++) printf(" %d", t->stop_ids[i]);
  printf("\n  max_token_length  %d\n", t->max_token_length);
  int bytes = 0;
  for (int b = 0; b < 256; b++) bytes += t->byte_ids[b] >= 0;
  if (t->kind == MDI_TOKENIZER_BYTE_BPE)
    printf("  byte pieces       %d of 256 (byte-to-unicode spelling)\n  merges            %d\n", bytes,
           t->n_merges);
  else
    printf("  byte pieces       %d of 256 (<0x00>..<0xFF>)\n", bytes);
  if (t->kind == MDI_TOKENIZER_HF) {
    int special = 0;
    for (int i = 0; i < t->vocab_size; i++) special += mdi_tokenizer_is_special(t, i);
    printf("  merges            %d\n  special tokens    %d\n", t->n_merges, special);
  } else if (t->n_special) {
    printf("  special tokens    %d besides BOS and EOS\n", t->n_special);
  }
  printf("  chat format       %s\n", t->chat_format[0]  ? t->chat_format
                                   : t->chat_template ? "none (the template is none of the built-in formats)"
                                                      : "none (no chat template)");
}

static void print_hparams(const struct mdi_hparams *hp) {
  printf("arch                %s\n", hp->arch);
  printf("dim                 %d\n", hp->dim);
  printf("hidden_dim          %d\n", hp->hidden_dim);
  printf("n_layers            %d\n", hp->n_layers);
  printf("n_heads             %d (head_size %d)\n", hp->n_heads, mdi_hparams_head_size(hp));
  printf("n_kv_heads          %d (kv_dim %d)\n", hp->n_kv_heads, mdi_hparams_kv_dim(hp));
  printf("vocab_size          %d\n", hp->vocab_size);
  printf("seq_len             %d\n", hp->seq_len);
  printf("norm_eps            %g\n", (double)hp->norm_eps);
  printf("rope_theta          %g\n", (double)hp->rope_theta);
  printf("shared_classifier   %d\n", hp->shared_classifier);
  if (!mdi_hparams_has_options(hp)) return;
  char opts[512];
  mdi_hparams_describe_options(hp, opts, sizeof opts);
  printf("options             %s\n", opts);
  if (hp->n_rope_factors) {
    printf("rope_freq_factors  ");
    for (int i = 0; i < hp->n_rope_factors; i++) printf(" %g", (double)hp->rope_factors[i]);
    printf("\n");
  }
  if (hp->n_rope_factors_long) {
    printf("rope_freq_factors_long");
    for (int i = 0; i < hp->n_rope_factors_long; i++) printf(" %g", (double)hp->rope_factors_long[i]);
    printf("\n");
  }
}

/* Weights and bytes of one type, for the totals. */
struct type_total {
  int64_t weights, bytes;
};

static double bits_per_weight(int64_t bytes, int64_t weights) { return weights ? 8.0 * (double)bytes / (double)weights : 0.0; }

/* Every dataset with its type (a quantized matrix: its block type and
 * [rows][cols] in weights), bytes and bits per weight; then the totals per
 * type and for the file's weights (every dataset but /tokenizer). */
static void print_datasets(const struct listing *l) {
  struct type_total per_type[MDI_MATRIX_N_TYPES] = {{0, 0}}, all = {0, 0};
  int64_t total = 0;
  printf("\ndatasets:\n  %-9s %-16s %14s %8s  %s\n", "type", "shape", "bytes", "bits/w", "name");
  for (int i = 0; i < l->n; i++) {
    const struct entry *e = &l->e[i];
    char shape[64], bits[16] = "";
    const int weights = strncmp(e->name, "tokenizer/", 10) != 0 && (e->quantized || strcmp(e->dtype, "float32") == 0);
    int64_t n = e->quantized ? e->dims[0] * e->cols : e->bytes / 4;
    if (e->quantized) format_shape(shape, sizeof shape, 2, (const int64_t[]){e->dims[0], e->cols});
    else format_shape(shape, sizeof shape, e->ndims, e->dims);
    if (weights) {
      struct type_total *t = &per_type[e->quantized ? e->qtype : MDI_MATRIX_F32];
      t->weights += n;
      t->bytes += e->bytes;
      all.weights += n;
      all.bytes += e->bytes;
      snprintf(bits, sizeof bits, "%.4g", bits_per_weight(e->bytes, n));
    }
    printf("  %-9s %-16s %14lld %8s  /%s\n", e->quantized ? mdi_quant_format(e->qtype)->name : e->dtype, shape,
           (long long)e->bytes, bits, e->name);
    total += e->bytes;
  }
  printf("total: %d datasets, %lld bytes; %lld weight parameters in %lld bytes, %.4f bits per weight\n", l->n,
         (long long)total, (long long)all.weights, (long long)all.bytes, bits_per_weight(all.bytes, all.weights));
  for (int t = 0; t < MDI_MATRIX_N_TYPES; t++)
    if (per_type[t].weights && per_type[t].weights != all.weights)
      printf("  %-7s %lld weights in %lld bytes, %.4f bits per weight\n",
             t == MDI_MATRIX_F32 ? "float32" : mdi_quant_format((enum mdi_matrix_type)t)->name,
             (long long)per_type[t].weights, (long long)per_type[t].bytes,
             bits_per_weight(per_type[t].bytes, per_type[t].weights));
  printf("\n");
}

/* The root attribute `quantization` of a quantized file (informative: the
 * loader goes by each matrix's own type). */
static int print_quantization(struct mdi_h5 *f) {
  if (!mdi_h5_attr_exists(f, "/", CONVERT_QUANT_ATTR)) return MDI_OK;
  char value[64];
  if (mdi_h5_attr_string(f, "/", CONVERT_QUANT_ATTR, value, sizeof value) != MDI_OK) return MDI_ERR;
  printf("quantization        %s\n", value);
  return MDI_OK;
}

static int info(const char *path) {
  struct mdi_h5 *f;
  if (mdi_h5_open(&f, path) != MDI_OK) return MDI_ERR;
  struct listing l = {0};
  struct mdi_tokenizer tok;
  struct mdi_hparams hp;
  int64_t version = 0;
  int rc = MDI_ERR;
  if (mdi_h5_attr_int(f, "/", "format_version", &version) != MDI_OK ||
      mdi_h5_read_hparams(f, &hp) != MDI_OK || mdi_h5_list(f, collect, &l) != MDI_OK)
    goto done;
  resolve_types(f, &l);
  struct share share = {0, hp.n_layers, 1};
  const int per_rank = mdi_rankfile_is_rankfile(f);
  printf("file                %s\n", path);
  printf("format              %s version %lld\n", MDI_FORMAT_NAME, (long long)version);
  print_hparams(&hp);
  int problems = 0;
  if (print_quantization(f) != MDI_OK) goto done;
  if (per_rank && print_rank_info(f, &hp, &share) != MDI_OK) goto done;
  print_datasets(&l);
  if (share.head) { /* a per-rank file of rank > 0 has no tokenizer */
    if (mdi_tokenizer_load(&tok, f) != MDI_OK) goto done;
    print_tokenizer(&tok);
    mdi_tokenizer_free(&tok);
  } else {
    printf("tokenizer:          none (rank 0's file holds it)\n");
  }
  problems += check_layout(&l, &hp, &share);
  if (problems) {
    mdi_fail("%s: %d dataset(s) do not match the hyperparameters (listed above)", path, problems);
    goto done;
  }
  if (per_rank)
    printf("layout: every weight dataset of layers [%d,%d)%s is present with the expected shape, "
           "and no other\n", share.first, share.last, share.head ? " and of rank 0" : "");
  else
    printf("layout: every weight dataset is present with the expected shape\n");
  rc = MDI_OK;
done:
  free_listing(&l);
  mdi_h5_close(f);
  return rc;
}

static void usage(FILE *out) {
  fprintf(out,
          "usage: mdi_convert info FILE.h5\n"
          "\n"
          "Print an mdi-llm model file's format version, hyperparameters, every dataset\n"
          "(type, shape, bytes, bits per weight) with totals per type, and its\n"
          "tokenizer; then check that every weight dataset has the shape the\n"
          "hyperparameters imply (exit 1 if not).  A quantized matrix (mdi_convert gguf\n"
          "or quantize) shows its block type (Q4_K, ...) and its shape in weights.\n"
          "\n"
          "options:\n"
          "  -h, --help    this help\n");
}

int convert_info_main(int argc, char **argv) {
  const char *pos[1];
  int help, n_pos;
  if (convert_parse_args(argc, argv, NULL, 0, &help, pos, 1, &n_pos) != MDI_OK) {
    mdi_log_error("info: %s (see 'mdi_convert info --help')", mdi_error());
    return CONVERT_EXIT_USAGE;
  }
  if (help) {
    usage(stdout);
    return CONVERT_EXIT_OK;
  }
  if (n_pos != 1) {
    mdi_log_error("info: expected FILE.h5 (see 'mdi_convert info --help')");
    return CONVERT_EXIT_USAGE;
  }
  if (info(pos[0]) != MDI_OK) {
    fflush(stdout);
    mdi_log_error("%s", mdi_error());
    return CONVERT_EXIT_FAIL;
  }
  return CONVERT_EXIT_OK;
}
