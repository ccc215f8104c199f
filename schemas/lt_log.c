/*  lt_log: formatted event lines on stderr, written with one write(2) per
    line so that lines from several threads never interleave; control
    characters in a line are written as escapes (\n, \x01), so that text
    from a peer can never start a line of its own. */
#include "lt_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char s_program[32] = "lthub";            //  shown on every line
static lt_log_level_t s_level = LT_LOG_INFO;    //  threshold
static const char *s_names[] = {"error", "warning", "info", "debug"};

int lt_log_level_from_name(const char *name)
{
    for (int i = 0; name && i < 4; i++)
        if (strcmp(name, s_names[i]) == 0)
            return i;
    return -1;
}

void lt_log_init(const char *program)
{
    snprintf(s_program, sizeof(s_program), "%s", program);
    int level = lt_log_level_from_name(getenv("LT_LOG_LEVEL"));
    if (level >= 0)
        s_level = (lt_log_level_t) level;
}

void lt_log_set_level(lt_log_level_t level)
{
    s_level = level;
}

bool lt_log_enabled(lt_log_level_t level)
{
    return level <= s_level;
}

void lt_log(lt_log_level_t level, const char *format, ...)
{
    if (level > s_level)
        return;
    char line[2048];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, s_program, s_names[level]);
    char text[2048];
    va_list args;
    va_start(args, format);
    int m = vsnprintf(text, sizeof(text), format, args);
    va_end(args);
    size_t text_len = m < 0 ? 0 : (size_t) m < sizeof(text) ? (size_t) m : sizeof(text) - 1;
    //  A control character (a line end in what a peer sent) is written as
    //  an escape, so that one event stays one line.
    size_t len = (size_t) n;
    for (size_t i = 0; i < text_len && len < sizeof(line) - 5; i++) {
        unsigned char c = (unsigned char) text[i];
        if (c >= 0x20 && c != 0x7f)
            line[len++] = (char) c;
        else if (c == '\n' || c == '\r' || c == '\t') {
            line[len++] = '\\';
            line[len++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
        }
        else {
            static const char hex[] = "0123456789abcdef";
            line[len++] = '\\';
            line[len++] = 'x';
            line[len++] = hex[c >> 4];
            line[len++] = hex[c & 15];
        }
    }
    line[len++] = '\n';
    ssize_t rc = write(STDERR_FILENO, line, len);
    (void) rc;
}

const char *lt_log_quoted(const char *value, char *out, size_t size)
{
    size_t len = 0;
    for (const char *at = value ? value : ""; *at && len + 2 < size; at++) {
        if (*at == '"' || *at == '\\')
            out[len++] = '\\';
        out[len++] = *at;
    }
    if (size)
        out[len < size ? len : size - 1] = 0;
    return out;
}
