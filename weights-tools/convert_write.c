/* Writes the HDF5 model file from tensors located in an input file: the
 * layout of docs/FORMAT.md, one tensor in memory at a time. */
#include <stdio.h>

#include "convert.h"
#include "mdi/base/error.h"
#include "mdi/model/tokenizer.h"
#include "mdi/model/weights.h"

static int write_tensors(const struct convert_model_src *src, struct mdi_h5w *w) {
  const struct mdi_hparams *hp = &src->hp;
  const int64_t emb_dims[2] = {hp->vocab_size, hp->dim}, norm_dims[1] = {hp->dim};
  if (convert_write_src(src->in, &src->embedding, w, "embedding", 2, emb_dims) != MDI_OK)
    return MDI_ERR;
  for (int l = 0; l < hp->n_layers; l++) {
    for (int t = 0; t < CONVERT_N_LAYER_TENSORS; t++) {
      if (!convert_layer_tensor_present(hp, (enum convert_layer_tensor)t)) continue;
      const struct convert_tensor_src *ts = &src->layers[(size_t)l * CONVERT_N_LAYER_TENSORS + t];
      char name[MDI_NAME_MAX];
      int ndims;
      int64_t dims[2];
      mdi_weights_layer_name(name, l, convert_layer_tensor_names[t]);
      convert_layer_shape(hp, (enum convert_layer_tensor)t, &ndims, dims);
      if (convert_write_src(src->in, ts, w, name, ndims, dims) != MDI_OK) return MDI_ERR;
    }
  }
  if (convert_write_src(src->in, &src->final_norm, w, "final_norm", 1, norm_dims) != MDI_OK)
    return MDI_ERR;
  if (!hp->shared_classifier &&
      convert_write_src(src->in, &src->classifier, w, "classifier", 2, emb_dims) != MDI_OK)
    return MDI_ERR;
  return MDI_OK;
}

int convert_write_model(const struct convert_model_src *src, const struct mdi_tokenizer *tok, const char *out,
                        const char *const *inputs, int n_inputs) {
  if (tok->vocab_size != src->hp.vocab_size)
    return mdi_fail("%s: the tokenizer has %d tokens but the model's vocab_size is %d",
                    src->in->path, tok->vocab_size, src->hp.vocab_size);
  char *tmp;
  if (convert_tmp_begin(out, inputs, n_inputs, &tmp) != MDI_OK) return MDI_ERR;
  struct mdi_h5w *w;
  int rc = mdi_h5w_create(&w, tmp);
  if (rc == MDI_OK) {
    if (mdi_h5w_write_hparams(w, &src->hp) != MDI_OK ||
        (src->quantization[0] && mdi_h5w_attr_string(w, "/", CONVERT_QUANT_ATTR, src->quantization) != MDI_OK) ||
        write_tensors(src, w) != MDI_OK || mdi_tokenizer_save(tok, w) != MDI_OK) {
      mdi_h5w_abandon(w);
      rc = MDI_ERR;
    } else {
      rc = mdi_h5w_close(w); /* removes the file when anything failed */
    }
  }
  return convert_tmp_end(tmp, out, rc);
}
