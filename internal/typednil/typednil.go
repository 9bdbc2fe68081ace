// Package typednil tells an interface holding a nil pointer (a typed nil)
// from a set one. Use it only for optional configuration fields that hosts
// fill from a pointer that may be nil (an optional service left unset);
// required fields compare with nil plainly.
package typednil

import "reflect"

// Is reports whether v is nil or an interface holding a nil pointer, map,
// slice, func or channel.
func Is(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface:
		return rv.IsNil()
	}
	return false
}
