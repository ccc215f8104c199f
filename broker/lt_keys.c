/*  lt_keys: certificate generation over czmq's zcert. */
#include "lt_keys.h"

#include <assert.h>
#include <czmq.h>
#include <sys/stat.h>

//  Create a certificate with a name at DIR/FILE unless it exists.
static int s_ensure(const char *dir, const char *file, const char *name, lt_err_t *err)
{
    char path[1024], secret[1040];
    snprintf(path, sizeof(path), "%s/%s.cert", dir, file);
    snprintf(secret, sizeof(secret), "%s_secret", path);
    if (zsys_file_exists(secret) && zsys_file_exists(path))
        return 0;
    if (zsys_dir_create("%s", dir))
        return lt_err_set(err, LT_EIO, "cannot create directory %s", dir), -1;
    chmod(dir, 0700);
    zcert_t *cert = zcert_new();
    if (!cert)
        return lt_err_set(err, LT_EINTERNAL, "cannot generate a CURVE key pair"), -1;
    zcert_set_meta(cert, "name", "%s", name);
    zcert_set_meta(cert, "created-by", "lthub keygen");
    int rc = zcert_save(cert, path);
    zcert_destroy(&cert);
    if (rc)
        return lt_err_set(err, LT_EIO, "cannot write %s", path), -1;
    chmod(secret, 0600);
    return 1;
}

int lt_keys_broker(const char *dir, lt_err_t *err)
{
    return s_ensure(dir, "broker", "lthubd", err);
}

int lt_keys_connector(const char *dir, const char *name, lt_err_t *err)
{
    for (const char *p = name; *p; p++)
        if (!(isalnum((unsigned char) *p) || *p == '-' || *p == '_'))
            return lt_err_set(err, LT_ECONFIG,
                              "connector name '%s' may hold only letters, digits, - and _", name),
                   -1;
    int created = s_ensure(dir, name, name, err);
    if (created < 0)
        return -1;
    char path[1024], allowed[1024];
    snprintf(path, sizeof(path), "%s/%s.cert", dir, name);
    snprintf(allowed, sizeof(allowed), "%s/allowed", dir);
    if (zsys_dir_create("%s", allowed))
        return lt_err_set(err, LT_EIO, "cannot create directory %s", allowed), -1;
    snprintf(allowed, sizeof(allowed), "%s/allowed/%s.cert", dir, name);
    zcert_t *cert = zcert_load(path);
    if (!cert)
        return lt_err_set(err, LT_EIO, "cannot read %s", path), -1;
    int rc = zcert_save_public(cert, allowed);
    zcert_destroy(&cert);
    if (rc)
        return lt_err_set(err, LT_EIO, "cannot write %s", allowed), -1;
    return created;
}

void lt_keys_test(bool verbose)
{
    if (verbose)
        printf(" * lt_keys: ");
    char dir[] = "/tmp/lt_keys_test_XXXXXX";
    assert(mkdtemp(dir));
    lt_err_t err;
    assert(lt_keys_broker(dir, &err) == 1);
    assert(lt_keys_broker(dir, &err) == 0);
    assert(lt_keys_connector(dir, "dms", &err) == 1);
    assert(lt_keys_connector(dir, "dms", &err) == 0);
    assert(lt_keys_connector(dir, "../evil", &err) == -1 && err.code == LT_ECONFIG);
    char path[256];
    snprintf(path, sizeof(path), "%s/allowed/dms.cert", dir);
    zcert_t *cert = zcert_load(path);
    assert(cert && streq(zcert_meta(cert, "name"), "dms"));
    zcert_destroy(&cert);
    snprintf(path, sizeof(path), "%s/dms.cert_secret", dir);
    struct stat st;
    assert(stat(path, &st) == 0 && (st.st_mode & 0077) == 0);
    zdir_t *tmp = zdir_new(dir, NULL);
    zdir_remove(tmp, true);
    zdir_destroy(&tmp);
    if (verbose)
        printf("OK\n");
}
