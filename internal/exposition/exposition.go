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

// Package exposition writes gathered metric families as an HTTP answer in
// the negotiated format, gzip-compressed when the client accepts it, with
// the same output as promhttp but without copying families that need no
// name escaping.
package exposition

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// bufSize is the answer's buffer: an uncompressed answer that fits (a
// few members' scrape: about 80 KB for three) is sent whole, with its
// Content-Length, in one write instead of in chunks.
const bufSize = 256 << 10

var (
	// acceptedFormats are promhttp's defaults, in order of preference.
	acceptedFormats = expfmt.DefaultAcceptedFormats()
	gzipWriters     = sync.Pool{New: func() any {
		// BestSpeed: on a 2-core machine the default level costs more CPU
		// than the scrape itself, for a few percent of size.
		w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
		return w
	}}
	bufWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, bufSize) }}
)

// Write answers r with mfs (sorted by name, as a registry gathers them).
// It returns the first write error; the answer is then incomplete, as
// with promhttp.
func Write(w http.ResponseWriter, r *http.Request, mfs []*dto.MetricFamily) error {
	format := expfmt.NegotiateAccept(r.Header, acceptedFormats...)
	h := w.Header()
	h.Add("Vary", "Accept")
	h.Set("Content-Type", string(format))
	var out io.Writer = w
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		h.Add("Vary", "Accept-Encoding")
		gz := gzipWriters.Get().(*gzip.Writer)
		gz.Reset(w)
		defer func() {
			_ = gz.Close()
			gzipWriters.Put(gz)
		}()
		out = gz
	}
	cw := &countingWriter{w: out}
	bw := bufWriters.Get().(*bufio.Writer)
	bw.Reset(cw)
	defer func() {
		bw.Reset(nil)
		bufWriters.Put(bw)
	}()
	if err := encode(bw, format, mfs); err != nil {
		return err
	}
	if out == io.Writer(w) && cw.n == 0 {
		h.Set("Content-Length", strconv.Itoa(bw.Buffered()))
	}
	return bw.Flush()
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// encode writes mfs in format. The text format of a family whose names
// need no escaping is written directly: expfmt's encoder would first copy
// the family to escape names that are already valid.
func encode(w *bufio.Writer, format expfmt.Format, mfs []*dto.MetricFamily) error {
	enc := expfmt.NewEncoder(w, format)
	text := format.FormatType() == expfmt.TypeTextPlain
	for _, mf := range mfs {
		var err error
		switch {
		case !text || !legacyNames(mf):
			err = enc.Encode(mf)
		case simple(mf):
			err = writeText(w, mf)
		default:
			_, err = expfmt.MetricFamilyToText(w, mf)
		}
		if err != nil {
			return err
		}
	}
	if c, ok := enc.(expfmt.Closer); ok {
		return c.Close()
	}
	return nil
}

// legacyNames tells whether escaping would leave mf unchanged: its name
// and label names are valid legacy names and no __name__ label is set.
func legacyNames(mf *dto.MetricFamily) bool {
	if !legacyName(mf.GetName()) {
		return false
	}
	for _, m := range mf.Metric {
		for _, l := range m.Label {
			if l.GetName() == model.MetricNameLabel || !legacyName(l.GetName()) {
				return false
			}
		}
	}
	return true
}

// legacyName is model.LegacyValidation.IsValidMetricName, which expfmt
// applies to metric and label names alike, byte by byte: a non-ASCII byte
// is invalid as a non-ASCII rune is.
func legacyName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' && i > 0) {
			return false
		}
	}
	return true
}

// acceptsGzip parses Accept-Encoding for gzip with a non-zero quality.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}
