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

package web

import (
	"html/template"
	"net/http"
	"sort"
	"time"

	"github.com/go-kit/log/level"

	"github.com/zkwatch/zkwatch/receiver/store"
	tmpl "github.com/zkwatch/zkwatch/receiver/template"
)

type restartRow struct {
	Incident, AlertName string
	store.RestartAttempt
}

type notificationRow struct {
	Incident, AlertName string
	store.Notification
}

// zone shows times in global.timezone, with the offset, and says which
// replica serves the page.
type zone struct {
	loc *time.Location
	// Replica is the name of the replica serving the page ("" alone).
	Replica string
}

// Dur formats a duration as people write it ("53.9 ms").
func (zone) Dur(d time.Duration) string { return tmpl.Duration(d) }

// TS formats t for the pages; the zero time is blank.
func (z zone) TS(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(z.loc).Format(tmpl.TimeFormat)
}

type pageData struct {
	zone
	Now           time.Time
	Open, Recent  []*store.Incident
	Restarts      []restartRow
	Notifications []notificationRow
	DeadLetters   []*store.DeadLetter
	Pending       int
	OpenTotal     int // firing incidents in the store; Open shows at most openRows
	Watchdog      store.WatchdogState
	WatchdogName  string
	Windows       []windowRow // maintenance windows (maintenance.go)
}

const (
	pageRows = 50
	// openRows bounds the open incidents read for one page view.
	openRows = 200
)

const pageStyle = `
body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin-bottom:1.5em}
td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}
.firing{color:#b00}.resolved{color:#070}.failure,.refused,.exhausted{color:#b00}.success{color:#070}
pre{margin:0;max-width:40em;white-space:pre-wrap}
`

func (h *handler) zone() zone {
	return zone{loc: h.rcv.Config().Global.Location(), Replica: h.rcv.Replica()}
}

func (h *handler) page(w http.ResponseWriter, _ *http.Request) {
	d := pageData{zone: h.zone(), Now: time.Now(), WatchdogName: h.rcv.Config().Watchdog.AlertName}
	err := h.rcv.Store().View(func(tx *store.Tx) error {
		var err error
		if d.Watchdog, err = tx.Watchdog(); err != nil {
			return err
		}
		if d.Open, err = tx.Incidents(store.Filter{Status: "firing", Limit: openRows}); err != nil {
			return err
		}
		all, err := tx.Incidents(store.Filter{Limit: pageRows})
		d.Recent = all
		if err != nil {
			return err
		}
		d.Pending, d.OpenTotal = tx.OutboxLen(), tx.CountByStatus()["firing"]
		d.DeadLetters, err = tx.DeadLetters(pageRows)
		return err
	})
	if err == nil {
		d.Windows, err = h.windowRows(h.alertmanagerURL(d.Recent), d.Now)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	for _, inc := range d.Recent {
		for _, a := range inc.Restarts {
			d.Restarts = append(d.Restarts, restartRow{inc.ID, inc.Alert.Labels["alertname"], a})
		}
		for _, n := range inc.Notifications {
			d.Notifications = append(d.Notifications, notificationRow{inc.ID, inc.Alert.Labels["alertname"], n})
		}
	}
	sort.SliceStable(d.Restarts, func(i, j int) bool { return d.Restarts[i].At.After(d.Restarts[j].At) })
	sort.SliceStable(d.Notifications, func(i, j int) bool { return d.Notifications[i].At.After(d.Notifications[j].At) })
	d.Restarts = d.Restarts[:min(len(d.Restarts), pageRows)]
	d.Notifications = d.Notifications[:min(len(d.Notifications), pageRows)]
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pageTmpl.Execute(w, d); err != nil {
		level.Error(h.o.Logger).Log("msg", "rendering status page", "err", err)
	}
}

var pageTmpl = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>zkwatch receiver</title>
<style>` + pageStyle + `</style></head><body>
<h1>zkwatch receiver{{if .Replica}} <span id="replica">replica {{.Replica}}</span>{{end}}</h1>
<p>Generated {{$.TS .Now}}{{if .Replica}} by replica {{.Replica}}{{end}}. Pending notifications: <span id="pending">{{.Pending}}</span>.
<a href="api/v1/incidents">JSON API</a> · <a href="api/v1/dead-letters">dead letters</a> · <a href="metrics">metrics</a></p>
<p id="watchdog">Watchdog ({{.WatchdogName}}): {{if .Watchdog.LastSeen.IsZero}}not seen yet{{else}}last arrival {{$.TS .Watchdog.LastSeen}}{{end}}
{{- if .Watchdog.Missing}}, <span class="failure">missing</span>{{end}}.</p>
<h2>Open incidents{{if gt .OpenTotal (len .Open)}} ({{len .Open}} most recent of <span id="open-total">{{.OpenTotal}}</span>; <a href="api/v1/incidents?status=firing&amp;limit=10000">all</a>){{end}}</h2>
<table id="open-incidents"><tr><th>Incident</th><th>Alert</th><th>Labels</th><th>Started</th><th>Last seen</th><th>Posts</th></tr>
{{range .Open}}<tr class="incident" data-id="{{.ID}}"><td><a href="incidents/{{.ID}}">{{.ID}}</a></td><td>{{index .Alert.Labels "alertname"}}</td>
<td>{{range $k, $v := .Alert.Labels}}{{$k}}={{$v}} {{end}}</td><td>{{$.TS .Alert.StartsAt}}</td><td>{{$.TS .LastSeen}}</td><td>{{.Received}}</td></tr>
{{else}}<tr><td colspan="6">No open incidents.</td></tr>{{end}}</table>
{{template "maintenance" .}}<h2>Recent incidents</h2>
<table id="recent-incidents"><tr><th>Incident</th><th>Status</th><th>Alert</th><th>Started</th><th>Resolved</th><th>Notifiers</th></tr>
{{range .Recent}}<tr class="incident" data-id="{{.ID}}"><td><a href="incidents/{{.ID}}">{{.ID}}</a></td><td class="{{.Status}}">{{.Status}}</td>
<td>{{index .Alert.Labels "alertname"}}</td><td>{{$.TS .Alert.StartsAt}}</td><td>{{$.TS .ResolvedAt}}</td><td>{{range .Notifiers}}{{.}} {{end}}</td></tr>
{{else}}<tr><td colspan="6">No incidents.</td></tr>{{end}}</table>
<h2>Restarts</h2>
<table id="restarts"><tr><th>Time</th><th>Incident</th><th>Rule</th><th>Attempt</th><th>Outcome</th><th>Replica</th><th>Exit</th><th>Duration</th><th>Reason / output</th></tr>
{{range .Restarts}}<tr><td>{{$.TS .At}}</td><td>{{.Incident}}</td><td>{{.Rule}}</td><td>{{.Attempt}}</td><td class="outcome {{.Outcome}}">{{.Outcome}}</td>
<td class="replica">{{.Replica}}</td><td>{{if .Argv}}{{.ExitCode}}{{end}}</td><td>{{if .Argv}}{{$.Dur .Duration}}{{end}}</td><td>{{.Reason}}{{if .Output}}<pre>{{.Output}}</pre>{{end}}</td></tr>
{{else}}<tr><td colspan="9">No restarts.</td></tr>{{end}}</table>
<h2>Notifications</h2>
<table id="notifications"><tr><th>Time</th><th>Incident</th><th>Alert</th><th>Notifier</th><th>Kind</th><th>Outcome</th><th>Replica</th><th>Attempts</th><th>Error</th></tr>
{{range .Notifications}}<tr><td>{{$.TS .At}}</td><td>{{.Incident}}</td><td>{{.AlertName}}</td><td>{{.Notifier}}</td><td>{{.Kind}}</td>
<td class="outcome {{.Outcome}}">{{.Outcome}}</td>
<td class="replica">{{.Replica}}{{if .Duplicate}} (possible duplicate){{end}}</td><td>{{.Attempts}}</td><td>{{.Error}}</td></tr>
{{else}}<tr><td colspan="9">No notifications.</td></tr>{{end}}</table>
<h2>Dead letters</h2>
<table id="dead-letters"><tr><th>Time</th><th>Incident</th><th>Notifier</th><th>Kind</th><th>Attempts</th><th>Reason</th><th>Last error</th></tr>
{{range .DeadLetters}}<tr class="dead-letter"><td>{{$.TS .At}}</td><td>{{.Item.IncidentID}}</td><td>{{.Item.Notifier}}</td><td>{{.Item.Kind}}</td>
<td>{{.Item.Attempts}}</td><td class="failure">{{.Reason}}</td><td>{{.Item.LastError}}</td></tr>
{{else}}<tr><td colspan="7">No dead letters.</td></tr>{{end}}</table>
</body></html>
`))
