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
	"bufio"
	"bytes"
	"fmt"
	"maps"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// Field is one line of mntr: a key (with its zk_ prefix) and either a
// numeric value or a string.
type Field struct {
	Key     string
	Value   float64
	Text    string
	Numeric bool
	// Labels are set for keys of the Prometheus metrics provider, such as
	// zk_jvm_threads_state{state="RUNNABLE"}; Key is then the name alone.
	Labels []Label
}

// maxFields bounds what one mntr answer may produce, so a misbehaving server
// cannot blow up the exporter's memory or the scrape's cardinality.
const maxFields = 10000

// fieldSlices recycles the field slices of mntr answers (about 500 fields
// of 3.8, 36 KiB per member and scrape): see ReleaseFields.
var fieldSlices sync.Pool

func newFields(n int) []Field {
	if p, ok := fieldSlices.Get().(*[]Field); ok && cap(*p) >= n {
		return (*p)[:0]
	}
	return make([]Field, 0, n)
}

// ReleaseFields gives a slice that ParseMntr returned back for reuse, once
// nothing refers to it any more.
func ReleaseFields(f []Field) {
	if cap(f) == 0 || cap(f) > maxFields {
		return
	}
	clear(f[:cap(f)])
	f = f[:0]
	fieldSlices.Put(&f)
}

// ParseMntr parses mntr output (tab-separated key/value lines). Lines that do
// not fit the format are skipped; an answer with no valid line is garbage.
func ParseMntr(data []byte) ([]Field, error) {
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%w: mntr answer is not UTF-8", ErrGarbage)
	}
	fields := newFields(bytes.Count(data, []byte{'\n'}) + 1)
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		tab := bytes.IndexByte(line, '\t')
		if tab < 0 {
			continue
		}
		key := bytes.TrimSpace(line[:tab])
		var labels []Label
		if !validKey(key) {
			var ok bool
			if key, labels, ok = labelledKey(key); !ok {
				continue
			}
		}
		val := bytes.TrimSpace(line[tab+1:])
		f := Field{Key: keys.intern(key), Labels: labels}
		// The conversion for ParseFloat does not escape: no allocation
		// for the numbers that make up nearly every line.
		if v, err := strconv.ParseFloat(string(val), 64); err == nil {
			f.Value, f.Numeric = v, true
		} else {
			f.Text = string(val)
		}
		fields = append(fields, f)
		if len(fields) > maxFields {
			return nil, fmt.Errorf("%w: more than %d mntr fields", ErrGarbage, maxFields)
		}
	}
	if len(fields) == 0 {
		return nil, fmt.Errorf("%w: no key/value lines in mntr answer", ErrGarbage)
	}
	return fields, nil
}

// keys interns mntr keys: the same few hundred keys come back every scrape
// from every member, so one string each is enough.
var keys interner

// interner hands out one string per key. Lookups read an immutable map
// without locking (the members of a scrape parse at the same time). New
// keys go to a locked map that is merged into a new immutable one when it
// has grown to half the size of the old one, so that adding n keys copies
// O(n) entries.
type interner struct {
	frozen atomic.Pointer[map[string]string]
	mu     sync.Mutex
	fresh  map[string]string
	n      int // keys in frozen and fresh
}

// maxInterned bounds the interner against servers inventing keys.
const maxInterned = 20000

func (in *interner) intern(b []byte) string {
	if m := in.frozen.Load(); m != nil {
		if s, ok := (*m)[string(b)]; ok {
			return s
		}
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if m := in.frozen.Load(); m != nil { // frozen since the look above
		if s, ok := (*m)[string(b)]; ok {
			return s
		}
	}
	if s, ok := in.fresh[string(b)]; ok {
		return s
	}
	s := string(b)
	if in.n >= maxInterned {
		return s
	}
	if in.fresh == nil {
		in.fresh = map[string]string{}
	}
	in.fresh[s] = s
	in.n++
	if frozen := in.frozen.Load(); frozen == nil || 2*len(in.fresh) >= len(*frozen) {
		m := make(map[string]string, in.n)
		if frozen != nil {
			maps.Copy(m, *frozen)
		}
		maps.Copy(m, in.fresh)
		in.frozen.Store(&m)
		in.fresh = nil
	}
	return s
}

// validKey accepts zk_ keys made of [A-Za-z0-9_] so that every key can
// become part of a metric name.
func validKey(k []byte) bool {
	if !bytes.HasPrefix(k, []byte("zk_")) || len(k) <= 3 || len(k) > 200 {
		return false
	}
	for _, r := range k {
		if !keyByte[r] {
			return false
		}
	}
	return true
}

// keyByte marks the bytes validKey accepts: [A-Za-z0-9_].
var keyByte = func() (t [256]bool) {
	for c := range t {
		t[c] = c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	return t
}()

// Zxid is a ZooKeeper transaction id: the high 32 bits are the leader epoch,
// the low 32 bits a counter within the epoch.
type Zxid uint64

// Epoch returns the leader epoch.
func (z Zxid) Epoch() uint32 { return uint32(z >> 32) }

// Counter returns the transaction counter within the epoch.
func (z Zxid) Counter() uint32 { return uint32(z) }

// Srvr is the parsed answer of srvr.
type Srvr struct {
	Version                            string
	LatencyMin, LatencyAvg, LatencyMax float64 // milliseconds
	Received, Sent                     float64
	Connections, Outstanding           float64
	Zxid                               Zxid
	Mode                               string
	NodeCount                          float64
}

// ParseSrvr parses srvr (or stat) output. Mode and Zxid are required.
func ParseSrvr(data []byte) (*Srvr, error) {
	s := &Srvr{}
	var haveMode, haveZxid bool
	for text := string(data); text != ""; {
		var line string
		line, text, _ = strings.Cut(text, "\n")
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		var err error
		switch strings.TrimSpace(key) {
		case "Zookeeper version":
			s.Version = val
		case "Latency min/avg/max":
			parts := strings.Split(val, "/")
			if len(parts) != 3 {
				return nil, fmt.Errorf("%w: latency %q", ErrGarbage, val)
			}
			if s.LatencyMin, err = strconv.ParseFloat(parts[0], 64); err == nil {
				if s.LatencyAvg, err = strconv.ParseFloat(parts[1], 64); err == nil {
					s.LatencyMax, err = strconv.ParseFloat(parts[2], 64)
				}
			}
		case "Received":
			s.Received, err = strconv.ParseFloat(val, 64)
		case "Sent":
			s.Sent, err = strconv.ParseFloat(val, 64)
		case "Connections":
			s.Connections, err = strconv.ParseFloat(val, 64)
		case "Outstanding":
			s.Outstanding, err = strconv.ParseFloat(val, 64)
		case "Node count":
			s.NodeCount, err = strconv.ParseFloat(val, 64)
		case "Zxid":
			var z uint64
			z, err = strconv.ParseUint(strings.TrimPrefix(strings.ToLower(val), "0x"), 16, 64)
			s.Zxid, haveZxid = Zxid(z), err == nil
		case "Mode":
			s.Mode, haveMode = strings.ToLower(val), val != ""
		}
		if err != nil {
			return nil, fmt.Errorf("%w: srvr %s: %v", ErrGarbage, strings.TrimSpace(key), err)
		}
	}
	if !haveMode || !haveZxid {
		return nil, fmt.Errorf("%w: srvr answer lacks Mode or Zxid", ErrGarbage)
	}
	return s, nil
}

// ConfMember is one server line of conf's membership.
type ConfMember struct {
	ID     int
	Role   string // participant or observer
	Client string // client host:port when the line gives it (dynamic configuration), else ""
}

// Conf is what zkwatch needs of the conf answer.
type Conf struct {
	ServerID int
	Members  []ConfMember // empty for a standalone server
	Version  uint64       // version of the dynamic configuration (0 when not told)
}

// Clients returns the client addresses of every member, or nil unless every
// member line gives one (as dynamic configurations do).
func (c *Conf) Clients() []string {
	out := make([]string, 0, len(c.Members))
	for _, m := range c.Members {
		if m.Client == "" {
			return nil
		}
		out = append(out, m.Client)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// Voters counts participants.
func (c *Conf) Voters() int {
	n := 0
	for _, m := range c.Members {
		if m.Role != "observer" {
			n++
		}
	}
	return n
}

// ParseConf parses conf output.
func ParseConf(data []byte) (*Conf, error) {
	c := &Conf{ServerID: -1}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		key, val, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok {
			continue
		}
		switch {
		case key == "serverId":
			id, err := strconv.Atoi(strings.TrimSpace(val))
			if err != nil {
				return nil, fmt.Errorf("%w: conf serverId %q", ErrGarbage, val)
			}
			c.ServerID = id
		case strings.HasPrefix(key, "server."):
			id, err := strconv.Atoi(strings.TrimPrefix(key, "server."))
			if err != nil {
				return nil, fmt.Errorf("%w: conf %q", ErrGarbage, key)
			}
			// host:quorum:election[:role][;[clienthost:]clientport]
			addr, client, _ := strings.Cut(strings.TrimSpace(val), ";")
			role := "participant"
			parts := strings.Split(addr, ":")
			if len(parts) >= 4 {
				role = parts[len(parts)-1]
			}
			c.Members = append(c.Members, ConfMember{ID: id, Role: role, Client: clientAddr(parts[0], client)})
		case key == "version":
			v, err := strconv.ParseUint(strings.TrimSpace(val), 16, 64)
			if err != nil {
				return nil, fmt.Errorf("%w: conf version %q", ErrGarbage, val)
			}
			c.Version = v
		}
	}
	if c.ServerID < 0 {
		return nil, fmt.Errorf("%w: conf answer lacks serverId", ErrGarbage)
	}
	return c, nil
}

// clientAddr returns the client address of a conf server line: the client
// part's host, or the quorum host when it gives none or the wildcard.
func clientAddr(quorumHost, client string) string {
	if client == "" {
		return ""
	}
	host, port, err := net.SplitHostPort(client)
	if err != nil {
		host, port = "", client
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = quorumHost
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil || host == "" {
		return ""
	}
	return net.JoinHostPort(host, port)
}

// ParseRuok reports whether the answer is imok.
func ParseRuok(data []byte) bool { return strings.TrimSpace(string(data)) == "imok" }

// ParseIsro returns true for a read-only server ("ro"), false for "rw".
func ParseIsro(data []byte) (bool, error) {
	switch strings.TrimSpace(string(data)) {
	case "ro":
		return true, nil
	case "rw":
		return false, nil
	}
	return false, fmt.Errorf("%w: isro answer %q", ErrGarbage, truncate(data, 40))
}

// Wchs is the parsed summary of wchs.
type Wchs struct{ Connections, Paths, Watches float64 }

// ParseWchs parses "N connections watching M paths\nTotal watches:W".
func ParseWchs(data []byte) (*Wchs, error) {
	w := &Wchs{}
	text := string(data)
	if _, err := fmt.Sscanf(strings.TrimSpace(text), "%g connections watching %g paths", &w.Connections, &w.Paths); err != nil {
		return nil, fmt.Errorf("%w: wchs: %v", ErrGarbage, err)
	}
	_, tail, ok := strings.Cut(text, "Total watches:")
	if !ok {
		return nil, fmt.Errorf("%w: wchs lacks Total watches", ErrGarbage)
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(tail), 64)
	if err != nil {
		return nil, fmt.Errorf("%w: wchs total %q", ErrGarbage, truncate([]byte(tail), 40))
	}
	w.Watches = v
	return w, nil
}

// ParseCons counts the client connections listed by cons.
func ParseCons(data []byte) (int, error) {
	conns, err := ParseConsList(data)
	return len(conns), err
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return strings.ToValidUTF8(string(b), "?")
}
