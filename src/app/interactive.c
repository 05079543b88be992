/* The terminal prompt loop (see interactive.h). */
#include "mdi/app/interactive.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mdi/app/prompts.h"
#include "mdi/base/error.h"
#include "mdi/base/utf8.h"

/* 1 when a signal byte is waiting (and takes it). */
static int took_signal(int fd) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  unsigned char b;
  return poll(&p, 1, 0) > 0 && read(fd, &b, 1) == 1;
}

/* Read one line into *line; 0 at the end of input or on a signal. */
static int read_line(const struct mdi_interactive *it, char **line, size_t *cap) {
  for (;;) {
    struct pollfd p[2] = {{.fd = STDIN_FILENO, .events = POLLIN}, {.fd = it->sig_fd, .events = POLLIN}};
    if (poll(p, 2, -1) < 0) continue;
    if (p[1].revents & POLLIN) {
      took_signal(it->sig_fd);
      return 0;
    }
    if (p[0].revents & (POLLIN | POLLHUP)) {
      const ssize_t n = getline(line, cap, stdin);
      if (n < 0) return 0;
      if (n > 0 && (*line)[n - 1] == '\n') (*line)[n - 1] = '\0';
      return 1;
    }
  }
}

/* Submit one prompt and print its text as it grows; returns the text
 * (malloc'd) or NULL when the prompt could not be used. */
static char *one_turn(const struct mdi_interactive *it, const char *text, int turn) {
  struct mdi_ids ids = {0};
  const int rc = mdi_prompt_encode(it->tok, text, strlen(text), it->chat ? MDI_PROMPT_CHAT : 0, &ids);
  const int n_prompt = ids.n;
  if (rc != MDI_OK || n_prompt > it->max_seq) {
    if (rc == MDI_OK) mdi_fail("the prompt is %d tokens long but max-seq-len is %d", n_prompt, it->max_seq);
    fprintf(stderr, "%s\n", mdi_error());
    mdi_ids_free(&ids);
    return NULL;
  }
  const struct mdi_options *o = it->opt;
  const struct mdi_job_spec spec = {
      .prompt = text,
      .prompt_tokens = ids.v,
      .n_prompt = n_prompt,
      .n = 1,
      .max_new = o->max_new_tokens,
      .seed = (uint64_t)o->seed + (uint64_t)turn,
      .sampling = {(float)o->temperature, (float)o->top_p, o->top_k},
  };
  int closed;
  struct mdi_job *job = mdi_intake_submit(it->intake, &spec, &closed);
  mdi_ids_free(&ids);
  if (!job) return NULL;
  struct mdi_take t = {0};
  char *all = mdi_xstrdup("");
  size_t all_len = 0;
  int done = 0;
  while (!done) {
    done = mdi_job_wait(job, 0.1);
    if (took_signal(it->sig_fd)) mdi_job_cancel(job); /* Ctrl-C: stop this reply */
    mdi_job_take(job, 0, &t);
    if (t.len) {
      /* whole characters only come out of a take; a byte that is none is
       * shown as U+FFFD, as the API and the journal write it, and so the
       * reply can go back into the conversation */
      all = mdi_xrealloc(all, all_len + 3 * t.len + 1, "reply");
      const size_t n = mdi_utf8_sanitize(t.text, t.len, all + all_len);
      fwrite(all + all_len, 1, n, stdout);
      fflush(stdout);
      all_len += n;
    }
    done = t.done;
  }
  fputc('\n', stdout);
  fflush(stdout);
  mdi_job_release(job);
  mdi_take_free(&t);
  return all;
}

void *mdi_interactive_main(void *arg) {
  const struct mdi_interactive *it = arg;
  const int tty = isatty(STDIN_FILENO);
  struct mdi_api_message *conv = NULL;
  int n_conv = 0;
  char *line = NULL;
  size_t cap = 0;
  for (int turn = 0;; turn++) {
    if (tty) {
      fputs("> ", stdout);
      fflush(stdout);
    }
    if (!read_line(it, &line, &cap)) break;
    char *prompt = NULL;
    if (it->chat) {
      conv = mdi_xrealloc(conv, (size_t)(n_conv + 2) * sizeof *conv, "conversation");
      conv[n_conv++] = (struct mdi_api_message){mdi_xstrdup("user"), mdi_xstrdup(line)};
      if (it->chat(it->chat_ctx, conv, n_conv, &prompt) != MDI_OK) {
        fprintf(stderr, "%s\n", mdi_error());
        free(conv[--n_conv].role), free(conv[n_conv].content);
        continue;
      }
    }
    char *reply = one_turn(it, prompt ? prompt : line, turn);
    free(prompt);
    if (it->chat && reply) {
      conv[n_conv++] = (struct mdi_api_message){mdi_xstrdup("assistant"), reply};
    } else {
      if (it->chat) free(conv[--n_conv].role), free(conv[n_conv].content); /* the turn did not happen */
      free(reply);
    }
  }
  if (tty) fputc('\n', stdout);
  fflush(stdout);
  for (int i = 0; i < n_conv; i++) free(conv[i].role), free(conv[i].content);
  free(conv);
  free(line);
  mdi_intake_close(it->intake);
  return NULL;
}
