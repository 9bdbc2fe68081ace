// Package cursor encodes the page cursors of tenantgate's listings (the
// audit trail, events, webhook deliveries): opaque to clients, and
// checked when they come back.
//
// A cursor holds its listing's kind, a digest of the query's filters and
// the position of the last item served, followed by a keyed checksum. A
// cursor that was edited, truncated, made for another listing or for the
// same listing with other filters fails Decode with ErrInvalid, which an
// API answers as a 400. The checksum's key is built into the code: it
// detects damage and mix-ups, not a deliberate forgery by someone who
// read this source, and it needs none: a cursor only says where a page
// starts, every page is authorized and filtered like the first, so a
// forged one reaches nothing its holder could not list anyway.
package cursor
