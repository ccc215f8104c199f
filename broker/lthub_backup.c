/*  lthub_backup: check a config offline, back a hub up while it runs, and
    restore the backup into a stopped (or new) hub.

        lthub check-config [FILE]
        lthub backup DIR [--config FILE]
        lthub restore DIR [--config FILE] [--data DIR] [--keys DIR]
                          [--config-dir DIR | --no-config] [--force]

    A backup directory holds MANIFEST.json (version, time, the original
    paths, each file with its size and SHA-256), data/ (the data directory:
    every SQLite database copied online by lt_store_backup_file, each in
    one read transaction, so lthubd and its connectors go on writing), keys/
    (when the keys live outside the data directory) and config/ (the
    config file's directory: config, secrets, trust anchors, agency files;
    the data directory is left out when it lies inside it). In each
    directory the files come before the subdirectories, so the store's
    database is copied before its payload segments (lthub.db.segments/):
    every record the copied database refers to was synced before the
    commit that referred to it, so the segments copied afterwards hold it.
    A segment that retention deletes between the two copies held only
    messages pruned after the database's copy (delivered, never needed
    again); the restored hub prunes them. Deliveries in
    flight at backup time are not stored anywhere; after a restore they are
    due again and the connectors deduplicate on message id (schemas/ltp.md),
    so nothing is lost and nothing is doubled at the destination.
*/
#include "lt_config.h"
#include "lt_digest.h"
#include "lt_file.h"
#include "lt_id.h"
#include "lt_store.h"
#include "lthub_cli.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_MAX_FILE (256u * 1024 * 1024)   //  largest non-database file copied
#define S_MAX_DEPTH 8                       //  directory levels walked

int lthub_check_config_main(int argc, char **argv)
{
    const char *path = "/etc/lthub/lthub.cfg";
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (argv[i][0] != '-')
            path = argv[i];
        else {
            bool help = strcmp(argv[i], "--help") == 0;
            fprintf(help ? stdout : stderr,
                    "usage: lthub check-config [FILE] [--json]\n"
                    "  check a config offline (default /etc/lthub/lthub.cfg); every problem as\n"
                    "  FILE:LINE: ...; exit 0 when valid, 1 when not\n");
            return help ? LTHUB_EXIT_OK : LTHUB_EXIT_USAGE;
        }
    }
    lt_err_t err;
    char *problems = NULL;
    size_t size = 0;
    FILE *report = open_memstream(&problems, &size);
    lt_config_t *config = lt_config_load(path, report, &err);
    fclose(report);
    if (json) {
        json_t *list = json_array();
        char *save = NULL;
        for (char *line = strtok_r(problems, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
            json_array_append_new(list, json_string(line));
        json_t *out = json_pack("{s:s, s:b, s:o, s:I, s:I}", "config", path, "valid",
                                config != NULL, "problems", list, "routes",
                                (json_int_t) (config ? lt_config_routes(config) : 0), "connectors",
                                (json_int_t) (config ? lt_config_connectors(config) : 0));
        char *text = json_dumps(out, JSON_INDENT(2));
        printf("%s\n", text);
        free(text);
        json_decref(out);
    }
    else if (config)
        printf("%s: OK (%zu routes, %zu connectors)\n", path, lt_config_routes(config),
               lt_config_connectors(config));
    else
        fputs(size ? problems : err.detail, stdout);
    free(problems);
    int code = config ? LTHUB_EXIT_OK : LTHUB_EXIT_FAIL;
    lt_config_destroy(&config);
    return code;
}

//  ---------------------------------------------------------------------------
//  Copying trees

//  Options of backup and restore.
typedef struct {
    const char *dir;          //  the backup directory
    const char *config;       //  the hub's config file
    const char *data;         //  restore: target data directory
    const char *keys;         //  restore: target keys directory
    const char *config_dir;   //  restore: where config/ goes
    bool no_config;           //  restore: leave the config alone
    bool force;               //  restore: over an existing store
    bool json;                //  print JSON
} s_opts_t;

//  A walk: what to skip, where the manifest goes.
typedef struct {
    const char *skip[3];      //  absolute paths not to enter
    json_t *files;            //  manifest entries (backup) or NULL
    const char *prefix;       //  manifest path prefix ("data", "keys", "config")
    size_t count;             //  files copied
    uint64_t bytes;           //  bytes copied
    bool chown;               //  restore as root: what is made takes the owner
                              //  of the directory it is made in
} s_walk_t;

//  Give path the owner and group of the directory that holds it.
static int s_own_like_parent(const char *path, lt_err_t *err)
{
    char parent[4096];
    snprintf(parent, sizeof(parent), "%s", path);
    char *slash = strrchr(parent, '/');
    if (!slash)
        snprintf(parent, sizeof(parent), ".");
    else if (slash == parent)
        parent[1] = 0;
    else
        *slash = 0;
    struct stat st;
    if (stat(parent, &st) || lchown(path, st.st_uid, st.st_gid))
        return lt_err_set(err, LT_EIO, "cannot give %s the owner of %s: %s", path, parent,
                          strerror(errno)),
               -1;
    return 0;
}

//  True when the file starts with SQLite's header.
static bool s_is_sqlite(const char *path)
{
    char head[16] = {0};
    FILE *file = fopen(path, "rb");
    size_t n = file ? fread(head, 1, sizeof(head), file) : 0;
    if (file)
        fclose(file);
    return n == 16 && memcmp(head, "SQLite format 3", 16) == 0;
}

//  True when name ends with suffix.
static bool s_ends(const char *name, const char *suffix)
{
    size_t n = strlen(name), s = strlen(suffix);
    return n >= s && strcmp(name + n - s, suffix) == 0;
}

//  Make a directory (and its parents) with mode 0700 unless it exists.
static int s_mkdirs(const char *path, lt_err_t *err)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(buf, 0700);
            *p = '/';
        }
    if (mkdir(buf, 0700) && errno != EEXIST)
        return lt_err_set(err, LT_EIO, "cannot create %s: %s", path, strerror(errno)), -1;
    return 0;
}

//  Copy one regular file (databases online), recording it in the walk.
static int s_copy_file(s_walk_t *walk, const char *from, const char *to, const char *rel,
                       mode_t mode, lt_err_t *err)
{
    json_t *entry = NULL;
    if (s_is_sqlite(from)) {
        if (lt_store_backup_file(from, to, err))
            return -1;
        struct stat st;
        stat(to, &st);
        entry = json_pack("{s:s, s:I, s:s}", "path", rel, "size", (json_int_t) st.st_size,
                          "type", "sqlite");
        walk->bytes += (uint64_t) st.st_size;
    }
    else {
        size_t size = 0;
        void *data = lt_file_read(from, S_MAX_FILE, &size, err);
        if (!data)
            return -1;
        char hex[LT_SHA256_HEX];
        lt_digest_sha256_hex(data, size, hex);
        int rc = lt_file_write(to, data, size, true, err);
        free(data);
        if (rc)
            return -1;
        entry = json_pack("{s:s, s:I, s:s, s:s}", "path", rel, "size", (json_int_t) size, "type",
                          "file", "sha256", hex);
        walk->bytes += size;
    }
    chmod(to, mode & 07777);
    if (walk->chown && s_own_like_parent(to, err))
        return -1;
    if (walk->files)
        json_array_append_new(walk->files, entry);
    else
        json_decref(entry);
    walk->count++;
    return 0;
}

//  Copy the tree at from into to (rel is the path inside the manifest).
static int s_copy_tree(s_walk_t *walk, const char *from, const char *to, const char *rel,
                       int depth, lt_err_t *err)
{
    if (depth > S_MAX_DEPTH)
        return lt_err_set(err, LT_EIO, "%s: directories nested too deep", from), -1;
    DIR *dir = opendir(from);
    if (!dir)
        return lt_err_set(err, LT_EIO, "cannot read directory %s: %s", from, strerror(errno)), -1;
    struct stat before;
    bool is_new = stat(to, &before) != 0;
    if (s_mkdirs(to, err) || (is_new && walk->chown && s_own_like_parent(to, err))) {
        closedir(dir);
        return -1;
    }
    int rc = 0;
    struct dirent *entry;
    //  Two passes: the files (databases) first, then the subdirectories.
    for (int pass = 0; pass < 2 && rc == 0; pass++, rewinddir(dir)) {
        while (rc == 0 && (entry = readdir(dir))) {
            const char *name = entry->d_name;
            if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || s_ends(name, "-wal") ||
                s_ends(name, "-shm") || s_ends(name, "-journal"))
                continue;
            char src[4096], dst[4096], sub[4096];
            snprintf(src, sizeof(src), "%s/%s", from, name);
            snprintf(dst, sizeof(dst), "%s/%s", to, name);
            snprintf(sub, sizeof(sub), "%s/%s", rel, name);
            struct stat st;
            if (lstat(src, &st))
                continue;
            bool skipped = false;
            for (size_t i = 0; i < 3; i++)
                skipped = skipped || (walk->skip[i] && strcmp(walk->skip[i], src) == 0);
            if (skipped)
                continue;
            if (S_ISDIR(st.st_mode) && pass == 1)
                rc = s_copy_tree(walk, src, dst, sub, depth + 1, err);
            else if (S_ISREG(st.st_mode) && pass == 0)
                rc = s_copy_file(walk, src, dst, sub, st.st_mode, err);
        }
    }
    closedir(dir);
    return rc;
}

//  Absolute, normalised form of a directory path (it must exist).
static char *s_real(const char *path)
{
    return path && *path ? realpath(path, NULL) : NULL;
}

//  Parse backup (or, with restore, restore) options; -1 on a usage error.
static int s_parse(int argc, char **argv, s_opts_t *o, bool restore)
{
    o->config = "/etc/lthub/lthub.cfg";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool value = i + 1 < argc;
        if (strcmp(a, "--config") == 0 && value)
            o->config = argv[++i];
        else if (strcmp(a, "--json") == 0)
            o->json = true;
        else if (restore && strcmp(a, "--data") == 0 && value)
            o->data = argv[++i];
        else if (restore && strcmp(a, "--keys") == 0 && value)
            o->keys = argv[++i];
        else if (restore && strcmp(a, "--config-dir") == 0 && value)
            o->config_dir = argv[++i];
        else if (restore && strcmp(a, "--no-config") == 0)
            o->no_config = true;
        else if (restore && strcmp(a, "--force") == 0)
            o->force = true;
        else if (a[0] != '-' && !o->dir)
            o->dir = a;
        else {
            if (strcmp(a, "--help")) {
                bool takes = strcmp(a, "--config") == 0 ||
                             (restore && (strcmp(a, "--data") == 0 || strcmp(a, "--keys") == 0 ||
                                          strcmp(a, "--config-dir") == 0));
                if (takes)
                    fprintf(stderr, "lthub %s: %s needs a value\n", argv[0], a);
                else
                    fprintf(stderr, "lthub %s: %s '%s'\n", argv[0],
                            a[0] == '-' ? "unknown option" : "one DIR only, not also", a);
            }
            return -1;
        }
    }
    if (!o->dir)
        fprintf(stderr, "lthub %s: needs the backup directory DIR\n", argv[0]);
    return o->dir ? 0 : -1;
}

//  ---------------------------------------------------------------------------
//  lthub backup

int lthub_backup_main(int argc, char **argv)
{
    s_opts_t o = {0};
    if (s_parse(argc, argv, &o, false)) {
        bool help = argc > 1 && strcmp(argv[1], "--help") == 0;
        fprintf(help ? stdout : stderr,
                "usage: lthub backup DIR [--config FILE] [--json]\n"
                "  copy the store (online: lthubd may run), the other databases and files of\n"
                "  the data directory, the keys and the config directory into DIR (new or\n"
                "  empty); MANIFEST.json is written last, once every file is copied: a DIR\n"
                "  without it is incomplete; restore with lthub restore DIR\n");
        return help ? LTHUB_EXIT_OK : LTHUB_EXIT_USAGE;
    }
    lt_err_t err;
    lt_config_t *config = lt_config_load(o.config, stderr, &err);
    if (!config) {
        fprintf(stderr, "lthub backup: %s\n", err.detail);
        return LTHUB_EXIT_FAIL;
    }
    const lt_settings_t *st = lt_config_settings(config);
    char keys_dir[600];
    snprintf(keys_dir, sizeof(keys_dir), "%s", *st->keys_dir ? st->keys_dir : "");
    if (!*keys_dir)
        snprintf(keys_dir, sizeof(keys_dir), "%s/keys", st->data_dir);
    char *data = s_real(st->data_dir), *keys = s_real(keys_dir);
    char *cfg = s_real(o.config);
    char *cfg_dir = cfg ? strdup(cfg) : NULL;
    if (cfg_dir)
        *strrchr(cfg_dir, '/') = 0;
    int code = LTHUB_EXIT_FAIL;
    json_t *manifest = NULL;
    char *self_dir = NULL;
    //  DIR must be new or empty. What a backup writes there is data/, keys/,
    //  config/ and, last, MANIFEST.json: without it, DIR is a backup that
    //  failed or was interrupted, and nothing else uses it.
    DIR *existing = opendir(o.dir);
    struct dirent *entry;
    bool empty = true, manifest_seen = false, only_parts = true;
    while (existing && (entry = readdir(existing))) {
        const char *name = entry->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        empty = false;
        if (strcmp(name, "MANIFEST.json") == 0)
            manifest_seen = true;
        else if (strcmp(name, "data") && strcmp(name, "keys") && strcmp(name, "config"))
            only_parts = false;
    }
    if (existing)
        closedir(existing);
    if (!empty && manifest_seen)
        fprintf(stderr,
                "lthub backup: %s already holds a backup (it has a MANIFEST.json); give a new"
                " or empty directory\n",
                o.dir);
    else if (!empty && only_parts)
        fprintf(stderr,
                "lthub backup: %s holds an incomplete backup (no MANIFEST.json: an earlier"
                " lthub backup failed or was interrupted); remove it (rm -r %s) and run"
                " lthub backup again, or give a new directory\n",
                o.dir, o.dir);
    else if (!empty)
        fprintf(stderr,
                "lthub backup: %s is not empty and holds no backup; give a new or empty"
                " directory\n",
                o.dir);
    if (!empty)
        goto done;
    if (!data) {
        fprintf(stderr, "lthub backup: data directory %s not found\n", st->data_dir);
        goto done;
    }
    if (s_mkdirs(o.dir, &err)) {
        fprintf(stderr, "lthub backup: %s\n", err.detail);
        goto done;
    }
    self_dir = s_real(o.dir);
    int64_t started = lt_time_ms();
    manifest = json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:[]}", "lthub", LT_VERSION,
                         "created_at", (json_int_t) started, "config", cfg ? cfg : o.config,
                         "data", data, "keys", keys ? keys : "", "config_dir",
                         cfg_dir ? cfg_dir : "", "files");
    json_t *files = json_object_get(manifest, "files");
    char to[4096];
    //  The data directory first: the store is what matters most. The backup
    //  itself is never walked, should it lie inside what it copies.
    s_walk_t walk = {.skip = {NULL, NULL, self_dir}, .files = files};
    snprintf(to, sizeof(to), "%s/data", o.dir);
    if (s_copy_tree(&walk, data, to, "data", 0, &err))
        goto failed;
    bool keys_inside = keys && strncmp(keys, data, strlen(data)) == 0 &&
                       keys[strlen(data)] == '/';
    if (keys && !keys_inside) {
        snprintf(to, sizeof(to), "%s/keys", o.dir);
        if (s_copy_tree(&walk, keys, to, "keys", 0, &err))
            goto failed;
    }
    if (cfg_dir) {
        //  The config's directory without the data and keys directories,
        //  nor the backup itself should it lie inside.
        walk.skip[0] = data;
        walk.skip[1] = keys;
        walk.skip[2] = self_dir;
        snprintf(to, sizeof(to), "%s/config", o.dir);
        if (s_copy_tree(&walk, cfg_dir, to, "config", 0, &err))
            goto failed;
    }
    json_object_set_new(manifest, "took_ms", json_integer(lt_time_ms() - started));
    char *text = json_dumps(manifest, JSON_INDENT(2));
    snprintf(to, sizeof(to), "%s/MANIFEST.json", o.dir);
    int rc = lt_file_write(to, text, strlen(text), true, &err);
    free(text);
    if (rc)
        goto failed;
    if (o.json) {
        json_t *out = json_pack("{s:s, s:I, s:I, s:I}", "backup", o.dir, "files",
                                (json_int_t) walk.count, "bytes", (json_int_t) walk.bytes,
                                "took_ms", (json_int_t) (lt_time_ms() - started));
        char *line = json_dumps(out, JSON_COMPACT);
        printf("%s\n", line);
        free(line);
        json_decref(out);
    }
    else
        printf("backup in %s: %zu files, %.1f MB, %lld ms\n", o.dir, walk.count,
               (double) walk.bytes / 1e6, (long long) (lt_time_ms() - started));
    code = LTHUB_EXIT_OK;
    goto done;
failed:
    fprintf(stderr,
            "lthub backup: %s\n"
            "  The backup in %s is incomplete (it has no MANIFEST.json, so lthub restore"
            " refuses it): fix the cause, remove it (rm -r %s) and run lthub backup again.\n",
            err.detail, o.dir, o.dir);
done:
    json_decref(manifest);
    free(data);
    free(keys);
    free(cfg);
    free(cfg_dir);
    free(self_dir);
    lt_config_destroy(&config);
    return code;
}

//  ---------------------------------------------------------------------------
//  lthub restore

//  Check each file of the manifest against what lies in the backup.
static int s_verify(const char *dir, json_t *files, lt_err_t *err)
{
    size_t i;
    json_t *f;
    json_array_foreach(files, i, f)
    {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, json_string_value(json_object_get(f, "path")));
        const char *sha = json_string_value(json_object_get(f, "sha256"));
        struct stat st;
        if (stat(path, &st))
            return lt_err_set(err, LT_EIO, "backup file %s is missing", path), -1;
        if (!sha)
            continue;   //  databases: checked by quick_check when copied back
        size_t size = 0;
        void *data = lt_file_read(path, S_MAX_FILE, &size, err);
        if (!data)
            return -1;
        char hex[LT_SHA256_HEX];
        lt_digest_sha256_hex(data, size, hex);
        free(data);
        if (strcmp(hex, sha) != 0)
            return lt_err_set(err, LT_EIO, "backup file %s does not match its SHA-256", path), -1;
    }
    return 0;
}

int lthub_restore_main(int argc, char **argv)
{
    s_opts_t o = {0};
    if (s_parse(argc, argv, &o, true)) {
        bool help = argc > 1 && strcmp(argv[1], "--help") == 0;
        fprintf(help ? stdout : stderr,
                "usage: lthub restore DIR [--data DIR] [--keys DIR] [--config-dir DIR |"
                " --no-config] [--force] [--json]\n"
                "  put a backup made by lthub backup back in place, lthubd stopped; by default\n"
                "  where it came from (MANIFEST.json); --data/--keys/--config-dir restore\n"
                "  elsewhere (a new hub); an existing store is replaced only with --force\n");
        return help ? LTHUB_EXIT_OK : LTHUB_EXIT_USAGE;
    }
    lt_err_t err;
    char path[4096];
    snprintf(path, sizeof(path), "%s/MANIFEST.json", o.dir);
    json_error_t jerr;
    json_t *manifest = json_load_file(path, 0, &jerr);
    struct stat st;
    if (!manifest && stat(path, &st) != 0)
        fprintf(stderr,
                "lthub restore: %s has no MANIFEST.json: it is not a backup, or an incomplete"
                " one (lthub backup writes it last, once every file is copied); give the"
                " directory of a complete backup. Nothing was changed.\n",
                o.dir);
    else if (!manifest || !json_is_array(json_object_get(manifest, "files")))
        fprintf(stderr,
                "lthub restore: %s is damaged (%s); give another backup. Nothing was"
                " changed.\n",
                path, manifest ? "no file list" : jerr.text);
    if (!manifest || !json_is_array(json_object_get(manifest, "files"))) {
        json_decref(manifest);
        return LTHUB_EXIT_FAIL;
    }
    const char *data = o.data ? o.data : json_string_value(json_object_get(manifest, "data"));
    const char *keys = o.keys ? o.keys : json_string_value(json_object_get(manifest, "keys"));
    const char *cfg_dir =
        o.config_dir ? o.config_dir : json_string_value(json_object_get(manifest, "config_dir"));
    int code = LTHUB_EXIT_FAIL;
    if (!data || !*data) {
        fprintf(stderr, "lthub restore: no data directory (give --data DIR)\n");
        goto done;
    }
    if (s_verify(o.dir, json_object_get(manifest, "files"), &err)) {
        fprintf(stderr, "lthub restore: %s; nothing was changed\n", err.detail);
        goto done;
    }
    snprintf(path, sizeof(path), "%s/lthub.db", data);
    if (stat(path, &st) == 0 && !o.force) {
        fprintf(stderr,
                "lthub restore: %s already holds a store; stop lthubd and add --force to "
                "replace it\n",
                data);
        goto done;
    }
    //  A replaced store must not keep its old write-ahead log.
    char side[4200];
    snprintf(side, sizeof(side), "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", path);
    unlink(side);
    unlink(path);
    //  Nor the payload segments of the store it replaces.
    snprintf(side, sizeof(side), "%s.segments", path);
    DIR *segs = opendir(side);
    struct dirent *seg;
    while (segs && (seg = readdir(segs)))
        if (s_ends(seg->d_name, ".seg")) {
            char file[4500];
            snprintf(file, sizeof(file), "%s/%s", side, seg->d_name);
            unlink(file);
        }
    if (segs)
        closedir(segs);
    //  Run as root, what is restored belongs to whoever owns the directory
    //  it goes into (/var/lib/lthub and /etc/lthub/secrets: lthub;
    //  /etc/lthub: root), so lthubd running as lthub can use it.
    s_walk_t walk = {.skip = {NULL, NULL, NULL}, .chown = geteuid() == 0};
    snprintf(path, sizeof(path), "%s/data", o.dir);
    if (s_copy_tree(&walk, path, data, "data", 0, &err))
        goto failed;
    //  Keys that lived outside the data directory have a folder of their
    //  own in the backup; those inside came back with data/.
    snprintf(path, sizeof(path), "%s/keys", o.dir);
    bool keys_restored = stat(path, &st) == 0 && keys && *keys;
    if (keys_restored && s_copy_tree(&walk, path, keys, "keys", 0, &err))
        goto failed;
    snprintf(path, sizeof(path), "%s/config", o.dir);
    bool config_restored = !o.no_config && stat(path, &st) == 0 && cfg_dir && *cfg_dir;
    if (config_restored && s_copy_tree(&walk, path, cfg_dir, "config", 0, &err))
        goto failed;
    if (o.json) {
        json_t *out = json_pack("{s:s, s:s?, s:s?, s:I, s:I}", "restored", data, "keys",
                                keys_restored ? keys : NULL, "config",
                                config_restored ? cfg_dir : NULL, "files",
                                (json_int_t) walk.count, "bytes", (json_int_t) walk.bytes);
        char *line = json_dumps(out, JSON_COMPACT);
        printf("%s\n", line);
        free(line);
        json_decref(out);
    }
    else {
        //  Say where each part went: the operator checks owners and paths.
        char where_keys[4200], where_config[4200];
        if (keys_restored)
            snprintf(where_keys, sizeof(where_keys), "keys into %s", keys);
        else {
            //  Keys inside the data directory: the same place under the
            //  restored data directory.
            const char *was_data = json_string_value(json_object_get(manifest, "data"));
            const char *was_keys = json_string_value(json_object_get(manifest, "keys"));
            size_t n = was_data ? strlen(was_data) : 0;
            if (n && was_keys && strncmp(was_keys, was_data, n) == 0 && was_keys[n] == '/')
                snprintf(where_keys, sizeof(where_keys), "keys with the data (%s%s)", data,
                         was_keys + n);
            else
                snprintf(where_keys, sizeof(where_keys), "no keys in the backup");
        }
        if (config_restored)
            snprintf(where_config, sizeof(where_config), "config into %s", cfg_dir);
        else
            snprintf(where_config, sizeof(where_config), "%s",
                     o.no_config ? "config left as it is (--no-config)"
                                 : "no config in the backup");
        printf("restored %zu files (%.1f MB): data into %s, %s, %s\n", walk.count,
               (double) walk.bytes / 1e6, data, where_keys, where_config);
    }
    code = LTHUB_EXIT_OK;
    goto done;
failed:
    fprintf(stderr, "lthub restore: %s\n", err.detail);
done:
    json_decref(manifest);
    return code;
}
