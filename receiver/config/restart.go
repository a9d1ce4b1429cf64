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

package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	commoncfg "github.com/prometheus/common/config"
)

// Restart runs a command for matching firing alerts.
type Restart struct {
	Name    string            `yaml:"name"`
	Match   map[string]string `yaml:"match"`
	MatchRE map[string]string `yaml:"match_re"`
	// Command is the argv, run without a shell; every element except the
	// first is a template and stays exactly one argument.
	Command []string `yaml:"command"`
	// Allow maps label names to regexes their values must match (fully)
	// before any restart runs.
	Allow       map[string]string `yaml:"allow"`
	Workdir     string            `yaml:"workdir"`
	Timeout     time.Duration     `yaml:"timeout"`
	MaxAttempts int               `yaml:"max_attempts"`
	Backoff     time.Duration     `yaml:"backoff"`
	Cooldown    time.Duration     `yaml:"cooldown"`
	DryRun      bool              `yaml:"dry_run"`
	Guard       *Guard            `yaml:"guard"`

	matcher   Matcher
	argv      []*template.Template
	allow     map[string]*regexp.Regexp
	templated bool
}

// Guard postpones a restart unless the rest of a ZooKeeper ensemble keeps
// a quorum and no other member of it is being restarted.
type Guard struct {
	ZooKeeper []string `yaml:"zookeeper"`
	// TargetLabel names the label holding the member's host:port.
	TargetLabel string        `yaml:"target_label"`
	Timeout     time.Duration `yaml:"timeout"`
	// RetryInterval is how long a postponed restart waits.
	RetryInterval time.Duration `yaml:"retry_interval"`
	// TLS, when set, makes the guard ask the members' secure client ports
	// (the usual Prometheus tls_config: ca_file, cert_file, key_file,
	// server_name, insecure_skip_verify).
	TLS *commoncfg.TLSConfig `yaml:"tls_config"`

	tlsConfig *tls.Config
}

// DefaultLabelAllow is the allow regex applied to labels that a restart
// command uses but that the rule's allow map does not mention. It accepts
// names, host:port and ZooKeeper paths (/monitor/web, the exporter's group
// label), and refuses every segment that starts with "." or "-": no ".."
// climbing out of a directory, no value a command would read as an option.
const DefaultLabelAllow = `^/?[A-Za-z0-9_:][A-Za-z0-9._:-]*(/[A-Za-z0-9_:][A-Za-z0-9._:-]*)*$`

// DefaultRestart holds the defaults of a restart rule.
// The cooldown keeps a flapping alert from restarting one target over and
// over; set cooldown: 0s explicitly to allow back-to-back restarts.
var DefaultRestart = Restart{Timeout: 30 * time.Second, MaxAttempts: 1, Backoff: 5 * time.Second, Cooldown: 5 * time.Minute}

// UnmarshalYAML applies DefaultRestart before the file's values.
func (r *Restart) UnmarshalYAML(unmarshal func(any) error) error {
	*r = DefaultRestart
	type plain Restart
	return unmarshal((*plain)(r))
}

// DefaultGuard holds the defaults of a quorum guard.
var DefaultGuard = Guard{TargetLabel: "server", Timeout: 2 * time.Second, RetryInterval: 10 * time.Second}

// UnmarshalYAML applies DefaultGuard before the file's values.
func (g *Guard) UnmarshalYAML(unmarshal func(any) error) error {
	*g = DefaultGuard
	type plain Guard
	return unmarshal((*plain)(g))
}

func (r *Restart) validate(dir string) error {
	var err error
	if r.matcher, err = NewMatcher(r.Match, r.MatchRE); err != nil {
		return err
	}
	if len(r.Match)+len(r.MatchRE) == 0 {
		return errors.New("match or match_re is required")
	}
	if len(r.Command) == 0 {
		return errors.New("command is required")
	}
	if strings.Contains(r.Command[0], "{{") || !filepath.IsAbs(r.Command[0]) {
		return errors.New("command[0] must be an absolute path without templates")
	}
	switch {
	case r.Timeout <= 0:
		return errors.New("timeout must be positive")
	case r.MaxAttempts < 1:
		return fmt.Errorf("max_attempts must be at least 1, got %d", r.MaxAttempts)
	case r.Backoff < 0 || r.Cooldown < 0:
		return errors.New("backoff and cooldown must not be negative")
	}
	r.allow = map[string]*regexp.Regexp{}
	for name, expr := range r.Allow {
		if r.allow[name], err = anchored(expr); err != nil {
			return fmt.Errorf("allow %s: %w", name, err)
		}
	}
	if err := r.parseCommand(); err != nil {
		return err
	}
	if r.Guard != nil {
		return r.Guard.validate(dir)
	}
	return nil
}

// parseCommand parses the argument templates and vets every label they
// use, with DefaultLabelAllow unless allow names it. An argument may hold
// only plain text and {{ .Labels.NAME }}: anything else (other fields,
// functions, variables, pipelines, with/range/if) could reach a value no
// allow regex vetted.
func (r *Restart) parseCommand() error {
	r.argv = make([]*template.Template, len(r.Command))
	for i, arg := range r.Command {
		name := fmt.Sprintf("command[%d]", i)
		t, err := template.New(name).Option("missingkey=error").Parse(arg)
		if err != nil {
			return fmt.Errorf("template %s: %w", name, err)
		}
		labels, err := argLabels(t.Root)
		if err == nil && len(t.Templates()) > 1 {
			err = errors.New("define/block is not allowed")
		}
		if err != nil {
			return fmt.Errorf("%s %q: %w; only plain text and {{ .Labels.NAME }} are allowed in a restart command, "+
				"because only label values pass an allow regex (the alert is also in the ZKWATCH_* environment)", name, arg, err)
		}
		r.argv[i] = t
		r.templated = r.templated || len(labels) > 0
		// Labels a command uses must be vetted even if allow forgets them.
		for _, l := range labels {
			if _, ok := r.allow[l]; !ok {
				r.allow[l] = regexp.MustCompile(DefaultLabelAllow)
			}
		}
	}
	return nil
}

// argLabels returns the label names a restart argument uses, or an error
// naming the first node that is neither text nor {{ .Labels.NAME }}.
func argLabels(root *parse.ListNode) ([]string, error) {
	var out []string
	for _, n := range root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			continue
		case *parse.ActionNode:
			if p := n.Pipe; len(p.Decl) == 0 && len(p.Cmds) == 1 && len(p.Cmds[0].Args) == 1 {
				if f, ok := p.Cmds[0].Args[0].(*parse.FieldNode); ok && len(f.Ident) == 2 && f.Ident[0] == "Labels" {
					out = append(out, f.Ident[1])
					continue
				}
			}
		}
		return nil, fmt.Errorf("%s is not allowed", n.String())
	}
	return out, nil
}

// ArgvData is all a restart argument template sees: the label values that
// passed their allow regex, and nothing else.
type ArgvData struct {
	Labels map[string]string
}

// VettedData checks labels against the allow regexes and returns the data
// to render the command with, holding only the vetted values.
func (r *Restart) VettedData(labels map[string]string) (*ArgvData, error) {
	if err := r.CheckAllow(labels); err != nil {
		return nil, err
	}
	d := &ArgvData{Labels: make(map[string]string, len(r.allow))}
	for name := range r.allow {
		d.Labels[name] = labels[name]
	}
	return d, nil
}

func (g *Guard) validate(dir string) error {
	if len(g.ZooKeeper) == 0 {
		return errors.New("guard: zookeeper needs at least one host:port")
	}
	for _, a := range g.ZooKeeper {
		if _, _, err := splitHostPort(a); err != nil {
			return fmt.Errorf("guard: %w", err)
		}
	}
	switch {
	case g.TargetLabel == "":
		return errors.New("guard: target_label must not be empty")
	case g.Timeout <= 0:
		return errors.New("guard: timeout must be positive")
	case g.RetryInterval <= 0:
		return errors.New("guard: retry_interval must be positive")
	}
	return g.loadTLS(dir)
}

// loadTLS builds the guard's TLS client configuration from tls_config, with
// relative file names resolved against dir.
func (g *Guard) loadTLS(dir string) error {
	if g.TLS == nil {
		return nil
	}
	if dir != "" {
		g.TLS.SetDirectory(dir)
	}
	if err := g.TLS.Validate(); err != nil {
		return fmt.Errorf("guard: tls_config: %w", err)
	}
	tc, err := commoncfg.NewTLSConfig(g.TLS)
	if err != nil {
		return fmt.Errorf("guard: tls_config: %w", err)
	}
	g.tlsConfig = tc
	return nil
}

// TLSConfig is the guard's client configuration for the members' secure
// client ports, or nil for plain TCP.
func (g *Guard) TLSConfig() *tls.Config { return g.tlsConfig }

// Matches tells whether the rule applies to labels.
func (r *Restart) Matches(labels map[string]string) bool { return r.matcher.Matches(labels) }

// Argv returns the command's argument templates (element 0 is literal).
func (r *Restart) Argv() []*template.Template { return r.argv }

// Templated tells whether any argument is a template, that is whether the
// command line itself names what it restarts.
func (r *Restart) Templated() bool { return r.templated }

// CheckAllow returns an error naming the first label whose value is
// missing or does not match its allow regex.
func (r *Restart) CheckAllow(labels map[string]string) error {
	names := make([]string, 0, len(r.allow))
	for n := range r.allow {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v, ok := labels[n]
		if !ok {
			return fmt.Errorf("label %q is missing", n)
		}
		if !r.allow[n].MatchString(v) {
			return fmt.Errorf("label %s=%q does not match allow %q", n, v, r.allow[n].String())
		}
	}
	return nil
}
