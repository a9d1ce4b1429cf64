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
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
	"math"
	"regexp"
	"strings"
	"text/template"
	"time"
	"unicode"

	commontemplates "github.com/prometheus/common/helpers/templates"
)

// Funcs are the functions available in every template: Alertmanager's
// (toUpper, toLower, title, trimSpace, join, match, reReplaceAll,
// safeHtml, safeUrl, stringSlice, date, tz, since, humanizeDuration,
// toJson), Prometheus's humanize family, and the receiver's own markdown
// (escaping), markdownURL (http(s) link targets only) and json (a JSON
// string literal).
var Funcs = template.FuncMap{
	"toUpper":   strings.ToUpper,
	"toLower":   strings.ToLower,
	"title":     title,
	"trimSpace": strings.TrimSpace,
	"join":      func(sep string, s []string) string { return strings.Join(s, sep) },
	"match":     regexp.MatchString,
	"reReplaceAll": func(pattern, repl, text string) (string, error) {
		re, err := regexp.Compile(pattern)
		if err != nil {
			return "", err
		}
		return re.ReplaceAllString(text, repl), nil
	},
	"safeHtml":    func(s string) htmltemplate.HTML { return htmltemplate.HTML(s) }, //nolint:gosec // the template author's explicit choice, as in Alertmanager
	"safeUrl":     func(s string) htmltemplate.URL { return htmltemplate.URL(s) },   //nolint:gosec // as above
	"stringSlice": func(s ...string) []string { return s },
	"date":        func(layout string, t time.Time) string { return t.Format(layout) },
	"tz": func(name string, t time.Time) (time.Time, error) {
		loc, err := time.LoadLocation(name)
		if err != nil {
			return time.Time{}, err
		}
		return t.In(loc), nil
	},
	"since":              func(t time.Time) time.Duration { return time.Since(t).Round(time.Second) },
	"humanize":           humanize,
	"humanize1024":       humanize1024,
	"humanizeDuration":   commontemplates.HumanizeDuration,
	"humanizePercentage": humanizePercentage,
	"humanizeTimestamp":  commontemplates.HumanizeTimestamp,
	"toJson": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"markdown": Markdown,
	// markdownURL is a link target: "" unless an http(s) URL.
	"markdownURL": MarkdownURL,
	// json quotes a value for use inside a JSON body template.
	"json": func(s string) string { b, _ := json.Marshal(s); return string(b) },
	// jsonString is what EscapeJSON appends to the actions of JSON bodies.
	JSONStringFunc: jsonString,
}

// title upper-cases the first letter of every word.
func title(s string) string {
	prev := ' '
	return strings.Map(func(r rune) rune {
		defer func() { prev = r }()
		if unicode.IsSpace(prev) || prev == '-' || prev == '_' {
			return unicode.ToTitle(r)
		}
		return r
	}, s)
}

// humanize uses SI prefixes, as Prometheus's humanize.
func humanize(i any) (string, error) {
	v, err := commontemplates.ConvertToFloat(i)
	if err != nil {
		return "", err
	}
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Sprintf("%.4g", v), nil
	}
	prefixes, step := []string{"k", "M", "G", "T", "P", "E", "Z", "Y"}, 1000.0
	if math.Abs(v) < 1 {
		prefixes, step = []string{"m", "u", "n", "p", "f", "a", "z", "y"}, 1/1000.0
	}
	prefix := ""
	for _, p := range prefixes {
		if (step > 1 && math.Abs(v) < 1000) || (step < 1 && math.Abs(v) >= 1) {
			break
		}
		prefix, v = p, v/step
	}
	return fmt.Sprintf("%.4g%s", v, prefix), nil
}

// humanize1024 uses binary prefixes, as Prometheus's humanize1024.
func humanize1024(i any) (string, error) {
	v, err := commontemplates.ConvertToFloat(i)
	if err != nil {
		return "", err
	}
	if math.Abs(v) <= 1 || math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Sprintf("%.4g", v), nil
	}
	prefix := ""
	for _, p := range []string{"ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"} {
		if math.Abs(v) < 1024 {
			break
		}
		prefix, v = p, v/1024
	}
	return fmt.Sprintf("%.4g%s", v, prefix), nil
}

func humanizePercentage(i any) (string, error) {
	v, err := commontemplates.ConvertToFloat(i)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%.4g%%", v*100), nil
}
