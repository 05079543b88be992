/* Per-rank model files: names and split attributes (see rankfiles.h). */
#include "mdi/model/rankfiles.h"

#include <stdio.h>
#include <string.h>

#include "mdi/base/error.h"
#include "mdi/model/weights.h"

void mdi_rankfile_path(char *buf, size_t size, const char *prefix, int rank) {
  snprintf(buf, size, "%s.rank%03d.h5", prefix, rank);
}

int mdi_rankfile_write_info(struct mdi_h5w *w, const struct mdi_rankfile_info *info) {
  int64_t split[1024];
  MDI_ASSERT(info->n_ranks >= 1 && info->n_ranks <= 1024);
  for (int i = 0; i < info->n_ranks; i++) split[i] = info->split[i];
  if (mdi_h5w_attr_int(w, "/", "rank", info->rank) || mdi_h5w_attr_int(w, "/", "n_ranks", info->n_ranks) ||
      mdi_h5w_attr_int(w, "/", "layer_first", info->layer_first) ||
      mdi_h5w_attr_int(w, "/", "layer_last", info->layer_last) ||
      mdi_h5w_attr_int_array(w, "/", "split", split, info->n_ranks) ||
      mdi_h5w_attr_string(w, "/", "model_fingerprint", info->fingerprint))
    return MDI_ERR;
  return MDI_OK;
}

int mdi_rankfile_is_rankfile(struct mdi_h5 *f) { return mdi_h5_attr_exists(f, "/", "n_ranks"); }

static int read_small_int(struct mdi_h5 *f, const char *attr, int lo, int hi, int *out) {
  int64_t v;
  if (mdi_h5_attr_int(f, "/", attr, &v) != MDI_OK) return MDI_ERR;
  if (v < lo || v > hi)
    return mdi_fail("%s: root attribute %s = %lld is out of range [%d, %d]", mdi_h5_path(f), attr,
                    (long long)v, lo, hi);
  *out = (int)v;
  return MDI_OK;
}

int mdi_rankfile_read_info(struct mdi_h5 *f, int rank, int n_ranks, int n_layers,
                           struct mdi_rankfile_info *info) {
  const char *path = mdi_h5_path(f);
  memset(info, 0, sizeof *info);
  if (read_small_int(f, "n_ranks", 1, 1024, &info->n_ranks) ||
      read_small_int(f, "rank", 0, info->n_ranks - 1, &info->rank) ||
      read_small_int(f, "layer_first", 0, n_layers, &info->layer_first) ||
      read_small_int(f, "layer_last", info->layer_first, n_layers, &info->layer_last))
    return MDI_ERR;
  if (info->n_ranks != n_ranks)
    return mdi_fail("%s was written for %d ranks but the job has %d (run with mpirun -np %d, or "
                    "split the model again with mdi_convert split --ranks %d)",
                    path, info->n_ranks, n_ranks, info->n_ranks, n_ranks);
  if (info->rank != rank) return mdi_fail("%s holds rank %d's layers, not rank %d's", path, info->rank, rank);
  int64_t split[1024];
  int n = 1024;
  if (mdi_h5_attr_int_array(f, "/", "split", split, &n) != MDI_OK) return MDI_ERR;
  if (n != n_ranks) return mdi_fail("%s: attribute split has %d entries for %d ranks", path, n, n_ranks);
  int first = 0, total = 0;
  for (int i = 0; i < n; i++) {
    if (split[i] < 0 || split[i] > n_layers) return mdi_fail("%s: attribute split is invalid", path);
    info->split[i] = (int)split[i];
    if (i < rank) first += info->split[i];
    total += info->split[i];
  }
  if (total != n_layers)
    return mdi_fail("%s: attribute split adds up to %d layers, the model has %d", path, total, n_layers);
  if (first != info->layer_first || first + info->split[rank] != info->layer_last)
    return mdi_fail("%s: layers [%d,%d) do not match its split", path, info->layer_first, info->layer_last);
  return mdi_h5_attr_string(f, "/", "model_fingerprint", info->fingerprint, sizeof info->fingerprint);
}

uint64_t mdi_fingerprint_update(uint64_t h, const void *data, size_t n) {
  const unsigned char *p = data;
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}
