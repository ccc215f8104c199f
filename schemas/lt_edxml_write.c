/*  lt_edxml_write: serialize an edXML package.

    The output copies the shape the national axis and the SDKs produce
    (spec/edxml.md): root `edXML` with the default namespace, the envelope
    with `xmlns:edXML` and every header element prefixed, `Bussiness` spelled
    as in the standard, the manifest under edXMLBody, and AttachmentEncoded
    beside the envelope in the default namespace with each file zipped and
    base64 encoded on one line. libxml2's text writer does the escaping.
*/
#include "lt_edxml_int.h"

#include <assert.h>
#include <libxml/xmlwriter.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  State of one write: the libxml2 writer and whether any call failed.
typedef struct {
    xmlTextWriterPtr w;   //  text writer over an xmlBuffer
    bool failed;          //  a writer call failed (no memory)
} s_writer_t;

//  Record the result of a libxml2 writer call.
static void s_check(s_writer_t *w, int rc)
{
    if (rc < 0)
        w->failed = true;
}

//  Open element edXML:name (or name unprefixed when plain).
static void s_start(s_writer_t *w, const char *name, bool plain)
{
    char qname[64];
    snprintf(qname, sizeof(qname), "%s%s", plain ? "" : "edXML:", name);
    s_check(w, xmlTextWriterStartElement(w->w, BAD_CAST qname));
}

//  Close the innermost open element.
static void s_end(s_writer_t *w)
{
    s_check(w, xmlTextWriterFullEndElement(w->w));
}

//  Write <edXML:name>text</edXML:name> (unprefixed when plain).
static void s_elem(s_writer_t *w, const char *name, const char *text, bool plain)
{
    s_start(w, name, plain);
    if (text && *text)
        s_check(w, xmlTextWriterWriteString(w->w, BAD_CAST text));
    s_end(w);
}

//  Write a text field as edXML:name.
static void s_field(s_writer_t *w, const lt_edxml_t *self, lt_edxml_field_t field)
{
    s_elem(w, lt_edxml_field_name(field), lt_edxml_get(self, field), false);
}

//  Write a record as <edXML:name> with one child per slot.
static void s_rec(s_writer_t *w, const char *name, const lt_edxml_rec_t *type, const void *rec)
{
    s_start(w, name, false);
    for (size_t i = 0; i < type->count; i++)
        s_elem(w, type->slots[i].name, *lt_edxml_slot(type, (void *) rec, i), false);
    s_end(w);
}

//  Write a group element holding the given text fields.
static void s_group(s_writer_t *w, const lt_edxml_t *self, const char *name,
                    const lt_edxml_field_t *fields, size_t count)
{
    s_start(w, name, false);
    for (size_t i = 0; i < count; i++)
        s_field(w, self, fields[i]);
    s_end(w);
}

//  Write a group element holding one child per string.
static void s_list(s_writer_t *w, const char *name, const char *item, char *const *texts,
                   size_t count)
{
    s_start(w, name, false);
    for (size_t i = 0; i < count; i++)
        s_elem(w, item, texts[i], false);
    s_end(w);
}

//  Write MessageHeader in the spec's element order.
static void s_write_header(s_writer_t *w, const lt_edxml_t *self)
{
    static const lt_edxml_field_t code[] = {LT_EDXML_CODE_NUMBER, LT_EDXML_CODE_NOTATION};
    static const lt_edxml_field_t promulgation[] = {LT_EDXML_PLACE, LT_EDXML_PROMULGATION_DATE};
    static const lt_edxml_field_t type[] = {LT_EDXML_TYPE, LT_EDXML_TYPE_DETAIL,
                                            LT_EDXML_TYPE_NAME};
    static const lt_edxml_field_t signer[] = {LT_EDXML_COMPETENCE, LT_EDXML_POSITION,
                                              LT_EDXML_FULL_NAME};
    s_start(w, "MessageHeader", false);
    s_rec(w, "From", &lt_edxml_organ_rec, &self->from);
    for (size_t i = 0; i < self->to_size; i++)
        s_rec(w, "To", &lt_edxml_organ_rec, &self->to[i]);
    s_field(w, self, LT_EDXML_DOCUMENT_ID);
    s_group(w, self, "Code", code, 2);
    s_group(w, self, "PromulgationInfo", promulgation, 2);
    s_group(w, self, "DocumentType", type, 3);
    s_field(w, self, LT_EDXML_SUBJECT);
    s_field(w, self, LT_EDXML_CONTENT);
    s_group(w, self, "SignerInfo", signer, 3);
    s_field(w, self, LT_EDXML_DUE_DATE);
    s_start(w, "OtherInfo", false);
    s_field(w, self, LT_EDXML_PRIORITY);
    s_field(w, self, LT_EDXML_SPHERE);
    s_field(w, self, LT_EDXML_TYPER_NOTATION);
    s_field(w, self, LT_EDXML_PROMULGATION_AMOUNT);
    s_field(w, self, LT_EDXML_PAGE_AMOUNT);
    if (self->appendixes_size)
        s_list(w, "Appendixes", "Appendix", self->appendixes, self->appendixes_size);
    s_end(w);
    for (size_t i = 0; i < self->responses_size; i++)
        s_rec(w, "ResponseFor", &lt_edxml_response_rec, &self->responses[i]);
    s_field(w, self, LT_EDXML_STEERING_TYPE);
    s_list(w, "ToPlaces", "Place", self->places, self->places_size);
    s_end(w);
}

//  Write TraceHeaderList: trace headers, then (documents) the Bussiness block.
static void s_write_traces(s_writer_t *w, const lt_edxml_t *self)
{
    s_start(w, "TraceHeaderList", false);
    for (size_t i = 0; i < self->traces_size; i++)
        s_rec(w, "TraceHeader", &lt_edxml_trace_rec, &self->traces[i]);
    if (!self->status) {
        s_start(w, "Bussiness", false);
        s_field(w, self, LT_EDXML_BUSINESS_DOCUMENT_ID);
        s_field(w, self, LT_EDXML_BUSINESS_DOC_TYPE);
        s_field(w, self, LT_EDXML_BUSINESS_REASON);
        s_field(w, self, LT_EDXML_PAPER);
        s_rec(w, "StaffInfo", &lt_edxml_staff_rec, &self->staff);
        if (self->document_info) {
            s_start(w, "BussinessDocumentInfo", false);
            s_field(w, self, LT_EDXML_DOCUMENT_INFO);
            s_field(w, self, LT_EDXML_DOCUMENT_RECEIVER);
            s_start(w, "ReceiverList", false);
            for (size_t i = 0; i < self->receivers_size; i++)
                s_rec(w, "Receiver", &lt_edxml_receiver_rec, &self->receivers[i]);
            s_end(w);
            s_end(w);
        }
        if (self->replacements_size) {
            s_start(w, "ReplacementInfoList", false);
            for (size_t i = 0; i < self->replacements_size; i++) {
                const lt_edxml_replacement_t *r = &self->replacements[i];
                s_start(w, "ReplacementInfo", false);
                s_elem(w, "DocumentId", r->document_id, false);
                s_list(w, "OrganIdList", "OrganId", r->organs, r->organs_size);
                s_end(w);
            }
            s_end(w);
        }
        s_end(w);
    }
    s_end(w);
}

//  Write the Status block of a status package.
static void s_write_status(s_writer_t *w, const lt_edxml_t *self)
{
    s_start(w, "Status", false);
    s_rec(w, "From", &lt_edxml_organ_rec, &self->from);
    for (size_t i = 0; i < self->responses_size; i++)
        s_rec(w, "ResponseFor", &lt_edxml_response_rec, &self->responses[i]);
    s_rec(w, "StaffInfo", &lt_edxml_staff_rec, &self->staff);
    s_field(w, self, LT_EDXML_STATUS_CODE);
    s_field(w, self, LT_EDXML_DESCRIPTION);
    s_field(w, self, LT_EDXML_TIMESTAMP);
    s_end(w);
}

//  Return the ContentType an attachment travels with.
static const char *s_wire_type(const lt_edxml_attachment_t *a)
{
    return a->zipped ? "application/zip" : a->content_type;
}

//  Write one Attachment: zip it if asked (reusing the archive it came in,
//  if kept), base64 it on one line.
static int s_write_attachment(s_writer_t *w, const lt_edxml_attachment_t *a,
                              const lt_edxml_wire_t *kept, lt_err_t *err)
{
    const uint8_t *wire = a->data;
    size_t wire_size = a->size;
    uint8_t *zipped = NULL;
    if (a->zipped && kept && kept->data) {
        wire = kept->data;
        wire_size = kept->size;
    }
    else if (a->zipped) {
        if (lt_edxml_zip(a->name, a->data, a->size, &zipped, &wire_size)) {
            lt_err_set(err, LT_EINTERNAL, "edXML: cannot zip attachment '%s'", a->name);
            return -1;
        }
        wire = zipped;
    }
    size_t length = 0;
    char *text = lt_edxml_base64_encode(wire, wire_size, &length);
    free(zipped);
    if (!text || length > INT_MAX) {
        free(text);
        lt_err_set(err, text ? LT_ETOOBIG : LT_ENOMEM, "edXML: cannot encode attachment '%s'",
                   a->name);
        return -1;
    }
    s_start(w, "Attachment", true);
    s_elem(w, "ContentId", a->content_id, true);
    s_elem(w, "AttachmentName", a->name, true);
    s_elem(w, "Description", a->description, true);
    s_elem(w, "ContentType", s_wire_type(a), true);
    s_start(w, "ContentTransferEncoded", false);
    s_check(w, xmlTextWriterWriteAttribute(w->w, BAD_CAST "xmlns:edXML", BAD_CAST LT_EDXML_NS));
    s_check(w, xmlTextWriterWriteRawLen(w->w, BAD_CAST text, (int) length));
    s_end(w);
    s_end(w);
    free(text);
    return 0;
}

//  Write the whole package through w; 0, or -1 with err set.
static int s_write(s_writer_t *w, const lt_edxml_t *self, lt_err_t *err)
{
    s_check(w, xmlTextWriterSetIndent(w->w, 1));
    s_check(w, xmlTextWriterSetIndentString(w->w, BAD_CAST "  "));
    s_check(w, xmlTextWriterStartDocument(w->w, NULL, "UTF-8", NULL));
    s_start(w, "edXML", true);
    s_check(w, xmlTextWriterWriteAttribute(w->w, BAD_CAST "xmlns", BAD_CAST LT_EDXML_NS));
    s_start(w, "edXMLEnvelope", false);
    s_check(w, xmlTextWriterWriteAttribute(w->w, BAD_CAST "xmlns:edXML", BAD_CAST LT_EDXML_NS));
    s_start(w, "edXMLHeader", false);
    if (self->status) {
        s_write_status(w, self);
        if (self->traces_size)
            s_write_traces(w, self);
    }
    else {
        s_write_header(w, self);
        s_write_traces(w, self);
        //  Empty: a rewritten package no longer matches the sender's signature.
        s_elem(w, "Signature", NULL, false);
    }
    s_end(w);   //  edXMLHeader
    if (!self->status) {
        s_start(w, "edXMLBody", false);
        s_start(w, "edXMLManifest", false);
        s_check(w, xmlTextWriterWriteAttribute(w->w, BAD_CAST "version", BAD_CAST "1.0"));
        for (size_t i = 0; i < self->attachments_size; i++) {
            const lt_edxml_attachment_t *a = &self->attachments[i];
            //  The whole id, however long: cut, it would name no attachment.
            size_t cid_size = strlen(a->content_id) + 5;
            char *cid = malloc(cid_size);
            if (!cid) {
                w->failed = true;
                break;
            }
            snprintf(cid, cid_size, "cid:%s", a->content_id);
            s_start(w, "Reference", false);
            s_elem(w, "ContentId", cid, false);
            free(cid);
            s_elem(w, "ContentType", s_wire_type(a), false);
            s_elem(w, "Description", a->description, false);
            s_elem(w, "AttachmentName", a->name, false);
            s_end(w);
        }
        s_end(w);   //  edXMLManifest
        s_end(w);   //  edXMLBody
    }
    s_end(w);   //  edXMLEnvelope
    if (!self->status) {
        s_start(w, "AttachmentEncoded", true);
        for (size_t i = 0; i < self->attachments_size && !w->failed; i++)
            if (s_write_attachment(w, &self->attachments[i],
                                   i < self->wires_size ? &self->wires[i] : NULL, err))
                return -1;
        s_end(w);
    }
    s_end(w);   //  edXML
    s_check(w, xmlTextWriterEndDocument(w->w));
    if (w->failed)
        lt_err_set(err, LT_ENOMEM, "edXML: out of memory while writing the package");
    return w->failed ? -1 : 0;
}

int lt_edxml_write(const lt_edxml_t *self, uint8_t **data_p, size_t *size_p, lt_err_t *err)
{
    assert(self && data_p && size_p);
    lt_err_clear(err);
    if (lt_edxml_validate(self, err))
        return -1;
    xmlInitParser();
    xmlBufferPtr buffer = xmlBufferCreate();
    s_writer_t w = {buffer ? xmlNewTextWriterMemory(buffer, 0) : NULL, false};
    if (!w.w) {
        xmlBufferFree(buffer);
        lt_err_set(err, LT_ENOMEM, "edXML: out of memory while writing the package");
        return -1;
    }
    int rc = s_write(&w, self, err);
    xmlFreeTextWriter(w.w);   //  flushes into the buffer
    uint8_t *data = NULL;
    size_t size = 0;
    if (rc == 0) {
        size = (size_t) xmlBufferLength(buffer);
        data = malloc(size + 1);
        if (data) {
            memcpy(data, xmlBufferContent(buffer), size);
            data[size] = 0;
        }
        else {
            lt_err_set(err, LT_ENOMEM, "edXML: out of memory while writing the package");
            rc = -1;
        }
    }
    xmlBufferFree(buffer);
    if (rc)
        return -1;
    *data_p = data;
    *size_p = size;
    return 0;
}
