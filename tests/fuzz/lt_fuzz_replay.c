/*  lt_fuzz_replay: runs a fuzz target's LLVMFuzzerTestOneInput over files
    and folders of inputs without libFuzzer, so that ordinary builds (release,
    Sanitize) check a target's seed corpus as a ctest.

      lt_fuzz_replay_<name> FILE|DIR...
*/
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

//  Run the target on one file; -1 when it cannot be read.
static int s_run_file(const char *path)
{
    FILE *file = fopen(path, "rb");
    if (!file)
        return fprintf(stderr, "lt_fuzz_replay: cannot open %s\n", path), -1;
    size_t cap = 4096, used = 0;
    uint8_t *data = malloc(cap);
    while (data) {
        used += fread(data + used, 1, cap - used, file);
        if (used < cap)
            break;
        uint8_t *more = realloc(data, cap * 2);
        if (!more) {
            free(data);
            data = NULL;
            break;
        }
        data = more;
        cap *= 2;
    }
    int failed = ferror(file) || !data;
    fclose(file);
    if (failed) {
        free(data);
        return fprintf(stderr, "lt_fuzz_replay: cannot read %s\n", path), -1;
    }
    //  An exact-size copy, so that a read past the end shows under ASan.
    uint8_t *exact = malloc(used ? used : 1);
    if (!exact) {
        free(data);
        return -1;
    }
    memcpy(exact, data, used);
    free(data);
    LLVMFuzzerTestOneInput(exact, used);
    free(exact);
    return 0;
}

int main(int argc, char *argv[])
{
    size_t runs = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0)
            return fprintf(stderr, "lt_fuzz_replay: no such input %s\n", argv[i]), 1;
        if (!S_ISDIR(st.st_mode)) {
            if (s_run_file(argv[i]))
                return 1;
            runs++;
            continue;
        }
        DIR *dir = opendir(argv[i]);
        if (!dir)
            return fprintf(stderr, "lt_fuzz_replay: cannot list %s\n", argv[i]), 1;
        struct dirent *entry;
        while ((entry = readdir(dir))) {
            if (entry->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s", argv[i], entry->d_name);
            if (s_run_file(path)) {
                closedir(dir);
                return 1;
            }
            runs++;
        }
        closedir(dir);
    }
    printf("lt_fuzz_replay: %zu inputs checked\n", runs);
    return runs > 0 ? 0 : 1;
}
