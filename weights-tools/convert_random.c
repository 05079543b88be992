/* mdi_convert random: a model file with random weights of real shapes, for
 * benchmarks and tests of models that are not shipped (docs/FORMAT.md,
 * "Random models").
 *
 * Weights are uniform in [-1/sqrt(fan_in), 1/sqrt(fan_in)] (fan_in = the
 * row length of the [out][in] matrix; dim for the embedding), PyTorch's
 * default for linear layers: activations keep their scale through many
 * layers.  Norm weights are 1.  Each tensor has its own generator, seeded
 * from --seed and the tensor's canonical index, and is generated and written
 * in chunks of rows, so the same seed gives the same values whatever the
 * chunk size and only one chunk is in memory. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "mdi/base/error.h"
#include "mdi/model/tokenizer.h"
#include "mdi/model/weights.h"

/* A named model shape; the fields after `arch` are the llama options
 * (hparams.h) of today's open models, 0 when they are Llama 2's. */
struct preset {
  const char *name;
  int dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len;
  int shared_classifier;
  const char *what;
  const char *arch;
  float rope_theta, norm_eps; /* 0: 10000 and 1e-5 */
  int head_dim;
  float llama3_factor;        /* Llama 3's rope scaling: factor (low 1, high 4, original 8192) */
  int qkv_bias, qk_norm, sliding_window;
};

static const struct preset presets[] = {
    {"stories260K", 64, 172, 5, 8, 4, 512, 512, 1, "llama2.c's stories260K (shipped in models/)", .arch = "llama"},
    {"stories15M", 288, 768, 6, 6, 6, 32000, 256, 1, "llama2.c's stories15M", .arch = "llama"},
    {"stories110M", 768, 2048, 12, 12, 12, 32000, 1024, 1, "llama2.c's stories110M", .arch = "llama"},
    {"nanollama304m", 1024, 2816, 24, 16, 16, 32000, 1024, 0,
     "NanoLlama-304M-like: 308M parameters in its layers, untied classifier", .arch = "llama"},
    {"tinyllama1.1b", 2048, 5632, 22, 32, 4, 32000, 2048, 0, "TinyLlama-1.1B (GQA, untied classifier)",
     .arch = "llama"},
    {"llama3.2-1b", 2048, 8192, 16, 32, 8, 128256, 131072, 1, "Llama 3.2 1B (rope scaling llama3 x32)",
     .arch = "llama", .rope_theta = 500000.0f, .head_dim = 64, .llama3_factor = 32.0f},
    {"llama3.2-3b", 3072, 8192, 28, 24, 8, 128256, 131072, 1, "Llama 3.2 3B (head_dim 128, rope llama3 x32)",
     .arch = "llama", .rope_theta = 500000.0f, .head_dim = 128, .llama3_factor = 32.0f},
    {"llama3.1-8b", 4096, 14336, 32, 32, 8, 128256, 131072, 0, "Llama 3.1 8B (rope llama3 x8)", .arch = "llama",
     .rope_theta = 500000.0f, .head_dim = 128, .llama3_factor = 8.0f},
    {"qwen2.5-0.5b", 896, 4864, 24, 14, 2, 151936, 32768, 1, "Qwen2.5 0.5B (q/k/v biases)", .arch = "llama",
     .rope_theta = 1e6f, .norm_eps = 1e-6f, .head_dim = 64, .qkv_bias = 1},
    {"qwen3-0.6b", 1024, 3072, 28, 16, 8, 151936, 40960, 1, "Qwen3 0.6B (head_dim 128: q 2048 wide, qk_norm)",
     .arch = "llama", .rope_theta = 1e6f, .norm_eps = 1e-6f, .head_dim = 128, .qk_norm = 1},
    {"mistral-7b", 4096, 14336, 32, 32, 8, 32768, 32768, 0, "Mistral 7B v0.3", .arch = "llama", .rope_theta = 1e6f,
     .head_dim = 128},
    {"phi3-mini", 3072, 8192, 32, 32, 32, 32064, 4096, 0, "Phi-3-mini-4k (sliding window 2047)", .arch = "llama",
     .head_dim = 96, .sliding_window = 2047},
    {"smollm2-135m", 576, 1536, 30, 9, 3, 49152, 8192, 1, "SmolLM2-135M (9 heads of 64, 3 KV heads)", .arch = "llama",
     .rope_theta = 100000.0f},
    {"smollm2-360m", 960, 2560, 32, 15, 5, 49152, 8192, 1, "SmolLM2-360M (15 heads of 64, 5 KV heads)",
     .arch = "llama", .rope_theta = 100000.0f},
    {"smollm2-1.7b", 2048, 8192, 24, 32, 32, 49152, 8192, 1, "SmolLM2-1.7B", .arch = "llama",
     .rope_theta = 130000.0f},
    {"gpt2-small", 768, 3072, 12, 12, 12, 50257, 1024, 1, "GPT-2 small (124M)", .arch = "gpt2"},
    {"gpt2-medium", 1024, 4096, 24, 16, 16, 50257, 1024, 1, "GPT-2 medium (355M)", .arch = "gpt2"},
    {"gpt2-large", 1280, 5120, 36, 20, 20, 50257, 1024, 1, "GPT-2 large (774M)", .arch = "gpt2"},
    {"gpt2-xl", 1600, 6400, 48, 25, 25, 50257, 1024, 1, "GPT-2 XL (1558M)", .arch = "gpt2"},
};
#define N_PRESETS ((int)(sizeof presets / sizeof presets[0]))

static void preset_hparams(const struct preset *p, struct mdi_hparams *hp) {
  memset(hp, 0, sizeof *hp);
  snprintf(hp->arch, sizeof hp->arch, "%s", p->arch);
  hp->dim = p->dim;
  hp->hidden_dim = p->hidden_dim;
  hp->n_layers = p->n_layers;
  hp->n_heads = p->n_heads;
  hp->n_kv_heads = p->n_kv_heads;
  hp->vocab_size = p->vocab_size;
  hp->seq_len = p->seq_len;
  hp->norm_eps = p->norm_eps > 0 ? p->norm_eps : 1e-5f;
  hp->rope_theta = p->rope_theta > 0 ? p->rope_theta : 10000.0f;
  hp->shared_classifier = p->shared_classifier;
  hp->head_dim = p->head_dim;
  hp->qkv_bias = p->qkv_bias;
  hp->qk_norm = p->qk_norm;
  hp->sliding_window = p->sliding_window;
  if (p->llama3_factor > 0) convert_rope_llama3(hp, p->llama3_factor, 1.0, 4.0, 8192.0);
}

static void list_presets(void) {
  printf("%-14s %5s %6s %6s %5s %8s %6s %5s %-10s %14s %11s  %s\n", "preset", "dim", "hidden", "layers",
         "heads", "kv_heads", "vocab", "seq", "classifier", "parameters", "fp32", "shape of");
  for (int i = 0; i < N_PRESETS; i++) {
    struct mdi_hparams hp;
    preset_hparams(&presets[i], &hp);
    size_t n = convert_param_count(&hp);
    printf("%-14s %5d %6d %6d %5d %8d %6d %5d %-10s %14zu %7.1f MiB  %s\n", presets[i].name, hp.dim,
           hp.hidden_dim, hp.n_layers, hp.n_heads, hp.n_kv_heads, hp.vocab_size, hp.seq_len,
           hp.shared_classifier ? "shared" : "separate", n, (double)n * 4.0 / (1024.0 * 1024.0),
           presets[i].what);
  }
}

/* ---- the generator ------------------------------------------------------ */

/* SplitMix64: small, fast, and its output does not depend on the platform. */
static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

struct fill_ctx {
  uint64_t state; /* this tensor's generator */
  float bound;    /* values are uniform in [-bound, bound] */
};

/* count values: 53 random bits -> [0, 1) -> [-bound, bound], in double so
 * the result does not depend on float rounding modes of the compiler. */
static void fill_uniform(struct fill_ctx *c, float *out, size_t count) {
  for (size_t i = 0; i < count; i++) {
    double u = (double)(splitmix64(&c->state) >> 11) * 0x1.0p-53;
    out[i] = (float)((2.0 * u - 1.0) * (double)c->bound);
  }
}

/* Generate and write tensor t (index `index` in canonical order). */
static int write_random_tensor(struct mdi_h5w *w, const struct convert_tensor *t, int index, uint64_t seed,
                               float *buf, size_t buf_floats) {
  const int64_t rows = t->ndims == 2 ? t->dims[0] : 1, cols = t->ndims == 2 ? t->dims[1] : t->dims[0];
  if (t->ndims == 1) { /* norm weights 1; biases (gpt2) 0, as PyTorch initializes them */
    const int norm = strstr(convert_tensor_kind(t), "norm") && !strstr(convert_tensor_kind(t), "bias");
    for (int64_t i = 0; i < cols; i++) buf[i] = norm ? 1.0f : 0.0f;
    return mdi_h5w_write(w, t->name, MDI_F32, 1, t->dims, buf);
  }
  uint64_t mix = seed ^ (0xd1b54a32d192ed03ull * (uint64_t)(index + 1));
  struct fill_ctx c = {splitmix64(&mix), (float)(1.0 / sqrt((double)cols))};
  int64_t chunk_rows = (int64_t)(buf_floats / (size_t)cols);
  if (chunk_rows > rows) chunk_rows = rows;
  if (mdi_h5w_create_2d(w, t->name, MDI_F32, rows, cols) != MDI_OK) return MDI_ERR;
  for (int64_t r = 0; r < rows; r += chunk_rows) {
    int64_t n = rows - r < chunk_rows ? rows - r : chunk_rows;
    fill_uniform(&c, buf, (size_t)(n * cols));
    if (mdi_h5w_write_rows(w, t->name, MDI_F32, r, n, cols, buf) != MDI_OK) return MDI_ERR;
  }
  return MDI_OK;
}

/* ---- the tokenizer -------------------------------------------------------- */

#define SYNTH_FIRST_FREE 259 /* <unk>, <s>, </s>, then the 256 byte pieces */
static const char SYNTH_ALPHABET[] = " abcdefghijklmnopqrstuvwxyz";

/* A byte-level tokenizer of `vocab` pieces laid out as llama2.c's: 0 <unk>,
 * 1 <s>, 2 </s>, 3..258 <0x00>..<0xFF>, then the 95 printable ASCII
 * characters and strings over " a-z" of 2, 3, ... characters, all unique,
 * each with score -(id - 259) so that shorter, earlier pieces merge first. */
static int synth_tokenizer(struct mdi_tokenizer *t, int vocab) {
  if (vocab < SYNTH_FIRST_FREE)
    return mdi_fail("--vocab %d: a synthesized tokenizer needs at least %d pieces (<unk>, <s>, </s> "
                    "and 256 bytes); give --tokenizer", vocab, SYNTH_FIRST_FREE);
  const int alpha = (int)sizeof SYNTH_ALPHABET - 1;
  float *scores = mdi_malloc((size_t)vocab * sizeof *scores, "tokenizer scores");
  int64_t *off = mdi_malloc(((size_t)vocab + 1) * sizeof *off, "tokenizer offsets");
  uint8_t *bytes = mdi_malloc((size_t)vocab * 8, "tokenizer pieces"); /* every piece < 8 bytes */
  int rc = MDI_ERR;
  if (!scores || !off || !bytes) goto done;
  int64_t used = 0, len = 2, count = 0, index = 0; /* strings of `len` letters: count of them, index */
  off[0] = 0;
  for (int id = 0; id < vocab; id++) {
    char piece[16];
    if (id < 3) {
      snprintf(piece, sizeof piece, "%s", id == 0 ? "<unk>" : id == 1 ? "<s>" : "</s>");
    } else if (id < SYNTH_FIRST_FREE) {
      snprintf(piece, sizeof piece, "<0x%02X>", id - 3);
    } else if (id < SYNTH_FIRST_FREE + 95) {
      snprintf(piece, sizeof piece, "%c", (char)(' ' + id - SYNTH_FIRST_FREE));
    } else {
      if (index == count) { /* next length: alpha^len strings */
        if (count) len++;
        count = 1;
        for (int k = 0; k < len; k++) count *= alpha;
        index = 0;
      }
      if (len > 6) {
        mdi_fail("--vocab %d is too large for a synthesized tokenizer; give --tokenizer", vocab);
        goto done;
      }
      int64_t v = index++;
      for (int64_t k = len - 1; k >= 0; k--, v /= alpha) piece[k] = SYNTH_ALPHABET[v % alpha];
      piece[len] = '\0';
    }
    size_t n = strlen(piece);
    memcpy(bytes + used, piece, n);
    used += (int64_t)n;
    off[id + 1] = used;
    scores[id] = id < SYNTH_FIRST_FREE ? 0.0f : -(float)(id - SYNTH_FIRST_FREE);
  }
  const int stop[2] = {1, 2};
  rc = mdi_tokenizer_init(t, vocab, scores, bytes, off, 1, 2, stop, 2, "synthesized tokenizer");
done:
  free(scores);
  free(off);
  free(bytes);
  return rc;
}

/* A GPT-2-style byte-level BPE tokenizer of `vocab` pieces: 0..255 the bytes
 * (in GPT-2's byte-to-unicode spelling), then every string of 2, 3, ...
 * characters over " a-z", each the merge of its prefix and its last
 * character (rank = id - 256), and last "<|endoftext|>": BOS, EOS and the
 * only stop id, as in GPT-2. */
static int synth_byte_bpe(struct mdi_tokenizer *t, int vocab) {
  static const char eot[] = "<|endoftext|>";
  if (vocab < 257) return mdi_fail("--vocab %d: a synthesized byte-level tokenizer needs at least 257 pieces", vocab);
  const int alpha = (int)sizeof SYNTH_ALPHABET - 1, n_merges = vocab - 257;
  float *scores = mdi_malloc((size_t)vocab * sizeof *scores, "tokenizer scores");
  int64_t *off = mdi_malloc(((size_t)vocab + 1) * sizeof *off, "tokenizer offsets");
  uint8_t *bytes = mdi_malloc((size_t)vocab * 16, "tokenizer pieces"); /* pieces of <= 6 characters, <= 12 bytes */
  int32_t *merges = mdi_malloc((size_t)(n_merges > 0 ? n_merges : 1) * 2 * sizeof *merges, "tokenizer merges");
  int rc = MDI_ERR;
  if (!scores || !off || !bytes || !merges) goto done;
  int64_t used = 0, len = 2, count = 0, index = 0, first_of_len = 256, first_of_prev = 0;
  off[0] = 0;
  for (int id = 0; id < vocab; id++) {
    char piece[16];
    int n;
    scores[id] = -1e10f; /* the base pieces and the special token come from no merge */
    if (id < 256) {
      n = mdi_bpe_byte_char(id, piece);
    } else if (id == vocab - 1) {
      n = (int)strlen(eot);
      memcpy(piece, eot, (size_t)n);
    } else {
      if (index == count) { /* next length: alpha^len strings */
        if (count) len++, first_of_prev = first_of_len, first_of_len = id;
        count = 1;
        for (int k = 0; k < len; k++) count *= alpha;
        index = 0;
      }
      if (len > 6) {
        mdi_fail("--vocab %d is too large for a synthesized tokenizer", vocab);
        goto done;
      }
      const int64_t v = index++;
      /* the prefix is string v / alpha of the previous length (a byte for len 2) */
      const int64_t prefix = len == 2 ? (unsigned char)SYNTH_ALPHABET[v / alpha] : first_of_prev + v / alpha;
      const int last = (unsigned char)SYNTH_ALPHABET[v % alpha];
      const int64_t plen = off[prefix + 1] - off[prefix];
      memcpy(piece, bytes + off[prefix], (size_t)plen);
      n = (int)plen + mdi_bpe_byte_char(last, piece + plen);
      merges[2 * (id - 256)] = (int32_t)prefix;
      merges[2 * (id - 256) + 1] = last;
      scores[id] = -(float)(id - 256);
    }
    memcpy(bytes + used, piece, (size_t)n);
    used += n;
    off[id + 1] = used;
  }
  const int stop[1] = {vocab - 1};
  rc = mdi_tokenizer_init(t, vocab, scores, bytes, off, vocab - 1, vocab - 1, stop, 1, "synthesized tokenizer");
  if (rc == MDI_OK && (rc = mdi_tokenizer_set_byte_bpe(t, merges, n_merges, "synthesized tokenizer")) != MDI_OK)
    mdi_tokenizer_free(t);
done:
  free(scores);
  free(off);
  free(bytes);
  free(merges);
  return rc;
}

/* --tokenizer when it fits the vocabulary, else a synthesized one (byte-level
 * BPE for gpt2, SentencePiece-style for llama). */
static int make_tokenizer(struct mdi_tokenizer *t, const char *path, const struct mdi_hparams *hp) {
  const int vocab = hp->vocab_size;
  if (path) {
    if (convert_read_llama2c_tokenizer(t, path, vocab) == MDI_OK) return MDI_OK;
    mdi_log_warn("%s does not fit vocab_size %d (%s); writing a synthesized byte-level tokenizer",
                 path, vocab, mdi_error());
  }
  return mdi_hparams_is_gpt2(hp) ? synth_byte_bpe(t, vocab) : synth_tokenizer(t, vocab);
}

/* ---- the file ------------------------------------------------------------ */

static int write_random_model(const struct mdi_hparams *hp, uint64_t seed, const char *tok_path,
                              const char *out) {
  const char *inputs[1] = {tok_path};
  struct mdi_tokenizer tok;
  if (make_tokenizer(&tok, tok_path, hp) != MDI_OK) return MDI_ERR;
  const size_t buf_floats = CONVERT_CHUNK_BYTES / sizeof(float);
  float *buf = mdi_malloc(CONVERT_CHUNK_BYTES, "random weights"); /* one chunk of rows */
  struct mdi_h5w *w = NULL;
  char *tmp = NULL;
  int rc = MDI_ERR;
  if (!buf || convert_tmp_begin(out, inputs, tok_path ? 1 : 0, &tmp) != MDI_OK) goto done;
  if (mdi_h5w_create(&w, tmp) != MDI_OK) goto done;
  rc = mdi_h5w_write_hparams(w, hp);
  for (int i = 0; i < convert_tensor_count(hp) && rc == MDI_OK; i++) {
    struct convert_tensor t;
    convert_tensor_at(hp, i, &t);
    if ((size_t)t.dims[1] > buf_floats) { /* a row larger than a chunk: only absurd shapes */
      rc = mdi_fail("%s: rows of %lld floats are too long", t.name, (long long)t.dims[1]);
      break;
    }
    rc = write_random_tensor(w, &t, i, seed, buf, buf_floats);
  }
  if (rc == MDI_OK) rc = mdi_tokenizer_save(&tok, w);
  if (rc == MDI_OK) {
    rc = mdi_h5w_close(w); /* removes the file when anything failed */
  } else {
    mdi_h5w_abandon(w);
  }
done:
  rc = convert_tmp_end(tmp, out, rc);
  free(buf);
  mdi_tokenizer_free(&tok);
  return rc;
}

static void usage(FILE *out) {
  fprintf(out,
          "usage: mdi_convert random (--preset NAME | [--arch llama|gpt2] --dim D --hidden-dim H --layers L\n"
          "                          --heads NH --kv-heads NKV --vocab V --seq-len S) OUT.h5\n"
          "                          [--seed S] [--tokenizer TOK.bin] [--classifier shared|separate]\n"
          "\n"
          "Write a model file with random weights of real shapes, tensor by tensor (little\n"
          "memory whatever the size): uniform in +-1/sqrt(fan_in), norms 1, biases 0.  The\n"
          "same seed gives the same weights.  Options given with --preset override its values.\n"
          "The tokenizer is TOK.bin (llama2.c format) when it has the model's vocabulary,\n"
          "else a synthesized one: for llama SentencePiece-style (<unk>, <s>, </s>,\n"
          "<0x00>..<0xFF>, short strings), for gpt2 byte-level BPE (256 bytes, merges of\n"
          "short strings, <|endoftext|>).\n"
          "\n"
          "options:\n"
          "  --preset NAME       a known shape; '--preset list' prints them\n"
          "  --arch ARCH         llama (default) or gpt2 (learned positions, LayerNorm, GELU,\n"
          "                      biases, tied classifier; hidden-dim defaults to 4 x dim)\n"
          "  --dim D, --hidden-dim H, --layers L, --heads NH, --kv-heads NKV, --vocab V,\n"
          "  --seq-len S         the shape (kv-heads defaults to heads)\n"
          "  --classifier KIND   shared (the embedding; default without a preset) or separate\n"
          "  --seed S            generator seed (default 0)\n"
          "  --tokenizer TOK.bin llama2.c tokenizer to store when its vocabulary fits\n"
          "  -q, --quiet         no progress notes\n"
          "  -h, --help          this help\n");
}

/* The shape from --preset and the explicit options. */
static int resolve_hparams(const char *preset, const char *arch, const char *const *vals, const char *classifier,
                           struct mdi_hparams *hp) {
  static const char *const names[] = {"--dim", "--hidden-dim", "--layers", "--heads", "--kv-heads",
                                      "--vocab", "--seq-len"};
  int *fields[] = {&hp->dim, &hp->hidden_dim, &hp->n_layers, &hp->n_heads, &hp->n_kv_heads,
                   &hp->vocab_size, &hp->seq_len};
  struct preset none = {.name = "", .shared_classifier = 1, .what = "", .arch = "llama"};
  const struct preset *p = &none;
  if (preset) {
    p = NULL;
    for (int i = 0; i < N_PRESETS; i++)
      if (strcmp(preset, presets[i].name) == 0) p = &presets[i];
    if (!p) return mdi_fail("--preset %s: unknown preset ('--preset list' shows them)", preset);
  }
  preset_hparams(p, hp);
  if (arch) {
    if (strcmp(arch, "llama") != 0 && strcmp(arch, "gpt2") != 0)
      return mdi_fail("--arch %s: expected llama or gpt2", arch);
    snprintf(hp->arch, sizeof hp->arch, "%s", arch);
  }
  const int gpt2 = mdi_hparams_is_gpt2(hp);
  for (int i = 0; i < 7; i++)
    if (vals[i] && convert_parse_int(names[i], vals[i], 1, 1 << 30, fields[i]) != MDI_OK) return MDI_ERR;
  /* gpt2: no grouped-query attention, and GPT-2's FFN is 4 x dim unless told */
  if ((!vals[4] && !preset) || (gpt2 && !vals[4])) hp->n_kv_heads = hp->n_heads;
  if (gpt2 && !vals[1] && !preset && vals[0]) hp->hidden_dim = 4 * hp->dim;
  if (!preset)
    for (int i = 0; i < 7; i++)
      if (i != 4 && !(gpt2 && i == 1) && !vals[i]) return mdi_fail("%s is required without --preset", names[i]);
  if (classifier) {
    if (strcmp(classifier, "shared") != 0 && strcmp(classifier, "separate") != 0)
      return mdi_fail("--classifier %s: expected shared or separate", classifier);
    hp->shared_classifier = strcmp(classifier, "shared") == 0;
  }
  return mdi_hparams_validate(hp, "random model");
}

int convert_random_main(int argc, char **argv) {
  const char *preset = NULL, *arch = NULL, *seed_s = NULL, *tok = NULL, *classifier = NULL, *vals[7] = {0},
             *pos[1];
  const struct convert_opt opts[] = {
      {"--preset", &preset},   {"--seed", &seed_s},        {"--tokenizer", &tok},
      {"--classifier", &classifier}, {"--dim", &vals[0]}, {"--hidden-dim", &vals[1]},
      {"--layers", &vals[2]},  {"--heads", &vals[3]},      {"--kv-heads", &vals[4]},
      {"--vocab", &vals[5]},   {"--seq-len", &vals[6]},    {"--arch", &arch}};
  int help, n_pos;
  struct mdi_hparams hp;
  unsigned long long seed = 0;
  int rc = convert_parse_args(argc, argv, opts, 12, &help, pos, 1, &n_pos);
  if (rc == MDI_OK && help) {
    usage(stdout);
    return CONVERT_EXIT_OK;
  }
  if (rc == MDI_OK && preset && strcmp(preset, "list") == 0) {
    list_presets();
    return CONVERT_EXIT_OK;
  }
  if (rc == MDI_OK && n_pos != 1) rc = mdi_fail("expected OUT.h5");
  if (rc == MDI_OK) rc = resolve_hparams(preset, arch, vals, classifier, &hp);
  if (rc == MDI_OK && seed_s) {
    char *end;
    errno = 0;
    seed = strtoull(seed_s, &end, 10);
    if (end == seed_s || *end || errno || seed_s[0] == '-') rc = mdi_fail("--seed: \"%s\" is not a non-negative integer", seed_s);
  }
  if (rc != MDI_OK) {
    mdi_log_error("random: %s (see 'mdi_convert random --help')", mdi_error());
    return CONVERT_EXIT_USAGE;
  }
  const char *inputs[1] = {tok};
  if (convert_check_output(pos[0], inputs, tok ? 1 : 0) != MDI_OK ||
      write_random_model(&hp, (uint64_t)seed, tok, pos[0]) != MDI_OK) {
    mdi_log_error("%s", mdi_error());
    return CONVERT_EXIT_FAIL;
  }
  convert_report_written(pos[0], &hp);
  return CONVERT_EXIT_OK;
}
