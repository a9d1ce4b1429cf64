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
	"io"
	"net"
	"sync"
)

// Proxy is a TCP proxy on 127.0.0.1 in front of one or more ZooKeeper
// members. Blackhole makes it swallow traffic in both directions without
// closing connections, the way a network partition looks to a client, so
// that sessions expire; Restore lets traffic flow again. Each upstream
// address gets its own listening port (see Addr).
type Proxy struct {
	mu        sync.Mutex
	listeners []net.Listener
	addrs     []string
	conns     map[net.Conn]struct{}
	blackhole bool
	cond      *sync.Cond
	closed    bool
}

// NewProxy listens on one loopback port per upstream address.
func NewProxy(upstreams ...string) (*Proxy, error) {
	p := &Proxy{conns: map[net.Conn]struct{}{}}
	p.cond = sync.NewCond(&p.mu)
	for _, up := range upstreams {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			p.Close()
			return nil, err
		}
		p.listeners = append(p.listeners, l)
		p.addrs = append(p.addrs, l.Addr().String())
		go p.accept(l, up)
	}
	return p, nil
}

// Addrs returns the proxy's listening addresses, one per upstream.
func (p *Proxy) Addrs() []string { return append([]string(nil), p.addrs...) }

// Blackhole stops forwarding; bytes already read are held, not dropped,
// until Restore, as a congested network would do.
func (p *Proxy) Blackhole() {
	p.mu.Lock()
	p.blackhole = true
	p.mu.Unlock()
}

// Restore resumes forwarding.
func (p *Proxy) Restore() {
	p.mu.Lock()
	p.blackhole = false
	p.cond.Broadcast()
	p.mu.Unlock()
}

// CutAll closes every proxied connection (a hard disconnect).
func (p *Proxy) CutAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}

// Close stops the proxy and closes all connections.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	p.blackhole = false
	p.cond.Broadcast()
	for _, l := range p.listeners {
		l.Close()
	}
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
}

func (p *Proxy) accept(l net.Listener, upstream string) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go p.serve(c, upstream)
	}
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) serve(client net.Conn, upstream string) {
	p.mu.Lock()
	for p.blackhole && !p.closed {
		p.cond.Wait() // a partitioned network does not complete new connections either
	}
	p.mu.Unlock()
	server, err := net.Dial("tcp", upstream)
	if err != nil {
		client.Close()
		return
	}
	if !p.track(client) || !p.track(server) {
		client.Close()
		server.Close()
		return
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.pipe(server, client) }()
	go func() { defer wg.Done(); p.pipe(client, server) }()
	wg.Wait()
	p.mu.Lock()
	delete(p.conns, client)
	delete(p.conns, server)
	p.mu.Unlock()
}

func (p *Proxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			for p.blackhole && !p.closed {
				p.cond.Wait()
			}
			closed := p.closed
			p.mu.Unlock()
			if closed {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				return
			}
			return
		}
	}
}
