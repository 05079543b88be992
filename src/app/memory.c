/* The memory check before loading (see memory.h). */
#include "mdi/app/memory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdi/base/error.h"

struct weights_ctx {
  int first, last, head;
  double bytes;
};

static int add_dataset(const struct mdi_h5_dataset_info *d, void *ctx) {
  struct weights_ctx *c = ctx;
  int layer;
  if (sscanf(d->name, "layers/%d/", &layer) == 1) {
    if (layer < c->first || layer >= c->last) return 0;
  } else if (!c->head || !strncmp(d->name, "tokenizer/", 10)) {
    return 0;
  }
  double n = (double)d->elem_size;
  for (int i = 0; i < d->ndims; i++) n *= (double)d->dims[i];
  c->bytes += n;
  return 0;
}

int mdi_memory_weights(struct mdi_h5 *f, int first, int last, int head, double *bytes) {
  struct weights_ctx c = {first, last, head, 0.0};
  const int rc = mdi_h5_list(f, add_dataset, &c);
  *bytes = c.bytes;
  return rc == 0 ? MDI_OK : MDI_ERR;
}

static double total(const struct mdi_memory_need *n) { return n->weights + n->kv + n->workspace + n->buffers; }

/* "1.23 GB" or "456 MB" */
static const char *size_text(double bytes, char *buf, size_t n) {
  if (bytes >= 1e9) snprintf(buf, n, "%.2f GB", bytes / 1e9);
  else snprintf(buf, n, "%.0f MB", bytes / 1e6 < 1 && bytes > 0 ? 1.0 : bytes / 1e6);
  return buf;
}

int mdi_memory_check(const struct mdi_memory_need *all, int n_ranks) {
  for (int i = 0; i < n_ranks; i++) {
    /* the first rank of each host speaks for its host */
    int seen = 0;
    for (int j = 0; j < i && !seen; j++) seen = !strcmp(all[j].host, all[i].host);
    if (seen || all[i].usable <= 0) continue;
    double need = 0;
    int n_here = 0, largest = i;
    char ranks[256] = "";
    size_t used = 0;
    for (int j = i; j < n_ranks; j++) {
      if (strcmp(all[j].host, all[i].host)) continue;
      need += total(&all[j]);
      if (total(&all[j]) > total(&all[largest])) largest = j;
      if (used < sizeof ranks)
        used += (size_t)snprintf(ranks + used, sizeof ranks - used, "%s%d", n_here ? ", " : "", all[j].rank);
      n_here++;
    }
    if (need <= all[i].usable) continue;
    const struct mdi_memory_need *l = &all[largest];
    char t[5][32], limit[96] = "";
    if (all[i].cgroup_limit > 0)
      snprintf(limit, sizeof limit, "; cgroup limit %s", size_text(all[i].cgroup_limit, t[0], sizeof t[0]));
    char who[320];
    if (n_here == 1)
      snprintf(who, sizeof who, "rank %d on %s needs %s", l->rank, l->host, size_text(need, t[1], sizeof t[1]));
    else
      snprintf(who, sizeof who, "ranks %s on %s need %s together", ranks, l->host, size_text(need, t[1], sizeof t[1]));
    char usable[32];
    size_text(all[i].usable, usable, sizeof usable);
    char mem_available[32];
    size_text(all[i].mem_available, mem_available, sizeof mem_available);
    return mdi_fail("not enough memory: %s but %s are usable there (MemAvailable %s%s); rank %d holds weights %s, "
                    "KV cache %s (%d layers x %d slots x %d positions), workspace and buffers %s. Reduce -b, "
                    "--micro-batches or --max-seq-len, run on more ranks, or quantize the weights to Q8_0 "
                    "(mdi_convert quantize --q8_0)",
                    who, usable, mem_available, limit, l->rank, size_text(l->weights, t[2], sizeof t[2]),
                    size_text(l->kv, t[3], sizeof t[3]), l->layers, l->slots, l->max_seq,
                    size_text(l->workspace + l->buffers, t[4], sizeof t[4]));
  }
  return MDI_OK;
}
