/* The memory check before loading: each rank adds up what it will hold
 * (its weights as stored, the KV cache for all its slots at full length,
 * the activation workspace, message buffers and rank 0's logits) and rank 0
 * compares, host by host, the sum over the ranks of a host with the memory
 * usable there (base/sysinfo.h: MemAvailable and any cgroup limit).  A run
 * that does not fit stops before it loads anything, with a message giving
 * the total and what reduces it, instead of being killed once the kernel
 * runs out of memory (the KV cache is reserved whole but touched as
 * sequences grow, so an oversized one fails late and far from its cause). */
#ifndef MDI_MEMORY_H
#define MDI_MEMORY_H

#include "mdi/model/weights.h"

struct mdi_memory_need {
  int rank;
  char host[64];
  double weights;     /* bytes of the datasets it loads */
  double kv;          /* KV cache: 2 x layers x slots x positions x kv_dim floats */
  double workspace;   /* activations */
  double buffers;     /* ring messages, logits, sampler scratch */
  int layers, slots, max_seq;
  double usable;      /* bytes usable on its host, 0 if unknown */
  double mem_available, cgroup_limit;
};

/* Bytes of the datasets a rank loads: layers [first, last) and, with
 * `head`, every dataset outside layers/ and tokenizer/ (embedding,
 * classifier, final norm). */
int mdi_memory_weights(struct mdi_h5 *f, int first, int last, int head, double *bytes);

/* What every rank needs, one entry per rank in rank order: MDI_ERR with a
 * message when the ranks of a host together need more than it has. */
int mdi_memory_check(const struct mdi_memory_need *all, int n_ranks);

#endif
