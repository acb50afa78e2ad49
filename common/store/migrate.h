/* migrate.h -- applies schema/<service>/NNN_*.sql and schema/common/NNN_*.sql
 * in order at start-up. */
#ifndef MIGRATE_H
#define MIGRATE_H

#include <libpq-fe.h>

/* The migrations both platforms share (the event tables): a directory
 * beside each platform's, schema/common beside schema/grid. */
#define MIGRATE_COMMON "common"

/* Applies every file of dir and of the common directory beside it not yet
 * recorded in schema_migrations, in the order of their names, each in its
 * own transaction, under an advisory lock so that instances starting at
 * once take turns. A file is recorded by its name alone, wherever it is
 * read from. Returns OK, or ERR after logging why. */
int migrate_apply(PGconn *pg, const char *dir, const char *service);

#endif
