/*  lt_malloc: the allocator's settings every process of the hub starts with.
*/
#include "lt_malloc.h"

#include <malloc.h>

int lt_malloc_setup(void)
{
    //  Fixed thresholds also turn off glibc's adaptive ones, which would
    //  otherwise move them again as buffers come and go.
    int ok = mallopt(M_MMAP_THRESHOLD, (int) LT_MALLOC_MMAP_MIN);
    ok &= mallopt(M_TRIM_THRESHOLD, (int) LT_MALLOC_TRIM_MIN);
    return ok ? 0 : -1;
}
