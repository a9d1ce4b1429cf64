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
	"os"
	"testing"
	"time"
)

// Require skips the test when ZooKeeper is not installed, or fails it when
// running under CI=true, where a missing ZooKeeper is an error.
// Under -short (make test-short) every test that needs a real server is
// skipped here.
func Require(tb testing.TB) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("needs real servers: skipped in -short mode")
	}
	if _, ok := Classpath(); ok {
		return
	}
	msg := "ZooKeeper not installed (apt-get install zookeeper, or set " + ClasspathEnv + ")"
	if os.Getenv("CI") == "true" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
}

// Start launches an n-member ensemble in a temporary directory and stops it
// when the test ends, whatever its outcome. opt may adjust the options.
func Start(tb testing.TB, n int, opt ...func(*Options)) *Ensemble {
	tb.Helper()
	Require(tb)
	opts := Options{Size: n, Dir: tb.TempDir()}
	for _, o := range opt {
		o(&opts)
	}
	begin := time.Now()
	e, err := Launch(opts)
	if err != nil {
		tb.Fatalf("start %d-member ensemble: %v", n, err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Log(e.LogTail(30))
		}
		e.Stop()
	})
	tb.Logf("%d-member ensemble %s ready in %s", n, e.Servers(), time.Since(begin).Round(time.Millisecond))
	return e
}
