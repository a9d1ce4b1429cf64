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

package fourlw_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/internal/fourlw"
	"github.com/zkwatch/zkwatch/internal/zktest"
)

func do(addr, cmd string, d time.Duration, max int64) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return fourlw.Do(ctx, addr, cmd, max)
}

func TestDoErrors(t *testing.T) {
	f, err := zktest.NewFakeServer(map[string][]byte{
		"ruok": []byte("imok"),
		"mntr": bytes.Repeat([]byte("zk_x\t1\n"), 1000),
		"srvr": []byte("This ZooKeeper instance is not currently serving requests\n"),
		"isro": {},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	if out, err := do(f.Addr(), "ruok", time.Second, 0); err != nil || string(out) != "imok" {
		t.Fatalf("ruok: %q %v", out, err)
	}
	if _, err := do(f.Addr(), "conf", time.Second, 0); !errors.Is(err, fourlw.ErrNotWhitelisted) {
		t.Errorf("refused: %v", err)
	}
	if _, err := do(f.Addr(), "srvr", time.Second, 0); !errors.Is(err, fourlw.ErrNotServing) {
		t.Errorf("not serving: %v", err)
	}
	if _, err := do(f.Addr(), "mntr", time.Second, 100); !errors.Is(err, fourlw.ErrTooLarge) {
		t.Errorf("oversized: %v", err)
	}
	if _, err := do(f.Addr(), "isro", time.Second, 0); !errors.Is(err, fourlw.ErrEmpty) {
		t.Errorf("empty: %v", err)
	}
	for _, cmd := range []string{"srst", "kill", "crst", "dump", "xxxx"} {
		if _, err := do(f.Addr(), cmd, time.Second, 0); !errors.Is(err, fourlw.ErrUnknownCommand) {
			t.Errorf("%s was not refused: %v", cmd, err)
		}
	}

	// A server that accepts and never answers must not hold the caller
	// past its deadline.
	f.Hang(true)
	begin := time.Now()
	_, err = do(f.Addr(), "ruok", 200*time.Millisecond, 0)
	if !errors.Is(err, fourlw.ErrTimeout) {
		t.Errorf("hang: %v", err)
	}
	if d := time.Since(begin); d > 2*time.Second {
		t.Errorf("hung server held the caller %s", d)
	}
	if r := fourlw.Reason(err); r != "timeout" {
		t.Errorf("reason %q", r)
	}

	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := l.Addr().String()
	l.Close()
	_, err = do(closed, "ruok", time.Second, 0)
	if !errors.Is(err, fourlw.ErrConnRefused) || fourlw.Reason(err) != "refused" {
		t.Errorf("refused port: %v", err)
	}
}

// TestDoRealServer checks the client against a real server, including the
// refusal text of the default whitelist (srvr only since 3.5.3).
func TestDoRealServer(t *testing.T) {
	e := zktest.Start(t, 1, func(o *zktest.Options) { o.Whitelist = "-" })
	addr := e.Addrs()[0]
	if _, err := do(addr, "mntr", 5*time.Second, 0); !errors.Is(err, fourlw.ErrNotWhitelisted) {
		t.Errorf("mntr on default whitelist: %v", err)
	}
	out, err := do(addr, "srvr", 5*time.Second, 0)
	if err != nil {
		t.Fatal(err)
	}
	s, err := fourlw.ParseSrvr(out)
	if err != nil || s.Mode != "standalone" {
		t.Fatalf("srvr: %+v %v", s, err)
	}
	st := fourlw.FourLetterProber{}.Probe(context.Background(), addr, true)
	if !st.Up || st.Allowed["mntr"] || !st.Allowed["srvr"] || st.Mode() != "standalone" {
		t.Errorf("degraded probe: %+v", st)
	}
}

func TestNewClient(t *testing.T) {
	if _, err := fourlw.NewClient(fourlw.ClientOptions{Transport: "jmx"}); err == nil || !strings.Contains(err.Error(), `unknown transport "jmx"`) {
		t.Errorf("transport jmx: %v", err)
	}
	for transport, want := range map[string]string{"": "cons", "4lw": "cons", "admin": "connections"} {
		c, err := fourlw.NewClient(fourlw.ClientOptions{Transport: transport})
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Command("cons"); got != want {
			t.Errorf("transport %q: cons is sent as %q, want %q", transport, got, want)
		}
	}
}

// TestClientTimeout: a call without a deadline of its own is bounded by
// the client's timeout, so a member that accepts and never answers cannot
// hold a collector.
func TestClientTimeout(t *testing.T) {
	f, err := zktest.NewFakeServer(map[string][]byte{"cons": []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Hang(true)
	c, err := fourlw.NewClient(fourlw.ClientOptions{Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	_, err = c.Connections(context.Background(), f.Addr())
	if !errors.Is(err, fourlw.ErrTimeout) {
		t.Errorf("hung member: %v", err)
	}
	st := c.Probe(context.Background(), f.Addr(), false)
	if st.Up || !errors.Is(st.Err, fourlw.ErrTimeout) {
		t.Errorf("hung member probe: up %v, err %v", st.Up, st.Err)
	}
	if d := time.Since(begin); d > 2*time.Second {
		t.Errorf("hung member held the client %s, timeout 200ms", d)
	}
}

// adminDocs are AdminServer answers captured from ZooKeeper 3.8 (one
// client connection holding one watch), plus broken ones.
var adminDocs = map[string]string{
	"/commands/watch_summary": `{"num_connections" : 1, "num_paths" : 1, "num_total_watches" : 1, "command" : "watch_summary", "error" : null}`,
	"/commands/connections": `{"connections" : [ {"remote_socket_address" : "127.0.0.1:60366", "session_id" : 72057618517524480, "last_operation" : "PING"} ],
		"secure_connections" : [ {"remote_socket_address" : "127.0.0.1:60368"} ], "command" : "connections", "error" : null}`,
	"/commands/is_read_only": `{"read_only" : false, "command" : "is_read_only", "error" : null}`,
}

func TestClientAdminCommands(t *testing.T) {
	docs := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc, ok := docs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(doc))
	}))
	defer srv.Close()
	const member = "127.0.0.1:2181"
	c, err := fourlw.NewClient(fourlw.ClientOptions{Transport: "admin", AdminAddrs: map[string]string{member: srv.Listener.Addr().String()}, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for k, v := range adminDocs {
		docs[k] = v
	}
	if w, err := c.Watches(ctx, member); err != nil || *w != (fourlw.Wchs{Connections: 1, Paths: 1, Watches: 1}) {
		t.Errorf("watch_summary: %+v %v", w, err)
	}
	if n, err := c.Connections(ctx, member); err != nil || n != 2 {
		t.Errorf("connections: %d %v, want 2 (plain and secure)", n, err)
	}
	if ro, err := c.ReadOnly(ctx, member); err != nil || ro {
		t.Errorf("is_read_only: %v %v", ro, err)
	}

	docs["/commands/watch_summary"] = `{"num_connections" : 1, "command" : "watch_summary"}`
	docs["/commands/connections"] = `{"command" : "connections", "error" : "This ZooKeeper instance is not currently serving requests"}`
	docs["/commands/is_read_only"] = `not json`
	if _, err := c.Watches(ctx, member); !errors.Is(err, fourlw.ErrGarbage) || !strings.Contains(err.Error(), "num_paths") {
		t.Errorf("watch_summary without num_paths: %v", err)
	}
	if _, err := c.Connections(ctx, member); !errors.Is(err, fourlw.ErrNotServing) {
		t.Errorf("connections with an error field: %v", err)
	}
	if _, err := c.ReadOnly(ctx, member); !errors.Is(err, fourlw.ErrGarbage) {
		t.Errorf("is_read_only not JSON: %v", err)
	}
	delete(docs, "/commands/is_read_only")
	if _, err := c.ReadOnly(ctx, member); err == nil || !strings.Contains(err.Error(), "HTTP 404") {
		t.Errorf("is_read_only missing: %v", err)
	}
}
