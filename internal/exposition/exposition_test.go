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
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// families is a registry with a few hundred series of each type.
func families(t testing.TB) (*prometheus.Registry, []*dto.MetricFamily) {
	reg := prometheus.NewRegistry()
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "zookeeper_test_gauge", Help: "g"}, []string{"server", "x"})
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "zookeeper_test_total", Help: "c"}, []string{"server"})
	s := prometheus.NewSummaryVec(prometheus.SummaryOpts{Name: "zookeeper_test_seconds", Help: "s", Objectives: map[float64]float64{0.5: 0.05}}, []string{"server"})
	reg.MustRegister(g, c, s)
	for i := 0; i < 300; i++ {
		srv := fmt.Sprintf("zk%d:2181", i)
		g.WithLabelValues(srv, "a\"b\\c\n").Set(float64(i) / 3)
		c.WithLabelValues(srv).Add(float64(i))
		s.WithLabelValues(srv).Observe(float64(i))
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return reg, mfs
}

func get(h http.Handler, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestWriteMatchesPromhttp: for every format a client may ask for, with
// and without gzip, Write answers byte for byte what promhttp does.
func TestWriteMatchesPromhttp(t *testing.T) {
	reg, mfs := families(t)
	ours := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := Write(w, r, mfs); err != nil {
			t.Error(err)
		}
	})
	theirs := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	for _, accept := range []string{"", "text/plain;version=0.0.4", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
		"text/plain;version=1.0.0;escaping=allow-utf-8", "*/*"} {
		for _, enc := range []string{"", "gzip"} {
			a, b := get(ours, "Accept", accept, "Accept-Encoding", enc), get(theirs, "Accept", accept, "Accept-Encoding", enc)
			if a.Header().Get("Content-Type") != b.Header().Get("Content-Type") || a.Header().Get("Content-Encoding") != b.Header().Get("Content-Encoding") {
				t.Errorf("Accept %q, %q: headers %v, promhttp %v", accept, enc, a.Header(), b.Header())
			}
			if body(t, a) != body(t, b) {
				t.Errorf("Accept %q, %q: bodies differ", accept, enc)
			}
		}
	}
}

func body(t *testing.T, rec *httptest.ResponseRecorder) string {
	var r io.Reader = rec.Body
	if rec.Header().Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(rec.Body)
		if err != nil {
			t.Fatal(err)
		}
		r = gz
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestContentLength: an uncompressed answer that fits the buffer is sent
// with its length, one that does not (and a compressed one) is streamed;
// both in full.
func TestContentLength(t *testing.T) {
	_, small := families(t)
	big := make([]*dto.MetricFamily, 0, 20*len(small))
	for range 20 {
		big = append(big, small...) // about 20 times the body, over bufSize
	}
	for _, c := range []struct {
		name       string
		mfs        []*dto.MetricFamily
		enc        string
		wantLength bool
	}{{"small", small, "", true}, {"small gzip", small, "gzip", false}, {"big", big, "", false}} {
		rec := get(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := Write(w, r, c.mfs); err != nil {
				t.Error(err)
			}
		}), "Accept-Encoding", c.enc)
		size := rec.Body.Len()
		text := body(t, rec)
		if n := strings.Count(text, "zookeeper_test_total{"); n != 300*len(c.mfs)/len(small) {
			t.Errorf("%s: %d counter samples, want %d", c.name, n, 300*len(c.mfs)/len(small))
		}
		got := rec.Header().Get("Content-Length")
		if c.wantLength && got != strconv.Itoa(size) || !c.wantLength && got != "" {
			t.Errorf("%s: Content-Length %q for a body of %d bytes, want it set: %v", c.name, got, size, c.wantLength)
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	for h, want := range map[string]bool{"": false, "gzip": true, "deflate, gzip;q=1.0, *;q=0.5": true,
		"gzip;q=0": false, "GZIP": true, "identity": false, "x-gzip": false} {
		if acceptsGzip(h) != want {
			t.Errorf("acceptsGzip(%q) = %v", h, !want)
		}
	}
}

// BenchmarkWriteGzip compares the compression level used (BestSpeed) with
// the default one on the same families.
func BenchmarkWriteGzip(b *testing.B) {
	_, mfs := families(b)
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	b.Run("BestSpeed", func(b *testing.B) {
		b.ReportAllocs()
		var n int
		for i := 0; i < b.N; i++ {
			rec := httptest.NewRecorder()
			if err := Write(rec, req, mfs); err != nil {
				b.Fatal(err)
			}
			n = rec.Body.Len()
		}
		b.ReportMetric(float64(n), "gzip-B")
	})
	b.Run("DefaultCompression", func(b *testing.B) {
		b.ReportAllocs()
		var n int
		for i := 0; i < b.N; i++ {
			var buf bytes.Buffer
			gz := gzip.NewWriter(&buf)
			rec := httptest.NewRecorder()
			if err := Write(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil), mfs); err != nil {
				b.Fatal(err)
			}
			_, _ = gz.Write(rec.Body.Bytes())
			_ = gz.Close()
			n = buf.Len()
		}
		b.ReportMetric(float64(n), "gzip-B")
	})
}
