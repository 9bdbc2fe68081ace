// Package teststyle holds the repository's check of its one assertion
// style: tests assert with testify (require for what the rest of a test
// depends on, assert for independent checks), never with the testing
// package's Error, Errorf, Fatal and Fatalf. The check is a test, so the
// README's test command and CI both run it.
package teststyle
