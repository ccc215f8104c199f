/*  lt_dashboard: the operator's page served at "/" by lthubd's admin HTTP
    server: live throughput, queue depth and failures per connector, read
    from /api/v1/stats every second by the page itself. */
#ifndef LT_DASHBOARD_H_INCLUDED
#define LT_DASHBOARD_H_INCLUDED

//  The page (HTML with its style inline), NUL-terminated.
extern const char lt_dashboard_html[];

//  The page's script, served as /app.js (no inline script: the page's
//  Content-Security-Policy allows script from the server only).
extern const char lt_dashboard_js[];

#endif
