/* The --stats file (see stats.h and docs/PIPELINE.md). */
#include "mdi/app/stats.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mdi/base/error.h"
#include "mdi/base/json.h"

static void rank_json(struct mdi_json_writer *w, const struct mdi_rank_stats *r) {
  mdi_jw_object_begin(w, NULL);
  mdi_jw_int(w, "rank", r->rank);
  mdi_jw_cstring(w, "host", r->host);
  const int layers[2] = {r->layer_first, r->layer_last};
  mdi_jw_int_array(w, "layers", layers, 2);
  mdi_jw_double(w, "weights_bytes", r->weights_bytes);
  mdi_jw_int(w, "classifier_rows", r->classifier_rows);
  mdi_jw_double(w, "kv_bytes", r->kv_bytes);
  mdi_jw_double(w, "peak_rss_bytes", r->peak_rss_bytes);
  mdi_jw_double(w, "compute_s", r->compute_s);
  mdi_jw_double(w, "recv_wait_s", r->recv_wait_s);
  mdi_jw_double(w, "send_wait_s", r->send_wait_s);
  mdi_jw_double(w, "idle_s", r->idle_s);
  mdi_jw_double(w, "load_s", r->load_s);
  if (r->calib_layer_s > 0) {
    mdi_jw_double(w, "calib_layer_s", r->calib_layer_s);
    if (r->rank == 0) mdi_jw_double(w, "calib_head_s", r->calib_head_s);
    mdi_jw_double(w, "mem_available_bytes", r->mem_available_bytes);
  }
  mdi_jw_object_end(w);
}

int mdi_stats_write_json(const char *path, const struct mdi_run_stats *s) {
  struct mdi_json_writer w;
  mdi_jw_init(&w, 1);
  mdi_jw_object_begin(&w, NULL);
  mdi_jw_array_begin(&w, "ranks");
  for (int i = 0; i < s->n_ranks; i++) rank_json(&w, &s->ranks[i]);
  mdi_jw_array_end(&w);
  mdi_jw_int(&w, "n_ranks", s->n_ranks);
  mdi_jw_cstring(&w, "split", s->split);
  mdi_jw_int(&w, "classifier_tail", s->classifier_tail);
  mdi_jw_int(&w, "batch", s->batch);
  mdi_jw_int(&w, "micro_batches", s->micro_batches);
  mdi_jw_int(&w, "max_rows", s->max_rows);
  mdi_jw_int(&w, "max_seq_len", s->max_seq);
  mdi_jw_int(&w, "sequences", s->sequences);
  mdi_jw_int(&w, "trips", s->trips);
  mdi_jw_int(&w, "prompt_tokens", s->prompt_tokens);
  mdi_jw_int(&w, "generated_tokens", s->generated_tokens);
  mdi_jw_double(&w, "wall_s", s->wall_s);
  mdi_jw_double(&w, "tok_per_s", s->tok_per_s);
  mdi_jw_double(&w, "load_s", s->load_s);
  mdi_jw_object_end(&w);
  size_t len;
  const char *text = mdi_jw_text(&w, &len);
  FILE *f = fopen(path, "w");
  int ok = f && fwrite(text, 1, len, f) == len && fputc('\n', f) != EOF;
  if (f && fclose(f) != 0) ok = 0;
  mdi_jw_free(&w);
  if (!ok) return mdi_fail("%s: cannot write the stats file: %s", path, strerror(errno));
  return MDI_OK;
}
