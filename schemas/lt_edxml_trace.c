/*  lt_edxml_trace: insert a relaying system's TraceHeader into a package's
    bytes, leaving every other byte as received (spec/peers.md A: a hop
    changes nothing but inserting its TraceHeader).

    A small scanner walks the package's markup (it was already accepted by
    lt_edxml_read, so it is well-formed UTF-8 without a DTD), keeps the
    namespace declarations in scope, and finds, by namespace and local name
    rather than by prefix, edXMLEnvelope/edXMLHeader, its MessageHeader or
    Status child, and its TraceHeaderList with the TraceHeader children.
    The new TraceHeader goes after the last one (or first in an empty list),
    written with the prefix the list itself uses and preceded by the same
    whitespace as the TraceHeader before it, so the result keeps its
    indentation. A package without a TraceHeaderList gets one holding only
    the new TraceHeader, right after MessageHeader or Status, with the
    header's prefix. Removing the inserted span gives back the input
    exactly; the span is reported to the caller. A TraceHeaderList written
    as an empty-element tag (<p:TraceHeaderList/>) is the one exception:
    it cannot hold a child, so its "/>" becomes ">", the TraceHeader and
    the list's end tag; its name, attributes and every other byte stay.
*/
#include "lt_edxml_int.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_DEPTH 256   //  element nesting the scanner follows
#define S_MAX_NS    512   //  namespace declarations in scope at once

//  One namespace declaration in scope.
typedef struct {
    const char *prefix;   //  prefix bytes (not NUL-terminated), NULL for the default
    size_t prefix_len;    //  prefix length
    const char *uri;      //  URI bytes as written in the attribute
    size_t uri_len;       //  URI length
    int depth;            //  depth of the element that declared it
} s_ns_t;

//  The scanner's state and what it found.
typedef struct {
    const char *data;          //  package bytes
    size_t size;               //  their length
    s_ns_t ns[S_MAX_NS];       //  declarations in scope, innermost last
    size_t ns_count;           //  entries in ns
    int depth;                 //  open elements
    int kind[S_MAX_DEPTH];     //  what each open element is (S_K_*)
    size_t header_prefix;      //  length of edXMLHeader's prefix (0: none)
    const char *header_qname;  //  edXMLHeader's qname, for its prefix
    size_t after_first;        //  offset after MessageHeader's or Status's end tag (0: none)
    size_t first_ws;           //  offset where the whitespace before that child starts
    size_t list_open;          //  offset after TraceHeaderList's start tag (0: none)
    const char *list_qname;    //  TraceHeaderList's qname, for its prefix
    size_t list_name_len;      //  its qname's length
    size_t list_prefix;        //  its prefix length
    bool list_empty_tag;       //  TraceHeaderList written as <.../>
    size_t list_start;         //  offset of TraceHeaderList's '<'
    size_t after_trace;        //  offset after the last TraceHeader's end tag (0: none)
    size_t trace_ws;           //  offset where the whitespace before that TraceHeader starts
    size_t last_text;          //  offset where the current run of text began
} s_scan_t;

//  What an open element is, for the parts the scanner cares about.
enum { S_K_OTHER, S_K_ROOT, S_K_ENVELOPE, S_K_HEADER, S_K_FIRST, S_K_LIST, S_K_TRACE };

//  Return true when bytes [p, p+n) equal the text t.
static bool s_is(const char *p, size_t n, const char *t)
{
    return strlen(t) == n && memcmp(p, t, n) == 0;
}

//  Return the URI a prefix (NULL/0 for the default) is bound to, or NULL.
static const s_ns_t *s_lookup(const s_scan_t *s, const char *prefix, size_t len)
{
    for (size_t i = s->ns_count; i-- > 0;) {
        const s_ns_t *ns = &s->ns[i];
        if (!prefix && !ns->prefix)
            return ns;
        if (prefix && ns->prefix && ns->prefix_len == len && memcmp(ns->prefix, prefix, len) == 0)
            return ns;
    }
    return NULL;
}

//  Return true when the qname [q, q+n) is local name `local` in the edXML namespace.
static bool s_edxml(const s_scan_t *s, const char *q, size_t n, const char *local)
{
    const char *colon = memchr(q, ':', n);
    const char *name = colon ? colon + 1 : q;
    size_t name_len = colon ? n - (size_t) (colon + 1 - q) : n;
    if (!s_is(name, name_len, local))
        return false;
    const s_ns_t *ns = colon ? s_lookup(s, q, (size_t) (colon - q)) : s_lookup(s, NULL, 0);
    return ns && s_is(ns->uri, ns->uri_len, LT_EDXML_NS);
}

//  Return the offset where the whitespace run ending at end begins (end when none).
static size_t s_ws_start(const s_scan_t *s, size_t end)
{
    size_t p = end;
    while (p > s->last_text && strchr(" \t\r\n", s->data[p - 1]))
        p--;
    return p;
}

//  Return true for XML whitespace.
static bool s_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

//  Scan a start tag at offset p ('<' of it); *next receives the offset after
//  it. -1 on malformed markup.
static int s_start_tag(s_scan_t *s, size_t p, size_t *next, lt_err_t *err)
{
    const char *d = s->data;
    size_t q = p + 1, name_start = q;
    while (q < s->size && !s_space(d[q]) && d[q] != '>' && d[q] != '/')
        q++;
    size_t name_len = q - name_start;
    if (name_len == 0 || q >= s->size)
        return lt_err_set(err, LT_EINVAL, "edXML trace: malformed start tag at byte %zu", p), -1;
    if (s->depth >= S_MAX_DEPTH)
        return lt_err_set(err, LT_EINVAL, "edXML trace: elements nested deeper than %d",
                          S_MAX_DEPTH),
               -1;
    //  Attributes: keep namespace declarations.
    size_t ns_before = s->ns_count;
    bool empty = false;
    for (;;) {
        while (q < s->size && s_space(d[q]))
            q++;
        if (q >= s->size)
            return lt_err_set(err, LT_EINVAL, "edXML trace: unterminated start tag"), -1;
        if (d[q] == '>') {
            q++;
            break;
        }
        if (d[q] == '/' && q + 1 < s->size && d[q + 1] == '>') {
            empty = true;
            q += 2;
            break;
        }
        size_t an = q;
        while (q < s->size && d[q] != '=' && !s_space(d[q]) && d[q] != '>')
            q++;
        size_t an_len = q - an;
        while (q < s->size && s_space(d[q]))
            q++;
        if (q >= s->size || d[q] != '=' || an_len == 0)
            return lt_err_set(err, LT_EINVAL, "edXML trace: malformed attribute at byte %zu", q),
                   -1;
        q++;
        while (q < s->size && s_space(d[q]))
            q++;
        if (q >= s->size || (d[q] != '"' && d[q] != '\''))
            return lt_err_set(err, LT_EINVAL, "edXML trace: unquoted attribute at byte %zu", q),
                   -1;
        char quote = d[q++];
        size_t value = q;
        const char *close = memchr(d + q, quote, s->size - q);
        if (!close)
            return lt_err_set(err, LT_EINVAL, "edXML trace: unterminated attribute value"), -1;
        q = (size_t) (close - d) + 1;
        bool xmlns = s_is(d + an, an_len, "xmlns");
        bool prefixed = an_len > 6 && memcmp(d + an, "xmlns:", 6) == 0;
        if (xmlns || prefixed) {
            if (s->ns_count == S_MAX_NS)
                return lt_err_set(err, LT_EINVAL, "edXML trace: over %d namespace declarations",
                                  S_MAX_NS),
                       -1;
            s->ns[s->ns_count++] = (s_ns_t){prefixed ? d + an + 6 : NULL,
                                            prefixed ? an_len - 6 : 0, d + value,
                                            (size_t) (close - d) - value, s->depth + 1};
        }
    }
    //  What this element is, from its parent.
    const char *qname = d + name_start;
    int parent = s->depth ? s->kind[s->depth - 1] : -1;
    int kind = S_K_OTHER;
    if (s->depth == 0 && s_edxml(s, qname, name_len, "edXML"))
        kind = S_K_ROOT;
    else if (parent == S_K_ROOT && s_edxml(s, qname, name_len, "edXMLEnvelope"))
        kind = S_K_ENVELOPE;
    else if (parent == S_K_ENVELOPE && s_edxml(s, qname, name_len, "edXMLHeader")
             && !s->header_qname) {
        kind = S_K_HEADER;
        s->header_qname = qname;
        const char *colon = memchr(qname, ':', name_len);
        s->header_prefix = colon ? (size_t) (colon - qname) : 0;
    }
    else if (parent == S_K_HEADER && !s->after_first
             && (s_edxml(s, qname, name_len, "MessageHeader")
                 || s_edxml(s, qname, name_len, "Status"))) {
        kind = S_K_FIRST;
        s->first_ws = s_ws_start(s, p);
    }
    else if (parent == S_K_HEADER && !s->list_qname
             && s_edxml(s, qname, name_len, "TraceHeaderList")) {
        kind = S_K_LIST;
        s->list_qname = qname;
        s->list_name_len = name_len;
        const char *colon = memchr(qname, ':', name_len);
        s->list_prefix = colon ? (size_t) (colon - qname) : 0;
        s->list_open = q;
        s->list_start = p;
        s->list_empty_tag = empty;
    }
    else if (parent == S_K_LIST && s_edxml(s, qname, name_len, "TraceHeader")) {
        kind = S_K_TRACE;
        s->trace_ws = s_ws_start(s, p);
    }
    if (empty) {
        //  An empty element closes at once; its declarations go with it.
        s->ns_count = ns_before;
        if (kind == S_K_FIRST)
            s->after_first = q;
        else if (kind == S_K_TRACE)
            s->after_trace = q;
    }
    else
        s->kind[s->depth++] = kind;
    *next = q;
    return 0;
}

//  Scan the whole package; 0 or -1 with err.
static int s_scan(s_scan_t *s, lt_err_t *err)
{
    const char *d = s->data;
    size_t p = 0;
    if (s->size >= 3 && memcmp(d, "\xEF\xBB\xBF", 3) == 0)
        p = 3;
    s->last_text = p;
    while (p < s->size) {
        if (d[p] != '<') {
            const char *lt = memchr(d + p, '<', s->size - p);
            p = lt ? (size_t) (lt - d) : s->size;
            continue;
        }
        const char *end = NULL;
        size_t next = p;
        if (s->size - p >= 4 && memcmp(d + p, "<!--", 4) == 0) {
            const char *hit = NULL;
            for (size_t i = p + 4; i + 3 <= s->size && !hit; i++)
                if (memcmp(d + i, "-->", 3) == 0)
                    hit = d + i;
            if (!hit)
                return lt_err_set(err, LT_EINVAL, "edXML trace: unterminated comment"), -1;
            next = (size_t) (hit - d) + 3;
        }
        else if (s->size - p >= 9 && memcmp(d + p, "<![CDATA[", 9) == 0) {
            const char *hit = NULL;
            for (size_t i = p + 9; i + 3 <= s->size && !hit; i++)
                if (memcmp(d + i, "]]>", 3) == 0)
                    hit = d + i;
            if (!hit)
                return lt_err_set(err, LT_EINVAL, "edXML trace: unterminated CDATA section"), -1;
            next = (size_t) (hit - d) + 3;
        }
        else if (s->size - p >= 2 && d[p + 1] == '?') {
            const char *hit = NULL;
            for (size_t i = p + 2; i + 2 <= s->size && !hit; i++)
                if (memcmp(d + i, "?>", 2) == 0)
                    hit = d + i;
            if (!hit)
                return lt_err_set(err, LT_EINVAL, "edXML trace: unterminated processing "
                                                  "instruction"),
                       -1;
            next = (size_t) (hit - d) + 2;
        }
        else if (s->size - p >= 2 && d[p + 1] == '!')
            return lt_err_set(err, LT_EINVAL, "edXML trace: a DTD is not accepted"), -1;
        else if (s->size - p >= 2 && d[p + 1] == '/') {
            end = memchr(d + p, '>', s->size - p);
            if (!end || s->depth == 0)
                return lt_err_set(err, LT_EINVAL, "edXML trace: stray end tag at byte %zu", p),
                       -1;
            next = (size_t) (end - d) + 1;
            int kind = s->kind[--s->depth];
            if (kind == S_K_FIRST)
                s->after_first = next;
            else if (kind == S_K_TRACE)
                s->after_trace = next;
            while (s->ns_count > 0 && s->ns[s->ns_count - 1].depth > s->depth)
                s->ns_count--;
        }
        else if (s_start_tag(s, p, &next, err))
            return -1;
        p = next;
        s->last_text = p;
    }
    if (s->depth != 0)
        return lt_err_set(err, LT_EINVAL, "edXML trace: %d elements left open", s->depth), -1;
    return 0;
}

//  Append n bytes to a growing buffer (room reserved by the caller).
static void s_put(uint8_t *out, size_t *used, const void *bytes, size_t n)
{
    memcpy(out + *used, bytes, n);
    *used += n;
}

//  Return true when text is safe inside an element without escaping.
static bool s_plain(const char *text)
{
    return text && strlen(text) < 128 && !strpbrk(text, "<>&\"'\r\n");
}

int lt_edxml_insert_trace(const void *data, size_t size, const char *organ_id,
                          const char *timestamp, uint8_t **out_p, size_t *out_size_p,
                          size_t *at_p, size_t *length_p, lt_err_t *err)
{
    assert(data && out_p && out_size_p);
    lt_err_clear(err);
    if (!s_plain(organ_id) || !*organ_id || !s_plain(timestamp) || !*timestamp)
        return lt_err_set(err, LT_EINVAL, "edXML trace: the OrganId or Timestamp is not plain "
                                          "text"),
               -1;
    s_scan_t *s = calloc(1, sizeof(*s));
    if (!s)
        return lt_err_set(err, LT_ENOMEM, "edXML trace: out of memory"), -1;
    s->data = data;
    s->size = size;
    int rc = s_scan(s, err);
    if (!rc && !s->header_qname)
        rc = lt_err_set(err, LT_EINVAL, "edXML trace: no edXMLEnvelope/edXMLHeader in the "
                                        "edXML namespace");
    if (!rc && !s->list_qname && !s->after_first)
        rc = lt_err_set(err, LT_EINVAL, "edXML trace: edXMLHeader has neither MessageHeader "
                                        "nor Status");
    if (rc) {
        free(s);
        return -1;
    }
    //  The prefix ("p:" or "") and where and after which whitespace to insert.
    const char *pq = s->list_qname ? s->list_qname : s->header_qname;
    size_t pl = s->list_qname ? s->list_prefix : s->header_prefix;
    size_t at, ws_from, ws_to;
    if (s->list_qname && s->after_trace) {
        at = s->after_trace;
        ws_from = s->trace_ws;
        ws_to = s->trace_ws;   //  the indentation before the last TraceHeader
        while (ws_to < size && s_space(((const char *) data)[ws_to]))
            ws_to++;
    }
    else if (s->list_qname) {
        //  First child of an empty list; of <list/>, in place of its "/>"
        //  (an empty-element tag ends with those two bytes, nothing between).
        at = s->list_empty_tag ? s->list_open - 2 : s->list_open;
        ws_from = ws_to = 0;
    }
    else {
        at = s->after_first;
        ws_from = s->first_ws;
        ws_to = ws_from;
        while (ws_to < size && s_space(((const char *) data)[ws_to]))
            ws_to++;
    }
    char prefix[80] = "";
    if (pl)
        snprintf(prefix, sizeof(prefix), "%.*s:", (int) (pl < 64 ? pl : 64), pq);
    char element[700];
    int n = snprintf(element, sizeof(element),
                     "<%sTraceHeader><%sOrganId>%s</%sOrganId><%sTimestamp>%s</%sTimestamp>"
                     "</%sTraceHeader>",
                     prefix, prefix, organ_id, prefix, prefix, timestamp, prefix, prefix);
    char list_open[100], list_close[100];
    snprintf(list_open, sizeof(list_open), "<%sTraceHeaderList>", prefix);
    snprintf(list_close, sizeof(list_close), "</%sTraceHeaderList>", prefix);
    //  What closes an empty-element list: ">", the TraceHeader, its end tag
    //  with the qname as the start tag wrote it.
    size_t ws = ws_to - ws_from;
    size_t extra = ws + (size_t) n + (s->list_qname ? 0 : strlen(list_open) + strlen(list_close));
    size_t skip = 0;   //  input bytes replaced at `at` ("/>" of an empty list)
    if (s->list_qname && s->list_empty_tag) {
        skip = 2;
        extra += 1 + 3 + s->list_name_len - skip;   //  ">" and "</qname>", less "/>"
    }
    uint8_t *out = malloc(size + extra + 1);
    if (!out) {
        free(s);
        return lt_err_set(err, LT_ENOMEM, "edXML trace: out of memory"), -1;
    }
    size_t used = 0;
    s_put(out, &used, data, at);
    s_put(out, &used, (const char *) data + ws_from, ws);
    if (!s->list_qname)
        s_put(out, &used, list_open, strlen(list_open));
    if (skip)
        s_put(out, &used, ">", 1);
    s_put(out, &used, element, (size_t) n);
    if (!s->list_qname)
        s_put(out, &used, list_close, strlen(list_close));
    if (skip) {
        s_put(out, &used, "</", 2);
        s_put(out, &used, s->list_qname, s->list_name_len);
        s_put(out, &used, ">", 1);
    }
    s_put(out, &used, (const char *) data + at + skip, size - at - skip);
    out[used] = 0;
    free(s);
    *out_p = out;
    *out_size_p = used;
    if (at_p)
        *at_p = at;
    if (length_p)
        *length_p = extra;
    return 0;
}
