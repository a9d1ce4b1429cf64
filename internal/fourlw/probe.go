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
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Status is what one probe of one server found. Fields are nil or empty
// when the server did not give them.
type Status struct {
	Addr     string
	Up       bool
	Duration time.Duration
	Err      error // the reason the server is not up, or nil
	// NotServing: the server is alive (answers imok) but has no running
	// ZooKeeperServer: it is electing, or it is a leader with leaderServes=no.
	NotServing bool
	Mntr       []Field
	Srvr       *Srvr
	Conf       *Conf
	// Allowed records, for each command tried, whether the server allowed
	// it (false: refused by 4lw.commands.whitelist).
	Allowed map[string]bool
}

// Mode returns the server state: leader, follower, observer, standalone,
// read-only, looking, or "" when unknown.
func (s *Status) Mode() string {
	if s.Srvr != nil {
		return s.Srvr.Mode
	}
	for _, f := range s.Mntr {
		if f.Key == "zk_server_state" {
			return strings.ToLower(f.Text)
		}
	}
	return ""
}

// Version returns the server's version string, trimmed of build details.
func (s *Status) Version() string {
	v := ""
	if s.Srvr != nil {
		v = s.Srvr.Version
	}
	for _, f := range s.Mntr {
		if f.Key == "zk_version" {
			v = f.Text
		}
	}
	// "3.8.0-${mvngit.commit.id}, built on ..." → "3.8.0"
	v, _, _ = strings.Cut(v, ",")
	v, _, _ = strings.Cut(v, "-")
	return strings.TrimSpace(v)
}

// Prober fetches the status of one server.
type Prober interface {
	Probe(ctx context.Context, addr string, withConf bool) *Status
}

// FourLetterProber probes with four-letter words: mntr and srvr in parallel
// (srvr carries the zxid, which mntr lacks), conf when asked for. When mntr
// is not whitelisted, srvr alone still gives state, zxid and latency; when
// srvr is refused too, ruok tells whether the server is alive.
type FourLetterProber struct {
	MaxBytes int64
	// TLS, when set, speaks TLS to the members' secure client ports.
	TLS *tls.Config
}

// Probe implements Prober.
func (p FourLetterProber) Probe(ctx context.Context, addr string, withConf bool) *Status {
	begin := time.Now()
	st := &Status{Addr: addr, Allowed: map[string]bool{}}
	cmds := []string{"mntr", "srvr"}
	if withConf {
		cmds = append(cmds, "conf")
	}
	type answer struct {
		data    []byte
		release func()
	}
	answers, errs := each(cmds, func(cmd string) (answer, error) {
		data, release, err := doPooled(ctx, p.TLS, addr, cmd, p.MaxBytes)
		return answer{data, release}, err
	})
	var firstErr error
	for i, cmd := range cmds {
		err := errs[i]
		defer answers[i].release()
		if errors.Is(err, ErrNotWhitelisted) {
			st.Allowed[cmd] = false
			continue
		}
		if errors.Is(err, ErrNotServing) {
			st.NotServing = true
			st.Allowed[cmd] = true
			continue
		}
		if err == nil {
			st.Allowed[cmd] = true
			switch cmd {
			case "mntr":
				st.Mntr, err = ParseMntr(answers[i].data)
			case "srvr":
				st.Srvr, err = ParseSrvr(answers[i].data)
			case "conf":
				st.Conf, err = ParseConf(answers[i].data)
			}
			if err != nil {
				err = &Error{addr, cmd, err}
			}
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	switch {
	case st.Mntr != nil || st.Srvr != nil:
		st.Up = true
	case st.NotServing || (!st.Allowed["mntr"] && !st.Allowed["srvr"] && firstErr == nil):
		// Electing, a non-serving leader, or nothing whitelisted we can
		// use: ruok (always whitelisted together with srvr by default, and
		// answered even while not serving) says whether it is alive.
		out, err := DoTLS(ctx, p.TLS, addr, "ruok", 16)
		switch {
		case errors.Is(err, ErrNotWhitelisted):
			st.Allowed["ruok"] = false
		case err != nil:
			firstErr = err
		default:
			st.Allowed["ruok"] = true
			st.Up = ParseRuok(out)
			if !st.Up {
				firstErr = &Error{addr, "ruok", fmt.Errorf("%w: %q", ErrGarbage, truncate(out, 20))}
			}
		}
	}
	if !st.Up {
		st.Err = firstErr
		if st.Err == nil {
			st.Err = &Error{addr, "mntr", ErrNotWhitelisted}
		}
	}
	st.Duration = time.Since(begin)
	return st
}

// AdminProber probes through the AdminServer's JSON commands, for clusters
// that disable four-letter words. AdminAddr maps a client address to the
// AdminServer's host:port. With HTTPS set it asks https:// URLs; Client's
// transport then carries the TLS settings (see AdminClient).
type AdminProber struct {
	Client    *http.Client
	AdminAddr func(clientAddr string) string
	MaxBytes  int64
	HTTPS     bool
}

// AdminClient returns the HTTP client for AdminProber: plain HTTP when tc is
// nil, else HTTPS with tc (certificates checked against each member's host
// unless tc names a server).
func AdminClient(tc *tls.Config) *http.Client {
	if tc == nil {
		return &http.Client{}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc.Clone()
	return &http.Client{Transport: tr}
}

// Probe implements Prober.
func (p AdminProber) Probe(ctx context.Context, addr string, withConf bool) *Status {
	begin := time.Now()
	st := &Status{Addr: addr, Allowed: map[string]bool{}}
	base := p.base(addr)
	cmds := []string{"monitor", "stat"}
	if withConf {
		cmds = append(cmds, "configuration")
	}
	docs, errs := each(cmds, func(cmd string) (map[string]any, error) { return p.get(ctx, base+cmd) })
	for i, cmd := range cmds {
		if errs[i] != nil {
			if st.Err == nil {
				st.Err = &Error{addr, "admin " + cmd, errs[i]}
			}
			continue
		}
		st.Allowed[cmd] = true
		switch cmd {
		case "monitor":
			st.Mntr = monitorFields(docs[i])
		case "stat":
			st.Srvr = statToSrvr(docs[i])
		case "configuration":
			if id, err := strconv.Atoi(fmt.Sprint(docs[i]["server_id"])); err == nil {
				st.Conf = &Conf{ServerID: id}
			}
		}
	}
	if e, ok := docs[0]["error"].(string); ok && e != "" {
		if strings.Contains(e, "not currently serving") {
			st.NotServing = true
		}
		st.Mntr = nil
	}
	st.Up = st.Mntr != nil || st.Srvr != nil || st.NotServing
	if st.Up {
		st.Err = nil
	}
	st.Duration = time.Since(begin)
	return st
}

// base is the URL of addr's AdminServer commands.
func (p AdminProber) base(addr string) string {
	scheme := "http://"
	if p.HTTPS {
		scheme = "https://"
	}
	return scheme + p.AdminAddr(addr) + "/commands/"
}

// command asks addr's AdminServer for cmd; an answer whose error field is
// set is an error.
func (p AdminProber) command(ctx context.Context, addr, cmd string) (map[string]any, error) {
	doc, err := p.get(ctx, p.base(addr)+cmd)
	if err == nil {
		if e, ok := doc["error"].(string); ok && e != "" {
			err = errors.New(e)
			if strings.Contains(e, "not currently serving") {
				err = ErrNotServing
			}
		}
	}
	if err != nil {
		return nil, &Error{addr, "admin " + cmd, err}
	}
	return doc, nil
}

func (p AdminProber) get(ctx context.Context, url string) (map[string]any, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	client := p.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, classify(err)
	}
	defer resp.Body.Close()
	max := p.MaxBytes
	if max <= 0 {
		max = DefaultMaxResponseBytes
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, classify(err)
	}
	if int64(len(body)) > max {
		return nil, ErrTooLarge
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d: %s", resp.StatusCode, truncate(body, 80))
	}
	// Numbers stay json.Number: a zxid does not fit a float64's mantissa.
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrGarbage, err)
	}
	return doc, nil
}

// monitorFields turns /commands/monitor into the fields mntr would give.
func monitorFields(doc map[string]any) []Field {
	var fields []Field
	for k, v := range doc {
		key := "zk_" + k
		var labels []Label
		if k == "command" || k == "error" {
			continue
		}
		if !validKey([]byte(key)) {
			name, l, ok := labelledKey([]byte(key))
			if !ok {
				continue
			}
			key, labels = string(name), l
		}
		switch v := v.(type) {
		case json.Number:
			if f, err := v.Float64(); err == nil {
				fields = append(fields, Field{Key: key, Value: f, Numeric: true, Labels: labels})
			}
		case string:
			fields = append(fields, Field{Key: key, Text: v, Labels: labels})
		}
	}
	return fields
}

// statToSrvr takes what srvr would give from /commands/stat.
func statToSrvr(doc map[string]any) *Srvr {
	ss, ok := doc["server_stats"].(map[string]any)
	if !ok {
		return nil
	}
	num := func(m map[string]any, k string) float64 {
		v, _ := m[k].(json.Number)
		f, _ := v.Float64()
		return f
	}
	zxid, _ := strconv.ParseUint(fmt.Sprint(ss["last_processed_zxid"]), 10, 64)
	mode, _ := ss["server_state"].(string)
	version, _ := doc["version"].(string)
	return &Srvr{
		Version:    version,
		LatencyMin: num(ss, "min_latency"), LatencyAvg: num(ss, "avg_latency"), LatencyMax: num(ss, "max_latency"),
		Received: num(ss, "packets_received"), Sent: num(ss, "packets_sent"),
		Connections: num(ss, "num_alive_client_connections"), Outstanding: num(ss, "outstanding_requests"),
		Zxid: Zxid(zxid), Mode: strings.ToLower(mode),
		NodeCount: num(doc, "node_count"),
	}
}

// adminWchs reads /commands/watch_summary, what wchs tells.
func adminWchs(doc map[string]any) (*Wchs, error) {
	var w Wchs
	for _, f := range []struct {
		key string
		v   *float64
	}{{"num_connections", &w.Connections}, {"num_paths", &w.Paths}, {"num_total_watches", &w.Watches}} {
		n, ok := doc[f.key].(json.Number)
		if !ok {
			return nil, fmt.Errorf("%w: no %s in watch_summary", ErrGarbage, f.key)
		}
		var err error
		if *f.v, err = n.Float64(); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrGarbage, f.key, err)
		}
	}
	return &w, nil
}

// adminIsro reads /commands/is_read_only, what isro tells.
func adminIsro(doc map[string]any) (bool, error) {
	ro, ok := doc["read_only"].(bool)
	if !ok {
		return false, fmt.Errorf("%w: no read_only in is_read_only", ErrGarbage)
	}
	return ro, nil
}

// each runs f for every command at once and returns the results in the
// commands' order.
func each[T any](cmds []string, f func(cmd string) (T, error)) ([]T, []error) {
	out := make([]T, len(cmds))
	errs := make([]error, len(cmds))
	var wg sync.WaitGroup
	for i, cmd := range cmds[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i+1], errs[i+1] = f(cmd)
		}()
	}
	// The first on this goroutine: one goroutine fewer to start and wake.
	if len(cmds) > 0 {
		out[0], errs[0] = f(cmds[0])
	}
	wg.Wait()
	return out, errs
}
