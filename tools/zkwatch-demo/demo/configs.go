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

package demo

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// demoOverrides shortens the mixin's "for" durations so that the demo and
// the end-to-end test see alerts fire within seconds; everything else is
// the mixin as users get it.
const demoOverrides = `{
  _config+:: {
    memberDownFor: '2s', noLeaderFor: '2s', multipleLeadersFor: '2s', quorumLostFor: '2s',
    quorumAtRiskFor: '2s', processMemberDownFor: '2s', exporterDownFor: '10s',
  },
}`

// writeConfigs writes every configuration file of the stack. Alertmanager
// sends every notification to both receiver replicas, which claim each
// restart and message in ZooKeeper, so that one of them acts.
func (s *Stack) writeConfigs(amClusterPort int) error {
	if err := s.renderRules(); err != nil {
		return err
	}
	prom, am := s.prometheusConfig(), s.alertmanagerConfig()
	recv := fmt.Sprintf(`# Written by the zkwatch demo.
notifiers:
  - name: demo-sink
    webhook: {url: %q}
routes:
  - notifiers: [demo-sink]
restarts:
  - name: restart-demo-app
    match: {alertname: ZooKeeperProcessMemberDown, group: %q}
    command: [%q, "restart-app", "--dir", %q, "--member", "{{ .Labels.member }}"]
    # group is vetted too, so that a maintenance window can name it.
    allow: {member: "^[A-Za-z0-9_][A-Za-z0-9._-]*$", group: "^/monitor/demo$"}
    timeout: 20s
    max_attempts: 3
    backoff: 2s
    # The demo crashes the app on purpose, again and again (make bench);
    # real rules keep the default cooldown of 5m.
    cooldown: 0s
storage:
  retention: 24h
`, s.Sink.URL()+"/notify", Group, filepath.Join(s.opts.BinDir, "zkwatch-demo"), s.opts.Dir)
	files := map[string]string{
		"prometheus/prometheus.yml":     prom,
		"alertmanager/alertmanager.yml": am,
		"receiver/receiver.yml":         recv,
		"exporter/watch.yml":            watchConfig,
	}
	for p, content := range files {
		if err := os.WriteFile(s.path(p), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// prometheusConfig is the demo's Prometheus configuration: the stack's
// targets, Prometheus itself (its prometheus_notifications_* metrics feed
// the mixin's alerts on the path to Alertmanager) and the rendered rules.
func (s *Stack) prometheusConfig() string {
	return fmt.Sprintf(`# Written by the zkwatch demo.
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
  evaluation_interval: 1s
rule_files:
  - zookeeper-alerts.json
  - zookeeper-rules.json
alerting:
  alertmanagers:
    - static_configs:
        - targets: [%q]
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: [%q]
  - job_name: zookeeper
    static_configs:
      - targets: [%q]
  - job_name: zkwatch-receiver
    static_configs:
      - targets: [%q, %q]
  - job_name: zkwatch-agent
    static_configs:
      - targets: [%q, %q]
`, hostPort(s.AM), hostPort(s.Prom), hostPort(s.Exporter), hostPort(s.Receiver), hostPort(s.Receiver2), hostPort(s.Agent), hostPort(s.LockAgent))
}

// alertmanagerConfig is the demo's Alertmanager configuration: every alert
// to both receiver replicas and to the sink; the Watchdog (the mixin's
// dead man's switch) repeated every minute as examples/alertmanager.yml
// does, so that the receivers' watchdog sees it.
func (s *Stack) alertmanagerConfig() string {
	return fmt.Sprintf(`# Written by the zkwatch demo.
route:
  receiver: zkwatch
  group_by: [alertname, job, instance, server, group, member]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - matchers: [alertname="Watchdog"]
      receiver: zkwatch
      group_wait: 0s
      group_interval: 1m
      repeat_interval: 1m
receivers:
  - name: zkwatch
    webhook_configs:
      - url: %q
        send_resolved: true
      - url: %q
        send_resolved: true
      # A copy of every payload for the demo's timeline and the test fixtures.
      - url: %q
        send_resolved: true
inhibit_rules:
  - source_matchers: [alertname="ZooKeeperQuorumLost"]
    target_matchers: [alertname=~"ZooKeeperFollowerLagging|ZooKeeperHighRequestLatency"]
    equal: [job, instance]
`, s.Receiver+"/webhook", s.Receiver2+"/webhook", s.Sink.URL()+"/alertmanager")
}

// renderRules renders the mixin's alerts and recording rules with the
// demo's short "for" durations, in one jsonnet run that writes JSON (which
// Prometheus reads as YAML): std.manifestYamlDoc is several times slower
// in the C++ jsonnet and took most of the demo's start-up on a busy machine.
func (s *Stack) renderRules() error {
	mixin := filepath.Join(s.opts.Repo, "mixin")
	expr := fmt.Sprintf(`local m = (import 'mixin.libsonnet') + %s;
{ 'zookeeper-alerts.json': m.prometheusAlerts, 'zookeeper-rules.json': m.prometheusRules }`, demoOverrides)
	var stderr strings.Builder
	cmd := exec.Command("jsonnet", "-J", mixin, "-m", s.path("prometheus"), "-e", expr)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("render the mixin's rules with jsonnet: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
