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

// Package web serves zkwatch_receiver's HTTP endpoints: the webhook, the
// incident API, the status page and the lifecycle endpoints.
package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/zkwatch/zkwatch/internal/httpguard"
	"github.com/zkwatch/zkwatch/receiver"
	"github.com/zkwatch/zkwatch/receiver/payload"
	"github.com/zkwatch/zkwatch/receiver/store"
)

// Options wire the handler to the rest of the program.
type Options struct {
	Logger  log.Logger
	Metrics http.Handler // served at /metrics when set
	Reload  func() error // called by POST /-/reload when set
	// Exposure, when set, is asked at every request but /-/healthy and
	// /-/ready: an error (the web configuration lost its basic auth
	// users, say) refuses the request with 503 and says why.
	Exposure func() error
	// LoopbackHost, when set and true (an unauthenticated loopback
	// listener), refuses with 421 a request whose Host names neither a
	// loopback address nor ExternalHost: DNS rebinding.
	LoopbackHost func() bool
	// ExternalHost is the host of --web.external-url, if any.
	ExternalHost string
}

// New returns the receiver's HTTP handler. When global.bearer_token is
// set, every route except /-/healthy and /-/ready requires it: the
// webhook, the incident API and page (which show restart argv and
// output), /-/reload and /metrics (as Prometheus protects /metrics).
// State changes from another origin (a web page's form post) are refused
// on every route, and so, per Options, are requests while the exposure
// rule fails and foreign Host headers on a loopback listener.
func New(rcv *receiver.Receiver, o Options) http.Handler {
	h := &handler{rcv: rcv, o: o}
	// Every status the webhook answers starts at 0, so that the first
	// request of each kind is counted by increase().
	for _, code := range webhookCodes {
		rcv.Metrics().WebhookRequests.WithLabelValues(strconv.Itoa(code))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/webhook", h.webhook)
	mux.HandleFunc("GET /api/v1/incidents", h.list)
	mux.HandleFunc("GET /api/v1/incidents/{id}", h.get)
	mux.HandleFunc("GET /api/v1/dead-letters", h.deadLetters)
	mux.HandleFunc("GET /{$}", h.page)
	mux.HandleFunc("GET /incidents/{id}", h.incident)
	mux.HandleFunc("/-/reload", h.reload)
	h.maintenanceRoutes(mux)
	if o.Metrics != nil {
		mux.Handle("GET /metrics", o.Metrics)
	}
	open := http.NewServeMux()
	open.HandleFunc("GET /-/healthy", ok)
	open.HandleFunc("GET /-/ready", ok)
	open.Handle("/", h.requireExposure(h.requireToken(mux)))
	guarded := httpguard.CrossOrigin(open)
	if o.LoopbackHost != nil {
		guarded = httpguard.LoopbackHost(guarded, o.LoopbackHost, func() []string { return []string{o.ExternalHost} })
	}
	return guarded
}

// requireExposure refuses every request while Options.Exposure fails.
func (h *handler) requireExposure(next http.Handler) http.Handler {
	if h.o.Exposure == nil {
		return next
	}
	var (
		mu     sync.Mutex
		logged string // the refusal last logged, so that a flood logs once
	)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := h.o.Exposure()
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		mu.Lock()
		if msg != logged {
			if msg != "" {
				level.Error(h.o.Logger).Log("msg", "refusing every request until the exposure check passes again", "err", err)
			} else {
				level.Info(h.o.Logger).Log("msg", "exposure check passes again, serving requests")
			}
			logged = msg
		}
		mu.Unlock()
		if err != nil {
			http.Error(w, msg, http.StatusServiceUnavailable)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// requireToken passes requests on only with the configured bearer token,
// read at each request so that a reload takes effect at once.
func (h *handler) requireToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := h.rcv.Config().BearerToken()
		if token == "" {
			next.ServeHTTP(w, r)
			return
		}
		code, msg := checkBearer(r.Header.Get("Authorization"), token)
		if code == http.StatusOK {
			next.ServeHTTP(w, r)
			return
		}
		if r.URL.Path == "/webhook" {
			h.rcv.Metrics().WebhookRequests.WithLabelValues(strconv.Itoa(code)).Inc()
		}
		if code == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="zkwatch_receiver"`)
		}
		http.Error(w, msg, code)
	})
}

// checkBearer returns 200, 401 (no credentials) or 403 (wrong ones).
func checkBearer(auth, token string) (int, string) {
	if auth == "" {
		return http.StatusUnauthorized, "missing bearer token"
	}
	got, ok := strings.CutPrefix(auth, "Bearer ")
	if !TokenEqual(got, token) || !ok {
		return http.StatusForbidden, "invalid bearer token"
	}
	return http.StatusOK, ""
}

type handler struct {
	rcv *receiver.Receiver
	o   Options
}

func ok(w http.ResponseWriter, _ *http.Request) {
	fmt.Fprintln(w, "OK")
}

func (h *handler) reload(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		w.Header().Set("Allow", "POST, PUT")
		http.Error(w, "use POST or PUT", http.StatusMethodNotAllowed)
		return
	}
	if h.o.Reload == nil {
		http.Error(w, "reload is not available", http.StatusNotImplemented)
		return
	}
	if err := h.o.Reload(); err != nil {
		http.Error(w, "reload failed, old configuration kept: "+err.Error(), http.StatusInternalServerError)
		return
	}
	fmt.Fprintln(w, "OK")
}

// webhookCodes are the statuses serveWebhook answers with.
var webhookCodes = []int{http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden,
	http.StatusMethodNotAllowed, http.StatusRequestEntityTooLarge, http.StatusInternalServerError}

func (h *handler) webhook(w http.ResponseWriter, r *http.Request) {
	code, msg := h.serveWebhook(w, r)
	h.rcv.Metrics().WebhookRequests.WithLabelValues(strconv.Itoa(code)).Inc()
	if code != http.StatusOK {
		http.Error(w, msg, code)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(msg))
}

func (h *handler) serveWebhook(w http.ResponseWriter, r *http.Request) (int, string) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		return http.StatusMethodNotAllowed, "use POST"
	}
	// Only JSON: a browser cannot send it cross-site without a preflight.
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return http.StatusUnsupportedMediaType, "Content-Type must be application/json"
	}
	cfg := h.rcv.Config()
	body := http.MaxBytesReader(w, r.Body, cfg.Global.MaxBodyBytes)
	m, err := payload.Decode(body)
	if err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return http.StatusRequestEntityTooLarge, fmt.Sprintf("body exceeds %d bytes", mbe.Limit)
		case payload.IsInvalid(err):
			return http.StatusBadRequest, "invalid payload: " + err.Error()
		}
		return http.StatusBadRequest, "reading body: " + err.Error()
	}
	if n, limit := len(m.Alerts), cfg.Global.MaxAlertsPerPayload; n > limit {
		// Nothing is stored: Alertmanager logs the 413 and does not retry.
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("payload has %d alerts, more than max_alerts_per_payload (%d)", n, limit)
	}
	res, err := h.rcv.Ingest(m)
	if err != nil {
		// Alertmanager retries 5xx: exactly what a storage failure needs.
		level.Error(h.o.Logger).Log("msg", "storing alerts failed", "err", err)
		return http.StatusInternalServerError, "storing alerts failed: " + err.Error()
	}
	b, _ := json.Marshal(map[string]any{"status": "ok", "alerts": len(m.Alerts), "new": res.New, "resolved": res.Resolved})
	return http.StatusOK, string(b)
}

// TokenEqual compares tokens in constant time, including their lengths.
func TokenEqual(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor a Unix timestamp", s)
	}
	return time.Unix(0, int64(f*1e9)), nil
}

// ParseFilter reads status, alertname, since, until and limit.
func ParseFilter(r *http.Request) (store.Filter, error) {
	q := r.URL.Query()
	f := store.Filter{Status: q.Get("status"), AlertName: q.Get("alertname"), Limit: 100}
	if f.Status != "" && f.Status != payload.StatusFiring && f.Status != payload.StatusResolved {
		return f, fmt.Errorf("status must be firing or resolved")
	}
	var err error
	if f.Since, err = parseTime(q.Get("since")); err != nil {
		return f, fmt.Errorf("since: %w", err)
	}
	if f.Until, err = parseTime(q.Get("until")); err != nil {
		return f, fmt.Errorf("until: %w", err)
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 10000 {
			return f, fmt.Errorf("limit must be between 1 and 10000")
		}
		f.Limit = n
	}
	return f, nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	f, err := ParseFilter(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	var incs []*store.Incident
	if err := h.rcv.Store().View(func(tx *store.Tx) (err error) { incs, err = tx.Incidents(f); return }); err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	if incs == nil {
		incs = []*store.Incident{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"incidents": incs})
}

// deadLetters lists the deliveries the outbox gave up on, newest first.
func (h *handler) deadLetters(w http.ResponseWriter, r *http.Request) {
	f, err := ParseFilter(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	var dl []*store.DeadLetter
	if err := h.rcv.Store().View(func(tx *store.Tx) (err error) { dl, err = tx.DeadLetters(f.Limit); return }); err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	if dl == nil {
		dl = []*store.DeadLetter{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"deadLetters": dl})
}

func (h *handler) get(w http.ResponseWriter, r *http.Request) {
	var inc *store.Incident
	if err := h.rcv.Store().View(func(tx *store.Tx) (err error) { inc, err = tx.Incident(r.PathValue("id")); return }); err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	if inc == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such incident"})
		return
	}
	writeJSON(w, http.StatusOK, inc)
}
