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

package dnstest

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
)

// Aliases gives each upstream (a test member on 127.0.0.1:<its port>) an
// address of its own on one shared port, 127.0.0.<first+i>:<port>, the
// way the pods of a StatefulSet each have an IP and all listen on 2181,
// so that A records can list them. Each alias relays TCP to its upstream.
// It returns the aliases' IPs and the shared port; they close, with their
// connections, when the test ends.
func Aliases(tb testing.TB, first int, upstreams ...string) ([]string, int) {
	tb.Helper()
	for attempt := 0; attempt < 20; attempt++ {
		r, err := listenAll(first, upstreams)
		if err == nil {
			tb.Cleanup(r.close)
			return r.ips, r.port
		}
	}
	tb.Fatal("dnstest: no port free on every alias address")
	return nil, 0
}

type relays struct {
	ips    []string
	port   int
	ls     []net.Listener
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]bool
	closed bool
}

func listenAll(first int, upstreams []string) (*relays, error) {
	r := &relays{conns: map[net.Conn]bool{}}
	for i := range upstreams {
		ip := fmt.Sprintf("127.0.0.%d", first+i)
		l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(r.port)))
		if err != nil {
			r.close()
			return nil, err
		}
		r.port = l.Addr().(*net.TCPAddr).Port
		r.ls = append(r.ls, l)
		r.ips = append(r.ips, ip)
	}
	for i, l := range r.ls {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.relay(l, upstreams[i])
		}()
	}
	return r, nil
}

func (r *relays) close() {
	for _, l := range r.ls {
		l.Close()
	}
	r.mu.Lock()
	r.closed = true
	for c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}

// track notes an open or closed connection; one opened after close is
// closed at once.
func (r *relays) track(c net.Conn, open bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if open && r.closed {
		c.Close()
	} else if open {
		r.conns[c] = true
	} else {
		delete(r.conns, c)
	}
}

// relay forwards every connection accepted on l to upstream until l is
// closed; a connection ends with either side.
func (r *relays) relay(l net.Listener, upstream string) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", upstream)
		if err != nil {
			c.Close()
			continue
		}
		r.track(c, true)
		r.track(u, true)
		r.wg.Add(2)
		pipe := func(dst, src net.Conn) {
			defer r.wg.Done()
			_, _ = io.Copy(dst, src)
			dst.Close()
			src.Close()
			r.track(dst, false)
			r.track(src, false)
		}
		go pipe(u, c)
		go pipe(c, u)
	}
}
