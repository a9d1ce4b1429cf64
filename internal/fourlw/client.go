// Copyright 2026 The zkwatch Authors
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
// http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

// Package fourlw talks ZooKeeper's four-letter-word protocol and its
// AdminServer JSON equivalent, and parses the answers into typed values.
// It only ever sends read-only commands. Client is the member client the
// exporter's collectors share.
package fourlw

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/zkwatch/zkwatch/internal/zktls"
)

// DefaultMaxResponseBytes bounds a single answer; mntr of a 3.8 server is
// about 10 KiB, so 1 MiB leaves room for cons/wchs on busy servers.
const DefaultMaxResponseBytes = 1 << 20

// Typed errors, to be tested with errors.Is.
var (
	ErrConnRefused    = errors.New("connection refused")
	ErrTimeout        = errors.New("timed out")
	ErrNotWhitelisted = errors.New("command not in 4lw.commands.whitelist")
	ErrNotServing     = errors.New("server is not currently serving requests")
	ErrTooLarge       = errors.New("response exceeds size limit")
	ErrGarbage        = errors.New("unparseable response")
	ErrUnknownCommand = errors.New("command not allowed by this client")
	ErrEmpty          = errors.New("empty response")
	ErrTLS            = errors.New("TLS failure")
)

// readOnly lists the commands this package will send. State-changing words
// such as srst, crst or kill are never sent.
var readOnly = map[string]bool{
	"ruok": true, "mntr": true, "srvr": true, "stat": true, "conf": true,
	"cons": true, "wchs": true, "isro": true, "envi": true, "dirs": true,
}

// Error wraps a failure with the server and command it concerns.
type Error struct {
	Addr, Cmd string
	Err       error
}

func (e *Error) Error() string { return fmt.Sprintf("%s %s: %v", e.Addr, e.Cmd, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

const notWhitelistedText = "is not executed because it is not in the whitelist"
const notServingText = "This ZooKeeper instance is not currently serving requests"

// Do sends one four-letter word to addr and returns the raw answer. The
// context deadline bounds dialing, writing and reading together: a server
// that accepts and then never answers (a paused JVM) cannot hold the caller.
func Do(ctx context.Context, addr, cmd string, maxBytes int64) ([]byte, error) {
	return DoTLS(ctx, nil, addr, cmd, maxBytes)
}

// DoTLS is Do over TLS when tc is not nil (a member's secureClientPort).
// A failed handshake or a certificate the server refuses is ErrTLS.
func DoTLS(ctx context.Context, tc *tls.Config, addr, cmd string, maxBytes int64) ([]byte, error) {
	var b bytes.Buffer
	if err := doInto(ctx, tc, addr, cmd, maxBytes, &b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// answerBuffers recycles the buffers answers are read into: a 3.8 mntr
// answer is about 17 KiB, and the parsers copy what they keep.
var answerBuffers = sync.Pool{New: func() any { return bytes.NewBuffer(make([]byte, 0, 32<<10)) }}

// doPooled is DoTLS into a pooled buffer; release gives the buffer back
// once the answer is parsed.
func doPooled(ctx context.Context, tc *tls.Config, addr, cmd string, maxBytes int64) (answer []byte, release func(), err error) {
	b := answerBuffers.Get().(*bytes.Buffer)
	b.Reset()
	release = func() {
		if b.Cap() <= 256<<10 { // do not keep what a huge answer grew
			answerBuffers.Put(b)
		}
	}
	if err := doInto(ctx, tc, addr, cmd, maxBytes, b); err != nil {
		release()
		return nil, func() {}, err
	}
	return b.Bytes(), release, nil
}

func doInto(ctx context.Context, tc *tls.Config, addr, cmd string, maxBytes int64, b *bytes.Buffer) error {
	if !readOnly[cmd] {
		return &Error{addr, cmd, ErrUnknownCommand}
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxResponseBytes
	}
	conn, err := zktls.DialOnce(ctx, tc, "tcp", addr)
	if err != nil {
		return &Error{addr, cmd, classify(err)}
	}
	return exchange(ctx, conn, addr, cmd, maxBytes, b)
}

// exchange sends cmd over conn, reads the answer into b and closes conn.
func exchange(ctx context.Context, conn net.Conn, addr, cmd string, maxBytes int64, b *bytes.Buffer) error {
	defer conn.Close()
	wrap := func(err error) error { return &Error{addr, cmd, classify(err)} }
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// Closing the connection when ctx is cancelled unblocks a pending read
	// even without a deadline.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := io.WriteString(conn, cmd); err != nil {
		return wrap(err)
	}
	if _, err := b.ReadFrom(io.LimitReader(conn, maxBytes+1)); err != nil {
		if ctx.Err() != nil {
			return &Error{addr, cmd, fmt.Errorf("%w: %v", ErrTimeout, ctx.Err())}
		}
		return wrap(err)
	}
	if int64(b.Len()) > maxBytes {
		return &Error{addr, cmd, fmt.Errorf("%w (%d bytes)", ErrTooLarge, maxBytes)}
	}
	if err := answerError(b.Bytes()); err != nil {
		return &Error{addr, cmd, err}
	}
	return nil
}

// answerError recognises the fixed texts ZooKeeper sends instead of an answer.
func answerError(buf []byte) error {
	switch {
	case len(bytes.TrimSpace(buf)) == 0:
		return ErrEmpty
	case bytes.Contains(buf, []byte(notWhitelistedText)):
		return ErrNotWhitelisted
	case bytes.HasPrefix(bytes.TrimSpace(buf), []byte(notServingText)):
		return ErrNotServing
	}
	return nil
}

func classify(err error) error {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%w: %v", ErrConnRefused, err)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("%w: %v", ErrTimeout, err)
	case zktls.IsTLS(err):
		return fmt.Errorf("%w: %v", ErrTLS, err)
	}
	return err
}

// Reason returns a short, bounded-cardinality label for err, suitable for
// an error metric.
func Reason(err error) string {
	for _, r := range []struct {
		err  error
		name string
	}{
		{ErrConnRefused, "refused"}, {ErrTimeout, "timeout"},
		{ErrNotWhitelisted, "not_whitelisted"}, {ErrNotServing, "not_serving"},
		{ErrTooLarge, "too_large"}, {ErrGarbage, "garbage"}, {ErrEmpty, "empty"},
		{ErrTLS, "tls"},
	} {
		if errors.Is(err, r.err) {
			return r.name
		}
	}
	if err != nil && strings.Contains(err.Error(), "reset by peer") {
		return "reset"
	}
	return "other"
}

// Client is the one way zookeeper_exporter reaches ensemble members, as
// mysqld_exporter's scrapers are handed the open instance: every collector
// that asks a member something gets the same Client, so the transport
// (four-letter words or AdminServer JSON), TLS and deadlines are decided
// in one place, and a new
// collector cannot forget one of them. Like the rest of the package it
// only sends read-only commands.
type Client struct {
	tls      *tls.Config
	timeout  time.Duration
	maxBytes int64
	prober   Prober
	admin    *AdminProber // nil on the four-letter-word transport
}

// ClientOptions configure a Client.
type ClientOptions struct {
	// Transport is "4lw" (the default) or "admin".
	Transport string
	// TLS, when set, is used for every connection: four-letter words go to
	// the members' secure client ports, AdminServer requests use https.
	TLS *tls.Config
	// AdminAddrs maps a member's client address to its AdminServer
	// host:port (admin transport); a missing entry means host:8080.
	AdminAddrs map[string]string
	// Timeout bounds a call whose context has no deadline (0: no bound).
	Timeout time.Duration
	// MaxBytes bounds one answer (0: DefaultMaxResponseBytes).
	MaxBytes int64
}

// adminNames are the AdminServer commands that answer what a four-letter
// word does (ZooKeeper 3.8 serves both names; the long one is canonical).
var adminNames = map[string]string{
	"mntr": "monitor", "srvr": "stat", "conf": "configuration",
	"cons": "connections", "wchs": "watch_summary", "isro": "is_read_only", "ruok": "ruok",
}

// NewClient returns a Client; an unknown transport is an error.
func NewClient(o ClientOptions) (*Client, error) {
	c := &Client{tls: o.TLS, timeout: o.Timeout, maxBytes: o.MaxBytes}
	switch o.Transport {
	case "", "4lw":
		c.prober = FourLetterProber{MaxBytes: o.MaxBytes, TLS: o.TLS}
	case "admin":
		c.admin = &AdminProber{Client: AdminClient(o.TLS), AdminAddr: adminAddr(o.AdminAddrs), MaxBytes: o.MaxBytes, HTTPS: o.TLS != nil}
		c.prober = c.admin
	default:
		return nil, fmt.Errorf("unknown transport %q (want 4lw or admin)", o.Transport)
	}
	return c, nil
}

// adminAddr maps client addresses to AdminServer addresses, host:8080 by
// default.
func adminAddr(m map[string]string) func(string) string {
	return func(addr string) string {
		if a, ok := m[addr]; ok {
			return a
		}
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return addr
		}
		return net.JoinHostPort(host, "8080")
	}
}

// Command returns the name under which the client's transport asks what
// the four-letter word asks ("cons" is "connections" on the AdminServer).
func (c *Client) Command(word string) string {
	if c.admin != nil {
		return adminNames[word]
	}
	return word
}

// bound applies the client's timeout to a context without a deadline.
func (c *Client) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok || c.timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, c.timeout)
}

// Probe implements Prober with the client's transport.
func (c *Client) Probe(ctx context.Context, addr string, withConf bool) *Status {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	return c.prober.Probe(ctx, addr, withConf)
}

// ask sends word to addr: the raw text of a four-letter word, or the
// AdminServer's JSON document for it.
func (c *Client) ask(ctx context.Context, addr, word string) ([]byte, map[string]any, error) {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	if c.admin != nil {
		doc, err := c.admin.command(ctx, addr, adminNames[word])
		return nil, doc, err
	}
	out, err := DoTLS(ctx, c.tls, addr, word, c.maxBytes)
	return out, nil, err
}

// Watches asks addr for its watch summary (wchs).
func (c *Client) Watches(ctx context.Context, addr string) (*Wchs, error) {
	text, doc, err := c.ask(ctx, addr, "wchs")
	if err != nil {
		return nil, err
	}
	var w *Wchs
	if doc != nil {
		w, err = adminWchs(doc)
	} else {
		w, err = ParseWchs(text)
	}
	return w, c.wrap(addr, "wchs", err)
}

// Connections asks addr how many client connections it serves (cons).
func (c *Client) Connections(ctx context.Context, addr string) (int, error) {
	conns, err := c.Cons(ctx, addr)
	return len(conns), err
}

// ReadOnly asks addr whether it serves read-only (isro).
func (c *Client) ReadOnly(ctx context.Context, addr string) (bool, error) {
	text, doc, err := c.ask(ctx, addr, "isro")
	if err != nil {
		return false, err
	}
	var ro bool
	if doc != nil {
		ro, err = adminIsro(doc)
	} else {
		ro, err = ParseIsro(text)
	}
	return ro, c.wrap(addr, "isro", err)
}

// wrap names the member and command of a parse error, as a failed
// request is named.
func (c *Client) wrap(addr, word string, err error) error {
	switch {
	case err == nil:
		return nil
	case c.admin != nil:
		return &Error{addr, "admin " + adminNames[word], err}
	}
	return &Error{addr, word, err}
}
