/* mdi_convert: converts model checkpoints (llama2.c, GGUF, Hugging Face) into
 * the mdi-llm HDF5 model file (docs/FORMAT.md), describes such files, splits
 * them into per-rank files, writes random models, quantizes to llama.cpp's
 * block types and exports back to llama2.c.  This file only dispatches to the subcommands. */
#include <stdio.h>
#include <string.h>

#include "convert.h"
#include "mdi/base/error.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: mdi_convert SUBCOMMAND [options] ARGS...\n"
          "\n"
          "subcommands:\n"
          "  llama2c MODEL.bin --tokenizer TOK.bin OUT.h5\n"
          "                     llama2.c checkpoint (legacy/v0 or version 1) + tokenizer.bin\n"
          "  gguf MODEL.gguf OUT.h5\n"
          "                     GGUF v2/v3 llama model: F32/F16, and Q8_0 .. Q6_K kept quantized\n"
          "  hf DIR OUT.h5      Hugging Face GPT2LMHeadModel or LlamaForCausalLM (safetensors,\n"
          "                     F32/F16/BF16, sharded or not) with its tokenizer.json\n"
          "  info FILE.h5       describe an mdi-llm model file (or one per-rank file)\n"
          "  split MODEL.h5 --ranks N PREFIX\n"
          "                     one file per rank: PREFIX.rank000.h5 .. PREFIX.rank{N-1}.h5\n"
          "  random --preset NAME OUT.h5\n"
          "                     random weights of a real shape ('--preset list')\n"
          "  quantize --type TYPE IN.h5 OUT.h5\n"
          "                     the weight matrices in q4_0, q4_k, q5_k, q6_k, q8_0, ... (as\n"
          "                     llama-quantize makes them), or f32 to dequantize\n"
          "  export-llama2c IN.h5 OUT.bin [--tokenizer-out TOK.bin]\n"
          "                     back to llama2.c's legacy checkpoint (and tokenizer.bin)\n"
          "  export-gguf IN.h5 OUT.gguf\n"
          "                     a GGUF for llama.cpp with the same weights (quantized ones as blocks)\n"
          "\n"
          "'mdi_convert SUBCOMMAND --help' describes each one; 'mdi_convert --version' prints\n"
          "the version.  Exit status: 0 on success, 1 on bad input or I/O errors, 2 on\n"
          "command-line errors.\n");
}

int main(int argc, char **argv) {
  mdi_log_set_program("mdi_convert");
  if (argc < 2) {
    usage(stderr);
    return CONVERT_EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
    usage(stdout);
    return CONVERT_EXIT_OK;
  }
  if (strcmp(cmd, "--version") == 0) {
    printf("mdi_convert %s\n", MDI_VERSION);
    return CONVERT_EXIT_OK;
  }
  if (strcmp(cmd, "llama2c") == 0) return convert_llama2c_main(argc - 1, argv + 1);
  if (strcmp(cmd, "gguf") == 0) return convert_gguf_main(argc - 1, argv + 1);
  if (strcmp(cmd, "hf") == 0) return convert_hf_main(argc - 1, argv + 1);
  if (strcmp(cmd, "info") == 0) return convert_info_main(argc - 1, argv + 1);
  if (strcmp(cmd, "split") == 0) return convert_split_main(argc - 1, argv + 1);
  if (strcmp(cmd, "random") == 0) return convert_random_main(argc - 1, argv + 1);
  if (strcmp(cmd, "quantize") == 0) return convert_quantize_main(argc - 1, argv + 1);
  if (strcmp(cmd, "export-gguf") == 0) return convert_export_gguf_main(argc - 1, argv + 1);
  if (strcmp(cmd, "export-llama2c") == 0) return convert_export_llama2c_main(argc - 1, argv + 1);
  mdi_log_error("unknown subcommand '%s' (see 'mdi_convert --help')", cmd);
  return CONVERT_EXIT_USAGE;
}
