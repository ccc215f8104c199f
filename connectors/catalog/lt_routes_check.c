/*  lt-routes-check: checks connectors' default routes files when the hub
    is built (cmake/LtConnector.cmake runs it on every connectors/NAME/
    routes.txt before ltcatalog embeds them), so that a malformed file
    stops the build with FILE:LINE and what is wrong.

        lt-routes-check FILE...     exit 0 when every file parses, else 1
*/
#include "lt_routes.h"

#include <stdio.h>

int main(int argc, char *argv[])
{
    if (argc < 2) {
        fprintf(stderr, "usage: lt-routes-check FILE...\n");
        return 2;
    }
    int failed = 0;
    for (int i = 1; i < argc; i++) {
        lt_err_t err = {0};
        lt_routes_t *routes = lt_routes_load(argv[i], &err);
        if (!routes) {
            fprintf(stderr, "%s\n", err.detail);
            failed = 1;
        }
        lt_routes_destroy(&routes);
    }
    return failed;
}
