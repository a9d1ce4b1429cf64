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

// Package receivertest runs an in-process receiver over a temporary store
// behind an httptest server, for tests and benchmarks.
package receivertest

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zkwatch/zkwatch/receiver"
	"github.com/zkwatch/zkwatch/receiver/config"
	"github.com/zkwatch/zkwatch/receiver/store"
	"github.com/zkwatch/zkwatch/receiver/web"
)

// Env is a running receiver.
type Env struct {
	Receiver *receiver.Receiver
	Store    *store.Store
	Server   *httptest.Server
	Registry *prometheus.Registry
	once     sync.Once
	stop     func()
}

// Start runs a receiver with the configuration cfgYAML until the test
// ends; each setup function is applied before it runs. With -v it logs at
// debug level through tb.
func Start(tb testing.TB, cfgYAML string, setup ...func(*receiver.Receiver)) *Env {
	tb.Helper()
	cfg, err := config.Load([]byte(cfgYAML))
	if err != nil {
		tb.Fatalf("config: %v\n%s", err, cfgYAML)
	}
	st, err := store.Open(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	logger := log.NewNopLogger()
	if testing.Verbose() {
		logger = log.NewLogfmtLogger(log.NewSyncWriter(tbWriter{tb}))
	}
	rcv, err := receiver.New(st, cfg, reg, logger)
	if err != nil {
		tb.Fatal(err)
	}
	for _, f := range setup {
		f(rcv)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { rcv.Run(ctx); close(done) }()
	srv := httptest.NewServer(web.New(rcv, web.Options{Logger: logger}))
	e := &Env{Receiver: rcv, Store: st, Server: srv, Registry: reg}
	e.stop = func() {
		srv.Close()
		cancel()
		<-done
		st.Close()
	}
	tb.Cleanup(e.Stop)
	return e
}

// Stop shuts the receiver down; it is safe to call more than once.
func (e *Env) Stop() { e.once.Do(e.stop) }

type tbWriter struct{ tb testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
