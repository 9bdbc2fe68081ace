package filter

// User gives the matcher a user's Microsoft Graph properties. Value is called
// with Graph property names as Plan.Select lists them (e.g. "usageLocation")
// and returns the zero Value for a property that is null or missing.
//
// The sync engine implements it on its decoded user struct with a switch on
// the name, which costs no allocation; MapUser serves a map decoded from JSON.
// Graph never returns empty strings, so an implementation that decodes into
// plain string fields (null becoming "") should return the zero Value for "".
type User interface {
	Value(graphProperty string) Value
}

// Kind is the kind of a Value.
type Kind uint8

// The value kinds.
const (
	KindNull   Kind = iota // null or missing (the zero Value)
	KindString             // Str holds the value
	KindBool               // Bool holds the value
	KindList               // List holds the values (a nil or empty List is an empty collection)
)

// Value is one property value of a user.
type Value struct {
	Kind Kind
	Str  string
	Bool bool
	List []string
}

// StringValue returns a string Value.
func StringValue(s string) Value { return Value{Kind: KindString, Str: s} }

// BoolValue returns a boolean Value.
func BoolValue(b bool) Value { return Value{Kind: KindBool, Bool: b} }

// ListValue returns a collection Value.
func ListValue(l []string) Value { return Value{Kind: KindList, List: l} }

// UserFunc adapts a function to the User interface.
type UserFunc func(graphProperty string) Value

// Value implements User.
func (f UserFunc) Value(p string) Value { return f(p) }

// MapUser is a User backed by a map from Graph property name to value, such
// as encoding/json produces for a Graph user object: string, bool, nil,
// []any of strings, or []string.
type MapUser map[string]any

// Value implements User. Values of other types read as null. A []any is
// converted on every call, which allocates: on the sync's hot path,
// implement User on a decoded struct instead.
func (m MapUser) Value(p string) Value {
	switch v := m[p].(type) {
	case string:
		return StringValue(v)
	case bool:
		return BoolValue(v)
	case []string:
		return ListValue(v)
	case []any:
		l := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				l = append(l, s)
			}
		}
		return ListValue(l)
	}
	return Value{}
}
