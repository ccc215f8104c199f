/*  lt_edxml: the edXML package (spec/edxml.md), read and written.

    An lt_edxml_t holds one document package (MessageHeader, TraceHeaderList,
    Bussiness block, attachments) or one status package (Status). The reader
    parses untrusted bytes with libxml2 (no network, no DTD, no entity
    expansion, UTF-8 only, bounded sizes and depth) and names the element or
    rule that failed in every rejection; attachments come out decoded
    (base64 decoded and, when they were zipped as the SDKs do, unzipped).
    The writer emits the exact prefixes and element order of the spec and
    zips attachments added with lt_edxml_add_attachment().

    Text fields are kept as text so that values the implementations disagree
    on (DocumentType/Type) round-trip unchanged. String getters never return
    NULL: an absent element reads as "". Structures returned through const
    pointers are on loan until the package changes or is destroyed.
*/
#ifndef LT_EDXML_H_INCLUDED
#define LT_EDXML_H_INCLUDED

#include "lt_envelope.h"
#include "lt_error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LT_EDXML_NS "http://www.mic.gov.vn/TBT/QCVN_102_2016"

typedef struct _lt_edxml_t lt_edxml_t;

//  Reader limits. A zero field means the default given in its comment.
typedef struct {
    size_t max_package;       //  bytes of XML input (default 64 MiB)
    size_t max_attachments;   //  attachments per package (default 100)
    size_t max_depth;         //  element nesting depth (default 32)
    size_t max_attachment;    //  decoded bytes of one attachment (default 64 MiB)
    size_t max_total;         //  decoded bytes of all attachments (default 256 MiB)
} lt_edxml_limits_t;

//  An organisation block: From, To (spec "Document header").
typedef struct {
    char *organ_id;                 //  agency code, e.g. 000.00.12.H26
    char *organization_in_charge;   //  OrganizationInCharge
    char *organ_name;               //  OrganName
    char *organ_add;                //  OrganAdd (address)
    char *email;                    //  Email
    char *telephone;                //  Telephone
    char *fax;                      //  Fax
    char *website;                  //  Website
} lt_edxml_organ_t;

//  A ResponseFor link: the document a reply or a status is about.
typedef struct {
    char *organ_id;            //  OrganId of the original sender
    char *code;                //  Code as text, e.g. 215/STTTT-VP
    char *promulgation_date;   //  PromulgationDate yyyy/MM/dd
    char *document_id;         //  DocumentId of the original document
} lt_edxml_response_t;

//  A StaffInfo block (Bussiness for documents, Status for statuses).
typedef struct {
    char *department;   //  Department
    char *staff;        //  Staff (name)
    char *email;        //  Email
    char *mobile;       //  Mobile
} lt_edxml_staff_t;

//  One TraceHeader: a system that relayed the package.
typedef struct {
    char *organ_id;    //  OrganId of the relaying system's agency
    char *timestamp;   //  Timestamp yyyy/MM/dd HH:mm:ss
} lt_edxml_trace_t;

//  One Receiver of a BussinessDocumentInfo (update packages).
typedef struct {
    char *receiver_type;   //  ReceiverType
    char *organ_id;        //  OrganId
} lt_edxml_receiver_t;

//  One attachment, decoded.
typedef struct {
    char *content_id;     //  ContentId without the "cid:" prefix, e.g. 0001
    char *name;           //  AttachmentName (the original file name)
    char *description;    //  Description
    char *content_type;   //  type of the decoded bytes (guessed from the name
                          //  when the wire said application/zip)
    uint8_t *data;        //  decoded (and unzipped) bytes
    size_t size;          //  bytes in data
    bool zipped;          //  travels zipped (read: was a ZIP; write: zip it)
} lt_edxml_attachment_t;

//  The text fields of the header, for lt_edxml_get() and lt_edxml_set().
typedef enum {
    LT_EDXML_DOCUMENT_ID = 0,       //  MessageHeader/DocumentId
    LT_EDXML_CODE_NUMBER,           //  Code/CodeNumber
    LT_EDXML_CODE_NOTATION,         //  Code/CodeNotation
    LT_EDXML_PLACE,                 //  PromulgationInfo/Place
    LT_EDXML_PROMULGATION_DATE,     //  PromulgationInfo/PromulgationDate
    LT_EDXML_TYPE,                  //  DocumentType/Type (text, unchanged)
    LT_EDXML_TYPE_DETAIL,           //  DocumentType/TypeDetail (text, unchanged)
    LT_EDXML_TYPE_NAME,             //  DocumentType/TypeName
    LT_EDXML_SUBJECT,               //  Subject
    LT_EDXML_CONTENT,               //  Content
    LT_EDXML_COMPETENCE,            //  SignerInfo/Competence
    LT_EDXML_POSITION,              //  SignerInfo/Position
    LT_EDXML_FULL_NAME,             //  SignerInfo/FullName
    LT_EDXML_DUE_DATE,              //  DueDate
    LT_EDXML_PRIORITY,              //  OtherInfo/Priority
    LT_EDXML_SPHERE,                //  OtherInfo/SphereOfPromulgation
    LT_EDXML_TYPER_NOTATION,        //  OtherInfo/TyperNotation
    LT_EDXML_PROMULGATION_AMOUNT,   //  OtherInfo/PromulgationAmount
    LT_EDXML_PAGE_AMOUNT,           //  OtherInfo/PageAmount
    LT_EDXML_STEERING_TYPE,         //  SteeringType
    LT_EDXML_BUSINESS_DOCUMENT_ID,  //  Bussiness/DocumentId
    LT_EDXML_BUSINESS_DOC_TYPE,     //  Bussiness/BussinessDocType (0..3)
    LT_EDXML_BUSINESS_REASON,       //  Bussiness/BussinessDocReason
    LT_EDXML_PAPER,                 //  Bussiness/Paper (0/1)
    LT_EDXML_DOCUMENT_INFO,         //  Bussiness/BussinessDocumentInfo/DocumentInfo
    LT_EDXML_DOCUMENT_RECEIVER,     //  Bussiness/BussinessDocumentInfo/DocumentReceiver
    LT_EDXML_STATUS_CODE,           //  Status/StatusCode (01..06, 13, 15, 16)
    LT_EDXML_DESCRIPTION,           //  Status/Description
    LT_EDXML_TIMESTAMP,             //  Status/Timestamp
    LT_EDXML_FIELDS                 //  count, not a field
} lt_edxml_field_t;

//  Fill limits with the defaults.
void lt_edxml_limits_init(lt_edxml_limits_t *limits);

//  Create an empty document package; NULL on allocation failure.
lt_edxml_t *lt_edxml_new_document(void);

//  Create an empty status package; NULL on allocation failure.
lt_edxml_t *lt_edxml_new_status(void);

//  Destroy a package and set the caller's pointer to NULL; safe on NULL.
void lt_edxml_destroy(lt_edxml_t **self_p);

//  Parse a package from memory. limits may be NULL (defaults). Returns NULL
//  with err filled (LT_EINVAL, LT_ETOOBIG or LT_ENOMEM) naming what failed.
lt_edxml_t *lt_edxml_read(const void *data, size_t size, const lt_edxml_limits_t *limits,
                          lt_err_t *err);

//  Parse a package from a file (LT_EIO when it cannot be read).
lt_edxml_t *lt_edxml_read_file(const char *path, const lt_edxml_limits_t *limits, lt_err_t *err);

//  Serialize the package to a new buffer the caller frees. Checks what a
//  reader requires (lt_edxml_validate) and returns -1 with err filled when
//  something is missing. Zipped attachments read from a package go out in
//  the archive they came in; added ones are zipped here (deflate level 1).
int lt_edxml_write(const lt_edxml_t *self, uint8_t **data_p, size_t *size_p, lt_err_t *err);

//  Check what the reader requires of a package (From/OrganId; To and
//  DocumentId for documents; ResponseFor and a known StatusCode for
//  statuses); 0, or -1 with err naming the missing or bad element.
int lt_edxml_validate(const lt_edxml_t *self, lt_err_t *err);

//  Return true for a status package, false for a document package.
bool lt_edxml_is_status(const lt_edxml_t *self);

//  Get a text field ("" when absent); set one (copies; NULL clears). Set
//  returns -1 on allocation failure.
const char *lt_edxml_get(const lt_edxml_t *self, lt_edxml_field_t field);
int lt_edxml_set(lt_edxml_t *self, lt_edxml_field_t field, const char *value);

//  Return the XML element name of a field ("DocumentId"), for messages.
const char *lt_edxml_field_name(lt_edxml_field_t field);

//  Shortcuts for the fields the hub routes and counts on.
const char *lt_edxml_document_id(const lt_edxml_t *self);   //  MessageHeader/DocumentId
const char *lt_edxml_subject(const lt_edxml_t *self);       //  Subject
const char *lt_edxml_status_code(const lt_edxml_t *self);   //  StatusCode ("" for documents)

//  Return BussinessDocType as 0 (new), 1 (revocation), 2 (update) or
//  3 (replacement); 0 when absent.
int lt_edxml_doc_type(const lt_edxml_t *self);

//  Return the envelope btype of a package: "new", "revocation", "update",
//  "replacement" for documents, the StatusCode for statuses.
const char *lt_edxml_btype(const lt_edxml_t *self);

//  From: the sender. Never NULL (fields "" when absent). Set copies (NULL
//  fields of the argument become "").
const lt_edxml_organ_t *lt_edxml_from(const lt_edxml_t *self);
int lt_edxml_set_from(lt_edxml_t *self, const lt_edxml_organ_t *organ);

//  To: the recipients, in order.
size_t lt_edxml_to_count(const lt_edxml_t *self);
const lt_edxml_organ_t *lt_edxml_to(const lt_edxml_t *self, size_t index);   //  NULL if out of range
int lt_edxml_add_to(lt_edxml_t *self, const lt_edxml_organ_t *organ);

//  ResponseFor links (documents: 0..n; statuses: exactly one).
size_t lt_edxml_responses(const lt_edxml_t *self);
const lt_edxml_response_t *lt_edxml_response(const lt_edxml_t *self, size_t index);
int lt_edxml_add_response(lt_edxml_t *self, const lt_edxml_response_t *response);

//  ToPlaces/Place lines ("Nơi nhận").
size_t lt_edxml_places(const lt_edxml_t *self);
const char *lt_edxml_place(const lt_edxml_t *self, size_t index);
int lt_edxml_add_place(lt_edxml_t *self, const char *place);

//  OtherInfo/Appendixes/Appendix lines.
size_t lt_edxml_appendixes(const lt_edxml_t *self);
const char *lt_edxml_appendix(const lt_edxml_t *self, size_t index);
int lt_edxml_add_appendix(lt_edxml_t *self, const char *appendix);

//  StaffInfo (Bussiness for documents, Status for statuses). Never NULL.
const lt_edxml_staff_t *lt_edxml_staff(const lt_edxml_t *self);
int lt_edxml_set_staff(lt_edxml_t *self, const lt_edxml_staff_t *staff);

//  TraceHeaderList/TraceHeader, in order. lt_edxml_append_trace() adds one
//  at the end; a NULL timestamp means now, in local time.
size_t lt_edxml_traces(const lt_edxml_t *self);
const lt_edxml_trace_t *lt_edxml_trace(const lt_edxml_t *self, size_t index);
int lt_edxml_append_trace(lt_edxml_t *self, const char *organ_id, const char *timestamp);

//  Insert a TraceHeader (OrganId, Timestamp as given) into the bytes of a
//  package, changing no other byte: after the last TraceHeader of
//  edXMLHeader/TraceHeaderList, with that list's prefix and the whitespace
//  found before the previous TraceHeader; without a TraceHeaderList, a new
//  one holding only it goes after MessageHeader or Status; an empty-element
//  <TraceHeaderList/> is opened to hold it (its "/>" becomes ">", the
//  TraceHeader and the list's end tag). Elements are found by namespace,
//  whatever their prefixes. *out_p (caller frees, NUL-terminated) receives
//  the result; at_p and length_p, when not NULL, the offset where it starts
//  to differ from the input and the number of bytes it adds (the inserted
//  span, but for the two bytes "/>" of an opened list). Returns 0, or -1
//  with err (LT_EINVAL naming what is missing, LT_ENOMEM).
int lt_edxml_insert_trace(const void *data, size_t size, const char *organ_id,
                          const char *timestamp, uint8_t **out_p, size_t *out_size_p,
                          size_t *at_p, size_t *length_p, lt_err_t *err);

//  Bussiness/BussinessDocumentInfo: present or not (it is written only when
//  present or when one of its fields or receivers is set), and its receivers.
bool lt_edxml_has_document_info(const lt_edxml_t *self);
size_t lt_edxml_receivers(const lt_edxml_t *self);
const lt_edxml_receiver_t *lt_edxml_receiver(const lt_edxml_t *self, size_t index);
int lt_edxml_add_receiver(lt_edxml_t *self, const char *receiver_type, const char *organ_id);

//  Bussiness/ReplacementInfoList/ReplacementInfo: the documents a
//  replacement replaces, each with its OrganIdList.
size_t lt_edxml_replacements(const lt_edxml_t *self);
const char *lt_edxml_replacement_document_id(const lt_edxml_t *self, size_t index);
size_t lt_edxml_replacement_organs(const lt_edxml_t *self, size_t index);
const char *lt_edxml_replacement_organ(const lt_edxml_t *self, size_t index, size_t organ);
//  Add a ReplacementInfo; returns its index, or -1 on allocation failure.
int lt_edxml_add_replacement(lt_edxml_t *self, const char *document_id);
int lt_edxml_add_replacement_organ(lt_edxml_t *self, size_t index, const char *organ_id);

//  Attachments, in package order.
size_t lt_edxml_attachments(const lt_edxml_t *self);
const lt_edxml_attachment_t *lt_edxml_attachment(const lt_edxml_t *self, size_t index);

//  Add an attachment (copies the bytes); the writer zips it as the SDKs do.
//  content_type is the type of the file itself (application/pdf); the
//  ContentId is the next free number (0001, 0002...). Returns -1 on
//  allocation failure.
int lt_edxml_add_attachment(lt_edxml_t *self, const char *name, const char *content_type,
                            const char *description, const void *data, size_t size);

//  The bytes the package was read from (NULL and 0 for a package built in
//  memory), for verifying the enveloped XML signature over them.
const void *lt_edxml_raw(const lt_edxml_t *self, size_t *size_p);

//  Return true when edXML:Signature holds an XML-DSig Signature element.
//  The writer always emits an empty edXML:Signature: a rewritten package
//  no longer matches the sender's signature.
bool lt_edxml_has_xmldsig(const lt_edxml_t *self);

//  Fill kind, key, btype, sender, recipients and electronic=true of an
//  envelope from the package (recipients are replaced). For statuses the key
//  is ResponseFor/DocumentId and the recipient ResponseFor/OrganId. Returns
//  -1 on allocation failure.
int lt_edxml_fill_envelope(const lt_edxml_t *self, lt_envelope_t *env);

//  Return true when StatusCode is one of the spec's codes.
bool lt_edxml_status_code_valid(const char *code);
//  The agency a document's key names as its sender: the part of the
//  DocumentId before its first comma (spec/edxml.md: `<sender OrganId>,
//  <yyyy/MM/dd>,<number>/<notation>`), copied into owner. False, owner
//  empty, when that part is not shaped like an agency code (letters,
//  digits and dots, with a dot and a letter), so the key is not in the
//  standard's form.
bool lt_edxml_key_owner(const char *document_id, char owner[64]);

//  True when a and b name the same agency, each in the QCVN 102 form
//  (`000.00.12.H26`) or the Decision 20/2020 form (`H26.12`), letters in
//  either case.
bool lt_edxml_agency_same(const char *a, const char *b);


//  Return the meaning of a StatusCode ("accepted"), or NULL when unknown.
const char *lt_edxml_status_name(const char *code);

//  Return true when both packages hold the same fields and attachment bytes
//  (the raw input bytes are not compared).
bool lt_edxml_eq(const lt_edxml_t *a, const lt_edxml_t *b);

//  Self-test of this class.
void lt_edxml_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
