/* Fuzz harness: the GGUF reader (weights-tools/gguf_reader.c) and the model
 * and tokenizer reading of `mdi_convert gguf` (convert_gguf_locate).
 * Input: a GGUF file.  Beyond crashes and sanitizer reports it checks that
 * every tensor gguf_open accepts lies inside the file. */
#include <string.h>

#include "convert.h"
#include "fuzz_util.h"
#include "gguf_reader.h"
#include "mdi/base/error.h"
#include "mdi/model/tokenizer.h"

static int count_string(void *ctx, int64_t i, const char *s, size_t len) {
  (void)i;
  (void)s;
  *(size_t *)ctx += len;
  return 0;
}

/* Every typed read of every key, as a converter of any model may make it. */
static void read_every_value(struct gguf_file *g) {
  for (int64_t i = 0; i < g->n_kv; i++) {
    const struct gguf_kv *kv = &g->kv[i];
    int64_t v;
    double d;
    char buf[256];
    (void)gguf_get_int(g, kv->key, &v);
    (void)gguf_get_float(g, kv->key, &d);
    (void)gguf_get_string(g, kv->key, buf, sizeof buf);
    if (kv->type != GGUF_ARRAY) continue;
    if (kv->elem_type == GGUF_F32) {
      float *f = malloc((size_t)kv->count * sizeof *f + 1);
      FUZZ_CHECK(f);
      (void)gguf_read_f32_array(g, kv, f);
      free(f);
    } else if (kv->elem_type == GGUF_STRING) {
      size_t total = 0;
      if (gguf_read_string_array(g, kv, count_string, &total) == MDI_OK)
        FUZZ_CHECK(total <= (size_t)g->in.size);
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fuzz_temp_file(data, size, ".gguf");
  struct gguf_file g;
  if (gguf_open(&g, path) != MDI_OK) return 0;
  for (int64_t i = 0; i < g.n_tensors; i++) {
    const struct gguf_tensor *t = &g.tensors[i];
    FUZZ_CHECK(t->bytes > 0 && t->off >= g.data_start && t->off <= g.in.size &&
               t->bytes <= g.in.size - t->off);
    FUZZ_CHECK(gguf_find_tensor(&g, t->name) == t);
  }
  for (int64_t i = 0; i < g.n_kv; i++) FUZZ_CHECK(gguf_find_kv(&g, g.kv[i].key) == &g.kv[i]);
  read_every_value(&g);
  struct convert_model_src src;
  struct mdi_tokenizer tok;
  if (convert_gguf_locate(&g, &src, &tok) == MDI_OK) {
    fuzz_check_located(&src);
    FUZZ_CHECK(tok.vocab_size == src.hp.vocab_size);
    static const char text[] = "Once upon a time, \xc3\xbc \xe2\x96\x81 <0x41>\n";
    fuzz_check_roundtrip(&tok, text, sizeof text - 1, 0);
    mdi_tokenizer_free(&tok);
  }
  free(src.layers);
  gguf_close(&g);
  return 0;
}
