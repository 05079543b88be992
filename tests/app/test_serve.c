/* The server's pieces without a network or a ring: OpenAI request parsing
 * and response writing, and the intake (queue, stop strings, UTF-8-safe
 * text, cancelling) driven as rank 0's loop drives it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdi/app/intake.h"
#include "mdi/app/openai.h"
#include "mdi/base/error.h"
#include "mdi/base/json.h"
#include "mdi/base/utf8.h"
#include "mdi_test.h"

static int parse(enum mdi_api_kind kind, const char *body, struct mdi_api_request *r, struct mdi_api_error *e) {
  return mdi_api_parse(kind, body, strlen(body), r, e);
}

/* A bad request: 400 naming the parameter, the message containing `what`. */
static void check_bad(enum mdi_api_kind kind, const char *body, const char *param, const char *what) {
  struct mdi_api_request r;
  struct mdi_api_error e;
  if (parse(kind, body, &r, &e) == MDI_OK) {
    fprintf(stderr, "accepted: %s\n", body);
    mdi_test_failures++;
    mdi_api_request_free(&r);
    return;
  }
  CHECK_EQ_INT(e.status, 400);
  CHECK_STR(e.param, param);
  if (!strstr(e.message, what)) {
    fprintf(stderr, "message \"%s\" lacks \"%s\"\n", e.message, what);
    mdi_test_failures++;
  }
}

static void test_parse(void) {
  struct mdi_api_request r;
  struct mdi_api_error e;
  CHECK(parse(MDI_API_COMPLETIONS,
              "{\"model\":\"m\",\"prompt\":\"Once\",\"max_tokens\":7,\"temperature\":0.5,\"top_p\":0.8,\"top_k\":3,"
              "\"seed\":4503599627370497,\"stop\":[\"a\",\"bc\"],\"n\":2,\"stream\":true,"
              "\"stream_options\":{\"include_usage\":true},\"return_tokens\":true,\"logit_bias\":{\"1\":2},"
              "\"user\":\"x\",\"echo\":false}",
              &r, &e) == MDI_OK);
  CHECK_STR(r.model, "m");
  CHECK_STR(r.prompt, "Once");
  CHECK(r.max_tokens == 7 && r.temperature == 0.5 && r.top_p == 0.8 && r.top_k == 3 && r.n == 2);
  CHECK(r.has_seed && r.seed == 4503599627370497ull); /* 2^52 + 1, exactly */
  CHECK(r.n_stop == 2 && !strcmp(r.stop[1], "bc"));
  CHECK(r.stream && r.include_usage && r.return_tokens);
  mdi_api_request_free(&r);
  /* defaults; null is absent; a prompt array of one string */
  CHECK(parse(MDI_API_COMPLETIONS, "{\"prompt\":[\"x\"],\"max_tokens\":null,\"stop\":\"\\n\"}", &r, &e) == MDI_OK);
  CHECK(r.max_tokens == -1 && r.temperature == -1 && r.top_k == -1 && !r.has_seed && r.n == 1 && !r.stream);
  CHECK(r.n_stop == 1 && !strcmp(r.stop[0], "\n") && !strcmp(r.prompt, "x"));
  mdi_api_request_free(&r);
  /* chat: string content and text parts; max_completion_tokens */
  CHECK(parse(MDI_API_CHAT,
              "{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":"
              "[{\"type\":\"text\",\"text\":\"Hi \"},{\"type\":\"text\",\"text\":\"there\"}]}],"
              "\"max_completion_tokens\":5}",
              &r, &e) == MDI_OK);
  CHECK(r.n_messages == 2 && r.max_tokens == 5);
  CHECK_STR(r.messages[1].role, "user");
  CHECK_STR(r.messages[1].content, "Hi there");
  mdi_api_request_free(&r);

  check_bad(MDI_API_COMPLETIONS, "{\"prompt\":\"x\",", "", "could not parse the JSON body");
  check_bad(MDI_API_COMPLETIONS, "[1,2]", "", "must be a JSON object");
  check_bad(MDI_API_COMPLETIONS, "{}", "prompt", "Missing required parameter");
  check_bad(MDI_API_COMPLETIONS, "{\"prompt\":5}", "prompt", "expected a string, but got number");
  check_bad(MDI_API_COMPLETIONS, "{\"prompt\":[\"a\",\"b\"]}", "prompt", "one prompt");
  check_bad(MDI_API_COMPLETIONS, "{\"prompt\":\"x\",\"max_tokens\":\"9\"}", "max_tokens", "got string");
  check_bad(MDI_API_COMPLETIONS, "{\"prompt\":\"x\",\"max_tokens\":1.5}", "max_tokens", "integer");
  check_bad(MDI_API_COMPLETIONS, "{\"prompt\":\"x\",\"max_tokens\":0}", "max_tokens", "integer in [1,");
  check_bad(MDI_API_COMPLETIONS, "{\"prompt\":\"x\",\"temperature\":3}", "temperature", "not in [0, 2]");
  check_bad(MDI_API_COMPLETIONS, "{\"prompt\":\"x\",\"top_p\":0}", "top_p", "(0, 1]");
  check_bad(MDI_API_COMPLETIONS, "{\"prompt\":\"x\",\"seed\":-1}", "seed", "integer");
  check_bad(MDI_API_COMPLETIONS, "{\"prompt\":\"x\",\"n\":0}", "n", "integer");
  check_bad(MDI_API_COMPLETIONS, "{\"prompt\":\"x\",\"stream\":1}", "stream", "boolean");
  check_bad(MDI_API_COMPLETIONS, "{\"prompt\":\"x\",\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}", "stop", "at most 4");
  check_bad(MDI_API_COMPLETIONS, "{\"prompt\":\"x\",\"stop\":[\"\"]}", "stop", "empty");
  check_bad(MDI_API_COMPLETIONS, "{\"prompt\":\"x\",\"stop\":[1]}", "stop", "array of strings");
  check_bad(MDI_API_COMPLETIONS, "{\"prompt\":\"x\",\"stream_options\":[]}", "stream_options", "an object");
  check_bad(MDI_API_COMPLETIONS, "{\"prompt\":\"x\",\"model\":7}", "model", "a string");
  check_bad(MDI_API_CHAT, "{\"messages\":[]}", "messages", "at least one");
  check_bad(MDI_API_CHAT, "{\"messages\":\"hi\"}", "messages", "an array");
  check_bad(MDI_API_CHAT, "{\"messages\":[{\"content\":\"hi\"}]}", "messages.role", "Missing");
  check_bad(MDI_API_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]}",
            "messages.content", "text");
}

static void check_json(struct mdi_json_writer *w, const char *expected) {
  size_t len;
  const char *text = mdi_jw_text(w, &len);
  CHECK_STR(text, expected);
  mdi_jw_free(w);
}

static void test_write(void) {
  struct mdi_json_writer w;
  struct mdi_api_error e;
  mdi_api_fail(&e, 400, "invalid_request_error", "invalid_type", "top_p", "bad %s", "thing");
  mdi_jw_init(&w, 0);
  mdi_api_write_error(&w, &e);
  check_json(&w, "{\"error\":{\"message\":\"bad thing\",\"type\":\"invalid_request_error\",\"param\":\"top_p\","
                 "\"code\":\"invalid_type\"}}");
  const int ids[2] = {5, 6};
  const struct mdi_api_choice c = {"a\"b", 3, ids, 2, "stop"};
  const struct mdi_api_usage u = {4, 2};
  struct mdi_api_meta m = {MDI_API_COMPLETIONS, "cmpl-1", 7, "m", 1};
  mdi_jw_init(&w, 0);
  mdi_api_write_response(&w, &m, &c, 1, &u);
  check_json(&w, "{\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"created\":7,\"model\":\"m\",\"choices\":[{\"index\":0,"
                 "\"text\":\"a\\\"b\",\"logprobs\":null,\"finish_reason\":\"stop\",\"tokens\":[5,6]}],\"usage\":"
                 "{\"prompt_tokens\":4,\"completion_tokens\":2,\"total_tokens\":6}}");
  m = (struct mdi_api_meta){MDI_API_CHAT, "chatcmpl-1", 7, "m", 0};
  const struct mdi_api_choice d = {"hi", 2, NULL, 0, NULL};
  mdi_jw_init(&w, 0);
  mdi_api_write_chunk(&w, &m, 1, &d, 1, 1);
  check_json(&w, "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":7,\"model\":\"m\",\"choices\":"
                 "[{\"index\":1,\"delta\":{\"role\":\"assistant\",\"content\":\"hi\"},\"logprobs\":null,"
                 "\"finish_reason\":null}],\"usage\":null}");
  const struct mdi_api_choice end = {"", 0, NULL, 0, "length"};
  mdi_jw_init(&w, 0);
  mdi_api_write_chunk(&w, &m, 0, &end, 0, 0);
  check_json(&w, "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":7,\"model\":\"m\",\"choices\":"
                 "[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"length\"}]}");
  mdi_jw_init(&w, 0);
  mdi_api_write_usage_chunk(&w, &m, &u);
  check_json(&w, "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":7,\"model\":\"m\",\"choices\":[],"
                 "\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":2,\"total_tokens\":6}}");
}

/* ---- the intake ---------------------------------------------------------- */

/* A tokenizer of 3 specials and the 256 byte pieces: token 3 + b decodes to byte b. */
static void byte_tokenizer(struct mdi_tokenizer *t) {
  enum { V = 259 };
  float scores[V] = {0};
  uint8_t bytes[V * 6];
  int64_t off[V + 1];
  size_t n = 0;
  const char *special[3] = {"<unk>", "<s>", "</s>"};
  for (int i = 0; i < V; i++) {
    char piece[8];
    if (i < 3) snprintf(piece, sizeof piece, "%s", special[i]);
    else snprintf(piece, sizeof piece, "<0x%02X>", i - 3);
    off[i] = (int64_t)n;
    memcpy(bytes + n, piece, strlen(piece));
    n += strlen(piece);
  }
  off[V] = (int64_t)n;
  const int stops[1] = {2};
  CHECK(mdi_tokenizer_init(t, V, scores, bytes, off, 1, 2, stops, 1, "bytes") == MDI_OK);
}

/* Rank 0's side: a sequence in a slot, fed token by token. */
struct fake_seq {
  struct mdi_sequence seq;
  int tokens[256];
};

static void feed(struct mdi_sequence_sink *sink, struct fake_seq *f, const char *bytes, size_t n, int *stopped) {
  for (size_t i = 0; i < n && !*stopped; i++) {
    f->seq.tokens[f->seq.n_tokens++] = 3 + (unsigned char)bytes[i];
    *stopped = sink->token(sink->ctx, &f->seq, 0.0) == MDI_SINK_STOP;
  }
}

/* Takes after every token: each piece valid UTF-8 and without the stop string. */
static void test_intake_text(void) {
  struct mdi_tokenizer tok;
  byte_tokenizer(&tok);
  struct mdi_intake *in = mdi_intake_create(&tok, 4, 2, 1);
  const int prompt[2] = {1, 3 + 'x'};
  const char *stop[1] = {"END!"};
  const struct mdi_job_spec spec = {"x", prompt, 2, 1, 100, 5, {0, 1, 0}, stop, 1};
  int closed;
  struct mdi_job *job = mdi_intake_submit(in, &spec, &closed);
  CHECK(job != NULL);
  struct mdi_request_source src = mdi_intake_source(in);
  struct mdi_sequence_sink sink = mdi_intake_sink(in);
  CHECK(src.pending(src.ctx));
  const struct mdi_request *r = src.next(src.ctx);
  CHECK(r && r->n_prompt == 2 && r->seed == 5 && !src.pending(src.ctx));
  struct fake_seq f = {0};
  f.seq.req = r;
  f.seq.tokens = f.tokens;
  memcpy(f.tokens, prompt, sizeof prompt);
  f.seq.n_tokens = 2;
  /* "héllo 世界 EN" + "D? no" + " END!tail": the stop string ends it */
  const char *gen = "h\xc3\xa9llo \xe4\xb8\x96\xe7\x95\x8c EN" "D? no END!tail";
  const size_t gen_len = strlen(gen);
  struct mdi_take t = {0};
  char got[256] = "";
  size_t got_len = 0;
  int stopped = 0;
  for (size_t i = 0; i < gen_len && !stopped; i++) {
    feed(&sink, &f, gen + i, 1, &stopped);
    mdi_job_take(job, 0, &t);
    CHECK(mdi_utf8_valid(t.text, t.len)); /* never half a character */
    memcpy(got + got_len, t.text, t.len);
    got_len += t.len;
    got[got_len] = '\0';
    /* what may still become "END!" is held back; the stop string never shows */
    for (size_t k = 1; k < 4; k++) CHECK(got_len < k || memcmp(got + got_len - k, "END!", k) != 0);
    CHECK(!strstr(got, "END!"));
  }
  CHECK(stopped);
  CHECK_EQ_INT(f.seq.n_tokens - 2, (long)(strstr(gen, "END!") - gen) + 4); /* stopped at the token completing it */
  f.seq.finish = MDI_FINISH_STOP;
  CHECK(sink.finish(sink.ctx, &f.seq, 0.0) == MDI_OK);
  mdi_job_take(job, 0, &t);
  memcpy(got + got_len, t.text, t.len + 1);
  CHECK(t.done && t.finish == MDI_FINISH_STOP);
  CHECK_STR(got, "h\xc3\xa9llo \xe4\xb8\x96\xe7\x95\x8c END? no ");
  CHECK(mdi_job_wait(job, 0.0));
  mdi_job_release(job);
  mdi_take_free(&t);
  CHECK_EQ_INT(mdi_intake_jobs(in), 0);
  mdi_intake_destroy(in);
  mdi_tokenizer_free(&tok);
}

/* The queue: bounded, n choices with consecutive seeds, cancelling queued
 * and running jobs, closing. */
static void test_intake_queue(void) {
  struct mdi_tokenizer tok;
  byte_tokenizer(&tok);
  struct mdi_intake *in = mdi_intake_create(&tok, 3, 2, 1);
  const int prompt[1] = {1};
  struct mdi_job_spec spec = {"", prompt, 1, 2, 10, 100, {1, 1, 0}, NULL, 0};
  int closed;
  struct mdi_job *a = mdi_intake_submit(in, &spec, &closed);
  spec.n = 2;
  CHECK(mdi_intake_submit(in, &spec, &closed) == NULL && !closed); /* 2 + 2 > 3 waiting */
  spec.n = 1;
  struct mdi_job *b = mdi_intake_submit(in, &spec, &closed);
  CHECK(a && b);
  struct mdi_intake_stats st;
  mdi_intake_snapshot(in, &st, NULL);
  CHECK(st.waiting == 3 && st.rejected == 1 && st.jobs == 2);
  struct mdi_request_source src = mdi_intake_source(in);
  struct mdi_sequence_sink sink = mdi_intake_sink(in);
  const struct mdi_request *r0 = src.next(src.ctx), *r1 = src.next(src.ctx);
  CHECK(r0->seed == 100 && r1->seed == 101 && r0->id == 0 && r1->id == 1);
  /* b is still queued: cancelling it ends it at once, without the ring */
  mdi_job_cancel(b);
  CHECK(mdi_job_wait(b, 0.0));
  CHECK(!src.pending(src.ctx) && src.next(src.ctx) == NULL);
  /* a runs: cancelling flags its sequences for the ring */
  mdi_job_cancel(a);
  CHECK(mdi_request_cancelled(r0) && mdi_request_cancelled(r1));
  struct mdi_sequence s0 = {.req = r0, .finish = MDI_FINISH_CANCEL}, s1 = {.req = r1, .finish = MDI_FINISH_CANCEL};
  CHECK(!mdi_job_wait(a, 0.01));
  sink.finish(sink.ctx, &s0, 0.0);
  sink.finish(sink.ctx, &s1, 0.0);
  CHECK(mdi_job_wait(a, 0.0));
  struct mdi_take t = {0};
  mdi_job_take(a, 1, &t);
  CHECK(t.done && t.finish == MDI_FINISH_CANCEL && t.len == 0);
  mdi_take_free(&t);
  mdi_intake_snapshot(in, &st, NULL);
  CHECK(st.busy == 0 && st.waiting == 0 && st.finished[MDI_FINISH_CANCEL] == 3);
  mdi_job_release(a);
  mdi_job_release(b);
  /* closing: nothing more is taken; the source closes when the queue is empty */
  CHECK(!src.closed(src.ctx));
  mdi_intake_close(in);
  CHECK(src.closed(src.ctx));
  CHECK(mdi_intake_submit(in, &spec, &closed) == NULL && closed);
  CHECK_EQ_INT(mdi_intake_jobs(in), 0);
  mdi_intake_destroy(in);
  mdi_tokenizer_free(&tok);
}

int main(void) {
  test_parse();
  test_write();
  test_intake_text();
  test_intake_queue();
  return mdi_test_finish("test_serve");
}
