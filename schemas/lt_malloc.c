/*  lt_malloc: the allocator's settings every process of the hub starts with.
*/
#include "lt_malloc.h"

#include <malloc.h>

#define S_MMAP_MIN (32 << 20)   //  allocations up to this come from the heaps, reused after free
#define S_TRIM_MIN (64 << 20)   //  a heap gives its free top back only past this

int lt_malloc_setup(void)
{
    //  Fixed thresholds also turn off glibc's adaptive ones, which would
    //  otherwise move them again as buffers come and go.
    int ok = mallopt(M_MMAP_THRESHOLD, S_MMAP_MIN);
    ok &= mallopt(M_TRIM_THRESHOLD, S_TRIM_MIN);
    return ok ? 0 : -1;
}
