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

package zktest

import (
	"bytes"
	"io"
	"net"
	"sync"
	"time"
)

// FakeServer is an in-process server that answers four-letter words with
// canned text (fixtures captured from real servers), for unit tests of
// parsing and error handling. Integration tests use a real ensemble.
type FakeServer struct {
	l       net.Listener
	mu      sync.Mutex
	answers map[string][]byte
	hang    bool
	wg      sync.WaitGroup
	quit    chan struct{}
}

// NewFakeServer listens on 127.0.0.1 and answers each command with
// answers[cmd]; an unknown command gets the whitelist refusal text.
func NewFakeServer(answers map[string][]byte) (*FakeServer, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &FakeServer{l: l, answers: answers, quit: make(chan struct{})}
	go f.serve()
	return f, nil
}

// Addr is the server's host:port.
func (f *FakeServer) Addr() string { return f.l.Addr().String() }

// Set replaces the answer to cmd.
func (f *FakeServer) Set(cmd string, answer []byte) {
	f.mu.Lock()
	f.answers[cmd] = answer
	f.mu.Unlock()
}

// Hang makes the server accept connections and never answer, like a paused
// JVM.
func (f *FakeServer) Hang(on bool) {
	f.mu.Lock()
	f.hang = on
	f.mu.Unlock()
}

// Close stops the server.
func (f *FakeServer) Close() {
	close(f.quit)
	f.l.Close()
	f.wg.Wait()
}

func (f *FakeServer) serve() {
	for {
		c, err := f.l.Accept()
		if err != nil {
			return
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			defer c.Close()
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			cmd := make([]byte, 4)
			if _, err := io.ReadFull(c, cmd); err != nil {
				return
			}
			f.mu.Lock()
			hang := f.hang
			answer, ok := f.answers[string(cmd)]
			f.mu.Unlock()
			if hang {
				<-f.quit
				return
			}
			if !ok {
				answer = []byte(string(cmd) + " is not executed because it is not in the whitelist.\n")
			}
			_, _ = io.Copy(c, bytes.NewReader(answer))
		}()
	}
}
