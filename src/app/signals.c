/* SIGINT and SIGTERM (see signals.h). */
#define _POSIX_C_SOURCE 200809L
#include "mdi/app/signals.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mdi/base/error.h"

static volatile sig_atomic_t caught, count, exit_on_second;
static volatile long first_sender; /* the pid that sent the first signal, -1 unknown */
static int pipe_fd[2] = {-1, -1};
static int installed;
static struct sigaction old_int, old_term;
/* file status flags of standard output and error when they may stop being
 * read (see mdi_signals_install), else -1 */
static int pipe_flags[3] = {-1, -1, -1};

static void on_signal(int sig, siginfo_t *info, void *uc) {
  (void)uc;
  const int saved = errno;
  if (!caught) first_sender = info ? (long)info->si_pid : -1, caught = sig;
  count = count + 1;
  if (count > 1 && exit_on_second) _exit(128 + sig);
  /* A signalled mpirun stops reading the pipes that carry its ranks'
   * standard output and error, and a rank blocked in a write to a full one
   * would wait there until mpirun kills it: from now on such a write fails
   * at once (EAGAIN, see mdi_signals_unread) and the stop goes on. */
  for (int fd = 1; fd <= 2; fd++)
    if (pipe_flags[fd] >= 0) fcntl(fd, F_SETFL, pipe_flags[fd] | O_NONBLOCK);
  const unsigned char b = (unsigned char)sig;
  if (write(pipe_fd[1], &b, 1) < 0) { /* full: a byte is waiting anyway */
  }
  errno = saved;
}

int mdi_signals_install(int second_exits) {
  exit_on_second = second_exits;
  if (installed) return MDI_OK;
  if (pipe(pipe_fd) != 0) return mdi_fail("cannot create a pipe for signals: %s", strerror(errno));
  for (int i = 0; i < 2; i++) fcntl(pipe_fd[i], F_SETFD, FD_CLOEXEC);
  fcntl(pipe_fd[1], F_SETFL, O_NONBLOCK);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART | SA_SIGINFO;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  /* pipes, and the pseudo-terminals mpirun gives its ranks (never the
   * user's own terminal: its flags are shared with the shell) */
  const int under_mpirun = getenv("OMPI_COMM_WORLD_RANK") || getenv("PMIX_RANK");
  for (int fd = 1; fd <= 2; fd++) {
    struct stat st;
    const int ok = fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || (under_mpirun && isatty(fd)));
    pipe_flags[fd] = ok ? fcntl(fd, F_GETFL) : -1;
  }
  /* a closed pipe is a failed write (reported), not the end of the process */
  signal(SIGPIPE, SIG_IGN);
  installed = 1;
  return MDI_OK;
}

void mdi_signals_remove(void) {
  if (!installed) return;
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  for (int i = 0; i < 2; i++) close(pipe_fd[i]), pipe_fd[i] = -1;
  installed = 0;
}

int mdi_signals_caught(void) { return caught; }
long mdi_signals_sender(void) { return caught ? first_sender : 0; }
int mdi_signals_fd(void) { return pipe_fd[0]; }

void mdi_signals_wake(unsigned char byte) {
  while (pipe_fd[1] >= 0 && write(pipe_fd[1], &byte, 1) < 0 && errno == EAGAIN) {
    const struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
}

void mdi_signals_ignore(void) {
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
}

int mdi_signals_exit_status(int sig) { return 128 + sig; }

int mdi_signals_unread(int err) { return caught && (err == EAGAIN || err == EWOULDBLOCK || err == EPIPE); }
