/* Shared pieces of mdi_convert (docs/FORMAT.md describes what it writes).
 *
 * The inputs are untrusted files: every read goes through convert_input,
 * which checks the range against the file size before seeking and names the
 * file, the item and the offset when something is missing.  Tensors are
 * copied in bounded chunks, so converting a model never needs much more
 * memory than one chunk, whatever the model's size. */
#ifndef MDI_CONVERT_H
#define MDI_CONVERT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mdi/model/hparams.h"
#include "mdi/model/weights.h"

struct mdi_h5;
struct mdi_h5w;

/* Exit codes of the tool and of every subcommand. */
#define CONVERT_EXIT_OK 0
#define CONVERT_EXIT_FAIL 1  /* bad input, I/O error */
#define CONVERT_EXIT_USAGE 2 /* bad command line */

/* ---- checked input ----------------------------------------------------- */

struct convert_input {
  FILE *f;
  const char *path; /* borrowed: names the file in every message */
  int64_t size;     /* bytes */
  int64_t pos;      /* cursor of the sequential reads */
};

/* Open a regular file for reading; the error names the path and the reason. */
int convert_input_open(struct convert_input *in, const char *path);
void convert_input_close(struct convert_input *in);

/* Read exactly n bytes at byte offset off.  `what` names the item in the
 * error ("header", "tensor blk.0.attn_q.weight"). */
int convert_input_read_at(struct convert_input *in, int64_t off, void *buf, size_t n,
                          const char *what);
/* Sequential reads from in->pos (which they advance). */
int convert_input_read(struct convert_input *in, void *buf, size_t n, const char *what);
int convert_input_skip(struct convert_input *in, int64_t n, const char *what);
static inline int64_t convert_input_left(const struct convert_input *in) {
  return in->size - in->pos;
}

/* ---- checked output ---------------------------------------------------- */

/* A binary file being written (the exporters); every write is checked and
 * names the file and the item. */
struct convert_output {
  FILE *f;
  const char *path;
};
int convert_output_open(struct convert_output *o, const char *path);
int convert_output_write(struct convert_output *o, const void *data, size_t n, const char *what);
/* Close; on failure or when `failed`, remove the file. */
int convert_output_close(struct convert_output *o, int failed);

/* ---- tensor copies ----------------------------------------------------- */

/* How a tensor is stored in the input: float32, half floats or bfloat16
 * (widened to float32 by convert_io.c's read_floats), or rows of GGUF blocks
 * of a quantized type (kept as blocks). */
enum convert_src_type { CONVERT_SRC_F32, CONVERT_SRC_F16, CONVERT_SRC_BF16, CONVERT_SRC_BLOCKS };

/* Bytes per element of a float source type. */
size_t convert_src_size(enum convert_src_type type);

/* *same = 1 when the `bytes` bytes at offsets a and b of `in` are equal, 0
 * when not; MDI_ERR on a read error. */
int convert_same_bytes(struct convert_input *in, int64_t a, int64_t b, int64_t bytes,
                       const char *what, int *same);

/* ---- tokenizers ---------------------------------------------------------- */

#include "mdi/model/tokenizer.h"

/* Read a llama2.c tokenizer.bin holding `vocab_size` tokens (the model's):
 * int32 max_token_length, then per token float32 score, int32 len, len bytes.
 * BOS = 1, EOS = 2, stop ids {1, 2} as run.c uses them. */
int convert_read_llama2c_tokenizer(struct mdi_tokenizer *t, const char *path, int vocab_size);

/* Special token ids from a Hugging Face config.json. */
struct convert_hf_ids {
  int bos_id;                       /* -1: not given */
  int eos_ids[MDI_MAX_STOP_IDS];    /* eos_token_id: one id or a list */
  int n_eos;
};

/* What a Hugging Face config.json says (convert_hf_config.c).  Every class
 * but GPT-2 becomes arch llama with its options (hparams.h). */
enum convert_hf_arch {
  CONVERT_HF_GPT2,    /* GPT2LMHeadModel */
  CONVERT_HF_LLAMA,   /* LlamaForCausalLM (Llama 2, 3.x, SmolLM2, TinyLlama) */
  CONVERT_HF_MISTRAL, /* MistralForCausalLM */
  CONVERT_HF_QWEN2,   /* Qwen2ForCausalLM (Qwen2, Qwen2.5) */
  CONVERT_HF_QWEN3,   /* Qwen3ForCausalLM */
  CONVERT_HF_PHI3     /* Phi3ForCausalLM (Phi-3, Phi-3.5, Phi-4-mini): fused qkv_proj, gate_up_proj */
};
struct convert_hf_config {
  enum convert_hf_arch arch;
  const char *cls;            /* the class name, for messages */
  struct mdi_hparams hp;      /* validated; shared_classifier from tie_word_embeddings */
  int tie;                    /* tie_word_embeddings */
  struct convert_hf_ids ids;  /* bos_token_id, eos_token_id */
};

/* Read DIR/config.json.  Settings the runtime cannot compute (other rope
 * scalings, activations, mixtures of experts, ...) are refused by name. */
int convert_read_hf_config(const char *dir, struct convert_hf_config *c);

/* Read a Hugging Face tokenizer.json (a BPE model) for a model of
 * `vocab_size` tokens as a tokenizer of kind "hf" (convert_hf_tokenizer.c):
 * its normalizer, pre-tokenizer, added tokens, post-processor and decoder
 * are kept and run as tokenizers runs them; what is not supported is
 * refused by name.  Stop ids: the eos ids. */
int convert_read_hf_tokenizer_json(struct mdi_tokenizer *t, const char *path, int vocab_size,
                                   const struct convert_hf_ids *ids);
/* The tokenizer of a Hugging Face directory: DIR/tokenizer.json as above,
 * then DIR/tokenizer_config.json (the chat template, recognised as one of
 * the built-in chat formats, and its bos/eos strings) and
 * DIR/generation_config.json (more stop ids), both optional
 * (convert_hf_chat.c). */
int convert_read_hf_tokenizer(struct mdi_tokenizer *t, const char *dir, int vocab_size,
                              const struct convert_hf_ids *ids);

/* ---- model layout (docs/FORMAT.md) -------------------------------------- */

/* The tensors of one layer, in the order the model file lists them: Llama
 * 2's block, then those of the llama options (hparams.h), each present only
 * when the hparams say so. */
enum convert_layer_tensor {
  CONVERT_ATTN_NORM, /* [dim] */
  CONVERT_WQ,        /* [q_dim][dim] */
  CONVERT_WK,        /* [kv_dim][dim] */
  CONVERT_WV,        /* [kv_dim][dim] */
  CONVERT_WO,        /* [dim][q_dim] */
  CONVERT_FFN_NORM,  /* [dim] */
  CONVERT_W1,        /* [hidden][dim] gate */
  CONVERT_W2,        /* [dim][hidden] down */
  CONVERT_W3,        /* [hidden][dim] up */
  CONVERT_BQ,        /* [q_dim]   qkv_bias */
  CONVERT_BK,        /* [kv_dim]  qkv_bias */
  CONVERT_BV,        /* [kv_dim]  qkv_bias */
  CONVERT_BO,        /* [dim]     out_bias */
  CONVERT_Q_NORM,    /* [head_size] qk_norm */
  CONVERT_K_NORM,    /* [head_size] qk_norm */
  CONVERT_B1,        /* [hidden]  mlp_bias */
  CONVERT_B2,        /* [dim]     mlp_bias */
  CONVERT_B3,        /* [hidden]  mlp_bias */
  CONVERT_N_LAYER_TENSORS
};
/* Llama 2's block: the first tensors of the enum, all a llama2.c checkpoint holds. */
#define CONVERT_N_LLAMA2_TENSORS (CONVERT_W3 + 1)

/* Dataset names below layers/NNN/ ("attn_norm", "wq", ...). */
extern const char *const convert_layer_tensor_names[CONVERT_N_LAYER_TENSORS];

/* 1 when a llama model with these hparams has tensor t in each layer. */
int convert_layer_tensor_present(const struct mdi_hparams *hp, enum convert_layer_tensor t);

/* Row-major [out][in] shape of a layer tensor (ndims 1 or 2). */
void convert_layer_shape(const struct mdi_hparams *hp, enum convert_layer_tensor t, int *ndims,
                         int64_t dims[2]);

/* ---- writing the model --------------------------------------------------- */

/* Where one tensor lies in the input file. */
struct convert_tensor_src {
  int64_t off;                /* byte offset of the first element */
  enum convert_src_type type; /* element type: floats converted to float32, or blocks */
  enum mdi_matrix_type qtype; /* CONVERT_SRC_BLOCKS: the block type */
  int rope_head_size;         /* > 0: the rows (q/k, their biases and norms) are heads of rope_head_size
                                 rows in Hugging Face's rotate-half RoPE order, permuted on the way */
  int rope_dim;               /* with rope_head_size: the rotated rows at the start of each head */
  const char *name;           /* the tensor's name in the input (GGUF), for messages; NULL when it has none */
};

/* RoPE row order.  The model file pairs rows (2i, 2i+1) of a head; Hugging
 * Face (and llama.cpp for its NEOX archs: qwen2, qwen3, phi3) pairs rows
 * (i, i + rope_dim/2).  The source row of our row `row` of a matrix whose rows
 * are heads of head_size rows, the first rope_dim of each rotating: within
 * the rotated part, our 2i + t is the source's t * rope_dim/2 + i; the other
 * rows stay.  The inverse of convert_hf_to_gguf.py's LlamaModel.permute. */
int64_t convert_rope_source_row(int64_t row, int head_size, int rope_dim);

/* Bytes of a rows x cols tensor of src in the input. */
int64_t convert_src_bytes(const struct convert_tensor_src *src, int64_t rows, int64_t cols);

/* Write tensor src (shape dims[0..ndims)) as dataset `name`: a matrix of
 * blocks stays quantized (uint8 [rows][row bytes] with its type attribute);
 * floats, and a vector of blocks (dequantized), become float32.  Large
 * tensors go through in chunks of rows.  Rows (or a vector's elements) in
 * rotate-half order are permuted, blocks row by row.  A block whose scale is
 * NaN or infinite is an error naming the tensor (src->name and `name`), row
 * and block. */
int convert_write_src(struct convert_input *in, const struct convert_tensor_src *src, struct mdi_h5w *w,
                      const char *name, int ndims, const int64_t *dims);

/* A model located in an input file, ready to be written. */
struct convert_model_src {
  struct convert_input *in;
  struct mdi_hparams hp;      /* validated */
  struct convert_tensor_src embedding;  /* [vocab][dim] */
  struct convert_tensor_src final_norm; /* [dim] */
  struct convert_tensor_src classifier; /* [vocab][dim], unused when hp.shared_classifier */
  struct convert_tensor_src *layers;    /* [n_layers][CONVERT_N_LAYER_TENSORS]; absent tensors unused */
  char quantization[32];      /* root attribute CONVERT_QUANT_ATTR when a tensor is quantized, else "" */
};

/* ---- reading the checkpoint formats ------------------------------------- */

/* The parsers of `mdi_convert llama2c` and `mdi_convert gguf` without the
 * writing, also driven by the fuzz harnesses (tests/fuzz/).  Both fill src
 * (src->in is the input; src->layers is allocated here and freed by the
 * caller with free, also after a failure) once every tensor is known to
 * lie inside the file. */
/* A llama2.c checkpoint open in `in`; *format names its header kind. */
int convert_llama2c_locate(struct convert_input *in, struct convert_model_src *src,
                           const char **format);
/* An open GGUF file; also builds its tokenizer (tok is valid, to be freed,
 * only on success). */
struct gguf_file;
int convert_gguf_locate(struct gguf_file *g, struct convert_model_src *src,
                        struct mdi_tokenizer *tok);
/* The tokenizer of an open GGUF file from llama.cpp's tokenizer.ggml.*
 * metadata and tokenizer.chat_template, for a model of `vocab` tokens
 * (convert_gguf_tokenizer.c): "llama" vocabularies as the sentencepiece
 * kind, "gpt2" ones as an hf pipeline chosen by tokenizer.ggml.pre. */
int convert_gguf_read_tokenizer(struct gguf_file *g, int vocab, struct mdi_tokenizer *t);

/* Write the whole model file `out` (hparams, tensors one by one, tokenizer)
 * through OUT.tmp (convert_tmp_begin; `inputs` are the files read); on any
 * error the partial file is removed and an earlier `out` is left as it was. */
int convert_write_model(const struct convert_model_src *src, const struct mdi_tokenizer *tok, const char *out,
                        const char *const *inputs, int n_inputs);

/* ---- the model's weight tensors, and reading them from a model file ------ */

/* Bytes of float32 per chunk when tensors are streamed: bounds the memory of
 * every subcommand, whatever the model's size. */
#define CONVERT_CHUNK_BYTES ((size_t)16 << 20)

/* One weight tensor of the model file (docs/FORMAT.md). */
struct convert_tensor {
  char name[MDI_NAME_MAX]; /* "embedding", "layers/003/wq", ... */
  int layer;               /* its layer, -1 for the head's tensors (embedding, norms, classifier) */
  int ndims;               /* 1 (norms, biases) or 2 ([out][in] matrices, embeddings) */
  int64_t dims[2];         /* shape; dims[1] = 1 for a vector */
};

/* The model's weight tensors in canonical order.  llama: embedding, every
 * layer's tensors (layer 0 first, each in enum convert_layer_tensor order),
 * final_norm, then classifier when not shared.  gpt2: embedding,
 * position_embedding, every layer's attn_norm, attn_norm_bias, wq, bq, wk,
 * bk, wv, bv, wo, bo, ffn_norm, ffn_norm_bias, w1, b1, w2, b2, then
 * final_norm, final_norm_bias.  Fingerprints (split) and random weights
 * follow this order. */
int convert_tensor_count(const struct mdi_hparams *hp);
void convert_tensor_at(const struct mdi_hparams *hp, int index, struct convert_tensor *t);
/* The per-layer tensors of hp's arch in canonical order: their count, and
 * the name below layers/NNN/ and the shape of the k-th. */
int convert_layer_tensor_count(const struct mdi_hparams *hp);
/* The name without its layer: "embedding", "wq", "b1", ... (points into t->name). */
const char *convert_tensor_kind(const struct convert_tensor *t);
void convert_layer_tensor_at(const struct mdi_hparams *hp, int k, const char **name, int *ndims, int64_t dims[2]);

/* Receives consecutive rows [row0, row0 + nrows) of a tensor, `cols` floats
 * each (a vector is one row).  Returns MDI_OK or MDI_ERR (message set). */
typedef int (*convert_rows_fn)(void *ctx, const struct convert_tensor *t, const float *rows,
                               int64_t row0, int64_t nrows);

/* Read the float32 dataset t->name of an open model file in chunks of at
 * most CONVERT_CHUNK_BYTES and hand them to fn in row order. */
int convert_read_tensor_rows(struct mdi_h5 *f, const struct convert_tensor *t, convert_rows_fn fn,
                             void *ctx);

/* Bytes per element of a dtype of the model file. */
size_t convert_dtype_size(enum mdi_dtype type);

/* Receives consecutive rows [row0, row0 + nrows) of a 2-D dataset of
 * `type`: rows is [nrows][cols] as stored. */
typedef int (*convert_raw_rows_fn)(void *ctx, const char *name, enum mdi_dtype type, const void *rows,
                                   int64_t row0, int64_t nrows, int64_t cols);

/* Read the 2-D dataset `name` ([rows][cols] of `type`, checked) in chunks of
 * at most CONVERT_CHUNK_BYTES and hand them to fn in row order. */
int convert_read_dataset_rows(struct mdi_h5 *f, const char *name, enum mdi_dtype type, int64_t rows,
                              int64_t cols, convert_raw_rows_fn fn, void *ctx);

/* ---- quantized weights (docs/FORMAT.md, "Quantized weights") ------------- */

/* Root attribute naming the quantization of a quantized model file: the
 * llama.cpp file type it came from ("Q4_K_M") or the type every matrix was
 * quantized to ("Q4_K"); informative, the loader goes by each matrix. */
#define CONVERT_QUANT_ATTR "quantization"

/* *quantized = 1 when the model file holds quantized weights: it has the
 * root attribute `quantization`, or one of its weight matrices is stored
 * as blocks.  `why` (size bytes) then says which.  MDI_ERR on a read error. */
int convert_model_quantized(struct mdi_h5 *f, const struct mdi_hparams *hp, int *quantized, char *why,
                            size_t size);

/* ---- command line ------------------------------------------------------ */

/* An option that takes a value: "--name VALUE" or "--name=VALUE". */
struct convert_opt {
  const char *name;   /* "--tokenizer" */
  const char **value; /* set when given */
};

/* Split argv[1..argc) into options and positionals.  -h/--help sets *help,
 * -q/--quiet silences notes, "--" ends the options.  An unknown option, a
 * missing value or more than max_pos positionals is a usage error
 * (message set, MDI_ERR). */
int convert_parse_args(int argc, char **argv, const struct convert_opt *opts, int n_opts,
                       int *help, const char **pos, int max_pos, int *n_pos);

/* Fail (usage error) when `out` names one of the inputs: creating the output
 * truncates it first, which would destroy the input. */
int convert_check_output(const char *out, const char *const *inputs, int n_inputs);

/* An output file is written under a temporary name beside it (OUT.tmp) and
 * renamed over OUT only when complete: a failure or a signal leaves OUT as it
 * was, and a file that a running job has open is replaced, never truncated
 * under it.  convert_tmp_begin checks OUT and OUT.tmp against the inputs
 * (convert_check_output), sets *tmp (free it with convert_tmp_end) and arms
 * the removal of OUT.tmp on a signal (convert_tmp_name: the same without
 * arming, for several outputs).  convert_tmp_end(tmp, out, rc): with rc
 * MDI_OK renames tmp to out (a failed rename is an error, tmp removed),
 * otherwise removes tmp; disarms, frees tmp and returns the outcome. */
int convert_tmp_name(const char *out, const char *const *inputs, int n_inputs, char **tmp);
int convert_tmp_begin(const char *out, const char *const *inputs, int n_inputs, char **tmp);
int convert_tmp_end(char *tmp, const char *out, int rc);

/* While `out` is being written, SIGINT, SIGTERM and SIGHUP remove it before
 * the program dies, so an interrupted conversion leaves no partial model.
 * NULL disarms. */
void convert_remove_on_signal(const char *out);
/* The same for several files written at once (n of them; the array and the
 * strings must outlive the arming).  NULL disarms. */
void convert_remove_on_signal_list(char *const *paths, int n);

/* Llama 3's rope scaling (Hugging Face's rope_type "llama3") as the
 * frequency factors of hp (its rope_dim and rope_theta set): pairs whose
 * wavelength exceeds original / low turn `factor` times slower, those below
 * original / high keep their speed, the ones between blend smoothly. */
void convert_rope_llama3(struct mdi_hparams *hp, double factor, double low, double high, double original);

/* An integer option value in [lo, hi]; the error names the option. */
int convert_parse_int(const char *opt, const char *value, long lo, long hi, int *out);

/* "dim 64, hidden_dim 172, n_layers 5, ..." for messages. */
void convert_describe_hparams(const struct mdi_hparams *hp, char *buf, size_t size);

/* Weight parameters of the model (every tensor of the canonical order). */
size_t convert_param_count(const struct mdi_hparams *hp);

/* One-line summary after a successful conversion. */
void convert_report_written(const char *out, const struct mdi_hparams *hp);

/* The subcommands: argv[0] is the subcommand's name; they return an exit code. */
int convert_llama2c_main(int argc, char **argv);
int convert_gguf_main(int argc, char **argv);
int convert_info_main(int argc, char **argv);
int convert_split_main(int argc, char **argv);
int convert_random_main(int argc, char **argv);
int convert_export_llama2c_main(int argc, char **argv);
int convert_export_gguf_main(int argc, char **argv);
int convert_quantize_main(int argc, char **argv);
int convert_hf_main(int argc, char **argv);

#endif
