/* -i: a prompt loop on the terminal.  Each line read is a prompt (with a
 * chat template: the user's turn of a conversation that goes on); its text
 * is printed as the tokens arrive.  Ctrl-C while text streams stops that
 * reply; Ctrl-C or end of input at the prompt ends the loop, and with it
 * the run.  Turn i uses the seed S + i, so turn 0 gives what a batch run
 * gives for the same prompt. */
#ifndef MDI_INTERACTIVE_H
#define MDI_INTERACTIVE_H

#include "mdi/app/endpoints.h"
#include "mdi/app/intake.h"
#include "mdi/app/options.h"
#include "mdi/model/tokenizer.h"

struct mdi_interactive {
  struct mdi_intake *intake;
  const struct mdi_tokenizer *tok;
  const struct mdi_options *opt;
  int max_seq;
  mdi_chat_renderer chat;   /* NULL: each line is a plain prompt */
  void *chat_ctx;
  int sig_fd;             /* readable when SIGINT/SIGTERM arrived (one byte each) */
};

/* The loop (a thread's start routine); closes the intake when it ends. */
void *mdi_interactive_main(void *arg);

#endif
