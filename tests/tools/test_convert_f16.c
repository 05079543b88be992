/* The F16 -> float32 widening of mdi_convert (weights-tools/convert_io.c):
 * all 65536 half values against a reference built with ldexp. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "convert.h"
#include "mdi_test.h"

int main(void) {
  int wrong = 0;
  for (uint32_t h = 0; h < 65536; h++) {
    int exp = (int)(h >> 10) & 0x1f, mant = (int)(h & 0x3ff), neg = (h & 0x8000) != 0;
    float got = mdi_f16_to_f32((uint16_t)h);
    int ok;
    if (exp == 0x1f && mant != 0) {
      ok = isnan(got) != 0;
    } else {
      float mag = exp == 0x1f  ? INFINITY
                  : exp == 0   ? ldexpf((float)mant, -24)
                               : ldexpf((float)(1024 + mant), exp - 25);
      float want = neg ? -mag : mag;
      ok = memcmp(&got, &want, sizeof got) == 0; /* bitwise: -0 is not +0 */
    }
    if (!ok && wrong++ < 5) fprintf(stderr, "half 0x%04x -> %.9g is wrong\n", h, (double)got);
  }
  CHECK_EQ_INT(wrong, 0);
  return mdi_test_finish("test_convert_f16");
}
