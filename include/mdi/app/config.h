/* INI configuration files for mdi_pipeline: the only module that includes
 * iniparser.h.  Sections and keys come from the option table (options.h):
 * every option except -c, --print-config, --help and --version has a key. */
#ifndef MDI_CONFIG_H
#define MDI_CONFIG_H

#include <stdio.h>

#include "mdi/app/options.h"

/* Apply the file's values to o.  Unknown sections or keys and bad values are
 * errors naming file:section:key.  Relative file names in the file are taken
 * relative to the file's directory. */
int mdi_config_load(struct mdi_options *o, const char *path);

/* The effective configuration as an INI file that mdi_config_load accepts. */
void mdi_config_print(const struct mdi_options *o, FILE *out);

/* Defaults, then the config file named by -c (if any), then the command
 * line on top: what mdi_pipeline runs with. */
int mdi_config_resolve(struct mdi_options *o, int argc, char **argv);

#endif
