/*  lthub_cli: subcommands of the `lthub` operator CLI. Each takes argv with
    argv[0] = the subcommand's name and returns the exit code (0 ok, 1
    failure, 2 usage). broker/lthub.c dispatches to them from one table. */
#ifndef LTHUB_CLI_H_INCLUDED
#define LTHUB_CLI_H_INCLUDED

//  lthub keygen --dir DIR [--broker] [NAME...]
int lthub_keygen_main(int argc, char **argv);

//  lthub status|dead|replay|trace ... (over the admin HTTP API)
int lthub_status_main(int argc, char **argv);
int lthub_dead_main(int argc, char **argv);
int lthub_replay_main(int argc, char **argv);
int lthub_trace_main(int argc, char **argv);

//  lthub_counting.c: the ledger, indicators and evidence (read the store file).
int lthub_ledger_main(int argc, char **argv);
int lthub_indicators_main(int argc, char **argv);
int lthub_evidence_main(int argc, char **argv);
int lthub_report_main(int argc, char **argv);

//  lthub edxml inspect|validate ...
int lthub_edxml_main(int argc, char **argv);

#endif
