/*  lthub: the operator's command line.

    One table of subcommands; each lives in its own file (lthub_*.c) and
    speaks to lthubd over its admin HTTP API, or works offline (keygen,
    edxml). Human tables by default, --json for machines.
*/
#include "lthub_cli.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    const char *name;                    //  subcommand
    int (*run)(int argc, char **argv);   //  its main
    const char *summary;                 //  one line for --help
} s_command_t;

static const s_command_t s_commands[] = {
    {"status", lthub_status_main, "broker and connector counters, queues, failures"},
    {"top", lthub_top_main, "live per connector rates, queues, dead letters, alerts"},
    {"alerts", lthub_alerts_main, "active alerts (exit 3 while any is active)"},
    {"dead", lthub_dead_cmd_main, "dead letters: list (and what waits behind them), show, replay, discard"},
    {"rejects", lthub_rejects_main, "list rejected inputs; publish one again"},
    {"replay", lthub_replay_main, "put a dead letter back in its queue (= dead replay)"},
    {"trace", lthub_trace_cmd_main, "every delivery of a message id or business key"},
    {"ledger", lthub_ledger_main, "verify the counting ledger's hash chain (store file)"},
    {"indicators", lthub_indicators_main, "criterion 7.1 indicators of a period, per agency"},
    {"evidence", lthub_evidence_main, "the items behind one indicator: CSV + manifest"},
    {"check-config", lthub_check_config_main, "check a config file offline"},
    {"report", lthub_report_main, "build a report now and have lthubd send it (report submit)"},
    {"keygen", lthub_keygen_main, "create the broker's and connectors' CURVE certificates"},
    {"backup", lthub_backup_main, "copy store, data, keys and config while the hub runs"},
    {"restore", lthub_restore_main, "put a backup back in place (hub stopped)"},
#ifdef LTHUB_HAVE_EDXML
    {"edxml", lthub_edxml_main, "inspect or validate an edXML package"},
#endif
};

#define S_COMMANDS (sizeof(s_commands) / sizeof(s_commands[0]))

static void s_usage(FILE *out)
{
    fprintf(out, "usage: lthub COMMAND [options]   (lthub COMMAND --help for more)\n\n");
    for (size_t i = 0; i < S_COMMANDS; i++)
        fprintf(out, "  %-12s %s\n", s_commands[i].name, s_commands[i].summary);
    fprintf(out, "\nCommands that ask lthubd take --admin ADDRESS:PORT (default 127.0.0.1:8470\n"
                 "or $LTHUB_ADMIN), --token-file FILE for changes (or $LTHUB_TOKEN_FILE) and\n"
                 "--json (a JSON document instead of a table).\n\n"
                 "Exit codes: 0 done; 1 failed (lthubd unreachable, request refused, not found,\n"
                 "invalid config, I/O error); 2 wrong arguments; 3 alerts are active (lthub\n"
                 "alerts).\n");
}

int main(int argc, char *argv[])
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        s_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("lthub %s\n", LT_VERSION);
        return 0;
    }
    for (size_t i = 0; i < S_COMMANDS; i++)
        if (strcmp(argv[1], s_commands[i].name) == 0)
            return s_commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "lthub: unknown command '%s'\n", argv[1]);
    s_usage(stderr);
    return 2;
}
