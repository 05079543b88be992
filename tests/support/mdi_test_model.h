/* A whole model in one process for the tests: head, all layers, a KV cache
 * and a workspace, loaded from an open model file. */
#ifndef MDI_TEST_MODEL_H
#define MDI_TEST_MODEL_H

#include <stdio.h>
#include <string.h>

#include "mdi/base/error.h"
#include "mdi/model/model.h"
#include "mdi/model/weights.h"

struct mdi_test_model {
  struct mdi_hparams hp;
  struct mdi_vocab_layers head;
  struct mdi_block block;
  struct mdi_kv_cache kv;
  struct mdi_workspace ws;
};

/* Every layer of f, `slots` KV-cache slots of max_seq positions (0: the
 * model's seq_len), a workspace for `max_rows` rows per forward call.
 * MDI_ERR after printing the error. */
static inline int mdi_test_model_load_seq(struct mdi_test_model *m, struct mdi_h5 *f, int slots, int max_rows,
                                          int max_seq) {
  memset(m, 0, sizeof *m);
  if (mdi_h5_read_hparams(f, &m->hp) != MDI_OK) {
    fprintf(stderr, "%s: %s\n", mdi_h5_path(f), mdi_error());
    return MDI_ERR;
  }
  if (max_seq <= 0) max_seq = m->hp.seq_len;
  if (mdi_vocab_layers_load(&m->head, f, &m->hp) || mdi_block_load(&m->block, f, &m->hp, 0, m->hp.n_layers, max_seq) ||
      mdi_kv_init(&m->kv, m->hp.n_layers, slots, max_seq, mdi_hparams_kv_dim(&m->hp)) ||
      mdi_workspace_init(&m->ws, &m->hp, max_rows, max_seq, 1)) {
    fprintf(stderr, "%s: %s\n", mdi_h5_path(f), mdi_error());
    return MDI_ERR;
  }
  return MDI_OK;
}

static inline int mdi_test_model_load(struct mdi_test_model *m, struct mdi_h5 *f, int slots, int max_rows) {
  return mdi_test_model_load_seq(m, f, slots, max_rows, 0);
}

/* The same from a file name. */
static inline int mdi_test_model_open_seq(struct mdi_test_model *m, const char *path, int slots, int max_rows,
                                          int max_seq) {
  struct mdi_h5 *f = NULL;
  if (mdi_h5_open(&f, path) != MDI_OK) {
    memset(m, 0, sizeof *m);
    fprintf(stderr, "%s: %s\n", path, mdi_error());
    return MDI_ERR;
  }
  const int rc = mdi_test_model_load_seq(m, f, slots, max_rows, max_seq);
  mdi_h5_close(f);
  return rc;
}

static inline int mdi_test_model_open(struct mdi_test_model *m, const char *path, int slots, int max_rows) {
  return mdi_test_model_open_seq(m, path, slots, max_rows, 0);
}

static inline void mdi_test_model_free(struct mdi_test_model *m) {
  mdi_workspace_free(&m->ws);
  mdi_kv_free(&m->kv);
  mdi_block_free(&m->block);
  mdi_vocab_layers_free(&m->head);
}

#endif
