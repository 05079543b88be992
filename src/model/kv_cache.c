/* KV cache allocation (see kv_cache.h). */
#include "mdi/model/kv_cache.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mdi/base/error.h"

size_t mdi_kv_bytes(int n_layers, int n_slots, int max_seq, int kv_dim) {
  const double bytes = 2.0 * n_layers * n_slots * (double)max_seq * kv_dim * sizeof(float);
  return bytes < (double)SIZE_MAX ? (size_t)bytes : SIZE_MAX;
}

int mdi_kv_init(struct mdi_kv_cache *kv, int n_layers, int n_slots, int max_seq, int kv_dim) {
  memset(kv, 0, sizeof *kv);
  kv->n_layers = n_layers;
  kv->n_slots = n_slots;
  kv->max_seq = max_seq;
  kv->kv_dim = kv_dim;
  size_t count = (size_t)n_layers * (size_t)n_slots * (size_t)max_seq * (size_t)kv_dim, bytes;
  if (mdi_mul_size(count, sizeof(float), &bytes) != MDI_OK) return MDI_ERR;
  if (count == 0) return MDI_OK;
  /* not zeroed (attention never reads a position before writing it), and
   * on transparent huge pages like the weights: attention streams it */
  kv->keys = mdi_aligned_alloc(bytes, "the key cache (reduce --max-seq-len, -b or --micro-batches)");
  if (!kv->keys) return MDI_ERR;
  kv->values = mdi_aligned_alloc(bytes, "the value cache (reduce --max-seq-len, -b or --micro-batches)");
  if (!kv->values) {
    mdi_kv_free(kv);
    return MDI_ERR;
  }
  kv->bytes = 2 * bytes;
  return MDI_OK;
}

void mdi_kv_free(struct mdi_kv_cache *kv) {
  free(kv->keys);
  free(kv->values);
  memset(kv, 0, sizeof *kv);
}
