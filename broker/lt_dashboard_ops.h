/*  lt_dashboard_ops: the dashboard's throughput chart, alerts and dead
    letters: the HTML placed in the page (LT_DASHBOARD_OPS_SECTION) and its
    script, served by the admin HTTP server at /ops.js. */
#ifndef LT_DASHBOARD_OPS_H_INCLUDED
#define LT_DASHBOARD_OPS_H_INCLUDED

//  HTML inserted in the page after the connector table.
#define LT_DASHBOARD_OPS_SECTION                                                                  \
    "<style>h2{font-size:1.05em;margin:1.4em 0 .5em}#chart{background:#fff;"                      \
    "box-shadow:0 1px 2px #0002;max-width:100%}.lg{margin-right:1.2em;font-weight:600}"           \
    "#alerts{padding-left:1.2em}</style>\n"                                                       \
    "<div class=\"cards\"><div class=\"card\">alerts<b id=\"nalerts\">&ndash;</b></div></div>\n" \
    "<h2>Throughput per connector</h2>\n"                                                         \
    "<canvas id=\"chart\" width=\"900\" height=\"220\"></canvas>\n"                             \
    "<div id=\"legend\"></div>\n"                                                                 \
    "<h2>Alerts</h2>\n<ul id=\"alerts\"></ul>\n"                                                  \
    "<h2>Dead letters (newest 20)</h2>\n"                                                         \
    "<table id=\"deadletters\"><thead><tr><th>delivery</th><th>to</th><th>kind</th>"             \
    "<th>key</th><th>from</th><th>attempts</th><th>last reason</th></tr></thead>"                \
    "<tbody></tbody></table>\n<p id=\"nodead\">none</p>\n"                                        \
    "<pre id=\"snapshot\" hidden></pre>\n"                                                        \
    "<script src=\"ops.js\"></script>\n"

//  The script (plain JavaScript), NUL-terminated.
extern const char lt_dashboard_ops_js[];

#endif
