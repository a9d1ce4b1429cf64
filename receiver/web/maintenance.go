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
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/zkwatch/zkwatch/receiver"
	"github.com/zkwatch/zkwatch/receiver/ha"
	"github.com/zkwatch/zkwatch/receiver/store"
)

// maxWindowBody bounds a maintenance request body.
const maxWindowBody = 64 << 10

// maintenanceRoutes adds the maintenance API and the page's form posts.
// They sit behind the same token, exposure and cross-origin checks as
// /-/reload: a window stops self-healing.
func (h *handler) maintenanceRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/maintenance", h.listWindows)
	mux.HandleFunc("POST /api/v1/maintenance", h.postWindow)
	mux.HandleFunc("GET /api/v1/maintenance/{id}", h.getWindow)
	mux.HandleFunc("DELETE /api/v1/maintenance/{id}", h.deleteWindow)
	mux.HandleFunc("POST /maintenance", h.postWindowForm)
	mux.HandleFunc("POST /maintenance/{id}/delete", h.deleteWindowForm)
}

// windowView is a window as the API shows it, with its state as
// Alertmanager shows a silence's.
type windowView struct {
	*store.Window
	Status struct {
		State string `json:"state"`
	} `json:"status"`
	PastMaxDuration bool `json:"pastMaxDuration"`
}

func (h *handler) view(w *store.Window, now time.Time) windowView {
	v := windowView{Window: w}
	v.Status.State = w.State(now)
	v.PastMaxDuration = receiver.PastMax(w, h.rcv.Config().Maintenance.MaxDuration)
	return v
}

func (h *handler) listWindows(w http.ResponseWriter, _ *http.Request) {
	ws, err := h.rcv.Maintenance().List()
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	now := time.Now()
	out := make([]windowView, len(ws))
	for i, win := range ws {
		out[i] = h.view(win, now)
	}
	writeJSON(w, http.StatusOK, map[string]any{"windows": out})
}

func (h *handler) getWindow(w http.ResponseWriter, r *http.Request) {
	ws, err := h.rcv.Maintenance().List()
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	for _, win := range ws {
		if win.ID == r.PathValue("id") {
			writeJSON(w, http.StatusOK, h.view(win, time.Now()))
			return
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]string{"error": receiver.ErrNoWindow.Error()})
}

// decodeWindow reads a JSON window request: strict (no unknown fields,
// one value), bounded, and only as application/json, which a browser
// cannot send cross-site without a preflight.
func decodeWindow(w http.ResponseWriter, r *http.Request) (*receiver.WindowRequest, int, error) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, http.StatusUnsupportedMediaType, errors.New("Content-Type must be application/json")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxWindowBody))
	dec.DisallowUnknownFields()
	var req receiver.WindowRequest
	err := dec.Decode(&req)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("more than one JSON value")
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("body exceeds %d bytes", mbe.Limit)
	case err != nil:
		return nil, http.StatusBadRequest, fmt.Errorf("invalid maintenance window: %w", err)
	}
	return &req, http.StatusOK, nil
}

// windowError maps an error of Put or Delete to a status.
func windowError(err error) int {
	var inv *receiver.InvalidWindowError
	switch {
	case errors.As(err, &inv):
		return http.StatusBadRequest
	case errors.Is(err, receiver.ErrNoWindow):
		return http.StatusNotFound
	case errors.Is(err, ha.ErrUnavailable):
		return http.StatusServiceUnavailable // replicas: the window would not be shared
	}
	return http.StatusInternalServerError
}

func (h *handler) postWindow(w http.ResponseWriter, r *http.Request) {
	req, code, err := decodeWindow(w, r)
	if err != nil {
		writeJSON(w, code, map[string]string{"error": err.Error()})
		return
	}
	win, err := h.rcv.Maintenance().Put(req)
	if err != nil {
		writeJSON(w, windowError(err), map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, h.view(win, time.Now()))
}

func (h *handler) deleteWindow(w http.ResponseWriter, r *http.Request) {
	if err := h.rcv.Maintenance().Delete(r.PathValue("id")); err != nil {
		writeJSON(w, windowError(err), map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "deleted"})
}

// formMatcher is one matcher as the page's form spells it: name, an
// operator (=, !=, =~, !~) and a value, optionally double-quoted.
var formMatcher = regexp.MustCompile(`^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$`)

// parseFormMatchers reads "member=web-1, group=~/monitor/.*".
func parseFormMatchers(s string) ([]store.Matcher, error) {
	var out []store.Matcher
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		m := formMatcher.FindStringSubmatch(part)
		if m == nil {
			return nil, fmt.Errorf("matcher %q: want name=value, name!=value, name=~regex or name!~regex", strings.TrimSpace(part))
		}
		v := m[3]
		if uq, err := unquote(v); err == nil {
			v = uq
		}
		eq := m[2] == "=" || m[2] == "=~"
		out = append(out, store.Matcher{Name: m[1], Value: v, IsRegex: strings.HasSuffix(m[2], "~"), IsEqual: &eq})
	}
	return out, nil
}

func unquote(v string) (string, error) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", errors.New("not quoted")
	}
	var s string
	err := json.Unmarshal([]byte(v), &s)
	return s, err
}

// postWindowForm creates a window from the page's form: matchers,
// duration (from now), createdBy and comment.
func (h *handler) postWindowForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxWindowBody)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "invalid form: "+err.Error(), http.StatusBadRequest)
		return
	}
	ms, err := parseFormMatchers(r.PostForm.Get("matchers"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	d, err := time.ParseDuration(r.PostForm.Get("duration"))
	if err != nil || d <= 0 {
		http.Error(w, fmt.Sprintf("duration %q: want a positive duration such as 2h or 30m", r.PostForm.Get("duration")), http.StatusBadRequest)
		return
	}
	req := &receiver.WindowRequest{Matchers: ms, EndsAt: time.Now().Add(d), CreatedBy: r.PostForm.Get("createdBy"), Comment: r.PostForm.Get("comment")}
	if _, err := h.rcv.Maintenance().Put(req); err != nil {
		http.Error(w, err.Error(), windowError(err))
		return
	}
	http.Redirect(w, r, "./#maintenance", http.StatusSeeOther)
}

func (h *handler) deleteWindowForm(w http.ResponseWriter, r *http.Request) {
	if err := h.rcv.Maintenance().Delete(r.PathValue("id")); err != nil {
		http.Error(w, err.Error(), windowError(err))
		return
	}
	http.Redirect(w, r, "../../#maintenance", http.StatusSeeOther)
}

// windowRow is a window on the page, with the link that creates the
// matching Alertmanager silence when Alertmanager's URL is known.
type windowRow struct {
	*store.Window
	State, Matchers string
	PastMax         bool
	Silence         template.URL
}

// windowRows lists the windows for the page; am is Alertmanager's URL, or "".
func (h *handler) windowRows(am string, now time.Time) ([]windowRow, error) {
	ws, err := h.rcv.Maintenance().List()
	if err != nil {
		return nil, err
	}
	rows := make([]windowRow, 0, len(ws))
	for _, win := range ws {
		v := h.view(win, now)
		row := windowRow{Window: win, State: v.Status.State, Matchers: receiver.MatchersString(win.Matchers), PastMax: v.PastMaxDuration}
		if am != "" && row.State != "expired" {
			row.Silence = silenceURL(am, row.Matchers)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// silenceURL opens Alertmanager's new-silence form with the window's
// matchers filled in; only http(s) URLs qualify.
func silenceURL(am, matchers string) template.URL {
	u, err := url.Parse(am)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return template.URL(strings.TrimSuffix(u.String(), "/") + "/#/silences/new?filter=" + url.QueryEscape(matchers))
}

// alertmanagerURL is maintenance.alertmanager_url, or the externalURL of
// the latest incident's payload.
func (h *handler) alertmanagerURL(recent []*store.Incident) string {
	if u := h.rcv.Config().Maintenance.AlertmanagerURL; u != "" {
		return u
	}
	if len(recent) > 0 {
		return recent[0].ExternalURL
	}
	return ""
}

var _ = template.Must(pageTmpl.New("maintenance").Parse(`<h2 id="maintenance">Maintenance windows</h2>
<p>While a window matches (on labels a restart rule vets), restarts of matching alerts are postponed until it ends.</p>
<table id="maintenance-windows"><tr><th>State</th><th>Matchers</th><th>Starts</th><th>Ends</th><th>Created by</th><th>Comment</th><th>Extensions</th><th></th></tr>
{{range .Windows}}<tr class="window {{.State}}" data-id="{{.ID}}"><td>{{.State}}</td><td>{{.Matchers}}</td><td>{{$.TS .StartsAt}}</td><td>{{$.TS .EndsAt}}</td>
<td>{{.CreatedBy}}</td><td>{{.Comment}}</td><td>{{.Extensions}}{{if .PastMax}} <span class="failure">past max_duration</span>{{end}}</td>
<td>{{if ne .State "expired"}}<form method="post" action="maintenance/{{.ID}}/delete"><button type="submit">End now</button></form>{{end}}
{{- if .Silence}} <a class="silence" href="{{.Silence}}" target="_blank" rel="noopener">Create the matching Alertmanager silence</a>{{end}}</td></tr>
{{else}}<tr><td colspan="8">No maintenance windows.</td></tr>{{end}}</table>
<form id="maintenance-form" method="post" action="maintenance">
<label>Matchers <input name="matchers" placeholder="member=web-1" required></label>
<label>Duration <input name="duration" value="1h" size="6" required></label>
<label>Created by <input name="createdBy" required></label>
<label>Comment <input name="comment" required></label>
<button type="submit">Start maintenance</button></form>
`))
