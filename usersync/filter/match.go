package filter

import (
	"strings"

	"github.com/tenantgate/tenantgate/usersync/filter/internal/syntax"
)

// node is the compiled form of a filter the matcher evaluates: the parsed
// tree with -not pushed down to the comparisons (PowerShell's logic is
// two-valued, so this keeps the meaning exactly) and nested -and / -or
// flattened.
type node interface {
	eval(u User) bool
	// source renders the node in filter syntax.
	source() string
}

type andNode []node
type orNode []node

// leaf is one comparison. like selects wildcard matching (pat) over
// equality (lit); neg negates the result.
type leaf struct {
	attr *Attribute
	name string // the attribute as written
	like bool
	neg  bool
	lit  syntax.Literal
	pat  *pattern
}

func (n andNode) eval(u User) bool {
	for _, c := range n {
		if !c.eval(u) {
			return false
		}
	}
	return true
}

func (n orNode) eval(u User) bool {
	for _, c := range n {
		if c.eval(u) {
			return true
		}
	}
	return false
}

func (n andNode) source() string { return joinSource(n, " -and ") }
func (n orNode) source() string  { return joinSource(n, " -or ") }

func joinSource(kids []node, sep string) string {
	parts := make([]string, len(kids))
	for i, c := range kids {
		parts[i] = c.source()
		if _, ok := c.(*leaf); !ok {
			parts[i] = "(" + parts[i] + ")"
		}
	}
	return strings.Join(parts, sep)
}

func (l *leaf) source() string {
	op := syntax.OpEq
	switch {
	case l.attr.Type == TypeList && l.like && l.neg:
		return "-not (" + l.name + " -like " + l.lit.String() + ")"
	case l.attr.Type == TypeList && l.lit.Kind == syntax.LitString:
		op = syntax.OpContains
	case l.like:
		op = syntax.OpLike
	}
	if l.neg {
		op++ // each negated operator follows its positive one
	}
	return l.name + " " + op.String() + " " + l.lit.String()
}

func (l *leaf) eval(u User) bool {
	return l.test(u.Value(l.attr.Graph)) != l.neg
}

// test evaluates the comparison without negation, with PowerShell's
// semantics: case-insensitive, and a null string compared as "" by -like.
func (l *leaf) test(v Value) bool {
	switch l.attr.Type {
	case TypeList:
		list := v.List
		switch v.Kind {
		case KindString:
			list = []string{v.Str}
		case KindList:
		default:
			list = nil
		}
		if l.lit.Kind == syntax.LitNull {
			return len(list) == 0
		}
		for _, s := range list {
			if l.like && l.pat.match(s) || !l.like && strings.EqualFold(s, l.lit.Str) {
				return true
			}
		}
		return false
	case TypeBool:
		isBool, b := v.Kind == KindBool, v.Bool
		if v.Kind == KindString {
			isBool, b = strings.EqualFold(v.Str, "true") || strings.EqualFold(v.Str, "false"), strings.EqualFold(v.Str, "true")
		}
		switch l.lit.Kind {
		case syntax.LitNull:
			return !isBool
		case syntax.LitTrue:
			return isBool && b
		default:
			return isBool && !b
		}
	}
	s, isNull := v.Str, false
	switch v.Kind {
	case KindNull:
		isNull = true
	case KindBool:
		s = "False"
		if v.Bool {
			s = "True"
		}
	case KindList:
		// PowerShell joins a collection with spaces in a string context.
		s, isNull = strings.Join(v.List, " "), len(v.List) == 0
	}
	if l.like {
		return l.pat.match(s)
	}
	if l.lit.Kind == syntax.LitNull {
		return isNull
	}
	return !isNull && strings.EqualFold(s, l.lit.Str)
}
