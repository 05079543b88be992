/* mdi_pipeline: model-distributed inference over an MPI ring.
 *
 * Start-up is checked in phases; after each, all ranks agree whether every
 * rank succeeded, so a bad argument or file is reported once (by the rank
 * that saw it) and every rank exits non-zero without MPI_Abort noise.  Once
 * the ring runs, a failure ends the whole job through MPI_Abort. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdi/app/config.h"
#include "mdi/app/files.h"
#include "mdi/app/journal.h"
#include "mdi/app/memory.h"
#include "mdi/app/options.h"
#include "mdi/app/output.h"
#include "mdi/app/prompts.h"
#include "mdi/app/signals.h"
#include "mdi/app/serve.h"
#include "mdi/app/stats.h"
#include "mdi/base/error.h"
#include "mdi/base/path.h"
#include "mdi/base/progress.h"
#include "mdi/base/sysinfo.h"
#include "mdi/model/model.h"
#include "mdi/model/rankfiles.h"
#include "mdi/model/split.h"
#include "mdi/model/tokenizer.h"
#include "mdi/model/weights.h"
#include "mdi/ring/calibrate.h"
#include "mdi/ring/comm.h"
#include "mdi/ring/pipeline.h"

#define EXIT_USAGE 2

/* Everything one rank holds for a run. */
struct run {
  struct mdi_options opt;
  int rank, n_ranks;
  struct mdi_hparams hp;
  int *counts;                 /* [n_ranks] layers per rank */
  int tail;                    /* vocabulary rows whose logits the last rank computes (0: none) */
  int first, last;             /* this rank's layers */
  int B, M, max_seq, max_rows;
  struct mdi_h5 *file;
  int per_rank;                /* the model is split into PREFIX.rankNNN.h5 files */
  struct mdi_rankfile_info info; /* per-rank mode: this rank's file */
  struct mdi_block block;
  struct mdi_vocab_layers vocab; /* rank 0 */
  struct mdi_classifier_tail tail_rows; /* the last rank, when tail > 0 */
  struct mdi_tokenizer tok;    /* rank 0 */
  struct mdi_request *reqs;    /* rank 0 */
  int n_reqs;
  struct mdi_request_list list; /* rank 0: the requests as the ring's source */
  struct mdi_sched sched;      /* rank 0 */
  struct mdi_output out;       /* rank 0, batch runs */
  int front;                   /* requests arrive while the ring runs (--serve, -i) */
  struct mdi_serve *serve;     /* rank 0 with front */
  char journal_model[24];      /* rank 0, --resume: the journal's model digest ("" if none) */
  int n_total, n_done_before;  /* rank 0: the run's sequences, and those already in the journal */
  struct mdi_kv_cache kv;
  struct mdi_workspace ws;
  struct mdi_pipeline pipe;    /* this rank's loop, set up last */
  double t_start, load_s;
  int calibrate;               /* --split calibrate: plan from measured speeds */
  struct mdi_model_bytes bytes; /* what the layers and classifier take as stored (whole files) */
  double calib_layer_s, calib_head_s, mem_available;
};

/* The start-up phases, in order: each rank tells the others (heartbeats,
 * ring/comm.h) which one it is in, so a rank that stops is named with it. */
enum phase { PH_FILES, PH_MODEL, PH_SAME_MODEL, PH_CALIBRATE, PH_REQUESTS, PH_MEMORY, PH_WEIGHTS, PH_DIGEST,
             PH_FRONT, PH_RING, PH_REPORT, N_PHASES };
static const char *const phase_names[N_PHASES] = {
    "checking the files", "opening the model", "comparing the model files", "calibrating the split",
    "reading the prompts and the journal", "checking the memory", "loading the weights", "computing the model digest",
    "starting the server", "running the ring", "gathering the statistics"};
static int current_phase;
static int interrupted_by; /* the signal that stopped the run (every rank), 0: none */

static void enter(enum phase ph) {
  current_phase = ph;
  mdi_comm_set_phase(ph);
}

/* Collective: did every rank succeed?  The lowest failing rank prints its
 * message; a signal any rank caught (SIGINT, SIGTERM) stops the start-up
 * on every rank, reported once by rank 0. */
static int agree(int rc) {
  int first, sig;
  mdi_comm_agree(rc == MDI_OK, mdi_signals_caught(), &first, &sig);
  if (sig) {
    interrupted_by = sig;
    if (mdi_comm_rank() == 0)
      mdi_log_error("interrupted (%s) while %s: nothing was generated", strsignal(sig), phase_names[current_phase]);
    return 0;
  }
  if (first < 0) return 1;
  if (first == mdi_comm_rank()) mdi_log_error("%s", mdi_error());
  return 0;
}

/* base/progress.h: long work (reading the weights, encoding the prompts)
 * tells the other ranks it is alive, and stops when a signal came. */
static int progress_hook(void) {
  mdi_comm_alive();
  const int sig = mdi_signals_caught();
  return sig ? mdi_fail("interrupted (%s)", strsignal(sig)) : MDI_OK;
}

/* -m names a model file, or the prefix of per-rank files; each rank opens
 * only the file it needs (nodes need not share storage). */
static int open_model(struct run *r) {
  const char *m = r->opt.model;
  int kind = mdi_path_input(m, "the model file");
  if (kind != 0) return kind < 0 ? MDI_ERR : mdi_h5_open(&r->file, m);
  char path[4096];
  mdi_rankfile_path(path, sizeof path, m, r->rank);
  kind = mdi_path_input(path, "this rank's model file");
  if (kind < 0) return MDI_ERR;
  if (kind == 0) return mdi_fail("%s: no such model file, and no per-rank file %s (rank %d)", m, path, r->rank);
  r->per_rank = 1;
  return mdi_h5_open(&r->file, path);
}

/* The split of per-rank files is fixed by the files; options may only agree. */
static int split_from_files(struct run *r) {
  if (!mdi_rankfile_is_rankfile(r->file))
    return mdi_fail("%s is a whole model, not one rank's part of a split model (mdi_convert split writes "
                    "those): give it to -m by its own name", mdi_h5_path(r->file));
  if (mdi_rankfile_read_info(r->file, r->rank, r->n_ranks, r->hp.n_layers, &r->info) != MDI_OK)
    return MDI_ERR;
  char have[256];
  mdi_split_format(r->info.split, r->n_ranks, have, sizeof have);
  if (strcmp(r->opt.split, "auto") != 0 && strcmp(r->opt.split, have) != 0)
    return mdi_fail("--split %s does not match the per-rank files, which are split %s", r->opt.split, have);
  if (r->opt.rank0_layers >= 0 && r->opt.rank0_layers != r->info.split[0])
    return mdi_fail("--rank0-layers %d does not match the per-rank files, which give rank 0 %d layers",
                    r->opt.rank0_layers, r->info.split[0]);
  memcpy(r->counts, r->info.split, (size_t)r->n_ranks * sizeof(int));
  /* a rank's file holds only its own layers: rank 0 computes every logit */
  if (r->opt.classifier_tail > 0)
    return mdi_fail("--classifier-tail %d: per-rank files hold the classifier on rank 0 only", r->opt.classifier_tail);
  return MDI_OK;
}

static int setup_model(struct run *r) {
  if (open_model(r) != MDI_OK) return MDI_ERR;
  if (mdi_h5_read_hparams(r->file, &r->hp) != MDI_OK) return MDI_ERR;
  if (!r->per_rank && mdi_rankfile_is_rankfile(r->file))
    return mdi_fail("%s is one rank's part of a split model: pass its prefix to -m", r->opt.model);
  r->max_seq = r->opt.max_seq_len ? r->opt.max_seq_len : r->hp.seq_len;
  if (r->max_seq > r->hp.seq_len && mdi_hparams_is_gpt2(&r->hp))
    return mdi_fail("--max-seq-len %d: this gpt2 model has learned positions for %d tokens only", r->max_seq,
                    r->hp.seq_len);
  if (r->max_seq > r->hp.seq_len && r->rank == 0)
    mdi_log_warn("--max-seq-len %d exceeds the model's trained seq_len %d", r->max_seq, r->hp.seq_len);
  r->counts = mdi_xcalloc((size_t)r->n_ranks, sizeof(int), "split");
  r->B = r->opt.batch;
  r->M = r->opt.micro_batches ? r->opt.micro_batches : r->n_ranks;
  r->calibrate = strcmp(r->opt.split, "calibrate") == 0;
  if (r->calibrate && r->per_rank)
    return mdi_fail("--split calibrate: the split of per-rank files is fixed when they are written");
  if (r->calibrate && r->n_ranks - 1 > r->hp.n_layers)
    return mdi_fail("%d ranks need at least %d layers but the model has %d", r->n_ranks, r->n_ranks - 1,
                    r->hp.n_layers);
  if (r->per_rank) return split_from_files(r);
  /* the layers' and classifier's bytes as stored: a quantized model's types */
  if (mdi_model_bytes_read(r->file, &r->hp, &r->bytes) != MDI_OK) return MDI_ERR;
  if (r->calibrate) return MDI_OK; /* planned once every rank has measured itself */
  return mdi_split_plan_tail(&r->hp, r->bytes.layer_mean, r->bytes.classifier, r->n_ranks, r->opt.split,
                             r->opt.rank0_layers, r->opt.classifier_tail, r->counts, &r->tail);
}

/* Collective (--split calibrate): plan from every rank's measured speed and memory. */
static int calibrate_split(struct run *r) {
  struct mdi_calibration mine = {0};
  const int rc = mdi_calibrate_split(&r->hp, &r->bytes, r->n_ranks, r->B, r->M, r->max_seq, r->opt.rank0_layers,
                                     r->opt.classifier_tail, r->counts, &r->tail, &mine);
  r->calib_layer_s = mine.layer_s;
  r->calib_head_s = mine.head_s;
  r->mem_available = mine.mem;
  return rc;
}

static void assign_layers(struct run *r) {
  r->first = 0;
  for (int i = 0; i < r->rank; i++) r->first += r->counts[i];
  r->last = r->first + r->counts[r->rank];
}

/* Collective: every rank must load the same model the same way.  Per-rank
 * files of one model but of different splits each pass their own checks, so
 * the split is compared too (else a layer could be skipped or run twice). */
static int check_same_model(struct run *r) {
  struct {
    int per_rank;
    struct mdi_hparams hp;
    char fingerprint[MDI_FINGERPRINT_MAX];
    char split[256];
  } mine = {0}, root;
  mine.per_rank = r->per_rank;
  memcpy(&mine.hp, &r->hp, sizeof mine.hp);
  memcpy(mine.fingerprint, r->info.fingerprint, sizeof mine.fingerprint);
  mdi_split_format(r->counts, r->n_ranks, mine.split, sizeof mine.split);
  root = mine;
  mdi_comm_bcast(&root, sizeof root, 0);
  const char *path = mdi_h5_path(r->file);
  if (root.per_rank != mine.per_rank)
    return mdi_fail("%s: rank 0 reads %s but this rank reads %s", path,
                    root.per_rank ? "per-rank files" : "one model file", mine.per_rank ? "per-rank files" : "one model file");
  if (memcmp(&root.hp, &mine.hp, sizeof mine.hp) != 0 || strcmp(root.fingerprint, mine.fingerprint) != 0)
    return mdi_fail("%s belongs to another model than rank 0's file (fingerprint %s, rank 0 has %s)", path,
                    mine.fingerprint[0] ? mine.fingerprint : "-", root.fingerprint[0] ? root.fingerprint : "-");
  if (strcmp(root.split, mine.split) != 0)
    return mdi_fail("%s is split %s but rank 0's file is split %s (per-rank files of different splits)",
                    path, mine.split, root.split);
  return MDI_OK;
}

/* Every prompt goes out whole; all B of a micro-batch prefill together
 * when that stays small, else one long prompt plus B-1 decode rows. */
static void set_max_rows(struct run *r, int longest) {
  long all = (long)r->B * longest;
  r->max_rows = (int)(all <= 1024 ? all : (longest + r->B - 1 > 1024 ? longest + r->B - 1 : 1024));
}

/* Rank 0: tokenizer, prompts, output file; fixes the message capacity. */
static int setup_requests(struct run *r) {
  if (mdi_tokenizer_load(&r->tok, r->file) != MDI_OK) return MDI_ERR;
  if (r->tok.vocab_size != r->hp.vocab_size)
    return mdi_fail("%s: the tokenizer has %d pieces but vocab_size is %d", r->opt.model,
                    r->tok.vocab_size, r->hp.vocab_size);
  if (r->front) { /* any prompt up to max_seq tokens may come */
    set_max_rows(r, r->max_seq);
    return MDI_OK;
  }
  if (mdi_prompts_build(&r->opt, &r->tok, r->max_seq, &r->reqs, &r->n_reqs) != MDI_OK) return MDI_ERR;
  r->n_total = r->n_reqs;
  if (r->opt.output && mdi_journal_lock(r->opt.output) != MDI_OK) return MDI_ERR;
  if (r->opt.resume) {
    const int total = r->n_reqs;
    int skipped, torn;
    if (mdi_journal_resume(r->opt.output, r->reqs, &r->n_reqs, r->max_seq, r->journal_model, &skipped, &torn) !=
        MDI_OK)
      return MDI_ERR;
    r->n_done_before = skipped;
    if (torn) mdi_log_warn("%s: dropped a torn last line (that sequence is generated again)", r->opt.output);
    mdi_log_info("resuming: %d of %d sequences are already in %s, %d to go", skipped, total, r->opt.output,
                 r->n_reqs);
  }
  int longest = 1;
  for (int i = 0; i < r->n_reqs; i++)
    if (r->reqs[i].n_prompt > longest) longest = r->reqs[i].n_prompt;
  set_max_rows(r, longest);
  if (mdi_output_init(&r->out, &r->tok, r->opt.output, r->opt.resume, r->n_reqs, !r->opt.quiet) != MDI_OK)
    return MDI_ERR;
  return MDI_OK;
}

/* Collective: before loading, does what every rank will hold fit in the
 * memory of its host (app/memory.h)?  Rank 0 decides and says why not. */
static int check_memory(struct run *r) {
  struct mdi_memory_need mine = {0};
  mine.rank = r->rank;
  snprintf(mine.host, sizeof mine.host, "%s", mdi_comm_host());
  int rc = mdi_memory_weights(r->file, r->first, r->last, r->rank == 0, &mine.weights);
  if (r->tail && r->rank == r->n_ranks - 1) /* the classifier's last rows (--classifier-tail) */
    mine.weights += (double)r->bytes.classifier * r->tail / r->hp.vocab_size;
  mine.layers = r->last - r->first;
  mine.slots = r->B * r->M;
  mine.max_seq = r->max_seq;
  mine.kv = (double)mdi_kv_bytes(mine.layers, mine.slots, r->max_seq, mdi_hparams_kv_dim(&r->hp));
  mine.workspace = (double)mdi_workspace_bytes(&r->hp, r->max_rows, r->max_seq, r->opt.threads);
  struct mdi_msg_layout layout;
  mdi_msg_layout_init(&layout, r->B, r->M, r->hp.dim, r->max_rows, r->max_seq, r->n_ranks, r->tail);
  mine.buffers = (double)layout.max_bytes * (r->n_ranks > 1 ? r->M + 2 : 1);
  if (r->rank == 0) mine.buffers += (double)r->B * r->hp.vocab_size * sizeof(float) + 16.0 * r->hp.vocab_size;
  struct mdi_mem_usable u;
  mdi_mem_usable("", &u);
  mine.usable = u.bytes;
  mine.mem_available = u.mem_available;
  mine.cgroup_limit = u.cgroup_limit;
  struct mdi_memory_need *all = r->rank == 0 ? mdi_xcalloc((size_t)r->n_ranks, sizeof mine, "memory check") : NULL;
  mdi_comm_gather(&mine, sizeof mine, all, 0);
  if (r->rank == 0 && rc == MDI_OK) rc = mdi_memory_check(all, r->n_ranks);
  free(all);
  return rc;
}

static int setup_weights(struct run *r) {
  if (mdi_block_load(&r->block, r->file, &r->hp, r->first, r->last, r->max_seq) != MDI_OK) return MDI_ERR;
  if (r->rank == 0 && mdi_vocab_layers_load(&r->vocab, r->file, &r->hp) != MDI_OK) return MDI_ERR;
  if (r->tail && r->rank == r->n_ranks - 1 &&
      mdi_classifier_tail_load(&r->tail_rows, r->file, &r->hp, r->hp.vocab_size - r->tail) != MDI_OK)
    return MDI_ERR;
  if (mdi_kv_init(&r->kv, r->last - r->first, r->B * r->M, r->max_seq, mdi_hparams_kv_dim(&r->hp)) != MDI_OK)
    return MDI_ERR;
  if (mdi_workspace_init(&r->ws, &r->hp, r->max_rows, r->max_seq, r->opt.threads) != MDI_OK)
    return MDI_ERR;
  if (r->rank == 0 &&
      mdi_sched_init(&r->sched, r->B, r->M, r->max_rows, r->max_seq, r->tok.stop_ids, r->tok.n_stop) != MDI_OK)
    return MDI_ERR;
  struct mdi_pipeline *p = &r->pipe;
  *p = (struct mdi_pipeline){
      .rank = r->rank,
      .n_ranks = r->n_ranks,
      .M = r->M,
      .timeout_s = r->opt.timeout,
      /* an idle ring is pinged well within every rank's timeout */
      .ping_s = r->opt.timeout > 0 && r->opt.timeout < 60 ? r->opt.timeout / 4 : 15.0,
      .block = &r->block,
      .kv = &r->kv,
      .ws = &r->ws,
      .tail = r->tail && r->rank == r->n_ranks - 1 ? &r->tail_rows : NULL,
  };
  mdi_msg_layout_init(&p->layout, r->B, r->M, r->hp.dim, r->max_rows, r->max_seq, r->n_ranks, r->tail);
  if (r->rank == 0) {
    p->vocab = &r->vocab;
    p->sched = &r->sched;
    r->list = (struct mdi_request_list){r->reqs, r->n_reqs, 0};
    p->source = mdi_request_list_source(&r->list);
    p->sink = mdi_output_sink(&r->out);
  }
  return mdi_pipeline_init(p);
}

/* Rank 0 with --serve or -i: listen (or take the terminal) once every rank is ready. */
static int setup_front(struct run *r) {
  const struct mdi_serve_config cfg = {&r->opt, &r->tok, r->max_seq, r->B * r->M, r->n_ranks};
  if (mdi_serve_start(&r->serve, &cfg) != MDI_OK) return MDI_ERR;
  r->pipe.source = mdi_serve_source(r->serve);
  r->pipe.sink = mdi_serve_sink(r->serve);
  return MDI_OK;
}

/* Collective, after loading: the model digest (weights/weights.h,
 * mdi_h5_digest: every dataset row read, summed over the ranks, so the same
 * for any split and for per-rank files) with the hyperparameters mixed in.
 * Rank 0 records it in each journal line and, with --resume, compares it
 * with the journal's. */
static int check_model_digest(struct run *r) {
  uint64_t h = MDI_FINGERPRINT_INIT;
  if (r->rank == 0) {
    char hp[256];
    snprintf(hp, sizeof hp, "%s %d %d %d %d %d %d %d %d %.9g %.9g", r->hp.arch, r->hp.dim, r->hp.hidden_dim,
             r->hp.n_layers, r->hp.n_heads, r->hp.n_kv_heads, r->hp.vocab_size, r->hp.seq_len,
             r->hp.shared_classifier, (double)r->hp.norm_eps, (double)r->hp.rope_theta);
    h = mdi_fingerprint_update(h, hp, strlen(hp));
  }
  const uint64_t digest = mdi_comm_sum_u64(mdi_h5_digest(r->file) + (r->rank == 0 ? h : 0));
  if (r->rank != 0) return MDI_OK;
  snprintf(r->out.model, sizeof r->out.model, "%016llx", (unsigned long long)digest);
  r->out.max_seq_len = r->max_seq;
  return r->opt.resume ? mdi_journal_check_model(r->opt.output, r->journal_model, r->out.model) : MDI_OK;
}

static void fill_rank_stats(const struct run *r, const struct mdi_pipeline *p, struct mdi_rank_stats *s) {
  memset(s, 0, sizeof *s);
  s->rank = r->rank;
  snprintf(s->host, sizeof s->host, "%s", mdi_comm_host());
  s->layer_first = r->first;
  s->layer_last = r->last;
  s->weights_bytes = (double)(r->block.weights_bytes + r->vocab.weights_bytes + r->tail_rows.weights_bytes);
  s->classifier_rows = r->rank == 0 ? r->hp.vocab_size - r->tail : r->rank == r->n_ranks - 1 ? r->tail : 0;
  s->kv_bytes = (double)r->kv.bytes;
  s->peak_rss_bytes = mdi_peak_rss_bytes();
  s->compute_s = p->compute_s;
  s->recv_wait_s = p->recv_wait_s;
  s->send_wait_s = p->send_wait_s;
  s->idle_s = p->wall_s > p->compute_s ? p->wall_s - p->compute_s : 0.0;
  s->load_s = r->load_s;
  s->calib_layer_s = r->calib_layer_s;
  s->calib_head_s = r->calib_head_s;
  s->mem_available_bytes = r->mem_available;
}

static void print_summary(const struct mdi_run_stats *st) {
  fprintf(stderr, "%-4s %-16s %-9s %10s %10s %10s %9s %9s %9s %9s\n", "rank", "host", "layers",
          "weights", "kv_cache", "peak_rss", "compute", "recv_wait", "send_wait", "idle");
  for (int i = 0; i < st->n_ranks; i++) {
    const struct mdi_rank_stats *s = &st->ranks[i];
    char layers[24];
    snprintf(layers, sizeof layers, "[%d,%d)", s->layer_first, s->layer_last);
    fprintf(stderr, "%-4d %-16.16s %-9s %9.2fM %9.2fM %9.2fM %8.3fs %8.3fs %8.3fs %8.3fs\n", s->rank, s->host,
            layers, s->weights_bytes / 1e6, s->kv_bytes / 1e6, s->peak_rss_bytes / 1e6, s->compute_s,
            s->recv_wait_s, s->send_wait_s, s->idle_s);
  }
  fprintf(stderr, "%ld sequences, %ld prompt + %ld generated tokens in %.3f s: %.1f tok/s "
          "(split %s, B=%d, M=%d, %ld trips; load %.3f s)\n",
          st->sequences, st->prompt_tokens, st->generated_tokens, st->wall_s, st->tok_per_s, st->split,
          st->batch, st->micro_batches, st->trips, st->load_s);
}

/* Gather every rank's numbers on rank 0; print and write them there. */
static int report(struct run *r, const struct mdi_pipeline *p) {
  struct mdi_rank_stats mine;
  fill_rank_stats(r, p, &mine);
  struct mdi_run_stats st = {0};
  st.n_ranks = r->n_ranks;
  if (r->rank == 0) st.ranks = mdi_xcalloc((size_t)r->n_ranks, sizeof mine, "stats");
  mdi_comm_gather(&mine, sizeof mine, st.ranks, 0);
  double load = mdi_comm_max_double(r->load_s);
  if (r->rank != 0) return MDI_OK;
  st.batch = r->B;
  st.micro_batches = r->M;
  st.max_rows = r->max_rows;
  st.max_seq = r->max_seq;
  st.sequences = r->sched.finished;
  st.trips = r->sched.trips;
  st.prompt_tokens = r->sched.prompt_tokens;
  st.generated_tokens = r->sched.generated_tokens;
  st.wall_s = p->t_last - p->t_first;
  st.tok_per_s = st.wall_s > 0 ? st.generated_tokens / st.wall_s : 0.0;
  st.load_s = load;
  mdi_split_format(r->counts, r->n_ranks, st.split, sizeof st.split);
  st.classifier_tail = r->tail;
  if (!r->opt.quiet) print_summary(&st);
  int rc = r->opt.stats ? mdi_stats_write_json(r->opt.stats, &st) : MDI_OK;
  free(st.ranks);
  return rc;
}

static void free_run(struct run *r) {
  mdi_pipeline_free(&r->pipe);
  if (r->rank == 0) {
    /* still open when start-up failed after the journal was opened (a
     * resume refused for another model): closed, its error already told */
    if (r->out.text) mdi_output_close(&r->out);
    mdi_sched_free(&r->sched);
    mdi_prompts_free(r->reqs, r->n_reqs);
    mdi_tokenizer_free(&r->tok);
    mdi_vocab_layers_free(&r->vocab);
  }
  mdi_classifier_tail_free(&r->tail_rows);
  mdi_workspace_free(&r->ws);
  mdi_kv_free(&r->kv);
  mdi_block_free(&r->block);
  mdi_h5_close(r->file);
  free(r->counts);
  mdi_options_free(&r->opt);
}

/* Run the ring.  It stops early, but cleanly, when a rank catches SIGINT or
 * SIGTERM or rank 0 cannot write its output (a full disk, a closed pipe):
 * every sequence finished until then is in the journal, rank 0 says how
 * far the run got, the statistics are written, and every rank exits with
 * 128 + the signal, or 1. */
static int run_pipeline(struct run *r) {
  r->load_s = mdi_comm_time() - r->t_start;
  enter(PH_RING);
  mdi_comm_barrier();
  if (!r->front) r->pipe.interrupted = mdi_signals_caught;
  int rc = mdi_pipeline_run(&r->pipe);
  if (rc != MDI_OK) mdi_log_error("%s", mdi_error()); /* rank 0's output failed */
  if (r->rank == 0 && r->front) mdi_serve_finish(r->serve);
  if (r->rank == 0 && !r->front) {
    const int sig = r->pipe.stop_signal, done = r->n_done_before + r->out.n_done, total = r->n_total;
    if (mdi_output_close(&r->out) != MDI_OK && rc == MDI_OK) {
      mdi_log_error("%s", mdi_error());
      rc = MDI_ERR;
    }
    const char *next = r->opt.output ? "rerun with --resume" : "with -o FILE a rerun with --resume would go on";
    if (sig) mdi_log_error("interrupted: %d of %d sequences done; %s", done, total, next);
    else if (rc != MDI_OK && done < total) mdi_log_notice("%d of %d sequences done; %s", done, total, next);
  }
  /* every rank leaves with the same status: the signal, then any failure */
  int first, sig;
  enter(PH_REPORT);
  mdi_comm_agree(rc == MDI_OK, r->rank == 0 ? r->pipe.stop_signal : 0, &first, &sig);
  interrupted_by = sig;
  const int reported = report(r, &r->pipe), failed = mdi_comm_first_failed(reported == MDI_OK);
  if (failed == r->rank) mdi_log_error("%s", mdi_error());
  return failed >= 0 || first >= 0 || sig ? MDI_ERR : MDI_OK;
}

int main(int argc, char **argv) {
  mdi_log_set_program("mdi_pipeline");
  if (mdi_comm_init(&argc, &argv) != MDI_OK) {
    mdi_log_error("%s", mdi_error());
    return 1;
  }
  struct run r = {0};
  r.t_start = mdi_comm_time();
  r.rank = mdi_comm_rank();
  r.n_ranks = mdi_comm_size();
  /* every rank parses the same arguments and reaches the same verdict */
  int rc = mdi_config_resolve(&r.opt, argc, argv);
  if (rc == MDI_OK && !r.opt.help && !r.opt.version && !r.opt.print_config)
    rc = mdi_options_validate(&r.opt);
  if (rc != MDI_OK) {
    if (r.rank == 0) mdi_log_error("%s", mdi_error());
    mdi_options_free(&r.opt);
    mdi_comm_finalize();
    return EXIT_USAGE;
  }
  if (r.opt.help || r.opt.version || r.opt.print_config) {
    int status = 0;
    if (r.rank == 0) {
      errno = 0; /* a failed write (> /dev/full) leaves its error here */
      if (r.opt.help)
        mdi_options_print_help("mdi_pipeline");
      else if (r.opt.version)
        printf("mdi_pipeline %s\n", MDI_VERSION);
      else
        mdi_config_print(&r.opt, stdout);
      if (fflush(stdout) != 0 || ferror(stdout)) {
        mdi_log_error("standard output: writing failed: %s", strerror(errno ? errno : EIO));
        status = 1;
      }
    }
    mdi_options_free(&r.opt);
    mdi_comm_finalize();
    return status;
  }
  mdi_log_set_quiet(r.opt.quiet);
  r.front = r.opt.serve || r.opt.interactive;
  if (r.opt.verbose) mdi_log_set_host(mdi_comm_host());
  mdi_matmul_set_threads(r.opt.threads);
  const int cpus = mdi_cpus_allowed();
  if (cpus > 0 && r.opt.threads > cpus)
    mdi_log_warn("--threads %d but this rank is bound to %d CPU%s: its threads will share %s (mpirun binds each "
                 "rank to one core by default for 2 ranks or fewer; give mpirun --map-by slot:PE=%d or --bind-to none)",
                 r.opt.threads, cpus, cpus == 1 ? "" : "s", cpus == 1 ? "it" : "them", r.opt.threads);
  /* a signal stops the run cleanly (run_pipeline); a second one ends it at once */
  if (mdi_signals_install(1) != MDI_OK) mdi_log_warn("%s: SIGINT and SIGTERM will end the run at once", mdi_error());
  mdi_comm_liveness(r.opt.timeout, phase_names, N_PHASES);
  mdi_progress_set_hook(progress_hook);

  /* outputs that are inputs or each other, FIFOs and devices: before any work */
  enter(PH_FILES);
  int ok = agree(r.rank == 0 ? mdi_files_check(&r.opt, r.n_ranks) : MDI_OK);
  if (ok) enter(PH_MODEL), ok = agree(setup_model(&r));
  if (ok) enter(PH_SAME_MODEL), ok = agree(check_same_model(&r));
  if (ok && r.calibrate) enter(PH_CALIBRATE), ok = agree(calibrate_split(&r));
  if (ok) assign_layers(&r);
  if (ok) {
    int max_rows = 0;
    enter(PH_REQUESTS);
    if (r.rank == 0) ok = agree(setup_requests(&r)), max_rows = r.max_rows;
    else ok = agree(MDI_OK);
    if (ok) {
      mdi_comm_bcast(&max_rows, sizeof max_rows, 0);
      r.max_rows = max_rows;
      enter(PH_MEMORY);
      ok = agree(check_memory(&r));
      if (ok) enter(PH_WEIGHTS), ok = agree(setup_weights(&r));
      if (ok) enter(PH_DIGEST), ok = agree(check_model_digest(&r));
    }
  }
  if (ok && r.front) enter(PH_FRONT), ok = agree(r.rank == 0 ? setup_front(&r) : MDI_OK);
  if (ok && r.front && r.rank != 0) mdi_serve_stage_signals();
  if (ok && r.opt.verbose)
    mdi_log_info("layers [%d,%d), %.2f MB weights, %.2f MB KV cache reserved", r.first, r.last,
                 (r.block.weights_bytes + r.vocab.weights_bytes + r.tail_rows.weights_bytes) / 1e6, r.kv.bytes / 1e6);
  if (ok) ok = run_pipeline(&r) == MDI_OK;
  free_run(&r);
  mdi_comm_finalize();
  /* 130 / 143 after SIGINT / SIGTERM (every rank alike), 1 after an error */
  return interrupted_by ? mdi_signals_exit_status(interrupted_by) : ok ? 0 : 1;
}
