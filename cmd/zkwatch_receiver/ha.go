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

package main

import (
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zkwatch/zkwatch/internal/zksession"
	"github.com/zkwatch/zkwatch/internal/zktls"
	"github.com/zkwatch/zkwatch/receiver"
	"github.com/zkwatch/zkwatch/receiver/ha"
)

// haFlags are the --ha.* flags: replicas coordinating through ZooKeeper.
type haFlags struct {
	servers        *string
	path           *string
	replica        *string
	sessionTimeout *time.Duration
	digestFile     *string
	acl            *string
	failOpenAfter  *time.Duration
	tls            *zktls.Config
}

func addHAFlags(app *kingpin.Application) *haFlags {
	return &haFlags{
		servers: app.Flag("ha.zookeeper.servers", "Comma-separated host:port list of the ZooKeeper ensemble the replicas coordinate through (dns+NAME:PORT and dnssrv+NAME entries are looked up at start and at each reconnection). Empty: a single receiver, no coordination.").
			Default("").String(),
		path: app.Flag("ha.path", "ZooKeeper path under which the replicas keep their claims.").
			Default("/zkwatch/receiver").String(),
		replica: app.Flag("ha.replica-name", "This replica's name, shown on what it did; unique per replica (default: host name and listen port).").
			Default("").String(),
		sessionTimeout: app.Flag("ha.zookeeper.session-timeout", "ZooKeeper session timeout: how long after a replica's death its unfinished claims can be taken over (the server caps it).").
			Default("10s").Duration(),
		digestFile: app.Flag("ha.zookeeper.auth.digest-file", "File holding user:password for ZooKeeper digest authentication of the replicas' session (the format of the agent's digest file).").
			Default("").String(),
		acl: app.Flag("ha.zookeeper.acl", "ACL of the replicas' nodes: auto (creator with credentials, else refuse to start), open (world:anyone all: any client may stop or forge restarts), creator (only the replicas' shared identity) or world-read. The identity is the digest of --ha.zookeeper.auth.digest-file or the TLS client certificate.").
			Default(zksession.ACLAuto).Enum(zksession.ACLModes...),
		failOpenAfter: app.Flag("ha.notify.fail-open-after", "How long a notification waits for ZooKeeper before it is sent without a claim, marked as a possible duplicate (restarts never run without a claim).").
			Default("1m").Duration(),
		tls: zktls.AddFlags(app),
	}
}

// attach makes rcv claim its actions as the flags say (call before
// Recover and Run);
// the returned function stops the coordination.
func (f *haFlags) attach(rcv *receiver.Receiver, listen []string, reg prometheus.Registerer, logger log.Logger) (func(), error) {
	coord, stop, err := f.coordinator(listen, reg, logger)
	if err != nil {
		return nil, err
	}
	rcv.SetCoordinator(coord, *f.failOpenAfter)
	return stop, nil
}

// coordinator returns the claims coordinator for the flags, started, and
// a function that stops it; a single receiver gets ha.Single.
func (f *haFlags) coordinator(listen []string, reg prometheus.Registerer, logger log.Logger) (ha.Coordinator, func(), error) {
	if *f.servers == "" {
		return ha.Single{}, func() {}, nil
	}
	opts := ha.Options{
		Session: zksession.Options{Servers: strings.Split(*f.servers, ","), SessionTimeout: *f.sessionTimeout},
		Path:    *f.path, Replica: *f.replica, Logger: logger,
	}
	if opts.Replica == "" {
		opts.Replica = defaultReplicaName(listen)
	}
	if *f.digestFile != "" {
		digest, err := zksession.ReadDigestFile(*f.digestFile)
		if err != nil {
			return nil, nil, fmt.Errorf("--ha.zookeeper.auth.digest-file: %w", err)
		}
		opts.Session.Digest = digest
	}
	var err error
	if opts.Session.TLS, err = f.tls.TLSConfig(); err != nil {
		return nil, nil, err
	}
	identity := len(opts.Session.Digest) > 0 || (opts.Session.TLS != nil && len(opts.Session.TLS.Certificates) > 0)
	if opts.ACL, err = zksession.ACL(*f.acl, identity); err != nil {
		return nil, nil, fmt.Errorf("--ha.zookeeper.acl=%s: %w", *f.acl, err)
	}
	c, err := ha.New(opts, reg)
	if err != nil {
		return nil, nil, err
	}
	if err := c.Start(); err != nil {
		return nil, nil, err
	}
	if ok, err := c.Verify(*f.sessionTimeout); err != nil {
		c.Close()
		return nil, nil, err
	} else if !ok {
		level.Warn(logger).Log("msg", "no ZooKeeper session yet: the replicas' nodes are checked before the first claim")
	}
	level.Info(logger).Log("msg", "coordinating with other replicas through ZooKeeper", "replica", opts.Replica, "path", opts.Path)
	return c, c.Close, nil
}

// defaultReplicaName is the host name and the port of the first listen
// address.
func defaultReplicaName(listen []string) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	if len(listen) > 0 {
		if _, port, err := net.SplitHostPort(listen[0]); err == nil {
			return host + ":" + port
		}
	}
	return host
}
