/* Fuzz harness: the INI configuration file of mdi_pipeline (mdi_config_load,
 * iniparser underneath), then the checks and the printing that follow it.
 * Input: the file's bytes. */
#define _GNU_SOURCE /* open_memstream */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_util.h"
#include "mdi/app/config.h"
#include "mdi/base/error.h"
#include "mdi/app/options.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fuzz_temp_file(data, size, ".ini");
  struct mdi_options o;
  mdi_options_defaults(&o);
  if (mdi_config_load(&o, path) == MDI_OK) {
    (void)mdi_options_validate(&o);
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    FUZZ_CHECK(mem);
    mdi_config_print(&o, mem);
    FUZZ_CHECK(fclose(mem) == 0);
    free(text);
  }
  mdi_options_free(&o);
  return 0;
}
