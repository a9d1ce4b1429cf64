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

package fourlw

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Conn is one client connection as cons (or the AdminServer's
// connections) lists it. Counts are the connection's own since it was
// established.
type Conn struct {
	// Client is the remote IP address, without the port: ports are
	// ephemeral, so a label with them would grow without bound.
	Client string
	// Outstanding is the requests queued and not yet answered (queued=).
	Outstanding float64
	// Received and Sent are packets (recved=, sent=).
	Received, Sent float64
	// MaxLatency is the highest request latency in milliseconds (maxlat=);
	// 0 for a connection without a session (such as the one asking).
	MaxLatency float64
}

// ParseConsList parses the answer of cons in the form of ZooKeeper 3.4
// to 3.9, one connection a line:
//
//	/127.0.0.1:54321[1](queued=0,recved=10,sent=10,sid=0x...,lop=PING,...,maxlat=0)
//
// A connection without a session, such as the one that asks, lists only
// queued, recved and sent.
func ParseConsList(data []byte) ([]Conn, error) {
	var conns []Conn
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		c, err := parseConsLine(line)
		if err != nil {
			return nil, fmt.Errorf("%w: cons line %q: %v", ErrGarbage, truncate([]byte(line), 60), err)
		}
		conns = append(conns, c)
	}
	return conns, nil
}

func parseConsLine(line string) (Conn, error) {
	head, rest, ok := strings.Cut(line, "(")
	if !ok || !strings.HasPrefix(line, "/") && !strings.Contains(head, "/") || !strings.HasSuffix(rest, ")") {
		return Conn{}, fmt.Errorf("not /address[ops](stats)")
	}
	// The interest ops: "[1]" after the port.
	if i := strings.LastIndexByte(head, '['); i > 0 && strings.HasSuffix(head, "]") {
		if _, err := strconv.Atoi(head[i+1 : len(head)-1]); err == nil {
			head = head[:i]
		}
	}
	// "hostname/ip:port" when the address was resolved, "/ip:port" if not.
	host, err := clientIP(head[strings.LastIndexByte(head, '/')+1:])
	if err != nil {
		return Conn{}, err
	}
	c := Conn{Client: host}
	for _, kv := range strings.Split(strings.TrimSuffix(rest, ")"), ",") {
		k, v, _ := strings.Cut(kv, "=")
		var dst *float64
		switch k {
		case "queued":
			dst = &c.Outstanding
		case "recved":
			dst = &c.Received
		case "sent":
			dst = &c.Sent
		case "maxlat":
			dst = &c.MaxLatency
		default:
			continue
		}
		if *dst, err = strconv.ParseFloat(v, 64); err != nil {
			return Conn{}, fmt.Errorf("%s=%q is not a number", k, v)
		}
	}
	return c, nil
}

// clientIP takes the host of "ip:port", "[ipv6]:port" or, as Java prints
// an IPv6 socket address, "0:0:0:0:0:0:0:1:port".
func clientIP(addr string) (string, error) {
	i := strings.LastIndexByte(addr, ':')
	if i <= 0 {
		return "", fmt.Errorf("address %q has no port", addr)
	}
	if _, err := strconv.ParseUint(addr[i+1:], 10, 16); err != nil {
		return "", fmt.Errorf("address %q has no port", addr)
	}
	host := strings.TrimSuffix(strings.TrimPrefix(addr[:i], "["), "]")
	if host == "" {
		return "", fmt.Errorf("address %q has no host", addr)
	}
	return host, nil
}

// adminConsList reads /commands/connections: plain and secure client
// connections (unlike cons, not the asking one).
func adminConsList(doc map[string]any) ([]Conn, error) {
	plain, ok := doc["connections"].([]any)
	if !ok {
		return nil, fmt.Errorf("%w: no connections list", ErrGarbage)
	}
	secure, _ := doc["secure_connections"].([]any)
	conns := make([]Conn, 0, len(plain)+len(secure))
	for _, e := range append(plain, secure...) {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: connection entry is not an object", ErrGarbage)
		}
		addr, _ := m["remote_socket_address"].(string)
		host, err := clientIP(addr)
		if err != nil {
			return nil, fmt.Errorf("%w: connections: %v", ErrGarbage, err)
		}
		num := func(k string) float64 {
			n, _ := m[k].(json.Number)
			f, _ := n.Float64()
			return f
		}
		conns = append(conns, Conn{
			Client: host, Outstanding: num("outstanding_requests"),
			Received: num("packets_received"), Sent: num("packets_sent"), MaxLatency: num("max_latency"),
		})
	}
	return conns, nil
}

// Cons asks addr for its client connections (cons, or the AdminServer's
// connections).
func (c *Client) Cons(ctx context.Context, addr string) ([]Conn, error) {
	text, doc, err := c.ask(ctx, addr, "cons")
	if err != nil {
		return nil, err
	}
	var conns []Conn
	if doc != nil {
		conns, err = adminConsList(doc)
	} else {
		conns, err = ParseConsList(text)
	}
	return conns, c.wrap(addr, "cons", err)
}
