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
