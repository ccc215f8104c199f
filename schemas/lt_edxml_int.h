/*  lt_edxml_int: what the edXML reader, writer, codec and core share.

    Private to schemas/lt_edxml*.c. The package struct lives here so that the
    reader and writer (separate files to keep each one readable) can fill and
    walk it directly. Record types (organisation, ResponseFor, StaffInfo...)
    are described by slot tables: XML element name and field offset, so that
    copy, free, compare, read and write are one loop per record type.
*/
#ifndef LT_EDXML_INT_H_INCLUDED
#define LT_EDXML_INT_H_INCLUDED

#include "lt_edxml.h"

#include <stddef.h>
#include <stdint.h>

//  One ReplacementInfo of a replacement package.
typedef struct {
    char *document_id;   //  DocumentId of the replaced document
    char **organs;       //  OrganIdList/OrganId values
    size_t organs_size;  //  how many organs
} lt_edxml_replacement_t;

//  The ZIP archive a zipped attachment travelled in, kept so that writing
//  the package again sends the sender's archive instead of zipping anew.
typedef struct {
    uint8_t *data;   //  archive bytes, NULL when not kept
    size_t size;     //  bytes in data
} lt_edxml_wire_t;

struct _lt_edxml_t {
    bool status;                            //  a status package, not a document
    char *field[LT_EDXML_FIELDS];           //  text fields; NULL reads as ""
    lt_edxml_organ_t from;                  //  From block
    lt_edxml_organ_t *to;                   //  To blocks
    size_t to_size;                         //  how many To
    lt_edxml_response_t *responses;         //  ResponseFor links
    size_t responses_size;                  //  how many links
    char **places;                          //  ToPlaces/Place lines
    size_t places_size;                     //  how many places
    char **appendixes;                      //  OtherInfo/Appendixes/Appendix
    size_t appendixes_size;                 //  how many appendixes
    lt_edxml_staff_t staff;                 //  StaffInfo
    lt_edxml_trace_t *traces;               //  TraceHeader list
    size_t traces_size;                     //  how many traces
    bool document_info;                     //  BussinessDocumentInfo present
    lt_edxml_receiver_t *receivers;         //  BussinessDocumentInfo receivers
    size_t receivers_size;                  //  how many receivers
    lt_edxml_replacement_t *replacements;   //  ReplacementInfoList entries
    size_t replacements_size;               //  how many replacements
    lt_edxml_attachment_t *attachments;     //  decoded attachments
    size_t attachments_size;                //  how many attachments
    lt_edxml_wire_t *wires;                 //  wires[i] is attachments[i]'s archive
    size_t wires_size;                      //  entries in wires (may be fewer)
    uint8_t *raw;                           //  input bytes, NULL if built in memory
    size_t raw_size;                        //  bytes in raw
    bool xmldsig;                           //  edXML:Signature holds ds:Signature
};

//  One string slot of a record: its element name and where it lives.
typedef struct {
    const char *name;   //  XML local name, e.g. OrganId
    size_t offset;      //  offsetof the char * field in the record
} lt_edxml_slot_t;

//  A record type: its slots in the spec's element order.
typedef struct {
    const lt_edxml_slot_t *slots;   //  slot table
    size_t count;                   //  slots in the table
    size_t size;                    //  sizeof the record struct
} lt_edxml_rec_t;

extern const lt_edxml_rec_t lt_edxml_organ_rec;      //  From, To
extern const lt_edxml_rec_t lt_edxml_response_rec;   //  ResponseFor
extern const lt_edxml_rec_t lt_edxml_staff_rec;      //  StaffInfo
extern const lt_edxml_rec_t lt_edxml_trace_rec;      //  TraceHeader
extern const lt_edxml_rec_t lt_edxml_receiver_rec;   //  Receiver

//  The shared empty string that record fields point to when empty; never
//  freed and never written to.
extern char lt_edxml_empty[1];

//  Return a pointer to slot i of record rec.
char **lt_edxml_slot(const lt_edxml_rec_t *type, void *rec, size_t i);

//  Set every slot of a zeroed record to the empty string.
void lt_edxml_rec_init(const lt_edxml_rec_t *type, void *rec);

//  Free the strings of a record (leaves them empty).
void lt_edxml_rec_free(const lt_edxml_rec_t *type, void *rec);

//  Replace a string slot with a copy of value (NULL or "" store the empty
//  string); -1 on allocation failure, the old value kept.
int lt_edxml_str_set(char **slot, const char *value);

//  Take ownership of a malloc'ed string into a slot ("" is freed and the
//  empty string stored).
void lt_edxml_str_take(char **slot, char *value);

//  Append one zeroed element of elem_size bytes to a growable array; return
//  it, or NULL on allocation failure (array and size unchanged).
void *lt_edxml_grow(void **array_p, size_t *size_p, size_t elem_size);

//  Return the MIME type guessed from a file name's extension.
const char *lt_edxml_guess_type(const char *name);

//  Decode base64 text (whitespace and line breaks allowed, padding checked)
//  with OpenSSL into a new buffer. Returns 0, or -1 when the text is not
//  valid base64, -2 when the result would exceed max bytes, -3 on no memory.
int lt_edxml_base64_decode(const char *text, size_t length, size_t max, uint8_t **data_p,
                           size_t *size_p);

//  Encode bytes as one line of base64 into a new NUL-terminated string;
//  NULL on allocation failure.
char *lt_edxml_base64_encode(const uint8_t *data, size_t size, size_t *length_p);

//  Return true when data starts with a ZIP local file header.
bool lt_edxml_is_zip(const uint8_t *data, size_t size);

//  Unwrap an SDK-style ZIP (one file) into a new buffer, enforcing max on
//  the entry's declared size and on the bytes actually read. Returns 0;
//  1 when the archive is not a one-file wrapper (caller keeps the bytes as
//  they are); -1 on a damaged archive, -2 over the limit, -3 on no memory.
//  On -1, detail (if not NULL) gets libzip's reason.
int lt_edxml_unzip(const uint8_t *data, size_t size, size_t max, uint8_t **out_p,
                   size_t *out_size_p, char *entry_name, size_t entry_name_size,
                   char *detail, size_t detail_size);

//  Return the entry name the writer gives a zipped attachment: its
//  AttachmentName, or "file" when that is empty, too long for a ZIP or ends
//  with '/' (which would make it a folder).
const char *lt_edxml_zip_entry_name(const char *name);

//  Zip one file named name into a new in-memory archive; -1 on failure.
int lt_edxml_zip(const char *name, const uint8_t *data, size_t size, uint8_t **out_p,
                 size_t *out_size_p);

#endif
