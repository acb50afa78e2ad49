/* waits.c -- see waits.h. */
#include "base/waits.h"

#include <stdio.h>

#include "base/core.h"
#include "base/log.h"

static __thread int peer_allowed;
static __thread int db_held;

void waits_allow_peer(int yes)
{
    peer_allowed = yes;
}

void waits_db_acquired(void)
{
    db_held++;
}

void waits_db_released(void)
{
    db_held--;
}

int waits_db_held(void)
{
    return db_held;
}

int waits_peer_check(char *buf, size_t len)
{
    if (!peer_allowed)
        snprintf(buf, len, "internal error: a call to the peer from a thread that may not wait "
                           "on it (an I/O thread or a local worker)");
    else if (db_held > 0)
        snprintf(buf, len, "internal error: a call to the peer while holding %d database "
                           "connection%s", db_held, db_held > 1 ? "s" : "");
    else
        return OK;
    log_error("%s", buf);
    return ERR;
}
