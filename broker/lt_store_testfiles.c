/*  lt_store_testfiles: the temporary store files of the store's self-tests.

    Each self-test of the store (lt_store, lt_store_rules, lt_store_prune,
    lt_store_segments) makes a store under /tmp and removes it at the end:
    the database, its -wal and -shm files, and the segments folder.
*/
#include "lt_store.h"

#include <assert.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void lt_store_test_path(char *path, size_t size, const char *name)
{
    assert(path && name && size >= 32);
    snprintf(path, size, "/tmp/%s_XXXXXX", name);
    int fd = mkstemp(path);
    assert(fd >= 0);
    close(fd);
    unlink(path);   //  the store makes the file itself
}

void lt_store_test_remove(const char *path)
{
    assert(path);
    char name[4200];
    const char *suffix[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(name, sizeof(name), "%s%s", path, suffix[i]);
        unlink(name);
    }
    snprintf(name, sizeof(name), "%s.segments", path);
    DIR *dir = opendir(name);
    struct dirent *entry;
    while (dir && (entry = readdir(dir))) {
        char file[4600];
        snprintf(file, sizeof(file), "%s/%s", name, entry->d_name);
        if (entry->d_name[0] != '.')
            unlink(file);
    }
    if (dir)
        closedir(dir);
    rmdir(name);
}
