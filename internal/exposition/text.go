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

package exposition

import (
	"bufio"
	"math"
	"strconv"

	dto "github.com/prometheus/client_model/go"
)

// The text format of a scrape's ~800 samples was the largest part of the
// exporter's CPU per scrape: expfmt.MetricFamilyToText validates the
// metric name once per sample and escapes every label value through a
// strings.Replacer. writeText writes the same bytes (TestTextMatchesExpfmt)
// for the families it knows to be simple: legacy names (checked once per
// family by legacyNames), and gauges, counters, untyped values and
// summaries. It appends each line to the writer's free buffer space.

// simple tells whether writeText handles mf: a gauge, counter, untyped or
// summary family with at least one metric, each carrying its value. For
// anything else expfmt writes the family or names the error.
func simple(mf *dto.MetricFamily) bool {
	if len(mf.Metric) == 0 {
		return false
	}
	for _, m := range mf.Metric {
		var ok bool
		switch mf.GetType() {
		case dto.MetricType_GAUGE:
			ok = m.Gauge != nil
		case dto.MetricType_COUNTER:
			ok = m.Counter != nil
		case dto.MetricType_UNTYPED:
			ok = m.Untyped != nil
		case dto.MetricType_SUMMARY:
			ok = m.Summary != nil
		}
		if !ok {
			return false
		}
	}
	return true
}

var typeNames = map[dto.MetricType]string{
	dto.MetricType_GAUGE: "gauge", dto.MetricType_COUNTER: "counter",
	dto.MetricType_UNTYPED: "untyped", dto.MetricType_SUMMARY: "summary",
}

// writeText writes mf, a simple family whose names need no quoting, in the text format 0.0.4, byte for byte as expfmt does.
func writeText(w *bufio.Writer, mf *dto.MetricFamily) error {
	name := mf.GetName()
	b := w.AvailableBuffer()
	if mf.Help != nil {
		b = append(b, "# HELP "...)
		b = append(b, name...)
		b = append(b, ' ')
		b = appendEscaped(b, mf.GetHelp(), false)
		b = append(b, '\n')
	}
	b = append(b, "# TYPE "...)
	b = append(b, name...)
	b = append(b, ' ')
	b = append(b, typeNames[mf.GetType()]...)
	b = append(b, '\n')
	for _, m := range mf.Metric {
		switch mf.GetType() {
		case dto.MetricType_GAUGE:
			b = appendSample(b, name, "", m, noQuantile, m.GetGauge().GetValue())
		case dto.MetricType_COUNTER:
			b = appendSample(b, name, "", m, noQuantile, m.GetCounter().GetValue())
		case dto.MetricType_UNTYPED:
			b = appendSample(b, name, "", m, noQuantile, m.GetUntyped().GetValue())
		case dto.MetricType_SUMMARY:
			s := m.GetSummary()
			for _, q := range s.GetQuantile() {
				b = appendSample(b, name, "", m, q, q.GetValue())
			}
			b = appendSample(b, name, "_sum", m, noQuantile, s.GetSampleSum())
			b = appendSample(b, name, "_count", m, noQuantile, float64(s.GetSampleCount()))
		}
		if len(b) > 16<<10 { // hand over large families in pieces
			if _, err := w.Write(b); err != nil {
				return err
			}
			b = w.AvailableBuffer()
		}
	}
	_, err := w.Write(b)
	return err
}

// noQuantile is appendSample's quantile for lines without one.
var noQuantile *dto.Quantile

// appendSample appends one line: name and suffix, the labels, q's quantile
// label when q is not nil, the value and the timestamp if any.
func appendSample(b []byte, name, suffix string, m *dto.Metric, q *dto.Quantile, value float64) []byte {
	b = append(b, name...)
	b = append(b, suffix...)
	sep := byte('{')
	for _, lp := range m.Label {
		b = append(b, sep)
		b = append(b, lp.GetName()...)
		b = append(b, '=', '"')
		b = appendEscaped(b, lp.GetValue(), true)
		b = append(b, '"')
		sep = ','
	}
	if q != nil {
		b = append(b, sep)
		b = append(b, `quantile="`...)
		b = appendFloat(b, q.GetQuantile())
		b = append(b, '"')
		sep = ','
	}
	if sep == ',' {
		b = append(b, '}')
	}
	b = append(b, ' ')
	b = appendFloat(b, value)
	if m.TimestampMs != nil {
		b = append(b, ' ')
		b = strconv.AppendInt(b, m.GetTimestampMs(), 10)
	}
	return append(b, '\n')
}

// appendEscaped appends s with backslash and newline escaped, and double
// quotes too when quoted (label values).
func appendEscaped(b []byte, s string, quoted bool) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch {
		case s[i] == '\\':
			esc = `\\`
		case s[i] == '\n':
			esc = `\n`
		case s[i] == '"' && quoted:
			esc = `\"`
		default:
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, esc...)
		start = i + 1
	}
	return append(b, s[start:]...)
}

// appendFloat formats f as expfmt does.
func appendFloat(b []byte, f float64) []byte {
	switch {
	case f == 1:
		return append(b, '1')
	case f == 0:
		return append(b, '0')
	case f == -1:
		return append(b, "-1"...)
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, +1):
		return append(b, "+Inf"...)
	case math.IsInf(f, -1):
		return append(b, "-Inf"...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}
