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

// Package email sends notifications over SMTP, upgrading with STARTTLS
// whenever the server offers it and authenticating when configured.
package email

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"strings"
	"time"

	"github.com/zkwatch/zkwatch/receiver/config"
	tmpl "github.com/zkwatch/zkwatch/receiver/template"
)

// Notifier is an SMTP client.
type Notifier struct{ conf *config.EmailConfig }

// New returns an email notifier.
func New(conf *config.EmailConfig) *Notifier { return &Notifier{conf: conf} }

// Notify sends one mail to every recipient.
func (n *Notifier) Notify(ctx context.Context, d *tmpl.Data) (bool, error) {
	subject := tmpl.RenderText(n.conf.SubjectTemplate(), d, d.Subject())
	body := tmpl.RenderText(n.conf.BodyTemplate(), d, d.DefaultText())
	html := tmpl.RenderTextHTML(n.conf.HTMLTemplate(), d)
	msg, err := n.message(subject, body, html)
	if err != nil {
		return false, err
	}
	retry, err := n.send(ctx, msg)
	if err != nil {
		return retry, fmt.Errorf("smtp %s: %w", n.conf.Smarthost, err)
	}
	return false, nil
}

func (n *Notifier) message(subject, body, html string) ([]byte, error) {
	var b bytes.Buffer
	id := make([]byte, 12)
	_, _ = rand.Read(id)
	host := "zkwatch"
	if i := strings.LastIndex(n.conf.From, "@"); i >= 0 {
		host = n.conf.From[i+1:]
	}
	hdr := []struct{ k, v string }{
		{"From", n.conf.From},
		{"To", strings.Join(n.conf.To, ", ")},
		{"Subject", mime.QEncoding.Encode("utf-8", subject)},
		{"Date", time.Now().Format(time.RFC1123Z)},
		{"Message-Id", "<" + hex.EncodeToString(id) + "@" + host + ">"},
		{"MIME-Version", "1.0"},
	}
	boundary := hex.EncodeToString(id)
	if html == "" {
		hdr = append(hdr, struct{ k, v string }{"Content-Type", "text/plain; charset=UTF-8"},
			struct{ k, v string }{"Content-Transfer-Encoding", "quoted-printable"})
	} else {
		hdr = append(hdr, struct{ k, v string }{"Content-Type", `multipart/alternative; boundary="` + boundary + `"`})
	}
	for _, h := range hdr {
		if strings.ContainsAny(h.v, "\r\n") {
			return nil, fmt.Errorf("header %s contains a line break", h.k)
		}
		fmt.Fprintf(&b, "%s: %s\r\n", h.k, h.v)
	}
	b.WriteString("\r\n")
	if html == "" {
		if err := writeQP(&b, body); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	// The text part first: clients show the last part they can render.
	for _, p := range []struct{ typ, text string }{{"text/plain", body}, {"text/html", html}} {
		fmt.Fprintf(&b, "--%s\r\nContent-Type: %s; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", boundary, p.typ)
		if err := writeQP(&b, p.text); err != nil {
			return nil, err
		}
		b.WriteString("\r\n")
	}
	fmt.Fprintf(&b, "--%s--\r\n", boundary)
	return b.Bytes(), nil
}

func writeQP(b *bytes.Buffer, text string) error {
	w := quotedprintable.NewWriter(b)
	if _, err := w.Write([]byte(strings.ReplaceAll(text, "\n", "\r\n"))); err != nil {
		return err
	}
	return w.Close()
}

func (n *Notifier) tlsConfig(host string) (*tls.Config, error) {
	tc := &tls.Config{ServerName: host, InsecureSkipVerify: n.conf.TLS.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
	if n.conf.TLS.ServerName != "" {
		tc.ServerName = n.conf.TLS.ServerName
	}
	if n.conf.TLS.CAFile != "" {
		pem, err := os.ReadFile(n.conf.TLS.CAFile)
		if err != nil {
			return nil, err
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("no certificates in %s", n.conf.TLS.CAFile)
		}
	}
	return tc, nil
}

func (n *Notifier) send(ctx context.Context, msg []byte) (bool, error) {
	host, _, err := net.SplitHostPort(n.conf.Smarthost)
	if err != nil {
		return false, err
	}
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", n.conf.Smarthost)
	if err != nil {
		return true, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return classify(err)
	}
	defer c.Close()
	hello := n.conf.Hello
	if hello == "" {
		hello = "localhost"
	}
	if err := c.Hello(hello); err != nil {
		return classify(err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		tc, err := n.tlsConfig(host)
		if err != nil {
			return false, err
		}
		if err := c.StartTLS(tc); err != nil {
			return classify(err)
		}
	} else if n.conf.RequireTLS {
		return false, errors.New("server does not offer STARTTLS and require_tls is set")
	}
	if n.conf.AuthUsername != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return false, errors.New("auth_username is set but the server offers no AUTH")
		}
		auth := smtp.PlainAuth("", n.conf.AuthUsername, string(n.conf.AuthPassword), host)
		if err := c.Auth(auth); err != nil {
			return classify(err)
		}
	}
	if err := c.Mail(n.conf.From); err != nil {
		return classify(err)
	}
	for _, to := range n.conf.To {
		if err := c.Rcpt(to); err != nil {
			return classify(err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return classify(err)
	}
	if _, err := w.Write(msg); err != nil {
		return classify(err)
	}
	if err := w.Close(); err != nil {
		return classify(err)
	}
	// The message is accepted once DATA ends; a failed QUIT must not
	// cause a duplicate.
	_ = c.Quit()
	return false, nil
}

// classify retries transient SMTP replies (4xx) and network errors; 5xx
// replies are permanent.
func classify(err error) (bool, error) {
	if err == nil {
		return false, nil
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code/100 == 4, err
	}
	return true, err
}
