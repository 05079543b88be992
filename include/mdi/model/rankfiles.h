/* Per-rank model files (docs/FORMAT.md): PREFIX.rank000.h5, PREFIX.rank001.h5,
 * ... each holds the datasets of one rank only, plus root attributes that
 * describe the whole model and this file's place in the split:
 *   rank, n_ranks, layer_first, layer_last, split (int64[n_ranks]),
 *   model_fingerprint (string: the same in every file of one model). */
#ifndef MDI_RANKFILES_H
#define MDI_RANKFILES_H

#include <stddef.h>
#include <stdint.h>

struct mdi_h5;
struct mdi_h5w;

#define MDI_RANKFILE_SUFFIX_MAX 16 /* ".rank000.h5" */
#define MDI_FINGERPRINT_MAX 40

/* PREFIX.rankNNN.h5 into buf (size >= strlen(prefix) + MDI_RANKFILE_SUFFIX_MAX). */
void mdi_rankfile_path(char *buf, size_t size, const char *prefix, int rank);

/* The split attributes of a per-rank file. */
struct mdi_rankfile_info {
  int rank, n_ranks;
  int layer_first, layer_last;
  int split[1024];          /* layers per rank */
  char fingerprint[MDI_FINGERPRINT_MAX];
};

int mdi_rankfile_write_info(struct mdi_h5w *w, const struct mdi_rankfile_info *info);
/* 1 if the open file is a per-rank file (has the attributes), else 0. */
int mdi_rankfile_is_rankfile(struct mdi_h5 *f);
/* Read and check the attributes of rank `rank` of an `n_ranks` job: the
 * file must be this rank's, written for n_ranks ranks, its layer range must
 * match its split.  Errors name the file and the mismatch. */
int mdi_rankfile_read_info(struct mdi_h5 *f, int rank, int n_ranks, int n_layers,
                           struct mdi_rankfile_info *info);

/* Running 64-bit FNV-1a over bytes, as 16 hex digits: identifies a model. */
uint64_t mdi_fingerprint_update(uint64_t h, const void *data, size_t n);
#define MDI_FINGERPRINT_INIT 0xcbf29ce484222325ull

#endif
