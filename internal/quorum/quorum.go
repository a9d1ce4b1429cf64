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

// Package quorum is the quorum guard shared by the receiver's restarts and
// zkwatch_roll: before a member is restarted it proves that the other
// voting members can keep a quorum without it.
package quorum

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"sort"
	"strings"

	"github.com/zkwatch/zkwatch/internal/fourlw"
)

// Answer is what one member said when asked for its mode.
type Answer struct {
	Addr string
	Mode string // srvr Mode: leader, follower, observer, standalone, ...
	Err  error
}

// Serving tells whether the answer counts toward a quorum: a voting
// member that leads or follows (or a standalone server).
func (a Answer) Serving() bool {
	return a.Err == nil && (a.Mode == "leader" || a.Mode == "follower" || a.Mode == "standalone")
}

// Mode asks a member for its srvr Mode (leader, follower, standalone, ...),
// over TLS when tc is set.
func Mode(ctx context.Context, tc *tls.Config, addr string) (string, error) {
	out, err := fourlw.DoTLS(ctx, tc, addr, "srvr", 0)
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Mode:"); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("%s: srvr answer has no Mode line", addr)
}

// AskModes asks every member of addrs for its mode at once; the answers
// come back in the order of addrs.
func AskModes(ctx context.Context, tc *tls.Config, addrs []string) []Answer {
	out := make([]Answer, len(addrs))
	done := make(chan struct{}, len(addrs))
	for i, a := range addrs {
		go func() {
			mode, err := Mode(ctx, tc, a)
			out[i] = Answer{Addr: a, Mode: mode, Err: err}
			done <- struct{}{}
		}()
	}
	for range addrs {
		<-done
	}
	return out
}

// Check returns nil when the members that answered in others (every voting
// member but target) are enough for a quorum of voters voting members
// without target. known tells whether target is one of the voters: when it
// is not (an unknown address), one serving member more than a bare
// majority is required, since the restart might take any of them down.
// An observer target is known and takes no vote, so restarting it needs
// only the quorum there is.
func Check(voters int, target string, known bool, others []Answer) error {
	serving := 0
	var down []string
	for _, a := range others {
		switch {
		case a.Serving():
			serving++
		case a.Err != nil:
			down = append(down, fmt.Sprintf("%s: %s", a.Addr, fourlw.Reason(a.Err)))
		default:
			down = append(down, fmt.Sprintf("%s: mode %s", a.Addr, a.Mode))
		}
	}
	sort.Strings(down) // a stable reason is recorded once, not per check
	need := voters/2 + 1
	if !known {
		need++
	}
	if serving < need {
		return fmt.Errorf("only %d of the other members serve, %d needed for a quorum without %s (%s)",
			serving, need, targetName(target), strings.Join(down, "; "))
	}
	return nil
}

func targetName(t string) string {
	if t == "" {
		return "the target"
	}
	return t
}
