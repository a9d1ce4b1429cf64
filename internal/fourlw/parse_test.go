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

package fourlw

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"unsafe"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseMntrFixtures(t *testing.T) {
	for _, tc := range []struct {
		file, state string
		leaderOnly  bool
	}{
		{"leader.mntr.txt", "leader", true},
		{"follower.mntr.txt", "follower", false},
		{"standalone.mntr.txt", "standalone", false},
	} {
		t.Run(tc.file, func(t *testing.T) {
			fields, err := ParseMntr(fixture(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			byKey := map[string]Field{}
			for _, f := range fields {
				byKey[f.Key] = f
			}
			if got := byKey["zk_server_state"]; got.Numeric || got.Text != tc.state {
				t.Errorf("zk_server_state = %+v, want text %q", got, tc.state)
			}
			if f := byKey["zk_znode_count"]; !f.Numeric || f.Value < 4 {
				t.Errorf("zk_znode_count = %+v", f)
			}
			if f := byKey["zk_avg_latency"]; !f.Numeric {
				t.Errorf("zk_avg_latency not numeric: %+v", f)
			}
			if _, ok := byKey["zk_synced_followers"]; ok != tc.leaderOnly {
				t.Errorf("zk_synced_followers present = %v, want %v", ok, tc.leaderOnly)
			}
			st := &Status{Mntr: fields}
			if v := st.Version(); v != "3.8.0" {
				t.Errorf("version %q, want 3.8.0", v)
			}
		})
	}
}

func TestParseMntrRejects(t *testing.T) {
	for name, in := range map[string]string{
		"empty":    "",
		"html":     "<html><body>hello</body></html>",
		"binary":   "\xff\xfe\x00\x01",
		"no tabs":  "zk_version 3.8.0\nzk_server_state leader\n",
		"bad keys": "zk_a b\t1\nzk_{x}\t2\n",
		"refusal":  string(fixture(t, "default-whitelist.mntr.txt")),
	} {
		if _, err := ParseMntr([]byte(in)); !errors.Is(err, ErrGarbage) {
			t.Errorf("%s: err = %v, want ErrGarbage", name, err)
		}
	}
}

func TestParseSrvr(t *testing.T) {
	s, err := ParseSrvr(fixture(t, "leader.srvr.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Mode != "leader" || s.Zxid.Epoch() != 1 || s.Zxid.Counter() != 0 || s.NodeCount != 5 {
		t.Errorf("leader srvr = %+v", s)
	}
	s, err = ParseSrvr(fixture(t, "follower.srvr.txt"))
	if err != nil || s.Mode != "follower" {
		t.Fatalf("follower srvr = %+v, %v", s, err)
	}
	s, err = ParseSrvr([]byte("Latency min/avg/max: 1/2.5/30\nZxid: 0x30000002a\nMode: follower\n"))
	if err != nil || s.Zxid.Epoch() != 3 || s.Zxid.Counter() != 42 || s.LatencyAvg != 2.5 || s.LatencyMax != 30 {
		t.Fatalf("srvr = %+v, %v", s, err)
	}
	for name, in := range map[string]string{
		"no mode":     "Zxid: 0x1\n",
		"bad zxid":    "Zxid: 0xZZ\nMode: leader\n",
		"bad latency": "Latency min/avg/max: 1/2\nZxid: 0x1\nMode: leader\n",
		"garbage":     "SSH-2.0-OpenSSH_9.2\r\n",
	} {
		if _, err := ParseSrvr([]byte(in)); !errors.Is(err, ErrGarbage) {
			t.Errorf("%s: err = %v, want ErrGarbage", name, err)
		}
	}
}

func TestParseConf(t *testing.T) {
	c, err := ParseConf(fixture(t, "leader.conf.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if c.ServerID < 1 || c.ServerID > 3 || len(c.Members) != 3 || c.Voters() != 3 {
		t.Errorf("conf = %+v", c)
	}
	c, err = ParseConf(fixture(t, "standalone.conf.txt"))
	if err != nil || c.ServerID != 0 || len(c.Members) != 0 {
		t.Errorf("standalone conf = %+v, %v", c, err)
	}
	c, err = ParseConf([]byte("serverId=2\nserver.1=a:1:2:participant\nserver.2=b:1:2:participant;0.0.0.0:2181\nserver.3=c:1:2:observer\n"))
	if err != nil || c.Voters() != 2 || len(c.Members) != 3 {
		t.Errorf("observer conf = %+v, %v", c, err)
	}
	if got := c.Members[1].Client; got != "b:2181" {
		t.Errorf("client address of a wildcard client part = %q, want b:2181", got)
	}
	if c.Clients() != nil {
		t.Errorf("Clients() = %v for a conf where not every member has a client address", c.Clients())
	}
	if _, err := ParseConf([]byte("hello")); !errors.Is(err, ErrGarbage) {
		t.Errorf("garbage conf: %v", err)
	}
	// Captured from a reconfigEnabled ensemble after a fourth member was
	// added with reconfig.
	c, err = ParseConf(fixture(t, "reconfig-leader.conf.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != 0x100000002 || c.Voters() != 4 || len(c.Clients()) != 4 || c.Clients()[3] != "127.0.0.1:24002" {
		t.Errorf("dynamic conf = %+v, clients %v", c, c.Clients())
	}
	if c, _ := ParseConf(fixture(t, "leader.conf.txt")); c.Clients() != nil {
		t.Errorf("static conf has client addresses %v", c.Clients())
	}
}

func TestParseSmallCommands(t *testing.T) {
	if !ParseRuok(fixture(t, "leader.ruok.txt")) || ParseRuok([]byte("nope")) {
		t.Error("ruok")
	}
	if ro, err := ParseIsro(fixture(t, "leader.isro.txt")); err != nil || ro {
		t.Errorf("isro rw: %v %v", ro, err)
	}
	if _, err := ParseIsro(fixture(t, "leaderserves-no.isro.txt")); !errors.Is(err, ErrGarbage) {
		t.Errorf("isro null: %v", err)
	}
	w, err := ParseWchs(fixture(t, "leader.wchs.txt"))
	if err != nil || w.Connections != 0 || w.Watches != 0 {
		t.Errorf("wchs: %+v %v", w, err)
	}
	w, err = ParseWchs([]byte("3 connections watching 7 paths\nTotal watches:12\n"))
	if err != nil || w.Connections != 3 || w.Paths != 7 || w.Watches != 12 {
		t.Errorf("wchs: %+v %v", w, err)
	}
	n, err := ParseCons(fixture(t, "leader.cons.txt"))
	if err != nil || n != 1 {
		t.Errorf("cons: %d %v", n, err)
	}
	if _, err := ParseCons([]byte("garbage line\n")); !errors.Is(err, ErrGarbage) {
		t.Errorf("cons garbage: %v", err)
	}
}

func TestAnswerErrors(t *testing.T) {
	if err := answerError(fixture(t, "default-whitelist.conf.txt")); !errors.Is(err, ErrNotWhitelisted) {
		t.Errorf("refusal: %v", err)
	}
	if err := answerError(fixture(t, "leaderserves-no.mntr.txt")); !errors.Is(err, ErrNotServing) {
		t.Errorf("not serving: %v", err)
	}
	if err := answerError(fixture(t, "leader.mntr.txt")); err != nil {
		t.Errorf("mntr: %v", err)
	}
}

func FuzzParseMntr(f *testing.F) {
	for _, n := range []string{"leader.mntr.txt", "follower.mntr.txt", "standalone.mntr.txt", "default-whitelist.mntr.txt"} {
		f.Add(fixture(f, n))
	}
	f.Add([]byte("zk_a\t1\nzk_b\tx\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fields, err := ParseMntr(data)
		if err == nil && len(fields) == 0 {
			t.Fatal("no error and no fields")
		}
		for _, fl := range fields {
			if !validKey([]byte(fl.Key)) {
				t.Fatalf("invalid key %q accepted", fl.Key)
			}
		}
	})
}

func FuzzParseSrvr(f *testing.F) {
	for _, n := range []string{"leader.srvr.txt", "follower.srvr.txt", "standalone.srvr.txt"} {
		f.Add(fixture(f, n))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSrvr(data)
		if err == nil && s.Mode == "" {
			t.Fatal("no error and no mode")
		}
	})
}

func FuzzParseConf(f *testing.F) {
	for _, n := range []string{"leader.conf.txt", "follower.conf.txt", "standalone.conf.txt"} {
		f.Add(fixture(f, n))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConf(data)
		if err == nil && c.Voters() > len(c.Members) {
			t.Fatal("more voters than members")
		}
	})
}

func TestAdminDocuments(t *testing.T) {
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(fixture(t, "leader.admin.stat.json")))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	// A zxid of a late epoch must survive decoding exactly.
	doc["server_stats"].(map[string]any)["last_processed_zxid"] = json.Number("9007199254740993")
	s := statToSrvr(doc)
	if s == nil || s.Mode != "leader" || uint64(s.Zxid) != 9007199254740993 || s.NodeCount != 5 {
		t.Fatalf("stat: %+v", s)
	}
	dec = json.NewDecoder(bytes.NewReader(fixture(t, "leader.admin.monitor.json")))
	dec.UseNumber()
	doc = nil
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	fields := monitorFields(doc)
	st := &Status{Mntr: fields}
	if st.Mode() != "leader" || st.Version() != "3.8.0" || len(fields) < 100 {
		t.Fatalf("monitor: mode %q version %q, %d fields", st.Mode(), st.Version(), len(fields))
	}
}

// TestInternerConcurrent checks that concurrent parsers get one string per
// key and that the interner stays bounded.
func TestInternerConcurrent(t *testing.T) {
	var in interner
	var wg sync.WaitGroup
	got := make([][]string, 4)
	for g := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 3000; i++ {
				got[g] = append(got[g], in.intern([]byte(fmt.Sprintf("zk_key_%d", i))))
			}
		}()
	}
	wg.Wait()
	for i := range got[0] {
		for g := 1; g < len(got); g++ {
			if got[g][i] != got[0][i] || unsafe.StringData(got[g][i]) != unsafe.StringData(got[0][i]) {
				t.Fatalf("key %d: goroutines got different strings", i)
			}
		}
	}
	for i := 0; i < 2*maxInterned; i++ {
		in.intern([]byte(fmt.Sprintf("zk_other_%d", i)))
	}
	if n := len(*in.frozen.Load()) + len(in.fresh); n > maxInterned {
		t.Errorf("%d keys interned, bound %d", n, maxInterned)
	}
}
