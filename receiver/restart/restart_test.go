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

package restart

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/internal/zktest"
	"github.com/zkwatch/zkwatch/receiver/config"
	"github.com/zkwatch/zkwatch/receiver/payload"
)

var nasty = []string{"x; touch PWNED", "$(touch PWNED)", "`id`", "a b", "-rf", "../../etc", "x\ntouch PWNED"}

func rule(t *testing.T, yaml string) *config.Restart {
	t.Helper()
	c, err := config.Load([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return &c.Restarts[0]
}

func alertWith(member string) *payload.Alert {
	return &payload.Alert{Status: "firing", Fingerprint: "fp", StartsAt: time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC),
		Labels: map[string]string{"alertname": "ZooKeeperProcessMemberDown", "group": "zk-main", "member": member}}
}

func TestAllowRefusesShellMetacharacters(t *testing.T) {
	r := rule(t, `restarts: [{name: r, match: {alertname: ZooKeeperProcessMemberDown},
  command: ["/usr/local/bin/restart-member", "{{ .Labels.group }}", "{{ .Labels.member }}"], allow: {member: "^[A-Za-z0-9._-]+$"}}]`)
	for _, v := range nasty {
		if v == "-rf" {
			continue // matches this allow regex; the command must cope
		}
		if _, err := Argv(r, alertWith(v)); !errors.Is(err, ErrRefused) {
			t.Errorf("member %q: %v", v, err)
		}
	}
	argv, err := Argv(r, alertWith("zk-2"))
	if err != nil || strings.Join(argv, "|") != "/usr/local/bin/restart-member|zk-main|zk-2" {
		t.Errorf("argv %q, %v", argv, err)
	}
}

// With a permissive allow, hostile values still reach the command as
// single, inert arguments and environment values.
func TestHostileValuesAreInert(t *testing.T) {
	dir := t.TempDir()
	touch := rule(t, `restarts: [{name: r, match: {alertname: X}, command: ["/usr/bin/touch", "--", "{{ .Labels.member }}"], allow: {member: "(?s).*"}}]`)
	env := rule(t, `restarts: [{name: r, match: {alertname: X}, command: ["/bin/sh", "-c", "printf '%s|%s' \"$ZKWATCH_LABEL_MEMBER\" \"$1\" >> env.out", "sh", "{{ .Labels.member }}"], allow: {member: "(?s).*"}}]`)
	for _, v := range nasty {
		if strings.Contains(v, "/") || strings.Contains(v, "\n") {
			continue // not a plain file name; covered by the env variant
		}
		a := alertWith(v)
		argv, err := Argv(touch, a)
		if err != nil || len(argv) != 3 || argv[2] != v {
			t.Fatalf("argv %q, %v", argv, err)
		}
		if res := Run(context.Background(), argv, Env(a, "id"), dir, 10*time.Second, 4096); res.Err != nil {
			t.Fatalf("touch %q: %v %s", v, res.Err, res.Output)
		}
		if _, err := os.Stat(filepath.Join(dir, v)); err != nil {
			t.Errorf("no file named %q: %v", v, err)
		}
	}
	for _, v := range nasty {
		os.Remove(filepath.Join(dir, "env.out"))
		a := alertWith(v)
		argv, err := Argv(env, a)
		if err != nil {
			t.Fatal(err)
		}
		if res := Run(context.Background(), argv, Env(a, "id"), dir, 10*time.Second, 4096); res.Err != nil {
			t.Fatalf("%q: %v %s", v, res.Err, res.Output)
		}
		b, err := os.ReadFile(filepath.Join(dir, "env.out"))
		if err != nil || string(b) != v+"|"+v {
			t.Errorf("%q arrived as %q (%v)", v, b, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "PWNED")); !os.IsNotExist(err) {
		t.Fatal("a label value was executed: PWNED exists")
	}
}

func TestEnv(t *testing.T) {
	a := alertWith("zk-2")
	a.Labels["my.label-x"] = "v"
	env := strings.Join(Env(a, "inc1"), "\n") + "\n"
	for _, want := range []string{"ZKWATCH_ALERTNAME=ZooKeeperProcessMemberDown\n", "ZKWATCH_STATUS=firing\n",
		"ZKWATCH_FINGERPRINT=fp\n", "ZKWATCH_STARTS_AT=2026-11-25T06:00:00Z\n", "ZKWATCH_INCIDENT_ID=inc1\n",
		"ZKWATCH_LABEL_MEMBER=zk-2\n", "ZKWATCH_LABEL_GROUP=zk-main\n", "ZKWATCH_LABEL_MY_LABEL_X=v\n"} {
		if !strings.Contains(env, want) {
			t.Errorf("env lacks %q", want)
		}
	}
}

func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// Field 3 is the state; a zombie is already dead.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}

func TestTimeoutKillsProcessGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	start := time.Now()
	res := Run(context.Background(), []string{"/bin/sh", "-c", "sleep 60 & echo $! > " + pidFile + "; wait"}, nil, dir, 300*time.Millisecond, 4096)
	if !res.TimedOut || res.Err == nil || time.Since(start) > 10*time.Second {
		t.Fatalf("result %+v after %s", res, time.Since(start))
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if err := zktest.WaitFor(10*time.Second, 10*time.Millisecond, func() error {
		if alive(pid) {
			return errors.New("background child still alive")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestExitCodeAndBoundedOutput(t *testing.T) {
	res := Run(context.Background(), []string{"/bin/sh", "-c", "head -c 10000 /dev/zero | tr '\\0' x; echo oops >&2; exit 3"}, nil, "", 10*time.Second, 100)
	if res.ExitCode != 3 || res.Err == nil || res.TimedOut {
		t.Errorf("result %+v", res)
	}
	if !strings.HasPrefix(res.Output, strings.Repeat("x", 100)+"\n... (") || len(res.Output) > 200 {
		t.Errorf("output %q", res.Output)
	}
	if res := Run(context.Background(), []string{"/nonexistent/cmd"}, nil, "", time.Second, 100); res.Err == nil {
		t.Error("missing command succeeded")
	}
}

// The guard runs against a real three-member ensemble.
func TestQuorumGuard(t *testing.T) {
	e := zktest.Start(t, 3)
	addrs := e.Addrs()
	ctx := context.Background()
	var busy Busy
	if err := CheckQuorum(ctx, nil, addrs, addrs[0], &busy, 2*time.Second); err != nil {
		t.Fatalf("healthy ensemble: %v", err)
	}
	// Unknown target: all three must serve, which they do.
	if err := CheckQuorum(ctx, nil, addrs, "elsewhere:1", &busy, 2*time.Second); err != nil {
		t.Fatalf("unknown target, healthy ensemble: %v", err)
	}
	// Another member being restarted by us blocks the restart.
	done := busy.Mark(addrs[1])
	if err := CheckQuorum(ctx, nil, addrs, addrs[0], &busy, 2*time.Second); err == nil || !strings.Contains(err.Error(), "being restarted") {
		t.Errorf("busy member: %v", err)
	}
	done()
	// With member 2 gone, restarting member 0 would leave one of three
	// (once the survivors have settled; an election may run first).
	e.Kill(2)
	if err := zktest.WaitFor(30*time.Second, 50*time.Millisecond, func() error {
		err := CheckQuorum(ctx, nil, addrs, addrs[0], &busy, 2*time.Second)
		if err == nil || !strings.Contains(err.Error(), "only 1 of the other members serve") || !strings.Contains(err.Error(), addrs[2]+": refused") {
			return fmt.Errorf("check says %v", err)
		}
		return nil
	}); err != nil {
		t.Fatalf("lost quorum: %v", err)
	}
	// Restarting the dead member itself is fine: the other two serve.
	if err := zktest.WaitFor(30*time.Second, 50*time.Millisecond, func() error {
		return CheckQuorum(ctx, nil, addrs, addrs[2], &busy, 2*time.Second)
	}); err != nil {
		t.Errorf("restarting the dead member: %v", err)
	}
	// A paused member answers nothing: it does not count, and the check
	// returns within its timeout.
	e.Pause(1)
	defer e.Resume(1)
	start := time.Now()
	if err := CheckQuorum(ctx, nil, addrs, addrs[2], &busy, time.Second); err == nil {
		t.Error("paused member counted as serving")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("check took %s", d)
	}
}

// TestQuorumGuardTLS runs the guard, configured by a receiver tls_config,
// against a real three-member ensemble serving TLS with
// ssl.clientAuth=need; without the client certificate every member counts
// as down with reason tls.
func TestQuorumGuardTLS(t *testing.T) {
	e := zktest.Start(t, 3, func(o *zktest.Options) { o.TLS = &zktest.TLSOptions{} })
	addrs := e.SecureAddrs()
	guard := func(tlsConfig string) *config.Guard {
		t.Helper()
		r := rule(t, fmt.Sprintf(`restarts:
  - name: r
    match: {alertname: X}
    command: ["/bin/true"]
    guard:
      zookeeper: [%q, %q, %q]
      tls_config: %s
`, addrs[0], addrs[1], addrs[2], tlsConfig))
		return r.Guard
	}
	c := e.Certs
	g := guard(fmt.Sprintf("{ca_file: %q, cert_file: %q, key_file: %q}", c.CAFile, c.ClientCert, c.ClientKey))
	ctx := context.Background()
	var busy Busy
	if err := CheckQuorum(ctx, g.TLSConfig(), g.ZooKeeper, addrs[0], &busy, 2*time.Second); err != nil {
		t.Fatalf("healthy TLS ensemble: %v", err)
	}
	g = guard(fmt.Sprintf("{ca_file: %q}", c.CAFile))
	start := time.Now()
	err := CheckQuorum(ctx, g.TLSConfig(), g.ZooKeeper, addrs[0], &busy, 2*time.Second)
	if err == nil || !strings.Contains(err.Error(), addrs[1]+": tls") || !strings.Contains(err.Error(), addrs[2]+": tls") {
		t.Errorf("without a client certificate: %v, want both other members down with reason tls", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("check took %s", d)
	}
}

// Issue 21, item 6: labels that differ only in case (or punctuation) would
// race for one ZKWATCH_LABEL_ variable; the restart is refused and the
// variable left out, whatever the map order.
func TestLabelsSharingAVariableRefused(t *testing.T) {
	r := rule(t, `
restarts:
  - name: member
    match: {alertname: ZooKeeperProcessMemberDown}
    command: ["/bin/true", "{{ .Labels.member }}"]
`)
	for _, other := range []string{"MEMBER", "Member"} {
		a := alertWith("zk-2")
		a.Labels[other] = "zk-1; touch PWNED"
		for range 20 { // map order varies between runs
			_, err := Argv(r, a)
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "ZKWATCH_LABEL_MEMBER") ||
				!strings.Contains(err.Error(), other+", member") {
				t.Fatalf("%s: %v", other, err)
			}
			env := strings.Join(Env(a, "inc1"), "\n")
			if strings.Contains(env, "ZKWATCH_LABEL_MEMBER=") || !strings.Contains(env, "ZKWATCH_LABEL_GROUP=zk-main") {
				t.Fatalf("%s: env %s", other, env)
			}
		}
	}
	a := alertWith("zk-2")
	a.Labels["my.label"], a.Labels["my_label"] = "a", "b"
	if _, err := Argv(r, a); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "my.label, my_label") {
		t.Errorf("my.label and my_label: %v", err)
	}
}
