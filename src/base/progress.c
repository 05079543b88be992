/* The progress hook of long work (see progress.h). */
#include "mdi/base/progress.h"

#include "mdi/base/error.h"

static int (*progress_hook)(void);

void mdi_progress_set_hook(int (*hook)(void)) { progress_hook = hook; }

int mdi_progress(void) { return progress_hook ? progress_hook() : MDI_OK; }
