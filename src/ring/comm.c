/* MPI: the only file that includes mpi.h (see comm.h). */
#include "mdi/ring/comm.h"

#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mdi/base/error.h"

static int initialized = 0, world_rank = 0, world_size = 1;
static char host[MPI_MAX_PROCESSOR_NAME];

static void abort_hook(int code) {
  if (initialized) MPI_Abort(MPI_COMM_WORLD, code);
  abort();
}

/* Every MPI call is checked: a failure is a broken job, not bad input. */
#define MPI_CHECK(call)                                                          \
  do {                                                                           \
    int rc_ = (call);                                                            \
    if (rc_ != MPI_SUCCESS) {                                                    \
      char msg_[MPI_MAX_ERROR_STRING];                                           \
      int len_ = 0;                                                              \
      MPI_Error_string(rc_, msg_, &len_);                                        \
      mdi_panic(__FILE__, __LINE__, "%s failed: %s", #call, msg_);               \
    }                                                                            \
  } while (0)

int mdi_comm_init(int *argc, char ***argv) {
  int provided;
  if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
    return mdi_fail("MPI_Init failed");
  initialized = 1;
  /* errors come back to us, so MPI_CHECK can name the call */
  MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
  MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &world_rank));
  MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &world_size));
  int len = 0;
  MPI_CHECK(MPI_Get_processor_name(host, &len));
  mdi_set_abort_hook(abort_hook);
  mdi_log_set_rank(world_rank, world_size);
  return MDI_OK;
}

static void liveness_end(void);

void mdi_comm_finalize(void) {
  if (initialized) {
    liveness_end();
    MPI_Finalize();
  }
  initialized = 0;
}

int mdi_comm_rank(void) { return world_rank; }
int mdi_comm_size(void) { return world_size; }
const char *mdi_comm_host(void) { return host; }
double mdi_comm_time(void) { return MPI_Wtime(); }

void mdi_comm_abort(int code) {
  fflush(NULL);
  if (initialized) MPI_Abort(MPI_COMM_WORLD, code);
  exit(code);
}


/* ---- start-up: collectives with a deadline, and heartbeats --------------
 *
 * Before the ring runs, ranks meet in collectives (the agreement after each
 * start-up phase, broadcasts, the stats at the end) while one of them may
 * still be loading gigabytes.  Every wait there polls its nonblocking
 * collective and meanwhile sends heartbeats on a communicator of their own
 * (rank 0 to every rank, every rank to rank 0), which long work sends too
 * (mdi_comm_alive, through base/progress.h).  A rank silent for --timeout
 * seconds is stopped or gone: rank 0 names it (and the phase it last
 * reported), the others name rank 0 when it is the silent one, and the job
 * ends (MPI_Abort, status 3).  A slow rank that loads is never silent. */

#define HB_TAG 1

static MPI_Comm hb_comm = MPI_COMM_NULL;
static double hb_timeout, hb_period = 1.0, hb_last_sent = -1e30;
static double *hb_seen;          /* [size] when each rank was last heard from */
static int *hb_seen_phase;       /* [size] the phase it then reported */
static int *hb_out;              /* [size] heartbeat payloads (the phase), one per destination */
static MPI_Request *hb_send;     /* [size] the heartbeat on its way to each rank */
static MPI_Request hb_recv = MPI_REQUEST_NULL;
static int hb_recv_buf, hb_phase;
static const char *const *hb_phase_names;
static int hb_n_phases;

void mdi_comm_liveness(double timeout_s, const char *const *phase_names, int n_phases) {
  hb_timeout = timeout_s;
  hb_phase_names = phase_names;
  hb_n_phases = n_phases;
  if (timeout_s > 0) hb_period = timeout_s / 4 < 1.0 ? timeout_s / 4 : 1.0;
  if (world_size == 1 || hb_comm != MPI_COMM_NULL) return;
  MPI_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &hb_comm));
  hb_seen = mdi_xcalloc((size_t)world_size, sizeof *hb_seen, "heartbeats");
  hb_seen_phase = mdi_xcalloc((size_t)world_size, sizeof *hb_seen_phase, "heartbeats");
  hb_out = mdi_xcalloc((size_t)world_size, sizeof *hb_out, "heartbeats");
  hb_send = mdi_xcalloc((size_t)world_size, sizeof *hb_send, "heartbeats");
  const double now = MPI_Wtime();
  for (int i = 0; i < world_size; i++) hb_send[i] = MPI_REQUEST_NULL, hb_seen[i] = now;
  MPI_CHECK(MPI_Irecv(&hb_recv_buf, 1, MPI_INT, MPI_ANY_SOURCE, HB_TAG, hb_comm, &hb_recv));
}

void mdi_comm_set_phase(int phase) {
  hb_phase = phase;
  hb_last_sent = -1e30; /* the next heartbeat goes out at once, with the new phase */
}

static const char *phase_name(int phase) {
  return hb_phase_names && phase >= 0 && phase < hb_n_phases ? hb_phase_names[phase] : "starting";
}

/* Take the heartbeats that arrived; send ours when one is due. */
static void heartbeats(double now) {
  if (hb_comm == MPI_COMM_NULL) return;
  for (;;) {
    int done = 0;
    MPI_Status st;
    MPI_CHECK(MPI_Test(&hb_recv, &done, &st));
    if (!done) break;
    hb_seen[st.MPI_SOURCE] = now;
    hb_seen_phase[st.MPI_SOURCE] = hb_recv_buf;
    MPI_CHECK(MPI_Irecv(&hb_recv_buf, 1, MPI_INT, MPI_ANY_SOURCE, HB_TAG, hb_comm, &hb_recv));
  }
  if (now - hb_last_sent < hb_period) return;
  hb_last_sent = now;
  for (int i = 0; i < world_size; i++) {
    if (i == world_rank || (world_rank != 0 && i != 0)) continue;
    int done = 1; /* a rank that has not taken the last one gets no other */
    if (hb_send[i] != MPI_REQUEST_NULL) MPI_CHECK(MPI_Test(&hb_send[i], &done, MPI_STATUS_IGNORE));
    if (!done) continue;
    hb_out[i] = hb_phase;
    MPI_CHECK(MPI_Isend(&hb_out[i], 1, MPI_INT, i, HB_TAG, hb_comm, &hb_send[i]));
  }
}

void mdi_comm_alive(void) { heartbeats(MPI_Wtime()); }

/* Rank 0 watches every rank, the others watch rank 0. */
static void check_liveness(double now) {
  if (hb_comm == MPI_COMM_NULL || hb_timeout <= 0) return;
  for (int i = 0; i < world_size; i++) {
    if (i == world_rank || (world_rank != 0 && i != 0) || now - hb_seen[i] <= hb_timeout) continue;
    mdi_log_error("no sign of life from rank %d for %.0f s (last heard while %s): it is gone or stuck (--timeout)",
                  i, hb_timeout, phase_name(hb_seen_phase[i]));
    mdi_comm_abort(3);
  }
}

/* Wait for a nonblocking collective: heartbeats meanwhile, short naps so a
 * rank sharing a core with one that loads leaves it the time. */
static void wait_collective(MPI_Request *req) {
  double now = MPI_Wtime();
  /* a rank that sent no heartbeat for a while (it ran the ring) has not
   * been listening either: what it last heard says nothing now */
  if (hb_comm != MPI_COMM_NULL && now - hb_last_sent > 2 * hb_period)
    for (int i = 0; i < world_size; i++) hb_seen[i] = now;
  for (long spins = 0;; spins++) {
    int done = 0;
    MPI_CHECK(MPI_Test(req, &done, MPI_STATUS_IGNORE));
    if (done) return;
    now = MPI_Wtime();
    heartbeats(now);
    check_liveness(now);
    struct timespec ts = {0, spins < 100 ? 50000 : 1000000};
    nanosleep(&ts, NULL);
  }
}

static void liveness_end(void) {
  if (hb_comm == MPI_COMM_NULL) return;
  MPI_CHECK(MPI_Cancel(&hb_recv));
  MPI_CHECK(MPI_Wait(&hb_recv, MPI_STATUS_IGNORE));
  for (int i = 0; i < world_size; i++)
    if (hb_send[i] != MPI_REQUEST_NULL) MPI_CHECK(MPI_Request_free(&hb_send[i]));
  MPI_Comm_free(&hb_comm);
  free(hb_seen), free(hb_seen_phase), free(hb_out), free(hb_send);
  hb_seen = NULL, hb_seen_phase = NULL, hb_out = NULL, hb_send = NULL;
}

void mdi_comm_agree(int ok, int sig, int *first_failed, int *max_sig) {
  /* one MAX reduction: the lowest failing rank as -rank, the signal as is */
  int mine[2] = {ok ? -world_size : -world_rank, sig}, all[2];
  MPI_Request req;
  MPI_CHECK(MPI_Iallreduce(mine, all, 2, MPI_INT, MPI_MAX, MPI_COMM_WORLD, &req));
  wait_collective(&req);
  *first_failed = -all[0] == world_size ? -1 : -all[0];
  *max_sig = all[1];
}

int mdi_comm_first_failed(int ok) {
  int first, sig;
  mdi_comm_agree(ok, 0, &first, &sig);
  return first;
}

void mdi_comm_bcast(void *buf, size_t bytes, int root) {
  MDI_ASSERT(bytes <= (size_t)INT32_MAX);
  MPI_Request req;
  MPI_CHECK(MPI_Ibcast(buf, (int)bytes, MPI_BYTE, root, MPI_COMM_WORLD, &req));
  wait_collective(&req);
}

void mdi_comm_gather(const void *send, size_t bytes, void *recv, int root) {
  MDI_ASSERT(bytes <= (size_t)INT32_MAX);
  MPI_Request req;
  MPI_CHECK(MPI_Igather(send, (int)bytes, MPI_BYTE, recv, (int)bytes, MPI_BYTE, root, MPI_COMM_WORLD, &req));
  wait_collective(&req);
}

double mdi_comm_max_double(double v) {
  double out;
  MPI_Request req;
  MPI_CHECK(MPI_Iallreduce(&v, &out, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD, &req));
  wait_collective(&req);
  return out;
}

uint64_t mdi_comm_sum_u64(uint64_t v) {
  uint64_t out;
  MPI_Request req;
  MPI_CHECK(MPI_Iallreduce(&v, &out, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD, &req));
  wait_collective(&req);
  return out;
}

void mdi_comm_barrier(void) {
  MPI_Request req;
  MPI_CHECK(MPI_Ibarrier(MPI_COMM_WORLD, &req));
  wait_collective(&req);
}

/* ---- the ring ---------------------------------------------------------- */

enum buf_state { BUF_FREE, BUF_RECV, BUF_OWNED, BUF_SEND };

#define RING_TAG 17

struct mdi_ring {
  int prev, next;
  size_t max_bytes;
  int n;
  void **bufs;               /* [n] message buffers */
  enum buf_state *state;     /* [n] */
  MPI_Request *req;          /* [n] */
  long *send_seq;            /* [n] order of sends, to wait on the oldest */
  long sends_started;
  int recv_idx;              /* buffer with the posted receive, -1 if none */
  int recv_done;             /* the posted receive has completed ... */
  int recv_count;            /* ... with this many bytes */
  double timeout_s;
  struct mdi_ring_stats stats;
};

static void post_recv(struct mdi_ring *r) {
  if (r->recv_idx >= 0) return;
  for (int i = 0; i < r->n; i++)
    if (r->state[i] == BUF_FREE) {
      MPI_CHECK(MPI_Irecv(r->bufs[i], (int)r->max_bytes, MPI_BYTE, r->prev, RING_TAG, MPI_COMM_WORLD,
                          &r->req[i]));
      r->state[i] = BUF_RECV;
      r->recv_idx = i;
      return;
    }
}

/* Complete finished sends; repost the receive if it was waiting for a buffer. */
static void test_sends(struct mdi_ring *r) {
  for (int i = 0; i < r->n; i++) {
    if (r->state[i] != BUF_SEND) continue;
    int done = 0;
    MPI_CHECK(MPI_Test(&r->req[i], &done, MPI_STATUS_IGNORE));
    if (done) r->state[i] = BUF_FREE;
  }
  post_recv(r);
}

struct mdi_ring *mdi_ring_create(size_t max_bytes, int n_buffers, double timeout_s) {
  MDI_ASSERT(n_buffers >= 3 && max_bytes <= (size_t)INT32_MAX);
  struct mdi_ring *r = mdi_xcalloc(1, sizeof *r, "ring");
  r->prev = (world_rank + world_size - 1) % world_size;
  r->next = (world_rank + 1) % world_size;
  r->max_bytes = max_bytes;
  r->n = n_buffers;
  r->timeout_s = timeout_s;
  r->bufs = mdi_xcalloc((size_t)n_buffers, sizeof *r->bufs, "ring buffers");
  r->state = mdi_xcalloc((size_t)n_buffers, sizeof *r->state, "ring buffers");
  r->req = mdi_xcalloc((size_t)n_buffers, sizeof *r->req, "ring buffers");
  r->send_seq = mdi_xcalloc((size_t)n_buffers, sizeof *r->send_seq, "ring buffers");
  r->recv_idx = -1;
  for (int i = 0; i < n_buffers; i++) r->req[i] = MPI_REQUEST_NULL;
  for (int i = 0; i < n_buffers; i++) {
    if (!(r->bufs[i] = mdi_aligned_alloc(max_bytes, "ring message buffers (reduce -b or --micro-batches)"))) {
      mdi_ring_destroy(r);
      return NULL;
    }
  }
  post_recv(r);
  return r;
}

void mdi_ring_destroy(struct mdi_ring *r) {
  if (!r) return;
  mdi_ring_flush(r);
  if (r->recv_idx >= 0 && !r->recv_done) {
    MPI_CHECK(MPI_Cancel(&r->req[r->recv_idx]));
    MPI_CHECK(MPI_Wait(&r->req[r->recv_idx], MPI_STATUS_IGNORE));
  }
  for (int i = 0; i < r->n; i++) free(r->bufs[i]);
  free(r->bufs);
  free(r->state);
  free(r->req);
  free(r->send_seq);
  free(r);
}

static int buffer_index(const struct mdi_ring *r, const void *buf) {
  for (int i = 0; i < r->n; i++)
    if (r->bufs[i] == buf) return i;
  MDI_PANIC("pointer %p is not a ring buffer", buf);
}

/* Sleep briefly once a wait has spun for a while: ranks may share cores
 * (oversubscribed tests, CPU-capped emulated devices), and a spinning rank
 * steals the time its neighbour needs to produce the message.  After about
 * half a second the ring is idle (a server without requests): 1 ms naps
 * keep an idle rank near 0% of a core, at the price of at most 1 ms per
 * rank on the first message after the pause. */
static void backoff(long spins) {
  if (spins < 200) return;
  struct timespec ts = {0, spins < 2000 ? 20000 : spins < 5000 ? 100000 : 1000000};
  nanosleep(&ts, NULL);
}

static void check_timeout(const struct mdi_ring *r, double start, const char *what, int peer) {
  if (r->timeout_s > 0 && MPI_Wtime() - start > r->timeout_s) {
    mdi_log_error("no progress for %.0f s %s rank %d: it is gone or stuck (--timeout)", r->timeout_s,
                  what, peer);
    mdi_comm_abort(3);
  }
}

/* Wait for send buffer i to complete. */
static void wait_send(struct mdi_ring *r, int i) {
  double t0 = MPI_Wtime();
  for (long spins = 0;; spins++) {
    int done = 0;
    MPI_CHECK(MPI_Test(&r->req[i], &done, MPI_STATUS_IGNORE));
    if (done) break;
    test_sends(r);
    check_timeout(r, t0, "sending to", r->next);
    backoff(spins);
  }
  r->state[i] = BUF_FREE;
  r->stats.send_wait_s += MPI_Wtime() - t0;
  post_recv(r);
}

void *mdi_ring_buffer(struct mdi_ring *r) {
  test_sends(r);
  for (int i = 0; i < r->n; i++)
    if (r->state[i] == BUF_FREE) {
      r->state[i] = BUF_OWNED;
      return r->bufs[i];
    }
  /* none free: wait for the oldest send */
  int oldest = -1;
  for (int i = 0; i < r->n; i++)
    if (r->state[i] == BUF_SEND && (oldest < 0 || r->send_seq[i] < r->send_seq[oldest])) oldest = i;
  MDI_ASSERT(oldest >= 0); /* more buffers owned than the protocol allows */
  wait_send(r, oldest);
  if (r->state[oldest] != BUF_FREE) return mdi_ring_buffer(r); /* taken by the receive */
  r->state[oldest] = BUF_OWNED;
  return r->bufs[oldest];
}

void mdi_ring_send(struct mdi_ring *r, void *buf, size_t bytes) {
  int i = buffer_index(r, buf);
  MDI_ASSERT(r->state[i] == BUF_OWNED && bytes <= r->max_bytes);
  MPI_CHECK(MPI_Isend(buf, (int)bytes, MPI_BYTE, r->next, RING_TAG, MPI_COMM_WORLD, &r->req[i]));
  r->state[i] = BUF_SEND;
  r->send_seq[i] = r->sends_started++;
  r->stats.messages_sent++;
  r->stats.bytes_sent += (double)bytes;
}

/* Test the posted receive; remember its size when it has completed. */
static int test_recv(struct mdi_ring *r) {
  if (r->recv_idx < 0) return 0;
  if (!r->recv_done) {
    MPI_Status st;
    MPI_CHECK(MPI_Test(&r->req[r->recv_idx], &r->recv_done, &st));
    if (r->recv_done) MPI_CHECK(MPI_Get_count(&st, MPI_BYTE, &r->recv_count));
  }
  return r->recv_done;
}

void *mdi_ring_recv(struct mdi_ring *r, size_t *bytes) { return mdi_ring_recv_or(r, bytes, NULL, NULL); }

void *mdi_ring_recv_or(struct mdi_ring *r, size_t *bytes, int (*other)(void *ctx), void *ctx) {
  double t0 = MPI_Wtime();
  for (long spins = 0;; spins++) {
    post_recv(r);
    if (test_recv(r)) {
      int i = r->recv_idx;
      r->state[i] = BUF_OWNED;
      r->recv_idx = -1;
      r->recv_done = 0;
      *bytes = (size_t)r->recv_count;
      post_recv(r);
      r->stats.recv_wait_s += MPI_Wtime() - t0;
      return r->bufs[i];
    }
    test_sends(r);
    if (other && other(ctx)) {
      r->stats.recv_wait_s += MPI_Wtime() - t0;
      return NULL;
    }
    check_timeout(r, t0, "waiting for a message from", r->prev);
    backoff(spins);
  }
}

void mdi_ring_release(struct mdi_ring *r, void *buf) {
  int i = buffer_index(r, buf);
  MDI_ASSERT(r->state[i] == BUF_OWNED);
  r->state[i] = BUF_FREE;
  post_recv(r);
}

void mdi_ring_progress(struct mdi_ring *r) {
  test_recv(r);
  test_sends(r);
}

void mdi_ring_flush(struct mdi_ring *r) {
  for (int i = 0; i < r->n; i++)
    if (r->state[i] == BUF_SEND) wait_send(r, i);
}

const struct mdi_ring_stats *mdi_ring_stats(const struct mdi_ring *r) { return &r->stats; }
