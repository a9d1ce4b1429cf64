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
	"context"
	"fmt"
	"io"
	"time"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

// Step is one fault of the scenario and when each stage of its handling
// was observed.
type Step struct {
	Name      string
	Alert     string
	Killed    time.Time
	Firing    time.Time // Prometheus reports the alert firing
	Notified  time.Time // the receiver's notification reached the sink
	Restarted time.Time // the restart command ran (receiver) or the member was started (operator)
	Back      time.Time // Prometheus sees the member up again
	Resolved  time.Time // the resolved notification reached the sink
	RestartBy string
}

// stageTimeout bounds each stage of a step.
const stageTimeout = 60 * time.Second

// Result is what the scenario saw: the three fault steps, the rolling
// restart, the maintenance window and the split-brain panel.
type Result struct {
	Steps       []Step
	Roll        *RollResult
	Maintenance *MaintenanceStep
	SplitBrain  []SplitBrain
}

// Scenario kills the demo process, then a ZooKeeper follower, then the
// leader; rolls the ensemble with zkwatch_roll; crashes the demo process
// inside a maintenance window; and reads the split-brain panel. It writes
// each timeline to w (if not nil) as it ends.
func (s *Stack) Scenario(ctx context.Context, w io.Writer) (*Result, error) {
	if w == nil {
		w = io.Discard
	}
	res := &Result{}
	st, err := s.KillAppStep(ctx)
	res.Steps = append(res.Steps, st)
	PrintStep(w, st)
	if err != nil {
		return res, err
	}
	for _, role := range []string{"follower", "leader"} {
		st, err := s.killMemberStep(ctx, role)
		res.Steps = append(res.Steps, st)
		PrintStep(w, st)
		if err != nil {
			return res, err
		}
	}
	res.Roll, err = s.RollStep(ctx)
	if res.Roll != nil {
		PrintRoll(w, res.Roll)
	}
	if err != nil {
		return res, fmt.Errorf("rolling restart: %w", err)
	}
	res.Maintenance, err = s.MaintenanceStep(ctx)
	PrintMaintenance(w, res.Maintenance)
	if err != nil {
		return res, fmt.Errorf("maintenance window: %w", err)
	}
	res.SplitBrain, err = s.SplitBrainCheck(ctx)
	PrintSplitBrain(w, res.SplitBrain)
	if err != nil {
		return res, fmt.Errorf("split-brain panel: %w", err)
	}
	return res, nil
}

// KillAppStep crashes the demo process and follows the alert, the
// notification, the receiver's restart and the resolution.
func (s *Stack) KillAppStep(ctx context.Context) (Step, error) {
	st := Step{Name: "kill the demo process " + Group + "/" + Member, Alert: "ZooKeeperProcessMemberDown", RestartBy: "zkwatch_receiver restart hook"}
	restartsBefore := len(Restarts(s.opts.Dir))
	labels := map[string]string{"group": Group, "member": Member}
	st.Killed = time.Now()
	if err := KillApp(s.opts.Dir); err != nil {
		return st, fmt.Errorf("kill demo process: %w", err)
	}
	var err error
	if st.Firing, st.Notified, _, err = s.waitAlerted(ctx, st.Alert, labels, st.Killed); err != nil {
		return st, err
	}
	err = zktest.WaitFor(stageTimeout, 20*time.Millisecond, func() error {
		if len(Restarts(s.opts.Dir)) <= restartsBefore {
			return fmt.Errorf("restart command has not run")
		}
		return nil
	})
	if err != nil {
		return st, err
	}
	st.Restarted = time.Now()
	if st.Back, err = s.waitQuery(ctx, fmt.Sprintf(`zookeeper_group_member_up{group=%q,member=%q} == 1`, Group, Member)); err != nil {
		return st, fmt.Errorf("member back: %w", err)
	}
	if st.Resolved, err = s.Sink.WaitNotification(st.Killed, stageTimeout, notificationOf(st.Alert, "resolved", labels)); err != nil {
		return st, fmt.Errorf("resolved notification: %w", err)
	}
	return st, nil
}

// killMemberStep kills a ZooKeeper member; the operator (the scenario)
// starts it again once the notification arrived.
func (s *Stack) killMemberStep(ctx context.Context, role string) (Step, error) {
	st := Step{Name: "kill the ZooKeeper " + role, Alert: "ZooKeeperMemberDown", RestartBy: "operator (the scenario)"}
	if err := s.Ens.WaitHealthy(stageTimeout); err != nil {
		return st, err
	}
	leader := s.Ens.Leader()
	i := leader
	if role == "follower" {
		i = (leader + 1) % len(s.Ens.Members)
	}
	server := s.ExporterAddr(i)
	st.Name += " " + server
	labels := map[string]string{"server": server}
	st.Killed = time.Now()
	s.Ens.Kill(i)
	var err error
	if st.Firing, st.Notified, _, err = s.waitAlerted(ctx, st.Alert, labels, st.Killed); err != nil {
		return st, err
	}
	if err := s.Ens.Start(i); err != nil {
		return st, err
	}
	st.Restarted = time.Now()
	if st.Back, err = s.waitQuery(ctx, fmt.Sprintf(`zookeeper_up{server=%q} == 1`, server)); err != nil {
		return st, fmt.Errorf("member back: %w", err)
	}
	if st.Resolved, err = s.Sink.WaitNotification(st.Killed, stageTimeout, notificationOf(st.Alert, "resolved", labels)); err != nil {
		return st, fmt.Errorf("resolved notification: %w", err)
	}
	return st, nil
}

// ExporterAddr is member i's address as the exporter labels it.
func (s *Stack) ExporterAddr(i int) string {
	if s.Proxy != nil {
		return s.Proxy.Addrs()[i]
	}
	return s.Ens.Members[i].Addr()
}

func notificationOf(alert, status string, labels map[string]string) func(Notification) bool {
	return func(n Notification) bool {
		if n.Status != status || n.Alert.Labels["alertname"] != alert {
			return false
		}
		for k, v := range labels {
			if n.Alert.Labels[k] != v {
				return false
			}
		}
		return true
	}
}

// waitAlerted waits until Prometheus reports alert firing with labels and
// its firing notification, received after since, reached the sink; it
// returns when each was seen and the notification.
func (s *Stack) waitAlerted(ctx context.Context, alert string, labels map[string]string, since time.Time) (firing, notified time.Time, n Notification, err error) {
	if firing, err = s.waitFiring(ctx, alert, labels); err != nil {
		return firing, notified, n, err
	}
	match := notificationOf(alert, "firing", labels)
	notified, err = s.Sink.WaitNotification(since, stageTimeout, func(c Notification) bool {
		if match(c) {
			n = c
			return true
		}
		return false
	})
	if err != nil {
		return firing, notified, n, fmt.Errorf("firing notification: %w", err)
	}
	return earliest(firing, notified), notified, n, nil
}

func (s *Stack) waitFiring(ctx context.Context, alert string, labels map[string]string) (time.Time, error) {
	var at time.Time
	err := zktest.WaitFor(stageTimeout, 50*time.Millisecond, func() error {
		alerts, err := s.Alerts(ctx)
		if err != nil {
			return err
		}
		for _, a := range alerts {
			if a.State == "firing" && a.Labels["alertname"] == alert && matches(a.Labels, labels) {
				at = time.Now()
				return nil
			}
		}
		return fmt.Errorf("%s not firing", alert)
	})
	return at, err
}

func (s *Stack) waitQuery(ctx context.Context, expr string) (time.Time, error) {
	var at time.Time
	err := zktest.WaitFor(stageTimeout, 50*time.Millisecond, func() error {
		v, err := s.Query(ctx, expr)
		if err != nil {
			return err
		}
		if len(v) == 0 {
			return fmt.Errorf("%s: empty", expr)
		}
		at = time.Now()
		return nil
	})
	return at, err
}

func matches(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// PrintStep writes a step's timeline.
func PrintStep(w io.Writer, st Step) {
	fmt.Fprintf(w, "\n== %s (alert %s)\n", st.Name, st.Alert)
	rel := func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return fmt.Sprintf("%s  +%6.2fs", t.Format("15:04:05.000"), t.Sub(st.Killed).Seconds())
	}
	fmt.Fprintf(w, "  killed          %s\n", rel(st.Killed))
	fmt.Fprintf(w, "  alert firing    %s\n", rel(st.Firing))
	fmt.Fprintf(w, "  notification    %s\n", rel(st.Notified))
	fmt.Fprintf(w, "  restart         %s  (%s)\n", rel(st.Restarted), st.RestartBy)
	fmt.Fprintf(w, "  member back     %s\n", rel(st.Back))
	fmt.Fprintf(w, "  resolved        %s\n", rel(st.Resolved))
}

// earliest corrects the polled firing time: a notification already received
// proves the alert fired by then.
func earliest(polled, notified time.Time) time.Time {
	if notified.Before(polled) {
		return notified
	}
	return polled
}
