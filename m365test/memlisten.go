package m365test

import (
	"context"
	"errors"
	"net"
	"sync"
)

// Addresses of the in-memory listeners (Options.InMemory). The names are
// under .invalid, which never resolves: a client without the fake's
// transport fails at once instead of reaching anything.
const (
	memTLSAddr     = "m365test.invalid:443"
	memBrowserAddr = "browser.m365test.invalid:80"
)

// memAddr is the net.Addr of an in-memory listener.
type memAddr string

func (a memAddr) Network() string { return "memory" }
func (a memAddr) String() string  { return string(a) }

// memListener is a net.Listener whose connections are in-memory pipes
// created by dial: no socket, no port.
type memListener struct {
	addr  memAddr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newMemListener(addr string) *memListener {
	return &memListener{addr: memAddr(addr), conns: make(chan net.Conn), done: make(chan struct{})}
}

var errMemClosed = errors.New("m365test: in-memory listener closed")

// Accept waits for the next dial.
func (l *memListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, errMemClosed
	}
}

// Close stops Accept and refuses later dials.
func (l *memListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

// Addr returns the listener's name.
func (l *memListener) Addr() net.Addr { return l.addr }

// dial connects to the listener through a synchronous in-memory pipe.
func (l *memListener) dial(ctx context.Context) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		client.Close()
		server.Close()
		return nil, errMemClosed
	case <-ctx.Done():
		client.Close()
		server.Close()
		return nil, ctx.Err()
	}
}
