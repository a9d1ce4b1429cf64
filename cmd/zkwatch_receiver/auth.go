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
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/exporter-toolkit/web"
	"go.yaml.in/yaml/v3"

	"github.com/zkwatch/zkwatch/receiver/config"
)

// exposure is what decides whether the receiver may serve a
// configuration: where it listens, whether exporter-toolkit basic auth is
// on, and the --web.allow-unauthenticated escape hatch. The web
// configuration file is re-read whenever it changes (exporter-toolkit
// reads it at every request), so that emptying it cannot leave the
// receiver open.
type exposure struct {
	listen        []string
	systemdSocket bool
	allowUnauthed bool
	webConfig     string

	mu        sync.Mutex
	basicAuth bool
	seen      webConfigStamp // of the file basicAuth was read from
}

// webConfigStamp tells whether the web configuration file changed.
type webConfigStamp struct {
	mod  time.Time
	size int64
	ok   bool
}

// newExposure reads the web configuration file (if any) for basic auth
// users.
func newExposure(toolkit *web.FlagConfig, allowUnauthed bool) (*exposure, error) {
	e := &exposure{allowUnauthed: allowUnauthed}
	if toolkit.WebListenAddresses != nil {
		e.listen = *toolkit.WebListenAddresses
	}
	e.systemdSocket = toolkit.WebSystemdSocket != nil && *toolkit.WebSystemdSocket
	if toolkit.WebConfigFile != nil {
		e.webConfig = *toolkit.WebConfigFile
	}
	if _, err := e.hasBasicAuth(); err != nil {
		return nil, err
	}
	return e, nil
}

// hasBasicAuth tells whether the web configuration file has
// basic_auth_users now, reading it again when it changed.
func (e *exposure) hasBasicAuth() (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.webConfig == "" {
		return e.basicAuth, nil
	}
	var stamp webConfigStamp
	if fi, err := os.Stat(e.webConfig); err == nil {
		stamp = webConfigStamp{mod: fi.ModTime(), size: fi.Size(), ok: true}
	}
	if stamp.ok && stamp == e.seen {
		return e.basicAuth, nil
	}
	e.basicAuth, e.seen = false, webConfigStamp{}
	b, err := os.ReadFile(e.webConfig)
	if err != nil {
		return false, fmt.Errorf("web config: %w", err)
	}
	// Only whether users exist matters here; exporter-toolkit validates
	// and enforces the file itself.
	var wc struct {
		Users map[string]string `yaml:"basic_auth_users"`
	}
	if err := yaml.Unmarshal(b, &wc); err != nil {
		return false, fmt.Errorf("web config %s: %w", e.webConfig, err)
	}
	e.basicAuth, e.seen = len(wc.Users) > 0, stamp
	return e.basicAuth, nil
}

// loopbackOnly tells whether every listen address is a loopback address.
func (e *exposure) loopbackOnly() bool {
	if e.systemdSocket || len(e.listen) == 0 {
		return false
	}
	for _, a := range e.listen {
		host, _, err := net.SplitHostPort(a)
		if err != nil {
			return false
		}
		if strings.EqualFold(host, "localhost") {
			continue
		}
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			return false
		}
	}
	return true
}

// check refuses a configuration that would serve the webhook, the
// incident history (labels, annotations, restart argv and output) and
// any restart rules without authentication beyond loopback, and one that
// nobody could authenticate to. It runs at start-up, at every reload and,
// through guard, at every request.
func (e *exposure) check(cfg *config.Config) error {
	basic, err := e.hasBasicAuth()
	if err != nil {
		return err
	}
	token := cfg.BearerToken() != ""
	if token && basic {
		return errors.New("both global.bearer_token and basic_auth_users in --web.config.file are set, " +
			"but a request carries only one Authorization header, so no request could pass both; configure one of them")
	}
	if token || basic || e.loopbackOnly() || e.allowUnauthed {
		return nil
	}
	what, risk := "the webhook and the incident history (labels, annotations)", "post alerts and read them"
	if n := len(cfg.Restarts); n > 0 {
		what, risk = fmt.Sprintf("%d restart rules", n), "run them and read the incident history"
	}
	return fmt.Errorf("refusing to serve %s without authentication on %s: anyone who can reach the port could %s. "+
		"Set global.bearer_token or global.bearer_token_file (and http_config.authorization in Alertmanager), "+
		"or basic_auth_users in --web.config.file, or listen on a loopback address only; "+
		"--web.allow-unauthenticated overrides this check", what, e.describe(), risk)
}

// unauthenticated tells whether requests reach cfg's routes without
// credentials: on loopback only, the Host check is then the defence
// against DNS rebinding.
func (e *exposure) unauthenticated(cfg *config.Config) bool {
	basic, err := e.hasBasicAuth()
	return err == nil && !basic && cfg.BearerToken() == ""
}

// exposed tells whether cfg would be served without authentication
// beyond loopback (with --web.allow-unauthenticated).
func (e *exposure) exposed(cfg *config.Config) bool {
	return e.unauthenticated(cfg) && !e.loopbackOnly()
}

func (e *exposure) describe() string {
	if e.systemdSocket {
		return "the systemd socket"
	}
	return strings.Join(e.listen, ", ")
}

// startupExposure checks the initial configuration and warns when the
// override serves it unauthenticated.
func startupExposure(toolkit *web.FlagConfig, allowUnauthed bool, cfg *config.Config, logger log.Logger) (*exposure, error) {
	e, err := newExposure(toolkit, allowUnauthed)
	if err != nil {
		return nil, err
	}
	if err := e.check(cfg); err != nil {
		return nil, err
	}
	if e.exposed(cfg) {
		level.Warn(logger).Log("msg", "serving without authentication (--web.allow-unauthenticated): anyone who can reach the port "+
			"can post alerts, read the incident history and run the restart rules", "restart_rules", len(cfg.Restarts))
	}
	return e, nil
}
