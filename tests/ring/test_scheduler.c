/* Continuous batching, split planning and the message format: pure logic,
 * tested without MPI. */
#include "mdi/base/error.h"
#include "mdi/model/hparams.h"
#include "mdi/ring/protocol.h"
#include "mdi/ring/scheduler.h"
#include "mdi/model/split.h"
#include "mdi_test.h"

static int prompt[4] = {1, 10, 11, 12};

static void make_requests(struct mdi_request *reqs, const int *lengths, int n) {
  for (int i = 0; i < n; i++) {
    reqs[i] = (struct mdi_request){.id = i, .prompt = "x", .prompt_tokens = prompt,
                                   .n_prompt = 1 + i % 4, .max_new = lengths[i], .seed = 1};
  }
}

/* Drive the scheduler like the ring does (micro-batches in turn, a freed
 * slot refilled when its micro-batch is back), feeding a non-stop token;
 * returns the number of trips. */
static long run_schedule(struct mdi_sched *s, struct mdi_request_source *src, int *finished_order,
                         int *n_finished) {
  struct mdi_span spans[64];
  int tokens[256], rows;
  unsigned char all[64], one[64];
  int busy = 1;
  *n_finished = 0;
  memset(all, 1, sizeof all);
  mdi_sched_admit(s, all, src);
  while (busy) {
    busy = 0;
    for (int mb = 0; mb < s->M; mb++) {
      int n = mdi_sched_build(s, mb, spans, tokens, &rows);
      if (!n) continue;
      busy = 1;
      int r = 0;
      for (int j = 0; j < n; j++) {
        const struct mdi_sequence *seq = &s->slots[spans[j].slot];
        CHECK_EQ_INT(spans[j].pos, seq->n_fed);
        CHECK_EQ_INT(spans[j].n_tokens, seq->n_tokens - seq->n_fed);
        CHECK_EQ_INT(tokens[r], seq->tokens[seq->n_fed]); /* the rows carry the right tokens */
        r += spans[j].n_tokens;
        CHECK(spans[j].slot / s->B == mb);           /* slots stay in their micro-batch */
      }
      CHECK_EQ_INT(r, rows);
      for (int j = 0; j < n; j++) {
        struct mdi_sequence *done = mdi_sched_apply(s, spans[j].slot, 7);
        if (done) {
          CHECK_EQ_INT(done->n_tokens - done->req->n_prompt, done->req->max_new);
          finished_order[(*n_finished)++] = done->req->id;
          mdi_sched_retire(s, spans[j].slot);
        }
      }
      memset(one, 0, sizeof one);
      one[mb] = 1;
      mdi_sched_admit(s, one, src);
    }
  }
  return s->trips;
}

static void test_continuous_batching(void) {
  const int lengths[] = {1, 50, 2, 3, 40, 1, 1, 30, 2, 2, 5, 60, 3, 1, 1, 20};
  const int n = 16, B = 2, M = 2;
  struct mdi_request reqs[16];
  make_requests(reqs, lengths, n);
  struct mdi_sched s;
  CHECK(mdi_sched_init(&s, B, M, 64, 512, NULL, 0) == MDI_OK);
  struct mdi_request_list list = {reqs, n, 0};
  struct mdi_request_source src = mdi_request_list_source(&list);
  /* the first requests are dealt round-robin: request i in micro-batch i % M */
  unsigned char all[2] = {1, 1};
  CHECK_EQ_INT(mdi_sched_admit(&s, all, &src), B * M);
  for (int i = 0; i < B * M; i++) CHECK(s.slots[(i % M) * B + i / M].req == &reqs[i]);
  mdi_sched_free(&s);
  CHECK(mdi_sched_init(&s, B, M, 64, 512, NULL, 0) == MDI_OK);
  list.next = 0;
  int order[16], finished;
  long trips = run_schedule(&s, &src, order, &finished);
  CHECK_EQ_INT(finished, n);
  CHECK(mdi_sched_empty(&s) && src.closed(src.ctx));
  long generated = 0;
  for (int i = 0; i < n; i++) generated += lengths[i];
  CHECK_EQ_INT(s.generated_tokens, generated);
  /* drain-and-refill: each micro-batch takes B requests and runs until the
   * longest of them ends (a sequence of length L needs L trips) */
  long drain = 0;
  for (int g = 0; g < n; g += B) {
    int longest = 0;
    for (int i = g; i < g + B && i < n; i++)
      if (lengths[i] > longest) longest = lengths[i];
    drain += longest;
  }
  printf("continuous batching: %ld trips, drain-and-refill: %ld trips\n", trips, drain);
  CHECK(trips < drain);
  /* lower bound: the busiest slot must run its sequences back to back */
  CHECK(trips >= (generated + B * M - 1) / (B * M));
  mdi_sched_free(&s);
}

static void test_stop_and_limits(void) {
  const int lengths[] = {0, 5};
  struct mdi_request reqs[2];
  make_requests(reqs, lengths, 2);
  const int stops[2] = {1, 2};
  struct mdi_sched s;
  CHECK(mdi_sched_init(&s, 1, 1, 8, 6, stops, 2) == MDI_OK);
  struct mdi_request_list list = {reqs, 2, 0};
  struct mdi_request_source src = mdi_request_list_source(&list);
  const unsigned char one[1] = {1};
  CHECK_EQ_INT(mdi_sched_admit(&s, one, &src), 1);
  CHECK_EQ_INT(mdi_sched_admit(&s, one, &src), 0); /* no free slot: request 1 waits */
  struct mdi_span spans[1];
  int tokens[8], rows;
  /* request 0 (1 prompt token, no limit) runs to max_seq = 6 */
  for (int step = 0;; step++) {
    CHECK_EQ_INT(mdi_sched_build(&s, 0, spans, tokens, &rows), 1);
    struct mdi_sequence *done = mdi_sched_apply(&s, 0, 5);
    if (done) {
      CHECK_EQ_INT(done->finish, MDI_FINISH_LENGTH);
      CHECK_EQ_INT(done->n_tokens, 7); /* positions 0..5 fed, the 7th token sampled last */
      mdi_sched_retire(&s, 0);
      break;
    }
    CHECK(step < 10);
  }
  CHECK_EQ_INT(mdi_sched_admit(&s, one, &src), 1);
  /* request 1: a stop id ends it without being kept */
  CHECK_EQ_INT(mdi_sched_build(&s, 0, spans, tokens, &rows), 1);
  CHECK_EQ_INT(rows, 2); /* its prompt is two tokens, sent as one chunk */
  struct mdi_sequence *done = mdi_sched_apply(&s, 0, 2);
  CHECK(done && done->finish == MDI_FINISH_STOP && done->n_tokens == 2);
  mdi_sched_retire(&s, 0);
  CHECK(mdi_sched_empty(&s) && src.closed(src.ctx));
  CHECK_EQ_INT(mdi_sched_build(&s, 0, spans, tokens, &rows), 0);
  mdi_sched_free(&s);
}

/* A request that arrives while the ring runs takes a free slot; a cancelled
 * or stop-string sequence ends where it is, its slot free for the next. */
static void test_arrivals_and_end(void) {
  const int lengths[] = {0, 0, 3};
  struct mdi_request reqs[3];
  make_requests(reqs, lengths, 3);
  struct mdi_sched s;
  CHECK(mdi_sched_init(&s, 2, 2, 8, 16, NULL, 0) == MDI_OK);
  struct mdi_request_list list = {reqs, 1, 0}; /* one request known at first */
  struct mdi_request_source src = mdi_request_list_source(&list);
  unsigned char idle[2] = {1, 1};
  CHECK(mdi_sched_has_room(&s, idle));
  CHECK_EQ_INT(mdi_sched_admit(&s, idle, &src), 1);
  struct mdi_span spans[2];
  int tokens[16], rows;
  CHECK_EQ_INT(mdi_sched_build(&s, 0, spans, tokens, &rows), 1);
  idle[0] = 0; /* micro-batch 0 is in flight: new requests go to micro-batch 1 */
  list.n = 3;
  CHECK_EQ_INT(mdi_sched_admit(&s, idle, &src), 2);
  CHECK(s.slots[2].req == &reqs[1] && s.slots[3].req == &reqs[2]);
  CHECK_EQ_INT(mdi_sched_build(&s, 1, spans, tokens, &rows), 2);
  CHECK_EQ_INT(rows, reqs[1].n_prompt + reqs[2].n_prompt);
  CHECK(mdi_sched_apply(&s, 0, 9) == NULL);
  struct mdi_sequence *seq = mdi_sched_end(&s, 0, MDI_FINISH_CANCEL);
  CHECK(seq->finish == MDI_FINISH_CANCEL && seq->n_tokens == reqs[0].n_prompt + 1);
  mdi_sched_retire(&s, 0);
  CHECK_EQ_INT(s.occupied[0], 0);
  CHECK_EQ_INT(mdi_sched_build(&s, 0, spans, tokens, &rows), 0);
  for (int slot = 2; slot < 4; slot++) {
    CHECK(mdi_sched_apply(&s, slot, 9) == NULL);
    CHECK(mdi_sched_end(&s, slot, MDI_FINISH_STOP)->finish == MDI_FINISH_STOP);
    mdi_sched_retire(&s, slot);
  }
  CHECK(mdi_sched_empty(&s));
  CHECK_EQ_INT(s.started, 3);
  mdi_sched_free(&s);
}

static struct mdi_hparams stories260k(void) {
  return (struct mdi_hparams){.arch = "llama", .dim = 64, .hidden_dim = 172, .n_layers = 5, .n_heads = 8,
                              .n_kv_heads = 4, .vocab_size = 512, .seq_len = 512, .norm_eps = 1e-5f,
                              .rope_theta = 10000.0f, .shared_classifier = 1};
}

static void test_split(void) {
  struct mdi_hparams hp = stories260k();
  int c[8];
  CHECK(mdi_split_plan(&hp, 1, "auto", -1, c) == MDI_OK && c[0] == 5);
  CHECK(mdi_split_plan(&hp, 3, "auto", 0, c) == MDI_OK && c[0] == 0 && c[1] + c[2] == 5);
  CHECK(mdi_split_plan(&hp, 3, "auto", -1, c) == MDI_OK);
  CHECK_EQ_INT(c[0] + c[1] + c[2], 5);
  CHECK(c[1] >= 1 && c[2] >= 1);
  CHECK(mdi_split_plan(&hp, 3, "0,3,2", -1, c) == MDI_OK && c[0] == 0 && c[1] == 3 && c[2] == 2);
  CHECK(mdi_split_plan(&hp, 3, "1,3,2", -1, c) == MDI_ERR);
  CHECK(strstr(mdi_error(), "add up to 6") != NULL);
  CHECK(mdi_split_plan(&hp, 3, "1,4", -1, c) == MDI_ERR);
  CHECK(mdi_split_plan(&hp, 3, "5,0,0", -1, c) == MDI_ERR);
  CHECK(strstr(mdi_error(), "rank 1 has no layers") != NULL);
  CHECK(mdi_split_plan(&hp, 3, "a,b,c", -1, c) == MDI_ERR);
  CHECK(mdi_split_plan(&hp, 7, "auto", -1, c) == MDI_ERR);
  CHECK(strstr(mdi_error(), "at most 6 ranks") != NULL);
  CHECK(mdi_split_plan(&hp, 6, "auto", -1, c) == MDI_OK && c[0] == 0);
  CHECK(mdi_split_plan(&hp, 3, "auto", 4, c) == MDI_ERR);
  char buf[32];
  mdi_split_format((int[]){1, 2, 2}, 3, buf, sizeof buf);
  CHECK_STR(buf, "1,2,2");
  /* the balance: rank 0's classifier (32768 floats) weighs ~0.72 layers */
  CHECK(mdi_split_plan(&hp, 2, "auto", -1, c) == MDI_OK && c[0] == 2 && c[1] == 3);
}

/* --split calibrate's planner: heterogeneous speeds and memory caps. */
static void test_split_weighted(void) {
  int c[3];
  /* device speeds 1 : 1/2 : 1/4 (e.g. CPU quotas 1.0, 0.5, 0.25): 4,2,1 balances at 4 */
  CHECK(mdi_split_plan_weighted(7, 3, (double[]){1, 2, 4}, 0.0, NULL, -1, c) == MDI_OK);
  CHECK(c[0] == 4 && c[1] == 2 && c[2] == 1);
  /* rank 0's classifier counts: with a head worth 2 layers it takes fewer */
  CHECK(mdi_split_plan_weighted(6, 2, (double[]){1, 1}, 2.0, NULL, -1, c) == MDI_OK);
  CHECK(c[0] == 2 && c[1] == 4);
  /* memory caps win over speed */
  CHECK(mdi_split_plan_weighted(5, 3, (double[]){1, 1, 1}, 0.0, (int[]){1, -1, 2}, -1, c) == MDI_OK);
  CHECK(c[0] <= 1 && c[2] <= 2 && c[0] + c[1] + c[2] == 5 && c[1] >= 1 && c[2] >= 1);
  CHECK(mdi_split_plan_weighted(5, 3, (double[]){1, 1, 1}, 0.0, (int[]){0, 1, 1}, -1, c) == MDI_ERR);
  CHECK(strstr(mdi_error(), "do not fit") != NULL);
  /* a fixed rank-0 share */
  CHECK(mdi_split_plan_weighted(5, 2, (double[]){1, 1}, 0.0, NULL, 0, c) == MDI_OK && c[0] == 0 && c[1] == 5);
}

/* The classifier tail: the last rank takes the vocabulary's last rows so
 * that rank 0 and it balance, in whole 64-row panels. */
static void test_split_tail(void) {
  struct mdi_hparams hp = stories260k();
  const double layer = 181760, head = 512 * 64 * 4; /* bytes */
  int c[4], t = -1;
  /* 2,3 already has the last rank heavier than rank 0: no tail */
  CHECK(mdi_split_plan_tail(&hp, layer, head, 2, "auto", -1, -1, c, &t) == MDI_OK);
  CHECK(c[0] == 2 && c[1] == 3 && t == 0);
  /* 2,1,2: rank 0 is 2 layers + the classifier, the last rank 2 layers: half the
   * classifier's difference, 65536 bytes = 256 rows, balances them exactly */
  CHECK(mdi_split_plan_tail(&hp, layer, head, 3, "2,1,2", -1, -1, c, &t) == MDI_OK && t == 256);
  CHECK(mdi_split_plan_tail(&hp, layer, head, 3, "2,1,2", -1, 200, c, &t) == MDI_OK && t == 256);
  CHECK(mdi_split_plan_tail(&hp, layer, head, 2, "auto", -1, 512, c, &t) == MDI_OK && t == 512);
  CHECK(c[0] == 3 && c[1] == 2); /* rank 0 without the classifier takes more layers */
  CHECK(mdi_split_plan_tail(&hp, layer, head, 2, "auto", -1, 0, c, &t) == MDI_OK && t == 0);
  CHECK(mdi_split_plan_tail(&hp, layer, head, 1, "auto", -1, 64, c, &t) == MDI_ERR);
  CHECK(strstr(mdi_error(), "with one rank") != NULL);
  CHECK(mdi_split_tail_rows(512, 1) == 64 && mdi_split_tail_rows(512, 64) == 64 && mdi_split_tail_rows(512, 65) == 128);
  CHECK(mdi_split_tail_rows(100, 1) == 36 && mdi_split_tail_rows(100, 37) == 100 && mdi_split_tail_rows(100, 0) == 0);
  /* stories110M's proportions (a classifier of 3.47 layers, 12 layers, 32000 rows):
   * whole layers give 4,8 (8 layers on the slowest rank); 5,7 and 21% of the
   * classifier on rank 1 give about 7.735 each */
  struct mdi_hparams big = hp;
  big.n_layers = 12;
  big.vocab_size = 32000;
  CHECK(mdi_split_plan_tail(&big, 1.0, 3.47, 2, "auto", -1, -1, c, &t) == MDI_OK);
  CHECK(c[0] == 5 && c[1] == 7 && t % 64 == 0 && abs(t - 6778) < 64);
  /* without a tail (per-rank files, mdi_convert split): the old plan */
  CHECK(mdi_split_plan_bytes(&big, 1.0, 3.47, 2, "auto", -1, c) == MDI_OK && c[0] == 4 && c[1] == 8);
  /* calibrate: equal speeds, a classifier of 3 layers, 6 layers: whole layers give
   * 5; 3,3 with 320 of 640 rows on the last rank gives 4.5 on both */
  CHECK(mdi_split_plan_weighted_tail(6, 2, (double[]){1, 1}, 3.0, NULL, -1, 640, -1, c, &t) == MDI_OK);
  CHECK(c[0] == 3 && c[1] == 3 && t == 320);
  /* a last rank twice as slow runs the tail at its speed: it takes less */
  CHECK(mdi_split_plan_weighted_tail(6, 2, (double[]){1, 2}, 3.0, NULL, -1, 640, -1, c, &t) == MDI_OK);
  CHECK(t < 320);
  CHECK(mdi_split_plan_weighted_tail(6, 2, (double[]){1, 1}, 3.0, NULL, -1, 640, 100, c, &t) == MDI_OK && t == 128);
}

static void test_protocol(void) {
  struct mdi_msg_layout l;
  mdi_msg_layout_init(&l, 4, 2, 8, 20, 100, 3, 0);
  CHECK(l.rows_offset % 64 == 0);
  CHECK(l.loads_offset % 8 == 0 && l.loads_offset + 3 * sizeof(struct mdi_wire_load) <= l.rows_offset);
  float *buf = mdi_aligned_alloc(l.max_bytes, "msg");
  struct mdi_span spans[3] = {{0, 0, 3}, {5, 9, 1}, {7, 0, 2}}, got[4];
  size_t bytes = mdi_msg_pack(&l, buf, MDI_MSG_DATA, 1, spans, 3, 6, 0);
  CHECK_EQ_INT(bytes, l.rows_offset + 6 * 8 * 4);
  float *rows = mdi_msg_rows(&l, buf);
  for (int i = 0; i < 6 * 8; i++) rows[i] = (float)i;
  CHECK(mdi_msg_check(&l, buf, bytes, got) == MDI_OK);
  CHECK(got[1].slot == 5 && got[1].pos == 9 && got[1].n_tokens == 1);
  CHECK(mdi_msg_check(&l, buf, bytes - 4, got) == MDI_ERR); /* size must match exactly */
  size_t small = mdi_msg_compact(&l, buf);
  CHECK_EQ_INT(small, l.rows_offset + 3 * 8 * 4);
  CHECK(rows[0] == 2 * 8 && rows[8] == 3 * 8 && rows[16] == 5 * 8); /* last row of each span */
  CHECK(mdi_msg_check(&l, buf, small, got) == MDI_OK);
  mdi_msg_spans(buf)[0].slot = 8; /* beyond B x M slots */
  CHECK(mdi_msg_check(&l, buf, small, got) == MDI_ERR);
  /* a PING has no spans and no rows; the loads travel in every message */
  size_t ping = mdi_msg_pack(&l, buf, MDI_MSG_PING, -1, NULL, 0, 0, 0);
  CHECK_EQ_INT(ping, l.rows_offset);
  CHECK(mdi_msg_check(&l, buf, ping, NULL) == MDI_OK);
  CHECK(mdi_msg_check(&l, buf, ping + 4, NULL) == MDI_ERR);
  mdi_msg_loads(&l, buf)[2] = (struct mdi_wire_load){1.5, 4.0, 15, 0}; /* rank 2 caught SIGTERM */
  CHECK(mdi_msg_loads(&l, buf)[2].compute_s == 1.5 && mdi_msg_loads(&l, buf)[2].signal == 15 &&
        mdi_msg_header(buf)->kind == MDI_MSG_PING);
  mdi_msg_header(buf)->magic = 0;
  CHECK(mdi_msg_check(&l, buf, small, got) == MDI_ERR);
  free(buf);
  /* the classifier tail of 10 rows: a greedy span sends its best logit only */
  mdi_msg_layout_init(&l, 4, 2, 8, 20, 100, 3, 10);
  CHECK(l.max_bytes >= mdi_msg_bytes(&l, 4) + 4 * 10 * sizeof(float));
  buf = mdi_aligned_alloc(l.max_bytes, "msg");
  bytes = mdi_msg_pack(&l, buf, MDI_MSG_DATA, 1, spans, 3, 6, 0);
  mdi_msg_spans(buf)[1].flags |= MDI_SPAN_GREEDY;
  small = mdi_msg_compact(&l, buf);
  const size_t with_tail = mdi_msg_add_tail(&l, buf);
  CHECK_EQ_INT(with_tail, small + 2 * 10 * sizeof(float) + sizeof(struct mdi_wire_best));
  CHECK((char *)mdi_msg_tail(&l, buf) == (char *)buf + small);
  CHECK(mdi_msg_check(&l, buf, with_tail, got) == MDI_OK);
  CHECK(mdi_msg_check(&l, buf, with_tail - 4, got) == MDI_ERR);
  CHECK(mdi_msg_check(&l, buf, small, got) == MDI_ERR);
  mdi_msg_header(buf)->tail = 9; /* not the run's tail */
  CHECK(mdi_msg_check(&l, buf, with_tail, got) == MDI_ERR);
  free(buf);
}

int main(void) {
  test_continuous_batching();
  test_stop_and_limits();
  test_arrivals_and_end();
  test_split();
  test_split_weighted();
  test_split_tail();
  test_protocol();
  return mdi_test_finish("test_scheduler");
}
