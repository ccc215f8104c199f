/*  lt_file: reading whole files with bounds and readable errors. */
#include "lt_file.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void *lt_file_read(const char *path, size_t max_size, size_t *size_p, lt_err_t *err)
{
    assert(path && size_p);
    *size_p = 0;
    FILE *file = fopen(path, "rb");
    if (!file) {
        lt_err_set(err, LT_EIO, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(file), &st) || !S_ISREG(st.st_mode)) {
        lt_err_set(err, LT_EIO, "%s is not a regular file", path);
        fclose(file);
        return NULL;
    }
    size_t size = (size_t) st.st_size;
    if (max_size && size > max_size) {
        lt_err_set(err, LT_ETOOBIG, "%s is %zu bytes, over the limit of %zu", path, size,
                   max_size);
        fclose(file);
        return NULL;
    }
    uint8_t *data = malloc(size + 1);
    if (!data) {
        lt_err_set(err, LT_ENOMEM, "no memory for %s (%zu bytes)", path, size);
        fclose(file);
        return NULL;
    }
    size_t got = fread(data, 1, size, file);
    bool failed = ferror(file) != 0;
    fclose(file);
    if (failed || got != size) {
        lt_err_set(err, LT_EIO, "cannot read %s", path);
        free(data);
        return NULL;
    }
    data[size] = 0;
    *size_p = size;
    return data;
}

int lt_file_write(const char *path, const void *data, size_t size, bool exclusive,
                  lt_err_t *err)
{
    assert(path && (data || size == 0));
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : O_TRUNC);
    int fd = open(path, flags, 0640);
    if (fd < 0)
        return lt_err_set(err, LT_EIO, "cannot create %s: %s", path, strerror(errno)), -1;
    const uint8_t *p = data;
    while (size > 0) {
        ssize_t n = write(fd, p, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        p += n;
        size -= (size_t) n;
    }
    int rc = size == 0 ? fsync(fd) : -1;
    if (close(fd) || rc) {
        lt_err_set(err, LT_EIO, "cannot write %s: %s", path, strerror(errno));
        unlink(path);
        return -1;
    }
    return 0;
}

void lt_file_test(bool verbose)
{
    if (verbose)
        printf(" * lt_file: ");
    char path[] = "/tmp/lt_file_test_XXXXXX";
    int fd = mkstemp(path);
    assert(fd >= 0);
    assert(write(fd, "hello", 5) == 5);
    close(fd);
    size_t size = 0;
    lt_err_t err;
    char *text = lt_file_read(path, 0, &size, &err);
    assert(text && size == 5 && strcmp(text, "hello") == 0);
    free(text);
    assert(lt_file_read(path, 4, &size, &err) == NULL && err.code == LT_ETOOBIG);
    unlink(path);
    assert(lt_file_read(path, 0, &size, &err) == NULL && err.code == LT_EIO);
    assert(strstr(err.detail, path));
    assert(lt_file_read("/tmp", 0, &size, &err) == NULL && strstr(err.detail, "regular"));
    //  Writing: exclusive refuses an existing file, replacing does not.
    assert(lt_file_write(path, "one", 3, true, &err) == 0);
    assert(lt_file_write(path, "two", 3, true, &err) == -1 && err.code == LT_EIO);
    assert(lt_file_write(path, "three", 5, false, &err) == 0);
    text = lt_file_read(path, 0, &size, &err);
    assert(text && size == 5 && strcmp(text, "three") == 0);
    free(text);
    unlink(path);
    assert(lt_file_write("/nonexistent/dir/x", "x", 1, false, &err) == -1);
    if (verbose)
        printf("OK\n");
}
