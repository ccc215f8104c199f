/*  lthub-sim: simulators of the systems around the hub, with fault
    injection, for the tests and the sandbox (DESIGN.md section 2).

    `lthub-sim MODE [options]` runs one mode; the table below lists them.
    Adding a simulator is one source file with a sim_<mode>_main(), one line
    in this table and one in CMakeLists.txt. Servers print
    "lthub-sim MODE listening on ADDR:PORT" on stdout once they accept
    connections, and stop cleanly on SIGINT or SIGTERM.
*/
#include "sim.h"

#include <stdio.h>
#include <string.h>

//  One mode of the program.
typedef struct {
    const char *name;                        //  first argument
    int (*main)(int argc, char *argv[]);     //  its entry point, given argv from the mode on
    const char *summary;                     //  one line for --help
} s_mode_t;

static const s_mode_t s_modes[] = {
    {.name = "axis", .main = sim_axis_main, .summary = "national document axis server (edoc API)"},
    {.name = "axis-send",
     .main = sim_axis_send_main,
     .summary = "send one .edxml package to an edoc API server"},
    {.name = "axis-call",
     .main = sim_axis_call_main,
     .summary = "call any edoc API operation with signed headers"},
    {.name = "dms",
     .main = sim_dms_main,
     .summary = "DMS client: a seeded mix of documents, statuses, paper lines; polls its mailbox"},
    {.name = "portal",
     .main = sim_portal_main,
     .summary = "DVCQG dossier adapter server (sessions, -3, faults)"},
    {.name = "onestop",
     .main = sim_onestop_main,
     .summary = "one-stop client: a seeded mix of dossiers, progress steps and updates"},
    {.name = "report", .main = sim_report_main, .summary = "reporting system server (reports API)"},
    {.name = "report-gen",
     .main = sim_report_gen_main,
     .summary = "publishes seeded indicator reports into a hub (a connector)"},
};

//  Print the list of modes.
static void s_usage(FILE *out)
{
    fprintf(out, "usage: lthub-sim MODE [options]   (lthub-sim MODE --help for its options)\n");
    for (size_t i = 0; i < sizeof(s_modes) / sizeof(s_modes[0]); i++)
        fprintf(out, "  %-12s %s\n", s_modes[i].name, s_modes[i].summary);
}

int main(int argc, char *argv[])
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        s_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("lthub-sim %s\n", LT_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof(s_modes) / sizeof(s_modes[0]); i++)
        if (strcmp(argv[1], s_modes[i].name) == 0)
            return s_modes[i].main(argc - 1, argv + 1);
    fprintf(stderr, "lthub-sim: unknown mode '%s'\n", argv[1]);
    s_usage(stderr);
    return 2;
}
