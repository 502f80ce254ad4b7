/*
 * pgtest.h — the throw-away PostgreSQL cluster of the tests (scripts/pg-test starts
 * it and sets TG_PG to its conninfo). Each call gives a store spec in a fresh schema
 * of its own, so tests never see each other's jobs. When there is no cluster, NULL
 * and the reason in why: the PostgreSQL tests fail with it (never skipped).
 */
#ifndef TG_TESTS_PGTEST_H
#define TG_TESTS_PGTEST_H

#include <stddef.h>

/* A malloc'd "postgresql://…&options=-csearch_path%3D<schema>", or NULL. */
char *tgt_pg_store(char *why, size_t n);

#endif
