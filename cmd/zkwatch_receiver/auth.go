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

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/exporter-toolkit/web"
	"go.yaml.in/yaml/v3"

	"github.com/zkwatch/zkwatch/receiver/config"
)

// exposure is what decides whether the receiver may serve a
// configuration: where it listens, whether exporter-toolkit basic auth is
// on, and the --web.allow-unauthenticated escape hatch.
type exposure struct {
	listen        []string
	systemdSocket bool
	basicAuth     bool
	allowUnauthed bool
}

// newExposure reads the web configuration file (if any) for basic auth
// users.
func newExposure(toolkit *web.FlagConfig, allowUnauthed bool) (*exposure, error) {
	e := &exposure{allowUnauthed: allowUnauthed}
	if toolkit.WebListenAddresses != nil {
		e.listen = *toolkit.WebListenAddresses
	}
	e.systemdSocket = toolkit.WebSystemdSocket != nil && *toolkit.WebSystemdSocket
	if toolkit.WebConfigFile != nil && *toolkit.WebConfigFile != "" {
		b, err := os.ReadFile(*toolkit.WebConfigFile)
		if err != nil {
			return nil, fmt.Errorf("web config: %w", err)
		}
		// Only whether users exist matters here; exporter-toolkit
		// validates and enforces the file itself.
		var wc struct {
			Users map[string]string `yaml:"basic_auth_users"`
		}
		if err := yaml.Unmarshal(b, &wc); err != nil {
			return nil, fmt.Errorf("web config %s: %w", *toolkit.WebConfigFile, err)
		}
		e.basicAuth = len(wc.Users) > 0
	}
	return e, nil
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

// check refuses a configuration that would let anyone who can reach the
// port run restart commands, and one that nobody could authenticate to.
func (e *exposure) check(cfg *config.Config) error {
	token := cfg.BearerToken() != ""
	if token && e.basicAuth {
		return errors.New("both global.bearer_token and basic_auth_users in --web.config.file are set, " +
			"but a request carries only one Authorization header, so no request could pass both; configure one of them")
	}
	if !e.exposed(cfg) || e.allowUnauthed {
		return nil
	}
	return fmt.Errorf("refusing to serve %d restart rules without authentication on %s: anyone who can reach the port could run them. "+
		"Set global.bearer_token or global.bearer_token_file (and http_config.authorization in Alertmanager), "+
		"or basic_auth_users in --web.config.file, or listen on a loopback address only; "+
		"--web.allow-unauthenticated overrides this check", len(cfg.Restarts), e.describe())
}

// exposed tells whether restart rules would be served without
// authentication beyond loopback.
func (e *exposure) exposed(cfg *config.Config) bool {
	return cfg.BearerToken() == "" && !e.basicAuth && len(cfg.Restarts) > 0 && !e.loopbackOnly()
}

func (e *exposure) describe() string {
	if e.systemdSocket {
		return "the systemd socket"
	}
	return strings.Join(e.listen, ", ")
}

// startupExposure checks the initial configuration and warns when the
// override serves restart rules unauthenticated.
func startupExposure(toolkit *web.FlagConfig, allowUnauthed bool, cfg *config.Config, logger log.Logger) (*exposure, error) {
	e, err := newExposure(toolkit, allowUnauthed)
	if err != nil {
		return nil, err
	}
	if err := e.check(cfg); err != nil {
		return nil, err
	}
	if e.exposed(cfg) {
		level.Warn(logger).Log("msg", "serving restart rules without authentication (--web.allow-unauthenticated): anyone who can reach the port can run them")
	}
	return e, nil
}
