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

// Package zktest starts real ZooKeeper ensembles (the Debian zookeeper
// package's jars) on free loopback ports for tests, benchmarks and the demo,
// and offers the faults tests need: kill, pause, resume, restart.
package zktest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/zkwatch/zkwatch/internal/fourlw"
)

// DefaultClasspath is where Debian's zookeeper package puts its jars.
// zookeeper.jar's manifest pulls in its dependencies; slf4j-simple gives it
// a logger and servlet-api lets the AdminServer start.
const DefaultClasspath = "/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar:/usr/share/java/servlet-api.jar"

// ClasspathEnv overrides DefaultClasspath.
const ClasspathEnv = "ZKWATCH_ZK_CLASSPATH"

// MainClass is ZooKeeper's server entry point.
const MainClass = "org.apache.zookeeper.server.quorum.QuorumPeerMain"

// Options configure an ensemble.
type Options struct {
	Size         int               // members; 1 runs standalone
	Dir          string            // state directory (required)
	Whitelist    string            // 4lw.commands.whitelist; "" means "*", "-" leaves it unset (server default: srvr only)
	Extra        map[string]string // further zoo.cfg lines
	Heap         string            // JVM -Xmx, default 256m
	Observers    int               // the last Observers members are observers (peerType=observer)
	JVMFlags     []string          // further JVM arguments, e.g. -Dreadonlymode.enabled=true
	Reconfig     bool              // reconfigEnabled=true, skipACL=yes, members with client addresses (see AddMember)
	ReadyTimeout time.Duration     // how long Launch waits for a healthy ensemble, default 120s
	TLS          *TLSOptions       // also serve a secure client port (key material in Ensemble.Certs)
}

// Member is one ZooKeeper server.
type Member struct {
	ID                                           int
	ClientPort, AdminPort, QuorumPort, ElectPort int
	SecurePort                                   int // secureClientPort, with Options.TLS
	dir, cfg                                     string
	observer                                     bool

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	paused bool
}

// Addr is the member's client address, 127.0.0.1:port.
func (m *Member) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(m.ClientPort)) }

// SecureAddr is the member's secure client address (with Options.TLS).
func (m *Member) SecureAddr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(m.SecurePort))
}

// AdminURL is the base URL of the member's AdminServer.
func (m *Member) AdminURL() string { return fmt.Sprintf("http://127.0.0.1:%d", m.AdminPort) }

// Ensemble is a running set of members.
type Ensemble struct {
	Members []*Member
	// Certs is the key material the members serve TLS with (Options.TLS).
	Certs *Certs
	opts  Options
}

// Classpath returns the classpath to start ZooKeeper with, and whether its
// first jar exists.
func Classpath() (string, bool) {
	cp := os.Getenv(ClasspathEnv)
	if cp == "" {
		cp = DefaultClasspath
	}
	_, err := os.Stat(strings.Split(cp, ":")[0])
	_, jerr := exec.LookPath("java")
	return cp, err == nil && jerr == nil
}

// Launch writes the configuration, starts every member and waits until the
// ensemble is healthy. A member that exits while starting (typically a port
// taken by another process meanwhile) makes it start over with new ports, up
// to three times. On error everything started is stopped.
func Launch(opts Options) (*Ensemble, error) {
	if opts.Size < 1 {
		opts.Size = 1
	}
	if opts.Heap == "" {
		opts.Heap = "256m"
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 120 * time.Second
	}
	if _, ok := Classpath(); !ok {
		return nil, errors.New("ZooKeeper not found: install the Debian package zookeeper and a JRE, or set " + ClasspathEnv)
	}
	var certs *Certs
	if opts.TLS != nil {
		var err error
		if certs, err = NewCerts(filepath.Join(opts.Dir, "tls")); err != nil {
			return nil, fmt.Errorf("TLS key material: %w", err)
		}
	}
	for attempt := 1; ; attempt++ {
		e, err := launch(opts, certs)
		if err == nil || attempt == 3 || !errors.Is(err, ErrMemberExited) {
			return e, err
		}
	}
}

// ErrMemberExited reports a member process that ended on its own.
var ErrMemberExited = errors.New("member process exited")

func launch(opts Options, certs *Certs) (*Ensemble, error) {
	e := &Ensemble{opts: opts, Certs: certs}
	ports, err := FreePorts(e.portsPerMember() * opts.Size)
	if err != nil {
		return nil, err
	}
	for i := 0; i < opts.Size; i++ {
		m := e.newMember(i+1, ports[e.portsPerMember()*i:])
		m.observer = i >= opts.Size-opts.Observers
		e.Members = append(e.Members, m)
	}
	for _, m := range e.Members {
		// A previous attempt's data would carry its ports and epochs.
		if err := os.RemoveAll(m.dir); err != nil {
			return nil, err
		}
		if err := e.writeConfig(m); err != nil {
			return nil, err
		}
	}
	for i := range e.Members {
		if err := e.startMember(i); err != nil {
			e.Stop()
			return nil, err
		}
	}
	if err := e.WaitHealthy(opts.ReadyTimeout); err != nil {
		logs := e.LogTail(20)
		e.Stop()
		return nil, fmt.Errorf("%w\n%s", err, logs)
	}
	return e, nil
}

// portsPerMember is how many ports a member listens on: client, admin,
// quorum, election, and the secure client port when the ensemble serves TLS.
func (e *Ensemble) portsPerMember() int {
	if e.Certs != nil {
		return 5
	}
	return 4
}

// newMember lays out member id on ports (portsPerMember of them) under the
// ensemble's directory.
func (e *Ensemble) newMember(id int, ports []int) *Member {
	m := &Member{ID: id, ClientPort: ports[0], AdminPort: ports[1], QuorumPort: ports[2], ElectPort: ports[3]}
	if e.Certs != nil {
		m.SecurePort = ports[4]
	}
	m.dir = filepath.Join(e.opts.Dir, fmt.Sprintf("zk%d", m.ID))
	m.cfg = filepath.Join(m.dir, "zoo.cfg")
	return m
}

// exited returns ErrMemberExited when a member that should run has ended.
func (e *Ensemble) exited() error {
	for _, m := range e.Members {
		m.mu.Lock()
		cmd, done := m.cmd, m.done
		m.mu.Unlock()
		if cmd == nil {
			continue
		}
		select {
		case <-done:
			return fmt.Errorf("member %d: %w (see its log)", m.ID, ErrMemberExited)
		default:
		}
	}
	return nil
}

func (e *Ensemble) writeConfig(m *Member) error {
	data := filepath.Join(m.dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(data, "myid"), []byte(strconv.Itoa(m.ID)+"\n"), 0o644); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "tickTime=200\ninitLimit=10\nsyncLimit=5\ndataDir=%s\nclientPort=%d\nclientPortAddress=127.0.0.1\n", data, m.ClientPort)
	fmt.Fprintf(&b, "admin.serverAddress=127.0.0.1\nadmin.serverPort=%d\nmaxClientCnxns=0\nsnapCount=100000\nautopurge.purgeInterval=0\n", m.AdminPort)
	switch e.opts.Whitelist {
	case "":
		b.WriteString("4lw.commands.whitelist=*\n")
	case "-":
	default:
		fmt.Fprintf(&b, "4lw.commands.whitelist=%s\n", e.opts.Whitelist)
	}
	if e.Certs != nil {
		b.WriteString(e.Certs.zooCfg(e.opts.TLS, m.SecurePort))
	}
	for k, v := range e.opts.Extra {
		fmt.Fprintf(&b, "%s=%s\n", k, v)
	}
	if m.observer {
		b.WriteString("peerType=observer\n")
	}
	if e.opts.Reconfig {
		b.WriteString("reconfigEnabled=true\nstandaloneEnabled=false\nskipACL=yes\n")
	}
	if len(e.Members) > 1 || e.opts.Reconfig {
		for _, o := range e.Members {
			fmt.Fprintln(&b, e.ServerLine(o))
		}
	}
	return os.WriteFile(m.cfg, []byte(b.String()), 0o644)
}

// ServerLine is m's server.N line: host:quorum:election, its role when it
// observes, and with Options.Reconfig its client address, as a reconfig
// request names a joining member.
func (e *Ensemble) ServerLine(m *Member) string {
	line := fmt.Sprintf("server.%d=127.0.0.1:%d:%d", m.ID, m.QuorumPort, m.ElectPort)
	switch {
	case e.opts.Reconfig && m.observer:
		return line + ":observer;" + m.Addr()
	case e.opts.Reconfig:
		return line + ":participant;" + m.Addr()
	case m.observer:
		return line + ":observer"
	}
	return line
}

// AddMember configures and starts one more participant, knowing the current
// members and itself, for a dynamic reconfiguration (Options.Reconfig) to
// add. It returns its index. Its configuration is written once: members
// added later are not in it. When the ensemble serves TLS the new member
// serves it too, on its own SecurePort with the ensemble's key material.
func (e *Ensemble) AddMember() (int, error) {
	ports, err := FreePorts(e.portsPerMember())
	if err != nil {
		return -1, err
	}
	m := e.newMember(len(e.Members)+1, ports)
	e.Members = append(e.Members, m)
	if err := os.RemoveAll(m.dir); err != nil {
		return -1, err
	}
	if err := e.writeConfig(m); err != nil {
		return -1, err
	}
	return len(e.Members) - 1, e.startMember(len(e.Members) - 1)
}

func (e *Ensemble) startMember(i int) error {
	m := e.Members[i]
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd != nil {
		return fmt.Errorf("member %d already running", m.ID)
	}
	cp, _ := Classpath()
	if e.Certs != nil && !strings.Contains(cp, NettyCodecJar) {
		cp += ":" + NettyCodecJar
	}
	logf, err := os.OpenFile(filepath.Join(m.dir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	args := append([]string{"-Xmx" + e.opts.Heap, "-Xms32m", "-XX:+UseSerialGC", "-XX:-UsePerfData",
		"-Xshare:auto", "-Dzookeeper.log.dir=" + m.dir, "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"}, e.opts.JVMFlags...)
	cmd := exec.Command("java", append(args, "-cp", cp, MainClass, m.cfg)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = m.dir
	// Own process group so that stopping kills the whole JVM tree, and
	// Pdeathsig so that a crashed test binary does not leave JVMs behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start member %d: %w", m.ID, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	m.cmd, m.done, m.paused = cmd, done, false
	return nil
}

// Kill sends SIGKILL to member i (0-based) and waits until it is gone.
func (e *Ensemble) Kill(i int) {
	m := e.Members[i]
	m.mu.Lock()
	cmd, done := m.cmd, m.done
	m.cmd, m.paused = nil, false
	m.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGCONT)
	<-done
}

// Pause stops member i with SIGSTOP: it still accepts TCP connections but
// never answers, like a server stuck in a long GC pause. It returns once
// every thread of the JVM has stopped: kill(2) returns before that, and a
// probe sent at once could still be answered.
func (e *Ensemble) Pause(i int) {
	e.signal(i, syscall.SIGSTOP, true)
	m := e.Members[i]
	m.mu.Lock()
	cmd := m.cmd
	m.mu.Unlock()
	if cmd != nil {
		_ = WaitFor(5*time.Second, time.Millisecond, func() error { return allStopped(cmd.Process.Pid) })
	}
}

// allStopped reports whether every thread of pid is in the stopped state.
func allStopped(pid int) error {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return err
	}
	for _, t := range tasks {
		st, err := ProcState(fmt.Sprintf("/proc/%d/task/%s/stat", pid, t.Name()))
		if err != nil {
			continue // the thread ended
		}
		if st != 'T' && st != 't' {
			return fmt.Errorf("thread %s of %d is in state %c", t.Name(), pid, st)
		}
	}
	return nil
}

// ProcState returns the state letter (R, S, T, Z, ...) of a /proc stat file.
func ProcState(statPath string) (byte, error) {
	stat, err := os.ReadFile(statPath)
	if err != nil {
		return 0, err
	}
	// The state follows the parenthesised command name, which may itself
	// contain parentheses and spaces.
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 || i+2 >= len(stat) {
		return 0, fmt.Errorf("%s: no state field", statPath)
	}
	return stat[i+2], nil
}

// Resume continues a paused member.
func (e *Ensemble) Resume(i int) { e.signal(i, syscall.SIGCONT, false) }

func (e *Ensemble) signal(i int, sig syscall.Signal, paused bool) {
	m := e.Members[i]
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd != nil {
		_ = syscall.Kill(-m.cmd.Process.Pid, sig)
		m.paused = paused
	}
}

// Start starts member i again after Kill (its data directory is kept).
func (e *Ensemble) Start(i int) error { return e.startMember(i) }

// Restart kills member i and starts it again.
func (e *Ensemble) Restart(i int) error {
	e.Kill(i)
	return e.startMember(i)
}

// Running reports whether member i's process is alive.
func (e *Ensemble) Running(i int) bool {
	m := e.Members[i]
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cmd != nil
}

// Stop kills every member. It is safe to call more than once.
func (e *Ensemble) Stop() {
	for i := range e.Members {
		e.Kill(i)
	}
}

// Addrs lists the members' client addresses.
func (e *Ensemble) Addrs() []string {
	out := make([]string, len(e.Members))
	for i, m := range e.Members {
		out[i] = m.Addr()
	}
	return out
}

// SecureAddrs lists the members' secure client addresses (Options.TLS).
func (e *Ensemble) SecureAddrs() []string {
	out := make([]string, len(e.Members))
	for i, m := range e.Members {
		out[i] = m.SecureAddr()
	}
	return out
}

// Servers is the comma-separated connect string of the ensemble.
func (e *Ensemble) Servers() string { return strings.Join(e.Addrs(), ",") }

// Mode asks member i for its srvr Mode (leader, follower, standalone, ...).
func (e *Ensemble) Mode(i int) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	out, err := fourlw.Do(ctx, e.Members[i].Addr(), "srvr", 0)
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Mode: "); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("member %d: no Mode in srvr", e.Members[i].ID)
}

// Leader returns the index of the member that reports being leader (or
// standalone), or -1.
func (e *Ensemble) Leader() int {
	leader := -1
	for i := range e.Members {
		if !e.Running(i) {
			continue
		}
		if mode, err := e.Mode(i); err == nil && (mode == "leader" || mode == "standalone") {
			if leader >= 0 {
				return -1 // two leaders: not settled
			}
			leader = i
		}
	}
	return leader
}

// WaitHealthy waits until every running member answers imok and is leader,
// follower or standalone, with exactly one leader.
func (e *Ensemble) WaitHealthy(timeout time.Duration) error {
	return WaitFor(timeout, 50*time.Millisecond, func() error {
		if err := e.exited(); err != nil {
			return Permanent(err)
		}
		leaders := 0
		for i, m := range e.Members {
			if !e.Running(i) {
				continue
			}
			mode, err := e.Mode(i)
			if errors.Is(err, fourlw.ErrNotServing) && e.opts.Extra["leaderServes"] == "no" {
				mode = "leader" // a leader that serves no clients answers srvr with "not serving"
			} else if err != nil {
				return err
			}
			if err := e.secureReady(i); err != nil {
				return err
			}
			switch mode {
			case "leader", "standalone":
				leaders++
			case "follower", "observer":
			default:
				return fmt.Errorf("member %d is %s", m.ID, mode)
			}
		}
		if leaders != 1 {
			return fmt.Errorf("%d leaders", leaders)
		}
		return nil
	})
}

// secureReady checks, with Options.TLS, that member i answers over TLS on
// its secure port. The JVM's first handshakes are slow (seconds on a busy
// machine): a member counts as ready once they are done.
func (e *Ensemble) secureReady(i int) error {
	if e.Certs == nil {
		return nil
	}
	tc, err := e.Certs.Client().TLSConfig()
	if err != nil {
		return Permanent(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = fourlw.DoTLS(ctx, tc, e.Members[i].SecureAddr(), "srvr", 0)
	if errors.Is(err, fourlw.ErrNotServing) {
		return nil // the plain port's answer decides
	}
	return err
}

// WaitLeaderOtherThan waits until a leader other than member old leads a
// healthy ensemble and returns its index.
func (e *Ensemble) WaitLeaderOtherThan(old int, timeout time.Duration) (int, error) {
	var leader int
	err := WaitFor(timeout, 50*time.Millisecond, func() error {
		if leader = e.Leader(); leader < 0 || leader == old {
			return errors.New("no new leader yet")
		}
		return nil
	})
	return leader, err
}

// LogTail returns the last n lines of every member's log, for failure
// messages.
func (e *Ensemble) LogTail(n int) string {
	var b strings.Builder
	for _, m := range e.Members {
		data, _ := os.ReadFile(filepath.Join(m.dir, "server.log"))
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) > n {
			lines = lines[len(lines)-n:]
		}
		fmt.Fprintf(&b, "--- member %d log ---\n%s\n", m.ID, strings.Join(lines, "\n"))
	}
	return b.String()
}

// WaitFor polls cond every interval until it returns nil or timeout passes;
// it returns cond's last error on timeout.
func WaitFor(timeout, interval time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return nil
		}
		var p permanent
		if errors.As(err, &p) {
			return p.error
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("condition not met after %s: %w", timeout, err)
		}
		time.Sleep(interval)
	}
}

// Permanent wraps an error that makes WaitFor give up at once.
func Permanent(err error) error { return permanent{err} }

type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// FreePorts returns n distinct free TCP ports on 127.0.0.1. They are taken
// below the kernel's ephemeral range when it leaves room, so that outgoing
// connections of other processes cannot take a port between the moment it
// is chosen here and the moment a slow-starting JVM binds it. All listeners
// are held until every port is chosen so that the ports differ.
func FreePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	lo, hi := portWindow()
	ports := make([]int, 0, n)
	for attempts := 0; len(ports) < n; attempts++ {
		addr := "127.0.0.1:0"
		if hi > lo && attempts < 50*n {
			addr = fmt.Sprintf("127.0.0.1:%d", lo+rand.IntN(hi-lo))
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			if addr == "127.0.0.1:0" {
				return nil, err
			}
			continue
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// portWindow is the range FreePorts draws from: the 12,000 ports below the
// ephemeral range, or nothing (use :0) when that range starts too low.
func portWindow() (int, int) {
	data, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, 0
	}
	f := strings.Fields(string(data))
	if len(f) < 1 {
		return 0, 0
	}
	low, err := strconv.Atoi(f[0])
	if err != nil || low < 14000 {
		return 0, 0
	}
	return low - 12000, low
}

// CPUTime returns the user and system CPU time member i's JVM has used, from
// /proc (Linux): benchmarks use it to tell the server's share of a cost.
func (e *Ensemble) CPUTime(i int) (time.Duration, error) {
	m := e.Members[i]
	m.mu.Lock()
	cmd := m.cmd
	m.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return 0, fmt.Errorf("member %d is not running", m.ID)
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses: utime and
	// stime are the 12th and 13th, in clock ticks (100 per second).
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, fmt.Errorf("member %d: unexpected /proc stat %q", m.ID, stat)
	}
	f := strings.Fields(string(stat[end+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("member %d: unexpected /proc stat %q", m.ID, stat)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("member %d: %w", m.ID, err)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}
