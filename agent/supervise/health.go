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

package supervise

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// Check probes a child once; nil means healthy.
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
}

// HTTPCheck is healthy when GET url answers 2xx or 3xx.
func HTTPCheck(url string) (Check, error) {
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return Check{}, fmt.Errorf("health check URL must start with http:// or https://: %q", url)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return Check{Name: "http " + url, Fn: func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode >= 400 {
			return fmt.Errorf("HTTP status %d", resp.StatusCode)
		}
		return nil
	}}, nil
}

// TCPCheck is healthy when a TCP connection to addr opens.
func TCPCheck(addr string) (Check, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return Check{}, fmt.Errorf("health check address %q: %w", addr, err)
	}
	return Check{Name: "tcp " + addr, Fn: func(ctx context.Context) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}}, nil
}

// ExecCheck is healthy when the command exits 0. cmdline is split on
// white space (no shell quoting); use a script for anything more.
func ExecCheck(cmdline string) (Check, error) {
	args := strings.Fields(cmdline)
	if len(args) == 0 {
		return Check{}, errors.New("empty health check command")
	}
	return Check{Name: "exec " + args[0], Fn: func(ctx context.Context) error {
		var buf bytes.Buffer
		p, err := Start(args, nil, &buf, &buf)
		if err != nil {
			return err
		}
		select {
		case <-p.Done():
		case <-ctx.Done():
			p.Kill()
			return ctx.Err()
		}
		if code := p.ExitCode(); code != 0 {
			out := buf.Bytes()
			if len(out) > 200 {
				out = out[:200]
			}
			return fmt.Errorf("exit status %d: %s", code, strings.TrimSpace(string(out)))
		}
		return nil
	}}, nil
}

// Health runs checks every Interval. The child turns healthy on the first
// round where every check passes, and unhealthy after Failures consecutive
// failing rounds.
type Health struct {
	Checks   []Check
	Interval time.Duration
	Timeout  time.Duration
	Failures int
}

// Run probes until ctx ends and calls report(healthy, err) on every
// change, starting with the first round's result.
func (h Health) Run(ctx context.Context, report func(healthy bool, err error)) {
	if h.Interval <= 0 {
		h.Interval = time.Second
	}
	if h.Timeout <= 0 {
		h.Timeout = h.Interval
	}
	if h.Failures < 1 {
		h.Failures = 1
	}
	t := time.NewTicker(h.Interval)
	defer t.Stop()
	first, healthy, fails := true, false, 0
	for {
		err := h.round(ctx)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			fails = 0
			if first || !healthy {
				healthy = true
				report(true, nil)
			}
		} else {
			fails++
			if first || (healthy && fails >= h.Failures) {
				healthy = false
				report(false, err)
			}
		}
		first = false
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (h Health) round(ctx context.Context) error {
	for _, c := range h.Checks {
		cctx, cancel := context.WithTimeout(ctx, h.Timeout)
		err := c.Fn(cctx)
		cancel()
		if err != nil {
			return fmt.Errorf("%s: %w", c.Name, err)
		}
	}
	return nil
}
