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
// It only ever sends read-only commands.
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
	if err := doInto(ctx, tc, addr, cmd, maxBytes, &b, nil); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// answerBuffers recycles the buffers answers are read into: a 3.8 mntr
// answer is about 17 KiB, and the parsers copy what they keep.
var answerBuffers = sync.Pool{New: func() any { return bytes.NewBuffer(make([]byte, 0, 32<<10)) }}

// doPooled is DoTLS into a pooled buffer; release gives the buffer back
// once the answer is parsed.
func doPooled(ctx context.Context, tc *tls.Config, warm *Warm, addr, cmd string, maxBytes int64) (answer []byte, release func(), err error) {
	b := answerBuffers.Get().(*bytes.Buffer)
	b.Reset()
	release = func() {
		if b.Cap() <= 256<<10 { // do not keep what a huge answer grew
			answerBuffers.Put(b)
		}
	}
	if err := doInto(ctx, tc, addr, cmd, maxBytes, b, warm); err != nil {
		release()
		return nil, func() {}, err
	}
	return b.Bytes(), release, nil
}

func doInto(ctx context.Context, tc *tls.Config, addr, cmd string, maxBytes int64, b *bytes.Buffer, warm *Warm) error {
	if !readOnly[cmd] {
		return &Error{addr, cmd, ErrUnknownCommand}
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxResponseBytes
	}
	if conn := warm.take(addr); conn != nil {
		err := exchange(ctx, conn, addr, cmd, maxBytes, b, warm)
		// A connection opened in advance that fails before a byte of the
		// answer (the member restarted, or closed it as idle) says nothing
		// about the member now: dial as if there had been none. A timeout
		// is an answer (a paused member) and is not retried.
		if err == nil || ctx.Err() != nil || b.Len() > 0 || errors.Is(err, ErrTimeout) {
			return err
		}
		b.Reset()
	}
	conn, err := zktls.DialOnce(ctx, tc, "tcp", addr)
	if err != nil {
		return &Error{addr, cmd, classify(err)}
	}
	return exchange(ctx, conn, addr, cmd, maxBytes, b, warm)
}

// exchange sends cmd over conn, reads the answer into b and closes conn:
// at once on failure, else through warm (at once when it is nil).
func exchange(ctx context.Context, conn net.Conn, addr, cmd string, maxBytes int64, b *bytes.Buffer, warm *Warm) (err error) {
	defer func() {
		if err != nil {
			_ = conn.Close()
		} else {
			warm.closeLater(conn)
		}
	}()
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
	_, err = b.ReadFrom(io.LimitReader(conn, maxBytes+1))
	if err != nil {
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
