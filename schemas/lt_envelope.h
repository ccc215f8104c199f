/*  lt_envelope: what the broker knows about a message without parsing its
    payload (DESIGN.md section 4).

    Connectors fill an envelope from the payload they received (edXML
    package, dossier JSON, report JSON) and publish it with the payload; the
    broker stores it, routes on kind and recipients, deduplicates on
    lt_envelope_dedup_key() and orders deliveries on the business key. The
    msgpack form is a map with the short keys listed in schemas/ltp.md
    ("The envelope"); unknown keys are ignored when decoding so that newer
    connectors can add facts without breaking older brokers.
*/
#ifndef LT_ENVELOPE_H_INCLUDED
#define LT_ENVELOPE_H_INCLUDED

#include "lt_error.h"

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _lt_envelope_t lt_envelope_t;

//  What a message is. The wire form is the lowercase name.
typedef enum {
    LT_KIND_NONE = 0,       //  not set (invalid on the wire)
    LT_KIND_DOCUMENT = 1,   //  an edXML document package
    LT_KIND_STATUS = 2,     //  an edXML status package about a document
    LT_KIND_DOSSIER = 3,    //  a dossier record (HoSo)
    LT_KIND_PROGRESS = 4,   //  a dossier progress step
    LT_KIND_REPORT = 5,     //  an indicator report
    LT_KIND_REGISTER = 6,   //  paper-register entries from a DMS
    LT_KIND_FACT = 7,       //  a peer's acceptance, recorded for counting
} lt_kind_t;

//  The signature verdict on a document's main file (spec/edxml.md).
typedef enum {
    LT_SIG_UNKNOWN = 0,           //  not checked (or not a document)
    LT_SIG_UNSIGNED = 1,          //  no signature found
    LT_SIG_VALID = 2,             //  verifies and chains to a trust anchor
    LT_SIG_VALID_UNTRUSTED = 3,   //  verifies, chain not trusted or not checked
    LT_SIG_INVALID = 4,           //  a signature is present and fails
} lt_sig_t;

//  Dossier channel (KenhThucHien).
typedef enum {
    LT_CHANNEL_UNKNOWN = 0,   //  not a dossier or not given
    LT_CHANNEL_IN_PERSON = 1, //  at the one-stop desk
    LT_CHANNEL_ONLINE = 2,    //  filed online
    LT_CHANNEL_POSTAL = 3,    //  public postal service (BCCI)
} lt_channel_t;

#define LT_ENVELOPE_MAX_RECIPIENTS 1024   //  decoding refuses more

//  Create an empty envelope; NULL on allocation failure.
lt_envelope_t *lt_envelope_new(void);

//  Destroy an envelope and set the caller's pointer to NULL; safe on NULL.
void lt_envelope_destroy(lt_envelope_t **self_p);

//  Return a deep copy, or NULL on allocation failure.
lt_envelope_t *lt_envelope_dup(const lt_envelope_t *self);

//  Accessors. String getters never return NULL (an unset string is "").
//  Setters copy their argument; NULL clears the field.
const char *lt_envelope_id(const lt_envelope_t *self);          //  UUIDv7 text
void lt_envelope_set_id(lt_envelope_t *self, const char *id);
lt_kind_t lt_envelope_kind(const lt_envelope_t *self);
void lt_envelope_set_kind(lt_envelope_t *self, lt_kind_t kind);
const char *lt_envelope_key(const lt_envelope_t *self);         //  DocumentId or MaHoSo
void lt_envelope_set_key(lt_envelope_t *self, const char *key);
const char *lt_envelope_btype(const lt_envelope_t *self);       //  new, revocation, update,
void lt_envelope_set_btype(lt_envelope_t *self, const char *btype);   //  replacement, or code
const char *lt_envelope_revision(const lt_envelope_t *self);    //  version of the same key
void lt_envelope_set_revision(lt_envelope_t *self, const char *revision);
const char *lt_envelope_source(const lt_envelope_t *self);      //  source connector name
void lt_envelope_set_source(lt_envelope_t *self, const char *source);
const char *lt_envelope_system(const lt_envelope_t *self);      //  source system id
void lt_envelope_set_system(lt_envelope_t *self, const char *system);
const char *lt_envelope_sender(const lt_envelope_t *self);      //  sender agency code
void lt_envelope_set_sender(lt_envelope_t *self, const char *sender);
size_t lt_envelope_recipients(const lt_envelope_t *self);       //  how many recipients
const char *lt_envelope_recipient(const lt_envelope_t *self, size_t index);
int lt_envelope_add_recipient(lt_envelope_t *self, const char *code);   //  no-op if present
void lt_envelope_clear_recipients(lt_envelope_t *self);
int64_t lt_envelope_created(const lt_envelope_t *self);         //  Unix ms at the source
void lt_envelope_set_created(lt_envelope_t *self, int64_t ms);
int64_t lt_envelope_received(const lt_envelope_t *self);        //  Unix ms at the broker
void lt_envelope_set_received(lt_envelope_t *self, int64_t ms);
uint64_t lt_envelope_size(const lt_envelope_t *self);           //  payload bytes
void lt_envelope_set_size(lt_envelope_t *self, uint64_t size);
const char *lt_envelope_sha256(const lt_envelope_t *self);      //  payload digest, hex
void lt_envelope_set_sha256(lt_envelope_t *self, const char *hex);
bool lt_envelope_electronic(const lt_envelope_t *self);         //  electronic, not paper
void lt_envelope_set_electronic(lt_envelope_t *self, bool electronic);
bool lt_envelope_secret(const lt_envelope_t *self);             //  state secret: not counted
void lt_envelope_set_secret(lt_envelope_t *self, bool secret);
lt_sig_t lt_envelope_signature(const lt_envelope_t *self);      //  main file verdict
void lt_envelope_set_signature(lt_envelope_t *self, lt_sig_t verdict);
const char *lt_envelope_signer(const lt_envelope_t *self);      //  signer subject
void lt_envelope_set_signer(lt_envelope_t *self, const char *signer);
const char *lt_envelope_replaces(const lt_envelope_t *self);    //  DocumentId a replacement
void lt_envelope_set_replaces(lt_envelope_t *self, const char *document_id);   //  replaces
const char *lt_envelope_dtype(const lt_envelope_t *self);       //  document type (TypeName)
void lt_envelope_set_dtype(lt_envelope_t *self, const char *type_name);
lt_channel_t lt_envelope_channel(const lt_envelope_t *self);    //  dossier channel
void lt_envelope_set_channel(lt_envelope_t *self, lt_channel_t channel);

//  Set size and sha256 from the payload bytes.
void lt_envelope_set_payload_facts(lt_envelope_t *self, const void *payload, size_t size);

//  Check the fields a publisher must fill; on failure fill err naming the
//  field and return -1.
int lt_envelope_validate(const lt_envelope_t *self, lt_err_t *err);

//  Return the deduplication key (kind, key, btype, revision, sender joined
//  by '|'); the caller frees it. NULL on allocation failure.
char *lt_envelope_dedup_key(const lt_envelope_t *self);

//  Append the envelope as one msgpack map to a packer.
int lt_envelope_pack(const lt_envelope_t *self, msgpack_packer *pk);

//  Read an envelope from a msgpack object (a map); NULL with err filled when
//  a field is mistyped or out of range.
lt_envelope_t *lt_envelope_unpack(const msgpack_object *obj, lt_err_t *err);

//  Encode to a standalone msgpack buffer the caller frees; -1 on failure.
int lt_envelope_encode(const lt_envelope_t *self, uint8_t **data_p, size_t *size_p);

//  Decode a standalone msgpack buffer; NULL with err filled on bad input.
lt_envelope_t *lt_envelope_decode(const void *data, size_t size, lt_err_t *err);

//  Return true when both envelopes hold the same values.
bool lt_envelope_eq(const lt_envelope_t *a, const lt_envelope_t *b);

//  Names of enums on the wire; *_from_name returns -1 for an unknown name.
const char *lt_kind_name(lt_kind_t kind);
int lt_kind_from_name(const char *name);
const char *lt_sig_name(lt_sig_t verdict);
int lt_sig_from_name(const char *name);

//  Self-test of this class.
void lt_envelope_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
