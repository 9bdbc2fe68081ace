// Package syntax is the parser of the user sync filter language (package
// usersync/filter): the lexer, the syntax tree and its rendering back to
// filter text. It checks syntax only; package filter resolves attributes and
// compiles the tree. It is internal so that the tree can change without
// changing tenantgate's API: callers compile filters with filter.Compile.
package syntax
