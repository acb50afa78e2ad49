/* catalogue_check.h -- the declarations held to the registry, the policy and
 * the database, at start-up and in the unit tests.
 *
 * A collection is its declaration (collections.c), its migration
 * (schema/<platform>/) and its policy line (config/policy.json); its prefix
 * is in the registry (bizcode.c). These checks find the one of them that is
 * missing or disagrees, and say which, before the daemon serves anything. */
#ifndef CATALOGUE_CHECK_H
#define CATALOGUE_CHECK_H

#include <libpq-fe.h>
#include <stddef.h>

#include "model/catalogue.h"
#include "model/policy.h"

/* Postgres truncates longer identifiers, so two long names could meet. */
#define SQL_NAME_MAX 63

/* The declarations of def (its own; the peer checks its own) on their own
 * and against the registry: every name that goes into SQL is a plain
 * lower-case identifier of at most SQL_NAME_MAX bytes, each prefix and
 * relation kind is the registry's and owned by def's service (and every
 * type and kind the registry gives that service is declared), codes name
 * known types, defaults are among their values. With pol (may be NULL):
 * every collection and relation kind of def has a rule, and every rule's
 * target (and its "when") names something declared by def or its peer.
 * Writes the problems to err ("; " between them, as many as fit) and
 * returns how many there are: 0 when none. */
int catalogue_check(const service_def *def, const policy *pol, char *err, size_t errlen);

/* After the migrations: every declared table and column exists (one query
 * of information_schema), and every collection and relation table is in
 * the platform's publication to the datahub (<platform>_datahub, created by
 * its *_publication.sql migration): a table declared later is added to it
 * here. Logs what is wrong; OK or ERR. */
int catalogue_check_database(PGconn *pg, const service_def *def);

/* The first half of catalogue_check_database, for the tests: the tables and
 * columns missing, written to err as by catalogue_check; -1 when the query
 * fails. */
int catalogue_missing_columns(PGconn *pg, const service_def *def, char *err, size_t errlen);

#endif
