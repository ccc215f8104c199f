/*  lt_edxml_zip: the attachment codecs of edXML - base64 (OpenSSL's EVP
    encoder) and the one-file ZIP wrapper the SDKs put around each file
    (libzip, in memory). Nothing here decodes by hand: this file only checks
    the input against the limits and the base64 alphabet (and squeezes out
    line breaks) before handing it to the libraries, and checks the results
    they return.
*/
#include "lt_edxml_int.h"

#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#define S_B64_CHUNK (3 * 65536)   //  bytes encoded per EVP_EncodeBlock call
#define S_DECODE_CHUNK (1 << 20)  //  characters per EVP_DecodeBlock call (a multiple of 4)
#define S_MAX_ENTRY_NAME 4096     //  longest ZIP entry name the writer uses

//  Class of each byte in base64 text: 0 not allowed, 1 alphabet, 2 blank
//  (space, tab, CR, LF), 3 padding '='.
static const uint8_t s_b64_class[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 3, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

int lt_edxml_base64_decode(const char *text, size_t length, size_t max, uint8_t **data_p,
                           size_t *size_p)
{
    //  Check the alphabet and the padding first: OpenSSL's decoders skip
    //  blanks only at the ends and stop quietly at '-' (a PEM habit).
    const uint8_t *in = (const uint8_t *) text;
    size_t chars = 0, pads = 0, blanks = 0;
    for (size_t i = 0; i < length; i++) {
        uint8_t k = s_b64_class[in[i]];
        if (k == 1 && pads == 0)
            chars++;
        else if (k == 2)
            blanks++;
        else if (k == 3)
            pads++;
        else
            return -1;
    }
    if (pads > 2 || (chars + pads) % 4 != 0)
        return -1;
    size_t expect = (chars + pads) / 4 * 3 - pads;
    if (expect > max)
        return -2;
    //  Blanks (line breaks of MIME writers) are squeezed out into a copy.
    uint8_t *squeezed = NULL;
    if (blanks) {
        squeezed = malloc(chars + pads + 1);
        if (!squeezed)
            return -3;
        size_t at = 0;
        for (size_t i = 0; i < length; i++)
            if (s_b64_class[in[i]] != 2)
                squeezed[at++] = in[i];
        in = squeezed;
    }
    uint8_t *data = malloc(expect + 4);   //  padding decodes to zero bytes first
    if (!data) {
        free(squeezed);
        return -3;
    }
    size_t total = 0, quads = chars + pads;
    int rc = 0;
    for (size_t done = 0; done < quads && rc == 0;) {
        size_t chunk = quads - done < S_DECODE_CHUNK ? quads - done : S_DECODE_CHUNK;
        int n = EVP_DecodeBlock(data + total, in + done, (int) chunk);
        if (n != (int) (chunk / 4 * 3))
            rc = -1;
        else
            total += (size_t) n;
        done += chunk;
    }
    free(squeezed);
    if (rc == 0 && total - pads != expect)
        rc = -1;
    if (rc) {
        free(data);
        return rc;
    }
    *data_p = data;
    *size_p = expect;
    return 0;
}

char *lt_edxml_base64_encode(const uint8_t *data, size_t size, size_t *length_p)
{
    if (size > (SIZE_MAX / 4 - 1) * 3)
        return NULL;
    size_t length = (size + 2) / 3 * 4;
    char *text = malloc(length + 1);
    if (!text)
        return NULL;
    size_t at = 0;
    for (size_t done = 0; done < size;) {
        size_t chunk = size - done < S_B64_CHUNK ? size - done : S_B64_CHUNK;
        int n = EVP_EncodeBlock((unsigned char *) text + at, data + done, (int) chunk);
        at += (size_t) n;
        done += chunk;
    }
    text[at] = 0;
    if (length_p)
        *length_p = at;
    return text;
}

bool lt_edxml_is_zip(const uint8_t *data, size_t size)
{
    return size >= 4 && memcmp(data, "PK\x03\x04", 4) == 0;
}

int lt_edxml_unzip(const uint8_t *data, size_t size, size_t max, uint8_t **out_p,
                   size_t *out_size_p, char *entry_name, size_t entry_name_size,
                   char *detail, size_t detail_size)
{
    zip_error_t zerr;
    zip_error_init(&zerr);
    zip_source_t *src = zip_source_buffer_create(data, size, 0, &zerr);
    zip_t *za = src ? zip_open_from_source(src, ZIP_RDONLY, &zerr) : NULL;
    if (!za) {
        if (detail)
            snprintf(detail, detail_size, "%s", zip_error_strerror(&zerr));
        zip_source_free(src);
        zip_error_fini(&zerr);
        return -1;
    }
    zip_error_fini(&zerr);
    int rc = 0;
    uint8_t *out = NULL;
    size_t used = 0;
    zip_file_t *file = NULL;
    zip_stat_t st;
    zip_stat_init(&st);
    //  An SDK wrapper holds exactly one regular file.
    if (zip_get_num_entries(za, 0) != 1 || zip_stat_index(za, 0, 0, &st) < 0
        || !(st.valid & ZIP_STAT_NAME) || st.name[0] == 0 || st.name[strlen(st.name) - 1] == '/')
        rc = 1;
    else if ((st.valid & ZIP_STAT_SIZE) && st.size > max)
        rc = -2;
    else if (!(file = zip_fopen_index(za, 0, 0))) {
        if (detail)
            snprintf(detail, detail_size, "%s", zip_strerror(za));
        rc = -1;
    }
    if (rc == 0) {
        //  The declared size is only a hint: read until the end, never past max.
        size_t alloc = ((st.valid & ZIP_STAT_SIZE) ? (size_t) st.size : 65536) + 1;
        out = malloc(alloc);
        if (!out)
            rc = -3;
        while (rc == 0) {
            if (used == alloc) {
                size_t grow = alloc * 2 > max + 1 ? max + 1 : alloc * 2;
                uint8_t *bigger = grow > alloc ? realloc(out, grow) : NULL;
                if (!bigger) {
                    rc = grow > alloc ? -3 : -2;
                    break;
                }
                out = bigger;
                alloc = grow;
            }
            zip_int64_t n = zip_fread(file, out + used, alloc - used);
            if (n < 0) {
                if (detail)
                    snprintf(detail, detail_size, "%s", zip_file_strerror(file));
                rc = -1;
            }
            else if (n == 0)
                break;
            else {
                used += (size_t) n;
                if (used > max)
                    rc = -2;
            }
        }
    }
    if (rc == 0 && entry_name && entry_name_size)
        snprintf(entry_name, entry_name_size, "%s", st.name);
    if (file)
        zip_fclose(file);
    zip_discard(za);
    if (rc) {
        free(out);
        return rc;
    }
    *out_p = out;
    *out_size_p = used;
    return 0;
}

const char *lt_edxml_zip_entry_name(const char *name)
{
    size_t length = name ? strlen(name) : 0;
    if (length == 0 || length > S_MAX_ENTRY_NAME || name[length - 1] == '/')
        return "file";
    return name;
}

int lt_edxml_zip(const char *name, const uint8_t *data, size_t size, uint8_t **out_p,
                 size_t *out_size_p)
{
    static const uint8_t s_nothing[1];
    zip_error_t zerr;
    zip_error_init(&zerr);
    zip_source_t *src = zip_source_buffer_create(NULL, 0, 0, &zerr);
    zip_t *za = src ? zip_open_from_source(src, ZIP_TRUNCATE, &zerr) : NULL;
    zip_error_fini(&zerr);
    if (!za) {
        zip_source_free(src);
        return -1;
    }
    //  Keep the buffer source alive past zip_close() to read the archive.
    zip_source_keep(src);
    zip_source_t *file = zip_source_buffer(za, size ? data : s_nothing, size, 0);
    zip_int64_t index = file ? zip_file_add(za, lt_edxml_zip_entry_name(name), file,
                                            ZIP_FL_ENC_UTF_8)
                             : -1;
    //  Level 1: attachments are mostly PDFs whose streams are compressed
    //  already; a higher level spends more time for little gain.
    if (index < 0 || zip_set_file_compression(za, (zip_uint64_t) index, ZIP_CM_DEFLATE, 1) < 0) {
        if (index < 0)
            zip_source_free(file);
        zip_discard(za);
        zip_source_free(src);
        return -1;
    }
    if (zip_close(za) < 0) {
        zip_discard(za);
        zip_source_free(src);
        return -1;
    }
    int rc = -1;
    zip_stat_t st;
    zip_stat_init(&st);
    uint8_t *out = NULL;
    if (zip_source_stat(src, &st) == 0 && (st.valid & ZIP_STAT_SIZE) && zip_source_open(src) == 0) {
        out = malloc(st.size ? st.size : 1);
        if (out && zip_source_read(src, out, st.size) == (zip_int64_t) st.size)
            rc = 0;
        zip_source_close(src);
    }
    zip_source_free(src);
    if (rc) {
        free(out);
        return -1;
    }
    *out_p = out;
    *out_size_p = (size_t) st.size;
    return 0;
}
