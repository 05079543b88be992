/* Key/value cache of the layers a rank owns, for every sequence slot.
 * Layout [layer][slot][kv_head][pos][head_size]: one K/V head's positions of
 * one slot are contiguous, so attention streams them in order.  Memory is
 * touched only as positions are written (2 MiB at a time once the cache is
 * on huge pages), so resident memory grows with the sequences actually run. */
#ifndef MDI_KV_CACHE_H
#define MDI_KV_CACHE_H

#include <stddef.h>

struct mdi_kv_cache {
  int n_layers;   /* layers owned by this rank */
  int n_slots;    /* B x M sequence slots */
  int max_seq;    /* positions per slot */
  int kv_dim;
  float *keys;    /* [n_layers][n_slots][kv_heads][max_seq][head_size] */
  float *values;  /* same shape */
  size_t bytes;   /* keys + values */
};

int mdi_kv_init(struct mdi_kv_cache *kv, int n_layers, int n_slots, int max_seq, int kv_dim);
/* What mdi_kv_init reserves (keys + values), without allocating (SIZE_MAX
 * when it does not fit in size_t). */
size_t mdi_kv_bytes(int n_layers, int n_slots, int max_seq, int kv_dim);
void mdi_kv_free(struct mdi_kv_cache *kv);

/* [kv_heads][max_seq][head_size] block of one (layer, slot); layer counts from 0 within the rank. */
static inline float *mdi_kv_keys(const struct mdi_kv_cache *kv, int layer, int slot) {
  return kv->keys + (((size_t)layer * kv->n_slots + slot) * kv->max_seq) * kv->kv_dim;
}
static inline float *mdi_kv_values(const struct mdi_kv_cache *kv, int layer, int slot) {
  return kv->values + (((size_t)layer * kv->n_slots + slot) * kv->max_seq) * kv->kv_dim;
}

#endif
