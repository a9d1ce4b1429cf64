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

// Package ha coordinates receiver replicas through ZooKeeper so that each
// restart attempt and each notification happens once across replicas.
//
// Every replica receives every alert from Alertmanager and keeps its own
// store. Before it acts, a replica claims the action: a persistent claim
// node per (incident, action, attempt) created together with an ephemeral
// lease child in one multi-op. The claim names its owner and, once
// recorded, the outcome; the lease lives as long as the owner's session.
// A claim without an outcome whose lease is gone (its owner's session
// ended) is taken over, as in Curator's lease recipes.
package ha

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"time"
)

// Key names one action: the restart attempt of a rule or the delivery of
// one message to one notifier, for one incident.
type Key struct {
	Incident string
	Action   string
	Attempt  int
	// UntilSuccess marks actions retried until an attempt succeeds (a
	// restart): attempt n+1 is not claimed once attempt n recorded
	// OutcomeSuccess; Claim reports attempt n's result instead.
	UntilSuccess bool
}

// OutcomeSuccess is the outcome that ends an UntilSuccess action.
const OutcomeSuccess = "success"

// node is the claim's node name under the incident's node.
func (k Key) node() string {
	return url.PathEscape(k.Action) + "-" + strconv.Itoa(k.Attempt)
}

// Result is the state of a claim as Claim found or left it.
type Result struct {
	// Won is set when this replica holds the claim and must act.
	Won bool
	// Owner is the replica that holds (or held) the claim.
	Owner string
	// Outcome is the outcome its owner recorded; empty while the owner is
	// still acting (then the caller waits).
	Outcome string
	// Detail is the owner's own record of the action (JSON), when it
	// wrote one with RecordDetail, so that the other replicas show what
	// it did instead of a bare outcome.
	Detail []byte
	// TakenOver names the previous owner when Won came from taking over a
	// claim whose owner's session ended before it recorded an outcome: the
	// action may or may not have happened.
	TakenOver string
}

// Pending reports whether another replica holds the claim and is still
// acting.
func (r Result) Pending() bool { return !r.Won && r.Outcome == "" }

// ErrUnavailable is returned while there is no live ZooKeeper session: the
// caller cannot know whether another replica acts.
var ErrUnavailable = errors.New("no live ZooKeeper session")

// Coordinator is what the scheduler and the outbox ask before acting.
type Coordinator interface {
	// Replica is this replica's name, recorded on what it did.
	Replica() string
	// Claim claims k for this replica (see Result).
	Claim(ctx context.Context, k Key) (Result, error)
	// Record stores the outcome of a claim this replica won; it keeps
	// trying in the background while ZooKeeper is unavailable.
	Record(k Key, outcome string)
	// RecordDetail is Record with the owner's record of the action (JSON),
	// which Claim then returns to the other replicas in Result.Detail.
	RecordDetail(k Key, outcome string, detail []byte)
	// FailOpen counts a notification sent without a claim.
	FailOpen()
	// DownSince is when the current loss of ZooKeeper began (zero while
	// connected); the process start counts as such a beginning.
	DownSince() time.Time
	// Cleanup removes the claims of incidents whose claims all date from
	// before olderThan.
	Cleanup(olderThan time.Time) (int, error)
}

// WatchdogClock shares the watchdog alert's last arrival between
// replicas, so that they agree on when it went missing and page once for
// each outage (the outage is named by that time).
type WatchdogClock interface {
	// WatchdogSeen raises the shared last arrival to t.
	WatchdogSeen(t time.Time) error
	// WatchdogLastSeen returns the latest arrival any replica shared.
	WatchdogLastSeen() (time.Time, error)
}

// Single is the Coordinator of a receiver without replicas: it wins every
// claim.
type Single struct{}

// Replica implements Coordinator.
func (Single) Replica() string { return "" }

// Claim implements Coordinator.
func (Single) Claim(context.Context, Key) (Result, error) { return Result{Won: true}, nil }

// Record implements Coordinator.
func (Single) Record(Key, string) {}

// RecordDetail implements Coordinator.
func (Single) RecordDetail(Key, string, []byte) {}

// FailOpen implements Coordinator.
func (Single) FailOpen() {}

// DownSince implements Coordinator.
func (Single) DownSince() time.Time { return time.Time{} }

// Cleanup implements Coordinator.
func (Single) Cleanup(time.Time) (int, error) { return 0, nil }

// Journal shares incidents between replicas through the claims' nodes,
// so that a replica that was down while an incident came and went learns
// of it, and of what the others did about it, when it is back.
type Journal interface {
	// Publish stores the incident's description (JSON) on its node; a
	// description that is not final (a firing incident) does not replace
	// one already there.
	Publish(incident string, data []byte, final bool) error
	// Incidents lists the incidents with a node.
	Incidents() ([]string, error)
	// Incident returns an incident's description (nil when none was
	// published) and its claims.
	Incident(id string) ([]byte, []ClaimRecord, error)
}

// ClaimRecord is a claim as Journal.Incident reads it.
type ClaimRecord struct {
	Action   string
	Attempt  int
	Owner    string
	Outcome  string // "" while its owner acts
	Recorded time.Time
	Detail   []byte
}
