/*  lt_edxml_read: parse an edXML package from untrusted bytes.

    libxml2 builds the tree with the network off, no DTD loading and no entity
    substitution; a SAX hook stops the parser at the first DOCTYPE, so an
    internal subset (entity bombs, external entities) is never processed.
    The tree is then walked by namespace URI and local name, tolerating
    prefixed and default-namespace children, unqualified children, `Business`
    for `Bussiness` and ContentId with or without `cid:`. Every rejection
    names the element or the rule that failed. Attachments are decoded here
    (lt_edxml_zip.c) under the size limits.
*/
#include "lt_edxml_int.h"

#include <assert.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S_DSIG_NS "http://www.w3.org/2000/09/xmldsig#"

//  State of one read.
typedef struct {
    lt_edxml_limits_t limits;   //  effective limits
    lt_err_t *err;              //  where rejections go (may be NULL)
    lt_edxml_t *pkg;            //  package being filled
    bool doctype;               //  the parser met a DOCTYPE
    bool nomem;                 //  an allocation failed somewhere
    size_t total;               //  decoded attachment bytes so far
} s_reader_t;

//  A text field found under a parent element: at top level when parent is
//  NULL, else under the named group element.
typedef struct {
    const char *parent;      //  group element, or NULL
    const char *name;        //  element local name
    lt_edxml_field_t field;  //  where the text goes
} s_field_t;

static const s_field_t s_header_fields[] = {
    {NULL, "DocumentId", LT_EDXML_DOCUMENT_ID},
    {"Code", "CodeNumber", LT_EDXML_CODE_NUMBER},
    {"Code", "CodeNotation", LT_EDXML_CODE_NOTATION},
    {"PromulgationInfo", "Place", LT_EDXML_PLACE},
    {"PromulgationInfo", "PromulgationDate", LT_EDXML_PROMULGATION_DATE},
    {"DocumentType", "Type", LT_EDXML_TYPE},
    {"DocumentType", "TypeDetail", LT_EDXML_TYPE_DETAIL},
    {"DocumentType", "TypeName", LT_EDXML_TYPE_NAME},
    {NULL, "Subject", LT_EDXML_SUBJECT},
    {NULL, "Content", LT_EDXML_CONTENT},
    {"SignerInfo", "Competence", LT_EDXML_COMPETENCE},
    {"SignerInfo", "Position", LT_EDXML_POSITION},
    {"SignerInfo", "FullName", LT_EDXML_FULL_NAME},
    {NULL, "DueDate", LT_EDXML_DUE_DATE},
    {"OtherInfo", "Priority", LT_EDXML_PRIORITY},
    {"OtherInfo", "SphereOfPromulgation", LT_EDXML_SPHERE},
    {"OtherInfo", "TyperNotation", LT_EDXML_TYPER_NOTATION},
    {"OtherInfo", "PromulgationAmount", LT_EDXML_PROMULGATION_AMOUNT},
    {"OtherInfo", "PageAmount", LT_EDXML_PAGE_AMOUNT},
    {NULL, "SteeringType", LT_EDXML_STEERING_TYPE},
    {NULL, NULL, 0},
};

static const s_field_t s_business_fields[] = {
    {NULL, "DocumentId", LT_EDXML_BUSINESS_DOCUMENT_ID},
    {NULL, "BussinessDocType", LT_EDXML_BUSINESS_DOC_TYPE},
    {NULL, "BussinessDocReason", LT_EDXML_BUSINESS_REASON},
    {NULL, "Paper", LT_EDXML_PAPER},
    {"BussinessDocumentInfo", "DocumentInfo", LT_EDXML_DOCUMENT_INFO},
    {"BussinessDocumentInfo", "DocumentReceiver", LT_EDXML_DOCUMENT_RECEIVER},
    {NULL, NULL, 0},
};

static const s_field_t s_status_fields[] = {
    {NULL, "StatusCode", LT_EDXML_STATUS_CODE},
    {NULL, "Description", LT_EDXML_DESCRIPTION},
    {NULL, "Timestamp", LT_EDXML_TIMESTAMP},
    {NULL, NULL, 0},
};

//  Return true when an element's local name is want, reading the standard's
//  "Bussiness" spelling as also matching "Business".
static bool s_name_is(const xmlChar *name, const char *want)
{
    const char *have = (const char *) name;
    if (strcmp(have, want) == 0)
        return true;
    return strncmp(want, "Bussiness", 9) == 0 && strncmp(have, "Business", 8) == 0
           && strcmp(have + 8, want + 9) == 0;
}

//  Return true when node is an edXML element (edXML namespace, or none) named name.
static bool s_is(const xmlNode *node, const char *name)
{
    if (!node || node->type != XML_ELEMENT_NODE || !s_name_is(node->name, name))
        return false;
    return !node->ns || !node->ns->href || strcmp((const char *) node->ns->href, LT_EDXML_NS) == 0;
}

//  Return the first child element of parent named name, or NULL.
static xmlNode *s_child(const xmlNode *parent, const char *name)
{
    for (xmlNode *c = parent ? parent->children : NULL; c; c = c->next)
        if (s_is(c, name))
            return c;
    return NULL;
}

//  Return the text of an element with blanks trimmed at both ends, as a new
//  malloc'ed string; NULL (and nomem set) on allocation failure.
static char *s_text(s_reader_t *r, const xmlNode *node)
{
    xmlChar *content = xmlNodeGetContent(node);
    const char *text = content ? (const char *) content : "";
    while (*text == ' ' || *text == '\t' || *text == '\r' || *text == '\n')
        text++;
    size_t length = strlen(text);
    while (length && strchr(" \t\r\n", text[length - 1]))
        length--;
    char *copy = strndup(text, length);
    xmlFree(content);
    if (!copy)
        r->nomem = true;
    return copy;
}

//  Store the text of node into a text field unless an earlier element did.
static void s_set_field(s_reader_t *r, lt_edxml_field_t field, const xmlNode *node)
{
    if (r->pkg->field[field])
        return;
    r->pkg->field[field] = s_text(r, node);
}

//  Fill the text fields of a table from the children (and grandchildren in
//  groups) of parent.
static void s_read_fields(s_reader_t *r, const xmlNode *parent, const s_field_t *table)
{
    for (xmlNode *c = parent->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        for (const s_field_t *f = table; f->name; f++) {
            if (!f->parent && s_is(c, f->name))
                s_set_field(r, f->field, c);
            else if (f->parent && s_is(c, f->parent)) {
                xmlNode *g = s_child(c, f->name);
                if (g)
                    s_set_field(r, f->field, g);
            }
        }
    }
}

//  Fill the string slots of a record from the children of node.
static void s_read_rec(s_reader_t *r, const xmlNode *node, const lt_edxml_rec_t *type, void *rec)
{
    for (size_t i = 0; i < type->count; i++) {
        xmlNode *c = s_child(node, type->slots[i].name);
        if (c)
            lt_edxml_str_take(lt_edxml_slot(type, rec, i), s_text(r, c));
    }
}

//  Append a record read from node to a growable record array.
static void s_add_rec(s_reader_t *r, const xmlNode *node, const lt_edxml_rec_t *type,
                      void **array_p, size_t *size_p)
{
    void *rec = lt_edxml_grow(array_p, size_p, type->size);
    if (!rec) {
        r->nomem = true;
        return;
    }
    lt_edxml_rec_init(type, rec);
    s_read_rec(r, node, type, rec);
}

//  Append the text of every child named name of parent to a string array.
static void s_add_texts(s_reader_t *r, const xmlNode *parent, const char *name, char ***array_p,
                        size_t *size_p)
{
    for (xmlNode *c = parent ? parent->children : NULL; c; c = c->next) {
        if (!s_is(c, name))
            continue;
        char *text = s_text(r, c);
        char **slot = text ? lt_edxml_grow((void **) array_p, size_p, sizeof(char *)) : NULL;
        if (!slot) {
            free(text);
            r->nomem = true;
            return;
        }
        *slot = text;
    }
}

//  Read MessageHeader.
static void s_read_header(s_reader_t *r, const xmlNode *header)
{
    lt_edxml_t *pkg = r->pkg;
    s_read_fields(r, header, s_header_fields);
    xmlNode *from = s_child(header, "From");
    if (from)
        s_read_rec(r, from, &lt_edxml_organ_rec, &pkg->from);
    for (xmlNode *c = header->children; c; c = c->next) {
        if (s_is(c, "To"))
            s_add_rec(r, c, &lt_edxml_organ_rec, (void **) &pkg->to, &pkg->to_size);
        else if (s_is(c, "ResponseFor"))
            s_add_rec(r, c, &lt_edxml_response_rec, (void **) &pkg->responses,
                      &pkg->responses_size);
        else if (s_is(c, "ToPlaces"))
            s_add_texts(r, c, "Place", &pkg->places, &pkg->places_size);
        else if (s_is(c, "OtherInfo"))
            s_add_texts(r, s_child(c, "Appendixes"), "Appendix", &pkg->appendixes,
                        &pkg->appendixes_size);
    }
}

//  Read the Bussiness block of a TraceHeaderList.
static void s_read_business(s_reader_t *r, const xmlNode *business)
{
    lt_edxml_t *pkg = r->pkg;
    s_read_fields(r, business, s_business_fields);
    xmlNode *staff = s_child(business, "StaffInfo");
    if (staff)
        s_read_rec(r, staff, &lt_edxml_staff_rec, &pkg->staff);
    xmlNode *info = s_child(business, "BussinessDocumentInfo");
    if (info) {
        pkg->document_info = true;
        xmlNode *list = s_child(info, "ReceiverList");
        for (xmlNode *c = list ? list->children : NULL; c; c = c->next)
            if (s_is(c, "Receiver"))
                s_add_rec(r, c, &lt_edxml_receiver_rec, (void **) &pkg->receivers,
                          &pkg->receivers_size);
    }
    xmlNode *list = s_child(business, "ReplacementInfoList");
    for (xmlNode *c = list ? list->children : NULL; c; c = c->next) {
        if (!s_is(c, "ReplacementInfo"))
            continue;
        xmlNode *id = s_child(c, "DocumentId");
        char *text = id ? s_text(r, id) : strdup("");
        lt_edxml_replacement_t *rep =
            text ? lt_edxml_grow((void **) &pkg->replacements, &pkg->replacements_size,
                                 sizeof(*rep))
                 : NULL;
        if (!rep) {
            free(text);
            r->nomem = true;
            return;
        }
        rep->document_id = text;
        s_add_texts(r, s_child(c, "OrganIdList"), "OrganId", &rep->organs, &rep->organs_size);
    }
}

//  Read TraceHeaderList: the trace headers and the business block.
static void s_read_traces(s_reader_t *r, const xmlNode *list)
{
    for (xmlNode *c = list->children; c; c = c->next)
        if (s_is(c, "TraceHeader"))
            s_add_rec(r, c, &lt_edxml_trace_rec, (void **) &r->pkg->traces, &r->pkg->traces_size);
    xmlNode *business = r->pkg->status ? NULL : s_child(list, "Bussiness");
    if (business)
        s_read_business(r, business);
}

//  Read the Status block of a status package.
static void s_read_status(s_reader_t *r, const xmlNode *status)
{
    lt_edxml_t *pkg = r->pkg;
    s_read_fields(r, status, s_status_fields);
    xmlNode *from = s_child(status, "From");
    if (from)
        s_read_rec(r, from, &lt_edxml_organ_rec, &pkg->from);
    for (xmlNode *c = status->children; c; c = c->next)
        if (s_is(c, "ResponseFor"))
            s_add_rec(r, c, &lt_edxml_response_rec, (void **) &pkg->responses,
                      &pkg->responses_size);
    xmlNode *staff = s_child(status, "StaffInfo");
    if (staff)
        s_read_rec(r, staff, &lt_edxml_staff_rec, &pkg->staff);
}

//  Return true when a header's Signature element holds an XML-DSig signature.
static bool s_has_xmldsig(const xmlNode *header)
{
    for (xmlNode *c = header->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || strcmp((const char *) c->name, "Signature"))
            continue;
        if (c->ns && c->ns->href && strcmp((const char *) c->ns->href, S_DSIG_NS) == 0)
            return true;
        for (xmlNode *g = c->children; g; g = g->next)
            if (g->type == XML_ELEMENT_NODE && strcmp((const char *) g->name, "Signature") == 0
                && g->ns && g->ns->href && strcmp((const char *) g->ns->href, S_DSIG_NS) == 0)
                return true;
    }
    return false;
}

//  Strip "cid:" (any case), angle brackets and blanks from a ContentId in
//  place, as often as they appear, so that the result reads back the same.
static void s_plain_cid(char *cid)
{
    for (bool changed = true; changed;) {
        size_t length = strlen(cid), skip = 0;
        while (length && strchr(" \t\r\n>", cid[length - 1]))
            cid[--length] = 0;
        while (cid[skip] && strchr(" \t\r\n<", cid[skip]))
            skip++;
        if (strncasecmp(cid + skip, "cid:", 4) == 0)
            skip += 4;
        changed = skip > 0 || length != strlen(cid);
        memmove(cid, cid + skip, strlen(cid + skip) + 1);
    }
}

//  Return true for the ContentType values that say "this is a ZIP" or say
//  nothing useful about the file inside.
static bool s_zip_type(const char *type)
{
    return !*type || strcasecmp(type, "application/zip") == 0
           || strcasecmp(type, "application/x-zip-compressed") == 0
           || strcasecmp(type, "application/x-zip") == 0
           || strcasecmp(type, "application/octet-stream") == 0;
}

//  Return true when name ends with ".zip" (any case).
static bool s_zip_name(const char *name)
{
    size_t length = strlen(name);
    return length >= 4 && strcasecmp(name + length - 4, ".zip") == 0;
}

//  Fill a string from the first child named name of a or else of b.
static char *s_text_of(s_reader_t *r, const xmlNode *a, const xmlNode *b, const char *name)
{
    xmlNode *node = s_child(a, name);
    if (!node)
        node = s_child(b, name);
    return node ? s_text(r, node) : strdup("");
}

//  Decode the bytes of one attachment element into att; 0, or -1 with err set.
static int s_decode_attachment(s_reader_t *r, const xmlNode *node, lt_edxml_attachment_t *att,
                               lt_edxml_wire_t *kept, const char *declared_type)
{
    xmlNode *cte = s_child(node, "ContentTransferEncoded");
    if (!cte) {
        lt_err_set(r->err, LT_EINVAL,
                   "edXML: Attachment 'cid:%s' (%s) ContentTransferEncoded is missing",
                   att->content_id, att->name);
        return -1;
    }
    //  A large attachment is one text node: read it in place, without a copy.
    xmlChar *copy = NULL;
    const char *text;
    if (cte->children && cte->children->type == XML_TEXT_NODE && !cte->children->next)
        text = (const char *) cte->children->content;
    else
        text = (const char *) (copy = xmlNodeGetContent(cte));
    size_t room = r->limits.max_total - r->total;
    size_t max = r->limits.max_attachment < room ? r->limits.max_attachment : room;
    uint8_t *wire = NULL;
    size_t wire_size = 0;
    int rc = lt_edxml_base64_decode(text ? text : "", text ? strlen(text) : 0, max, &wire,
                                    &wire_size);
    xmlFree(copy);
    if (rc == -1)
        lt_err_set(r->err, LT_EINVAL,
                   "edXML: Attachment 'cid:%s' (%s) ContentTransferEncoded is not valid base64",
                   att->content_id, att->name);
    else if (rc == -2)
        lt_err_set(r->err, LT_ETOOBIG,
                   "edXML: Attachment 'cid:%s' (%s) is over the attachment size limit "
                   "(%zu bytes per file, %zu in all)",
                   att->content_id, att->name, r->limits.max_attachment, r->limits.max_total);
    else if (rc)
        r->nomem = true;
    if (rc)
        return -1;

    att->data = wire;
    att->size = wire_size;
    att->zipped = false;
    const char *type = declared_type;
    if (lt_edxml_is_zip(wire, wire_size) && s_zip_type(declared_type)) {
        uint8_t *plain = NULL;
        size_t plain_size = 0;
        char entry[4200] = "", detail[200] = "";
        rc = lt_edxml_unzip(wire, wire_size, max, &plain, &plain_size, entry, sizeof(entry),
                            detail, sizeof(detail));
        //  A real .zip file sent as it is holds files with other names.
        if (rc == 0 && s_zip_name(att->name) && strcmp(entry, att->name)
            && strcmp(entry, lt_edxml_zip_entry_name(att->name))) {
            free(plain);
            rc = 1;
        }
        if (rc == -1)
            lt_err_set(r->err, LT_EINVAL, "edXML: Attachment 'cid:%s' (%s) is a damaged ZIP: %s",
                       att->content_id, att->name, detail);
        else if (rc == -2)
            lt_err_set(r->err, LT_ETOOBIG,
                       "edXML: Attachment 'cid:%s' (%s) unzips to more than the limit "
                       "(%zu bytes per file, %zu in all)",
                       att->content_id, att->name, r->limits.max_attachment, r->limits.max_total);
        else if (rc == -3)
            r->nomem = true;
        if (rc < 0)
            return -1;
        if (rc == 0) {
            kept->data = att->data;
            kept->size = att->size;
            att->data = plain;
            att->size = plain_size;
            att->zipped = true;
            type = lt_edxml_guess_type(att->name);
        }
    }
    if (!*type)
        type = lt_edxml_guess_type(att->name);
    free(att->content_type);
    att->content_type = strdup(type);
    if (!att->content_type)
        r->nomem = true;
    r->total += att->size;
    return 0;
}

//  Find the Reference of the manifest whose ContentId is cid, or NULL.
static xmlNode *s_find_reference(s_reader_t *r, const xmlNode *manifest, const char *cid)
{
    for (xmlNode *c = manifest ? manifest->children : NULL; c; c = c->next) {
        xmlNode *id = s_is(c, "Reference") ? s_child(c, "ContentId") : NULL;
        char *text = id ? s_text(r, id) : NULL;
        if (!text)
            continue;
        s_plain_cid(text);
        bool same = strcmp(text, cid) == 0;
        free(text);
        if (same)
            return c;
    }
    return NULL;
}

//  Read and decode the attachments and check them against the manifest.
static int s_read_attachments(s_reader_t *r, const xmlNode *root, const xmlNode *envelope)
{
    lt_edxml_t *pkg = r->pkg;
    xmlNode *encoded = s_child(root, "AttachmentEncoded");
    if (!encoded)
        encoded = s_child(envelope, "AttachmentEncoded");
    xmlNode *manifest = s_child(s_child(envelope, "edXMLBody"), "edXMLManifest");
    size_t count = 0;
    for (xmlNode *c = encoded ? encoded->children : NULL; c; c = c->next)
        count += s_is(c, "Attachment");
    if (count > r->limits.max_attachments) {
        lt_err_set(r->err, LT_ETOOBIG, "edXML: %zu attachments, over the limit of %zu", count,
                   r->limits.max_attachments);
        return -1;
    }
    size_t index = 0;
    for (xmlNode *c = encoded ? encoded->children : NULL; c; c = c->next) {
        if (!s_is(c, "Attachment"))
            continue;
        index++;
        xmlNode *id = s_child(c, "ContentId");
        char *cid = id ? s_text(r, id) : NULL;
        if (cid)
            s_plain_cid(cid);
        if (!cid || !*cid) {
            free(cid);
            if (r->nomem)
                return -1;
            lt_err_set(r->err, LT_EINVAL, "edXML: AttachmentEncoded/Attachment[%zu]/ContentId is missing",
                       index);
            return -1;
        }
        for (size_t i = 0; i < pkg->attachments_size; i++)
            if (strcmp(pkg->attachments[i].content_id, cid) == 0) {
                lt_err_set(r->err, LT_EINVAL, "edXML: Attachment ContentId 'cid:%s' appears twice",
                           cid);
                free(cid);
                return -1;
            }
        lt_edxml_attachment_t *att = lt_edxml_grow((void **) &pkg->attachments,
                                                   &pkg->attachments_size, sizeof(*att));
        if (!att) {
            free(cid);
            r->nomem = true;
            return -1;
        }
        att->content_id = cid;
        lt_edxml_wire_t *kept = lt_edxml_grow((void **) &pkg->wires, &pkg->wires_size,
                                              sizeof(*kept));
        if (!kept) {
            r->nomem = true;
            return -1;
        }
        xmlNode *ref = s_find_reference(r, manifest, cid);
        att->name = s_text_of(r, c, ref, "AttachmentName");
        att->description = s_text_of(r, c, ref, "Description");
        char *declared = s_text_of(r, c, ref, "ContentType");
        if (!att->name || !att->description || !declared) {
            free(declared);
            r->nomem = true;
            return -1;
        }
        int rc = s_decode_attachment(r, c, att, kept, declared);
        free(declared);
        if (rc)
            return -1;
    }
    //  Every file the manifest announces must be there.
    for (xmlNode *c = manifest ? manifest->children : NULL; c; c = c->next) {
        xmlNode *id = s_is(c, "Reference") ? s_child(c, "ContentId") : NULL;
        char *cid = id ? s_text(r, id) : NULL;
        if (!cid)
            continue;
        s_plain_cid(cid);
        bool found = false;
        for (size_t i = 0; i < pkg->attachments_size && !found; i++)
            found = strcmp(pkg->attachments[i].content_id, cid) == 0;
        if (!found)
            lt_err_set(r->err, LT_EINVAL,
                       "edXML: edXMLManifest Reference 'cid:%s' has no AttachmentEncoded/Attachment",
                       cid);
        free(cid);
        if (!found)
            return -1;
    }
    return 0;
}

//  Return false (with err set) when the tree under node nests deeper than max.
static bool s_depth_ok(s_reader_t *r, const xmlNode *node, size_t depth)
{
    if (depth > r->limits.max_depth) {
        lt_err_set(r->err, LT_EINVAL, "edXML: element '%s' nests deeper than %zu levels (line %d)",
                   (const char *) node->name, r->limits.max_depth, (int) xmlGetLineNo(node));
        return false;
    }
    for (xmlNode *c = node->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && !s_depth_ok(r, c, depth + 1))
            return false;
    return true;
}

//  SAX hook: a DOCTYPE was met; note it and stop before its internal subset.
static void s_on_doctype(void *ctx, const xmlChar *name, const xmlChar *external_id,
                         const xmlChar *system_id)
{
    xmlParserCtxtPtr ctxt = ctx;
    s_reader_t *r = ctxt->_private;
    r->doctype = true;
    xmlStopParser(ctxt);
}

//  Generic error handler that drops libxml2's messages: a few (encoding
//  conversion failures) bypass XML_PARSE_NOERROR and would reach stderr;
//  the parse result carries what the caller needs.
static void s_quiet(void *ctx, const char *message, ...)
{
}

//  Return true when an encoding name is UTF-8.
static bool s_utf8_name(const char *name)
{
    return strcasecmp(name, "UTF-8") == 0 || strcasecmp(name, "UTF8") == 0;
}

//  Parse the bytes into a tree, or set err and return NULL.
static xmlDoc *s_parse(s_reader_t *r, const uint8_t *data, size_t size)
{
    //  UTF-16 and UTF-32 show as NUL bytes or a byte order mark up front.
    if ((size >= 2 && (data[0] == 0 || data[1] == 0))
        || (size >= 2 && ((data[0] == 0xFE && data[1] == 0xFF) || (data[0] == 0xFF && data[1] == 0xFE)))) {
        lt_err_set(r->err, LT_EINVAL,
                   "edXML: input is UTF-16 or UTF-32 encoded; only UTF-8 is accepted");
        return NULL;
    }
    xmlInitParser();
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (!ctxt) {
        r->nomem = true;
        return NULL;
    }
    ctxt->_private = r;
    ctxt->sax->internalSubset = s_on_doctype;
    ctxt->sax->externalSubset = NULL;
    int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA;
    //  The generic handler is per thread in libxml2; put the caller's back.
    xmlGenericErrorFunc saved = xmlGenericError;
    void *saved_context = xmlGenericErrorContext;
    xmlSetGenericErrorFunc(NULL, s_quiet);
    xmlDoc *doc = xmlCtxtReadMemory(ctxt, (const char *) data, (int) size, "edxml", NULL, options);
    xmlSetGenericErrorFunc(saved_context, saved);
    //  The declared encoding: on the tree, or (after a failure) on the
    //  context or its input, where libxml2 keeps it when it converts.
    const char *declared = NULL;
    if (doc && doc->encoding)
        declared = (const char *) doc->encoding;
    else if (ctxt->encoding)
        declared = (const char *) ctxt->encoding;
    else if (ctxt->input && ctxt->input->encoding)
        declared = (const char *) ctxt->input->encoding;
    if (r->doctype)
        lt_err_set(r->err, LT_EINVAL,
                   "edXML: DOCTYPE is not allowed in edXML (no DTD, no entity declarations)");
    else if (declared && !s_utf8_name(declared))
        lt_err_set(r->err, LT_EINVAL, "edXML: declared encoding '%s' is not allowed; only UTF-8 is accepted",
                   declared);
    else if (!doc) {
        const xmlError *e = xmlCtxtGetLastError(ctxt);
        char message[256] = "unknown parser error";
        if (e && e->message) {
            snprintf(message, sizeof(message), "%s", e->message);
            for (size_t n = strlen(message); n && strchr(" \r\n", message[n - 1]); n--)
                message[n - 1] = 0;
        }
        if (e && e->code == XML_ERR_NO_MEMORY)
            r->nomem = true;
        else if (e && (e->code == XML_ERR_INVALID_ENCODING || strstr(message, "UTF-8")))
            lt_err_set(r->err, LT_EINVAL,
                       "edXML: input is not valid UTF-8 (line %d); only UTF-8 is accepted",
                       e->line);
        else
            lt_err_set(r->err, LT_EINVAL, "edXML: XML is not well-formed (line %d): %s",
                       e ? e->line : 0, message);
    }
    if (doc && (r->doctype || (declared && !s_utf8_name(declared)))) {
        xmlFreeDoc(doc);
        doc = NULL;
    }
    xmlFreeParserCtxt(ctxt);
    return doc;
}

//  Check the package as the reader requires; 0, or -1 with err set.
int lt_edxml_validate(const lt_edxml_t *self, lt_err_t *err)
{
    const char *block = self->status ? "Status" : "MessageHeader";
    if (!*self->from.organ_id)
        return lt_err_set(err, LT_EINVAL, "edXML: %s/From/OrganId is missing", block), -1;
    if (self->status) {
        if (self->responses_size == 0)
            return lt_err_set(err, LT_EINVAL, "edXML: Status/ResponseFor is missing"), -1;
        if (!*self->responses[0].document_id)
            return lt_err_set(err, LT_EINVAL, "edXML: Status/ResponseFor/DocumentId is missing"),
                   -1;
        const char *code = lt_edxml_status_code(self);
        if (!*code)
            return lt_err_set(err, LT_EINVAL, "edXML: Status/StatusCode is missing"), -1;
        if (!lt_edxml_status_code_valid(code))
            return lt_err_set(err, LT_EINVAL,
                              "edXML: unknown StatusCode '%.32s' (expected 01-06, 13, 15, 16)",
                              code),
                   -1;
        return 0;
    }
    if (self->to_size == 0)
        return lt_err_set(err, LT_EINVAL, "edXML: MessageHeader/To is missing"), -1;
    for (size_t i = 0; i < self->to_size; i++)
        if (!*self->to[i].organ_id)
            return lt_err_set(err, LT_EINVAL, "edXML: MessageHeader/To[%zu]/OrganId is missing",
                              i + 1),
                   -1;
    if (!*lt_edxml_document_id(self))
        return lt_err_set(err, LT_EINVAL, "edXML: MessageHeader/DocumentId is missing"), -1;
    const char *type = lt_edxml_get(self, LT_EDXML_BUSINESS_DOC_TYPE);
    if (*type && !(type[0] >= '0' && type[0] <= '3' && type[1] == 0))
        return lt_err_set(err, LT_EINVAL,
                          "edXML: Bussiness/BussinessDocType '%.32s' is not 0, 1, 2 or 3", type),
               -1;
    for (size_t i = 0; i < self->attachments_size; i++)
        if (!*self->attachments[i].content_id)
            return lt_err_set(err, LT_EINVAL, "edXML: attachment %zu has no ContentId", i + 1), -1;
    return 0;
}

//  How many child elements of parent are named name.
static size_t s_count(const xmlNode *parent, const char *name)
{
    size_t count = 0;
    for (xmlNode *c = parent ? parent->children : NULL; c; c = c->next)
        count += s_is(c, name);
    return count;
}

//  Check that each of the named children of parent appears at most once;
//  path names parent in the error. 0, or -1 with err set.
static int s_once(s_reader_t *r, const xmlNode *parent, const char *path,
                  const char *const *names)
{
    for (; parent && *names; names++) {
        size_t count = s_count(parent, *names);
        if (count > 1) {
            lt_err_set(r->err, LT_EINVAL,
                       "edXML: %s/%s appears %zu times; it may appear only once", path, *names,
                       count);
            return -1;
        }
    }
    return 0;
}

//  Check the same for each child of parent named name, as path/name.
static int s_once_each(s_reader_t *r, const xmlNode *parent, const char *path, const char *name,
                       const char *const *names)
{
    char inner[160];
    snprintf(inner, sizeof(inner), "%s/%s", path, name);
    for (xmlNode *c = parent ? parent->children : NULL; c; c = c->next)
        if (s_is(c, name) && s_once(r, c, inner, names))
            return -1;
    return 0;
}

//  The elements that say who sent a package, what it is, whom it reaches
//  and what it answers may each appear once: readers that keep the first
//  of two and readers that keep the last would see different senders,
//  keys or recipients, so such a package is refused, naming the element.
static int s_check_once(s_reader_t *r, const xmlNode *root, const xmlNode *envelope,
                        const xmlNode *header)
{
    static const char *const root_once[] = {"edXMLEnvelope", NULL};
    static const char *const header_once[] = {"MessageHeader", "Status", "TraceHeaderList", NULL};
    static const char *const message_once[]
        = {"From", "DocumentId", "Code", "PromulgationInfo", "DocumentType", "SteeringType", NULL};
    static const char *const status_once[]
        = {"From", "ResponseFor", "StatusCode", "Timestamp", NULL};
    static const char *const organ_once[] = {"OrganId", NULL};
    static const char *const response_once[] = {"OrganId", "DocumentId", NULL};
    static const char *const traces_once[] = {"Bussiness", NULL};
    static const char *const business_once[] = {"DocumentId", "BussinessDocType", "Paper", NULL};
    static const char *const envelope_once[] = {"edXMLHeader", NULL};
    if (s_once(r, root, "edXML", root_once) || s_once(r, envelope, "edXMLEnvelope", envelope_once)
        || s_once(r, header, "edXMLHeader", header_once))
        return -1;
    if (s_count(header, "MessageHeader") && s_count(header, "Status")) {
        lt_err_set(r->err, LT_EINVAL,
                   "edXML: edXMLHeader holds both MessageHeader and Status; a package is one "
                   "or the other");
        return -1;
    }
    const xmlNode *message = s_child(header, "MessageHeader");
    const xmlNode *status = s_child(header, "Status");
    const xmlNode *traces = s_child(header, "TraceHeaderList");
    const xmlNode *business = s_child(traces, "Bussiness");
    if (s_once(r, message, "MessageHeader", message_once)
        || s_once_each(r, message, "MessageHeader", "From", organ_once)
        || s_once_each(r, message, "MessageHeader", "To", organ_once)
        || s_once_each(r, message, "MessageHeader", "ResponseFor", response_once)
        || s_once(r, status, "Status", status_once)
        || s_once_each(r, status, "Status", "From", organ_once)
        || s_once_each(r, status, "Status", "ResponseFor", response_once)
        || s_once(r, traces, "TraceHeaderList", traces_once)
        || s_once(r, business, "TraceHeaderList/Bussiness", business_once))
        return -1;
    return 0;
}

//  Walk a parsed tree into r->pkg; 0, or -1 with err set.
static int s_read_tree(s_reader_t *r, const xmlDoc *doc)
{
    xmlNode *root = xmlDocGetRootElement(doc);
    if (!root) {
        lt_err_set(r->err, LT_EINVAL, "edXML: no root element");
        return -1;
    }
    const char *ns = root->ns && root->ns->href ? (const char *) root->ns->href : NULL;
    if (strcmp((const char *) root->name, "edXML")) {
        lt_err_set(r->err, LT_EINVAL, "edXML: root element is '%.64s', expected 'edXML'",
                   (const char *) root->name);
        return -1;
    }
    if (!ns || strcmp(ns, LT_EDXML_NS)) {
        lt_err_set(r->err, LT_EINVAL,
                   "edXML: root element 'edXML' is in namespace '%.200s', expected '%s'",
                   ns ? ns : "(none)", LT_EDXML_NS);
        return -1;
    }
    if (!s_depth_ok(r, root, 1))
        return -1;
    xmlNode *envelope = s_child(root, "edXMLEnvelope");
    xmlNode *header = s_child(envelope, "edXMLHeader");
    if (!envelope || !header) {
        lt_err_set(r->err, LT_EINVAL, "edXML: %s is missing",
                   envelope ? "edXMLEnvelope/edXMLHeader" : "edXMLEnvelope");
        return -1;
    }
    if (s_check_once(r, root, envelope, header))
        return -1;
    xmlNode *message = s_child(header, "MessageHeader");
    xmlNode *status = s_child(header, "Status");
    if (!message && !status) {
        lt_err_set(r->err, LT_EINVAL, "edXML: edXMLHeader has neither MessageHeader nor Status");
        return -1;
    }
    r->pkg->status = !message;
    if (message)
        s_read_header(r, message);
    else
        s_read_status(r, status);
    xmlNode *traces = s_child(header, "TraceHeaderList");
    if (traces)
        s_read_traces(r, traces);
    r->pkg->xmldsig = s_has_xmldsig(header);
    if (r->nomem)
        return -1;
    if (lt_edxml_validate(r->pkg, r->err))
        return -1;
    if (!r->pkg->status && s_read_attachments(r, root, envelope))
        return -1;
    return r->nomem ? -1 : 0;
}

lt_edxml_t *lt_edxml_read(const void *data, size_t size, const lt_edxml_limits_t *limits,
                          lt_err_t *err)
{
    assert(data || size == 0);
    s_reader_t r = {.err = err};
    lt_edxml_limits_init(&r.limits);
    if (limits) {
        if (limits->max_package)
            r.limits.max_package = limits->max_package;
        if (limits->max_attachments)
            r.limits.max_attachments = limits->max_attachments;
        if (limits->max_depth)
            r.limits.max_depth = limits->max_depth;
        if (limits->max_attachment)
            r.limits.max_attachment = limits->max_attachment;
        if (limits->max_total)
            r.limits.max_total = limits->max_total;
    }
    lt_err_clear(err);
    if (size == 0) {
        lt_err_set(err, LT_EINVAL, "edXML: empty input");
        return NULL;
    }
    if (size > r.limits.max_package || size > INT_MAX) {
        lt_err_set(err, LT_ETOOBIG, "edXML: package of %zu bytes is over the limit of %zu bytes",
                   size, r.limits.max_package < INT_MAX ? r.limits.max_package : (size_t) INT_MAX);
        return NULL;
    }
    r.pkg = lt_edxml_new_status();
    if (!r.pkg) {
        lt_err_set(err, LT_ENOMEM, "edXML: out of memory");
        return NULL;
    }
    xmlDoc *doc = s_parse(&r, data, size);
    int rc = doc ? s_read_tree(&r, doc) : -1;
    xmlFreeDoc(doc);
    if (rc == 0) {
        r.pkg->raw = malloc(size);
        if (r.pkg->raw) {
            memcpy(r.pkg->raw, data, size);
            r.pkg->raw_size = size;
        }
        else
            r.nomem = true;
    }
    if (r.nomem) {
        lt_err_set(err, LT_ENOMEM, "edXML: out of memory while reading the package");
        rc = -1;
    }
    if (rc)
        lt_edxml_destroy(&r.pkg);
    return r.pkg;
}

lt_edxml_t *lt_edxml_read_file(const char *path, const lt_edxml_limits_t *limits, lt_err_t *err)
{
    assert(path);
    lt_edxml_limits_t lim;
    lt_edxml_limits_init(&lim);
    if (limits && limits->max_package)
        lim.max_package = limits->max_package;
    FILE *file = fopen(path, "rb");
    if (!file) {
        lt_err_set(err, LT_EIO, "edXML: cannot open %s", path);
        return NULL;
    }
    uint8_t *data = NULL;
    size_t size = 0, alloc = 0;
    bool too_big = false, failed = false;
    while (!failed && !too_big) {
        if (size == alloc) {
            size_t grow = alloc ? alloc * 2 : 65536;
            uint8_t *bigger = realloc(data, grow + 1);
            if (!bigger) {
                failed = true;
                break;
            }
            data = bigger;
            alloc = grow;
        }
        size_t n = fread(data + size, 1, alloc - size, file);
        size += n;
        if (size > lim.max_package)
            too_big = true;
        else if (n == 0) {
            failed = ferror(file) != 0;
            break;
        }
    }
    fclose(file);
    lt_edxml_t *self = NULL;
    if (too_big)
        lt_err_set(err, LT_ETOOBIG, "edXML: %s is over the package limit of %zu bytes", path,
                   lim.max_package);
    else if (failed)
        lt_err_set(err, LT_EIO, "edXML: cannot read %s", path);
    else
        self = lt_edxml_read(data ? data : (const uint8_t *) "", size, limits, err);
    free(data);
    return self;
}
