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

package deploy

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/zkwatch/zkwatch/internal/zktest"
)

// allOn renders every optional object of the chart.
var allOn = []string{
	"--set", "exporter.serviceMonitor.enabled=true,receiver.serviceMonitor.enabled=true",
	"--set", "prometheusRule.enabled=true,dashboards.enabled=true",
}

var (
	helmOnce sync.Once
	helmBin  string
	helmErr  error
)

// helm returns the pinned helm that `make helm-path` builds (once, into
// .build/), after `make chart-files` has copied alerts/ and dashboards/
// into the chart.
func helm(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds helm: skipped in -short mode")
	}
	helmOnce.Do(func() {
		cmd := exec.Command("make", "-s", "--no-print-directory", "-C", "..", "helm-path", "chart-files")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			helmErr = fmt.Errorf("make helm-path chart-files: %v\n%s", err, stderr.String())
			return
		}
		lines := strings.Fields(string(out))
		if len(lines) == 0 {
			helmErr = errors.New("make helm-path printed nothing")
			return
		}
		helmBin = lines[len(lines)-1]
	})
	if helmErr != nil {
		t.Fatal(helmErr)
	}
	return helmBin
}

// object is one rendered Kubernetes object.
type object map[string]any

func (o object) kind() string { return str(o, "kind") }
func (o object) name() string { return str(o, "metadata", "name") }

// render runs helm template with args and decodes every object.
func render(t *testing.T, args ...string) []object {
	t.Helper()
	cmd := exec.Command(helm(t), append([]string{"template", "zkwatch", "helm/zkwatch", "--namespace", "monitoring"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm template %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	var objs []object
	dec := yaml.NewDecoder(bytes.NewReader(out))
	for {
		// Decoded as a plain map: yaml.v3 gives nested maps the type of
		// the outer one.
		var o map[string]any
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("rendered chart: %v", err)
		}
		if o != nil {
			objs = append(objs, object(o))
		}
	}
}

// find returns the objects of a kind.
func find(objs []object, kind string) []object {
	var out []object
	for _, o := range objs {
		if o.kind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// only returns the one object of a kind whose name ends in suffix.
func only(t *testing.T, objs []object, kind, suffix string) object {
	t.Helper()
	var out []object
	for _, o := range find(objs, kind) {
		if strings.HasSuffix(o.name(), suffix) {
			out = append(out, o)
		}
	}
	if len(out) != 1 {
		t.Fatalf("%d %s objects named *%s, want 1", len(out), kind, suffix)
	}
	return out[0]
}

// get walks maps by key; nil when a step is missing.
func get(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			if o, isObj := v.(object); isObj {
				m = o
			} else {
				return nil
			}
		}
		v = m[k]
	}
	return v
}

func str(v any, path ...string) string {
	s, _ := get(v, path...).(string)
	return s
}

func list(v any, path ...string) []any {
	l, _ := get(v, path...).([]any)
	return l
}

// TestChartPrometheusRuleEqualsAlerts: the rendered PrometheusRule's
// groups are exactly the groups of alerts/*.yaml, in file order.
func TestChartPrometheusRuleEqualsAlerts(t *testing.T) {
	objs := render(t, allOn...)
	rule := only(t, objs, "PrometheusRule", "zkwatch")
	files, err := filepath.Glob("../alerts/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no alerts/*.yaml: %v", err)
	}
	sort.Strings(files)
	var want []any
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		want = append(want, list(doc, "groups")...)
	}
	got := list(rule, "spec", "groups")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("PrometheusRule groups differ from alerts/*.yaml:\n got %d groups: %s\nwant %d groups: %s",
			len(got), groupNames(got), len(want), groupNames(want))
	}
	if len(find(render(t), "PrometheusRule")) != 0 {
		t.Error("a PrometheusRule is rendered by default: clusters without the Prometheus Operator would refuse the release")
	}
}

func groupNames(groups []any) string {
	var names []string
	for _, g := range groups {
		names = append(names, fmt.Sprintf("%s(%d rules)", str(g, "name"), len(list(g, "rules"))))
	}
	return strings.Join(names, " ")
}

// TestChartDashboards: one ConfigMap per dashboards/*.json, labelled for
// Grafana's sidecar, holding the file unchanged.
func TestChartDashboards(t *testing.T) {
	objs := render(t, allOn...)
	files, err := filepath.Glob("../dashboards/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards/*.json: %v", err)
	}
	got := map[string]string{}
	for _, cm := range find(objs, "ConfigMap") {
		if str(cm, "metadata", "labels", "grafana_dashboard") != "1" {
			continue
		}
		for k, v := range get(cm, "data").(map[string]any) {
			got[k] = v.(string)
		}
	}
	if len(got) != len(files) {
		t.Errorf("%d dashboard ConfigMap entries, want %d (one per dashboards/*.json)", len(got), len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if got[filepath.Base(f)] != strings.TrimRight(string(data), "\n") {
			t.Errorf("dashboard ConfigMap %s differs from %s", filepath.Base(f), f)
		}
	}
}

// TestChartContainersHardened: every container of every workload runs as
// a non-root numeric user on a read-only root file system, cannot gain
// privileges, drops every capability and requests CPU and memory.
func TestChartContainersHardened(t *testing.T) {
	objs := render(t, allOn...)
	var n int
	for _, o := range objs {
		if o.kind() != "Deployment" && o.kind() != "StatefulSet" {
			continue
		}
		pod := get(o, "spec", "template", "spec")
		for _, c := range append(list(pod, "initContainers"), list(pod, "containers")...) {
			n++
			checkContainer(t, o.kind()+"/"+o.name()+"/"+str(c, "name"), get(pod, "securityContext"), c)
		}
	}
	if n < 2 {
		t.Fatalf("%d containers rendered, want the exporter's and the receiver's", n)
	}
}

func checkContainer(t *testing.T, where string, podSC, c any) {
	t.Helper()
	sc := get(c, "securityContext")
	pick := func(key string) any {
		if v := get(sc, key); v != nil {
			return v
		}
		return get(podSC, key)
	}
	if pick("runAsNonRoot") != true {
		t.Errorf("%s: runAsNonRoot is not true", where)
	}
	if uid, ok := pick("runAsUser").(int); !ok || uid == 0 {
		t.Errorf("%s: runAsUser %v, want a numeric non-root user", where, pick("runAsUser"))
	}
	if get(sc, "readOnlyRootFilesystem") != true {
		t.Errorf("%s: root file system is writable", where)
	}
	if get(sc, "allowPrivilegeEscalation") != false {
		t.Errorf("%s: allowPrivilegeEscalation is not false", where)
	}
	if drop := list(sc, "capabilities", "drop"); len(drop) != 1 || drop[0] != "ALL" {
		t.Errorf("%s: capabilities dropped %v, want [ALL]", where, drop)
	}
	for _, r := range []string{"cpu", "memory"} {
		if get(c, "resources", "requests", r) == nil {
			t.Errorf("%s: no %s request", where, r)
		}
	}
}

// TestChartServiceMonitors: the ServiceMonitors give the series the job
// labels the mixin's alerts select, and the receiver's presents the
// token from the receiver's Secret.
func TestChartServiceMonitors(t *testing.T) {
	objs := render(t, allOn...)
	cfg, err := os.ReadFile("../mixin/config.libsonnet")
	if err != nil {
		t.Fatal(err)
	}
	selector := func(name string) *regexp.Regexp {
		m := regexp.MustCompile(`(?m)^\s*` + name + `: 'job=~?"([^"]+)"'`).FindSubmatch(cfg)
		if m == nil {
			t.Fatalf("mixin/config.libsonnet has no job selector %s", name)
		}
		return regexp.MustCompile("^(?:" + string(m[1]) + ")$")
	}
	for _, c := range []struct{ suffix, selector string }{
		{"-exporter", "zookeeperSelector"}, {"-receiver", "receiverSelector"},
	} {
		sm := only(t, objs, "ServiceMonitor", c.suffix)
		svc := only(t, objs, "Service", c.suffix)
		label := str(sm, "spec", "jobLabel")
		job := str(svc, "metadata", "labels", label)
		if label == "" || !selector(c.selector).MatchString(job) {
			t.Errorf("ServiceMonitor %s: job %q (jobLabel %q) does not match the mixin's %s", sm.name(), job, label, c.selector)
		}
	}
	secret := only(t, objs, "Secret", "-receiver")
	ep := list(only(t, objs, "ServiceMonitor", "-receiver"), "spec", "endpoints")
	if len(ep) != 1 || str(ep[0], "authorization", "credentials", "name") != secret.name() ||
		str(ep[0], "authorization", "credentials", "key") != "token" {
		t.Errorf("receiver ServiceMonitor does not present the Secret's token: %v", ep)
	}
}

// receiverPod is the receiver's container as rendered, laid out on disk:
// each volume mount a directory filled from the rendered ConfigMap or
// Secret, and the arguments and configuration pointing there.
type receiverPod struct {
	args  []string
	token string
	mount map[string]string // mountPath -> directory
}

// layOut maps the rendered receiver StatefulSet onto temporary
// directories; a volume named in skip stays empty (as if it were missing).
func layOut(t *testing.T, objs []object, skip string) receiverPod {
	t.Helper()
	sts := only(t, objs, "StatefulSet", "-receiver")
	pod := get(sts, "spec", "template", "spec")
	c := list(pod, "containers")[0]
	volumes := map[string]any{}
	for _, v := range list(pod, "volumes") {
		volumes[str(v, "name")] = v
	}
	p := receiverPod{mount: map[string]string{}}
	for _, m := range list(c, "volumeMounts") {
		dir := t.TempDir()
		p.mount[str(m, "mountPath")] = dir
		v := volumes[str(m, "name")]
		switch {
		case str(m, "name") == skip:
		case get(v, "configMap") != nil:
			for k, val := range get(only(t, objs, "ConfigMap", str(v, "configMap", "name")), "data").(map[string]any) {
				writeFile(t, filepath.Join(dir, k), val.(string))
			}
		case get(v, "secret") != nil:
			for k, val := range get(only(t, objs, "Secret", str(v, "secret", "secretName")), "data").(map[string]any) {
				b, err := base64.StdEncoding.DecodeString(val.(string))
				if err != nil {
					t.Fatal(err)
				}
				writeFile(t, filepath.Join(dir, k), string(b))
				if k == "token" {
					p.token = string(b)
				}
			}
		}
	}
	for _, a := range list(c, "args") {
		p.args = append(p.args, p.localize(strings.ReplaceAll(a.(string), "$(POD_NAME)", "zkwatch-receiver-0")))
	}
	// The configuration refers to the mounts too.
	for _, dir := range p.mount {
		if data, err := os.ReadFile(filepath.Join(dir, "receiver.yml")); err == nil {
			writeFile(t, filepath.Join(dir, "receiver.yml"), p.localize(string(data)))
		}
	}
	return p
}

// localize replaces every mount path in s by its directory.
func (p receiverPod) localize(s string) string {
	for mp, dir := range p.mount {
		s = strings.ReplaceAll(s, mp, dir)
	}
	return s
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestChartReceiverRequiresToken runs the real receiver with the rendered
// arguments, configuration and Secret (on a free port of every interface,
// as in the pod): it serves only requests with the Secret's token, and
// without the Secret it refuses to start.
func TestChartReceiverRequiresToken(t *testing.T) {
	ens := zktest.Start(t, 1)
	objs := render(t, "--set", "zookeeper.servers={"+ens.Addrs()[0]+"}")
	bin := filepath.Join(t.TempDir(), "zkwatch_receiver")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/zkwatch_receiver").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	p := layOut(t, objs, "")
	if len(p.token) < 32 {
		t.Errorf("generated token has %d characters, want at least 32", len(p.token))
	}
	port := freePortArg(t, p.args)
	startProcess(t, nil, append([]string{bin}, p.args...)...)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := zktest.WaitFor(60*time.Second, 100*time.Millisecond, func() error {
		_, err := httpGet(base + "/-/ready")
		return err
	}); err != nil {
		t.Fatalf("receiver as rendered did not become ready: %v", err)
	}
	for _, c := range []struct {
		auth string
		want int
	}{{"", http.StatusUnauthorized}, {"Bearer wrong", http.StatusForbidden}, {"Bearer " + p.token, http.StatusOK}} {
		if got := status(t, base+"/api/v1/incidents", c.auth); got != c.want && !(c.want == http.StatusForbidden && got == http.StatusUnauthorized) {
			t.Errorf("GET /api/v1/incidents with %q: %d, want %d", strings.Split(c.auth, " ")[0], got, c.want)
		}
	}

	q := layOut(t, objs, "secret")
	freePortArg(t, q.args)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, q.args...).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || ctx.Err() != nil || !strings.Contains(string(out), "bearer_token_file") {
		t.Errorf("receiver without its Secret: %v, want a refusal naming bearer_token_file; output:\n%s", err, out)
	}
}

// freePortArg points --web.listen-address=:PORT at a free port, keeping
// every interface, and returns the port.
func freePortArg(t *testing.T, args []string) int {
	t.Helper()
	ports, err := zktest.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range args {
		if strings.HasPrefix(a, "--web.listen-address=:") {
			args[i] = fmt.Sprintf("--web.listen-address=:%d", ports[0])
			return ports[0]
		}
	}
	t.Fatalf("no --web.listen-address=:PORT in %v", args)
	return 0
}

func status(t *testing.T, url, auth string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestChartReceiverExistingSecret: with existingSecret the chart makes no
// Secret and mounts the user's, and a bearer_token in the values cannot
// replace the token file.
func TestChartReceiverExistingSecret(t *testing.T) {
	objs := render(t, "--set", "receiver.auth.existingSecret=mine,receiver.config.global.bearer_token=oops")
	if s := find(objs, "Secret"); len(s) != 0 {
		t.Errorf("%d Secrets rendered with existingSecret, want none", len(s))
	}
	var secretName string
	for _, v := range list(only(t, objs, "StatefulSet", "-receiver"), "spec", "template", "spec", "volumes") {
		if n := str(v, "secret", "secretName"); n != "" {
			secretName = n
		}
	}
	if secretName != "mine" {
		t.Errorf("receiver mounts Secret %q, want the existing one", secretName)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(str(only(t, objs, "ConfigMap", "-receiver"), "data", "receiver.yml")), &cfg); err != nil {
		t.Fatal(err)
	}
	if get(cfg, "global", "bearer_token") != nil || str(cfg, "global", "bearer_token_file") == "" {
		t.Errorf("rendered receiver.yml global: %v, want only bearer_token_file", get(cfg, "global"))
	}
}

// TestChartVersion: the chart's appVersion, and so the default image tag,
// is the VERSION that `make image` tags and stamps.
func TestChartVersion(t *testing.T) {
	data, err := os.ReadFile("helm/zkwatch/Chart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var chart map[string]any
	if err := yaml.Unmarshal(data, &chart); err != nil {
		t.Fatal(err)
	}
	version := repoVersion(t)
	if chart["appVersion"] != version || chart["version"] != version {
		t.Errorf("Chart.yaml version %v, appVersion %v; want VERSION %s for both", chart["version"], chart["appVersion"], version)
	}
	for _, o := range render(t) {
		for _, c := range list(o, "spec", "template", "spec", "containers") {
			if img := str(c, "image"); !strings.HasSuffix(img, ":"+version) {
				t.Errorf("%s/%s runs image %s, want tag %s", o.kind(), o.name(), img, version)
			}
		}
	}
}

// TestChartWithoutFilesFails: a chart whose files/ was never filled (no
// `make chart-files`) refuses to render the PrometheusRule or the
// dashboards, saying what to run, rather than rendering them empty.
func TestChartWithoutFilesFails(t *testing.T) {
	h := helm(t)
	chart := filepath.Join(t.TempDir(), "zkwatch")
	if err := os.CopyFS(chart, os.DirFS("helm/zkwatch")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(chart, "files")); err != nil {
		t.Fatal(err)
	}
	for _, set := range []string{"prometheusRule.enabled=true", "dashboards.enabled=true"} {
		out, err := exec.Command(h, "template", "zkwatch", chart, "--set", set).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "make chart-files") {
			t.Errorf("helm template --set %s without files/: %v, want an error naming make chart-files\n%s", set, err, out)
		}
	}
	if out, err := exec.Command(h, "template", "zkwatch", chart).CombinedOutput(); err != nil {
		t.Errorf("helm template with the defaults needs no files/: %v\n%s", err, out)
	}
}
