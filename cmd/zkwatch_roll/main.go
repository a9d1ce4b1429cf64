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

// Command zkwatch_roll restarts the members of a ZooKeeper ensemble one at
// a time with an operator-given command, followers and observers first and
// the leader last, proving a quorum before each step and waiting for each
// member to serve again, caught up, before the next.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/version"

	"github.com/zkwatch/zkwatch/internal/fourlw"
	"github.com/zkwatch/zkwatch/internal/logging"
	"github.com/zkwatch/zkwatch/internal/zktls"
	"github.com/zkwatch/zkwatch/roll"
)

const help = `Restarts the members of a ZooKeeper ensemble one at a time.

The command after -- is run once per member, without a shell; each argument
after the program is a Go template over the member: {{.Addr}} (host:port as
listed), {{.Host}}, {{.Port}}, {{.ID}} (server id). Values starting with '-'
are refused. The command must return once the member has been restarted
(as systemctl restart does). Exit code 0: every member serves again;
1: refused (degraded ensemble) or stopped at a member; 2: bad flags.

  zkwatch_roll --zookeeper.servers=zk1:2181,zk2:2181,zk3:2181 \
    -- ssh {{.Host}} sudo systemctl restart zookeeper`

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

type options struct {
	servers        string
	format         string
	dryRun         bool
	memberDeadline time.Duration
	commandTimeout time.Duration
	probeTimeout   time.Duration
	command        []string
}

// run is the command; it returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	app := kingpin.New("zkwatch_roll", help)
	var o options
	app.Flag("zookeeper.servers", "Comma-separated client host:port of every member of the ensemble, observers included.").
		Required().StringVar(&o.servers)
	app.Flag("zookeeper.timeout", "Deadline of one observation of every member.").Default("2s").DurationVar(&o.probeTimeout)
	app.Flag("member-deadline", "How long a member may take to serve again, caught up, after its command; and the ensemble to become whole again between steps.").
		Default("2m").DurationVar(&o.memberDeadline)
	app.Flag("command-timeout", "Kill the command (its whole session) after this long; the member counts as not back.").
		Default("5m").DurationVar(&o.commandTimeout)
	app.Flag("format", "Output: a table, or one JSON object per step (json).").Default("table").EnumVar(&o.format, "table", "json")
	app.Flag("dry-run", "Print the plan, with each member's command, and restart nothing.").BoolVar(&o.dryRun)
	app.Arg("command", "The per-member command and its argument templates, after --.").StringsVar(&o.command)
	zkTLS := zktls.AddFlags(app)
	logConfig := logging.AddFlags(app)
	app.Version(version.Print("zkwatch_roll"))
	app.UsageWriter(stdout)
	app.ErrorWriter(stderr)
	app.HelpFlag.Short('h')
	if _, err := app.Parse(args); err != nil {
		fmt.Fprintf(stderr, "zkwatch_roll: %v, try --help\n", err)
		return 2
	}
	logger, _ := logging.New(logConfig)
	ro, err := o.rollOptions(zkTLS)
	if err != nil {
		fmt.Fprintf(stderr, "zkwatch_roll: %v\n", err)
		return 2
	}
	ro.Logger = logger
	ro.Record = roll.TableRecorder(stdout)
	if o.format == "json" {
		ro.Record = roll.JSONRecorder(stdout)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := roll.Run(ctx, ro); err != nil {
		// Which member, its role and why: a *roll.StopError says all three.
		fmt.Fprintf(stderr, "zkwatch_roll: %v\n", err)
		return 1
	}
	return 0
}

// rollOptions checks the flags and builds the run's options.
func (o *options) rollOptions(zkTLS *zktls.Config) (roll.Options, error) {
	var ro roll.Options
	seen := map[string]bool{}
	for _, a := range strings.Split(o.servers, ",") {
		a = strings.TrimSpace(a)
		if _, err := roll.NewMember(a, 0); err != nil {
			return ro, fmt.Errorf("--zookeeper.servers: %v", err)
		}
		if seen[a] {
			return ro, fmt.Errorf("--zookeeper.servers: %s listed twice", a)
		}
		seen[a] = true
		ro.Addrs = append(ro.Addrs, a)
	}
	if o.memberDeadline <= 0 || o.commandTimeout <= 0 || o.probeTimeout <= 0 {
		return ro, errors.New("--member-deadline, --command-timeout and --zookeeper.timeout must be positive")
	}
	tmpl, err := roll.ParseTemplate(o.command)
	if err != nil {
		return ro, err
	}
	tc, err := zkTLS.TLSConfig()
	if err != nil {
		return ro, err
	}
	client, err := fourlw.NewClient(fourlw.ClientOptions{TLS: tc, Timeout: o.probeTimeout})
	if err != nil {
		return ro, err
	}
	ro.Client, ro.TLS, ro.Command, ro.DryRun = client, tc, tmpl, o.dryRun
	ro.MemberDeadline, ro.CommandTimeout, ro.ProbeTimeout = o.memberDeadline, o.commandTimeout, o.probeTimeout
	return ro, nil
}
