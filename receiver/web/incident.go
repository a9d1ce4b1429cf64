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

	"github.com/go-kit/log/level"

	"github.com/zkwatch/zkwatch/receiver/store"
	tmpl "github.com/zkwatch/zkwatch/receiver/template"
)

type incidentData struct {
	zone
	*store.Incident
	Runbook, Silence string
}

// incident serves /incidents/{id}: one incident with its labels, links,
// notifications, restarts and their output, times in global.timezone.
func (h *handler) incident(w http.ResponseWriter, r *http.Request) {
	var inc *store.Incident
	if err := h.rcv.Store().View(func(tx *store.Tx) (err error) { inc, err = tx.Incident(r.PathValue("id")); return }); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if inc == nil {
		http.Error(w, "no such incident", http.StatusNotFound)
		return
	}
	d := incidentData{zone: h.zone(), Incident: inc,
		Runbook: inc.Alert.Annotations["runbook_url"], Silence: tmpl.SilenceURL(inc.ExternalURL, inc.Alert.Labels)}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := incidentTmpl.Execute(w, d); err != nil {
		level.Error(h.o.Logger).Log("msg", "rendering incident page", "incident", inc.ID, "err", err)
	}
}

var incidentTmpl = template.Must(template.New("incident").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Incident {{.ID}}</title>
<style>` + pageStyle + `</style></head><body>
<h1>{{index .Alert.Labels "alertname"}} <span class="{{.Status}}" id="status">{{.Status}}</span></h1>
<p><a href="../">all incidents</a> · <a href="../api/v1/incidents/{{.ID}}">JSON</a>{{if .Replica}} · as recorded by <span id="replica">replica {{.Replica}}</span>{{end}}</p>
<table id="incident">
<tr><th>Incident</th><td>{{.ID}}</td></tr>
<tr><th>Started</th><td id="started">{{$.TS .Alert.StartsAt}}</td></tr>
{{if not .ResolvedAt.IsZero}}<tr><th>Resolved</th><td id="resolved">{{$.TS .ResolvedAt}}</td></tr>{{end}}
<tr><th>First / last seen</th><td>{{$.TS .FirstSeen}} / {{$.TS .LastSeen}} ({{.Received}} posts)</td></tr>
<tr><th>Labels</th><td id="labels">{{range .Alert.Labels.SortedPairs}}{{.Name}}={{.Value}}<br>{{end}}</td></tr>
<tr><th>Annotations</th><td id="annotations">{{range .Alert.Annotations.SortedPairs}}{{.Name}}: {{.Value}}<br>{{end}}</td></tr>
<tr><th>Links</th><td id="links">{{if .Runbook}}<a id="runbook" href="{{.Runbook}}">runbook</a> {{end}}
{{- if .Alert.GeneratorURL}}<a id="source" href="{{.Alert.GeneratorURL}}">source</a> {{end}}
{{- if .Silence}}<a id="silence" href="{{.Silence}}">silence</a>{{end}}</td></tr>
<tr><th>Notifiers</th><td>{{range .Notifiers}}{{.}} {{end}}</td></tr>
</table>
<h2>Notifications</h2>
<table id="notifications"><tr><th>Time</th><th>Notifier</th><th>Kind</th><th>Outcome</th><th>Replica</th><th>Attempts</th><th>Alerts in message</th><th>Error</th></tr>
{{range .Notifications}}<tr><td>{{$.TS .At}}</td><td>{{.Notifier}}</td><td>{{.Kind}}</td><td class="outcome {{.Outcome}}">{{.Outcome}}</td>
<td class="replica">{{.Replica}}{{if .Duplicate}} (possible duplicate){{end}}</td>
<td>{{.Attempts}}</td><td>{{if .Grouped}}{{.Grouped}}{{else}}1{{end}}</td><td>{{.Error}}</td></tr>
{{else}}<tr><td colspan="8">No notifications.</td></tr>{{end}}</table>
<h2>Restarts</h2>
<table id="restarts"><tr><th>Time</th><th>Rule</th><th>Attempt</th><th>Outcome</th><th>Replica</th><th>Command</th><th>Exit</th><th>Duration</th><th>Reason / output</th></tr>
{{range .Restarts}}<tr><td>{{$.TS .At}}</td><td>{{.Rule}}</td><td>{{.Attempt}}</td><td class="outcome {{.Outcome}}">{{.Outcome}}</td>
<td class="replica">{{.Replica}}</td><td class="command">{{range .Argv}}{{.}} {{end}}</td><td class="exit">{{if .Argv}}{{.ExitCode}}{{end}}</td>
<td class="duration">{{if .Argv}}{{$.Dur .Duration}}{{end}}</td><td>{{.Reason}}{{if .Output}}<pre class="output">{{.Output}}</pre>{{end}}</td></tr>
{{else}}<tr><td colspan="9">No restarts.</td></tr>{{end}}</table>
</body></html>
`))
