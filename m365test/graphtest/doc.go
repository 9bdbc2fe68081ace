// Package graphtest builds msgraph-sdk-go clients that talk to a fake
// cloud from package m365test, the way production code builds them: the
// default Graph middleware (retry, redirect, compression, telemetry) runs
// on top of a transport that trusts the fake's certificate.
//
// It lives apart from m365test so that tests which do not use
// msgraph-sdk-go do not pay for compiling it.
package graphtest
