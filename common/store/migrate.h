/* migrate.h -- applies schema/<service>/NNN_*.sql in order at start-up. */
#ifndef MIGRATE_H
#define MIGRATE_H

#include <libpq-fe.h>

/* Applies every file of dir not yet recorded in schema_migrations, each in
 * its own transaction, under an advisory lock so that instances starting at
 * once take turns. Returns OK, or ERR after logging why. */
int migrate_apply(PGconn *pg, const char *dir, const char *service);

#endif
