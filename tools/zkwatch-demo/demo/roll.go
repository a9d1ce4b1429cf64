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

package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/zkwatch/zkwatch/internal/zktest"
	"github.com/zkwatch/zkwatch/roll"
)

// rollMemberDeadline bounds how long a member may take to serve again,
// caught up, after `zkwatch-demo member restart` (JVM start on a busy
// machine included).
const rollMemberDeadline = 60 * time.Second

// RollResult is the rolling restart of the demo's ensemble by the real
// zkwatch_roll, with what the quorum watch saw meanwhile.
type RollResult struct {
	Command []string    // zkwatch_roll's argv
	Steps   []roll.Step // one per member, as zkwatch_roll reported them
	Quorum  zktest.QuorumWatch
	Began   time.Time
	Ended   time.Time
}

// RollStep restarts every member of the ensemble, one at a time, with
// zkwatch_roll and the demo's own control (`zkwatch-demo member restart
// ID`) as the per-member command, while the ensemble is asked every 100
// ms whether a quorum is alive.
func (s *Stack) RollStep(ctx context.Context) (*RollResult, error) {
	if err := s.Ens.WaitHealthy(stageTimeout); err != nil {
		return nil, err
	}
	res := &RollResult{Command: []string{filepath.Join(s.opts.BinDir, "zkwatch_roll"),
		"--zookeeper.servers=" + s.Ens.Servers(), "--format=json", "--member-deadline=" + rollMemberDeadline.String(), "--log.level=warn",
		"--", filepath.Join(s.opts.BinDir, "zkwatch-demo"), "--dir", s.opts.Dir, "member", "restart", "{{.ID}}"}}
	watch := zktest.WatchQuorum(s.Ens.Addrs(), 100*time.Millisecond)
	res.Began = time.Now()
	err := s.runRoll(ctx, res)
	res.Ended = time.Now()
	res.Quorum = watch.Stop()
	if err != nil {
		return res, err
	}
	if len(res.Steps) != len(s.Ens.Members) {
		return res, fmt.Errorf("zkwatch_roll reported %d steps for %d members", len(res.Steps), len(s.Ens.Members))
	}
	for _, st := range res.Steps {
		if st.Outcome != "ok" {
			return res, fmt.Errorf("zkwatch_roll step %d (%s): %s %s", st.Step, st.Member, st.Outcome, st.Reason)
		}
	}
	if len(res.Quorum.Lost) > 0 {
		return res, fmt.Errorf("quorum lost during the roll: %s", strings.Join(res.Quorum.Lost, "; "))
	}
	return res, nil
}

// runRoll runs zkwatch_roll until it has rolled the ensemble. A roll that
// refuses to start (a member not caught up yet after the previous faults)
// restarted nothing and is tried again.
func (s *Stack) runRoll(ctx context.Context, res *RollResult) error {
	return zktest.WaitFor(stageTimeout, 500*time.Millisecond, func() error {
		var stdout, stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, res.Command[0], res.Command[1:]...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		runErr := cmd.Run()
		steps, err := parseRollSteps(stdout.Bytes())
		res.Steps = steps
		switch {
		case err != nil:
			return zktest.Permanent(err)
		case runErr != nil && len(steps) == 0 && strings.Contains(stderr.String(), "refusing to start"):
			return fmt.Errorf("zkwatch_roll: %s", strings.TrimSpace(stderr.String()))
		case runErr != nil:
			return zktest.Permanent(fmt.Errorf("zkwatch_roll: %w: %s", runErr, strings.TrimSpace(stderr.String())))
		}
		return nil
	})
}

// parseRollSteps reads zkwatch_roll's --format=json output: one step per
// line, its duration in duration_seconds.
func parseRollSteps(out []byte) ([]roll.Step, error) {
	var steps []roll.Step
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var line struct {
			roll.Step
			DurationSeconds float64 `json:"duration_seconds"`
		}
		if err := dec.Decode(&line); errors.Is(err, io.EOF) {
			return steps, nil
		} else if err != nil {
			return steps, fmt.Errorf("zkwatch_roll output: %w", err)
		}
		line.Duration = time.Duration(line.DurationSeconds * float64(time.Second))
		steps = append(steps, line.Step)
	}
}

// PrintRoll writes the roll's steps as zkwatch_roll's own table, and what
// the quorum watch saw.
func PrintRoll(w io.Writer, r *RollResult) {
	fmt.Fprintf(w, "\n== rolling restart of the ensemble with zkwatch_roll (per member: zkwatch-demo member restart ID)\n")
	record := roll.TableRecorder(w)
	for _, st := range r.Steps {
		record(st)
	}
	q := r.Quorum
	fmt.Fprintf(w, "  %.1fs in all; quorum polled every 100 ms, %d polls: fewest voters alive %d of %d (quorum %d), %s\n",
		r.Ended.Sub(r.Began).Seconds(), q.Rounds, q.MinAlive, q.Voters, q.Voters/2+1, quorumVerdict(q))
	if q.NoLeaderRounds > 0 {
		fmt.Fprintf(w, "  %d polls without a serving leader (longest %.1fs): the leader's restart costs one election\n",
			q.NoLeaderRounds, q.LongestElection.Seconds())
	}
}

// quorumVerdict says whether the quorum watch saw a quorum lost.
func quorumVerdict(q zktest.QuorumWatch) string {
	if len(q.Lost) > 0 {
		return fmt.Sprintf("QUORUM LOST in %d polls", len(q.Lost))
	}
	return "quorum never lost"
}
