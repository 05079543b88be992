/* Shared pieces of the fuzz harnesses (fuzz_util.h): input files, findings, checks. */
#define _GNU_SOURCE /* memfd_create, mkstemps */
#include "fuzz_util.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "convert.h"
#include "mdi/base/error.h"
#include "mdi/base/utf8.h"
#include "mdi/model/tokenizer.h"

/* Prints through the sanitizer runtime, whose output libFuzzer keeps open;
 * absent in a build without sanitizers. */
void __sanitizer_report_error_summary(const char *summary) __attribute__((weak));

void fuzz_fail(const char *file, int line, const char *cond) {
  char msg[512];
  snprintf(msg, sizeof msg, "%s:%d: fuzz check failed: %s", file, line, cond);
  if (__sanitizer_report_error_summary) __sanitizer_report_error_summary(msg);
  fprintf(stderr, "%s\n", msg);
  abort();
}

static char temp_path[4096];
static int temp_fd = -1;

static void remove_temp_file(void) {
  if (temp_fd >= 0) {
    close(temp_fd);
    unlink(temp_path);
  }
  temp_fd = -1;
}

/* A machine that cannot write a small file cannot run the harness at all:
 * stop with a message rather than report a finding. */
static void die(const char *what) {
  fprintf(stderr, "fuzz harness: %s %s: %s\n", what, temp_path, strerror(errno));
  exit(2);
}

const char *fuzz_temp_file(const uint8_t *data, size_t size, const char *suffix) {
  if (temp_fd < 0) {
    /* in memory when the kernel allows (ten times faster than a disk file:
     * the parsers reopen it by name, /proc/self/fd/N) */
    temp_fd = memfd_create("mdi-fuzz-input", 0);
    if (temp_fd >= 0) {
      snprintf(temp_path, sizeof temp_path, "/proc/self/fd/%d", temp_fd);
    } else {
      const char *dir = getenv("TMPDIR");
      snprintf(temp_path, sizeof temp_path, "%s/mdi-fuzz-XXXXXX%s", dir && dir[0] ? dir : "/tmp",
               suffix);
      temp_fd = mkstemps(temp_path, (int)strlen(suffix));
      if (temp_fd < 0) die("cannot create");
      atexit(remove_temp_file);
    }
  }
  if (ftruncate(temp_fd, 0) != 0) die("cannot truncate");
  size_t done = 0;
  while (done < size) {
    ssize_t n = pwrite(temp_fd, data + done, size - done, (off_t)done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) die("cannot write");
    done += (size_t)n;
  }
  return temp_path;
}

/* Warnings still print (quiet does not silence them); run_fuzz.sh closes
 * the harness's stderr with -close_fd_mask=2, and libFuzzer keeps its own
 * copy for the crash reports. */
void fuzz_quiet(void) { mdi_log_set_quiet(1); }

/* The set-up of a harness that needs nothing else: quiet logs.  Weak, so a
 * harness with its own set-up (fuzz_prompt_encode.c) replaces it. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fuzz_quiet();
  return 0;
}

/* [off, off + bytes) inside the file of `size` bytes. */
static int inside(int64_t off, int64_t bytes, int64_t size) {
  return off >= 0 && bytes >= 0 && off <= size && bytes <= size - off;
}

void fuzz_check_located(const struct convert_model_src *src) {
  const struct mdi_hparams *hp = &src->hp;
  const int64_t size = src->in->size, emb = (int64_t)hp->vocab_size * hp->dim;
  FUZZ_CHECK(inside(src->embedding.off, emb * (int64_t)convert_src_size(src->embedding.type), size));
  FUZZ_CHECK(inside(src->final_norm.off, hp->dim * (int64_t)convert_src_size(src->final_norm.type), size));
  if (!hp->shared_classifier)
    FUZZ_CHECK(inside(src->classifier.off, emb * (int64_t)convert_src_size(src->classifier.type), size));
  for (int l = 0; l < hp->n_layers; l++)
    for (int t = 0; t < CONVERT_N_LAYER_TENSORS; t++) {
      if (!convert_layer_tensor_present(hp, (enum convert_layer_tensor)t)) continue;
      int ndims;
      int64_t dims[2];
      convert_layer_shape(hp, (enum convert_layer_tensor)t, &ndims, dims);
      const struct convert_tensor_src *ts = &src->layers[(size_t)l * CONVERT_N_LAYER_TENSORS + t];
      const int64_t count = ndims == 2 ? dims[0] * dims[1] : dims[0];
      FUZZ_CHECK(inside(ts->off, count * (int64_t)convert_src_size(ts->type), size));
    }
}

/* The bytes decode keeps when a piece is a single byte. */
static int printable(unsigned char b) {
  return (b >= 0x20 && b <= 0x7E) || (b >= 0x09 && b <= 0x0D) || b >= 0x80;
}

void fuzz_check_roundtrip(const struct mdi_tokenizer *t, const char *text, size_t len, int exact) {
  int *ids = malloc((len + 3) * sizeof *ids);        /* [len + 3]: encode's bound */
  char *out = malloc(len + 1);                        /* the decoded text */
  const size_t cap = (size_t)t->max_token_length + 8; /* decode's bound */
  char *piece = malloc(cap);
  FUZZ_CHECK(ids && out && piece);
  int n = -1;
  const int ok = mdi_tokenizer_encode(t, text, len, 1, 1, ids, &n) == MDI_OK;
  if (!mdi_utf8_valid(text, len)) FUZZ_CHECK(!ok);
  if (ok) {
    FUZZ_CHECK(n >= 2 && (size_t)n <= len + 3 && ids[n - 1] == t->eos_id);
    /* BOS takes part in the merges, as in run.c: only a vocabulary with a
     * piece that extends BOS's (tok512 has none) can replace it */
    if (exact) FUZZ_CHECK(ids[0] == t->bos_id);
    FUZZ_CHECK(ids[0] >= 0 && ids[0] < t->vocab_size);
    int all_printable = 1;
    for (size_t i = 0; i < len; i++) all_printable &= printable((unsigned char)text[i]);
    size_t o = 0; /* decoded bytes so far; more than len is a mismatch */
    for (int i = 1; i + 1 < n; i++) {
      FUZZ_CHECK(ids[i] >= 0 && ids[i] < t->vocab_size);
      size_t k = mdi_tokenizer_decode(t, ids[i - 1], ids[i], piece, cap);
      FUZZ_CHECK(k < cap);
      if (o + k <= len) memcpy(out + o, piece, k);
      o += k;
    }
    if (exact && all_printable) FUZZ_CHECK(o == len && memcmp(out, text, len) == 0);
  }
  free(ids);
  free(out);
  free(piece);
}

void fuzz_load_tokenizer(struct mdi_tokenizer *t, const char *default_path, const char *harness) {
  const char *path = getenv("MDI_FUZZ_TOKENIZER");
  if (!path || !path[0]) path = default_path;
  if (convert_read_llama2c_tokenizer(t, path, 512) != MDI_OK) {
    fprintf(stderr, "%s: %s\n", harness, mdi_error());
    exit(2);
  }
}
