package usersync

import (
	"fmt"
	"net/http"
)

// batchPart is one response of a JSON $batch answer. Its body is a slice
// of the answer's bytes, decoded in place by the page decoders (no copy,
// no json.RawMessage validation pass).
type batchPart struct {
	id     string
	status int
	header http.Header
	body   []byte // the "body" value as sent (a JSON object for Graph's JSON answers), nil when absent
}

var (
	batchKeys     = []string{"responses"}
	batchPartKeys = []string{"id", "status", "headers", "body"}
)

// decodeBatch decodes a $batch answer ({"responses": [{"id", "status",
// "headers", "body"}, ...]}, in any order) with the page tokenizer,
// validating the whole answer as JSON.
func (d *pageDecoder) decodeBatch(data []byte, parts []batchPart) ([]batchPart, error) {
	d.data, d.pos = data, 0
	defer func() { d.data = nil }()
	parts = parts[:0]
	seen := false
	d.skipSpace()
	err := d.object(func(key []byte) error {
		if keyIndex(key, batchKeys) != 0 {
			return d.skipValue(0)
		}
		seen = true
		return d.array(func() error {
			var p batchPart
			if err := d.object(func(key []byte) error {
				switch keyIndex(key, batchPartKeys) {
				case 0:
					var err error
					p.id, err = d.str(p.id, false)
					return err
				case 1:
					n := int64(p.status)
					if err := d.count(&n); err != nil {
						return err
					}
					p.status = int(n)
					return nil
				case 2:
					return d.object(func(key []byte) error {
						name := http.CanonicalHeaderKey(string(key))
						d.skipSpace()
						if d.literal("null") {
							return nil
						}
						v, err := d.str("", false)
						if err != nil {
							return err
						}
						if p.header == nil {
							p.header = http.Header{}
						}
						p.header.Set(name, v)
						return nil
					})
				case 3:
					d.skipSpace()
					if d.literal("null") {
						p.body = nil
						return nil
					}
					start := d.pos
					if err := d.skipValue(0); err != nil {
						return err
					}
					p.body = d.data[start:d.pos]
					return nil
				}
				return d.skipValue(0)
			}); err != nil {
				return err
			}
			parts = append(parts, p)
			return nil
		}, "\"responses\"")
	})
	if err != nil {
		return nil, err
	}
	if !seen {
		return nil, fmt.Errorf("%w: a $batch answer without \"responses\"", errNotCollection)
	}
	return parts, d.end()
}
