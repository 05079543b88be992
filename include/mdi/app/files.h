/* The files of a run, checked on rank 0 before any work: every output (-o,
 * --stats) is a regular file or a new one in an existing directory, and no
 * output is one of the inputs (the model or a per-rank model file, the
 * prompt file, the config file) or the other output.  Paths are compared by
 * device and inode, and by resolved path for files not written yet
 * (base/path.h), so "-o ./m.h5" and a symbolic link to the model are caught
 * too: with HDF5_USE_FILE_LOCKING=FALSE (common on NFS and Lustre) nothing
 * else would stop a journal from truncating the model. */
#ifndef MDI_FILES_H
#define MDI_FILES_H

#include "mdi/app/options.h"

int mdi_files_check(const struct mdi_options *o, int n_ranks);

#endif
