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

package template

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// readmeTemplates returns the README's paragraph on templates, from
// "**Templates**" to the loading of template files.
func readmeTemplates(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "**Templates**")
	end := strings.Index(text, "`templates: [files]`")
	if start < 0 || end < start {
		t.Fatal("README.md has no **Templates** paragraph ending with `templates: [files]`")
	}
	return text[start:end]
}

// TestReadmeTemplateFunctions: the functions the README lists are exactly
// those templates can call.
func TestReadmeTemplateFunctions(t *testing.T) {
	text := readmeTemplates(t)
	i := strings.Index(text, "Functions:")
	if i < 0 {
		t.Fatal("README.md lists no template functions")
	}
	var listed []string
	for _, m := range regexp.MustCompile("`([A-Za-z0-9]+)`").FindAllStringSubmatch(text[i:], -1) {
		listed = append(listed, m[1])
	}
	var have []string
	for name := range Funcs {
		have = append(have, name)
	}
	sort.Strings(listed)
	sort.Strings(have)
	if !slices.Equal(listed, have) {
		t.Errorf("README.md lists the functions\n%v\ntemplates have\n%v", listed, have)
	}
}

// readmeFieldProbes is, for each field the README says templates see, a
// template that uses it as the README describes; Parse executes it on a
// one-alert and a grouped sample.
var readmeFieldProbes = map[string]string{
	".Receiver":          `{{ .Receiver }}`,
	".Status":            `{{ .Status }}{{ range .Alerts }}{{ .Status }}{{ end }}`,
	".Alerts":            `{{ len .Alerts }}`,
	".Firing":            `{{ len .Alerts.Firing }}`,
	".Resolved":          `{{ len .Alerts.Resolved }}`,
	".GroupLabels":       `{{ .GroupLabels.group }}`,
	".CommonLabels":      `{{ .CommonLabels.alertname }}`,
	".CommonAnnotations": `{{ .CommonAnnotations.summary }}`,
	".SortedPairs":       `{{ range .CommonAnnotations.SortedPairs }}{{ .Name }}{{ .Value }}{{ end }}`,
	".Names":             `{{ .CommonAnnotations.Names }}`,
	".Values":            `{{ .CommonAnnotations.Values }}`,
	".Remove":            `{{ .CommonAnnotations.Remove (stringSlice "summary") }}`,
	".ExternalURL":       `{{ .ExternalURL }}`,
	".Labels":            `{{ .Labels.alertname }}{{ range .Alerts }}{{ .Labels.server }}{{ end }}`,
	".Annotations":       `{{ .Annotations.summary }}{{ range .Alerts }}{{ .Annotations.summary }}{{ end }}`,
	".StartsAt":          `{{ .StartsAt }}{{ range .Alerts }}{{ .StartsAt }}{{ end }}`,
	".EndsAt":            `{{ .EndsAt }}{{ range .Alerts }}{{ .EndsAt }}{{ end }}`,
	".GeneratorURL":      `{{ range .Alerts }}{{ .GeneratorURL }}{{ end }}`,
	".Fingerprint":       `{{ range .Alerts }}{{ .Fingerprint }}{{ end }}`,
	".IncidentID":        `{{ .IncidentID }}{{ range .Alerts }}{{ .IncidentID }}{{ end }}`,
	".IncidentURL":       `{{ .IncidentURL }}{{ range .Alerts }}{{ .IncidentURL }}{{ end }}`,
	".SilenceURL":        `{{ .SilenceURL }}{{ range .Alerts }}{{ .SilenceURL }}{{ end }}`,
	".Kind":              `{{ .Kind }}{{ range .Alerts }}{{ .Kind }}{{ end }}`,
	".Time":              `{{ .Time .StartsAt }}{{ range .Alerts }}{{ .Time .StartsAt }}{{ end }}`,
}

// TestReadmeTemplateFields: every field the README names works in a
// template as described, and every field has a probe here.
func TestReadmeTemplateFields(t *testing.T) {
	text := readmeTemplates(t)
	if i := strings.Index(text, "Functions:"); i >= 0 {
		text = text[:i]
	}
	fields := regexp.MustCompile("`(\\.[A-Z][A-Za-z]+)`").FindAllStringSubmatch(text, -1)
	if len(fields) == 0 {
		t.Fatal("README.md names no template fields")
	}
	for _, m := range fields {
		probe, ok := readmeFieldProbes[m[1]]
		if !ok {
			t.Errorf("README.md names the template field %s; add a probe for it", m[1])
			continue
		}
		if _, err := Parse(m[1], probe); err != nil {
			t.Errorf("README.md names %s: %v", m[1], err)
		}
	}
}

// TestReadmeOneAlertAndGroupedView: "For a one-alert message .Labels,
// .Annotations, .StartsAt, .IncidentID... are that alert's; for a grouped
// one they are the common ones."
func TestReadmeOneAlertAndGroupedView(t *testing.T) {
	const probe = `{{ .Labels.server }}|{{ .Labels.group }}|{{ .Annotations.summary }}|{{ .StartsAt.Unix }}|{{ .IncidentID }}|{{ .IncidentURL }}`
	tm, err := Parse("view", probe)
	if err != nil {
		t.Fatal(err)
	}
	one := Sample(1)
	a := one.Alerts[0]
	want := strings.Join([]string{a.Labels["server"], "zk", a.Annotations["summary"], itoa(a.StartsAt.Unix()), a.IncidentID, a.IncidentURL}, "|")
	if got, err := Render(tm, one, ""); err != nil || got != want || a.IncidentID == "" {
		t.Errorf("one-alert message: %q %v, want the alert's %q", got, err, want)
	}
	grouped := Sample(3)
	want = strings.Join([]string{"", "zk", grouped.CommonAnnotations["summary"], itoa(grouped.Alerts[0].StartsAt.Unix()), "", ""}, "|")
	if got, err := Render(tm, grouped, ""); err != nil || got != want {
		t.Errorf("grouped message: %q %v, want the common labels and annotations %q", got, err, want)
	}
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }
