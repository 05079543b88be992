/* Helpers shared by the mdi_convert subcommands: arguments, the output
 * path, the model layout and messages. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "convert.h"
#include "mdi/base/error.h"

int convert_parse_args(int argc, char **argv, const struct convert_opt *opts, int n_opts,
                       int *help, const char **pos, int max_pos, int *n_pos) {
  *help = 0;
  *n_pos = 0;
  int options_done = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (options_done || a[0] != '-' || a[1] == '\0') { /* "-" alone is a file name */
      if (*n_pos == max_pos) return mdi_fail("unexpected argument '%s'", a);
      pos[(*n_pos)++] = a;
      continue;
    }
    if (strcmp(a, "--") == 0) {
      options_done = 1;
    } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      *help = 1;
    } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
      mdi_log_set_quiet(1);
    } else {
      int k = 0;
      size_t len = 0;
      for (; k < n_opts; k++) {
        len = strlen(opts[k].name);
        if (strncmp(a, opts[k].name, len) == 0 && (a[len] == '\0' || a[len] == '=')) break;
      }
      if (k == n_opts) return mdi_fail("unknown option '%s'", a);
      if (a[len] == '=') {
        *opts[k].value = a + len + 1;
      } else {
        if (i + 1 >= argc) return mdi_fail("option %s needs a value", opts[k].name);
        *opts[k].value = argv[++i];
      }
    }
  }
  return MDI_OK;
}

int convert_check_output(const char *out, const char *const *inputs, int n_inputs) {
  /* the directory must exist: say so plainly rather than as an HDF5 failure */
  char dir[4096];
  const char *slash = strrchr(out, '/');
  if (slash) {
    size_t n = slash == out ? 1 : (size_t)(slash - out);
    if (n >= sizeof dir) return mdi_fail("%s: output path too long", out);
    memcpy(dir, out, n);
    dir[n] = '\0';
    struct stat ds;
    if (stat(dir, &ds) != 0)
      return mdi_fail("%s: cannot create the output: directory %s: %s", out, dir, strerror(errno));
    if (!S_ISDIR(ds.st_mode))
      return mdi_fail("%s: cannot create the output: %s is not a directory", out, dir);
  }
  struct stat os;
  if (stat(out, &os) != 0) return MDI_OK; /* a new file */
  if (S_ISDIR(os.st_mode)) return mdi_fail("%s: output is a directory", out);
  /* the output is written beside and renamed over it, or truncated: either
   * would replace a device node or a FIFO (as root, /dev/null) */
  if (!S_ISREG(os.st_mode))
    return mdi_fail("%s: output is %s, not a regular file; mdi_convert never replaces one", out,
                    S_ISFIFO(os.st_mode) ? "a FIFO" : S_ISCHR(os.st_mode) || S_ISBLK(os.st_mode) ? "a device" : "a socket");
  for (int i = 0; i < n_inputs; i++) {
    struct stat is;
    if (stat(inputs[i], &is) == 0 && is.st_dev == os.st_dev && is.st_ino == os.st_ino)
      return mdi_fail("%s: output is the input file %s (it would be overwritten)", out, inputs[i]);
  }
  return MDI_OK;
}

#define TMP_SUFFIX ".tmp"

int convert_tmp_name(const char *out, const char *const *inputs, int n_inputs, char **tmp) {
  *tmp = NULL;
  if (convert_check_output(out, inputs, n_inputs) != MDI_OK) return MDI_ERR;
  const size_t size = strlen(out) + sizeof TMP_SUFFIX;
  char *t = mdi_malloc(size, "file name");
  if (!t) return MDI_ERR;
  snprintf(t, size, "%s" TMP_SUFFIX, out);
  if (convert_check_output(t, inputs, n_inputs) != MDI_OK) {
    free(t);
    return MDI_ERR;
  }
  *tmp = t;
  return MDI_OK;
}

int convert_tmp_begin(const char *out, const char *const *inputs, int n_inputs, char **tmp) {
  if (convert_tmp_name(out, inputs, n_inputs, tmp) != MDI_OK) return MDI_ERR;
  convert_remove_on_signal(*tmp);
  return MDI_OK;
}

int convert_tmp_end(char *tmp, const char *out, int rc) {
  if (!tmp) return rc;
  if (rc == MDI_OK && rename(tmp, out) != 0) rc = mdi_fail("%s: cannot rename %s to it: %s", out, tmp, strerror(errno));
  if (rc != MDI_OK) remove(tmp); /* the writers remove it on their failures already; this is the rename's */
  convert_remove_on_signal(NULL);
  free(tmp);
  return rc;
}

/* The files a signal removes: one output (signal_remove_one) or a list. */
static const char *signal_remove_one;
static char *const *volatile signal_remove_paths;
static volatile int signal_remove_count;

static void remove_and_die(int sig) {
  char *const *paths = signal_remove_paths;
  for (int i = 0; paths && i < signal_remove_count; i++)
    if (paths[i]) unlink(paths[i]); /* async-signal-safe */
  signal(sig, SIG_DFL);
  raise(sig);
}

void convert_remove_on_signal_list(char *const *paths, int n) {
  static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
  signal_remove_paths = NULL; /* never a list with a stale count */
  signal_remove_count = paths ? n : 0;
  signal_remove_paths = paths;
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = paths ? remove_and_die : SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sigaction(sigs[i], &sa, NULL);
  }
}

void convert_remove_on_signal(const char *out) {
  signal_remove_one = out;
  /* the list holds a pointer to the (const) path; unlink never writes it */
  convert_remove_on_signal_list(out ? (char *const *)&signal_remove_one : NULL, 1);
}

int convert_parse_int(const char *opt, const char *value, long lo, long hi, int *out) {
  char *end;
  errno = 0;
  long v = strtol(value, &end, 10);
  if (end == value || *end != '\0' || errno || v < lo || v > hi)
    return mdi_fail("%s: \"%s\" is not an integer in [%ld, %ld]", opt, value, lo, hi);
  *out = (int)v;
  return MDI_OK;
}

void convert_describe_hparams(const struct mdi_hparams *hp, char *buf, size_t size) {
  snprintf(buf, size,
           "dim %d, hidden_dim %d, n_layers %d, n_heads %d, n_kv_heads %d, vocab_size %d, "
           "seq_len %d",
           hp->dim, hp->hidden_dim, hp->n_layers, hp->n_heads, hp->n_kv_heads, hp->vocab_size,
           hp->seq_len);
}

size_t convert_param_count(const struct mdi_hparams *hp) {
  size_t n = 0;
  for (int i = 0; i < convert_tensor_count(hp); i++) {
    struct convert_tensor t;
    convert_tensor_at(hp, i, &t);
    n += (size_t)t.dims[0] * (size_t)t.dims[1];
  }
  return n;
}

void convert_report_written(const char *out, const struct mdi_hparams *hp) {
  const size_t params = convert_param_count(hp);
  mdi_log_info("wrote %s: %s, %d layers, dim %d, vocab %d, %zu parameters (%.1f MiB float32)%s",
               out, hp->arch, hp->n_layers, hp->dim, hp->vocab_size, params,
               (double)params * 4.0 / (1024.0 * 1024.0),
               hp->shared_classifier ? ", classifier shared with the embedding" : "");
}

const char *const convert_layer_tensor_names[CONVERT_N_LAYER_TENSORS] = {
    "attn_norm", "wq", "wk", "wv", "wo", "ffn_norm", "w1", "w2", "w3",
    "bq", "bk", "bv", "bo", "q_norm", "k_norm", "b1", "b2", "b3"};

int convert_layer_tensor_present(const struct mdi_hparams *hp, enum convert_layer_tensor t) {
  switch (t) {
    case CONVERT_BQ:
    case CONVERT_BK:
    case CONVERT_BV: return hp->qkv_bias;
    case CONVERT_BO: return hp->out_bias;
    case CONVERT_Q_NORM:
    case CONVERT_K_NORM: return hp->qk_norm;
    case CONVERT_B1:
    case CONVERT_B2:
    case CONVERT_B3: return hp->mlp_bias;
    default: return t >= 0 && t < CONVERT_N_LAYER_TENSORS;
  }
}

void convert_layer_shape(const struct mdi_hparams *hp, enum convert_layer_tensor t, int *ndims,
                         int64_t dims[2]) {
  const int64_t dim = hp->dim, kv = mdi_hparams_kv_dim(hp), hid = hp->hidden_dim, q = mdi_hparams_q_dim(hp);
  const int64_t vectors[CONVERT_N_LAYER_TENSORS] = {
      [CONVERT_ATTN_NORM] = dim, [CONVERT_FFN_NORM] = dim, [CONVERT_BQ] = q,      [CONVERT_BK] = kv,
      [CONVERT_BV] = kv,         [CONVERT_BO] = dim,       [CONVERT_B1] = hid,    [CONVERT_B2] = dim,
      [CONVERT_B3] = hid,        [CONVERT_Q_NORM] = mdi_hparams_head_size(hp),
      [CONVERT_K_NORM] = mdi_hparams_head_size(hp)};
  MDI_ASSERT(t >= 0 && t < CONVERT_N_LAYER_TENSORS);
  *ndims = 2;
  switch (t) {
    case CONVERT_WQ: dims[0] = q; dims[1] = dim; return;
    case CONVERT_WO: dims[0] = dim; dims[1] = q; return;
    case CONVERT_WK:
    case CONVERT_WV: dims[0] = kv; dims[1] = dim; return;
    case CONVERT_W1:
    case CONVERT_W3: dims[0] = hid; dims[1] = dim; return;
    case CONVERT_W2: dims[0] = dim; dims[1] = hid; return;
    default: *ndims = 1; dims[0] = vectors[t]; dims[1] = 1; return;
  }
}

void convert_rope_llama3(struct mdi_hparams *hp, double factor, double low, double high, double original) {
  const int rot = mdi_hparams_rope_dim(hp), pairs = rot / 2;
  MDI_ASSERT(pairs <= MDI_ROPE_MAX_FACTORS && high > low);
  for (int i = 0; i < pairs; i++) {
    const double wavelen = 2.0 * 3.14159265358979323846 * pow(hp->rope_theta, 2.0 * i / rot);
    double divisor = factor;
    if (wavelen < original / high) {
      divisor = 1.0;
    } else if (wavelen <= original / low) {
      const double smooth = (original / wavelen - low) / (high - low);
      divisor = 1.0 / ((1.0 - smooth) / factor + smooth);
    }
    hp->rope_factors[i] = (float)divisor;
  }
  hp->n_rope_factors = pairs;
  snprintf(hp->rope_scaling, sizeof hp->rope_scaling, "llama3");
}

int64_t convert_rope_source_row(int64_t row, int head_size, int rope_dim) {
  const int64_t head = row / head_size, w = row % head_size;
  if (w >= rope_dim) return row;
  return head * head_size + (w % 2) * (rope_dim / 2) + w / 2;
}

/* gpt2's layer tensors in canonical order; shapes: 'd' = dim, 'h' = hidden_dim,
 * 0 = a vector.  kv_dim = dim (gpt2 has no grouped-query attention). */
static const struct {
  const char *name;
  char rows, cols;
} gpt2_layer[] = {
    {"attn_norm", 'd', 0}, {"attn_norm_bias", 'd', 0}, {"wq", 'd', 'd'}, {"bq", 'd', 0},
    {"wk", 'd', 'd'},      {"bk", 'd', 0},             {"wv", 'd', 'd'}, {"bv", 'd', 0},
    {"wo", 'd', 'd'},      {"bo", 'd', 0},             {"ffn_norm", 'd', 0}, {"ffn_norm_bias", 'd', 0},
    {"w1", 'h', 'd'},      {"b1", 'h', 0},             {"w2", 'd', 'h'}, {"b2", 'd', 0},
};
#define GPT2_LAYER_TENSORS ((int)(sizeof gpt2_layer / sizeof gpt2_layer[0]))

int convert_layer_tensor_count(const struct mdi_hparams *hp) {
  if (mdi_hparams_is_gpt2(hp)) return GPT2_LAYER_TENSORS;
  int n = 0;
  for (int t = 0; t < CONVERT_N_LAYER_TENSORS; t++) n += convert_layer_tensor_present(hp, (enum convert_layer_tensor)t);
  return n;
}

void convert_layer_tensor_at(const struct mdi_hparams *hp, int k, const char **name, int *ndims, int64_t dims[2]) {
  MDI_ASSERT(k >= 0 && k < convert_layer_tensor_count(hp));
  if (!mdi_hparams_is_gpt2(hp)) {
    int t = 0; /* the k-th tensor present */
    for (int seen = -1;; t++) {
      seen += convert_layer_tensor_present(hp, (enum convert_layer_tensor)t);
      if (seen == k) break;
    }
    *name = convert_layer_tensor_names[t];
    convert_layer_shape(hp, (enum convert_layer_tensor)t, ndims, dims);
    return;
  }
  const int64_t d = hp->dim, h = hp->hidden_dim;
  *name = gpt2_layer[k].name;
  dims[0] = gpt2_layer[k].rows == 'h' ? h : d;
  dims[1] = gpt2_layer[k].cols == 0 ? 1 : gpt2_layer[k].cols == 'h' ? h : d;
  *ndims = gpt2_layer[k].cols == 0 ? 1 : 2;
}

/* The head's tensors before and after the layers, in canonical order:
 * llama: embedding | final_norm, classifier (when separate);
 * gpt2: embedding, position_embedding | final_norm, final_norm_bias. */
static int head_before(const struct mdi_hparams *hp) { return mdi_hparams_is_gpt2(hp) ? 2 : 1; }
static int head_after(const struct mdi_hparams *hp) {
  return mdi_hparams_is_gpt2(hp) ? 2 : 1 + !hp->shared_classifier;
}

int convert_tensor_count(const struct mdi_hparams *hp) {
  return head_before(hp) + hp->n_layers * convert_layer_tensor_count(hp) + head_after(hp);
}

static void set_tensor(struct convert_tensor *t, const char *name, int ndims, int64_t d0, int64_t d1) {
  snprintf(t->name, sizeof t->name, "%s", name);
  t->ndims = ndims;
  t->dims[0] = d0;
  t->dims[1] = ndims == 2 ? d1 : 1;
}

void convert_tensor_at(const struct mdi_hparams *hp, int index, struct convert_tensor *t) {
  MDI_ASSERT(index >= 0 && index < convert_tensor_count(hp));
  const int per_layer = convert_layer_tensor_count(hp), before = head_before(hp);
  const int after = index - before - hp->n_layers * per_layer; /* >= 0: a head tensor after the layers */
  t->layer = -1;
  if (index == 0) {
    set_tensor(t, "embedding", 2, hp->vocab_size, hp->dim);
  } else if (index < before) {
    set_tensor(t, "position_embedding", 2, hp->seq_len, hp->dim);
  } else if (after == 0) {
    set_tensor(t, "final_norm", 1, hp->dim, 1);
  } else if (after == 1) {
    if (mdi_hparams_is_gpt2(hp))
      set_tensor(t, "final_norm_bias", 1, hp->dim, 1);
    else
      set_tensor(t, "classifier", 2, hp->vocab_size, hp->dim);
  } else {
    const int k = index - before;
    const char *name;
    t->layer = k / per_layer;
    convert_layer_tensor_at(hp, k % per_layer, &name, &t->ndims, t->dims);
    mdi_weights_layer_name(t->name, t->layer, name);
  }
}

const char *convert_tensor_kind(const struct convert_tensor *t) {
  const char *slash = strrchr(t->name, '/');
  return slash ? slash + 1 : t->name;
}

int convert_model_quantized(struct mdi_h5 *f, const struct mdi_hparams *hp, int *quantized, char *why,
                            size_t size) {
  *quantized = 0;
  if (mdi_h5_attr_exists(f, "/", CONVERT_QUANT_ATTR)) {
    char value[32];
    if (mdi_h5_attr_string(f, "/", CONVERT_QUANT_ATTR, value, sizeof value) != MDI_OK) return MDI_ERR;
    snprintf(why, size, "root attribute %s = \"%s\"", CONVERT_QUANT_ATTR, value);
    *quantized = 1;
    return MDI_OK;
  }
  /* a file without the attribute may still hold matrices of blocks (the
   * loader goes by the dtype), or int8 ones of the old Q8_0 layout: look at
   * every matrix present */
  const int n = convert_tensor_count(hp);
  for (int i = 0; i < n; i++) {
    struct convert_tensor t;
    convert_tensor_at(hp, i, &t);
    if (t.ndims != 2 || !mdi_h5_exists(f, t.name)) continue;
    enum mdi_dtype type;
    if (mdi_h5_dtype(f, t.name, &type) != MDI_OK) return MDI_ERR;
    if (type == MDI_I8 || type == MDI_U8) {
      snprintf(why, size, "/%s is %s", t.name, type == MDI_I8 ? "int8" : "quantized");
      *quantized = 1;
      return MDI_OK;
    }
  }
  return MDI_OK;
}
