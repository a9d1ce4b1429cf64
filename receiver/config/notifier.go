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
	"errors"
	"fmt"
	htmltemplate "html/template"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"text/template"

	commoncfg "github.com/prometheus/common/config"

	"github.com/zkwatch/zkwatch/receiver/internal/redact"
	tmpl "github.com/zkwatch/zkwatch/receiver/template"
)

// Notifier is one named destination; exactly one kind must be set.
type Notifier struct {
	Name     string          `yaml:"name"`
	Webhook  *WebhookConfig  `yaml:"webhook"`
	Email    *EmailConfig    `yaml:"email"`
	DingTalk *DingTalkConfig `yaml:"dingtalk"`
	SMS      *SMSConfig      `yaml:"sms"`
	// Grouping is "notification" (one message per Alertmanager
	// notification, listing its alerts) or "alert" (one message per
	// alert). The default depends on the kind; see DefaultGrouping.
	Grouping string `yaml:"grouping"`
}

// Groupings.
const (
	GroupingNotification = "notification"
	GroupingAlert        = "alert"
)

// Kinds are the notifier kinds, in the order the error messages list
// them. A new kind is one entry here, one field of Notifier for its YAML
// block, and its constructor in receiver's notifierKinds (a test checks
// that the two tables name the same kinds).
//
// The default grouping: people read DingTalk and e-mail, so one message
// per notification (DingTalk's 20 messages a minute would spread a
// 50-alert group over minutes). Webhooks feed programs, and an SMS holds
// one short line: one message per alert.
var Kinds = []Kind{
	{Name: "webhook", Grouping: GroupingAlert, config: func(n *Notifier) (kindConfig, bool) { return n.Webhook, n.Webhook != nil }},
	{Name: "email", Grouping: GroupingNotification, config: func(n *Notifier) (kindConfig, bool) { return n.Email, n.Email != nil }},
	{Name: "dingtalk", Grouping: GroupingNotification, config: func(n *Notifier) (kindConfig, bool) { return n.DingTalk, n.DingTalk != nil }},
	{Name: "sms", Grouping: GroupingAlert, config: func(n *Notifier) (kindConfig, bool) { return n.SMS, n.SMS != nil }},
}

// Kind is one notifier kind.
type Kind struct {
	Name     string
	Grouping string // the default grouping
	// config returns the notifier's block of this kind, if it is set.
	config func(*Notifier) (kindConfig, bool)
}

// kindConfig is the configuration block of one kind; relative file paths
// are resolved against dir.
type kindConfig interface {
	validate(dir string, ts *tmpl.Set) error
}

// kind returns the notifier's kinds that are set.
func (n *Notifier) kinds() []Kind {
	var set []Kind
	for _, k := range Kinds {
		if _, ok := k.config(n); ok {
			set = append(set, k)
		}
	}
	return set
}

// Kind names the notifier's type, "" when none or several are set.
func (n *Notifier) Kind() string {
	if set := n.kinds(); len(set) == 1 {
		return set[0].Name
	}
	return ""
}

// WebhookConfig posts a JSON document per notification.
type WebhookConfig struct {
	URL         string            `yaml:"url"`
	Headers     map[string]string `yaml:"headers"`
	BearerToken commoncfg.Secret  `yaml:"bearer_token"`
	// HTTPConfig configures the HTTP client as in Alertmanager
	// (tls_config, proxy_url, basic_auth, authorization, oauth2).
	HTTPConfig commoncfg.HTTPClientConfig `yaml:"http_config"`
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
	// HTML is an html/template; when set, the mail carries it as an HTML
	// alternative to the text body.
	HTML string `yaml:"html"`

	subject, body *template.Template
	html          *htmltemplate.Template
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
	// HTTPConfig configures the HTTP client as in Alertmanager.
	HTTPConfig commoncfg.HTTPClientConfig `yaml:"http_config"`
	// At is who every message @mentions.
	At DingTalkAt `yaml:"at"`
	// MentionLabel names a label (or, failing that, an annotation) whose
	// value lists further mobiles to @mention, separated by commas.
	MentionLabel string `yaml:"mention_label"`

	title, text *template.Template
}

// DingTalkAt is the robot message's "at" block.
type DingTalkAt struct {
	Mobiles []string `yaml:"mobiles"`
	UserIDs []string `yaml:"user_ids"`
	All     bool     `yaml:"all"`
}

// SMSConfig sends a text through an HTTP SMS gateway.
type SMSConfig struct {
	URL     string            `yaml:"url"`
	Method  string            `yaml:"method"`
	Headers map[string]string `yaml:"headers"`
	Body    string            `yaml:"body"`
	// HTTPConfig configures the HTTP client as in Alertmanager.
	HTTPConfig commoncfg.HTTPClientConfig `yaml:"http_config"`

	url, body *template.Template
}

// DefaultWebhook holds the webhook defaults.
var DefaultWebhook = WebhookConfig{HTTPConfig: commoncfg.DefaultHTTPClientConfig}

// UnmarshalYAML applies DefaultWebhook before the file's values.
func (w *WebhookConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*w = DefaultWebhook
	type plain WebhookConfig
	return unmarshal((*plain)(w))
}

// DefaultDingTalk holds the DingTalk defaults (the robot's documented
// limits).
var DefaultDingTalk = DingTalkConfig{MessagesPerMinute: 20, MaxBytes: 20000, HTTPConfig: commoncfg.DefaultHTTPClientConfig}

// UnmarshalYAML applies DefaultDingTalk before the file's values.
func (d *DingTalkConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*d = DefaultDingTalk
	type plain DingTalkConfig
	return unmarshal((*plain)(d))
}

// DefaultSMS holds the SMS gateway defaults.
var DefaultSMS = SMSConfig{Method: "POST", HTTPConfig: commoncfg.DefaultHTTPClientConfig}

// UnmarshalYAML applies DefaultSMS before the file's values.
func (s *SMSConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*s = DefaultSMS
	type plain SMSConfig
	return unmarshal((*plain)(s))
}

// validate checks the notifier; relative file paths in http_config are
// resolved against dir.
func (n *Notifier) validate(dir string, ts *tmpl.Set) error {
	set := n.kinds()
	if len(set) != 1 {
		names := make([]string, len(Kinds))
		for i, k := range Kinds {
			names[i] = k.Name
		}
		return fmt.Errorf("exactly one of %s must be set", strings.Join(names, ", "))
	}
	switch n.Grouping {
	case "":
		n.Grouping = set[0].Grouping
	case GroupingNotification, GroupingAlert:
	default:
		return fmt.Errorf("grouping %q must be notification or alert", n.Grouping)
	}
	c, _ := set[0].config(n)
	return c.validate(dir, ts)
}

func validateHTTP(h *commoncfg.HTTPClientConfig, dir string) error {
	if dir != "" {
		h.SetDirectory(dir)
	}
	if err := h.Validate(); err != nil {
		return fmt.Errorf("http_config: %w", err)
	}
	return nil
}

func (w *WebhookConfig) validate(dir string, _ *tmpl.Set) error {
	if err := validateHTTP(&w.HTTPConfig, dir); err != nil {
		return err
	}
	if w.BearerToken != "" && (w.HTTPConfig.Authorization != nil || w.HTTPConfig.BasicAuth != nil || w.HTTPConfig.OAuth2 != nil) {
		return errors.New("bearer_token and http_config authentication are mutually exclusive")
	}
	return checkURL(w.URL)
}

func (e *EmailConfig) validate(_ string, ts *tmpl.Set) error {
	if e.Smarthost == "" || e.From == "" || len(e.To) == 0 {
		return errors.New("email needs smarthost, from and to")
	}
	if _, _, err := splitHostPort(e.Smarthost); err != nil {
		return fmt.Errorf("smarthost: %w", err)
	}
	var err error
	if e.subject, err = ts.Parse("subject", e.Subject); err != nil {
		return err
	}
	if e.html, err = ts.ParseHTML("html", e.HTML); err != nil {
		return err
	}
	e.body, err = ts.Parse("body", e.Body)
	return err
}

func (d *DingTalkConfig) validate(dir string, ts *tmpl.Set) error {
	if err := validateHTTP(&d.HTTPConfig, dir); err != nil {
		return err
	}
	if d.MessagesPerMinute < 1 || d.MaxBytes < 1000 {
		return errors.New("messages_per_minute must be positive and max_bytes at least 1000")
	}
	if err := checkURL(d.URL); err != nil {
		return err
	}
	for _, m := range d.At.Mobiles {
		if !mobileRE.MatchString(m) {
			return fmt.Errorf("at.mobiles: %q is not a phone number", m)
		}
	}
	var err error
	if d.title, err = ts.Parse("title", d.Title); err != nil {
		return err
	}
	d.text, err = ts.Parse("text", d.Text)
	return err
}

func (s *SMSConfig) validate(dir string, ts *tmpl.Set) error {
	if err := validateHTTP(&s.HTTPConfig, dir); err != nil {
		return err
	}
	s.Method = strings.ToUpper(s.Method)
	switch s.Method {
	case http.MethodGet, http.MethodPost, http.MethodPut:
	default:
		return fmt.Errorf("sms: method %q must be GET, POST or PUT", s.Method)
	}
	if err := checkURL(strings.Split(s.URL, "{{")[0]); err != nil {
		return err
	}
	var err error
	if s.url, err = ts.Parse("url", s.URL); err != nil {
		return err
	}
	if s.body, err = ts.Parse("body", s.Body); err != nil {
		return err
	}
	// Values are escaped by construction: a label can neither add query
	// parameters nor JSON keys.
	if err := tmpl.EscapeURL(s.url); err != nil {
		return err
	}
	if tmpl.IsJSON(s.Body) {
		return tmpl.EscapeJSON(s.body)
	}
	if s.FormBody() {
		return tmpl.EscapeURL(s.body)
	}
	return nil
}

// FormBody tells whether the body is form-encoded (key=value&...): its
// values are then query-escaped, so a label cannot add a parameter.
func (s *SMSConfig) FormBody() bool {
	ct := ""
	for k, v := range s.Headers {
		if strings.EqualFold(k, "Content-Type") {
			ct = v
		}
	}
	return s.Body != "" && tmpl.IsForm(s.Body, ct)
}

// Templates of the notifier kinds; nil means "use the default message".

// SubjectTemplate returns the parsed subject template or nil.
func (e *EmailConfig) SubjectTemplate() *template.Template { return e.subject }

// HTMLTemplate returns the parsed HTML template or nil.
func (e *EmailConfig) HTMLTemplate() *htmltemplate.Template { return e.html }

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

// mobileRE matches the phone numbers DingTalk can @mention.
var mobileRE = regexp.MustCompile(`^\+?[0-9][0-9-]{2,30}$`)

// IsMobile tells whether s looks like a phone number DingTalk can
// @mention.
func IsMobile(s string) bool { return mobileRE.MatchString(s) }

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("url %q must be absolute http(s)", redact.URL(s))
	}
	return nil
}

func splitHostPort(s string) (string, string, error) {
	i := strings.LastIndex(s, ":")
	if i <= 0 || i == len(s)-1 {
		return "", "", fmt.Errorf("%q is not host:port", s)
	}
	return s[:i], s[i+1:], nil
}
