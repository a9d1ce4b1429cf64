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

// Package httpguard keeps browsers from acting on zkwatch's HTTP endpoints
// on an attacker's behalf: cross-origin state changes and DNS rebinding.
// Clients that are not browsers (Alertmanager, Prometheus, curl) send
// neither Origin nor Sec-Fetch-Site and a Host naming the address they
// dialled, so they pass.
package httpguard

import (
	"net"
	"net/http"
	"strings"
)

// CrossOrigin refuses, with 403, a state-changing request (any method but
// GET, HEAD and OPTIONS) that a browser sends from another origin, as
// told by Sec-Fetch-Site or, lacking it, by an Origin that does not match
// Host. A form or text/plain POST needs no CORS preflight, so only this
// check stops a web page from triggering /-/reload.
func CrossOrigin(next http.Handler) http.Handler {
	p := http.NewCrossOriginProtection()
	p.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
	}))
	return p.Handler(next)
}

// LoopbackHost refuses, with 421 Misdirected Request, a request whose Host
// header names neither a loopback address, nor localhost, nor one of the
// hosts extra returns, while enabled returns true. A page on
// rebind.attacker.example whose name later resolves to 127.0.0.1 can
// reach a loopback listener from the victim's browser, but its requests
// still carry the attacker's host name: a listener without
// authentication must not trust them.
func LoopbackHost(next http.Handler, enabled func() bool, extra func() []string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if enabled() && !loopbackHost(r.Host, extra()) {
			http.Error(w, "Host "+hostOnly(r.Host)+" is not a loopback address: refused on an unauthenticated loopback listener "+
				"(DNS rebinding); use 127.0.0.1, [::1] or localhost, or set --web.external-url", http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// hostOnly is the host of a Host header, without the port.
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.Trim(hostport, "[]")
}

func loopbackHost(hostport string, extra []string) bool {
	h := strings.TrimSuffix(strings.ToLower(hostOnly(hostport)), ".")
	if h == "localhost" {
		return true
	}
	if ip := net.ParseIP(h); ip != nil {
		return ip.IsLoopback()
	}
	for _, e := range extra {
		if e != "" && strings.EqualFold(h, e) {
			return true
		}
	}
	return false
}
