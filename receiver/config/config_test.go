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
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tmpl "github.com/zkwatch/zkwatch/receiver/template"
)

func TestExamplesLoad(t *testing.T) {
	for _, f := range []string{"../../examples/receiver.yml", "testdata/issue-example.yml", "testdata/full.yml"} {
		c, err := LoadFile(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(c.Notifiers) != 4 || c.Storage.Retention != 720*time.Hour {
			t.Errorf("%s: unexpected content %+v", f, c)
		}
	}
}

func TestIssueExampleSemantics(t *testing.T) {
	c, err := LoadFile("../../examples/receiver.yml")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Route(map[string]string{"severity": "critical"}); strings.Join(got, ",") != "sink,mail,ding,sms" {
		t.Errorf("critical route = %v", got)
	}
	if got := c.Route(map[string]string{"severity": "warning"}); strings.Join(got, ",") != "sink" {
		t.Errorf("default route = %v", got)
	}
	rules := c.RestartRules(map[string]string{"alertname": "ZooKeeperProcessMemberDown"})
	if len(rules) != 1 || rules[0].MaxAttempts != 3 || rules[0].Timeout != 30*time.Second || rules[0].Backoff != 5*time.Second {
		t.Fatalf("restart rules = %+v", rules)
	}
	r := rules[0]
	if err := r.CheckAllow(map[string]string{"group": "zk", "member": "zk-1"}); err != nil {
		t.Errorf("valid labels refused: %v", err)
	}
	// member is checked by its allow regex, group by the default one
	// because the command uses it.
	for _, labels := range []map[string]string{
		{"group": "zk", "member": "x; touch PWNED"},
		{"group": "$(touch PWNED)", "member": "zk-1"},
		{"group": "zk"},
	} {
		if err := r.CheckAllow(labels); err == nil {
			t.Errorf("labels %v were allowed", labels)
		}
	}
	if c.Notifier("ding").DingTalk.MessagesPerMinute != 20 || c.Notifier("sms").SMS.Method != http.MethodPost {
		t.Error("defaults not applied")
	}
	if c.Global.MaxBodyBytes != 4<<20 || c.Global.RestartConcurrency != 2 {
		t.Error("global defaults not applied")
	}
}

func TestBadConfigs(t *testing.T) {
	want := map[string]string{
		"bad-unknown-key.yml":        "line 3: field webhok not found",
		"bad-two-kinds.yml":          "exactly one of",
		"bad-unknown-notifier.yml":   `unknown notifier "y"`,
		"bad-relative-command.yml":   "absolute path",
		"bad-allow-regex.yml":        "allow x",
		"bad-template.yml":           "template body",
		"bad-duplicate-notifier.yml": "duplicate name",
		"bad-guard-addr.yml":         "not host:port",
		"bad-guard-tls.yml":          "guard: tls_config",
		"bad-duration.yml":           "line 2",
	}
	files, _ := filepath.Glob("testdata/bad-*.yml")
	if len(files) != len(want) {
		t.Errorf("%d bad fixtures, %d expectations", len(files), len(want))
	}
	for _, f := range files {
		_, err := LoadFile(f)
		if err == nil {
			t.Errorf("%s: accepted", f)
			continue
		}
		if w := want[filepath.Base(f)]; !strings.Contains(err.Error(), w) {
			t.Errorf("%s: error %q does not mention %q", f, err, w)
		}
	}
}

func TestMatcher(t *testing.T) {
	m, err := NewMatcher(map[string]string{"a": "1"}, map[string]string{"b": "x|y"})
	if err != nil {
		t.Fatal(err)
	}
	for labels, want := range map[[2]string]bool{{"1", "x"}: true, {"1", "xy"}: false, {"2", "y"}: false, {"1", ""}: false} {
		if got := m.Matches(map[string]string{"a": labels[0], "b": labels[1]}); got != want {
			t.Errorf("%v: got %v", labels, got)
		}
	}
}

func TestBearerTokenFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "c.yml")
	if err := os.WriteFile(p, []byte("global:\n  bearer_token_file: token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.BearerToken() != "s3cret" {
		t.Errorf("token = %q", c.BearerToken())
	}
	if _, err := Load([]byte("global:\n  bearer_token: a\n  bearer_token_file: b\n")); err == nil {
		t.Error("both token settings accepted")
	}
}

// The commented reference in the example file is the uncommented
// testdata/full.yml, so the two cannot drift apart.
func TestExampleReferenceMatchesFixture(t *testing.T) {
	ex, err := os.ReadFile("../../examples/receiver.yml")
	if err != nil {
		t.Fatal(err)
	}
	_, ref, ok := strings.Cut(string(ex), "\n#\n")
	if !ok {
		t.Fatal("no reference block in the example")
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(ref, "\n"), "\n") {
		l = strings.TrimPrefix(l, "#")
		lines = append(lines, strings.TrimPrefix(l, " "))
	}
	full, err := os.ReadFile("testdata/full.yml")
	if err != nil {
		t.Fatal(err)
	}
	// full.yml starts with a header of its own, up to the first blank line.
	_, want, _ := strings.Cut(string(full), "\n\n")
	if got := strings.Join(lines, "\n") + "\n"; got != want {
		t.Errorf("examples/receiver.yml reference block differs from testdata/full.yml")
	}
}

// Defaults are applied while unmarshalling, so a value written in the file,
// even 0, is what validation sees: zeros that mean nothing are rejected
// with the setting's name instead of silently becoming the default.
func TestExplicitZeroIsNotTheDefault(t *testing.T) {
	const rule = "restarts:\n- name: r\n  match: {a: b}\n  command: [/bin/true]\n"
	const ding = "notifiers:\n- name: d\n  dingtalk:\n    url: http://127.0.0.1/robot\n"
	for _, tc := range []struct{ yaml, want string }{
		{"global:\n  restart_concurrency: 0\n", "restart_concurrency must be at least 1, got 0"},
		{"global:\n  notify_timeout: 0s\n", "notify_timeout must be positive"},
		{"global:\n  max_body_bytes: 0\n", "max_body_bytes must be positive"},
		{"global:\n  retry_initial_backoff: 0s\n", "retry_initial_backoff must be positive"},
		{"storage:\n  retention: 0s\n", "retention must be positive"},
		{rule + "  max_attempts: 0\n", "max_attempts must be at least 1, got 0"},
		{rule + "  timeout: 0s\n", "timeout must be positive"},
		{rule + "  guard:\n    zookeeper: [127.0.0.1:2181]\n    retry_interval: 0s\n", "retry_interval must be positive"},
		{ding + "    messages_per_minute: 0\n", "messages_per_minute must be positive"},
		{"notifiers: [{name: w, webhook: {url: 'http://127.0.0.1/', bearer_token: a, http_config: {authorization: {credentials: b}}}}]",
			"bearer_token and http_config authentication are mutually exclusive"},
		{"notifiers: [{name: s, sms: {url: 'http://127.0.0.1/', http_config: {proxy_url: 'http://127.0.0.1:3128', proxy_from_environment: true}}}]",
			"proxy_url must not be configured"},
		// Sections with their own UnmarshalYAML still reject unknown keys.
		{"global:\n  restart_concurency: 3\n", "field restart_concurency not found"},
		{rule + "  max_attempt: 3\n", "field max_attempt not found"},
	} {
		_, err := Load([]byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.yaml, err, tc.want)
		}
	}
	c, err := Load([]byte("global:\n  restart_concurrency: 1\n" + rule + "  backoff: 0s\n  guard:\n    zookeeper: [127.0.0.1:2181]\n"))
	if err != nil {
		t.Fatal(err)
	}
	g, r := c.Global, c.Restarts[0]
	if g.RestartConcurrency != 1 || g.NotifyTimeout != 10*time.Second || c.Storage.Retention != 720*time.Hour {
		t.Errorf("global %+v storage %+v", g, c.Storage)
	}
	if gd := r.Guard; r.Backoff != 0 || r.MaxAttempts != 1 || r.Timeout != 30*time.Second ||
		gd.TargetLabel != "server" || gd.Timeout != 2*time.Second || gd.RetryInterval != 10*time.Second {
		t.Errorf("restart %+v guard %+v", r, r.Guard)
	}
	empty, err := Load(nil)
	if err != nil || empty.Global.RestartConcurrency != 2 || empty.Storage.Retention != 720*time.Hour {
		t.Errorf("empty file: %v %+v", err, empty)
	}
}

func TestGuardTLSConfig(t *testing.T) {
	dir := t.TempDir()
	// A CA file named relative to the configuration's directory.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := `restarts:
  - name: r
    match: {alertname: X}
    command: ["/bin/true"]
    guard:
      zookeeper: ["zk1:2281"]
      tls_config: {ca_file: ca.pem, server_name: zk.example}
`
	if err := os.WriteFile(filepath.Join(dir, "cfg.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadFile(filepath.Join(dir, "cfg.yml"))
	if err != nil {
		t.Fatal(err)
	}
	tc := c.Restarts[0].Guard.TLSConfig()
	if tc == nil || tc.RootCAs == nil || tc.ServerName != "zk.example" {
		t.Fatalf("guard TLS config not built from tls_config: %+v", tc)
	}
	plain, err := Load([]byte(strings.ReplaceAll(cfg, "      tls_config: {ca_file: ca.pem, server_name: zk.example}\n", "")))
	if err != nil {
		t.Fatal(err)
	}
	if plain.Restarts[0].Guard.TLSConfig() != nil {
		t.Error("a guard without tls_config got a TLS configuration")
	}
}

// The message settings of issue 16: time zone, grouping with per-kind
// defaults, DingTalk mentions, template files and templates that fail on
// a sample message are all checked at load.
func TestMessageSettings(t *testing.T) {
	c, err := Load([]byte(`global: {timezone: Asia/Shanghai}
notifiers:
  - {name: d, dingtalk: {url: "http://r/send", at: {mobiles: ["+86-13800138000"]}, mention_label: oncall}}
  - {name: m, email: {smarthost: "h:25", from: a@b, to: [c@d]}}
  - {name: w, webhook: {url: "http://w/"}}
  - {name: s, sms: {url: "http://s/"}}
  - {name: wg, grouping: notification, webhook: {url: "http://w/"}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Global.Location().String() != "Asia/Shanghai" {
		t.Errorf("location %v", c.Global.Location())
	}
	for name, want := range map[string]string{"d": "notification", "m": "notification", "w": "alert", "s": "alert", "wg": "notification"} {
		if g := c.Notifier(name).Grouping; g != want {
			t.Errorf("%s: grouping %q, want %q", name, g, want)
		}
	}
	if def, _ := Load(nil); def.Global.Location() != time.UTC {
		t.Errorf("default zone %v", def.Global.Location())
	}
	const ding = "notifiers: [{name: d, dingtalk: {url: 'http://r/send', %s}}]"
	for _, tc := range []struct{ yaml, want string }{
		{"global: {timezone: Mars/Olympus}", `timezone "Mars/Olympus" is not an IANA time zone name`},
		{"global: {timezone: Local}", `timezone "Local"`},
		{"notifiers: [{name: w, grouping: batch, webhook: {url: 'http://w/'}}]", `grouping "batch" must be notification or alert`},
		{fmt.Sprintf(ding, "at: {mobiles: ['call me']}"), `at.mobiles: "call me" is not a phone number`},
		{fmt.Sprintf(ding, "text: '{{ .NoSuchField }}'"), "fails on a sample 1-alert message"},
		{fmt.Sprintf(ding, `text: '{{ template "missing" . }}'`), `template "missing" not defined`},
		{"templates: [/nonexistent/*.tmpl]", `no file matches "/nonexistent/*.tmpl"`},
	} {
		if _, err := Load([]byte(tc.yaml)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.yaml, err, tc.want)
		}
	}
	// Template files are relative to the configuration file.
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(dir+"/templates", 0o750))
	must(os.WriteFile(dir+"/templates/a.tmpl", []byte(`{{ define "t" }}{{ len .Alerts }} {{ .Status }}{{ end }}`), 0o600))
	must(os.WriteFile(dir+"/receiver.yml", []byte("templates: [templates/*.tmpl]\n"+fmt.Sprintf(ding, `text: '{{ template "t" . }}'`)), 0o600))
	c, err = LoadFile(dir + "/receiver.yml")
	must(err)
	var b strings.Builder
	must(c.Notifiers[0].DingTalk.TextTemplate().Execute(&b, tmpl.Sample(3)))
	if b.String() != "3 firing" {
		t.Errorf("rendered %q", b.String())
	}
}
