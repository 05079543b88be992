/* Communication: the only module that includes mpi.h.
 *
 * Besides process-wide helpers (rank, agreement on errors, broadcast), it
 * owns the ring endpoint: a pool of message buffers with one receive from
 * the previous rank always posted, and nonblocking sends to the next rank.
 * Every wait has a timeout that ends the job naming the silent neighbour. */
#ifndef MDI_COMM_H
#define MDI_COMM_H

#include <stddef.h>
#include <stdint.h>

int mdi_comm_init(int *argc, char ***argv);
/* MPI_Finalize (only when init succeeded). */
void mdi_comm_finalize(void);
int mdi_comm_rank(void);
int mdi_comm_size(void);
const char *mdi_comm_host(void);
double mdi_comm_time(void);
/* End every rank of the job now (MPI_Abort). */
_Noreturn void mdi_comm_abort(int code);

/* The start-up timeout (see comm.c): every collective below waits with
 * heartbeats, and a rank silent for timeout_s seconds (0: no limit) ends
 * the job, named with the phase it last reported (an index into
 * phase_names, which every rank passes alike). */
void mdi_comm_liveness(double timeout_s, const char *const *phase_names, int n_phases);
void mdi_comm_set_phase(int phase);
/* Long work calls this now and then: heartbeats go out when due. */
void mdi_comm_alive(void);

/* Collective: the lowest rank whose `ok` is zero (-1: none) and the
 * largest `sig` (a signal a rank caught, 0: none). */
void mdi_comm_agree(int ok, int sig, int *first_failed, int *max_sig);
/* Collective: the lowest rank whose `ok` is zero, or -1. */
int mdi_comm_first_failed(int ok);
void mdi_comm_bcast(void *buf, size_t bytes, int root);
/* Collective: root receives size x bytes into recv (ignored elsewhere). */
void mdi_comm_gather(const void *send, size_t bytes, void *recv, int root);
/* Collective: max over ranks of a double. */
double mdi_comm_max_double(double v);
/* Collective: sum over ranks, modulo 2^64. */
uint64_t mdi_comm_sum_u64(uint64_t v);
void mdi_comm_barrier(void);

/* ---- the ring ---------------------------------------------------------- */

struct mdi_ring;

struct mdi_ring_stats {
  double recv_wait_s;   /* blocked waiting for the previous rank */
  double send_wait_s;   /* blocked waiting for a send to complete */
  long messages_sent;
  double bytes_sent;
};

/* Buffers of max_bytes each (64-byte aligned).  n_buffers must exceed the
 * number of messages that can be in flight by 2 (see docs/PIPELINE.md).
 * timeout_s bounds every wait (<= 0: no timeout).  NULL (message set)
 * when the buffers do not fit in memory. */
struct mdi_ring *mdi_ring_create(size_t max_bytes, int n_buffers, double timeout_s);
void mdi_ring_destroy(struct mdi_ring *r);

/* A free buffer to build a message in (waits for a send to finish if needed). */
void *mdi_ring_buffer(struct mdi_ring *r);
/* Send buf[0..bytes) to the next rank; the buffer returns to the pool when done. */
void mdi_ring_send(struct mdi_ring *r, void *buf, size_t bytes);
/* The next message from the previous rank; the caller owns the buffer until
 * it sends or releases it.  *bytes is the received size (MPI_Get_count). */
void *mdi_ring_recv(struct mdi_ring *r, size_t *bytes);
/* The same, but returns NULL as soon as other(ctx) is nonzero (checked
 * between tests of the receive): rank 0 waits for the ring and for new
 * requests at once.  The timeout counts from this call. */
void *mdi_ring_recv_or(struct mdi_ring *r, size_t *bytes, int (*other)(void *ctx), void *ctx);
void mdi_ring_release(struct mdi_ring *r, void *buf);
/* Let outstanding sends and the posted receive progress (call during compute). */
void mdi_ring_progress(struct mdi_ring *r);
/* Wait until every send has completed. */
void mdi_ring_flush(struct mdi_ring *r);
const struct mdi_ring_stats *mdi_ring_stats(const struct mdi_ring *r);

#endif
