package directory

import (
	"fmt"
	"strings"
	"time"
)

// Creation times of the demo data. The Global Admin was created first,
// generated user i one second after user i-1, starting a day later: 100,000
// users span 28 hours, all before the Teams configurations and license
// assignments of the demo (2024-01-15), and ascending createdDateTime is
// listing order.
var (
	// AdminCreated is the Global Admin's createdDateTime.
	AdminCreated = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	// FirstCreated is generated user 0's createdDateTime.
	FirstCreated = time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)
)

// GeneratedCreated is generated user i's createdDateTime: FirstCreated
// plus i seconds.
func GeneratedCreated(i int) time.Time { return FirstCreated.Add(time.Duration(i) * time.Second) }

// SetClock makes now the time users added from then on were created
// (their createdDateTime), never before the previous user's: a clock
// behind the demo data's times gives each added user the previous one's
// time plus a second. Without a clock every added user is stamped that
// way. Call it right after [New].
func (d *Directory) SetClock(now func() time.Time) { d.clock = now }

// nextCreated returns the createdDateTime of a user added now to the
// overlay o, and records it there.
func (d *Directory) nextCreated(o *overlay) time.Time {
	last := o.lastCreated
	if last.IsZero() {
		last = AdminCreated
		if d.n > 0 {
			last = GeneratedCreated(d.n - 1)
		}
	}
	t := last.Add(time.Second)
	if d.clock != nil {
		if now := d.clock().UTC().Truncate(time.Second); now.After(last) {
			t = now
		}
	}
	o.lastCreated = t
	return t
}

// appendDateTime appends t as Graph writes an Edm.DateTimeOffset
// ("2024-01-02T00:00:00Z"), or null for the zero time.
func appendDateTime(dst []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(dst, "null"...)
	}
	dst = append(dst, '"')
	dst = t.UTC().AppendFormat(dst, time.RFC3339)
	return append(dst, '"')
}

// Declared properties the directory fills in itself.
var (
	pCreatedDateTime, _ = lookupDeclared("createdDateTime")
	pIdentities, _      = lookupDeclared("identities")
)

// createdAt is the evaluator's createdDateTime of a generated user.
func (g *gen) createdAt() time.Time { return GeneratedCreated(g.i) }

// createdAt is u's createdDateTime.
func (u *User) createdAt() time.Time { return u.CreatedDateTime }

// dateOp is a comparison on createdDateTime.
type dateOp uint8

const (
	dateEq dateOp = iota
	dateNe
	dateGe
	dateLe
	dateIn
)

// dateNode is `createdDateTime op value` (or `in (values)`).
type dateNode struct {
	op  dateOp
	ts  []time.Time
	raw []string // the literals as written, for printing
}

func (n *dateNode) eval(r record, _ string) bool {
	c := r.createdAt()
	if c.IsZero() {
		return n.op == dateNe
	}
	switch n.op {
	case dateGe:
		return !c.Before(n.ts[0])
	case dateLe:
		return !c.After(n.ts[0])
	case dateNe:
		return !c.Equal(n.ts[0])
	}
	for _, t := range n.ts {
		if c.Equal(t) {
			return true
		}
	}
	return false
}

func (n *dateNode) print(b *strings.Builder, _ int) {
	b.WriteString("createdDateTime ")
	b.WriteString([...]string{"eq", "ne", "ge", "le", "in"}[n.op])
	b.WriteByte(' ')
	if n.op == dateIn {
		b.WriteString("(" + strings.Join(n.raw, ",") + ")")
		return
	}
	b.WriteString(n.raw[0])
}

// parseCreated parses a comparison of createdDateTime; the current token
// is the operator. The filter table of "Advanced query capabilities on
// Microsoft Entra ID objects" lists eq, ge and le by default, ne, not
// and in in advanced queries, no null comparison and no startsWith; gt
// and lt are not listed, so they are refused. The value is an unquoted
// Edm.DateTimeOffset with its time ("2024-01-02T00:00:00Z"): a date
// alone is a type mismatch, as Graph answers it (Microsoft Q&A 499031).
func (p *parser) parseCreated() (node, error) {
	op := p.tok
	var n dateNode
	switch {
	case op.is("eq"):
		n.op = dateEq
	case op.is("ne"):
		n.op = dateNe
	case op.is("ge"):
		n.op = dateGe
	case op.is("le"):
		n.op = dateLe
	case op.is("in"):
		n.op = dateIn
	case op.is("gt"), op.is("lt"):
		return nil, badRequest(CodeUnsupportedQuery, "Unsupported or invalid query filter clause specified for property 'createdDateTime' of resource 'User'.")
	default:
		return nil, p.syntax(op.pos, fmt.Sprintf("expected an operator (eq, ne, ge, le, in) after 'createdDateTime', found %s", op.describe()))
	}
	if n.op == dateIn {
		if err := p.next(); err != nil {
			return nil, err
		}
		if p.tok.kind != tokLParen {
			return nil, p.syntax(p.tok.pos, fmt.Sprintf("expected '(' after 'in', found %s", p.tok.describe()))
		}
	}
	for {
		t, raw, err := p.scanDateTime(op)
		if err != nil {
			return nil, err
		}
		n.ts, n.raw = append(n.ts, t), append(n.raw, raw)
		if err := p.next(); err != nil {
			return nil, err
		}
		if n.op != dateIn || p.tok.kind != tokComma {
			break
		}
	}
	if n.op == dateIn {
		if err := p.expect(tokRParen, "',' or ')' in the 'in' list"); err != nil {
			return nil, err
		}
	}
	return &n, nil
}

// scanDateTime reads the Edm.DateTimeOffset literal after the current
// token straight from the source (the tokenizer splits it at ':').
func (p *parser) scanDateTime(op token) (time.Time, string, error) {
	start := p.off
	for start < len(p.src) && isBlank(p.src[start]) {
		start++
	}
	end := start
	for end < len(p.src) && (isIdentPart(p.src[end]) || strings.IndexByte(":.+-'", p.src[end]) >= 0) {
		end++
	}
	raw := p.src[start:end]
	kind := map[bool]string{true: "NotEqual", false: "Equal"}[op.is("ne")]
	switch {
	case op.is("ge"):
		kind = "GreaterThanOrEqual"
	case op.is("le"):
		kind = "LessThanOrEqual"
	}
	switch {
	case raw == "":
		return time.Time{}, "", p.syntax(start, "expected a date and time")
	case strings.HasPrefix(raw, "'"):
		return time.Time{}, "", mismatch("Edm.DateTimeOffset", "Edm.String", kind)
	case strings.EqualFold(raw, "null"):
		return time.Time{}, "", badRequest(CodeUnsupportedQuery, "Unsupported or invalid query filter clause specified for property 'createdDateTime' of resource 'User'.")
	}
	if _, err := time.Parse(time.DateOnly, raw); err == nil {
		return time.Time{}, "", mismatch("Edm.DateTimeOffset", "Edm.Date", kind)
	}
	t, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		return time.Time{}, "", p.syntax(start, fmt.Sprintf("'%s' is not a valid Edm.DateTimeOffset literal", raw))
	}
	p.off = end
	return t, raw, nil
}
