/*  lt_supervisor: process supervision with fork/exec and waitpid. */
#include "lt_supervisor.h"
#include "lt_catalog.h"
#include "lt_id.h"
#include "lt_log.h"

#include <assert.h>
#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_MAX_CHILDREN 64
#define S_STABLE_MS 60000   //  a child that ran this long resets its backoff

typedef struct {
    lt_connector_conf_t conf;   //  what to run
    pid_t pid;                  //  running pid, 0 when not running
    int64_t started_at;         //  monotonic ms of the last start
    int64_t start_at;           //  monotonic ms when the next start is due (0 = now)
    int64_t backoff_ms;         //  current restart delay
    uint64_t restarts;          //  starts after the first
    int last_status;            //  last wait status
    bool removed;               //  dropped by a reload: stop, do not restart
} s_child_t;

struct _lt_supervisor_t {
    s_child_t children[S_MAX_CHILDREN];   //  supervised connectors
    size_t count;                          //  children in use
    int restart_min_ms;                    //  first restart delay
    int restart_max_ms;                    //  longest restart delay
    int stop_timeout_ms;                   //  SIGTERM to SIGKILL
    char self_dir[PATH_MAX];               //  directory of the running lthubd
};

static void s_settings(lt_supervisor_t *self, const lt_config_t *config)
{
    const lt_settings_t *st = lt_config_settings(config);
    self->restart_min_ms = st->restart_min_ms;
    self->restart_max_ms = st->restart_max_ms;
    self->stop_timeout_ms = st->stop_timeout_ms;
}

static void s_add(lt_supervisor_t *self, const lt_connector_conf_t *conf)
{
    if (self->count == S_MAX_CHILDREN)
        return;
    s_child_t *child = &self->children[self->count++];
    memset(child, 0, sizeof(*child));
    child->conf = *conf;
    child->backoff_ms = self->restart_min_ms;
}

lt_supervisor_t *lt_supervisor_new(const lt_config_t *config)
{
    lt_supervisor_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    s_settings(self, config);
    ssize_t n = readlink("/proc/self/exe", self->self_dir, sizeof(self->self_dir) - 1);
    if (n > 0) {
        self->self_dir[n] = 0;
        char *slash = strrchr(self->self_dir, '/');
        if (slash)
            *slash = 0;
    }
    for (size_t i = 0; i < lt_config_connectors(config); i++) {
        const lt_connector_conf_t *conf = lt_config_connector(config, i);
        if (*conf->program)
            s_add(self, conf);
    }
    return self;
}

//  Resolve a program name to a path; beside lthubd first, then PATH.
static void s_resolve(lt_supervisor_t *self, const char *program, char *path, size_t size)
{
    if (strchr(program, '/')) {
        snprintf(path, size, "%s", program);
        return;
    }
    snprintf(path, size, "%s/%s", self->self_dir, program);
    if (access(path, X_OK) == 0)
        return;
    //  Connectors built in the tree live in connectors/NAME/ beside broker/.
    snprintf(path, size, "%s/../connectors/%s/%s", self->self_dir,
             strncmp(program, "lthub-", 6) == 0 ? program + 6 : program, program);
    if (access(path, X_OK) == 0)
        return;
    snprintf(path, size, "%s", program);   //  execvp searches PATH
}

//  Split text into arguments on blanks, keeping "double-quoted" runs
//  together; words are written into buf (as large as text). Returns count.
static int s_split(const char *text, char *buf, char **words, int max)
{
    int count = 0;
    const char *p = text;
    char *out = buf;
    while (*p && count < max) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        words[count++] = out;
        bool quoted = false;
        while (*p && (quoted || (*p != ' ' && *p != '\t'))) {
            if (*p == '"')
                quoted = !quoted;
            else
                *out++ = *p;
            p++;
        }
        *out++ = 0;
    }
    return count;
}

static void s_start(lt_supervisor_t *self, s_child_t *child)
{
    char path[2 * PATH_MAX + 1200];
    s_resolve(self, child->conf.program, path, sizeof(path));
    char args[sizeof(child->conf.args)];
    char *argv[68];
    int argc = 0;
    argv[argc++] = path;
    //  Options in the connector's section, or a connector of this build:
    //  the program reads its options (and the broker's endpoint and keys)
    //  from the same file, under its name; its args line comes after and wins.
    if ((*child->conf.options || child->conf.known) && *child->conf.config) {
        argv[argc++] = (char *) "--config";
        argv[argc++] = child->conf.config;
        argv[argc++] = (char *) "--name";
        argv[argc++] = child->conf.name;
    }
    argc += s_split(child->conf.args, args, argv + argc, 62);
    argv[argc] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        //  Child: default signal handling, own process group member of ours.
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        signal(SIGCHLD, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        execvp(path, argv);
        fprintf(stderr, "lthubd: cannot run %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    if (pid < 0) {
        lt_log_error("event=spawn_failed connector=%s reason=\"%s\"", child->conf.name,
                     strerror(errno));
        child->start_at = zclock_mono() + child->backoff_ms;
        return;
    }
    child->pid = pid;
    child->started_at = zclock_mono();
    lt_log_info("event=spawned connector=%s pid=%d program=%s", child->conf.name, (int) pid, path);
}

void lt_supervisor_tick(lt_supervisor_t *self)
{
    assert(self);
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        for (size_t i = 0; i < self->count; i++) {
            s_child_t *child = &self->children[i];
            if (child->pid != pid)
                continue;
            child->pid = 0;
            child->last_status = status;
            int64_t ran = zclock_mono() - child->started_at;
            if (ran > S_STABLE_MS)
                child->backoff_ms = self->restart_min_ms;
            child->start_at = zclock_mono() + child->backoff_ms;
            if (WIFSIGNALED(status))
                lt_log_warning("event=exited connector=%s pid=%d signal=%d ran_ms=%lld "
                               "restart_in_ms=%lld",
                               child->conf.name, (int) pid, WTERMSIG(status), (long long) ran,
                               (long long) child->backoff_ms);
            else
                lt_log_warning("event=exited connector=%s pid=%d status=%d ran_ms=%lld "
                               "restart_in_ms=%lld",
                               child->conf.name, (int) pid, WEXITSTATUS(status), (long long) ran,
                               (long long) child->backoff_ms);
            child->backoff_ms *= 2;
            if (child->backoff_ms > self->restart_max_ms)
                child->backoff_ms = self->restart_max_ms;
        }
    int64_t now = zclock_mono();
    for (size_t i = 0; i < self->count; i++) {
        s_child_t *child = &self->children[i];
        if (child->pid || child->removed || now < child->start_at)
            continue;
        if (child->started_at && !child->conf.restart)
            continue;
        if (child->started_at)
            child->restarts++;
        s_start(self, child);
    }
}

//  Stop the given children and wait for them.
static void s_stop_children(lt_supervisor_t *self, bool only_removed)
{
    for (size_t i = 0; i < self->count; i++) {
        s_child_t *child = &self->children[i];
        if (child->pid && (!only_removed || child->removed))
            kill(child->pid, SIGTERM);
    }
    int64_t deadline = zclock_mono() + self->stop_timeout_ms;
    while (true) {
        bool running = false;
        for (size_t i = 0; i < self->count; i++) {
            s_child_t *child = &self->children[i];
            if (!child->pid || (only_removed && !child->removed))
                continue;
            int status;
            if (waitpid(child->pid, &status, WNOHANG) == child->pid) {
                lt_log_info("event=stopped connector=%s pid=%d", child->conf.name,
                            (int) child->pid);
                child->pid = 0;
                child->last_status = status;
            }
            else if (zclock_mono() >= deadline) {
                lt_log_warning("event=killed connector=%s pid=%d reason=\"no exit after "
                               "SIGTERM within %d ms\"",
                               child->conf.name, (int) child->pid, self->stop_timeout_ms);
                kill(child->pid, SIGKILL);
                waitpid(child->pid, &status, 0);
                child->pid = 0;
            }
            else
                running = true;
        }
        if (!running)
            break;
        usleep(20 * 1000);
    }
}

void lt_supervisor_stop(lt_supervisor_t *self)
{
    assert(self);
    for (size_t i = 0; i < self->count; i++)
        self->children[i].removed = true;
    s_stop_children(self, false);
}

//  The value of option name in a section's "name=value\n" lines ("" when
//  absent), written to out.
static void s_option_value(const char *options, const char *name, char *out, size_t size)
{
    size_t len = strlen(name);
    out[0] = 0;
    for (const char *line = options; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t line_len = end ? (size_t) (end - line) : strlen(line);
        if (line_len > len && strncmp(line, name, len) == 0 && line[len] == '=') {
            snprintf(out, size, "%.*s", (int) (line_len - len - 1), line + len + 1);
            return;
        }
        line = end ? end + 1 : NULL;
    }
}

//  The first option that its connector declares not reloadable (a data
//  folder) and whose value in the section differs between was and now, or
//  NULL.
static const char *s_fixed_changed(const lt_connector_conf_t *was, const lt_connector_conf_t *now)
{
    const lt_catalog_entry_t *entry = lt_catalog_find(was->name, was->program);
    if (!entry || strcmp(was->options, now->options) == 0)
        return NULL;
    const lt_option_t *tables[] = {lt_catalog_runtime(), entry->options};
    for (size_t t = 0; t < 2; t++)
        for (const lt_option_t *o = tables[t]; o && o->name; o++) {
            char before[1024], after[1024];
            s_option_value(was->options, o->name, before, sizeof(before));
            s_option_value(now->options, o->name, after, sizeof(after));
            if (!o->reload && strcmp(before, after) != 0)
                return o->name;
        }
    return NULL;
}

void lt_supervisor_reload(lt_supervisor_t *self, const lt_config_t *config)
{
    assert(self);
    s_settings(self, config);
    for (size_t i = 0; i < self->count; i++) {
        s_child_t *child = &self->children[i];
        const lt_connector_conf_t *conf = lt_config_connector_find(config, child->conf.name);
        const char *fixed = conf && strcmp(conf->program, child->conf.program) == 0
                                ? s_fixed_changed(&child->conf, conf)
                                : NULL;
        if (fixed) {
            //  Keep it running as it is: this option is not applied by SIGHUP.
            lt_log_warning("event=reload_kept connector=%s option=%s reason=\"connectors/%s/%s "
                           "changed, which needs a restart of lthubd; the connector keeps its "
                           "settings until then\"",
                           child->conf.name, fixed, child->conf.name, fixed);
            continue;
        }
        if (!conf || !*conf->program || strcmp(conf->program, child->conf.program) ||
            strcmp(conf->args, child->conf.args) || strcmp(conf->options, child->conf.options))
            child->removed = true;
        else
            child->conf.restart = conf->restart;
    }
    s_stop_children(self, true);
    size_t kept = 0;
    for (size_t i = 0; i < self->count; i++)
        if (!self->children[i].removed)
            self->children[kept++] = self->children[i];
    self->count = kept;
    for (size_t i = 0; i < lt_config_connectors(config); i++) {
        const lt_connector_conf_t *conf = lt_config_connector(config, i);
        bool have = false;
        for (size_t c = 0; c < self->count; c++)
            have |= strcmp(self->children[c].conf.name, conf->name) == 0;
        if (!have && *conf->program)
            s_add(self, conf);
    }
}

json_t *lt_supervisor_status(lt_supervisor_t *self)
{
    assert(self);
    json_t *list = json_array();
    for (size_t i = 0; i < self->count; i++) {
        s_child_t *child = &self->children[i];
        json_array_append_new(list,
                              json_pack("{s:s, s:i, s:b, s:I}", "name", child->conf.name, "pid",
                                        (int) child->pid, "running", child->pid != 0, "restarts",
                                        (json_int_t) child->restarts));
    }
    return list;
}

void lt_supervisor_destroy(lt_supervisor_t **self_p)
{
    assert(self_p);
    if (*self_p) {
        lt_supervisor_stop(*self_p);
        free(*self_p);
        *self_p = NULL;
    }
}

void lt_supervisor_test(bool verbose)
{
    if (verbose)
        printf(" * lt_supervisor: ");
    //  A change of an option its connector does not reload is named; others
    //  and unknown programs are not.
    static lt_connector_conf_t was = {.name = "dms", .program = "lthub-dms",
                                      .options = "listen=127.0.0.1:1\ndata=/var/a\n"};
    static lt_connector_conf_t now = {.name = "dms", .program = "lthub-dms",
                                      .options = "listen=127.0.0.1:2\ndata=/var/a\n"};
    assert(s_fixed_changed(&was, &now) == NULL);
    snprintf(now.options, sizeof(now.options), "listen=127.0.0.1:2\ndata=/var/b\n");
    assert(streq(s_fixed_changed(&was, &now), "data"));
    snprintf(now.options, sizeof(now.options), "listen=127.0.0.1:1\n");
    assert(streq(s_fixed_changed(&was, &now), "data"));
    snprintf(was.program, sizeof(was.program), "my-connector");
    assert(s_fixed_changed(&was, &now) == NULL);
    char value[64];
    s_option_value("a=1\nab=2\nb=\n", "ab", value, sizeof(value));
    assert(streq(value, "2"));
    s_option_value("a=1\nab=2\nb=\n", "b", value, sizeof(value));
    assert(streq(value, ""));
    lt_config_t *config = lt_config_new_default("/tmp");
    lt_supervisor_t *sup = lt_supervisor_new(config);
    assert(sup);
    //  A child that exits at once is restarted with growing delays.
    lt_connector_conf_t quick = {.restart = true};
    snprintf(quick.name, sizeof(quick.name), "quick");
    snprintf(quick.program, sizeof(quick.program), "/bin/true");
    s_add(sup, &quick);
    //  A child that ignores SIGTERM is killed after the stop timeout.
    lt_connector_conf_t stubborn = {.restart = true};
    snprintf(stubborn.name, sizeof(stubborn.name), "stubborn");
    snprintf(stubborn.program, sizeof(stubborn.program), "/bin/sh");
    snprintf(stubborn.args, sizeof(stubborn.args),
             "-c \"trap '' TERM; while :; do sleep 0.1; done\"");
    s_add(sup, &stubborn);
    sup->stop_timeout_ms = 300;
    int64_t until = zclock_mono() + 1500;
    while (zclock_mono() < until) {
        lt_supervisor_tick(sup);
        usleep(20 * 1000);
    }
    s_child_t *q = &sup->children[0];
    assert(q->restarts >= 2);          //  restarted with backoff 200, 400, ...
    assert(q->restarts <= 5);          //  ... not in a tight loop
    s_child_t *s = &sup->children[1];
    assert(s->pid > 0);
    pid_t stubborn_pid = s->pid;
    json_t *status = lt_supervisor_status(sup);
    assert(json_array_size(status) == 2);
    json_decref(status);
    lt_supervisor_stop(sup);
    assert(s->pid == 0);
    assert(kill(stubborn_pid, 0) == -1);   //  gone
    lt_supervisor_destroy(&sup);
    lt_config_destroy(&config);
    if (verbose)
        printf("OK\n");
}
