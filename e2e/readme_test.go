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

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// readmeSections names, per binary, the README sections ("## " headings)
// that document its flags. The first section is the binary's own: a flag
// written there must be one of its flags, unless the text names another
// binary's flag ("the exporter's --watch.chroot").
var readmeSections = map[string][]string{
	"zookeeper_exporter": {"zookeeper_exporter", "Watch collectors", "Secure ZooKeeper"},
	"zkwatch_receiver":   {"zkwatch_receiver"},
	"zkwatch_agent":      {"zkwatch_agent", "Secure ZooKeeper"},
	"zkwatch_roll":       {"Rolling restart", "Secure ZooKeeper"},
}

// helpFlag is one flag as the binary's --help-long shows it.
type helpFlag struct {
	def     string // default value; "" for none
	hasDef  bool
	boolean bool
}

var (
	helpFlagRE  = regexp.MustCompile(`^\s+(?:-[a-z], )?--(\[no-\])?([a-z][a-z0-9._-]*)(?:=("[^"]*"|\S+))?`)
	flagTokenRE = regexp.MustCompile(`--[a-z][a-z0-9._-]*[a-z0-9]`)
	backtickRE  = regexp.MustCompile("`([^`]+)`")
	// placeholderRE is the value kingpin shows for a flag without default.
	placeholderRE = regexp.MustCompile(`^[A-Z][A-Z0-9._-]*$`)
)

// kingpin's own flags, which no README documents.
var builtinFlags = []string{"help", "help-long", "help-man", "version"}

// helpFlags runs `bin --help-long` and returns its flags (subcommands'
// included).
func helpFlags(t *testing.T, bin string) map[string]helpFlag {
	t.Helper()
	out, err := exec.Command(bin, "--help-long").CombinedOutput()
	if err != nil {
		t.Fatalf("%s --help-long: %v\n%s", bin, err, out)
	}
	flags := map[string]helpFlag{}
	for _, line := range strings.Split(string(out), "\n") {
		m := helpFlagRE.FindStringSubmatch(line)
		if m == nil || slices.Contains(builtinFlags, m[2]) {
			continue
		}
		f := helpFlag{boolean: m[1] != ""}
		switch v := m[3]; {
		case strings.HasPrefix(v, `"`):
			f.def, _ = strconv.Unquote(v)
			f.hasDef = f.def != ""
		case v != "" && !placeholderRE.MatchString(v): // not a placeholder like PATH
			f.def, f.hasDef = v, true
		}
		flags[m[2]] = f
	}
	if len(flags) == 0 {
		t.Fatalf("%s --help-long lists no flags:\n%s", bin, out)
	}
	return flags
}

// readmeSection returns the text of the README section with that "## "
// heading, up to the next "## " heading.
func readmeSection(t *testing.T, readme, title string) string {
	t.Helper()
	start := strings.Index(readme, "\n## "+title+"\n")
	if start < 0 {
		t.Fatalf("README.md has no section %q", title)
	}
	text := readme[start+1:]
	if end := strings.Index(text[3:], "\n## "); end >= 0 {
		text = text[:end+3]
	}
	return text
}

// tableFlag is one flag of a README flag table ("| flag | default | meaning |").
type tableFlag struct {
	name, def string
	hasDef    bool
}

// tableFlags parses the flag tables of a section. A cell may list several
// flags, abbreviated after the first (`--zookeeper.tls.ca-file`,
// `.cert-file`), with as many defaults or none.
func tableFlags(section string) []tableFlag {
	var flags []tableFlag
	inTable := false
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || !strings.HasPrefix(line, "|") {
			inTable = false
			continue
		}
		if strings.TrimSpace(cells[1]) == "flag" && strings.TrimSpace(cells[2]) == "default" {
			inTable = true
			continue
		}
		if !inTable || strings.HasPrefix(strings.TrimSpace(cells[1]), "---") {
			continue
		}
		var names []string
		for _, m := range backtickRE.FindAllStringSubmatch(cells[1], -1) {
			tok := strings.SplitN(m[1], "=", 2)[0]
			switch {
			case strings.ContainsAny(tok, "<*"): // a pattern, checked as documentation only
			case strings.HasPrefix(tok, "--"):
				names = append(names, strings.TrimPrefix(tok, "--"))
			case strings.HasPrefix(tok, ".") && len(names) > 0:
				first := names[0]
				names = append(names, first[:strings.LastIndex(first, ".")]+tok)
			}
		}
		var defs []string
		for _, m := range backtickRE.FindAllStringSubmatch(cells[2], -1) {
			defs = append(defs, m[1])
		}
		for i, n := range names {
			f := tableFlag{name: n}
			if len(defs) == len(names) {
				f.def, f.hasDef = defs[i], true
			}
			flags = append(flags, f)
		}
	}
	return flags
}

// commandFlags returns the flags of every command line in the README's code
// blocks that runs bin (continuation lines joined, up to a "--" that starts
// the supervised command).
func commandFlags(readme, bin string) []string {
	var flags []string
	joined := strings.ReplaceAll(readme, "\\\n", " ")
	for _, line := range strings.Split(joined, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != bin {
			continue
		}
		for _, w := range f[1:] {
			if w == "--" {
				break
			}
			if strings.HasPrefix(w, "--") {
				flags = append(flags, strings.TrimPrefix(strings.SplitN(w, "=", 2)[0], "--"))
			}
		}
	}
	return flags
}

// documented reports whether the text documents flag name: it names it, or
// a pattern such as `--collector.<name>` covers it.
func documented(text, name string) bool {
	if regexp.MustCompile(`--(?:\[no-\])?` + regexp.QuoteMeta(name) + `(?:[^a-z0-9._-]|\.[^a-z0-9]|$)`).MatchString(text) {
		return true
	}
	for _, p := range regexp.MustCompile("`--([a-z0-9._-]+)<name>`").FindAllStringSubmatch(text, -1) {
		if strings.HasPrefix(name, p[1]) && !strings.Contains(strings.TrimPrefix(name, p[1]), ".") {
			return true
		}
	}
	return false
}

// TestReadmeFlags holds the README's flag documentation to each binary's
// --help-long: every flag the binary has is documented in its sections,
// every flag a table, command line or its own section names exists, and a
// table's default is the binary's.
func TestReadmeFlags(t *testing.T) {
	readmeBytes, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(readmeBytes)
	names := make([]string, 0, len(readmeSections))
	for name := range readmeSections {
		names = append(names, name)
	}
	slices.Sort(names)
	bin := build(t, names...)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			help := helpFlags(t, filepath.Join(bin, name))
			var text strings.Builder
			for _, s := range readmeSections[name] {
				text.WriteString(readmeSection(t, readme, s))
			}
			checkReadmeFlags(t, name, help, text.String(), readmeSection(t, readme, readmeSections[name][0]), commandFlags(readme, name))
		})
	}
}

// crossReferenceRE finds a flag the text attributes to another binary.
var crossReferenceRE = regexp.MustCompile("(?:exporter's|receiver's|agent's) `?(--[a-z][a-z0-9._-]*[a-z0-9])")

func checkReadmeFlags(t *testing.T, bin string, help map[string]helpFlag, text, own string, commands []string) {
	for name := range help {
		if !documented(text, name) {
			t.Errorf("%s --%s is not documented in README.md %v", bin, name, readmeSections[bin])
		}
	}
	for _, f := range tableFlags(text) {
		h, ok := help[f.name]
		switch {
		case !ok:
			t.Errorf("README.md table lists --%s, which %s does not have", f.name, bin)
		case h.boolean && f.def != "" && f.def != "false":
			t.Errorf("README.md table gives the boolean --%s the default %q; --help-long shows only false defaults", f.name, f.def)
		case h.boolean:
		case f.hasDef && (!h.hasDef || !sameDefault(h.def, f.def)):
			t.Errorf("README.md table gives --%s the default %q, %s --help-long %q", f.name, f.def, bin, h.def)
		case !f.hasDef && h.hasDef:
			t.Errorf("README.md table gives --%s no default, %s --help-long %q", f.name, bin, h.def)
		}
	}
	for _, f := range commands {
		if _, ok := help[f]; !ok {
			t.Errorf("a README.md command line runs %s --%s, which it does not have", bin, f)
		}
	}
	foreign := map[string]bool{}
	for _, m := range crossReferenceRE.FindAllStringSubmatch(own, -1) {
		foreign[m[1]] = true
	}
	for _, tok := range flagTokenRE.FindAllString(own, -1) {
		name := strings.TrimPrefix(tok, "--")
		if _, ok := help[name]; !ok && !foreign[tok] && !strings.Contains(own, tok+".<") && !strings.Contains(own, tok+".*") {
			t.Errorf("README.md section %q names --%s, which %s does not have", readmeSections[bin][0], name, bin)
		}
	}
}

// sameDefault compares a default from --help-long with the README's:
// equal text, or equal durations (kingpin shows 24h as 24h0m0s).
func sameDefault(help, readme string) bool {
	if help == readme {
		return true
	}
	h, err1 := time.ParseDuration(help)
	r, err2 := time.ParseDuration(readme)
	return err1 == nil && err2 == nil && h == r
}
