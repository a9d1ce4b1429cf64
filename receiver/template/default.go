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
	"fmt"
	"net/url"
	"strings"
	"unicode"
)

// alertSubject is an alert's own one-line summary inside a grouped
// message.
func alertSubject(a *Alert) string {
	d := Data{Alert: a.Alert, Kind: a.Kind}
	return d.Subject()
}

func alertSubjectMarkdown(a *Alert) string {
	d := Data{Alert: a.Alert, Kind: a.Kind}
	return d.subject(Markdown)
}

// ownLabels are the alert's labels that are not common to the message,
// as sorted pairs.
func (d *Data) ownLabels(a *Alert) [][2]string {
	var out [][2]string
	for _, p := range a.Labels.SortedPairs() {
		if len(d.List()) > 1 && d.CommonLabels[p.Name] == p.Value {
			continue
		}
		out = append(out, [2]string{p.Name, p.Value})
	}
	return out
}

// links are an alert's runbook, source, silence and incident links, in
// that order, leaving out those it lacks.
func links(a *Alert) [][2]string {
	var out [][2]string
	for _, l := range [][2]string{{"Runbook", a.RunbookURL()}, {"Source", a.GeneratorURL}, {"Silence", a.SilenceURL}, {"Incident", a.IncidentURL}} {
		if l[1] != "" {
			out = append(out, l)
		}
	}
	return out
}

// DefaultText is the plain-text body used when a notifier has no
// template: the subject, then each alert with its annotations, times in
// the configured zone, labels and links.
func (d *Data) DefaultText() string {
	var b strings.Builder
	b.WriteString(d.Subject())
	b.WriteString("\n")
	if d.Text != "" {
		b.WriteString(d.Text)
		b.WriteString("\n")
	}
	as := d.List()
	if len(as) > 1 && len(d.CommonLabels) > 0 {
		b.WriteString("Common labels:")
		for _, p := range d.CommonLabels.SortedPairs() {
			fmt.Fprintf(&b, " %s=%s", p.Name, p.Value)
		}
		b.WriteString("\n")
	}
	for i := range as {
		a := &as[i]
		if len(as) > 1 {
			fmt.Fprintf(&b, "\n%d. %s\n", d.index(i), alertSubject(a))
		}
		d.writeAlertText(&b, a)
	}
	return b.String()
}

func (d *Data) writeAlertText(b *strings.Builder, a *Alert) {
	for _, k := range []string{"summary", "description"} {
		if s := a.Annotations[k]; s != "" {
			fmt.Fprintf(b, "%s: %s\n", strings.ToUpper(k[:1])+k[1:], s)
		}
	}
	if m := a.InMaintenance(); m != "" {
		b.WriteString(m + "\n")
	}
	fmt.Fprintf(b, "Started: %s\n", d.Time(a.StartsAt))
	if a.Resolved() && !a.EndsAt.IsZero() {
		fmt.Fprintf(b, "Ended: %s\n", d.Time(a.EndsAt))
	}
	b.WriteString("Labels:\n")
	for _, p := range d.ownLabels(a) {
		fmt.Fprintf(b, "  %s = %s\n", p[0], p[1])
	}
	for _, l := range links(a) {
		fmt.Fprintf(b, "%s: %s\n", l[0], l[1])
	}
	if a.IncidentURL == "" && a.IncidentID != "" {
		fmt.Fprintf(b, "Incident: %s\n", a.IncidentID)
	}
}

// DefaultMarkdown is DefaultText as markdown, for DingTalk.
func (d *Data) DefaultMarkdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n", d.subject(Markdown))
	if d.Text != "" {
		fmt.Fprintf(&b, "**%s**\n\n", Markdown(d.Text))
	}
	as := d.List()
	if len(as) > 1 && len(d.CommonLabels) > 0 {
		b.WriteString("Common labels:")
		for _, p := range d.CommonLabels.SortedPairs() {
			fmt.Fprintf(&b, " %s=%s", Markdown(p.Name), Markdown(p.Value))
		}
		b.WriteString("\n\n")
	}
	for i := range as {
		a := &as[i]
		if len(as) > 1 {
			fmt.Fprintf(&b, "#### %d. %s\n\n", d.index(i), alertSubjectMarkdown(a))
		}
		d.writeAlertMarkdown(&b, a)
	}
	return b.String()
}

// index numbers alerts across the parts of a split message.
func (d *Data) index(i int) int { return d.Offset + i + 1 }

func (d *Data) writeAlertMarkdown(b *strings.Builder, a *Alert) {
	for _, k := range []string{"summary", "description"} {
		if s := a.Annotations[k]; s != "" {
			fmt.Fprintf(b, "- %s: %s\n", k, Markdown(s))
		}
	}
	if m := a.InMaintenance(); m != "" {
		fmt.Fprintf(b, "- **%s**\n", Markdown(m))
	}
	fmt.Fprintf(b, "- started: %s\n", d.Time(a.StartsAt))
	if a.Resolved() && !a.EndsAt.IsZero() {
		fmt.Fprintf(b, "- ended: %s\n", d.Time(a.EndsAt))
	}
	for _, p := range d.ownLabels(a) {
		fmt.Fprintf(b, "- %s = %s\n", Markdown(p[0]), Markdown(p[1]))
	}
	var ls []string
	for _, l := range links(a) {
		if u := MarkdownURL(l[1]); u != "" {
			ls = append(ls, fmt.Sprintf("[%s](%s)", strings.ToLower(l[0]), u))
		}
	}
	if a.IncidentURL == "" && a.IncidentID != "" {
		ls = append(ls, "incident "+a.IncidentID)
	}
	if len(ls) > 0 {
		fmt.Fprintf(b, "- %s\n", strings.Join(ls, " · "))
	}
	b.WriteString("\n")
}

// Markdown escapes the characters markdown would interpret and turns
// line breaks (\r and \n included) into spaces, so that a value can
// neither start a heading, a list or a link nor end the line it is on.
// Other control and bidirectional-override characters are dropped.
func Markdown(s string) string { return mdEscaper.Replace(StripControl(s, false)) }

var mdEscaper = strings.NewReplacer(`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`,
	"<", `\<`, ">", `\>`, "#", `\#`, "|", `\|`, "~", `\~`, "\n", " ")

// StripControl drops control characters, bidirectional overrides and
// zero-width characters from s; tabs stay. With keepLines (a rendered
// message), "\n" and "\r\n" stay line breaks and a lone \r, U+0085,
// U+2028 or U+2029 (which some clients show as one) is dropped; without
// (a value, a title) every line break becomes a space.
func StripControl(s string, keepLines bool) string {
	if keepLines {
		s = strings.ReplaceAll(s, "\r\n", "\n")
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || (r == '\n' && keepLines):
			return r
		case r == '\n' || r == '\r' || r == 0x85 || r == 0x2028 || r == 0x2029:
			if keepLines {
				return -1
			}
			return ' '
		case unicode.IsControl(r), unicode.Is(unicode.Bidi_Control, r), r == 0x200b, r == 0xfeff:
			return -1
		}
		return r
	}, s)
}

// MarkdownURL is s as a markdown link target: "" unless s is an absolute
// http(s) URL (no javascript:, data: or relative targets), with the
// characters that would end the target percent-encoded.
func MarkdownURL(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return mdURLEscaper.Replace(StripControl(strings.TrimSpace(s), false))
}

var mdURLEscaper = strings.NewReplacer(" ", "%20", "(", "%28", ")", "%29", "<", "%3C", ">", "%3E")
