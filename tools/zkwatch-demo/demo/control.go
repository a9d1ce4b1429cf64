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
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

// controlSocket is the Unix socket, in the state directory, through which
// `zkwatch-demo member stop|start|restart N` asks the running demo to stop,
// start or restart one of its members. The demo does it itself, so that a member started
// again is its child like the others (own process group, killed with the
// demo) and only this demo's members can be touched: no pattern matched
// against every process on the machine.
const controlSocket = "control.sock"

// maxSocketPath is the size of sun_path on Linux, terminating NUL included.
const maxSocketPath = 108

// memberStartTimeout bounds the wait for a started member to answer.
const memberStartTimeout = 60 * time.Second

// serveControl listens on the control socket.
func (s *Stack) serveControl() error {
	path := s.path(controlSocket)
	if len(path) >= maxSocketPath {
		return fmt.Errorf("control socket %s: path longer than %d bytes; use a shorter --dir", path, maxSocketPath-1)
	}
	_ = os.Remove(path) // left by a demo that was killed
	l, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		_ = l.Close()
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /members/{id}/{action}", s.handleMember)
	s.control = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.control.Serve(l) }()
	return nil
}

func (s *Stack) handleMember(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil || id < 1 || id > len(s.Ens.Members) {
		http.Error(w, fmt.Sprintf("no member %q: the ensemble has members 1 to %d", r.PathValue("id"), len(s.Ens.Members)), http.StatusBadRequest)
		return
	}
	msg, err := s.memberAction(id-1, r.PathValue("action"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	fmt.Fprintln(w, msg)
}

// memberAction stops, starts or restarts member i (0-based) and says what
// it did. A restart returns once the new process answers, so that
// zkwatch_roll, whose per-member command it is, never takes the old
// process for the restarted one.
func (s *Stack) memberAction(i int, action string) (string, error) {
	m := s.Ens.Members[i]
	name := fmt.Sprintf("member %d (%s)", m.ID, m.Addr())
	switch action {
	case "stop", "restart":
		if !s.Ens.Running(i) {
			return "", fmt.Errorf("%s is not running", name)
		}
		s.Ens.Kill(i)
		if action == "restart" {
			return s.startMember(i, name, "restarted")
		}
		s.logf("%s stopped (SIGKILL) on request", name)
		return name + " stopped (SIGKILL)", nil
	case "start":
		if s.Ens.Running(i) {
			return "", fmt.Errorf("%s is already running", name)
		}
		return s.startMember(i, name, "started")
	default:
		return "", fmt.Errorf("unknown action %q: stop, start or restart", action)
	}
}

// startMember starts member i and waits until it answers with its mode.
func (s *Stack) startMember(i int, name, did string) (string, error) {
	if err := s.Ens.Start(i); err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	var mode string
	err := zktest.WaitFor(memberStartTimeout, 100*time.Millisecond, func() (err error) {
		mode, err = s.Ens.Mode(i)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("%s %s but does not answer: %w (see %s)", name, did, err, s.path(fmt.Sprintf("zk/zk%d", s.Ens.Members[i].ID)))
	}
	s.logf("%s %s on request: %s", name, did, mode)
	return fmt.Sprintf("%s %s: %s", name, did, mode), nil
}

// MemberCommand asks the demo running in dir to stop, start or restart member id
// (1-based, as the demo prints them) and returns its answer.
func MemberCommand(ctx context.Context, dir, action, id string) (string, error) {
	path := filepath.Join(dir, controlSocket)
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}
	ctx, cancel := context.WithTimeout(ctx, memberStartTimeout+10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://demo/members/"+url.PathEscape(id)+"/"+url.PathEscape(action), nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
			return "", fmt.Errorf("no demo is running in %s (start one with make demo)", dir)
		}
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", err
	}
	text := strings.TrimSpace(string(body))
	if resp.StatusCode != http.StatusOK {
		return "", errors.New(text)
	}
	return text, nil
}
