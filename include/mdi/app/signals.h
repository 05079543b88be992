/* SIGINT and SIGTERM: the one module that installs their handler, for the
 * batch run and the server alike (docs/RELIABILITY.md, "Signals").
 *
 * The handler only does what is async-signal-safe: it remembers the first
 * signal (mdi_signals_caught, for loops that poll between steps: the ring,
 * the loading of the weights) and writes the signal's number as one byte
 * to a pipe (mdi_signals_fd, for threads that sleep in poll(): the server's
 * watcher, the terminal loop).  What a signal means is up to the caller:
 * a batch run stops the ring cleanly, keeps every finished sequence in the
 * journal and exits 128 + the signal; a server drains its requests.
 *
 * With second_exits, a second signal ends the process at once (_exit with
 * 128 + the signal): the way out when a clean stop takes too long. */
#ifndef MDI_SIGNALS_H
#define MDI_SIGNALS_H

/* Install the handler for SIGINT and SIGTERM (again: only second_exits
 * changes).  MDI_ERR (message set) when the pipe cannot be made. */
int mdi_signals_install(int second_exits);
/* Put back the dispositions from before the first install; close the pipe. */
void mdi_signals_remove(void);
/* The first signal caught (SIGINT or SIGTERM), 0 when none. */
int mdi_signals_caught(void);
/* The pid that sent that first signal (-1 when unknown), 0 before any. */
long mdi_signals_sender(void);
/* Read end of the pipe: one byte per signal (its number); -1 when not installed. */
int mdi_signals_fd(void);
/* Write one byte to the pipe (by convention 0 tells a watcher thread to end). */
void mdi_signals_wake(unsigned char byte);
/* Ignore SIGINT and SIGTERM (the stage ranks of a server: rank 0 ends them). */
void mdi_signals_ignore(void);
/* 128 + sig, the status of a process ended by sig (130 SIGINT, 143 SIGTERM). */
int mdi_signals_exit_status(int sig);
/* Whether a failed write to standard output with errno err means that no one
 * reads it any more after a signal (a pipe to a signalled mpirun): the text
 * is lost, the journal is not, and the stop is not an error. */
int mdi_signals_unread(int err);

#endif
