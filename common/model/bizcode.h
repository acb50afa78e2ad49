/* bizcode.h -- business codes (DESIGN §3) and the registry of object types.
 *
 * A code is PREFIX "-" BODY CHECK: two letters naming the type, 26 Crockford
 * base32 symbols holding a 128-bit time-ordered value, one Luhn mod 32 check
 * symbol. The prefix tells the type and so the platform that owns it. */
#ifndef BIZCODE_H
#define BIZCODE_H

#include <stdint.h>

#define BIZCODE_BODY_LEN 26
#define BIZCODE_LEN 30 /* "SS" "-" 26 body symbols, 1 check symbol */

typedef enum {
    BIZ_OK = 0,
    BIZ_BAD_LENGTH,   /* not 30 characters */
    BIZ_BAD_PREFIX,   /* prefix not two letters, or no '-' after it */
    BIZ_UNKNOWN_TYPE, /* well-formed prefix that names no object type */
    BIZ_BAD_SYMBOL,   /* a body or check character outside Crockford base32 */
    BIZ_OVERFLOW,     /* first body symbol above 7: more than 128 bits */
    BIZ_BAD_CHECK     /* check symbol does not match the body */
} biz_status;

typedef enum { SVC_GRID = 0, SVC_CUST = 1 } service_id;

/* One object type of DESIGN §2. */
typedef struct biz_type {
    const char *prefix;     /* "TR" */
    const char *type;       /* "transformer" */
    const char *collection; /* "transformers", as in /v1/transformers */
    const char *zh;         /* "变压器" */
    service_id owner;
} biz_type;

/* One relation kind of DESIGN §2, with its owner. */
typedef struct biz_relation {
    const char *kind; /* "substation-line" */
    service_id owner;
} biz_relation;

/* Sets of types are kept as bits (trace.c), so there are at most this many. */
#define BIZ_TYPES_MAX 64
extern const biz_type biz_types[];
extern const int biz_ntypes;
extern const biz_relation biz_relations[];
extern const int biz_nrelations;

const char *service_name(service_id id); /* "grid-svc" or "cust-svc" */

/* Look-ups; prefix is matched case-insensitively; NULL when unknown. */
const biz_type *biz_type_by_prefix(const char *prefix);
const biz_type *biz_type_by_collection(const char *collection);
const biz_relation *biz_relation_by_kind(const char *kind);

/* Mints a new code of the given (known, upper-case) prefix into out. */
void bizcode_mint(const char *prefix, char out[BIZCODE_LEN + 1]);

/* Formats a 128-bit big-endian value as a code. */
void bizcode_format(const char *prefix, const uint8_t value[16], char out[BIZCODE_LEN + 1]);

/* Parses input (case-insensitive, Crockford decoding: I/L -> 1, O -> 0).
 * On BIZ_OK writes the canonical upper-case code to canon (if not NULL) and
 * the value to value (if not NULL). */
biz_status bizcode_parse(const char *in, char canon[BIZCODE_LEN + 1], uint8_t value[16]);

/* The check symbol for 26 canonical body symbols. */
char bizcode_check_symbol(const char body[BIZCODE_BODY_LEN]);

/* A short English message for a status ("wrong check symbol", ...). */
const char *bizcode_strerror(biz_status st);

/* Milliseconds since the Unix epoch held in a code's first 48 bits. */
uint64_t bizcode_millis(const uint8_t value[16]);

#endif
