/*  lt_edxml: the edXML package class - construction, accessors, comparison
    and the envelope facts. Parsing is in lt_edxml_read.c, serialization in
    lt_edxml_write.c, base64 and ZIP in lt_edxml_zip.c, the self-test in
    lt_edxml_test.c.

    Record strings are never NULL: an empty value points at the shared
    lt_edxml_empty string, so that getters can hand out records directly and
    clearing a field never allocates.
*/
#include "lt_edxml_int.h"

#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

char lt_edxml_empty[1];

#define S_SLOT(type, field, name) {name, offsetof(type, field)}
#define S_COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const lt_edxml_slot_t s_organ_slots[] = {
    S_SLOT(lt_edxml_organ_t, organ_id, "OrganId"),
    S_SLOT(lt_edxml_organ_t, organization_in_charge, "OrganizationInCharge"),
    S_SLOT(lt_edxml_organ_t, organ_name, "OrganName"),
    S_SLOT(lt_edxml_organ_t, organ_add, "OrganAdd"),
    S_SLOT(lt_edxml_organ_t, email, "Email"),
    S_SLOT(lt_edxml_organ_t, telephone, "Telephone"),
    S_SLOT(lt_edxml_organ_t, fax, "Fax"),
    S_SLOT(lt_edxml_organ_t, website, "Website"),
};
static const lt_edxml_slot_t s_response_slots[] = {
    S_SLOT(lt_edxml_response_t, organ_id, "OrganId"),
    S_SLOT(lt_edxml_response_t, code, "Code"),
    S_SLOT(lt_edxml_response_t, promulgation_date, "PromulgationDate"),
    S_SLOT(lt_edxml_response_t, document_id, "DocumentId"),
};
static const lt_edxml_slot_t s_staff_slots[] = {
    S_SLOT(lt_edxml_staff_t, department, "Department"),
    S_SLOT(lt_edxml_staff_t, staff, "Staff"),
    S_SLOT(lt_edxml_staff_t, email, "Email"),
    S_SLOT(lt_edxml_staff_t, mobile, "Mobile"),
};
static const lt_edxml_slot_t s_trace_slots[] = {
    S_SLOT(lt_edxml_trace_t, organ_id, "OrganId"),
    S_SLOT(lt_edxml_trace_t, timestamp, "Timestamp"),
};
static const lt_edxml_slot_t s_receiver_slots[] = {
    S_SLOT(lt_edxml_receiver_t, receiver_type, "ReceiverType"),
    S_SLOT(lt_edxml_receiver_t, organ_id, "OrganId"),
};

const lt_edxml_rec_t lt_edxml_organ_rec = {s_organ_slots, S_COUNT(s_organ_slots),
                                           sizeof(lt_edxml_organ_t)};
const lt_edxml_rec_t lt_edxml_response_rec = {s_response_slots, S_COUNT(s_response_slots),
                                              sizeof(lt_edxml_response_t)};
const lt_edxml_rec_t lt_edxml_staff_rec = {s_staff_slots, S_COUNT(s_staff_slots),
                                           sizeof(lt_edxml_staff_t)};
const lt_edxml_rec_t lt_edxml_trace_rec = {s_trace_slots, S_COUNT(s_trace_slots),
                                           sizeof(lt_edxml_trace_t)};
const lt_edxml_rec_t lt_edxml_receiver_rec = {s_receiver_slots, S_COUNT(s_receiver_slots),
                                              sizeof(lt_edxml_receiver_t)};

//  Element names of the text fields, for messages and the reader's table.
static const char *s_field_names[LT_EDXML_FIELDS] = {
    [LT_EDXML_DOCUMENT_ID] = "DocumentId",
    [LT_EDXML_CODE_NUMBER] = "CodeNumber",
    [LT_EDXML_CODE_NOTATION] = "CodeNotation",
    [LT_EDXML_PLACE] = "Place",
    [LT_EDXML_PROMULGATION_DATE] = "PromulgationDate",
    [LT_EDXML_TYPE] = "Type",
    [LT_EDXML_TYPE_DETAIL] = "TypeDetail",
    [LT_EDXML_TYPE_NAME] = "TypeName",
    [LT_EDXML_SUBJECT] = "Subject",
    [LT_EDXML_CONTENT] = "Content",
    [LT_EDXML_COMPETENCE] = "Competence",
    [LT_EDXML_POSITION] = "Position",
    [LT_EDXML_FULL_NAME] = "FullName",
    [LT_EDXML_DUE_DATE] = "DueDate",
    [LT_EDXML_PRIORITY] = "Priority",
    [LT_EDXML_SPHERE] = "SphereOfPromulgation",
    [LT_EDXML_TYPER_NOTATION] = "TyperNotation",
    [LT_EDXML_PROMULGATION_AMOUNT] = "PromulgationAmount",
    [LT_EDXML_PAGE_AMOUNT] = "PageAmount",
    [LT_EDXML_STEERING_TYPE] = "SteeringType",
    [LT_EDXML_BUSINESS_DOCUMENT_ID] = "DocumentId",
    [LT_EDXML_BUSINESS_DOC_TYPE] = "BussinessDocType",
    [LT_EDXML_BUSINESS_REASON] = "BussinessDocReason",
    [LT_EDXML_PAPER] = "Paper",
    [LT_EDXML_DOCUMENT_INFO] = "DocumentInfo",
    [LT_EDXML_DOCUMENT_RECEIVER] = "DocumentReceiver",
    [LT_EDXML_STATUS_CODE] = "StatusCode",
    [LT_EDXML_DESCRIPTION] = "Description",
    [LT_EDXML_TIMESTAMP] = "Timestamp",
};

//  The status codes of spec/edxml.md, "Status package".
static const struct {
    const char *code;   //  StatusCode on the wire
    const char *name;   //  meaning
} s_status_codes[] = {
    {"01", "arrived"},          {"02", "rejected"},        {"03", "accepted"},
    {"04", "assigned"},         {"05", "processing"},      {"06", "finished"},
    {"13", "recalled"},         {"15", "recall agreed"},   {"16", "recall refused"},
};

//  BussinessDocType values as envelope btype names.
static const char *s_btypes[] = {"new", "revocation", "update", "replacement"};

//  Extensions the reader maps back to a MIME type when the wire says zip.
static const struct {
    const char *ext;    //  lowercase extension with the dot
    const char *type;   //  MIME type
} s_types[] = {
    {".pdf", "application/pdf"},
    {".doc", "application/msword"},
    {".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    {".xls", "application/vnd.ms-excel"},
    {".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    {".ppt", "application/vnd.ms-powerpoint"},
    {".pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
    {".odt", "application/vnd.oasis.opendocument.text"},
    {".ods", "application/vnd.oasis.opendocument.spreadsheet"},
    {".rtf", "application/rtf"},
    {".txt", "text/plain"},
    {".xml", "application/xml"},
    {".jpg", "image/jpeg"},
    {".jpeg", "image/jpeg"},
    {".png", "image/png"},
    {".tif", "image/tiff"},
    {".tiff", "image/tiff"},
    {".zip", "application/zip"},
    {".rar", "application/vnd.rar"},
    {".7z", "application/x-7z-compressed"},
};

char **lt_edxml_slot(const lt_edxml_rec_t *type, void *rec, size_t i)
{
    assert(i < type->count);
    return (char **) ((char *) rec + type->slots[i].offset);
}

void lt_edxml_rec_init(const lt_edxml_rec_t *type, void *rec)
{
    for (size_t i = 0; i < type->count; i++)
        *lt_edxml_slot(type, rec, i) = lt_edxml_empty;
}

void lt_edxml_rec_free(const lt_edxml_rec_t *type, void *rec)
{
    for (size_t i = 0; i < type->count; i++) {
        char **slot = lt_edxml_slot(type, rec, i);
        if (*slot && *slot != lt_edxml_empty)
            free(*slot);
        *slot = lt_edxml_empty;
    }
}

int lt_edxml_str_set(char **slot, const char *value)
{
    char *copy = lt_edxml_empty;
    if (value && *value && !(copy = strdup(value)))
        return -1;
    if (*slot && *slot != lt_edxml_empty)
        free(*slot);
    *slot = copy;
    return 0;
}

void lt_edxml_str_take(char **slot, char *value)
{
    if (*slot && *slot != lt_edxml_empty)
        free(*slot);
    if (value && !*value) {
        free(value);
        value = lt_edxml_empty;
    }
    *slot = value ? value : lt_edxml_empty;
}

void *lt_edxml_grow(void **array_p, size_t *size_p, size_t elem_size)
{
    char *array = realloc(*array_p, (*size_p + 1) * elem_size);
    if (!array)
        return NULL;
    *array_p = array;
    char *elem = array + *size_p * elem_size;
    memset(elem, 0, elem_size);
    (*size_p)++;
    return elem;
}

const char *lt_edxml_guess_type(const char *name)
{
    const char *dot = name ? strrchr(name, '.') : NULL;
    for (size_t i = 0; dot && i < S_COUNT(s_types); i++)
        if (strcasecmp(dot, s_types[i].ext) == 0)
            return s_types[i].type;
    return "application/octet-stream";
}

//  Copy rec's strings into a fresh record dst (slots already empty); -1 on
//  allocation failure with dst freed back to empty.
static int s_rec_copy(const lt_edxml_rec_t *type, void *dst, const void *src)
{
    for (size_t i = 0; i < type->count; i++) {
        const char *value = *lt_edxml_slot(type, (void *) src, i);
        if (lt_edxml_str_set(lt_edxml_slot(type, dst, i), value)) {
            lt_edxml_rec_free(type, dst);
            return -1;
        }
    }
    return 0;
}

//  Return true when two records of one type hold the same strings.
static bool s_rec_eq(const lt_edxml_rec_t *type, const void *a, const void *b)
{
    for (size_t i = 0; i < type->count; i++)
        if (strcmp(*lt_edxml_slot(type, (void *) a, i), *lt_edxml_slot(type, (void *) b, i)))
            return false;
    return true;
}

//  Create an empty package of either kind.
static lt_edxml_t *s_new(bool status)
{
    lt_edxml_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->status = status;
    lt_edxml_rec_init(&lt_edxml_organ_rec, &self->from);
    lt_edxml_rec_init(&lt_edxml_staff_rec, &self->staff);
    return self;
}

void lt_edxml_limits_init(lt_edxml_limits_t *limits)
{
    assert(limits);
    limits->max_package = 64u << 20;
    limits->max_attachments = 100;
    limits->max_depth = 32;
    limits->max_attachment = 64u << 20;
    limits->max_total = 256u << 20;
}

lt_edxml_t *lt_edxml_new_document(void)
{
    lt_edxml_t *self = s_new(false);
    //  The values a fresh document would carry on the wire.
    if (self
        && (lt_edxml_set(self, LT_EDXML_BUSINESS_DOC_TYPE, "0")
            || lt_edxml_set(self, LT_EDXML_PAPER, "0") || lt_edxml_set(self, LT_EDXML_PRIORITY, "0")
            || lt_edxml_set(self, LT_EDXML_STEERING_TYPE, "0")))
        lt_edxml_destroy(&self);
    return self;
}

lt_edxml_t *lt_edxml_new_status(void)
{
    return s_new(true);
}

void lt_edxml_destroy(lt_edxml_t **self_p)
{
    assert(self_p);
    lt_edxml_t *self = *self_p;
    if (!self)
        return;
    for (int i = 0; i < LT_EDXML_FIELDS; i++)
        free(self->field[i]);
    lt_edxml_rec_free(&lt_edxml_organ_rec, &self->from);
    for (size_t i = 0; i < self->to_size; i++)
        lt_edxml_rec_free(&lt_edxml_organ_rec, &self->to[i]);
    free(self->to);
    for (size_t i = 0; i < self->responses_size; i++)
        lt_edxml_rec_free(&lt_edxml_response_rec, &self->responses[i]);
    free(self->responses);
    for (size_t i = 0; i < self->places_size; i++)
        free(self->places[i]);
    free(self->places);
    for (size_t i = 0; i < self->appendixes_size; i++)
        free(self->appendixes[i]);
    free(self->appendixes);
    lt_edxml_rec_free(&lt_edxml_staff_rec, &self->staff);
    for (size_t i = 0; i < self->traces_size; i++)
        lt_edxml_rec_free(&lt_edxml_trace_rec, &self->traces[i]);
    free(self->traces);
    for (size_t i = 0; i < self->receivers_size; i++)
        lt_edxml_rec_free(&lt_edxml_receiver_rec, &self->receivers[i]);
    free(self->receivers);
    for (size_t i = 0; i < self->replacements_size; i++) {
        lt_edxml_replacement_t *r = &self->replacements[i];
        free(r->document_id);
        for (size_t j = 0; j < r->organs_size; j++)
            free(r->organs[j]);
        free(r->organs);
    }
    free(self->replacements);
    for (size_t i = 0; i < self->attachments_size; i++) {
        lt_edxml_attachment_t *a = &self->attachments[i];
        free(a->content_id);
        free(a->name);
        free(a->description);
        free(a->content_type);
        free(a->data);
    }
    free(self->attachments);
    for (size_t i = 0; i < self->wires_size; i++)
        free(self->wires[i].data);
    free(self->wires);
    free(self->raw);
    free(self);
    *self_p = NULL;
}

bool lt_edxml_is_status(const lt_edxml_t *self)
{
    assert(self);
    return self->status;
}

const char *lt_edxml_get(const lt_edxml_t *self, lt_edxml_field_t field)
{
    assert(self);
    assert((int) field >= 0 && field < LT_EDXML_FIELDS);
    return self->field[field] ? self->field[field] : "";
}

int lt_edxml_set(lt_edxml_t *self, lt_edxml_field_t field, const char *value)
{
    assert(self);
    assert((int) field >= 0 && field < LT_EDXML_FIELDS);
    char *copy = NULL;
    if (value && !(copy = strdup(value)))
        return -1;
    free(self->field[field]);
    self->field[field] = copy;
    if (field == LT_EDXML_DOCUMENT_INFO || field == LT_EDXML_DOCUMENT_RECEIVER)
        self->document_info = true;
    return 0;
}

const char *lt_edxml_field_name(lt_edxml_field_t field)
{
    return (int) field >= 0 && field < LT_EDXML_FIELDS ? s_field_names[field] : "";
}

const char *lt_edxml_document_id(const lt_edxml_t *self)
{
    return lt_edxml_get(self, LT_EDXML_DOCUMENT_ID);
}

const char *lt_edxml_subject(const lt_edxml_t *self)
{
    return lt_edxml_get(self, LT_EDXML_SUBJECT);
}

const char *lt_edxml_status_code(const lt_edxml_t *self)
{
    return lt_edxml_get(self, LT_EDXML_STATUS_CODE);
}

int lt_edxml_doc_type(const lt_edxml_t *self)
{
    const char *text = lt_edxml_get(self, LT_EDXML_BUSINESS_DOC_TYPE);
    if (text[0] >= '0' && text[0] <= '3' && text[1] == 0)
        return text[0] - '0';
    return 0;
}

const char *lt_edxml_btype(const lt_edxml_t *self)
{
    assert(self);
    if (self->status)
        return lt_edxml_status_code(self);
    return s_btypes[lt_edxml_doc_type(self)];
}

const lt_edxml_organ_t *lt_edxml_from(const lt_edxml_t *self)
{
    assert(self);
    return &self->from;
}

int lt_edxml_set_from(lt_edxml_t *self, const lt_edxml_organ_t *organ)
{
    assert(self && organ);
    lt_edxml_organ_t copy;
    lt_edxml_rec_init(&lt_edxml_organ_rec, &copy);
    if (s_rec_copy(&lt_edxml_organ_rec, &copy, organ))
        return -1;
    lt_edxml_rec_free(&lt_edxml_organ_rec, &self->from);
    self->from = copy;
    return 0;
}

size_t lt_edxml_to_count(const lt_edxml_t *self)
{
    assert(self);
    return self->to_size;
}

const lt_edxml_organ_t *lt_edxml_to(const lt_edxml_t *self, size_t index)
{
    assert(self);
    return index < self->to_size ? &self->to[index] : NULL;
}

//  Append a copy of record src to a growable record array; -1 on no memory.
static int s_add_rec(const lt_edxml_rec_t *type, void **array_p, size_t *size_p, const void *src)
{
    void *rec = lt_edxml_grow(array_p, size_p, type->size);
    if (!rec)
        return -1;
    lt_edxml_rec_init(type, rec);
    if (s_rec_copy(type, rec, src)) {
        (*size_p)--;
        return -1;
    }
    return 0;
}

int lt_edxml_add_to(lt_edxml_t *self, const lt_edxml_organ_t *organ)
{
    assert(self && organ);
    return s_add_rec(&lt_edxml_organ_rec, (void **) &self->to, &self->to_size, organ);
}

size_t lt_edxml_responses(const lt_edxml_t *self)
{
    assert(self);
    return self->responses_size;
}

const lt_edxml_response_t *lt_edxml_response(const lt_edxml_t *self, size_t index)
{
    assert(self);
    return index < self->responses_size ? &self->responses[index] : NULL;
}

int lt_edxml_add_response(lt_edxml_t *self, const lt_edxml_response_t *response)
{
    assert(self && response);
    return s_add_rec(&lt_edxml_response_rec, (void **) &self->responses, &self->responses_size,
                     response);
}

//  Append a copy of text to a growable string array; -1 on no memory.
static int s_add_str(char ***array_p, size_t *size_p, const char *text)
{
    char *copy = strdup(text ? text : "");
    if (!copy)
        return -1;
    char **slot = lt_edxml_grow((void **) array_p, size_p, sizeof(char *));
    if (!slot) {
        free(copy);
        return -1;
    }
    *slot = copy;
    return 0;
}

size_t lt_edxml_places(const lt_edxml_t *self)
{
    assert(self);
    return self->places_size;
}

const char *lt_edxml_place(const lt_edxml_t *self, size_t index)
{
    assert(self);
    return index < self->places_size ? self->places[index] : NULL;
}

int lt_edxml_add_place(lt_edxml_t *self, const char *place)
{
    assert(self);
    return s_add_str(&self->places, &self->places_size, place);
}

size_t lt_edxml_appendixes(const lt_edxml_t *self)
{
    assert(self);
    return self->appendixes_size;
}

const char *lt_edxml_appendix(const lt_edxml_t *self, size_t index)
{
    assert(self);
    return index < self->appendixes_size ? self->appendixes[index] : NULL;
}

int lt_edxml_add_appendix(lt_edxml_t *self, const char *appendix)
{
    assert(self);
    return s_add_str(&self->appendixes, &self->appendixes_size, appendix);
}

const lt_edxml_staff_t *lt_edxml_staff(const lt_edxml_t *self)
{
    assert(self);
    return &self->staff;
}

int lt_edxml_set_staff(lt_edxml_t *self, const lt_edxml_staff_t *staff)
{
    assert(self && staff);
    lt_edxml_staff_t copy;
    lt_edxml_rec_init(&lt_edxml_staff_rec, &copy);
    if (s_rec_copy(&lt_edxml_staff_rec, &copy, staff))
        return -1;
    lt_edxml_rec_free(&lt_edxml_staff_rec, &self->staff);
    self->staff = copy;
    return 0;
}

size_t lt_edxml_traces(const lt_edxml_t *self)
{
    assert(self);
    return self->traces_size;
}

const lt_edxml_trace_t *lt_edxml_trace(const lt_edxml_t *self, size_t index)
{
    assert(self);
    return index < self->traces_size ? &self->traces[index] : NULL;
}

int lt_edxml_append_trace(lt_edxml_t *self, const char *organ_id, const char *timestamp)
{
    assert(self);
    char now[32];
    if (!timestamp) {
        time_t t = time(NULL);
        struct tm tm;
        if (!localtime_r(&t, &tm) || !strftime(now, sizeof(now), "%Y/%m/%d %H:%M:%S", &tm))
            return -1;
        timestamp = now;
    }
    lt_edxml_trace_t trace = {(char *) organ_id, (char *) timestamp};
    return s_add_rec(&lt_edxml_trace_rec, (void **) &self->traces, &self->traces_size, &trace);
}

bool lt_edxml_has_document_info(const lt_edxml_t *self)
{
    assert(self);
    return self->document_info;
}

size_t lt_edxml_receivers(const lt_edxml_t *self)
{
    assert(self);
    return self->receivers_size;
}

const lt_edxml_receiver_t *lt_edxml_receiver(const lt_edxml_t *self, size_t index)
{
    assert(self);
    return index < self->receivers_size ? &self->receivers[index] : NULL;
}

int lt_edxml_add_receiver(lt_edxml_t *self, const char *receiver_type, const char *organ_id)
{
    assert(self);
    lt_edxml_receiver_t receiver = {(char *) receiver_type, (char *) organ_id};
    if (s_add_rec(&lt_edxml_receiver_rec, (void **) &self->receivers, &self->receivers_size,
                  &receiver))
        return -1;
    self->document_info = true;
    return 0;
}

size_t lt_edxml_replacements(const lt_edxml_t *self)
{
    assert(self);
    return self->replacements_size;
}

const char *lt_edxml_replacement_document_id(const lt_edxml_t *self, size_t index)
{
    assert(self);
    return index < self->replacements_size ? self->replacements[index].document_id : NULL;
}

size_t lt_edxml_replacement_organs(const lt_edxml_t *self, size_t index)
{
    assert(self);
    return index < self->replacements_size ? self->replacements[index].organs_size : 0;
}

const char *lt_edxml_replacement_organ(const lt_edxml_t *self, size_t index, size_t organ)
{
    assert(self);
    if (index >= self->replacements_size || organ >= self->replacements[index].organs_size)
        return NULL;
    return self->replacements[index].organs[organ];
}

int lt_edxml_add_replacement(lt_edxml_t *self, const char *document_id)
{
    assert(self);
    char *copy = strdup(document_id ? document_id : "");
    if (!copy)
        return -1;
    lt_edxml_replacement_t *r = lt_edxml_grow((void **) &self->replacements,
                                              &self->replacements_size, sizeof(*r));
    if (!r) {
        free(copy);
        return -1;
    }
    r->document_id = copy;
    return (int) (self->replacements_size - 1);
}

int lt_edxml_add_replacement_organ(lt_edxml_t *self, size_t index, const char *organ_id)
{
    assert(self);
    assert(index < self->replacements_size);
    lt_edxml_replacement_t *r = &self->replacements[index];
    return s_add_str(&r->organs, &r->organs_size, organ_id);
}

size_t lt_edxml_attachments(const lt_edxml_t *self)
{
    assert(self);
    return self->attachments_size;
}

const lt_edxml_attachment_t *lt_edxml_attachment(const lt_edxml_t *self, size_t index)
{
    assert(self);
    return index < self->attachments_size ? &self->attachments[index] : NULL;
}

int lt_edxml_add_attachment(lt_edxml_t *self, const char *name, const char *content_type,
                            const char *description, const void *data, size_t size)
{
    assert(self);
    assert(data || size == 0);
    //  The next free number: one past the highest numeric ContentId.
    long next = 1;
    for (size_t i = 0; i < self->attachments_size; i++) {
        char *end;
        long n = strtol(self->attachments[i].content_id, &end, 10);
        if (*end == 0 && n >= next && n < 99999999)
            next = n + 1;
    }
    char cid[24];
    snprintf(cid, sizeof(cid), "%04ld", next);
    lt_edxml_attachment_t a = {
        .content_id = strdup(cid),
        .name = strdup(name ? name : ""),
        .description = strdup(description ? description : ""),
        .content_type = strdup(content_type ? content_type : lt_edxml_guess_type(name)),
        .data = malloc(size ? size : 1),
        .size = size,
        .zipped = true,
    };
    lt_edxml_attachment_t *slot = NULL;
    if (a.content_id && a.name && a.description && a.content_type && a.data)
        slot = lt_edxml_grow((void **) &self->attachments, &self->attachments_size, sizeof(a));
    if (!slot) {
        free(a.content_id);
        free(a.name);
        free(a.description);
        free(a.content_type);
        free(a.data);
        return -1;
    }
    if (size)
        memcpy(a.data, data, size);
    *slot = a;
    return 0;
}

const void *lt_edxml_raw(const lt_edxml_t *self, size_t *size_p)
{
    assert(self);
    if (size_p)
        *size_p = self->raw_size;
    return self->raw;
}

bool lt_edxml_has_xmldsig(const lt_edxml_t *self)
{
    assert(self);
    return self->xmldsig;
}

int lt_edxml_fill_envelope(const lt_edxml_t *self, lt_envelope_t *env)
{
    assert(self && env);
    lt_envelope_set_kind(env, self->status ? LT_KIND_STATUS : LT_KIND_DOCUMENT);
    lt_envelope_clear_recipients(env);
    const char *key = lt_edxml_document_id(self);
    if (self->status) {
        key = self->responses_size ? self->responses[0].document_id : "";
        for (size_t i = 0; i < self->responses_size; i++)
            if (*self->responses[i].organ_id
                && lt_envelope_add_recipient(env, self->responses[i].organ_id))
                return -1;
    }
    else
        for (size_t i = 0; i < self->to_size; i++)
            if (*self->to[i].organ_id && lt_envelope_add_recipient(env, self->to[i].organ_id))
                return -1;
    lt_envelope_set_key(env, key);
    lt_envelope_set_btype(env, lt_edxml_btype(self));
    //  A replacement is ordered after the document it replaces (the first
    //  ReplacementInfo), so the broker needs that DocumentId.
    const char *replaces = !self->status && lt_edxml_doc_type(self) == 3 && self->replacements_size
                               ? self->replacements[0].document_id
                               : NULL;
    lt_envelope_set_replaces(env, replaces && *replaces ? replaces : NULL);
    lt_envelope_set_sender(env, self->from.organ_id);
    lt_envelope_set_electronic(env, true);
    //  The setters copy; a failed copy leaves the field empty.
    if (strcmp(lt_envelope_key(env), key) || strcmp(lt_envelope_sender(env), self->from.organ_id)
        || strcmp(lt_envelope_btype(env), lt_edxml_btype(self)))
        return -1;
    return 0;
}

bool lt_edxml_key_owner(const char *document_id, char owner[64])
{
    owner[0] = 0;
    if (!document_id)
        return false;
    size_t length = strcspn(document_id, ",");
    if (document_id[length] != ',' || length == 0 || length > 63)
        return false;
    bool dot = false, letter = false;
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char) document_id[i];
        if (c == '.')
            dot = true;
        else if (isalpha(c))
            letter = true;
        else if (!isdigit(c))
            return false;
    }
    if (!dot || !letter)
        return false;
    memcpy(owner, document_id, length);
    owner[length] = 0;
    return true;
}

//  Write the Decision 20/2020 form of a QCVN 102 code (level 4, 3, 2
//  groups of digits, then the level-1 unit: `000.01.12.H26` -> `H26.12.01`,
//  unused levels left out); false when code is not in that form.
static bool s_agency_2020(const char *code, char out[64])
{
    char groups[4][8];
    size_t count = 0;
    for (const char *p = code;; p++) {
        size_t length = strcspn(p, ".");
        if (count == 4 || length == 0 || length >= sizeof(groups[0]))
            return false;
        memcpy(groups[count], p, length);
        groups[count++][length] = 0;
        p += length;
        if (!*p)
            break;
    }
    if (count != 4 || !isalpha((unsigned char) groups[3][0]))
        return false;
    for (size_t g = 0; g < 3; g++)
        for (const char *c = groups[g]; *c; c++)
            if (!isdigit((unsigned char) *c))
                return false;
    //  Levels 2, 3, 4 after the unit, up to the last one in use.
    size_t used = 0;
    for (size_t level = 1; level <= 3; level++)
        if (strspn(groups[3 - level], "0") != strlen(groups[3 - level]))
            used = level;
    size_t written = (size_t) snprintf(out, 64, "%s", groups[3]);
    for (size_t level = 1; level <= used; level++)
        written += (size_t) snprintf(out + written, 64 - written, ".%s", groups[3 - level]);
    return true;
}

bool lt_edxml_agency_same(const char *a, const char *b)
{
    if (!a || !b || !*a || !*b)
        return false;
    if (strcasecmp(a, b) == 0)
        return true;
    char other[64];
    return (s_agency_2020(a, other) && strcasecmp(other, b) == 0)
           || (s_agency_2020(b, other) && strcasecmp(other, a) == 0);
}

bool lt_edxml_status_code_valid(const char *code)
{
    return lt_edxml_status_name(code) != NULL;
}

const char *lt_edxml_status_name(const char *code)
{
    for (size_t i = 0; code && i < S_COUNT(s_status_codes); i++)
        if (strcmp(code, s_status_codes[i].code) == 0)
            return s_status_codes[i].name;
    return NULL;
}

//  Return true when two string arrays hold the same strings in order.
static bool s_strs_eq(char *const *a, size_t a_size, char *const *b, size_t b_size)
{
    if (a_size != b_size)
        return false;
    for (size_t i = 0; i < a_size; i++)
        if (strcmp(a[i], b[i]))
            return false;
    return true;
}

//  Return true when two record arrays of one type hold the same records.
static bool s_recs_eq(const lt_edxml_rec_t *type, const void *a, size_t a_size, const void *b,
                      size_t b_size)
{
    if (a_size != b_size)
        return false;
    for (size_t i = 0; i < a_size; i++)
        if (!s_rec_eq(type, (const char *) a + i * type->size, (const char *) b + i * type->size))
            return false;
    return true;
}

bool lt_edxml_eq(const lt_edxml_t *a, const lt_edxml_t *b)
{
    assert(a && b);
    if (a->status != b->status || a->document_info != b->document_info)
        return false;
    for (int i = 0; i < LT_EDXML_FIELDS; i++)
        if (strcmp(lt_edxml_get(a, i), lt_edxml_get(b, i)))
            return false;
    if (!s_rec_eq(&lt_edxml_organ_rec, &a->from, &b->from)
        || !s_rec_eq(&lt_edxml_staff_rec, &a->staff, &b->staff)
        || !s_recs_eq(&lt_edxml_organ_rec, a->to, a->to_size, b->to, b->to_size)
        || !s_recs_eq(&lt_edxml_response_rec, a->responses, a->responses_size, b->responses,
                      b->responses_size)
        || !s_recs_eq(&lt_edxml_trace_rec, a->traces, a->traces_size, b->traces, b->traces_size)
        || !s_recs_eq(&lt_edxml_receiver_rec, a->receivers, a->receivers_size, b->receivers,
                      b->receivers_size)
        || !s_strs_eq(a->places, a->places_size, b->places, b->places_size)
        || !s_strs_eq(a->appendixes, a->appendixes_size, b->appendixes, b->appendixes_size))
        return false;
    if (a->replacements_size != b->replacements_size)
        return false;
    for (size_t i = 0; i < a->replacements_size; i++) {
        const lt_edxml_replacement_t *ra = &a->replacements[i], *rb = &b->replacements[i];
        if (strcmp(ra->document_id, rb->document_id)
            || !s_strs_eq(ra->organs, ra->organs_size, rb->organs, rb->organs_size))
            return false;
    }
    if (a->attachments_size != b->attachments_size)
        return false;
    for (size_t i = 0; i < a->attachments_size; i++) {
        const lt_edxml_attachment_t *x = &a->attachments[i], *y = &b->attachments[i];
        if (strcmp(x->content_id, y->content_id) || strcmp(x->name, y->name)
            || strcmp(x->description, y->description) || strcmp(x->content_type, y->content_type)
            || x->zipped != y->zipped || x->size != y->size
            || (x->size && memcmp(x->data, y->data, x->size)))
            return false;
    }
    return true;
}
