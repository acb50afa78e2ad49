/* paging.h -- the page sizes every list answers with: one bound for all, and
 * the default each kind of list gives when the client names none. */
#ifndef PAGING_H
#define PAGING_H

/* No page holds more: ?limit= above it is refused, as is a ?code= filter
 * naming more codes. */
#define PAGE_LIMIT_MAX 1000
/* Objects, links and history: read by people and by programs alike. */
#define PAGE_LIMIT_DEFAULT 50
/* Event feeds and reports: read by programs that take them in bulk. */
#define PAGE_LIMIT_DEFAULT_FEED 100

#endif
