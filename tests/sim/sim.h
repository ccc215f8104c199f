/*  lthub-sim: simulators of the systems around the hub (DESIGN.md section 2).

    One program, one mode per simulated system or client helper. Each mode is
    an entry point `sim_<mode>_main(argc, argv)` listed in lthub_sim.c; this
    header declares them and the small helpers the modes share (files,
    base64, listen addresses, number options, signal-driven main loops).
*/
#ifndef SIM_H_INCLUDED
#define SIM_H_INCLUDED

#include "lt_error.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  lthub-sim axis: the national document axis server (spec/peers.md A, D).
int sim_axis_main(int argc, char *argv[]);

//  lthub-sim axis-send: send one package to an edoc API server.
int sim_axis_send_main(int argc, char *argv[]);

//  lthub-sim axis-call: call any edoc API operation with signed headers.
int sim_axis_call_main(int argc, char *argv[]);

//  lthub-sim dms: a DMS client sending a seeded mix and polling its mailbox.
int sim_dms_main(int argc, char *argv[]);

//  lthub-sim portal: DVCQG's dossier adapter server (spec/peers.md B, D).
int sim_portal_main(int argc, char *argv[]);

//  lthub-sim onestop: a one-stop system sending a seeded dossier mix.
int sim_onestop_main(int argc, char *argv[]);
//  lthub-sim report: the reporting system server (spec/peers.md C, D).
int sim_report_main(int argc, char *argv[]);

//  lthub-sim report-gen: publishes seeded indicator reports into a hub.
int sim_report_gen_main(int argc, char *argv[]);

//  Read a whole file of at most max bytes (NUL-terminated); NULL with err filled.
unsigned char *sim_read_file(const char *path, size_t max, size_t *size, lt_err_t *err);

//  Write a file atomically (temporary name, then rename); -1 on failure.
int sim_write_file(const char *path, const void *data, size_t size);

//  Split "ADDR:PORT" or "[V6ADDR]:PORT" into host and port; -1 when malformed.
int sim_parse_listen(const char *text, char *host, size_t host_size, uint16_t *port);

//  Parse a decimal number within [lo, hi]; false when malformed or out of range.
bool sim_parse_double(const char *text, double lo, double hi, double *out);

//  Parse an integer within [lo, hi]; false when malformed or out of range.
bool sim_parse_long(const char *text, long long lo, long long hi, long long *out);

//  Return the base64 text of data (no line breaks); caller frees; NULL on no memory.
char *sim_base64_encode(const void *data, size_t size);

//  Decode base64 text (line breaks allowed); caller frees; NULL when malformed.
unsigned char *sim_base64_decode(const char *text, size_t *size);

//  Block SIGINT and SIGTERM in this thread and the threads it creates later,
//  so that sim_wait_signal() receives them synchronously.
void sim_block_signals(void);

//  Wait up to ms milliseconds for SIGINT or SIGTERM; return the signal or 0.
int sim_wait_signal(int64_t ms);

//  Write time ms (Unix ms) as "yyyy-MM-dd HH:mm:ss" in Vietnam time.
void sim_format_time(int64_t ms, char out[32]);



//  What the axis simulator reads from an edXML package (just enough to route).
typedef struct {
    bool status;          //  a status package (edXML:Status header)
    char *document_id;    //  DocumentId (for a status: of the document reported on)
    char *from;           //  From/OrganId
    char *status_code;    //  StatusCode of a status package, else NULL
    char **to;            //  To/OrganId list (ResponseFor/OrganId for a status)
    size_t to_count;      //  entries in to
} sim_edxml_t;

//  Read the routing facts of a package with libxml2 (no network, no DTD, no
//  entities); -1 with err filled when it is not a usable edXML package.
int sim_edxml_peek(const void *data, size_t size, sim_edxml_t *peek, lt_err_t *err);

//  Free what sim_edxml_peek filled and zero it.
void sim_edxml_clear(sim_edxml_t *peek);
#endif
