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

package bench

import (
	"math"
	"reflect"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestSummarizeCost(t *testing.T) {
	runs := []costRun{
		{rep: 1, cond: "off", tput: 1000, p99: 10, srvCPU: 10},
		{rep: 1, cond: "a@1s", tput: 990, p99: 11, srvCPU: 11},
		{rep: 1, cond: "off", tput: 1000, p99: 10, srvCPU: 10.2},
		// The machine got slower in repetition 2: the change is taken
		// against that repetition's own off runs.
		{rep: 2, cond: "off", tput: 500, p99: 20, srvCPU: 20},
		{rep: 2, cond: "a@1s", tput: 480, p99: 21, srvCPU: 20},
		{rep: 2, cond: "off", tput: 505, p99: 21, srvCPU: 20},
		{rep: 3, cond: "off", tput: 800, p99: 10, srvCPU: 10},
		{rep: 3, cond: "a@1s", tput: 796, p99: 10, srvCPU: 10},
		{rep: 3, cond: "off", tput: 800, p99: 10, srvCPU: 10},
	}
	ch, noise, err := summarizeCost(runs)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch) != 1 || ch[0].cond != "a@1s" || ch[0].reps != 3 {
		t.Fatalf("changes = %+v", ch)
	}
	// Per repetition: -1%, 480/502.5-1 = -4.4776%, -0.5%.
	c := ch[0]
	if !near(c.tput, -1) || !near(c.tputLo, (480/502.5-1)*100) || !near(c.tputHi, -0.5) {
		t.Errorf("throughput change = %v (%v…%v), want -1 (-4.48…-0.5)", c.tput, c.tputLo, c.tputHi)
	}
	// p99: +10%, 21/20.5-1 = +2.44%, 0%.
	if !near(c.p99, (21/20.5-1)*100) || !near(c.p99Lo, 0) || !near(c.p99Hi, 10) {
		t.Errorf("p99 change = %v (%v…%v), want 2.44 (0…10)", c.p99, c.p99Lo, c.p99Hi)
	}
	if !near(noise.tput, 1) || !near(noise.p99, 5) || !near(noise.cpu, 2) {
		t.Errorf("noise = %+v, want tput 1, p99 5, cpu 2", noise)
	}

	if _, _, err := summarizeCost(runs[:2]); err == nil {
		t.Error("a repetition with one off run was accepted")
	}
	if _, _, err := summarizeCost([]costRun{{rep: 1, cond: "a@1s"}}); err == nil {
		t.Error("a repetition without off runs was accepted")
	}
}

func TestCostOrder(t *testing.T) {
	conds := []string{"a", "b", "c", "d", "e", "f"}
	got := costOrder(conds, []int{5, 0, 3, 1, 4, 2})
	want := []string{"off", "f", "a", "d", "off", "b", "e", "c"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("costOrder = %v, want %v", got, want)
	}
	if got := costOrder([]string{"a"}, []int{0}); !reflect.DeepEqual(got, []string{"off", "a", "off"}) {
		t.Errorf("one condition: %v", got)
	}
	if got := costOrder([]string{"a", "b", "c"}, []int{2, 1, 0}); !reflect.DeepEqual(got, []string{"off", "c", "b", "off", "a"}) {
		t.Errorf("three conditions: %v", got)
	}
}

// Lines as ZooKeeper 3.8's slf4j-simple logger writes them.
const costLogSample = `--- member 1 log ---
1 [main] WARN org.apache.zookeeper.server.ServerCnxnFactory - maxCnxns is not configured, using default value 0.
2 [NIOWorkerThread-1] INFO org.apache.zookeeper.server.NIOServerCnxn - Processing mntr command from /127.0.0.1:40000
3 [NIOWorkerThread-2] INFO org.apache.zookeeper.server.NIOServerCnxn - Processing srvr command from /127.0.0.1:40002
--- member 2 log ---
4 [NIOWorkerThread-1] INFO org.apache.zookeeper.server.NIOServerCnxn - Processing mntr command from /127.0.0.1:40001
`

func TestServerLogTally(t *testing.T) {
	before := splitMemberLogs(costLogSample)
	if len(before) != 2 || len(before[1]) != 3 || len(before[2]) != 1 {
		t.Fatalf("splitMemberLogs = %v", before)
	}
	after := splitMemberLogs(costLogSample + `5 [NIOWorkerThread-3] INFO org.apache.zookeeper.server.NIOServerCnxn - Processing mntr command from /127.0.0.1:40010
6 [CommitProcWorkThread-1] INFO org.apache.zookeeper.server.ZooKeeperServer - Established session 0x1000a2b3c4d0000 with negotiated timeout 4000 for client /127.0.0.1:40011
7 [NIOWorkerThread-1] INFO org.apache.zookeeper.server.NIOServerCnxn - Processing cons command from /127.0.0.1:40012
8 [NIOWorkerThread-1] INFO org.apache.zookeeper.server.NIOServerCnxn - Processing wchs command from /127.0.0.1:40012
`)
	win := logWindow(before, after)
	if len(win) != 4 {
		t.Fatalf("window = %q, want the 4 new lines of member 2", win)
	}
	tally := tallyServerLog(win)
	if !reflect.DeepEqual(tally.words, map[string]int{"mntr": 1, "cons": 1, "wchs": 1}) || tally.sessions != 1 || tally.conns != 3 {
		t.Errorf("tally = %+v, want mntr, cons, wchs once, 1 session, 3 connections", tally)
	}
	if got := formatWords(tally.words, 2); got != "cons 0.5, mntr 0.5, wchs 0.5" {
		t.Errorf("formatWords = %q", got)
	}
	if got := formatWords(nil, 1); got != "none" {
		t.Errorf("formatWords(nil) = %q", got)
	}
}

func TestMntrValue(t *testing.T) {
	out := []byte("zk_version\t3.8.0-abc, built on 2023\nzk_packets_received\t1234\nzk_num_alive_connections\t5\n")
	if v, err := mntrValue(out, "zk_packets_received"); err != nil || v != 1234 {
		t.Errorf("zk_packets_received = %v, %v", v, err)
	}
	if v, err := mntrValue(out, "zk_num_alive_connections"); err != nil || v != 5 {
		t.Errorf("zk_num_alive_connections = %v, %v", v, err)
	}
	if _, err := mntrValue(out, "zk_znode_count"); err == nil {
		t.Error("a missing key gave no error")
	}
}
