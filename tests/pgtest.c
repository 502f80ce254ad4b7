/* pgtest.c — a fresh schema of the test cluster per call (see pgtest.h). */
#include "pgtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

char *tgt_pg_store(char *why, size_t n)
{
    const char *base = getenv("TG_PG");
    if (!base || !*base) {
        const char *e = getenv("TG_PG_ERROR");
        snprintf(why, n, "no PostgreSQL for the tests: %s",
                 e && *e ? e
                         : "TG_PG is not set (run the tests through scripts/pg-test, as make "
                           "test does)");
        return NULL;
    }
    static int counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char schema[64];
    snprintf(schema, sizeof(schema), "t_%d_%d_%ld", (int)getpid(), ++counter,
             (long)(ts.tv_nsec / 1000));
    PGconn *c = PQconnectdb(base);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        snprintf(why, n, "cannot connect to the test cluster: %s",
                 c ? PQerrorMessage(c) : "out of memory");
        PQfinish(c);
        return NULL;
    }
    char sql[128];
    snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", schema);
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        snprintf(why, n, "cannot create a schema: %s", PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    if (!ok)
        return NULL;
    size_t len = strlen(base) + strlen(schema) + 64;
    char *spec = malloc(len);
    if (spec)
        snprintf(spec, len, "%s%coptions=-csearch_path%%3D%s", base, strchr(base, '?') ? '&' : '?',
                 schema);
    return spec;
}
