/*  sim_edxml: the few facts of an edXML package the axis simulator needs
    (spec/edxml.md): sender, recipients, DocumentId, status code.

    The parse never touches the network, refuses any DTD (so no entity can be
    declared, let alone expanded), and reads elements by namespace and local
    name so prefixed and default-namespace packages are both accepted.
*/
#include "sim.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>

#define S_NS        "http://www.mic.gov.vn/TBT/QCVN_102_2016"
#define S_MAX_TEXT  1024   //  longest text value kept
#define S_MAX_TO    256    //  recipients kept

//  Return the first child element of node with this local name in the edXML namespace.
static xmlNodePtr s_child(xmlNodePtr node, const char *name)
{
    for (xmlNodePtr child = node ? node->children : NULL; child; child = child->next)
        if (child->type == XML_ELEMENT_NODE && child->ns
            && strcmp((const char *) child->ns->href, S_NS) == 0
            && strcmp((const char *) child->name, name) == 0)
            return child;
    return NULL;
}

//  Return the trimmed text of an element (text and CDATA children only), or NULL.
static char *s_text(xmlNodePtr node)
{
    if (!node)
        return NULL;
    char buf[S_MAX_TEXT + 1];
    size_t used = 0;
    for (xmlNodePtr child = node->children; child; child = child->next)
        if ((child->type == XML_TEXT_NODE || child->type == XML_CDATA_SECTION_NODE)
            && child->content) {
            size_t len = strlen((const char *) child->content);
            if (len > S_MAX_TEXT - used)
                len = S_MAX_TEXT - used;
            memcpy(buf + used, child->content, len);
            used += len;
        }
    buf[used] = 0;
    char *start = buf;
    while (*start && strchr(" \t\r\n", *start))
        start++;
    size_t len = strlen(start);
    while (len > 0 && strchr(" \t\r\n", start[len - 1]))
        start[--len] = 0;
    return len ? strdup(start) : NULL;
}

//  Append a recipient code; false on no memory or too many.
static bool s_add_to(sim_edxml_t *peek, char *code)
{
    if (!code)
        return true;
    char **grown = peek->to_count < S_MAX_TO
                       ? realloc(peek->to, (peek->to_count + 1) * sizeof(char *))
                       : NULL;
    if (!grown) {
        free(code);
        return false;
    }
    peek->to = grown;
    peek->to[peek->to_count++] = code;
    return true;
}

int sim_edxml_peek(const void *data, size_t size, sim_edxml_t *peek, lt_err_t *err)
{
    memset(peek, 0, sizeof(*peek));
    if (size > (size_t) 1 << 30) {
        lt_err_set(err, LT_ETOOBIG, "package too large");
        return -1;
    }
    xmlDocPtr doc = xmlReadMemory(data, (int) size, "package.edxml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc) {
        const xmlError *last = xmlGetLastError();
        lt_err_set(err, LT_EINVAL, "not well-formed XML%s%s", last && last->message ? ": " : "",
                   last && last->message ? last->message : "");
        size_t len = strlen(err ? err->detail : "");
        while (err && len > 0 && err->detail[len - 1] == '\n')
            err->detail[--len] = 0;
        return -1;
    }
    int rc = -1;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlNodePtr header = s_child(s_child(root, "edXMLEnvelope"), "edXMLHeader");
    xmlNodePtr message = s_child(header, "MessageHeader");
    xmlNodePtr status = s_child(header, "Status");
    if (doc->intSubset || doc->extSubset)
        lt_err_set(err, LT_EINVAL, "a DTD is not allowed in an edXML package");
    else if (!root || !root->ns || strcmp((const char *) root->ns->href, S_NS) != 0
             || strcmp((const char *) root->name, "edXML") != 0)
        lt_err_set(err, LT_EINVAL, "root element is not edXML in namespace " S_NS);
    else if (!message && !status)
        lt_err_set(err, LT_EINVAL, "no edXMLHeader/MessageHeader or edXMLHeader/Status");
    else if (message) {
        peek->document_id = s_text(s_child(message, "DocumentId"));
        peek->from = s_text(s_child(s_child(message, "From"), "OrganId"));
        bool ok = true;
        for (xmlNodePtr child = message->children; child && ok; child = child->next)
            if (child->type == XML_ELEMENT_NODE && child->ns
                && strcmp((const char *) child->ns->href, S_NS) == 0
                && strcmp((const char *) child->name, "To") == 0)
                ok = s_add_to(peek, s_text(s_child(child, "OrganId")));
        if (!ok)
            lt_err_set(err, LT_EINVAL, "too many recipients");
        else if (!peek->document_id)
            lt_err_set(err, LT_EINVAL, "MessageHeader has no DocumentId");
        else if (!peek->from)
            lt_err_set(err, LT_EINVAL, "MessageHeader has no From/OrganId");
        else
            rc = 0;
    }
    else {
        peek->status = true;
        xmlNodePtr response = s_child(status, "ResponseFor");
        peek->document_id = s_text(s_child(response, "DocumentId"));
        peek->from = s_text(s_child(s_child(status, "From"), "OrganId"));
        peek->status_code = s_text(s_child(status, "StatusCode"));
        s_add_to(peek, s_text(s_child(response, "OrganId")));
        if (!peek->document_id)
            lt_err_set(err, LT_EINVAL, "Status has no ResponseFor/DocumentId");
        else if (!peek->from)
            lt_err_set(err, LT_EINVAL, "Status has no From/OrganId");
        else if (!peek->status_code)
            lt_err_set(err, LT_EINVAL, "Status has no StatusCode");
        else
            rc = 0;
    }
    xmlFreeDoc(doc);
    if (rc)
        sim_edxml_clear(peek);
    return rc;
}

void sim_edxml_clear(sim_edxml_t *peek)
{
    free(peek->document_id);
    free(peek->from);
    free(peek->status_code);
    for (size_t i = 0; i < peek->to_count; i++)
        free(peek->to[i]);
    free(peek->to);
    memset(peek, 0, sizeof(*peek));
}
