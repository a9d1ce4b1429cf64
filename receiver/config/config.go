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

// Package config loads and validates the zkwatch_receiver YAML file.
package config

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"go.yaml.in/yaml/v3"
)

// Config is the whole receiver configuration.
type Config struct {
	Global    Global     `yaml:"global"`
	Notifiers []Notifier `yaml:"notifiers"`
	Routes    []Route    `yaml:"routes"`
	Restarts  []Restart  `yaml:"restarts"`
	Storage   Storage    `yaml:"storage"`

	bearerToken string
}

// Global holds settings that apply to the whole receiver.
type Global struct {
	// BearerToken, when set, must be presented by Alertmanager
	// (http_config.authorization) on every POST /webhook.
	BearerToken     commoncfg.Secret `yaml:"bearer_token"`
	BearerTokenFile string           `yaml:"bearer_token_file"`
	// MaxBodyBytes limits webhook bodies; larger ones get 413.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// RenotifyInterval re-sends a still-firing incident's notification
	// when Alertmanager repeats it after this long; 0 never re-notifies.
	RenotifyInterval time.Duration `yaml:"renotify_interval"`
	// NotifyTimeout bounds one delivery attempt.
	NotifyTimeout time.Duration `yaml:"notify_timeout"`
	// RetryInitialBackoff and RetryMaxBackoff shape the outbox's
	// exponential backoff; deliveries are retried until they succeed or
	// fail permanently.
	RetryInitialBackoff time.Duration `yaml:"retry_initial_backoff"`
	RetryMaxBackoff     time.Duration `yaml:"retry_max_backoff"`
	// RestartConcurrency limits restart commands running at once.
	RestartConcurrency int `yaml:"restart_concurrency"`
}

// Notifier is one named destination; exactly one kind must be set.
type Notifier struct {
	Name     string          `yaml:"name"`
	Webhook  *WebhookConfig  `yaml:"webhook"`
	Email    *EmailConfig    `yaml:"email"`
	DingTalk *DingTalkConfig `yaml:"dingtalk"`
	SMS      *SMSConfig      `yaml:"sms"`
}

// Kind names the notifier's type.
func (n *Notifier) Kind() string {
	switch {
	case n.Webhook != nil:
		return "webhook"
	case n.Email != nil:
		return "email"
	case n.DingTalk != nil:
		return "dingtalk"
	case n.SMS != nil:
		return "sms"
	}
	return ""
}

// WebhookConfig posts a JSON document per notification.
type WebhookConfig struct {
	URL         string            `yaml:"url"`
	Headers     map[string]string `yaml:"headers"`
	BearerToken commoncfg.Secret  `yaml:"bearer_token"`
}

// EmailConfig sends mail through an SMTP smarthost.
type EmailConfig struct {
	Smarthost    string           `yaml:"smarthost"`
	From         string           `yaml:"from"`
	To           []string         `yaml:"to"`
	Hello        string           `yaml:"hello"`
	AuthUsername string           `yaml:"auth_username"`
	AuthPassword commoncfg.Secret `yaml:"auth_password"`
	// RequireTLS fails delivery when the server does not offer STARTTLS.
	// STARTTLS is used whenever it is offered.
	RequireTLS bool      `yaml:"require_tls"`
	TLS        TLSConfig `yaml:"tls_config"`
	Subject    string    `yaml:"subject"`
	Body       string    `yaml:"body"`

	subject, body *template.Template
}

// TLSConfig is the subset of TLS settings the SMTP client needs.
type TLSConfig struct {
	CAFile             string `yaml:"ca_file"`
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// DingTalkConfig sends markdown messages to a DingTalk custom robot.
type DingTalkConfig struct {
	URL    string           `yaml:"url"`
	Secret commoncfg.Secret `yaml:"secret"`
	Title  string           `yaml:"title"`
	Text   string           `yaml:"text"`
	// MessagesPerMinute is the robot's rate limit (DingTalk allows 20).
	MessagesPerMinute int `yaml:"messages_per_minute"`
	// MaxBytes is the largest message DingTalk accepts (20000).
	MaxBytes int `yaml:"max_bytes"`

	title, text *template.Template
}

// SMSConfig sends a text through an HTTP SMS gateway.
type SMSConfig struct {
	URL     string            `yaml:"url"`
	Method  string            `yaml:"method"`
	Headers map[string]string `yaml:"headers"`
	Body    string            `yaml:"body"`

	url, body *template.Template
}

// Route sends matching alerts to notifiers. Routes are tried in order; the
// first match wins unless it sets continue.
type Route struct {
	Match     map[string]string `yaml:"match"`
	MatchRE   map[string]string `yaml:"match_re"`
	Notifiers []string          `yaml:"notifiers"`
	Continue  bool              `yaml:"continue"`

	matcher Matcher
}

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

// Storage configures the incident store.
type Storage struct {
	// Retention is how long incidents are kept after their last update.
	Retention time.Duration `yaml:"retention"`
}

// DefaultLabelAllow is the allow regex applied to labels that a restart
// command uses but that the rule's allow map does not mention.
const DefaultLabelAllow = `^[A-Za-z0-9._:-]+$`

// Load parses and validates a configuration.
func Load(b []byte) (*Config, error) {
	return load(b, "")
}

// LoadFile reads and validates a configuration file. Relative file paths
// inside it are resolved against the file's directory.
func LoadFile(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := load(b, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

func load(b []byte, dir string) (*Config, error) {
	c := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("only one YAML document is allowed")
	}
	if err := c.validate(dir); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Config) validate(dir string) error {
	g := &c.Global
	setDefault(&g.MaxBodyBytes, 4<<20)
	setDefault(&g.NotifyTimeout, 10*time.Second)
	setDefault(&g.RetryInitialBackoff, time.Second)
	setDefault(&g.RetryMaxBackoff, 5*time.Minute)
	setDefault(&g.RestartConcurrency, 2)
	setDefault(&c.Storage.Retention, 720*time.Hour)
	switch {
	case g.MaxBodyBytes < 0, g.RenotifyInterval < 0, g.NotifyTimeout < 0, g.RetryInitialBackoff < 0,
		g.RetryMaxBackoff < g.RetryInitialBackoff, g.RestartConcurrency < 0, c.Storage.Retention < 0:
		return errors.New("global/storage: values must be positive and retry_max_backoff >= retry_initial_backoff")
	}
	if g.BearerToken != "" && g.BearerTokenFile != "" {
		return errors.New("global: at most one of bearer_token and bearer_token_file")
	}
	c.bearerToken = string(g.BearerToken)
	if g.BearerTokenFile != "" {
		p := g.BearerTokenFile
		if dir != "" && !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("global: bearer_token_file: %w", err)
		}
		c.bearerToken = strings.TrimSpace(string(b))
		if c.bearerToken == "" {
			return errors.New("global: bearer_token_file is empty")
		}
	}

	names := map[string]bool{}
	for i := range c.Notifiers {
		n := &c.Notifiers[i]
		if n.Name == "" {
			return fmt.Errorf("notifiers[%d]: missing name", i)
		}
		if names[n.Name] {
			return fmt.Errorf("notifiers[%d]: duplicate name %q", i, n.Name)
		}
		if strings.ContainsFunc(n.Name, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			return fmt.Errorf("notifiers[%d]: name %q contains control characters", i, n.Name)
		}
		names[n.Name] = true
		if err := n.validate(); err != nil {
			return fmt.Errorf("notifier %q: %w", n.Name, err)
		}
	}
	for i := range c.Routes {
		r := &c.Routes[i]
		var err error
		if r.matcher, err = NewMatcher(r.Match, r.MatchRE); err != nil {
			return fmt.Errorf("routes[%d]: %w", i, err)
		}
		if len(r.Notifiers) == 0 {
			return fmt.Errorf("routes[%d]: no notifiers", i)
		}
		for _, n := range r.Notifiers {
			if !names[n] {
				return fmt.Errorf("routes[%d]: unknown notifier %q", i, n)
			}
		}
	}
	rules := map[string]bool{}
	for i := range c.Restarts {
		r := &c.Restarts[i]
		if r.Name == "" {
			return fmt.Errorf("restarts[%d]: missing name", i)
		}
		if rules[r.Name] {
			return fmt.Errorf("restarts[%d]: duplicate name %q", i, r.Name)
		}
		rules[r.Name] = true
		if err := r.validate(dir); err != nil {
			return fmt.Errorf("restart %q: %w", r.Name, err)
		}
	}
	return nil
}

func setDefault[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

// BearerToken returns the token webhook requests must carry, or "".
func (c *Config) BearerToken() string { return c.bearerToken }

// Route returns the names of the notifiers for an alert's labels, in
// configuration order without duplicates.
func (c *Config) Route(labels map[string]string) []string {
	var out []string
	seen := map[string]bool{}
	for i := range c.Routes {
		r := &c.Routes[i]
		if !r.matcher.Matches(labels) {
			continue
		}
		for _, n := range r.Notifiers {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
		if !r.Continue {
			break
		}
	}
	return out
}

// Notifier returns the notifier called name, or nil.
func (c *Config) Notifier(name string) *Notifier {
	for i := range c.Notifiers {
		if c.Notifiers[i].Name == name {
			return &c.Notifiers[i]
		}
	}
	return nil
}

// RestartRules returns the restart rules matching labels.
func (c *Config) RestartRules(labels map[string]string) []*Restart {
	var out []*Restart
	for i := range c.Restarts {
		if c.Restarts[i].matcher.Matches(labels) {
			out = append(out, &c.Restarts[i])
		}
	}
	return out
}

// RestartRule returns the rule called name, or nil.
func (c *Config) RestartRule(name string) *Restart {
	for i := range c.Restarts {
		if c.Restarts[i].Name == name {
			return &c.Restarts[i]
		}
	}
	return nil
}

func (n *Notifier) validate() error {
	count := 0
	for _, set := range []bool{n.Webhook != nil, n.Email != nil, n.DingTalk != nil, n.SMS != nil} {
		if set {
			count++
		}
	}
	if count != 1 {
		return errors.New("exactly one of webhook, email, dingtalk, sms must be set")
	}
	var err error
	switch {
	case n.Webhook != nil:
		return checkURL(n.Webhook.URL)
	case n.Email != nil:
		e := n.Email
		if e.Smarthost == "" || e.From == "" || len(e.To) == 0 {
			return errors.New("email needs smarthost, from and to")
		}
		if _, _, err := splitHostPort(e.Smarthost); err != nil {
			return fmt.Errorf("smarthost: %w", err)
		}
		if e.subject, err = ParseTemplate("subject", e.Subject); err != nil {
			return err
		}
		e.body, err = ParseTemplate("body", e.Body)
		return err
	case n.DingTalk != nil:
		d := n.DingTalk
		setDefault(&d.MessagesPerMinute, 20)
		setDefault(&d.MaxBytes, 20000)
		if d.MessagesPerMinute < 0 || d.MaxBytes < 1000 {
			return errors.New("messages_per_minute must be positive and max_bytes at least 1000")
		}
		if err := checkURL(d.URL); err != nil {
			return err
		}
		if d.title, err = ParseTemplate("title", d.Title); err != nil {
			return err
		}
		d.text, err = ParseTemplate("text", d.Text)
		return err
	case n.SMS != nil:
		s := n.SMS
		setDefault(&s.Method, "POST")
		s.Method = strings.ToUpper(s.Method)
		switch s.Method {
		case "GET", "POST", "PUT":
		default:
			return fmt.Errorf("sms: method %q must be GET, POST or PUT", s.Method)
		}
		if err := checkURL(strings.Split(s.URL, "{{")[0]); err != nil {
			return err
		}
		if s.url, err = ParseTemplate("url", s.URL); err != nil {
			return err
		}
		s.body, err = ParseTemplate("body", s.Body)
		return err
	}
	return nil
}

// Templates of the notifier kinds; nil means "use the default message".

// SubjectTemplate returns the parsed subject template or nil.
func (e *EmailConfig) SubjectTemplate() *template.Template { return e.subject }

// BodyTemplate returns the parsed body template or nil.
func (e *EmailConfig) BodyTemplate() *template.Template { return e.body }

// TitleTemplate returns the parsed title template or nil.
func (d *DingTalkConfig) TitleTemplate() *template.Template { return d.title }

// TextTemplate returns the parsed text template or nil.
func (d *DingTalkConfig) TextTemplate() *template.Template { return d.text }

// URLTemplate returns the parsed URL template.
func (s *SMSConfig) URLTemplate() *template.Template { return s.url }

// BodyTemplate returns the parsed body template or nil.
func (s *SMSConfig) BodyTemplate() *template.Template { return s.body }

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("url %q must be absolute http(s)", RedactURL(s))
	}
	return nil
}

// RedactURL drops the query and user info, which often carry tokens.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "<unparseable url>"
	}
	u.User = nil
	if u.RawQuery != "" {
		u.RawQuery = "<redacted>"
	}
	return u.String()
}

func splitHostPort(s string) (string, string, error) {
	i := strings.LastIndex(s, ":")
	if i <= 0 || i == len(s)-1 {
		return "", "", fmt.Errorf("%q is not host:port", s)
	}
	return s[:i], s[i+1:], nil
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
	setDefault(&r.Timeout, 30*time.Second)
	setDefault(&r.MaxAttempts, 1)
	setDefault(&r.Backoff, 5*time.Second)
	if r.Timeout < 0 || r.MaxAttempts < 0 || r.Backoff < 0 || r.Cooldown < 0 {
		return errors.New("timeout, max_attempts, backoff and cooldown must not be negative")
	}
	r.allow = map[string]*regexp.Regexp{}
	for name, expr := range r.Allow {
		if r.allow[name], err = anchored(expr); err != nil {
			return fmt.Errorf("allow %s: %w", name, err)
		}
	}
	r.argv = make([]*template.Template, len(r.Command))
	for i, arg := range r.Command {
		t, err := ParseTemplate(fmt.Sprintf("command[%d]", i), arg)
		if err != nil {
			return err
		}
		if t == nil {
			t = template.Must(template.New("").Parse(""))
		}
		r.argv[i] = t
		r.templated = r.templated || strings.Contains(arg, "{{")
		// Labels a command uses must be vetted even if allow forgets them.
		for _, l := range usedLabels(t) {
			if _, ok := r.allow[l]; !ok {
				r.allow[l] = regexp.MustCompile(DefaultLabelAllow)
			}
		}
	}
	if g := r.Guard; g != nil {
		if len(g.ZooKeeper) == 0 {
			return errors.New("guard: zookeeper needs at least one host:port")
		}
		for _, a := range g.ZooKeeper {
			if _, _, err := splitHostPort(a); err != nil {
				return fmt.Errorf("guard: %w", err)
			}
		}
		setDefault(&g.TargetLabel, "server")
		setDefault(&g.Timeout, 2*time.Second)
		setDefault(&g.RetryInterval, 10*time.Second)
		if err := g.loadTLS(dir); err != nil {
			return err
		}
	}
	return nil
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

// usedLabels lists the names used as .Labels.NAME in a template.
func usedLabels(t *template.Template) []string {
	var out []string
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					walk(c)
				}
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n != nil {
				for _, c := range n.Cmds {
					walk(c)
				}
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.FieldNode:
			if len(n.Ident) >= 2 && n.Ident[0] == "Labels" {
				out = append(out, n.Ident[1])
			}
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		}
	}
	if t.Tree != nil {
		walk(t.Tree.Root)
	}
	return out
}

// ParseTemplate parses a text/template; an empty text yields nil.
func ParseTemplate(name, text string) (*template.Template, error) {
	if text == "" {
		return nil, nil
	}
	t, err := template.New(name).Option("missingkey=zero").Funcs(Funcs).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	return t, nil
}

// Funcs are the helper functions available in every template.
var Funcs = template.FuncMap{
	"toUpper": strings.ToUpper,
	"toLower": strings.ToLower,
	"join":    strings.Join,
	"since":   func(t time.Time) time.Duration { return time.Since(t).Round(time.Second) },
	// json quotes a value for use inside a JSON body template.
	"json": func(s string) string { b, _ := json.Marshal(s); return string(b) },
}

// Matcher holds equality and regex label matchers.
type Matcher struct {
	eq map[string]string
	re map[string]*regexp.Regexp
}

// NewMatcher compiles match (equality) and match_re (fully anchored regex).
func NewMatcher(eq, re map[string]string) (Matcher, error) {
	m := Matcher{eq: eq, re: map[string]*regexp.Regexp{}}
	for k, v := range re {
		r, err := anchored(v)
		if err != nil {
			return m, fmt.Errorf("match_re %s: %w", k, err)
		}
		m.re[k] = r
	}
	return m, nil
}

// Matches tells whether every matcher holds; no matchers match everything.
func (m Matcher) Matches(labels map[string]string) bool {
	for k, v := range m.eq {
		if labels[k] != v {
			return false
		}
	}
	for k, r := range m.re {
		if !r.MatchString(labels[k]) {
			return false
		}
	}
	return true
}

func anchored(expr string) (*regexp.Regexp, error) {
	return regexp.Compile("^(?:" + expr + ")$")
}
