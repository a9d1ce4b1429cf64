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

package email

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/zkwatch/zkwatch/receiver/internal/browsertest"
	"github.com/zkwatch/zkwatch/receiver/notify/notifytest"
	"github.com/zkwatch/zkwatch/receiver/payload"
	tmpl "github.com/zkwatch/zkwatch/receiver/template"
)

// mailServer is a real SMTP server on loopback that keeps what it gets.
type mailServer struct {
	mu     sync.Mutex
	mails  []mail
	addr   string
	reject int // SMTP code to answer RCPT with, if non-zero
}

type mail struct {
	from, data string
	to         []string
	tls, authd bool
}

type session struct {
	s    *mailServer
	conn *smtp.Conn
	m    mail
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "zkwatch" || pass != "pa55" {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		s.m.authd = true
		return nil
	}), nil
}
func (s *session) Mail(from string, _ *smtp.MailOptions) error { s.m.from = from; return nil }
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.s.reject != 0 {
		return &smtp.SMTPError{Code: s.s.reject, Message: "no"}
	}
	s.m.to = append(s.m.to, to)
	return nil
}
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, s.m.tls = s.conn.TLSConnectionState()
	s.m.data = string(b)
	s.s.mu.Lock()
	s.s.mails = append(s.s.mails, s.m)
	s.s.mu.Unlock()
	return nil
}
func (s *session) Reset()        { s.m = mail{authd: s.m.authd} }
func (s *session) Logout() error { return nil }

// selfSigned writes a certificate for 127.0.0.1 and returns its TLS
// config and the path of the PEM file.
func selfSigned(t *testing.T) (*tls.Config, string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtp test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, path
}

func startServer(t *testing.T, tc *tls.Config) *mailServer {
	ms := &mailServer{}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: ms, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.TLSConfig = tc
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ms.addr = l.Addr().String()
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return ms
}

func data() *tmpl.Data {
	return notifytest.Firing("inc1", "127.0.0.1:2181", map[string]string{"description": "Server 127.0.0.1:2181 is down — äöü."})
}

func load(t *testing.T, yaml string) *Notifier {
	return New(notifytest.Notifier(t, yaml).Email)
}

func TestSendWithStartTLSAndAuth(t *testing.T) {
	tc, caFile := selfSigned(t)
	ms := startServer(t, tc)
	n := load(t, fmt.Sprintf(`notifiers: [{name: m, email: {smarthost: %q, from: zkwatch@example.org, to: [ops@example.org, oncall@example.org],
  auth_username: zkwatch, auth_password: pa55, require_tls: true, tls_config: {ca_file: %q}}}]`, ms.addr, caFile))
	if retry, err := n.Notify(context.Background(), data()); err != nil {
		t.Fatalf("retry=%v err=%v", retry, err)
	}
	if len(ms.mails) != 1 {
		t.Fatalf("%d mails", len(ms.mails))
	}
	m := ms.mails[0]
	if !m.tls || !m.authd || m.from != "zkwatch@example.org" || strings.Join(m.to, ",") != "ops@example.org,oncall@example.org" {
		t.Errorf("mail %+v", m)
	}
	hdr, body, _ := strings.Cut(m.data, "\r\n\r\n")
	if !strings.Contains(hdr, "Subject: [FIRING] ZooKeeperDown server=127.0.0.1:2181") {
		t.Errorf("headers:\n%s", hdr)
	}
	dec, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(dec), "is down — äöü.") || !strings.Contains(string(dec), "Incident: inc1") {
		t.Errorf("body:\n%s", dec)
	}

	// Wrong password: the server's 535 is permanent.
	bad := load(t, fmt.Sprintf(`notifiers: [{name: m, email: {smarthost: %q, from: a@b, to: [c@d], auth_username: zkwatch, auth_password: nope, tls_config: {ca_file: %q}}}]`, ms.addr, caFile))
	if retry, err := bad.Notify(context.Background(), data()); err == nil || retry {
		t.Errorf("bad password: retry=%v err=%v", retry, err)
	}
	// An untrusted certificate fails.
	untrusted := load(t, fmt.Sprintf(`notifiers: [{name: m, email: {smarthost: %q, from: a@b, to: [c@d]}}]`, ms.addr))
	if _, err := untrusted.Notify(context.Background(), data()); err == nil {
		t.Error("untrusted certificate accepted")
	}
}

func TestSMTPReplyClasses(t *testing.T) {
	ms := startServer(t, nil)
	n := load(t, fmt.Sprintf(`notifiers: [{name: m, email: {smarthost: %q, from: a@b, to: [c@d]}}]`, ms.addr))
	if _, err := n.Notify(context.Background(), data()); err != nil {
		t.Fatalf("plain SMTP: %v", err)
	}
	if ms.mails[0].tls {
		t.Error("TLS without STARTTLS?")
	}
	ms.reject = 450
	if retry, err := n.Notify(context.Background(), data()); err == nil || !retry {
		t.Errorf("450: retry=%v err=%v", retry, err)
	}
	ms.reject = 550
	if retry, err := n.Notify(context.Background(), data()); err == nil || retry {
		t.Errorf("550: retry=%v err=%v", retry, err)
	}
	strict := load(t, fmt.Sprintf(`notifiers: [{name: m, email: {smarthost: %q, from: a@b, to: [c@d], require_tls: true}}]`, ms.addr))
	if _, err := strict.Notify(context.Background(), data()); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("require_tls without STARTTLS: %v", err)
	}
	// Nobody listening: retry.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	down := load(t, fmt.Sprintf(`notifiers: [{name: m, email: {smarthost: %q, from: a@b, to: [c@d]}}]`, addr))
	if retry, err := down.Notify(context.Background(), data()); err == nil || !retry {
		t.Errorf("down: retry=%v err=%v", retry, err)
	}
}

// The shipped examples/templates/email.html, sent through a real SMTP
// server as the HTML alternative of a grouped message and opened in
// headless Chromium: one row per alert with its links and local times,
// label markup shown as text.
func TestExampleHTMLTemplateInBrowser(t *testing.T) {
	ctx := browsertest.Start(t)
	file, err := filepath.Abs("../../../examples/templates/email.html")
	if err != nil {
		t.Fatal(err)
	}
	ms := startServer(t, nil)
	n := load(t, fmt.Sprintf(`templates: [%q]
notifiers: [{name: m, email: {smarthost: %q, from: zkwatch@example.org, to: [ops@example.org],
  subject: '{{ template "email.zkwatch.subject" . }}', html: '{{ template "email.zkwatch.html" . }}'}}]`, file, ms.addr))
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	as := make([]tmpl.Alert, 4)
	for i := range as {
		a := payload.Alert{Status: "firing", StartsAt: time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC),
			Labels:       payload.KV{"alertname": "ZooKeeperDown", "group": "zk", "server": fmt.Sprintf("zk-%d:2181", i)},
			Annotations:  payload.KV{"summary": fmt.Sprintf("zk-%d is down", i), "runbook_url": "https://rb.example/zk"},
			GeneratorURL: "https://prom.example/graph?g0.expr=up"}
		if i == 3 {
			a.Status, a.EndsAt = "resolved", a.StartsAt.Add(time.Hour)
			a.Labels["server"] = "<script>document.title='owned'</script>"
		}
		as[i] = tmpl.Alert{Alert: a, Kind: a.Status, IncidentID: fmt.Sprintf("inc%d", i)}
	}
	d := tmpl.New(tmpl.Message{Kind: "mixed", Receiver: "zk", ExternalURL: "http://am.example", Alerts: as},
		tmpl.Options{ReceiverURL: "https://rcv.example", Location: loc})
	if _, err := n.Notify(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	html, text, subject := htmlPart(t, ms.mails[0].data)
	if subject != "[FIRING:3] ZooKeeperDown group=zk" || !strings.Contains(text, "4. [RESOLVED] ZooKeeperDown") {
		t.Errorf("subject %q, text part:\n%s", subject, text)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, html)
	}))
	defer srv.Close()
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL), chromedp.WaitReady(chromedp.CSS("#alerts"))); err != nil {
		t.Fatal(err)
	}
	text2 := func(v string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	count := func(js string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](js))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	title := text2(chromedp.Run(ctx, chromedp.Title()))
	heading := text2(chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#subject"))))
	started := text2(chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`tr.alert[data-incident="inc0"] td.started`))))
	rows := count(`document.querySelectorAll("tr.alert").length`)
	links := count(`document.querySelectorAll("a.runbook, a.source, a.silence, a.incident").length`)
	incidents := count(`[...document.querySelectorAll("a.incident")].filter(a => a.href.startsWith("https://rcv.example/incidents/inc")).length`)
	scripts := count(`document.querySelectorAll("#alerts script").length`)
	if scripts != 0 {
		t.Error("label markup was injected into the mail")
	}
	if title != subject || heading != subject || rows != 4 || links != 16 || incidents != 4 || started != "2026-07-01 12:00:00 +02:00 CEST" {
		t.Errorf("title %q heading %q rows %d links %d incident links %d started %q", title, heading, rows, links, incidents, started)
	}
}

// htmlPart splits a multipart/alternative mail into its decoded HTML and
// text parts and its subject.
func htmlPart(t *testing.T, raw string) (html, text, subject string) {
	t.Helper()
	msg, err := netmail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("content type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(p) // multipart decodes quoted-printable
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.HasPrefix(p.Header.Get("Content-Type"), "text/html"):
			html = string(b)
		case strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain"):
			text = string(b)
		}
	}
	if html == "" || text == "" {
		t.Fatalf("parts missing:\n%s", raw)
	}
	return html, text, subject
}
