/*  lt_malloc: the allocator's settings every process of the hub starts with.

    glibc gives an allocation of 128 KiB or more pages of its own (mmap)
    and returns them at free (munmap), and returns a heap's free top past
    128 KiB, until its adaptive thresholds catch up with what the process
    does, which they never do for buffers freed by another thread than the
    one that made them. Relaying 1 MiB documents, lthubd then touched every
    page of every payload buffer for the first time: about 220 page faults
    a message. lt_malloc_setup keeps such buffers in the heaps for reuse.
*/
#ifndef LT_MALLOC_H_INCLUDED
#define LT_MALLOC_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

//  Set the allocator's thresholds (blocks up to 32 MiB from the heaps; a
//  heap's free top given back only past 64 MiB). Call at the start of main, before
//  threads start; idempotent; returns 0, or -1 when the C library refused.
int lt_malloc_setup(void);

#ifdef __cplusplus
}
#endif

#endif
