/* Long work calls mdi_progress() between steps (a read of weights, a
 * prompt encoded).  The program installs the hook: in mdi_pipeline it
 * tells the other ranks that this one is alive, so that a rank waiting for
 * a slow one while it loads does not time out but a stopped rank is found
 * (ring/comm.h, the start-up timeout), and it ends the work when SIGINT or
 * SIGTERM arrived.  Without a hook mdi_progress does nothing. */
#ifndef MDI_PROGRESS_H
#define MDI_PROGRESS_H

/* hook returns MDI_OK to go on, or MDI_ERR with a message to stop. */
void mdi_progress_set_hook(int (*hook)(void));
/* MDI_OK, or MDI_ERR (message set by the hook): the caller stops and fails. */
int mdi_progress(void);

#endif
