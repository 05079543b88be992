/* The files of a run (see files.h). */
#include "mdi/app/files.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdi/base/error.h"
#include "mdi/base/path.h"
#include "mdi/model/rankfiles.h"

struct named {
  const char *path;
  char what[64];
};

int mdi_files_check(const struct mdi_options *o, int n_ranks) {
  struct named out[2];
  int n_out = 0;
  if (o->output) out[n_out++] = (struct named){o->output, "the output file (-o)"};
  if (o->stats) out[n_out++] = (struct named){o->stats, "the stats file (--stats)"};
  for (int i = 0; i < n_out; i++)
    if (mdi_path_output(out[i].path, out[i].what) != MDI_OK) return MDI_ERR;
  if (n_out == 2 && mdi_path_same(out[0].path, out[1].path))
    return mdi_fail("%s: -o and --stats name the same file; give each its own", out[1].path);

  /* the inputs: config, prompts, the model or every rank's part of it */
  const int n_in_max = 3 + n_ranks;
  struct named *in = mdi_xcalloc((size_t)n_in_max, sizeof *in, "file list");
  int n_in = 0;
  if (o->config) in[n_in++] = (struct named){o->config, "the config file (-c)"};
  if (o->prompt_file && strcmp(o->prompt_file, "-") != 0) /* "-": standard input */
    in[n_in++] = (struct named){o->prompt_file, "the prompt file (-f)"};
  char **parts = mdi_xcalloc((size_t)n_ranks, sizeof *parts, "file list");
  if (o->model) {
    in[n_in++] = (struct named){o->model, "the model file (-m)"};
    for (int r = 0; r < n_ranks; r++) {
      const size_t size = strlen(o->model) + MDI_RANKFILE_SUFFIX_MAX;
      parts[r] = mdi_xmalloc(size, "file list");
      mdi_rankfile_path(parts[r], size, o->model, r);
      in[n_in] = (struct named){parts[r], ""};
      snprintf(in[n_in].what, sizeof in[n_in].what, "rank %d's model file", r);
      n_in++;
    }
  }
  int rc = MDI_OK;
  for (int i = 0; i < n_out && rc == MDI_OK; i++)
    for (int j = 0; j < n_in && rc == MDI_OK; j++)
      if (mdi_path_same(out[i].path, in[j].path))
        rc = mdi_fail("%s: %s is %s: it would be overwritten; choose another file", out[i].path, out[i].what,
                      in[j].what);
  for (int r = 0; r < n_ranks; r++) free(parts[r]);
  free(parts);
  free(in);
  return rc;
}
