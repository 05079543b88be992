/* --split calibrate (see calibrate.h). */
#include "mdi/ring/calibrate.h"

#include <stdlib.h>

#include "mdi/base/error.h"
#include "mdi/base/sysinfo.h"
#include "mdi/model/matmul.h"
#include "mdi/model/model.h"
#include "mdi/model/split.h"
#include "mdi/ring/comm.h"

int mdi_calibrate_split(const struct mdi_hparams *hp, const struct mdi_model_bytes *mb, int n_ranks, int B, int M,
                        int max_seq, int rank0_layers, int tail_want, int *counts, int *tail,
                        struct mdi_calibration *mine) {
  const int rank = mdi_comm_rank();
  /* the FFN's shape in the layers' own type; time scales with the bytes read */
  const double t = mdi_matmul_benchmark(mb->ffn_type, B, hp->hidden_dim, hp->dim);
  const double ffn_bytes = (double)hp->hidden_dim *
                           (double)(mb->ffn_type == MDI_MATRIX_F32 ? (size_t)hp->dim * 4
                                                                   : mdi_quant_row_bytes(mb->ffn_type, hp->dim));
  const double per_byte = t / ffn_bytes;
  mine->layer_s = per_byte * mb->layer_mean;
  mine->head_s = rank == 0 ? per_byte * mb->classifier : 0.0;
  mine->mem = mdi_mem_available_bytes();
  struct mdi_calibration *all = mdi_xcalloc((size_t)n_ranks, sizeof *all, "calibration");
  mdi_comm_gather(mine, sizeof *mine, all, 0);
  mdi_comm_bcast(all, (size_t)n_ranks * sizeof *all, 0);
  double *layer_s = mdi_xcalloc((size_t)n_ranks, sizeof(double), "calibration");
  int *max_layers = mdi_xcalloc((size_t)n_ranks, sizeof(int), "calibration");
  /* per layer: the largest layer's weights as stored and, at worst, every
   * slot's full KV cache for it */
  const double per_layer = mb->layer_max + 2.0 * B * M * (double)max_seq * mdi_hparams_kv_dim(hp) * sizeof(float);
  int ok = 1;
  for (int i = 0; i < n_ranks; i++) {
    ok &= all[i].layer_s > 0;
    layer_s[i] = all[i].layer_s;
    const double usable = 0.9 * all[i].mem - (i == 0 ? mb->vocab : 0.0);
    max_layers[i] = all[i].mem <= 0 ? -1 : usable <= 0 ? 0 : (int)(usable / per_layer);
  }
  int rc = ok ? mdi_split_plan_weighted_tail(hp->n_layers, n_ranks, layer_s, all[0].head_s, max_layers,
                                             rank0_layers, hp->vocab_size, tail_want, counts, tail)
              : mdi_fail("--split calibrate: a rank could not allocate its calibration matrix");
  /* the tail's weights must fit next to the last rank's layers and KV cache */
  const int last = n_ranks - 1;
  if (rc == MDI_OK && *tail > 0 && all[last].mem > 0 &&
      counts[last] * per_layer + mb->classifier * *tail / hp->vocab_size > 0.9 * all[last].mem) {
    if (tail_want > 0) {
      rc = mdi_fail("--classifier-tail %d: rank %d's memory cannot hold the tail next to its layers", tail_want, last);
    } else {
      *tail = 0;
      rc = mdi_split_plan_weighted_tail(hp->n_layers, n_ranks, layer_s, all[0].head_s, max_layers, rank0_layers,
                                        hp->vocab_size, 0, counts, tail);
    }
  }
  if (rc == MDI_OK && rank == 0) {
    char split[256];
    mdi_split_format(counts, n_ranks, split, sizeof split);
    mdi_log_info("calibrated split %s, classifier tail %d of %d rows on rank %d (ms per layer and micro-batch of "
                 "%d rows; rank 0 + %.2f ms classifier):", split, *tail, hp->vocab_size, n_ranks - 1, B,
                 1e3 * all[0].head_s);
    for (int i = 0; i < n_ranks; i++)
      mdi_log_info("  rank %d: %.3f ms/layer, %d layers, %.0f MB available", i, 1e3 * all[i].layer_s, counts[i],
                   all[i].mem / 1e6);
  }
  free(all);
  free(layer_s);
  free(max_layers);
  return rc;
}
