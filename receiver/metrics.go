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

package receiver

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zkwatch/zkwatch/receiver/config"
	"github.com/zkwatch/zkwatch/receiver/store"
)

const namespace = "zkwatch_receiver"

// Metrics are the receiver's own metrics.
type Metrics struct {
	WebhookRequests *prometheus.CounterVec
	notifications   *prometheus.CounterVec
	deadLetters     *prometheus.CounterVec
	restarts        *prometheus.CounterVec
}

func newMetrics(st *store.Store, reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		WebhookRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "webhook_requests_total",
			Help: "Webhook requests by HTTP status code.",
		}, []string{"code"}),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "notifications_total",
			Help: "Notification delivery attempts by notifier and outcome (success, retry, failure).",
		}, []string{"notifier", "outcome"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "dead_letters_total",
			Help: "Notifications given up on (rejected for good, or out of retry_max_attempts or retry_max_age) by notifier.",
		}, []string{"notifier"}),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "restarts_total",
			Help: "Restart decisions by rule and outcome (success, failure, refused, postponed, exhausted, dry_run).",
		}, []string{"rule", "outcome"}),
	}
	if reg != nil {
		reg.MustRegister(m.WebhookRequests, m.notifications, m.deadLetters, m.restarts, &storeCollector{st: st})
	}
	return m
}

// Outcomes of notification attempts and restart decisions, as the
// counters' outcome label spells them.
var (
	notificationOutcomes = []string{OutcomeSuccess, OutcomeRetry, OutcomeFailure}
	restartOutcomes      = []string{RestartSuccess, RestartFailure, RestartRefused, RestartPostponed, RestartExhausted, RestartDryRun}
)

// initLabels creates every notifier × outcome and rule × outcome series of
// cfg at 0, so that increase() and rate() count the first event too (a
// series born at 1 has no earlier sample to increase from). Series of
// rules and notifiers dropped by a reload stay, as counters should.
func (m *Metrics) initLabels(cfg *config.Config) {
	for _, n := range cfg.Notifiers {
		for _, o := range notificationOutcomes {
			m.notifications.WithLabelValues(n.Name, o)
		}
		m.deadLetters.WithLabelValues(n.Name)
	}
	for _, rule := range cfg.Restarts {
		for _, o := range restartOutcomes {
			m.restarts.WithLabelValues(rule.Name, o)
		}
	}
}

// storeCollector reads incident counts, outbox depth and file size from
// the store at scrape time.
type storeCollector struct{ st *store.Store }

var (
	incidentsDesc = prometheus.NewDesc(namespace+"_incidents", "Incidents in the store by status.", []string{"status"}, nil)
	outboxDesc    = prometheus.NewDesc(namespace+"_outbox_pending", "Notifications waiting in the outbox.", nil, nil)
	sizeDesc      = prometheus.NewDesc(namespace+"_store_size_bytes", "Size of the incident store.", nil, nil)
	deadDesc      = prometheus.NewDesc(namespace+"_dead_letters", "Dead letters kept in the store (see /api/v1/dead-letters).", nil, nil)
	runningDesc   = prometheus.NewDesc(namespace+"_restarts_running",
		"Restart commands running by rule, counted once their process group is recorded (a crash leaves nothing of them running unnoticed).", []string{"rule"}, nil)
)

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- incidentsDesc
	ch <- outboxDesc
	ch <- sizeDesc
	ch <- deadDesc
	ch <- runningDesc
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	var counts map[string]int
	var pending, dead int
	running := map[string]int{}
	err := c.st.View(func(tx *store.Tx) error {
		counts, pending, dead = tx.CountByStatus(), tx.OutboxLen(), tx.DeadLetterLen()
		jobs, err := tx.Jobs()
		for _, j := range jobs {
			if j.Running && j.PGID > 0 {
				running[j.Rule]++
			}
		}
		return err
	})
	if err != nil {
		ch <- prometheus.NewInvalidMetric(incidentsDesc, err)
		return
	}
	for status, n := range counts {
		ch <- prometheus.MustNewConstMetric(incidentsDesc, prometheus.GaugeValue, float64(n), status)
	}
	for rule, n := range running {
		ch <- prometheus.MustNewConstMetric(runningDesc, prometheus.GaugeValue, float64(n), rule)
	}
	ch <- prometheus.MustNewConstMetric(outboxDesc, prometheus.GaugeValue, float64(pending))
	ch <- prometheus.MustNewConstMetric(deadDesc, prometheus.GaugeValue, float64(dead))
	ch <- prometheus.MustNewConstMetric(sizeDesc, prometheus.GaugeValue, float64(c.st.Size()))
}
