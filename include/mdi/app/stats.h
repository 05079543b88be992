/* Run statistics: per-rank timers and memory, gathered on rank 0 and
 * written as JSON (--stats, a contract: see docs/PIPELINE.md). */
#ifndef MDI_STATS_H
#define MDI_STATS_H

#define MDI_HOST_MAX 64

struct mdi_rank_stats {
  int rank;
  char host[MDI_HOST_MAX];
  int layer_first, layer_last;  /* [first, last) */
  double weights_bytes;         /* resident weight bytes */
  int classifier_rows;          /* vocabulary rows whose logits it computes (rank 0 and the last rank) */
  double kv_bytes;              /* KV cache reserved */
  double peak_rss_bytes;
  double compute_s;             /* model math and sampling */
  double recv_wait_s;           /* blocked waiting for the previous rank */
  double send_wait_s;           /* blocked waiting for sends to complete */
  double idle_s;                /* wall time of the generation phase not spent computing */
  double load_s;                /* opening the model and reading this rank's weights */
  double calib_layer_s;         /* --split calibrate: measured seconds per layer and micro-batch */
  double calib_head_s;          /* rank 0: the same for embedding + classifier */
  double mem_available_bytes;   /* --split calibrate: memory the rank could use */
};

struct mdi_run_stats {
  int n_ranks;
  struct mdi_rank_stats *ranks; /* [n_ranks] ordered by rank */
  int batch, micro_batches, max_rows, max_seq;
  long sequences, trips;
  long prompt_tokens, generated_tokens;
  double wall_s;                /* first prompt entering the ring -> last token sampled */
  double tok_per_s;             /* generated_tokens / wall_s */
  double load_s;                /* start -> ready to generate (slowest rank) */
  char split[256];              /* layer counts per rank, "1,2,2" */
  int classifier_tail;          /* vocabulary rows the last rank classifies (0: rank 0 does all) */
};

/* Write s as JSON to path (the --stats file). */
int mdi_stats_write_json(const char *path, const struct mdi_run_stats *s);

#endif
