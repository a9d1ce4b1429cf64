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

package template

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/zkwatch/zkwatch/receiver/payload"
)

// Alert is one alert of a message: Alertmanager's template alert
// (.Status, .Labels, .Annotations, .StartsAt, .EndsAt, .GeneratorURL,
// .Fingerprint) plus the receiver's incident and links.
type Alert struct {
	payload.Alert
	// Kind is what the message reports about this alert: firing,
	// resolved, renotify or restart.
	Kind       string
	IncidentID string
	// IncidentURL is the incident's page on the receiver, when
	// --web.external-url is known; SilenceURL opens Alertmanager's
	// new-silence form for the alert's labels.
	IncidentURL string
	SilenceURL  string
	// Maintenance is the window the alert was in when it fired (nil:
	// none); its restarts wait for the window's end.
	Maintenance *Maintenance

	loc *time.Location
}

// Maintenance is a maintenance window of the receiver, as messages show it.
type Maintenance struct {
	WindowID  string
	EndsAt    time.Time
	CreatedBy string
	Comment   string
}

// InMaintenance is the sentence messages show for an alert in a window:
// "In maintenance until <end>: window <id> by <who>: <comment>.", or ""
// when the alert is in none.
func (a Alert) InMaintenance() string {
	m := a.Maintenance
	if m == nil {
		return ""
	}
	return fmt.Sprintf("In maintenance until %s: window %s by %s: %s.", formatIn(a.loc, m.EndsAt), m.WindowID, m.CreatedBy, m.Comment)
}

// Time formats t in global.timezone, with its offset, as Data.Time does:
// {{ .Time .StartsAt }} inside {{ range .Alerts }}.
func (a Alert) Time(t time.Time) string { return formatIn(a.loc, t) }

// RunbookURL is the alert's runbook_url annotation.
func (a Alert) RunbookURL() string { return a.Annotations["runbook_url"] }

// Alerts is a list of alerts with Alertmanager's filters.
type Alerts []Alert

// Firing returns the firing alerts.
func (as Alerts) Firing() Alerts { return as.with(payload.StatusFiring) }

// Resolved returns the resolved alerts.
func (as Alerts) Resolved() Alerts { return as.with(payload.StatusResolved) }

func (as Alerts) with(status string) Alerts {
	out := Alerts{}
	for _, a := range as {
		if a.Status == status {
			out = append(out, a)
		}
	}
	return out
}

// Data is what templates see. It follows Alertmanager's template data
// (.Receiver, .Status, .Alerts, .GroupLabels, .CommonLabels,
// .CommonAnnotations, .ExternalURL), and keeps the single-alert view
// templates of earlier versions use: for a message about one alert,
// .Labels, .Annotations, .StartsAt, .IncidentID and so on are that
// alert's; for a grouped message they are the common labels and
// annotations, the earliest start and no incident.
type Data struct {
	payload.Alert
	IncidentID  string
	IncidentURL string
	SilenceURL  string
	// Maintenance is the alert's window, for a message about one alert.
	Maintenance *Maintenance
	// Kind is the message's kind (that of its alerts, "mixed" when they
	// differ); Text is the restart report's line, if any.
	Kind string
	Text string

	Receiver          string
	Alerts            Alerts
	GroupLabels       payload.KV
	CommonLabels      payload.KV
	CommonAnnotations payload.KV
	ExternalURL       string
	// Location is global.timezone; times in messages are shown in it.
	Location *time.Location

	// Sent counts the parts of a split message delivered by earlier
	// attempts. A notifier that splits sends the next part, advances Sent
	// and sets More while parts remain.
	Sent int
	More bool
	// Offset is the number of alerts in the parts before this one.
	Offset int
	// errs are the execution errors RenderText replaced with the default
	// text; parts of a message share them.
	errs *errorList
}

type errorList struct{ errs []error }

// TemplateErrors are the template execution errors for which RenderText
// used the default text instead.
func (d *Data) TemplateErrors() []error {
	if d.errs == nil {
		return nil
	}
	return d.errs.errs
}

func (d *Data) templateFailed(err error) {
	if d.errs == nil {
		d.errs = &errorList{}
	}
	for _, e := range d.errs.errs {
		if e.Error() == err.Error() {
			return
		}
	}
	d.errs.errs = append(d.errs.errs, err)
}

// Message describes one message for New.
type Message struct {
	Kind, Text, Receiver, ExternalURL string
	GroupLabels                       map[string]string
	// Alerts carry their Kind and IncidentID; New fills in the links.
	Alerts []Alert
}

// Options are the receiver-wide settings New needs.
type Options struct {
	// ReceiverURL is the receiver's --web.external-url; incident pages
	// are below it. Without it, messages show incident ids only.
	ReceiverURL string
	Location    *time.Location
}

// New builds the template data of a message.
func New(m Message, o Options) *Data {
	loc := o.Location
	if loc == nil {
		loc = time.UTC
	}
	d := &Data{Kind: m.Kind, Text: m.Text, Receiver: m.Receiver, ExternalURL: m.ExternalURL,
		GroupLabels: payload.KV(m.GroupLabels), Location: loc, Alerts: make(Alerts, len(m.Alerts))}
	if d.GroupLabels == nil {
		d.GroupLabels = payload.KV{}
	}
	for i, a := range m.Alerts {
		a.IncidentURL = IncidentURL(o.ReceiverURL, a.IncidentID)
		a.SilenceURL = SilenceURL(m.ExternalURL, a.Labels)
		a.loc = loc
		d.Alerts[i] = a
	}
	labels, annotations := make([]payload.KV, len(d.Alerts)), make([]payload.KV, len(d.Alerts))
	for i := range d.Alerts {
		labels[i], annotations[i] = d.Alerts[i].Labels, d.Alerts[i].Annotations
	}
	d.CommonLabels, d.CommonAnnotations = common(labels), common(annotations)
	if len(d.Alerts) == 1 {
		a := d.Alerts[0]
		d.Alert, d.IncidentID, d.IncidentURL, d.SilenceURL, d.Maintenance = a.Alert, a.IncidentID, a.IncidentURL, a.SilenceURL, a.Maintenance
		return d
	}
	d.Alert = payload.Alert{Status: payload.StatusResolved, Labels: d.CommonLabels, Annotations: d.CommonAnnotations}
	for i, a := range d.Alerts {
		if a.Status == payload.StatusFiring {
			d.Status = payload.StatusFiring
		}
		if i == 0 || a.StartsAt.Before(d.StartsAt) {
			d.StartsAt = a.StartsAt
		}
	}
	d.SilenceURL = SilenceURL(m.ExternalURL, d.CommonLabels)
	return d
}

// Part returns a copy of d about alerts[from:to] only, for a notifier
// that splits a message; the common labels stay those of the whole.
func (d *Data) Part(from, to int) *Data {
	if d.errs == nil {
		d.errs = &errorList{}
	}
	p := *d
	p.Alerts, p.Offset = d.List()[from:to], d.Offset+from
	return &p
}

// common returns the pairs every set shares.
func common(sets []payload.KV) payload.KV {
	out := payload.KV{}
	if len(sets) == 0 {
		return out
	}
	for k, v := range sets[0] {
		out[k] = v
	}
	for _, s := range sets[1:] {
		for k, v := range out {
			if w, ok := s[k]; !ok || w != v {
				delete(out, k)
			}
		}
	}
	return out
}

// IncidentURL is the incident's page below the receiver's external URL,
// or "" when that is unknown.
func IncidentURL(receiverURL, id string) string {
	if receiverURL == "" || id == "" {
		return ""
	}
	return strings.TrimSuffix(receiverURL, "/") + "/incidents/" + url.PathEscape(id)
}

// SilenceURL is Alertmanager's new-silence form prefilled with matchers
// for labels, or "" without an external URL.
func SilenceURL(externalURL string, labels map[string]string) string {
	if externalURL == "" || len(labels) == 0 {
		return ""
	}
	names := make([]string, 0, len(labels))
	for k := range labels {
		names = append(names, k)
	}
	sort.Strings(names)
	ms := make([]string, len(names))
	for i, k := range names {
		v := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(labels[k])
		ms[i] = k + `="` + v + `"`
	}
	filter := strings.ReplaceAll(url.QueryEscape("{"+strings.Join(ms, ", ")+"}"), "+", "%20")
	return strings.TrimSuffix(externalURL, "/") + "/#/silences/new?filter=" + filter
}

// TimeFormat shows times with their zone's offset and abbreviation.
const TimeFormat = "2006-01-02 15:04:05 -07:00 MST"

// Time formats t in the configured zone, with its offset.
func (d *Data) Time(t time.Time) string { return formatIn(d.Location, t) }

func formatIn(loc *time.Location, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format(TimeFormat)
}

// Subject is a one-line summary such as
// "[FIRING] ZooKeeperDown server=127.0.0.1:2181", or for a grouped
// message "[FIRING:28 RESOLVED:2] ZooKeeperDown group=zk".
func (d *Data) Subject() string { return d.subject(func(s string) string { return s }) }

// subject builds the subject with label values passed through esc.
func (d *Data) subject(esc func(string) string) string {
	state := strings.ToUpper(d.Status)
	if d.Kind == "restart" {
		state = "RESTART"
	}
	as := d.List()
	if len(as) > 1 {
		state = countStates(as)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[%s] %s", state, esc(d.Labels["alertname"]))
	for _, k := range []string{"server", "group", "member", "instance"} {
		if v, ok := d.Labels[k]; ok {
			fmt.Fprintf(&b, " %s=%s", k, esc(v))
		}
	}
	if n := as.inMaintenance(); n == 1 && len(as) == 1 {
		b.WriteString(" (in maintenance)")
	} else if n > 0 {
		fmt.Fprintf(&b, " (%d in maintenance)", n)
	}
	return b.String()
}

// List returns the message's alerts: .Alerts, or for data built by hand
// with one alert only, that alert.
func (d *Data) List() Alerts {
	if len(d.Alerts) > 0 {
		return d.Alerts
	}
	return Alerts{{Alert: d.Alert, Kind: d.Kind, IncidentID: d.IncidentID, IncidentURL: d.IncidentURL, SilenceURL: d.SilenceURL,
		Maintenance: d.Maintenance, loc: d.Location}}
}

// inMaintenance counts the alerts in a maintenance window.
func (as Alerts) inMaintenance() int {
	n := 0
	for _, a := range as {
		if a.Maintenance != nil {
			n++
		}
	}
	return n
}

func countStates(as Alerts) string {
	var parts []string
	if n := len(as.Firing()); n > 0 {
		parts = append(parts, fmt.Sprintf("FIRING:%d", n))
	}
	if n := len(as.Resolved()); n > 0 {
		parts = append(parts, fmt.Sprintf("RESOLVED:%d", n))
	}
	return strings.Join(parts, " ")
}
